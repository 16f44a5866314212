#!/bin/sh
# lakeop copy against the Zuora double and the file:// store: byte-identical
# copies with exact metadata, the plan, dry run, "already copied", --force,
# the record on the batch and in the audit, and every Zuora-side fault
# (body cut short, 500 halfway, wrong recordCount, wrong credentials)
# leaving the previous CSV and metadata untouched.
. "$(dirname "$0")/../lib/common.sh"
. "$LK_ROOT/tests/lib/pg.sh"
. "$LK_ROOT/tests/lib/doubles.sh"
. "$LK_ROOT/tests/lib/copy.sh"
set -u

pg_start || exit 1
zuora_double_start --job-seconds 0 || exit 1
lk_tmpdir >/dev/null
T=$(lk_tmpdir)
copy_env "$(pg_new_db lakeop_copy_file)" "file://$T/lake"
mkdir -p "$T/lake/raw-account" "$T/lake/raw-invoice"
copy_config "s3://raw-account/Account.csv" "s3://raw-invoice/zuora/InvoiceItem.csv"

# A job with two completed batches whose files hold quoted newlines.
J=2c92c0f9725046a2017255f7d84e5a48
BA=2c92c0f9725046a2017255f7d8925a55
BI=2c92c0f9725046a2017255f7d8925a56
FA=2c92c09472503749017255fc3c9379c8
FI=2c92c09472503749017255fc3c9379c9
zuora_file "$FA" 120 50
zuora_file "$FI" 300 7
seed_job "$J" "$BA:Account:120:$FA" "$BI:InvoiceItem:300:$FI"

# ---- dry run: the plan, nothing written
out=$($LK_BIN copy "$J" --dry-run 2>&1)
st=$?
if [ $st -eq 0 ] && echo "$out" | grep -q "Would copy 2 files in environment test" &&
   echo "$out" | grep -q "$BA" && echo "$out" | grep -q "$FI" &&
   echo "$out" | grep -q "s3://raw-invoice/zuora/metadata/InvoiceItem.json (new)" &&
   echo "$out" | grep -q '"recordCount" : 300' && echo "$out" | grep -q "dry run: nothing was written" &&
   [ ! -e "$T/lake/raw-account/Account.csv" ]; then
    lk_pass "dry run prints the plan and writes nothing"
else
    lk_fail "dry run" "status $st: $out"
fi

# ---- without a terminal and without --yes: refused
out=$($LK_BIN copy "$J" </dev/null 2>&1)
st=$?
if [ $st -eq 3 ] && [ ! -e "$T/lake/raw-account/Account.csv" ]; then
    lk_pass "no --yes without a terminal: refused (3)"
else
    lk_fail "refusal" "status $st: $out"
fi

# ---- read-only refused
out=$($LK_BIN --read-only copy "$J" --yes 2>&1)
st=$?
if [ $st -eq 3 ] && echo "$out" | grep -q "read-only"; then
    lk_pass "read-only: refused (3)"
else
    lk_fail "read-only" "status $st: $out"
fi

# ---- the copy
out=$($LK_BIN copy "$J" --yes 2>&1)
st=$?
if [ $st -eq 0 ]; then lk_pass "copy JOB --yes: exit 0"; else lk_fail "copy JOB" "status $st: $out"; fi
same_bytes "Account.csv is byte-identical to what Zuora served" "$FA" "$T/lake/raw-account/Account.csv"
same_bytes "InvoiceItem.csv is byte-identical" "$FI" "$T/lake/raw-invoice/zuora/InvoiceItem.csv"
check_meta "Account metadata has the exact layout" "$T/lake/raw-account/metadata/Account.json" \
    "$J" "$FA" "$BA" Account 120
check_meta "InvoiceItem metadata beside its CSV" "$T/lake/raw-invoice/zuora/metadata/InvoiceItem.json" \
    "$J" "$FI" "$BI" InvoiceItem 300
row=$(psql_q "SELECT copied_to, metadata_key, copied_records, copied_bytes = $(stat -c %s "$T/lake/raw-account/Account.csv"), copied_etag IS NOT NULL, copied_at IS NOT NULL FROM lakeop.zuora_batches WHERE batch_id = '$BA'")
if [ "$row" = "s3://raw-account/Account.csv|s3://raw-account/metadata/Account.json|120|t|t|t" ]; then
    lk_pass "the copy is recorded on its batch"
else
    lk_fail "batch record" "$row"
fi
n=$(psql_q "SELECT count(*) FROM lakeop.audit WHERE action = 'copy' AND result = 'ok' AND params->>'batchId' IN ('$BA', '$BI')")
if [ "$n" = 2 ]; then lk_pass "each copy is in the audit"; else lk_fail "audit" "$n rows"; fi
inc=$(psql_q "SELECT copied_at IS NOT NULL FROM lakeop.increments WHERE object_name = 'Account'")
if [ "$inc" = t ]; then lk_pass "the increment is marked copied"; else lk_fail "increment" "'$inc'"; fi

