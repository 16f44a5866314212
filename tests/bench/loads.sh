#!/bin/sh
# The Loads screen over 1,000,000 loads (TARGETS.md): time to first paint,
# beside psql fetching the same first page in the same run (medians of 5),
# the part of it after the database answered, and keypress → repaint while
# scrolling down through pages fetched as the cursor goes (median and 95th
# percentile).  Timings come from LAKEOP_TIMINGS (headless console).
set -u
. "$(dirname "$0")/../lib/common.sh"
. "$LK_ROOT/tests/lib/pg.sh"
pg_start || exit 1
rows=${LAKEOP_BENCH_LOADS_ROWS:-1000000}
[ "${LAKEOP_BENCH_QUICK:-0}" = 1 ] && rows=100000
d=$(lk_tmpdir)/loads
mkdir -p "$d"
db=lk_bench_loads
ci=$(pg_new_db $db 2>/dev/null)
cat > "$d/config" <<EOC
[env "BENCH"]
database = $ci
operator = bench
EOC
chmod 600 "$d/config"
export LAKEOP_CONFIG="$d/config" HOME="$d" XDG_STATE_HOME="$d/state"
unset LAKEOP_ENV LAKEOP_DATABASE_URL
"$LK_BIN" audit --limit 1 >/dev/null || { echo "lakeop could not open the database"; exit 1; }
P() { psql -X -q -At -h "$LK_PG_HOST" -p "$LK_PG_PORT" -U postgres -d $db "$@"; }
# Twelve datasets; loads in every status, mostly archived, one in 97 errored.
P -c "INSERT INTO lakeop.datasets (name, freshness_seconds)
      SELECT 'bench__dataset_' || g, 93600 FROM generate_series(1, 12) g" \
  -c "INSERT INTO lakeop.loads (dataset_id, key, size, modified_at, file_land_timestamp, status, record_count,
                                error, created_at, updated_at)
      SELECT (SELECT min(id) FROM lakeop.datasets) + g % 12,
             'cubic/bench/' || (g % 12) || '/' || to_char(timestamptz '2026-01-01' + g * interval '30 seconds',
                                                         'YYYYMMDD-HH24MISS') || '.csv.gz',
             1000 + g % 5000000, timestamptz '2026-01-01' + g * interval '30 seconds',
             extract(epoch FROM timestamptz '2026-01-01' + g * interval '30 seconds')::bigint,
             CASE WHEN g % 97 = 0 THEN 'errored' ELSE 'archived' END,
             CASE WHEN g % 97 = 0 THEN NULL ELSE g % 100000 END,
             CASE WHEN g % 97 = 0 THEN 'record ' || g % 9000 || ' has 7 fields, the schema has 9' END,
             timestamptz '2026-01-01' + g * interval '30 seconds',
             timestamptz '2026-01-01' + g * interval '30 seconds' + interval '3 minutes'
        FROM generate_series(1, $rows) g" \
  -c "VACUUM ANALYZE lakeop.loads" >/dev/null

median() { sort -n | awk '{ a[NR] = $1 } END { if (NR) print a[int((NR + 1) / 2)]; else print "-" }'; }
p95() { sort -n | awk '{ a[NR] = $1 } END { if (NR) { i = int(NR * 0.95); if (i < 1) i = 1; print a[i] } else print "-" }'; }
now_ms() { date +%s%3N; }

# The first page exactly as load_list asks for it (no filter), through psql.
page_sql="SELECT l.id, l.dataset_id, d.name, l.key, COALESCE(l.size, 0),
       COALESCE(extract(epoch FROM l.modified_at)::bigint, 0), COALESCE(l.file_land_timestamp, 0),
       l.status, COALESCE(l.record_count, -1), l.error, l.raw_hist_key, l.errored_key,
       extract(epoch FROM l.created_at)::bigint, extract(epoch FROM l.updated_at)::bigint
  FROM lakeop.loads l JOIN lakeop.datasets d ON d.id = l.dataset_id ORDER BY l.id DESC LIMIT 200"
