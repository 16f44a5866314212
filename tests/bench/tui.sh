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

median() { sort -n | awk '{ a[NR] = $1 } END { if (NR) print a[int((NR + 1) / 2)]; else print "-" }'; }
now_ms() { date +%s%3N; }

page_sql="SELECT id, extract(epoch FROM at)::bigint, operator, env, action, coalesce(target, ''), result, coalesce(message, '') FROM lakeop.audit ORDER BY id DESC LIMIT 200"
overview_sql="SELECT status, count(*) FROM lakeop.loads GROUP BY status"

: > "$d/psql_audit"; : > "$d/psql_overview"
for i in 1 2 3 4 5; do
    t0=$(now_ms); P -c "$page_sql" >/dev/null; t1=$(now_ms); echo $((t1 - t0)) >> "$d/psql_audit"
    t0=$(now_ms); P -c "$overview_sql" >/dev/null; t1=$(now_ms); echo $((t1 - t0)) >> "$d/psql_overview"
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
                       END { print p - q }' "$d/timings" >> "$d/fpd_$1"
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
key_p95=$(sort -n "$d/keys" | awk '{ a[NR] = $1 } END { if (NR) print a[int(NR * 0.95)]; else print "-" }')

# Idle CPU over 10 s, LISTEN connection open.
LAKEOP_HEADLESS=1 LINES=40 COLUMNS=120 "$LK_BIN" >/dev/null 2>&1 &
pid=$!
sleep 2
ticks() { awk '{ print $14 + $15 }' "/proc/$pid/stat"; }
c0=$(ticks); sleep 10; c1=$(ticks)
kill -TERM $pid 2>/dev/null; wait $pid 2>/dev/null
hz=$(getconf CLK_TCK)
cpu=$(awk -v a="$c0" -v b="$c1" -v hz="$hz" 'BEGIN { printf "%.2f", (b - a) / hz / 10 * 100 }')

pa=$(median < "$d/psql_audit"); po=$(median < "$d/psql_overview")
fa=$(median < "$d/fp_audit"); fo=$(median < "$d/fp_overview")
da=$(median < "$d/fpd_audit"); do_=$(median < "$d/fpd_overview")
printf '%-46s %12s %12s %s\n' "figure ($rows audit rows, medians of 5)" "lakeop" "peer" "target"
printf '%-46s %10s ms %10s ms %s\n' "first paint, Audit (start → painted page)" "$fa" "$pa" "≤ 2× psql"
printf '%-46s %10s ms %12s %s\n' "  of which after the database answered" "$da" "" "< 100 ms"
printf '%-46s %10s ms %10s ms %s\n' "first paint, Overview" "$fo" "$po" "≤ 2× psql"
printf '%-46s %10s ms %12s %s\n' "  of which after the database answered" "$do_" "" "< 100 ms"
printf '%-46s %10s ms %12s %s\n' "keypress → repaint, scrolling (median)" "$key_median" "" "< 10 ms"
printf '%-46s %10s ms %12s %s\n' "keypress → repaint, scrolling (95th pct)" "$key_p95" "" "< 10 ms"
printf '%-46s %11s%% %12s %s\n' "idle console, live updates on (10 s)" "$cpu" "" "< 1% of a core"
wa=$(median < "$d/wall_audit"); wo=$(median < "$d/wall_overview")
printf '%-46s %10s ms %10s ms %s\n' "whole process, Audit (exec → page → exit)" "$wa" "$pa" "≤ 2× psql"
printf '%-46s %10s ms %10s ms %s\n' "whole process, Overview" "$wo" "$po" "≤ 2× psql"

if [ -n "${LK_BENCH_SUMMARY:-}" ]; then
    fig() {   # figure lakeop peer target verdict-expression(awk, a=lakeop b=peer)
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
        "$(awk -v c="$cpu" 'BEGIN { print (c < 1 ? "met" : "NOT met") }')" >> "$LK_BENCH_SUMMARY"
fi