# ---- again: already copied, nothing downloaded
before=$(file_gets "$FA")
m1=$(stat -c %Y.%s "$T/lake/raw-account/Account.csv")
out=$($LK_BIN copy "$J" --object Account --yes 2>&1)
st=$?
m2=$(stat -c %Y.%s "$T/lake/raw-account/Account.csv")
after=$(file_gets "$FA")
if [ $st -eq 0 ] && echo "$out" | grep -q "already copied" && [ "$m1" = "$m2" ] && [ "$before" = "$after" ]; then
    lk_pass "second copy: 'already copied', no download, no write"
else
    lk_fail "already copied" "status $st, gets $before -> $after: $out"
fi

# ---- --json result
out=$($LK_BIN copy "$J" --object Account --yes --json 2>/dev/null)
if echo "$out" | python3 -c 'import json,sys; d=json.load(sys.stdin); c=d["copies"]; sys.exit(0 if len(c)==1 and c[0]["result"]=="already copied" and c[0]["batchId"]=="'"$BA"'" else 1)'; then
    lk_pass "--json: one document with the result"
else
    lk_fail "--json" "$out"
fi

# ---- metadata lost: only it is written again
rm "$T/lake/raw-account/metadata/Account.json"
out=$($LK_BIN copy "$J" --object Account --yes 2>&1)
st=$?
if [ $st -eq 0 ] && echo "$out" | grep -q "missing metadata" && [ "$(file_gets "$FA")" = "$after" ]; then
    check_meta "missing metadata written again, CSV not downloaded" "$T/lake/raw-account/metadata/Account.json" \
        "$J" "$FA" "$BA" Account 120
else
    lk_fail "metadata repair" "status $st: $out"
fi

# ---- --force copies again
out=$($LK_BIN copy "$J" --object Account --yes --force 2>&1)
st=$?
if [ $st -eq 0 ] && [ "$(file_gets "$FA")" -gt "$after" ]; then
    lk_pass "--force downloads and writes again"
else
    lk_fail "--force" "status $st: $out"
fi

# ---- faults on Zuora's side: the previous objects stay as they were
snapshot() { cat "$T/lake/raw-account/Account.csv" "$T/lake/raw-account/metadata/Account.json" | md5sum; }
no_leftovers() { [ "$(ls -A "$T/lake/raw-account" | tr '\n' ' ')" = "Account.csv metadata " ] && [ "$(ls -A "$T/lake/raw-account/metadata")" = "Account.json" ]; }
fault_case() {   # NAME FAULT-JSON EXPECTED-TEXT
    good=$(snapshot)
    zuora_ctl DELETE /_control/fault >/dev/null
    zuora_ctl POST /_control/fault "$2" >/dev/null
    out=$($LK_BIN copy "$J" --object Account --yes --force 2>&1)
    st=$?
    zuora_ctl DELETE /_control/fault >/dev/null
    if [ $st -eq 1 ] && echo "$out" | grep -q "$3" && [ "$(snapshot)" = "$good" ] && no_leftovers; then
        lk_pass "$1: fails (1), previous CSV and metadata untouched, nothing left over"
    else
        lk_fail "$1" "status $st: $out"
    fi
}
fault_case "Zuora body cut short" "{\"match\":\"GET /v1/file/$FA\",\"truncate_after\":3000,\"times\":-1}" "$FA"
fault_case "Zuora 500 (every attempt)" "{\"match\":\"GET /v1/file/$FA\",\"status\":500,\"times\":-1}" "500"
n=$(psql_q "SELECT count(*) FROM lakeop.audit WHERE action = 'copy' AND result = 'failed'")
if [ "$n" -ge 2 ]; then lk_pass "failed copies are in the audit"; else lk_fail "failed audit" "$n"; fi

# A transient 503 before the body: retried, and the copy succeeds.
zuora_ctl POST /_control/fault "{\"match\":\"GET /v1/file/$FA\",\"status\":503,\"times\":1}" >/dev/null
out=$($LK_BIN copy "$J" --object Account --yes --force 2>&1)
st=$?
if [ $st -eq 0 ]; then
    same_bytes "a 503 before the body is retried" "$FA" "$T/lake/raw-account/Account.csv"
else
    lk_fail "503 retried" "status $st: $out"
fi

