#!/bin/sh
# Cohort export of 1,000,000 items (TARGETS.md: constant memory, ≤ 64 MB;
# time printed beside psql): lakeop cohort-export to file:// beside
#   psql \copy (SELECT the same rows, rendered the same way) TO FILE CSV FORCE QUOTE *
# on the same database.  Medians of LAKEOP_BENCH_RUNS runs (default 3);
# peak RSS from /usr/bin/time -f %M.  LAKEOP_BENCH_QUICK=1: 200,000 items.
set -u
. "$(dirname "$0")/../lib/common.sh"
. "$LK_ROOT/tests/lib/pg.sh"

[ -x /usr/bin/time ] || { echo "cohort: /usr/bin/time is missing (apt-get install time)"; exit 1; }
items=1000000
[ "${LAKEOP_BENCH_QUICK:-0}" = 1 ] && items=200000
runs=${LAKEOP_BENCH_RUNS:-3}

pg_start || exit 1
T=$(lk_tmpdir)
db=lakeop_bench_cohort
LAKEOP_DATABASE_URL=$(pg_new_db $db)
export LAKEOP_DATABASE_URL
unset LAKEOP_ENV LAKEOP_S3_ENDPOINT LAKEOP_COHORTS_BUCKET
mkdir -p "$T/store/clean"
cat >"$T/config" <<EOF
[env "bench"]
s3.endpoint = file://$T/store
cohorts.bucket = s3://clean
cohorts.table_stage = BENCH
EOF
chmod 600 "$T/config"
q() { psql -X -qAt -h "$LK_PG_HOST" -p "$LK_PG_PORT" -U postgres -d $db "$@"; }

# The schema comes from lakeop's own migrations; then the items, every
# field filled about as densely as a finished price rise.
"$LK_BIN" --config "$T/config" cohorts >/dev/null || exit 1
q -c "INSERT INTO lakeop.cohorts (name) VALUES ('Bench1M')" || exit 1
q -c "INSERT INTO lakeop.cohort_items
  SELECT c.id, 'A-S' || lpad(g::text, 8, '0'),
         (ARRAY['EstimationComplete','NotificationSendComplete','AmendmentComplete','Cancelled'])[1 + g % 4],
         date '2025-01-01' + g % 365, 'GBP', round((5 + g % 40 * 0.75)::numeric, 2),
         round((5 + g % 40 * 0.75)::numeric * 1.2, 2), 'Month',
         timestamptz '2024-06-01 12:00:00Z' + (g || ' seconds')::interval, 'a1B' || lpad(g::text, 15, '0'),
         timestamptz '2024-06-02 12:00:00Z' + (g || ' seconds')::interval, round((5 + g % 40 * 0.75)::numeric * 1.2, 2),
         md5(g::text), timestamptz '2024-07-01 12:00:00Z', timestamptz '2024-06-20 12:00:00Z',
         timestamptz '2024-06-21 12:00:00Z', timestamptz '2024-07-02 12:00:00Z',
         CASE WHEN g % 4 = 3 THEN 'Customer said \"no\", then left' END, now()
  FROM lakeop.cohorts c, generate_series(1, $items) g" || exit 1
q -c "VACUUM ANALYZE lakeop.cohort_items" || exit 1

# The same rows rendered the same way, for psql's \copy.
sel=$(cat <<'EOF'
SELECT 'Bench1M', subscription_name, processing_stage, to_char(start_date, 'YYYY-MM-DD'), currency,
       old_price::text, estimated_new_price::text, billing_period,
       to_char(when_estimation_done AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'), salesforce_price_rise_id,
       to_char(when_sf_show_estimate AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'), new_price::text,
       new_subscription_id, to_char(when_amendment_done AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
       to_char(when_notification_sent AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
       to_char(when_notification_sent_written_to_salesforce AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
       to_char(when_amendment_written_to_salesforce AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
       cancellation_reason
FROM lakeop.cohort_items WHERE cohort_id = (SELECT id FROM lakeop.cohorts WHERE name = 'Bench1M')
ORDER BY subscription_name
EOF
)
sel=$(printf '%s' "$sel" | tr '\n' ' ')

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
measure() {   # name command...
    name=$1; shift
    : >"$T/times"; : >"$T/mem"
    i=0
    while [ $i -lt "$runs" ]; do
        if ! /usr/bin/time -f '%e %M' -o "$T/one" "$@" >/dev/null 2>"$T/err"; then
            echo "  ($name failed: $(tail -3 "$T/err"))"
            return 1
        fi
        awk '{print $1}' "$T/one" >>"$T/times"
        awk '{print $2}' "$T/one" >>"$T/mem"
        i=$((i + 1))
    done
    secs=$(median <"$T/times")
    mem=$(sort -n "$T/mem" | tail -1)
    printf '  %-44s %7ss %9.0f items/s  peak %6.1f MB\n' "$name" "$secs" \
        "$(echo "$items $secs" | awk '{print ($2 > 0 ? $1 / $2 : 0)}')" "$(echo "$mem" | awk '{print $1 / 1024}')"
    eval "secs_$(echo "$name" | tr -c 'a-z' '_')=$secs"
}

echo "  $items items, medians of $runs runs"
measure "lakeop cohort-export (file://)" "$LK_BIN" --config "$T/config" cohort-export Bench1M --yes
lk_secs=$secs; lk_mem=$mem
measure "psql \\copy ... CSV FORCE QUOTE *" psql -X -q -h "$LK_PG_HOST" -p "$LK_PG_PORT" -U postgres -d $db \
    -c "\\copy ($sel) TO '$T/psql.csv' WITH (FORMAT csv, HEADER, FORCE_QUOTE *)"
ps_secs=$secs
rows=$(($(wc -l <"$T/store/clean/data/Bench1M.csv") - 1))
echo "  rows in the export: $rows; file $(du -m "$T/store/clean/data/Bench1M.csv" | cut -f1) MB"
echo "  lakeop / psql time: $(echo "$lk_secs $ps_secs" | awk '{printf "%.2fx", ($2 > 0 ? $1 / $2 : 0)}')"
echo "  peak memory target ≤ 64 MB: $(echo "$lk_mem" | awk '{print ($1 <= 65536 ? "met" : "MISSED")}') ($(echo "$lk_mem" | awk '{printf "%.1f", $1 / 1024}') MB)"
if [ -n "${LK_BENCH_SUMMARY:-}" ]; then
    printf 'cohort export of %s items: time\t%s s\t%s s\t%s\tprinted beside psql \\copy\tinfo\n' "$items" \
        "$lk_secs" "$ps_secs" "$(echo "$lk_secs $ps_secs" | awk '{printf "%.2fx", ($2 > 0 ? $1 / $2 : 0)}')" >> "$LK_BENCH_SUMMARY"
    printf 'cohort export of %s items: peak memory\t%s MB\t%s MB\t-\t<= 64 MB, constant\t%s\n' "$items" \
        "$(echo "$lk_mem" | awk '{printf "%.1f", $1 / 1024}')" "$(echo "$mem" | awk '{printf "%.1f", $1 / 1024}')" \
        "$(echo "$lk_mem" | awk '{print ($1 <= 65536 ? "met" : "NOT met")}')" >> "$LK_BENCH_SUMMARY"
fi
[ "$rows" -eq "$items" ]