: > "$d/psql"
for i in 1 2 3 4 5; do
    t0=$(now_ms); P -c "$page_sql" >/dev/null; t1=$(now_ms); echo $((t1 - t0)) >> "$d/psql"
done

: > "$d/fp"; : > "$d/fpd"
for i in 1 2 3 4 5; do
    rm -f "$d/timings"
    echo ":save-display $d/dump.txt" > "$d/fp.script"
    LAKEOP_SCREEN=loads LAKEOP_HEADLESS=1 LINES=40 COLUMNS=160 LAKEOP_SCRIPT="$d/fp.script" \
        LAKEOP_TIMINGS="$d/timings" "$LK_BIN" >/dev/null 2>&1
    awk '$1 == "paint" && $2 == "loads" { p = $3 } END { print p }' "$d/timings" >> "$d/fp"
    awk '$1 == "paint" && $2 == "loads" { p = $3 } $1 == "data" && $2 == "loads" { q = $3 }
         END { print p - q }' "$d/timings" >> "$d/fpd"
done
grep -q "bench__dataset_" "$d/dump.txt" || { echo "the Loads screen did not show the loads:"; cat "$d/dump.txt"; exit 1; }

# The / filter's query over every row when nothing matches (its worst case:
# the whole table is read).  It runs on a worker; the screen stays live.
filter_sql="SELECT l.id FROM lakeop.loads l JOIN lakeop.datasets d ON d.id = l.dataset_id
 WHERE concat_ws(' ', l.id, d.name, l.key, l.status, l.error) ILIKE '%no-such-text%'
 ORDER BY l.id DESC LIMIT 200"
: > "$d/filter"
for i in 1 2 3; do
    t0=$(now_ms); P -c "$filter_sql" >/dev/null; t1=$(now_ms); echo $((t1 - t0)) >> "$d/filter"
done

# Scrolling: 600 steps down and 40 pages (several pages fetched by key).
{ i=0; while [ $i -lt 600 ]; do echo j; i=$((i + 1)); done
  i=0; while [ $i -lt 40 ]; do echo '<PgDown>'; i=$((i + 1)); done
  echo ":save-display $d/scrolled.txt"; } > "$d/scroll.script"
rm -f "$d/timings"
LAKEOP_SCREEN=loads LAKEOP_HEADLESS=1 LINES=40 COLUMNS=160 LAKEOP_SCRIPT="$d/scroll.script" \
    LAKEOP_TIMINGS="$d/timings" "$LK_BIN" >/dev/null 2>&1
awk '$1 == "key" { print $2 }' "$d/timings" > "$d/keys"
key_median=$(median < "$d/keys")
key_p95=$(p95 < "$d/keys")
nkeys=$(wc -l < "$d/keys")
loaded=$(grep -oE '[0-9]+\+? rows' "$d/scrolled.txt" | head -1)

[ -n "${LD_KEEP:-}" ] && cp -r "$d" "$LD_KEEP"
pm=$(median < "$d/psql"); fm=$(median < "$d/fp"); dm=$(median < "$d/fpd")
ratio=$(awk -v a="$fm" -v b="$pm" 'BEGIN { if (b > 0) printf "%.1f×", a / b; else print "-" }')
printf '%-48s %12s %12s %s\n' "figure ($rows loads, medians of 5)" "lakeop" "psql" "target"
printf '%-48s %10s ms %10s ms %s\n' "first paint, Loads (start → painted page)" "$fm" "$pm" "≤ 2× psql (now $ratio)"
printf '%-48s %10s ms %12s %s\n' "  of which after the database answered" "$dm" "" "< 100 ms"
printf '%-48s %10s ms %12s %s\n' "keypress → repaint, scrolling (median)" "$key_median" "" "< 10 ms ($nkeys keys, $loaded loaded)"
printf '%-48s %10s ms %12s %s\n' "keypress → repaint, scrolling (95th pct)" "$key_p95" "" "< 10 ms"
printf '%-48s %12s %10s ms %s\n' "/ filter matching nothing, whole table (median of 3)" "" "$(median < "$d/filter")" "(information: a worker's query)"