# Records differ from recordCount.
J2=2c92c0f9725046a2017255f7d84e5b00
B2=2c92c0f9725046a2017255f7d8925b01
zuora_file ffff0000000000000000000000000001 48649 0
seed_job "$J2" "$B2:Account:48650:ffff0000000000000000000000000001"
good=$(snapshot)
out=$($LK_BIN copy "$J2" --yes 2>&1)
st=$?
if [ $st -eq 1 ] && echo "$out" | grep -q "Zuora said 48650 records, the file has 48649" &&
   [ "$(snapshot)" = "$good" ] && no_leftovers; then
    lk_pass "records != recordCount: both counts named, nothing changed"
else
    lk_fail "record mismatch" "status $st: $out"
fi

# Wrong Zuora credentials: a clear message, exit 1, nothing written.
out=$(LAKEOP_ZUORA_CLIENT_SECRET=wrong $LK_BIN copy "$J" --object Account --yes --force 2>&1)
st=$?
if [ $st -ne 0 ] && echo "$out" | grep -qi "401\|credential\|auth" && [ "$(snapshot)" = "$good" ]; then
    lk_pass "wrong Zuora credentials: clear failure, nothing changed"
else
    lk_fail "wrong credentials" "status $st: $out"
fi

# ---- manual upload: --file-id of a known batch takes its metadata from it
inc_before=$(psql_q "SELECT last_batch_id || ' ' || copied_at FROM lakeop.increments WHERE object_name = 'InvoiceItem'")
out=$($LK_BIN copy --file-id "$FI" --to "s3://raw-invoice/manual/Invoice Ünïcode.csv" --yes 2>&1)
st=$?
if [ $st -eq 0 ]; then
    same_bytes "--file-id of a known batch to a key with spaces and non-ASCII" "$FI" \
        "$T/lake/raw-invoice/manual/Invoice Ünïcode.csv"
    check_meta "its metadata comes from the batch" "$T/lake/raw-invoice/manual/metadata/InvoiceItem.json" \
        "$J" "$FI" "$BI" InvoiceItem 300
else
    lk_fail "--file-id known" "status $st: $out"
fi

# Copies are recorded by (file, target): the manual copy elsewhere leaves
# the batch's raw copy, and its increment, as they were.
out=$($LK_BIN copy "$J" --object InvoiceItem --yes 2>&1)
st=$?
raw_to=$(psql_q "SELECT copied_to FROM lakeop.zuora_batches WHERE batch_id = '$BI'")
inc_after=$(psql_q "SELECT last_batch_id || ' ' || copied_at FROM lakeop.increments WHERE object_name = 'InvoiceItem'")
if [ $st -eq 0 ] && echo "$out" | grep -q "InvoiceItem.csv: already copied" &&
   [ "$raw_to" = "s3://raw-invoice/zuora/InvoiceItem.csv" ] && [ -n "$inc_before" ] && [ "$inc_after" = "$inc_before" ]; then
    lk_pass "after a manual copy elsewhere, 'lakeop copy JOB' still finds the raw target already copied; increment not moved"
else
    lk_fail "raw copy after a manual copy" "status $st, copied_to '$raw_to', increment '$inc_before' -> '$inc_after': $out"
fi
out=$($LK_BIN copy --file-id "$FI" --to "s3://raw-invoice/manual/Invoice Ünïcode.csv" --yes 2>&1)
if echo "$out" | grep -q "already copied"; then
    lk_pass "the manual copy of a known batch again: already copied"
else
    lk_fail "manual copy again" "$out"
fi

