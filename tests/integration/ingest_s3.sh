#!/bin/sh
# Ingestion against an S3 server (s3rver; moto with signatures on
# mis-verifies the percent-encoded prefix of ListObjectsV2, S3.md): listing, streamed
# validation (GetObject), CopyObject, HeadObject, DeleteObject; the aws CLI
# reads back where each file ended.  Retry moves an errored file back.
. "$(dirname "$0")/../lib/common.sh"
. "$LK_ROOT/tests/lib/pg.sh"
. "$LK_ROOT/tests/lib/s3.sh"

pg_start || { echo "cannot start PostgreSQL"; exit 1; }
s3rver_start || { echo "cannot start s3rver"; exit 1; }
tmp=$(lk_tmpdir)
fx=$LK_ROOT/tests/fixtures/ingest
LAKEOP_DATABASE_URL=$(pg_new_db lk_ingest_s3)
export LAKEOP_DATABASE_URL
unset LAKEOP_ENV
cat >"$tmp/config" <<EOF
[env "test"]
s3.region = us-east-1

[dataset "agg"]
incoming = s3://incoming/cubic/dmap/agg/
raw_hist = s3://raw-hist/cubic/dmap/agg/
schema = $fx/schema.json
min_records = 1
EOF
chmod 600 "$tmp/config"
# shellcheck disable=SC2046
lk() { env $(lk_s3_env "$LK_S3RVER_URL") "$LK_BIN" --config "$tmp/config" "$@"; }
q() { psql -X -qAt -h "$LK_PG_HOST" -p "$LK_PG_PORT" -U postgres -d lk_ingest_s3 -c "$1"; }

lk_aws "$LK_S3RVER_URL" s3 mb s3://incoming >/dev/null
lk_aws "$LK_S3RVER_URL" s3 mb s3://raw-hist >/dev/null
for f in good.csv good.csv.gz short_record.csv not_utf8.csv empty.csv "key with spaces.csv"; do
    lk_aws "$LK_S3RVER_URL" s3 cp "$fx/$f" "s3://incoming/cubic/dmap/agg/$f" >/dev/null
done
# A file nobody may list as a load: the errored area of an earlier run.
lk_aws "$LK_S3RVER_URL" s3 cp "$fx/good.csv" "s3://incoming/errored/cubic/dmap/agg/old.csv" >/dev/null

# Two keys per ListObjectsV2 page: the six objects under the prefix take
# three pages (continuation tokens), and every one is registered.
out=$(LAKEOP_S3_LIST_MAX_KEYS=2 lk ingest --yes 2>&1); rc=$?
echo "$out" | sed 's/^/    | /'
[ $rc -eq 0 ] && echo "$out" | grep -q "^6 registered, 3 archived, 3 errored, 0 failed" \
    && lk_pass "ingest on S3 over pages of 2 keys: 6 registered (one key with spaces), 3 archived, 3 errored" \
    || lk_fail "ingest s3" "rc=$rc"
out=$(LAKEOP_S3_LIST_MAX_KEYS=0 lk ingest --yes 2>&1); rc=$?
[ $rc -eq 2 ] && echo "$out" | grep -q "LAKEOP_S3_LIST_MAX_KEYS = 0: expected keys per listing page, from 1 to 1000" \
    && lk_pass "LAKEOP_S3_LIST_MAX_KEYS out of range: exit 2, named" || lk_fail "list page knob" "rc=$rc $out"

T=$(q "SELECT file_land_timestamp FROM lakeop.loads WHERE key = 'cubic/dmap/agg/good.csv'")
lk_aws "$LK_S3RVER_URL" s3 cp "s3://raw-hist/cubic/dmap/agg/file_land_timestamp=$T/good.csv" "$tmp/back.csv" >/dev/null 2>&1
T2=$(q "SELECT file_land_timestamp FROM lakeop.loads WHERE key = 'cubic/dmap/agg/key with spaces.csv'")
lk_aws "$LK_S3RVER_URL" s3 cp "s3://raw-hist/cubic/dmap/agg/file_land_timestamp=$T2/key with spaces.csv" "$tmp/back2.csv" >/dev/null 2>&1
cmp -s "$tmp/back.csv" "$fx/good.csv" && cmp -s "$tmp/back2.csv" "$fx/key with spaces.csv" && lk_pass "raw-hist holds the files byte for byte under file_land_timestamp=<when each landed>" \
    || lk_fail "raw-hist copy" "$(lk_aws "$LK_S3RVER_URL" s3 ls --recursive s3://raw-hist/ 2>&1)"
