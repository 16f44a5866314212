#!/bin/sh
# Cohorts against real servers: cohort-sync reads a DynamoDB table served by
# moto with signatures checked (several Scan pages, typed values, NULL and
# absent attributes, instants in other zones), a missing table, wrong
# credentials and a value of the wrong type (nothing stored); cohort-export
# writes to moto's S3 (signed) and to s3rver, read back with the aws CLI
# and compared byte for byte with the expected file.
. "$(dirname "$0")/../lib/common.sh"
. "$LK_ROOT/tests/lib/pg.sh"
. "$LK_ROOT/tests/lib/s3.sh"

pg_start || { echo "cannot start PostgreSQL"; exit 1; }
moto_start || { echo "cannot start moto"; exit 1; }
s3rver_start || { echo "cannot start s3rver"; exit 1; }
tmp=$(lk_tmpdir)
fx=$LK_ROOT/tests/fixtures/cohort
LAKEOP_DATABASE_URL=$(pg_new_db lk_cohort_s3)
export LAKEOP_DATABASE_URL
unset LAKEOP_ENV LAKEOP_COHORTS_BUCKET

cat >"$tmp/config" <<EOF
[env "test"]
cohorts.bucket = s3://clean-cohorts
cohorts.table_stage = CODE
operator = tester
EOF
chmod 600 "$tmp/config"
# lakeop against moto: S3 and DynamoDB on the same port, the same signed key.
lkm() {
    env $(lk_s3_env "$LK_MOTO_URL") LAKEOP_DYNAMODB_ENDPOINT="$LK_MOTO_URL" \
        AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null \
        "$LK_BIN" --config "$tmp/config" "$@"
}
q() { psql -X -qAt -h "$LK_PG_HOST" -p "$LK_PG_PORT" -U postgres -d lk_cohort_s3 -c "$1"; }
aws_m() { lk_aws "$LK_MOTO_URL" "$@"; }

# ---- a DynamoDB table like the engine's ------------------------------------
make_table() {
    aws_m dynamodb create-table --table-name "$1" \
        --attribute-definitions AttributeName=subscriptionNumber,AttributeType=S \
        --key-schema AttributeName=subscriptionNumber,KeyType=HASH \
        --billing-mode PAY_PER_REQUEST >/dev/null
}
make_table PriceMigration-CODE-Dyn2024 || { echo "cannot create the table"; exit 1; }
python3 - "$tmp/items.json" <<'EOF'
import json, sys
S = lambda v: {"S": v}
N = lambda v: {"N": v}
items = [
    {"subscriptionNumber": S("A-S00000003"), "processingStage": S("AmendmentWrittenToSalesforce"),
     "startDate": S("2024-03-01"), "currency": S("GBP"), "oldPrice": N("10.5"),
     "estimatedNewPrice": N("12.6"), "billingPeriod": S("Month"),
     "whenEstimationDone": S("2024-01-02T03:04:05+01:00"), "salesforcePriceRiseId": S("a1B000000000000003"),
     "whenSfShowEstimate": S("2024-01-03T10:00:00Z"), "newPrice": N("12.6"),
     "newSubscriptionId": S("8a12800000000003"), "whenAmendmentDone": S("2024-02-01T00:00:00-05:00"),
     "whenNotificationSent": S("2024-01-20T12:00:00.250Z"),
     "whenNotificationSentWrittenToSalesforce": S("2024-01-21T12:00:00Z"),
     "whenAmendmentWrittenToSalesforce": S("2024-02-02T09:30:00+05:30")},
    {"subscriptionNumber": S("A-S00000001"), "processingStage": S("ReadyForEstimation"),
     "startDate": S("2024-04-15"), "currency": S("USD"), "oldPrice": N("7"), "billingPeriod": S("Annual"),
     "estimatedNewPrice": {"NULL": True}},
    {"subscriptionNumber": S("A-S00000002"), "processingStage": S("Cancelled"), "startDate": S("2024-05-31"),
     "currency": S("EUR"), "oldPrice": N("5"), "billingPeriod": S("Quarter"),
     "whenEstimationDone": S("2024-01-05T23:30:00-02:00"),
     "cancellationReason": S('Customer said "too expensive", then left')},
]
for i in range(4, 8):
    items.append({"subscriptionNumber": S("A-S0000000%d" % i), "processingStage": S("EstimationComplete"),
                  "currency": S("GBP"), "oldPrice": N("1.25")})
