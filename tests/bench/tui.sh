#!/bin/sh
# The console's figures (TARGETS.md): first paint of the Overview and of the
# Audit table over 1,000,000 rows, beside psql fetching the same first page
# in the same run; keypress → repaint while scrolling; CPU of an idle console
# with live updates on.  Timings come from LAKEOP_TIMINGS (headless console).
set -u
. "$(dirname "$0")/../lib/common.sh"
. "$LK_ROOT/tests/lib/pg.sh"
pg_start || exit 1
rows=${LAKEOP_BENCH_TUI_ROWS:-1000000}
[ "${LAKEOP_BENCH_QUICK:-0}" = 1 ] && rows=100000
d=$(lk_tmpdir)/tui
mkdir -p "$d"
db=lk_bench_tui
ci=$(pg_new_db $db)
cat > "$d/config" <<EOC
[env "BENCH"]
database = $ci
operator = bench
EOC
chmod 600 "$d/config"
export LAKEOP_CONFIG="$d/config" HOME="$d" XDG_STATE_HOME="$d/state"
"$LK_BIN" audit --limit 1 >/dev/null || { echo "lakeop could not open the database"; exit 1; }
P() { psql -X -q -At -h "$LK_PG_HOST" -p "$LK_PG_PORT" -U postgres -d $db "$@"; }
P -c "INSERT INTO lakeop.audit (at, operator, env, action, target, params, result, message)
      SELECT now() - g * interval '1 second', 'op' || (g % 7), 'BENCH', 'copy', 'target-' || g,
             jsonb_build_object('n', g), 'ok', 'message ' || g
        FROM generate_series(1, $rows) g" -c "ANALYZE lakeop.audit" >/dev/null
# The Overview reads datasets, loads by status, the last day's Zuora jobs
# and the last actions: give each something to read, sandbox-sized.
P -c "INSERT INTO lakeop.datasets (name, freshness_seconds)
      SELECT 'dataset_' || g, 3600 * (1 + g % 3) FROM generate_series(1, 12) g" \
  -c "INSERT INTO lakeop.loads (dataset_id, key, status, updated_at)
      SELECT d.id, 'in/' || g || '.csv',
             (ARRAY['ready', 'ingesting', 'archived', 'archived', 'archived', 'errored'])[1 + g % 6],
             now() - g * interval '1 minute'
        FROM lakeop.datasets d, generate_series(1, 5000) g" \
  -c "INSERT INTO lakeop.zuora_jobs (job_id, env, name, status, submitted_at)
      SELECT 'job' || g, 'BENCH', 'daily', (ARRAY['executing', 'error', 'completed'])[1 + g % 3],
             now() - g * interval '10 minutes'
        FROM generate_series(1, 300) g" \
  -c "ANALYZE lakeop.datasets" -c "ANALYZE lakeop.loads" -c "ANALYZE lakeop.zuora_jobs" >/dev/null

