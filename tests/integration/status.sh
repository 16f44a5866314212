#!/bin/sh
# lakeop status: exit 0 when every dataset is fresh and no load is errored,
# 1 (listing why) when a dataset is stale or a load errored; running Zuora
# jobs are listed but do not fail it; --json for machines.
. "$(dirname "$0")/../lib/common.sh"
. "$LK_ROOT/tests/lib/pg.sh"

pg_start || { echo "cannot start PostgreSQL"; exit 1; }
tmp=$(lk_tmpdir)
fx=$LK_ROOT/tests/fixtures/ingest
store=$tmp/store
mkdir -p "$store/incoming/fresh" "$store/incoming/old" "$store/raw-hist"
LAKEOP_DATABASE_URL=$(pg_new_db lk_status)
export LAKEOP_DATABASE_URL
unset LAKEOP_ENV LAKEOP_S3_ENDPOINT
cat >"$tmp/config" <<EOF
[env "test"]
s3.endpoint = file://$store

[dataset "fresh"]
incoming = s3://incoming/fresh/
raw_hist = s3://raw-hist/fresh/
schema = $fx/schema.json
freshness = 26h

[dataset "nocheck"]
incoming = s3://incoming/nocheck/
raw_hist = s3://raw-hist/nocheck/
EOF
chmod 600 "$tmp/config"
lk() { "$LK_BIN" --config "$tmp/config" "$@"; }
q() { psql -X -qAt -h "$LK_PG_HOST" -p "$LK_PG_PORT" -U postgres -d lk_status -c "$1"; }

# Never loaded, freshness set: stale.
out=$(lk status 2>&1); rc=$?
[ $rc -eq 1 ] && echo "$out" | grep -q "^  fresh .*STALE *never" && lk_pass "never loaded: stale, exit 1" \
    || lk_fail "never loaded" "rc=$rc $out"

cp "$fx/good.csv" "$store/incoming/fresh/today.csv"     # landed now
mkdir -p "$store/incoming/nocheck"
lk ingest --yes >/dev/null 2>&1
out=$(lk status 2>&1); rc=$?
[ $rc -eq 0 ] && echo "$out" | grep -q "^stale datasets: none" && echo "$out" | grep -q "^ok$" \
    && lk_pass "fresh load, no errors: exit 0" || lk_fail "fresh" "rc=$rc $out"

# A running Zuora job is listed, inert, and does not fail the check.
q "INSERT INTO lakeop.zuora_jobs (job_id, env, name, status) VALUES ('2c92a0fe1', 'test', E'daily\x1b[31m', 'executing'), ('2c92a0fe2', 'test', 'done', 'completed')" >/dev/null
out=$(lk status 2>&1); rc=$?
[ $rc -eq 0 ] && echo "$out" | grep -q "running Zuora jobs: 1" && echo "$out" | grep -q "2c92a0fe1 .*executing.*daily^\[\[31m" \
    && ! echo "$out" | grep -q 2c92a0fe2 && lk_pass "running jobs listed (escape shown inert), terminal ones not" \
    || lk_fail "jobs" "rc=$rc $out"

# The newest archived load is two days old: stale.
q "UPDATE lakeop.loads SET file_land_timestamp = floor(extract(epoch FROM now()))::bigint - 172800" >/dev/null
out=$(lk status --json 2>/dev/null); rc=$?
chk=$(echo "$out" | python3 -c '
import json,sys
d=json.load(sys.stdin)
print(d["ok"], [x["name"] for x in d["stale_datasets"]], d["stale_datasets"][0]["age_seconds"] >= 172800, len(d["running_jobs"]))')
[ $rc -eq 1 ] && [ "$chk" = "False ['fresh'] True 1" ] && lk_pass "two days old with freshness 26h: stale, exit 1 (--json)" \
    || lk_fail "stale" "rc=$rc $chk"
out=$(lk datasets 2>&1)
echo "$out" | grep -q "^fresh .*STALE" && echo "$out" | grep -q "^nocheck .* -  " && lk_pass "datasets marks the stale one" \
    || lk_fail "datasets" "$out"

lk_done