json.dump({"PriceMigration-CODE-Dyn2024": [{"PutRequest": {"Item": it}} for it in items]},
          open(sys.argv[1], "w"))
EOF
aws_m dynamodb batch-write-item --request-items "file://$tmp/items.json" >/dev/null || { echo "cannot put items"; exit 1; }

# Two items per Scan page: seven items take four pages.
scans_before=$(grep -c 'POST / ' "$LK_MOTO_LOG")
if out=$(LAKEOP_DYNAMODB_SCAN_LIMIT=2 lkm cohort-sync Dyn2024 --yes 2>&1) && echo "$out" | grep -q "7 new, 0 updated"; then
    lk_pass "sync: 7 items over several Scan pages, signed"
else
    lk_fail "sync" "$out"
fi
scans=$(( $(grep -c 'POST / ' "$LK_MOTO_LOG") - scans_before ))
[ "$scans" -ge 4 ] && lk_pass "sync: paged by LastEvaluatedKey ($scans requests)" || lk_fail "paging" "$scans requests"
row=$(q "SELECT processing_stage, old_price, estimated_new_price IS NULL, to_char(when_estimation_done AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS'), cancellation_reason IS NULL, billing_period FROM lakeop.cohort_items WHERE subscription_name = 'A-S00000001'")
[ "$row" = "ReadyForEstimation|7|t||t|Annual" ] && lk_pass "sync: N, S, NULL and absent attributes mapped" || lk_fail "mapping" "$row"
row=$(q "SELECT to_char(when_amendment_written_to_salesforce AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS'), new_subscription_id FROM lakeop.cohort_items WHERE subscription_name = 'A-S00000003'")
[ "$row" = "2024-02-02 04:00:00|8a12800000000003" ] && lk_pass "sync: instants with zones stored as UTC instants" || lk_fail "instants" "$row"
tbl=$(q "SELECT table_name, synced_at IS NOT NULL FROM lakeop.cohorts WHERE name = 'Dyn2024'")
[ "$tbl" = "PriceMigration-CODE-Dyn2024|t" ] && lk_pass "sync: the cohort records its table and sync time" || lk_fail "cohort row" "$tbl"
if out=$(lkm cohort-sync Dyn2024 --yes --json 2>/dev/null) &&
   echo "$out" | python3 -c 'import json,sys; d=json.load(sys.stdin); sys.exit(0 if (d["inserted"],d["updated"],d["table"])==(0,7,"PriceMigration-CODE-Dyn2024") else 1)'; then
    lk_pass "sync again --json: 0 new, 7 updated"
else
    lk_fail "sync again" "$out"
fi

# ---- failures: nothing stored -------------------------------------------------
before=$(q "SELECT count(*) FROM lakeop.cohort_items")
out=$(lkm cohort-sync Nope --yes 2>&1); rc=$?
if [ $rc -eq 4 ] && echo "$out" | grep -q "table PriceMigration-CODE-Nope does not exist"; then
    lk_pass "missing table: exit 4, named"
else
    lk_fail "missing table" "rc=$rc $out"
fi
out=$(env $(lk_s3_env "$LK_MOTO_URL") AWS_SECRET_ACCESS_KEY=wrong-secret LAKEOP_DYNAMODB_ENDPOINT="$LK_MOTO_URL" \
      AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null \
      "$LK_BIN" --config "$tmp/config" cohort-sync Dyn2024 --yes 2>&1); rc=$?
if [ $rc -eq 1 ] && echo "$out" | grep -q "refused the credentials" && ! echo "$out" | grep -q wrong-secret; then
    lk_pass "wrong credentials: exit 1, the secret never shown"
else
    lk_fail "wrong credentials" "rc=$rc $out"
fi
make_table PriceMigration-CODE-Odd2024
aws_m dynamodb put-item --table-name PriceMigration-CODE-Odd2024 \
    --item '{"subscriptionNumber":{"S":"A-1"},"processingStage":{"S":"ReadyForEstimation"}}' >/dev/null