# An unknown file needs --job and --record-count.
FU=eeee0000000000000000000000000002
zuora_file "$FU" 10 3
out=$($LK_BIN copy --file-id "$FU" --to s3://raw-account/full/Account.csv --yes 2>&1)
st=$?
if [ $st -eq 2 ] && echo "$out" | grep -q -- "--record-count"; then
    lk_pass "--file-id unknown without --job/--record-count: usage (2)"
else
    lk_fail "unknown file usage" "status $st: $out"
fi
out=$($LK_BIN copy --file-id "$FU" --to s3://raw-account/full/Account.csv --job "$J" --record-count 10 --yes 2>&1)
st=$?
if [ $st -eq 0 ]; then
    same_bytes "--file-id with --job and --record-count" "$FU" "$T/lake/raw-account/full/Account.csv"
    check_meta "its metadata from the options" "$T/lake/raw-account/full/metadata/Account.json" \
        "$J" "$FU" "" Account 10
else
    lk_fail "--file-id manual" "status $st: $out"
fi
out=$($LK_BIN copy --file-id "$FU" --to s3://raw-account/full/Account.csv --job "$J" --record-count 10 --yes 2>&1)
st=$?
rec=$(psql_q "SELECT coalesce(batch_id, 'none') || ' ' || copied_records FROM lakeop.copies WHERE file_ids = '$FU'")
if [ $st -eq 0 ] && echo "$out" | grep -q "already copied" && [ "$rec" = "none 10" ]; then
    lk_pass "a file no batch knows, copied again: already copied (recorded by file and target)"
else
    lk_fail "unknown file again" "status $st, record '$rec': $out"
fi

# ---- a segmented batch: one header kept, segments in order
J3=2c92c0f9725046a2017255f7d84e5c00
B3=2c92c0f9725046a2017255f7d8925c01
zuora_file aaaa0000000000000000000000000001 40 9
zuora_file aaaa0000000000000000000000000002 35 9
zuora_file aaaa0000000000000000000000000003 0 9
seed_job "$J3" "$B3:Account:75:aaaa0000000000000000000000000001,aaaa0000000000000000000000000002,aaaa0000000000000000000000000003"
out=$($LK_BIN copy "$J3" --yes 2>&1)
st=$?
{ zuora_get aaaa0000000000000000000000000001; zuora_get aaaa0000000000000000000000000002 | tail -n +2; } > "$T/want-seg.csv"
if [ $st -eq 0 ] && cmp -s "$T/want-seg.csv" "$T/lake/raw-account/Account.csv" &&
   grep -q '"fileId" : "aaaa0000000000000000000000000001,aaaa0000000000000000000000000002,aaaa0000000000000000000000000003"' \
        "$T/lake/raw-account/metadata/Account.json"; then
    lk_pass "segments joined with one header"
else
    lk_fail "segments" "status $st: $out"
fi

# ---- a bucket (folder) that does not exist: refused in the plan, before
# anything is downloaded, and never created (a typo must not "succeed")
gets=$(file_gets "$FU")
out=$($LK_BIN copy --file-id "$FU" --to s3://raw-acount/Account.csv --job "$J" --record-count 10 --yes 2>&1)
st=$?
if [ $st -eq 4 ] && echo "$out" | grep -q "bucket raw-acount does not exist" && [ ! -e "$T/lake/raw-acount" ] &&
   [ "$(file_gets "$FU")" = "$gets" ]; then
    lk_pass "file://: missing bucket folder: not found (4), 'bucket raw-acount does not exist', not created, nothing downloaded"
else
    lk_fail "missing bucket folder" "status $st: $out"
fi
out=$($LK_BIN copy --file-id "$FU" --to "file://$T/no-such-dir/Account.csv" --job "$J" --record-count 10 --yes 2>&1)
st=$?
if [ $st -eq 4 ] && echo "$out" | grep -q "folder $T/no-such-dir does not exist" && [ ! -e "$T/no-such-dir" ]; then
    lk_pass "file:///DIR/KEY with a missing DIR: not found (4), not created"
else
    lk_fail "missing file:// folder" "status $st: $out"
fi

# ---- a protected environment: on a terminal (script(1) gives lakeop one)
# the operator must type the environment's name; anything else refuses.
sed 's/^\[env "test"\]$/[env "test"]\nprotected = true/' "$LAKEOP_CONFIG" > "$T/config.protected"
chmod 600 "$T/config.protected"
tty_copy() {   # ANSWER: lakeop copy on a terminal, ANSWER typed at its prompt
    printf '%s\n' "$1" | LAKEOP_CONFIG=$T/config.protected script -qec "$LK_BIN copy $J --object Account --force" /dev/null
}
before=$(snapshot)
out=$(tty_copy yes 2>&1)
st=$?
audit=$(psql_q "SELECT result || ': ' || message FROM lakeop.audit WHERE action = 'copy' ORDER BY id DESC LIMIT 1")
if [ $st -eq 3 ] && echo "$out" | grep -q "Type the environment name (test) to proceed" &&
   echo "$out" | grep -q "not confirmed; nothing was changed" && [ "$(snapshot)" = "$before" ] &&
   [ "$audit" = "refused: not confirmed" ]; then
    lk_pass "protected environment on a terminal: 'yes' is not the name: refused (3), audited, nothing changed"
else
    lk_fail "protected, wrong answer" "status $st, audit '$audit': $out"
fi
gets=$(file_gets "$FA")
out=$(tty_copy test 2>&1)
st=$?
if [ $st -eq 0 ] && echo "$out" | grep -q "Account.csv: copied 120 records" && [ "$(file_gets "$FA")" -gt "$gets" ]; then
    same_bytes "protected environment on a terminal: the name typed, copied" "$FA" "$T/lake/raw-account/Account.csv"
else
    lk_fail "protected, name typed" "status $st: $out"
fi

# ---- unknown job: not found (4)
out=$($LK_BIN copy 0123456789abcdef0123456789abcdef --yes 2>&1)
st=$?
if [ $st -eq 4 ]; then lk_pass "unknown job: not found (4)"; else lk_fail "unknown job" "status $st: $out"; fi
lk_done
