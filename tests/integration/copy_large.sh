#!/bin/sh
# lakeop copy with a large stream (300 MB) to s3rver and to file://, and
# lakeop killed with SIGKILL halfway: while it runs and after it dies the
# previous CSV and metadata stay exactly as they were (no partial object
# under the final name, at any moment), and running it again ends right.
#
# On s3rver the kill hits a multipart upload (a segmented batch: its size is
# not known up front).  A single file with a Content-Length goes as ONE
# streaming PUT, and s3rver writes a PUT's body over the object file as it
# arrives (its filesystem store opens the object's own path when the PUT
# starts), so there no interrupted PUT can keep the old bytes; S3 and moto
# keep them, and copy_s3.sh checks that on moto.  Here the refused streaming
# PUT must still fail, leave the metadata and the batch's record alone, and
# a rerun must end right.
. "$(dirname "$0")/../lib/common.sh"
. "$LK_ROOT/tests/lib/pg.sh"
. "$LK_ROOT/tests/lib/doubles.sh"
. "$LK_ROOT/tests/lib/s3.sh"
. "$LK_ROOT/tests/lib/copy.sh"
set -u

pg_start || exit 1
zuora_double_start --job-seconds 0 || exit 1
s3rver_start || exit 1
lk_tmpdir >/dev/null
T=$(lk_tmpdir)
DB=$(pg_new_db lakeop_copy_large)
copy_env "$DB" "$LK_S3RVER_URL"
export AWS_ACCESS_KEY_ID=S3RVER AWS_SECRET_ACCESS_KEY=S3RVER AWS_REGION=us-east-1
copy_config "s3://raw-account/Account.csv" "s3://raw-invoice/InvoiceItem.csv"
lk_aws "$LK_S3RVER_URL" s3 mb s3://raw-account >/dev/null
lk_aws "$LK_S3RVER_URL" s3 mb s3://raw-invoice >/dev/null

RECORDS=3000000       # x 100 bytes: 300 MB
J=2c92c0f9725046a2017255f7d84e5a48
BA=2c92c0f9725046a2017255f7d8925a55
FA=2c92c09472503749017255fc3c9379c8
zuora_file "$FA" $RECORDS 50
seed_job "$J" "$BA:Account:$RECORDS:$FA"
zuora_get "$FA" > "$T/want.csv"

# ---- 300 MB to s3rver, read back by aws
out=$($LK_BIN copy "$J" --yes 2>&1)
st=$?
if [ $st -eq 0 ] && lk_aws "$LK_S3RVER_URL" s3 cp s3://raw-account/Account.csv "$T/got.csv" >/dev/null &&
   cmp -s "$T/want.csv" "$T/got.csv"; then
    lk_pass "300 MB to s3rver: read back by aws, identical"
else
    lk_fail "300 MB to s3rver" "status $st: $out"
fi
rm -f "$T/got.csv"
lk_aws "$LK_S3RVER_URL" s3 cp s3://raw-account/metadata/Account.json "$T/meta" >/dev/null 2>&1
check_meta "its metadata" "$T/meta" "$J" "$FA" "$BA" Account $RECORDS

# ---- SIGKILL halfway, file://
L=$T/lake
mkdir -p "$L/raw-account/metadata"
printf 'Account.IsDeleted,Account.Id,Account.Name\nfalse,old,old\n' > "$L/raw-account/Account.csv"
printf '{"old":true}' > "$L/raw-account/metadata/Account.json"
old=$(cat "$L/raw-account/Account.csv" "$L/raw-account/metadata/Account.json" | md5sum)
# A slow Zuora makes "halfway" last long enough to watch.
zuora_ctl POST /_control/fault "{\"match\":\"GET /v1/file/$FA\",\"delay_ms\":300,\"times\":1}" >/dev/null
LAKEOP_S3_ENDPOINT=file://$L $LK_BIN copy "$J" --yes --force >"$T/kill.log" 2>&1 &
pid=$!
seen_temp=false
changed=false
n=0
while [ $n -lt 400 ]; do
    now=$(cat "$L/raw-account/Account.csv" "$L/raw-account/metadata/Account.json" | md5sum)
    [ "$now" = "$old" ] || changed=true
    if ls -A "$L/raw-account" | grep -q '^\.'; then
        size=$(du -b "$L/raw-account" --max-depth=0 | cut -f1)
        if [ "$size" -gt 50000000 ]; then seen_temp=true; break; fi
    fi
    sleep 0.02
    n=$((n + 1))