aws_m dynamodb put-item --table-name PriceMigration-CODE-Odd2024 \
    --item '{"subscriptionNumber":{"S":"A-2"},"processingStage":{"S":"ReadyForEstimation"},"oldPrice":{"BOOL":true}}' >/dev/null
out=$(lkm cohort-sync Odd2024 --yes 2>&1); rc=$?
if [ $rc -eq 1 ] && echo "$out" | grep -q "attribute 'oldPrice' has DynamoDB type BOOL"; then
    lk_pass "a value of the wrong type: exit 1 naming the attribute"
else
    lk_fail "wrong type" "rc=$rc $out"
fi
aws_m dynamodb put-item --table-name PriceMigration-CODE-Odd2024 \
    --item '{"subscriptionNumber":{"S":"A-2"},"processingStage":{"S":"ReadyForEstimation"},"startDate":{"S":"01/02/2024"}}' >/dev/null
out=$(lkm cohort-sync Odd2024 --yes 2>&1); rc=$?
if [ $rc -eq 1 ] && echo "$out" | grep -q "subscriptionNumber A-2): start_date '01/02/2024' is not a date"; then
    lk_pass "a malformed date: exit 1 naming the item and field"
else
    lk_fail "bad date" "rc=$rc $out"
fi
after=$(q "SELECT count(*) FROM lakeop.cohort_items")
odd=$(q "SELECT count(*) FROM lakeop.cohorts WHERE name IN ('Nope', 'Odd2024')")
[ "$before" = "$after" ] && [ "$odd" = 0 ] && lk_pass "failed syncs stored nothing" || lk_fail "nothing stored" "$before -> $after, $odd cohorts"
out=$(env -u LAKEOP_DYNAMODB_ENDPOINT $(lk_s3_env "$LK_MOTO_URL") "$LK_BIN" --config "$tmp/config" cohort-sync Dyn2024 --yes 2>&1); rc=$?
[ $rc -eq 2 ] && echo "$out" | grep -q "dynamodb.endpoint" && lk_pass "no DynamoDB endpoint beside a local S3: exit 2" || lk_fail "no endpoint" "rc=$rc $out"
failed=$(q "SELECT count(*) FROM lakeop.audit WHERE action = 'cohort.sync' AND result = 'failed'")
[ "$failed" -ge 4 ] && lk_pass "failed syncs audited" || lk_fail "audit" "$failed"

# ---- export to moto (signed) and to s3rver --------------------------------------
aws_m s3 mb s3://clean-cohorts >/dev/null

# doctor proves DynamoDB with one signed ListTables, as it proves the bucket.
out=$(lkm doctor --json 2>&1); rc=$?
if [ $rc -eq 0 ] && echo "$out" | python3 -c '
import json, sys
d = json.load(sys.stdin)
c = {x["service"]: x for x in d["checks"]}
sys.exit(0 if d["ok"] and c["dynamodb"]["status"] == "ok" and c["dynamodb"]["reachable"] and c["s3"]["status"] == "ok" else 1)'; then
    lk_pass "doctor: DynamoDB answers a signed call"
else
    lk_fail "doctor: DynamoDB" "rc=$rc $out"
fi
out=$(env $(lk_s3_env "$LK_MOTO_URL") AWS_SECRET_ACCESS_KEY=wrong-secret LAKEOP_DYNAMODB_ENDPOINT="$LK_MOTO_URL" \
      AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null "$LK_BIN" --config "$tmp/config" doctor 2>&1); rc=$?
if [ $rc -eq 1 ] && echo "$out" | grep -q "dynamodb *failed *$LK_MOTO_URL: DynamoDB refused the credentials for ListTables" &&
   echo "$out" | grep -q "doctor: s3, dynamodb failed" && ! echo "$out" | grep -q wrong-secret; then
    lk_pass "doctor: a wrong key fails the DynamoDB check, the secret never shown"
else
    lk_fail "doctor: wrong key" "rc=$rc $out"
