#!/bin/sh
# Crash and resume on S3: lakeop killed while it waits for CopyObject's
# answer (a proxy in front of s3rver holds it: the server has made the
# copy, lakeop does not know yet), so the load is left `archiving` with the
# object both in incoming and in raw-hist.  The next run sees that the copy
# there holds the same bytes, deletes the source without copying again, and
# archives the load: nothing lost, nothing moved twice.
. "$(dirname "$0")/../lib/common.sh"
. "$LK_ROOT/tests/lib/pg.sh"
. "$LK_ROOT/tests/lib/s3.sh"

pg_start || { echo "cannot start PostgreSQL"; exit 1; }
s3rver_start || { echo "cannot start s3rver"; exit 1; }
tmp=$(lk_tmpdir)
fx=$LK_ROOT/tests/fixtures/ingest
pport=$(lk_free_port)
python3 "$LK_ROOT/tests/doubles/s3_slow_proxy.py" --port "$pport" --upstream "$LK_S3RVER_URL" \
    --rate 100000000 >"$tmp/proxy.log" 2>&1 &
lk_on_exit "kill $!"
lk_wait_port "$pport" || { echo "proxy did not start: $(cat "$tmp/proxy.log")"; exit 1; }
PROXY=http://127.0.0.1:$pport
proxy() { curl -sS -X POST "$PROXY/_proxy/$1" >/dev/null; }
stat_of() { curl -sS "$PROXY/_proxy/stats" | python3 -c "import json,sys; print(json.load(sys.stdin)['$1'])"; }

LAKEOP_DATABASE_URL=$(pg_new_db lk_ingest_crash_s3)
export LAKEOP_DATABASE_URL
unset LAKEOP_ENV
cat >"$tmp/config" <<EOF2
[env "test"]
s3.region = us-east-1

[dataset "big"]
incoming = s3://incoming/big/
raw_hist = s3://raw-hist/big/
schema = $fx/schema.json
min_records = 1
EOF2
chmod 600 "$tmp/config"
# shellcheck disable=SC2046
lkenv() { env $(lk_s3_env "$LK_S3RVER_URL") LAKEOP_S3_ENDPOINT="$PROXY" "$@"; }
q() { psql -X -qAt -h "$LK_PG_HOST" -p "$LK_PG_PORT" -U postgres -d lk_ingest_crash_s3 -c "$1"; }
ls_keys() { lk_aws "$LK_S3RVER_URL" s3 ls --recursive "s3://$1/" | awk '{print $4}' | tr '\n' ' '; }

lk_aws "$LK_S3RVER_URL" s3 mb s3://incoming >/dev/null
lk_aws "$LK_S3RVER_URL" s3 mb s3://raw-hist >/dev/null
{ echo "id,name,amount"; yes '12345,a name of moderate length,12345.678' | head -n 50000; } >"$tmp/big.csv"
lk_aws "$LK_S3RVER_URL" s3 cp "$tmp/big.csv" s3://incoming/big/big.csv >/dev/null

proxy hold_copies
# lakeop itself in the background (not a shell function around it): the kill must reach it.
# shellcheck disable=SC2046
env $(lk_s3_env "$LK_S3RVER_URL") LAKEOP_S3_ENDPOINT="$PROXY" "$LK_BIN" --config "$tmp/config" ingest --yes \
    >"$tmp/run1.out" 2>&1 &
pid=$!
tries=0
while [ "$(stat_of held_copies)" = 0 ] && [ $tries -lt 600 ] && kill -0 $pid 2>/dev/null; do
    sleep 0.1; tries=$((tries + 1))
done
held=$(stat_of held_copies)
st=$(q "SELECT status FROM lakeop.loads WHERE key = 'big/big.csv'")
kill -KILL $pid 2>/dev/null
wait $pid 2>/dev/null
proxy release_copies
T=$(q "SELECT file_land_timestamp FROM lakeop.loads WHERE key = 'big/big.csv'")
if [ "$held" = 1 ] && [ "$st" = archiving ] && [ "$(ls_keys incoming)" = "big/big.csv " ] \
    && [ "$(ls_keys raw-hist)" = "big/file_land_timestamp=$T/big.csv " ]; then
    lk_pass "killed waiting for CopyObject's answer: load archiving, the object in incoming and in raw-hist"
else lk_fail "kill mid-move (s3)" "held=$held st=$st incoming=$(ls_keys incoming) raw-hist=$(ls_keys raw-hist) $(cat "$tmp/run1.out")"; fi

out=$(lkenv "$LK_BIN" --config "$tmp/config" ingest --yes 2>&1); rc=$?
st=$(q "SELECT status || ' ' || record_count FROM lakeop.loads WHERE key = 'big/big.csv'")
lk_aws "$LK_S3RVER_URL" s3 cp "s3://raw-hist/big/file_land_timestamp=$T/big.csv" "$tmp/back.csv" >/dev/null 2>&1
if [ $rc -eq 0 ] && [ "$st" = "archived 50000" ] && [ -z "$(ls_keys incoming)" ] && cmp -s "$tmp/back.csv" "$tmp/big.csv"; then
    lk_pass "the next run finishes it: archived, gone from incoming, raw-hist intact"
else lk_fail "resume (s3)" "rc=$rc st=$st incoming=$(ls_keys incoming) $out"; fi
n=$(stat_of copies)
[ "$n" = 1 ] && [ "$(q "SELECT count(*) FROM lakeop.loads")" = 1 ] \
    && lk_pass "copied once in all (the resumed run only deleted the source), one load" \
    || lk_fail "moved twice" "$n CopyObject requests, $(q "SELECT count(*) FROM lakeop.loads") loads"

lk_done