done
kill -9 $pid 2>/dev/null
wait $pid 2>/dev/null
now=$(cat "$L/raw-account/Account.csv" "$L/raw-account/metadata/Account.json" | md5sum)
visible=$(ls "$L/raw-account" | tr '\n' ' ')
if $seen_temp && ! $changed && [ "$now" = "$old" ] && [ "$visible" = "Account.csv metadata " ]; then
    lk_pass "file://: killed with SIGKILL halfway: old CSV and metadata intact throughout, nothing partial visible"
else
    lk_fail "SIGKILL file://" "temp seen $seen_temp, changed $changed, visible '$visible': $(cat "$T/kill.log")"
fi
left=$(ls -A "$L/raw-account" | grep '^\.Account\.csv\.lakeop-tmp\.' | head -1)
if [ -n "$left" ]; then
    lk_pass "file://: the killed copy left its temporary file ($left), never listed"
else
    lk_fail "temporary file after SIGKILL" "none in $(ls -A "$L/raw-account" | tr '\n' ' ')"
fi
out=$(LAKEOP_S3_ENDPOINT=file://$L $LK_BIN copy "$J" --yes --force 2>&1)
st=$?
if [ $st -eq 0 ] && cmp -s "$T/want.csv" "$L/raw-account/Account.csv"; then
    check_meta "file://: run again after the kill: CSV identical, metadata exact" \
        "$L/raw-account/metadata/Account.json" "$J" "$FA" "$BA" Account $RECORDS
else
    lk_fail "rerun after SIGKILL (file://)" "status $st: $out"
fi
# The dead copy's file is removed by the next writer in that folder once it
# is a minute old (younger, it could be a writer that has not locked it yet);
# a live writer's (held with flock, as lakeop holds its own) never is.
if [ -n "$left" ] && [ -e "$L/raw-account/$left" ]; then
    lk_pass "file://: a dead copy's temporary file younger than a minute is kept"
else
    lk_fail "young temporary file" "$left is gone"
fi
touch -d '-2 minutes' "$L/raw-account/$left"
live=.InvoiceItem.csv.lakeop-tmp.Zz9Yy8
printf 'being written' > "$L/raw-account/$live"
touch -d '-2 hours' "$L/raw-account/$live"
flock "$L/raw-account/$live" sleep 30 &
holder=$!
lk_on_exit "kill $holder 2>/dev/null"
sleep 0.2
out=$(LAKEOP_S3_ENDPOINT=file://$L $LK_BIN copy "$J" --yes --force 2>&1)
st=$?
if [ $st -eq 0 ] && [ ! -e "$L/raw-account/$left" ] && [ -e "$L/raw-account/$live" ] &&
   [ "$(ls "$L/raw-account" | tr '\n' ' ')" = "Account.csv metadata " ]; then
    lk_pass "file://: the next copy removed the dead copy's temporary file, not the one being written"
else
    lk_fail "stale temporary files" "status $st, left: $(ls -A "$L/raw-account" | tr '\n' ' '): $out"
fi
kill $holder 2>/dev/null
rm -f "$L/raw-account/$live"

# ---- SIGKILL halfway, S3 (s3rver): the multipart upload never completes
J2=2c92c0f9725046a2017255f7d84e5a49
B2=2c92c0f9725046a2017255f7d8925a57
FA2=2c92c09472503749017255fc3c9379d0
zuora_file "$FA2" 10 50
seed_job "$J2" "$B2:Account:$((RECORDS + 10)):$FA,$FA2"
printf 'Account.IsDeleted,Account.Id,Account.Name\nfalse,old,old\n' > "$T/old.csv"
lk_aws "$LK_S3RVER_URL" s3 cp "$T/old.csv" s3://raw-account/Account.csv >/dev/null
lk_aws "$LK_S3RVER_URL" s3 cp "$L/raw-account/metadata/Account.json" s3://raw-account/metadata/Account.json >/dev/null
cp "$L/raw-account/metadata/Account.json" "$T/old.json"
# The parts go through a proxy that passes upload bodies on at 20 MB/s, so
# the kill lands while parts are being sent, however fast this machine is.
sport=$(lk_free_port)
python3 "$LK_ROOT/tests/doubles/s3_slow_proxy.py" --port "$sport" --upstream "$LK_S3RVER_URL" \
    --put-rate 20000000 >"$T/slow.log" 2>&1 &
lk_on_exit "kill $! 2>/dev/null"
lk_wait_port "$sport" || exit 1
put_bytes() { curl -sS "http://127.0.0.1:$sport/_proxy/stats" | python3 -c 'import json,sys; print(json.load(sys.stdin)["put_bytes"])'; }
LAKEOP_S3_ENDPOINT=http://127.0.0.1:$sport LAKEOP_S3_PART_SIZE=5MiB $LK_BIN copy "$J2" --yes --force \
    >"$T/kill2.log" 2>&1 &
pid=$!
n=0
while [ "$(put_bytes)" -lt 12000000 ] && [ $n -lt 300 ]; do sleep 0.1; n=$((n + 1)); done
kill -9 $pid 2>/dev/null
wait $pid 2>/dev/null
at_kill=$(put_bytes)
if [ "$at_kill" -ge 12000000 ] && [ "$at_kill" -lt 100000000 ]; then
    lk_pass "S3: the kill landed while parts were being sent ($at_kill bytes sent)"
else
    lk_fail "S3: the kill did not land mid-upload" "$at_kill bytes sent: $(cat "$T/kill2.log")"
fi
lk_aws "$LK_S3RVER_URL" s3 cp s3://raw-account/Account.csv "$T/now.csv" >/dev/null 2>&1
lk_aws "$LK_S3RVER_URL" s3 cp s3://raw-account/metadata/Account.json "$T/now.json" >/dev/null 2>&1
if cmp -s "$T/old.csv" "$T/now.csv" && cmp -s "$T/old.json" "$T/now.json"; then
    lk_pass "S3: killed with SIGKILL halfway: old CSV and metadata intact"
else
    lk_fail "SIGKILL S3" "$(head -c 200 "$T/now.csv"): $(cat "$T/kill2.log")"
fi
out=$($LK_BIN copy "$J" --yes 2>&1)
st=$?
if [ $st -eq 0 ] && lk_aws "$LK_S3RVER_URL" s3 cp s3://raw-account/Account.csv "$T/got.csv" >/dev/null &&
   cmp -s "$T/want.csv" "$T/got.csv"; then
    lk_pass "S3: run again after the kill: identical"
else
    lk_fail "rerun after SIGKILL (S3)" "status $st: $out"
fi
rm -f "$T/meta"
lk_aws "$LK_S3RVER_URL" s3 cp s3://raw-account/metadata/Account.json "$T/meta" >/dev/null 2>&1
check_meta "S3: run again after the kill: metadata exact" "$T/meta" "$J" "$FA" "$BA" Account $RECORDS

# ---- a streaming PUT to s3rver refused before its last byte (records != recordCount)
J3=2c92c0f9725046a2017255f7d84e5a4a
B3=2c92c0f9725046a2017255f7d8925a58
FC=2c92c09472503749017255fc3c9379d1
zuora_file "$FC" 100000 50          # 10 MB: above a 5 MiB part, so one streaming PUT
seed_job "$J3" "$B3:Account:100001:$FC"
lk_aws "$LK_S3RVER_URL" s3 cp s3://raw-account/metadata/Account.json "$T/meta.before" >/dev/null 2>&1
out=$(LAKEOP_S3_PART_SIZE=5MiB $LK_BIN copy "$J3" --yes 2>&1)
st=$?
lk_aws "$LK_S3RVER_URL" s3 cp s3://raw-account/metadata/Account.json "$T/meta.after" >/dev/null 2>&1
rec=$(psql_q "SELECT coalesce(copied_to, 'none') FROM lakeop.zuora_batches WHERE batch_id = '$B3'")
if [ $st -eq 1 ] && echo "$out" | grep -q "Zuora said 100001 records, the file has 100000" &&
   cmp -s "$T/meta.before" "$T/meta.after" && [ "$rec" = none ]; then
    lk_pass "s3rver, streaming PUT with records != recordCount: fails (1), metadata and batch record untouched"
else
    lk_fail "s3rver streaming PUT refused" "status $st, batch copied_to '$rec': $out"
fi
out=$($LK_BIN copy "$J" --yes --force 2>&1)
st=$?
if [ $st -eq 0 ] && lk_aws "$LK_S3RVER_URL" s3 cp s3://raw-account/Account.csv "$T/got.csv" >/dev/null &&
   cmp -s "$T/want.csv" "$T/got.csv"; then
    lk_pass "s3rver: the right copy after the refused one: identical"
else
    lk_fail "copy after the refused streaming PUT" "status $st: $out"
fi
lk_done