fi
lkm cohort-import Test2024 "$fx/import.csv" --yes >/dev/null 2>&1
if out=$(lkm cohort-export Test2024 --yes 2>&1) &&
   aws_m s3 cp s3://clean-cohorts/data/Test2024.csv "$tmp/moto.csv" >/dev/null && cmp -s "$tmp/moto.csv" "$fx/expected.csv"; then
    lk_pass "export to moto: read back with aws, byte for byte"
else
    lk_fail "export to moto" "$out"
fi
if aws_m s3 cp s3://clean-cohorts/data/Test2024.manifest.json - 2>/dev/null |
   python3 -c 'import json,sys; m=json.load(sys.stdin); sys.exit(0 if m["recordCount"]==4 and m["file"]=="data/Test2024.csv" else 1)'; then
    lk_pass "manifest on moto"
else
    lk_fail "manifest on moto" "$(aws_m s3 ls --recursive s3://clean-cohorts 2>&1)"
fi
# Seven synced items; and the missing bucket fails clearly.
if lkm cohort-export Dyn2024 --yes >/dev/null 2>&1 &&
   [ "$(aws_m s3 cp s3://clean-cohorts/data/Dyn2024.csv - | wc -l)" = 8 ]; then
    lk_pass "synced cohort exported: header + 7 rows"
else
    lk_fail "synced export" "$(lkm cohort-export Dyn2024 --yes 2>&1)"
fi
got=$(aws_m s3 cp s3://clean-cohorts/data/Dyn2024.csv - | grep A-S00000001)
want='"Dyn2024","A-S00000001","ReadyForEstimation","2024-04-15","USD","7","","Annual","","","","","","","","","",""'
[ "$got" = "$want" ] && lk_pass "synced row exported as the engine's format" || lk_fail "synced row" "$got"
# An empty table: the cohort exists with no items, and its export is the
# header alone with a manifest of 0 records ("no data", not "export broken").
make_table PriceMigration-CODE-Void2024
out=$(lkm cohort-sync Void2024 --yes 2>&1); rc=$?
if [ $rc -eq 0 ] && echo "$out" | grep -q "0 new, 0 updated" && [ "$(q "SELECT count(*) FROM lakeop.cohorts WHERE name = 'Void2024'")" = 1 ] \
   && out=$(lkm cohort-export Void2024 --yes 2>&1) \
   && [ "$(aws_m s3 cp s3://clean-cohorts/data/Void2024.csv -)" = "$(head -1 "$fx/expected.csv")" ] \
   && aws_m s3 cp s3://clean-cohorts/data/Void2024.manifest.json - 2>/dev/null |
      python3 -c 'import json,sys; m=json.load(sys.stdin); sys.exit(0 if m["recordCount"]==0 and m["cohort"]=="Void2024" else 1)'; then
    lk_pass "empty DynamoDB table: synced, exported as the header alone with a manifest of 0 records"
else
    lk_fail "empty table" "rc=$rc $out"
fi
cat >"$tmp/config_nobucket" <<EOF
[env "test"]
cohorts.bucket = s3://no-such-bucket
cohorts.table_stage = CODE
EOF
out=$(env $(lk_s3_env "$LK_MOTO_URL") "$LK_BIN" --config "$tmp/config_nobucket" cohort-export Test2024 --yes 2>&1); rc=$?
[ $rc -ne 0 ] && echo "$out" | grep -q "no-such-bucket" && lk_pass "missing bucket: fails naming it (rc $rc)" || lk_fail "missing bucket" "rc=$rc $out"

aws_s() { lk_aws "$LK_S3RVER_URL" "$@"; }
aws_s s3 mb s3://clean-cohorts >/dev/null
if out=$(env $(lk_s3_env "$LK_S3RVER_URL") "$LK_BIN" --config "$tmp/config" cohort-export Test2024 --yes 2>&1) &&
   aws_s s3 cp s3://clean-cohorts/data/Test2024.csv "$tmp/s3rver.csv" >/dev/null && cmp -s "$tmp/s3rver.csv" "$fx/expected.csv" &&
   aws_s s3 cp s3://clean-cohorts/data/Test2024.manifest.json - | grep -q '"recordCount": 4'; then
    lk_pass "export to s3rver: CSV byte for byte and manifest, read back with aws"
else
    lk_fail "export to s3rver" "$out"
fi

lk_done