left=$(lk_aws "$LK_S3RVER_URL" s3 ls --recursive s3://incoming/cubic/ 2>&1)
[ -z "$left" ] && lk_pass "nothing left under the incoming prefix" || lk_fail "incoming left" "$left"
errd=$(lk_aws "$LK_S3RVER_URL" s3 ls --recursive s3://incoming/errored/ | awk '{print $4}' | sort | tr '\n' ' ')
[ "$errd" = "errored/cubic/dmap/agg/empty.csv errored/cubic/dmap/agg/not_utf8.csv errored/cubic/dmap/agg/old.csv errored/cubic/dmap/agg/short_record.csv " ] \
    && lk_pass "invalid files in the errored area" || lk_fail "errored area" "$errd"

id=$(q "SELECT id FROM lakeop.loads WHERE key = 'cubic/dmap/agg/short_record.csv'")
out=$(lk retry "$id" --yes 2>&1); rc=$?
back=$(lk_aws "$LK_S3RVER_URL" s3 ls s3://incoming/cubic/dmap/agg/ | awk '{print $4}')
[ $rc -eq 0 ] && [ "$back" = short_record.csv ] && [ "$(q "SELECT status FROM lakeop.loads WHERE id = $id")" = ready ] \
    && lk_pass "retry on S3: the file is back under the incoming prefix, load ready" || lk_fail "retry s3" "rc=$rc $out"
# The move back gave the object a new modified time: it is still the retried load.
out=$(lk ingest --yes 2>&1); rc=$?
n=$(q "SELECT count(*) || ' ' || min(status) FROM lakeop.loads WHERE key = 'cubic/dmap/agg/short_record.csv'")
[ "$n" = "1 errored" ] && echo "$out" | grep -q "^0 registered, 0 archived, 1 errored" \
    && lk_pass "the retried file is ingested as its own load again, not registered anew" || lk_fail "retry load" "n=$n $out"

# ---- the same key landed again later: a second load in its own partition
sleep 1   # a new modified time (S3 gives seconds)
lk_aws "$LK_S3RVER_URL" s3 cp "$fx/good.csv" "s3://incoming/cubic/dmap/agg/good.csv" >/dev/null
out=$(lk ingest --yes 2>&1); rc=$?
parts=$(q "SELECT file_land_timestamp FROM lakeop.loads WHERE key = 'cubic/dmap/agg/good.csv' AND status = 'archived' ORDER BY id" | tr '\n' ' ')
T3=$(echo "$parts" | awk '{print $2}')
lk_aws "$LK_S3RVER_URL" s3 cp "s3://raw-hist/cubic/dmap/agg/file_land_timestamp=$T3/good.csv" "$tmp/back3.csv" >/dev/null 2>&1
if [ $rc -eq 0 ] && echo "$out" | grep -q "^1 registered, 1 archived" && [ -n "$T3" ] && [ "$T3" -gt "$T" ] \
    && cmp -s "$tmp/back3.csv" "$fx/good.csv"; then
    lk_pass "good.csv landed twice on S3: two loads, in file_land_timestamp=$T and =$T3"
else lk_fail "landed twice (s3)" "rc=$rc parts=$parts $out"; fi

# ---- a different object of the same size in raw-hist: never taken for a copy
printf 'id,name,amount\n8,other,8\n' >"$tmp/clash.csv"
printf 'id,name,amount\n8,OTHER,8\n' >"$tmp/other.csv"
lk_aws "$LK_S3RVER_URL" s3 cp "$tmp/clash.csv" "s3://incoming/cubic/dmap/agg/clash.csv" >/dev/null
landed=$(lk_aws "$LK_S3RVER_URL" s3api head-object --bucket incoming --key cubic/dmap/agg/clash.csv \
         --query LastModified --output text)
TC=$(date -d "$landed" +%s)
lk_aws "$LK_S3RVER_URL" s3 cp "$tmp/other.csv" "s3://raw-hist/cubic/dmap/agg/file_land_timestamp=$TC/clash.csv" >/dev/null
out=$(lk ingest --yes 2>&1); rc=$?
lk_aws "$LK_S3RVER_URL" s3 cp "s3://raw-hist/cubic/dmap/agg/file_land_timestamp=$TC/clash.csv" "$tmp/rh.csv" >/dev/null 2>&1
lk_aws "$LK_S3RVER_URL" s3 cp "s3://incoming/cubic/dmap/agg/clash.csv" "$tmp/inc.csv" >/dev/null 2>&1
if [ $rc -eq 1 ] && echo "$out" | grep -q "a different object of the same size (25 bytes) is there" \
    && cmp -s "$tmp/rh.csv" "$tmp/other.csv" && cmp -s "$tmp/inc.csv" "$tmp/clash.csv"; then
    lk_pass "same-size clash on S3: refused (exit 1), the landed file kept, raw-hist untouched"
else lk_fail "same-size clash (s3)" "rc=$rc TC=$TC $out"; fi

lk_done