# A run that measured nothing leaves an empty or odd line: then the figure
# is "-" (not measured), never a median of the runs that did.
median() { sort -n | awk '$0 !~ /^[0-9]+(\.[0-9]+)?$/ { bad = 1 } { a[NR] = $1 }
                           END { if (NR && !bad) print a[int((NR + 1) / 2)]; else print "-" }'; }
measured() { printf '%s' "$1" | grep -Eq '^-?[0-9]+(\.[0-9]+)?$'; }
unmeasured=0
now_ms() { date +%s%3N; }

page_sql="SELECT id, extract(epoch FROM at)::bigint, operator, env, action, coalesce(target, ''), result, coalesce(message, '') FROM lakeop.audit ORDER BY id DESC LIMIT 200"
# psql runs the Overview's own statements, read out of its source, so that
# the peer does the same work as the screen.
python3 - "$LK_ROOT/screens/overview.c" > "$d/overview.sql" <<'PY' || { echo "tui: OVERVIEW_SQL not found"; exit 1; }
import re, sys
src = open(sys.argv[1], encoding="utf-8").read()
m = re.search(r"OVERVIEW_SQL\[[A-Z_]*\] = \{(.*?)\n\};", src, re.S)
if not m:
    sys.exit(1)
for stmt in re.split(r'(?<=")\s*,\s*\n', m.group(1)):
    print("".join(re.findall(r'"((?:[^"\\]|\\.)*)"', stmt)) + ";")
PY
[ "$(grep -c ';$' "$d/overview.sql")" -ge 4 ] || { echo "tui: OVERVIEW_SQL has fewer than 4 statements"; exit 1; }

: > "$d/psql_audit"; : > "$d/psql_overview"
for i in 1 2 3 4 5; do
    t0=$(now_ms); P -c "$page_sql" >/dev/null; t1=$(now_ms); echo $((t1 - t0)) >> "$d/psql_audit"
    t0=$(now_ms); P -v ON_ERROR_STOP=1 -f "$d/overview.sql" >/dev/null || exit 1; t1=$(now_ms); echo $((t1 - t0)) >> "$d/psql_overview"
done

# LAKEOP_TIMINGS counts from the console's own start, after exec and
# linking; psql's figure is a whole process.  So the whole lakeop process
# (exec → page painted → exit) is timed too, the like-for-like peer figure.
first_paint() {   # screen: start→paint, data→paint and whole process (ms) per run
    : > "$d/fp_$1"; : > "$d/fpd_$1"; : > "$d/wall_$1"
    for i in 1 2 3 4 5; do
        rm -f "$d/timings"
        echo ":save-display $d/dump.txt" > "$d/fp.script"
        t0=$(now_ms)
        LAKEOP_SCREEN=$1 LAKEOP_HEADLESS=1 LINES=40 COLUMNS=120 LAKEOP_SCRIPT="$d/fp.script" \
            LAKEOP_TIMINGS="$d/timings" "$LK_BIN" >/dev/null 2>&1
        t1=$(now_ms); echo $((t1 - t0)) >> "$d/wall_$1"
        awk -v s="$1" '$1 == "paint" && $2 == s { p = $3 } $1 == "data" && $2 == s { q = $3 }
                       END { print p }' "$d/timings" >> "$d/fp_$1"
        awk -v s="$1" '$1 == "paint" && $2 == s { p = $3 } $1 == "data" && $2 == s { q = $3 }
                       END { if (p != "" && q != "") print p - q }' "$d/timings" >> "$d/fpd_$1"
    done
}
first_paint overview
first_paint audit

# Scrolling: 300 steps down the Audit table (pages fetched as it goes).
{ i=0; while [ $i -lt 300 ]; do echo j; i=$((i + 1)); done
  i=0; while [ $i -lt 20 ]; do echo '<PgDown>'; i=$((i + 1)); done; } > "$d/scroll.script"
rm -f "$d/timings"
LAKEOP_SCREEN=audit LAKEOP_HEADLESS=1 LINES=40 COLUMNS=120 LAKEOP_SCRIPT="$d/scroll.script" \
    LAKEOP_TIMINGS="$d/timings" "$LK_BIN" >/dev/null 2>&1
awk '$1 == "key" { print $2 }' "$d/timings" > "$d/keys"
key_median=$(median < "$d/keys")
key_p95=$(sort -n "$d/keys" | awk '{ a[NR] = $1 } END { if (NR >= 20) print a[int(NR * 0.95)]; else print "-" }')

# Idle CPU over 10 s, LISTEN connection open.  A console that died is not
# idle: its ticks are not read (a gone /proc entry would read as 0 ticks).
LAKEOP_HEADLESS=1 LINES=40 COLUMNS=120 "$LK_BIN" >/dev/null 2>&1 &
pid=$!
sleep 2
ticks() { kill -0 $pid 2>/dev/null && awk '{ print $14 + $15 }' "/proc/$pid/stat" 2>/dev/null; }
c0=$(ticks); sleep 10; c1=$(ticks)
kill -0 $pid 2>/dev/null || c1=""
kill -TERM $pid 2>/dev/null; wait $pid 2>/dev/null
hz=$(getconf CLK_TCK)
cpu=-
[ -n "$c0" ] && [ -n "$c1" ] &&
    cpu=$(awk -v a="$c0" -v b="$c1" -v hz="$hz" 'BEGIN { printf "%.2f", (b - a) / hz / 10 * 100 }')

pa=$(median < "$d/psql_audit"); po=$(median < "$d/psql_overview")
fa=$(median < "$d/fp_audit"); fo=$(median < "$d/fp_overview")
da=$(median < "$d/fpd_audit"); do_=$(median < "$d/fpd_overview")
ms() { if measured "$1"; then echo "$1 ms"; elif [ "$1" = "" ]; then echo ""; else echo "not measured"; fi; }
row() { printf '%-46s %15s %12s %s\n' "$1" "$(ms "$2")" "$(ms "$3")" "$4"; }
printf '%-46s %15s %12s %s\n' "figure ($rows audit rows, medians of 5)" "lakeop" "peer" "target"
row "first paint, Audit (start → painted page)" "$fa" "$pa" "≤ 2× psql"
row "  of which after the database answered" "$da" "" "< 100 ms"
row "first paint, Overview" "$fo" "$po" "≤ 2× psql"
row "  of which after the database answered" "$do_" "" "< 100 ms"
row "keypress → repaint, scrolling (median)" "$key_median" "" "< 10 ms"
row "keypress → repaint, scrolling (95th pct)" "$key_p95" "" "< 10 ms"
printf '%-46s %15s %12s %s\n' "idle console, live updates on (10 s)" \
    "$(measured "$cpu" && echo "$cpu %" || echo "not measured")" "" "< 1% of a core"
wa=$(median < "$d/wall_audit"); wo=$(median < "$d/wall_overview")
row "whole process, Audit (exec → page → exit)" "$wa" "$pa" "≤ 2× psql"
row "whole process, Overview" "$wo" "$po" "≤ 2× psql"

if [ -n "${LK_BENCH_SUMMARY:-}" ]; then
    fig() {   # figure lakeop peer target verdict-expression(awk, a=lakeop b=peer)
        if ! measured "$2" || { [ "$3" != - ] && ! measured "$3"; }; then
            printf '%s\t%s\t%s\t-\t%s\tnot measured\n' "$1" "${2:--}" "${3:--}" "$4" >> "$LK_BENCH_SUMMARY"
            return
        fi
        r=$(awk -v a="$2" -v b="$3" 'BEGIN { if (b + 0 > 0) printf "%.2fx", a / b; else print "-" }')
        v=$(awk -v a="$2" -v b="$3" "BEGIN { print (($5) ? \"met\" : \"NOT met\") }")
        printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$1" "$2 ms" "$([ "$3" = - ] && echo - || echo "$3 ms")" \
            "$([ "$3" = - ] && echo - || echo "$r")" "$4" "$v" >> "$LK_BENCH_SUMMARY"
    }
    fig "first paint, Audit over $rows rows (console start → page)" "$fa" "$pa" "<= 2x psql" "a <= 2 * b"
    fig "first paint, Audit over $rows rows (whole process)" "$wa" "$pa" "<= 2x psql" "a <= 2 * b"
    fig "first paint, Audit: after the database answered" "$da" - "< 100 ms" "a < 100"
    fig "first paint, Overview (console start → page)" "$fo" "$po" "<= 2x psql" "a <= 2 * b"
    fig "first paint, Overview (whole process)" "$wo" "$po" "<= 2x psql" "a <= 2 * b"
    fig "first paint, Overview: after the database answered" "$do_" - "< 100 ms" "a < 100"
    fig "keypress -> repaint, scrolling Audit (median)" "$key_median" - "< 10 ms" "a < 10"
    fig "keypress -> repaint, scrolling Audit (95th pct)" "$key_p95" - "< 10 ms" "a < 10"
    printf 'idle console, live updates on (CPU over 10 s)\t%s%%\t-\t-\t< 1%% of a core\t%s\n' "$cpu" \
        "$(measured "$cpu" && awk -v c="$cpu" 'BEGIN { print (c < 1 ? "met" : "NOT met") }' || echo "not measured")" \
        >> "$LK_BENCH_SUMMARY"
fi
for v in "$fa" "$pa" "$da" "$fo" "$po" "$do_" "$key_median" "$key_p95" "$cpu" "$wa" "$wo"; do
    measured "$v" || unmeasured=$((unmeasured + 1))
done
if [ $unmeasured -gt 0 ]; then
    echo "tui: $unmeasured figure(s) not measured (a console run ended before it painted or died)"
    exit 1
fi
