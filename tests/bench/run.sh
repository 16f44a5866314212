#!/bin/sh
# make bench: every figure of ../shared/design/TARGETS.md, each measured in
# this run beside its peer (psql, curl, aws, wc, mlr), so that ratios on this
# noisy machine mean something.  Each piece is a script tests/bench/*.sh that
# prints its own table; this runner starts the shared PostgreSQL cluster,
# runs them in turn (or only those named: sh tests/bench/run.sh copy tui),
# and ends with one table of every figure against its target.
#
# The summary: a piece appends one line per figure to $LK_BENCH_SUMMARY,
#   figure TAB lakeop TAB peer TAB ratio TAB target TAB verdict
# (verdict: "met", "NOT met", "not measured" when a figure is missing,
# "unproven" when only a bound was measured and it does not show the
# target, or "info" for a figure printed beside its
# peer with no target); "-" for an empty cell.  A piece that writes none has its
# own table above; a piece that fails is listed as failed.
#
# LAKEOP_BENCH_QUICK=1 uses smaller inputs and fewer intervals (about three
# minutes instead of about ten on 2 cores); LAKEOP_BENCH_RUNS=N sets how many
# runs the cohort and copy pieces take the median of.
set -u
. "$(dirname "$0")/../lib/common.sh"
. "$LK_ROOT/tests/lib/pg.sh"
LK_BIN=$LK_ROOT/lakeop    # release build: benchmarks never run sanitized code
export LK_BIN
cd "$LK_ROOT"
[ -x "$LK_BIN" ] || { echo "bench: $LK_BIN is not built (make bench builds it)"; exit 2; }
pg_start || exit 1
export LK_PG_HOST LK_PG_PORT
# pg_new_db's DROP DATABASE IF EXISTS says NOTICE for a fresh cluster: noise here.
export PGOPTIONS="${PGOPTIONS:+$PGOPTIONS }-c client_min_messages=warning"

# Not lk_tmpdir: its folder would be inherited by every piece (LK_TMP) and
# their gigabytes kept until the very end; each piece cleans up its own.
LK_BENCH_SUMMARY=$(mktemp "${TMPDIR:-/tmp}/lakeop-bench-summary.XXXXXX") || exit 1
export LK_BENCH_SUMMARY
lk_on_exit "rm -f '$LK_BENCH_SUMMARY' '$LK_BENCH_SUMMARY.out' '$LK_BENCH_SUMMARY.rc'"

# loads.sh (the Loads screen's piece) prints only its own table: its figures
# are read from that table.
loads_summary() {
    python3 -c '
import re, sys
text = sys.stdin.read()
rows = re.search(r"\((\d+) loads", text)
n = rows.group(1) if rows else "?"
def num(pat):
    m = re.search(pat, text, re.M)
    return float(m.group(1)) if m else None
def out(fig, a, b, target, ok):
    if a is None:
        print("%s\t(not in its output)\t-\t-\t%s\tNOT met" % (fig, target))
        return
    print("%s\t%g ms\t%s\t%s\t%s\t%s" % (fig, a, "-" if b is None else "%g ms" % b,
          "-" if not b else "%.2fx" % (a / b), target, "met" if ok(a, b) else "NOT met"))
fp = num(r"^first paint, Loads.*?\s([\d.]+) ms")
ps = num(r"^first paint, Loads.*?\s[\d.]+ ms\s+([\d.]+) ms")
out("first paint, Loads over %s loads (console start -> page)" % n, fp, ps, "<= 2x psql",
    lambda a, b: b is not None and a <= 2 * b)
out("first paint, Loads: after the database answered", num(r"after the database answered\s+([\d.]+) ms"),
    None, "< 100 ms", lambda a, b: a < 100)
out("keypress -> repaint, scrolling Loads (median)", num(r"^keypress.*\(median\)\s+([\d.]+) ms"),
    None, "< 10 ms", lambda a, b: a < 10)
out("keypress -> repaint, scrolling Loads (95th pct)", num(r"^keypress.*\(95th pct\)\s+([\d.]+) ms"),
    None, "< 10 ms", lambda a, b: a < 10)
'
}

if [ $# -gt 0 ]; then
    pieces=""
    for p in "$@"; do
        [ -f "tests/bench/$p.sh" ] || { echo "bench: no piece tests/bench/$p.sh"; exit 2; }
        pieces="$pieces tests/bench/$p.sh"
    done
else
    pieces=$(ls tests/bench/*.sh)
fi

quick=""
[ "${LAKEOP_BENCH_QUICK:-0}" = 1 ] && quick=" (quick: LAKEOP_BENCH_QUICK=1, smaller inputs)"
echo "lakeop bench — $(date -u '+%Y-%m-%d %H:%M UTC') on $(nproc) cores, $(uname -m)$quick"
echo "  load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
echo
status=0
failed=""
t_all=$(date +%s)
for piece in $pieces; do
    name=$(basename "$piece" .sh)
    [ "$name" = run ] && continue
    echo "== $name =="
    t0=$(date +%s)
    before=$(wc -l < "$LK_BENCH_SUMMARY")
    { sh "$piece"; echo $? > "$LK_BENCH_SUMMARY.rc"; } 2>&1 | tee "$LK_BENCH_SUMMARY.out"
    if [ "$(cat "$LK_BENCH_SUMMARY.rc")" != 0 ]; then
        echo "(bench piece $piece failed)"
        status=1
        failed="$failed $name"
    fi
    after=$(wc -l < "$LK_BENCH_SUMMARY")
    if [ "$after" -eq "$before" ] && [ "$name" = loads ]; then
        loads_summary < "$LK_BENCH_SUMMARY.out" >> "$LK_BENCH_SUMMARY"
        after=$(wc -l < "$LK_BENCH_SUMMARY")
    fi
    [ "$after" -eq "$before" ] && printf '%s\t-\t-\t-\t-\tsee its table\n' "$name: (no summary lines)" >> "$LK_BENCH_SUMMARY"
    echo "($name took $(( $(date +%s) - t0 )) s)"
    echo
done

echo "== summary: every figure against its target ($(( $(date +%s) - t_all )) s in all) =="
python3 - "$LK_BENCH_SUMMARY" "$failed" <<'PY'
import sys
rows = []
for line in open(sys.argv[1], encoding="utf-8"):
    cells = line.rstrip("\n").split("\t")
    if len(cells) != 6:
        cells = [line.strip(), "-", "-", "-", "-", "malformed"]
    rows.append(cells)
for name in sys.argv[2].split():
    rows.append([name + ": piece failed", "-", "-", "-", "-", "FAILED"])
head = ["figure", "lakeop", "peer", "ratio", "target", "met?"]
w = [max(len(r[i]) for r in rows + [head]) for i in range(6)]
w[0] = min(w[0], 72)
def show(r):
    print("  " + "  ".join((c[: w[i]] if i == 0 else c).ljust(w[i]) if i in (0, 4, 5)
                           else c.rjust(w[i]) for i, c in enumerate(r)).rstrip())
show(head)
show(["-" * x for x in w])
for r in rows:
    show(r)
met = sum(1 for r in rows if r[5] == "met")
missed = sum(1 for r in rows if r[5] in ("NOT met", "not measured", "unproven", "FAILED", "malformed"))
info = sum(1 for r in rows if r[5] == "info")
print("  %d targets met, %d not met or failed, %d figures for information" % (met, missed, info))
PY
exit $status
