#!/bin/sh
# lakeop copy to S3: moto with signature checking (a small single PUT,
# multipart with a small part size for a segmented batch whose size is not
# known up front, and ONE streaming PUT for a single file whose
# Content-Length is), faults injected by tests/doubles/s3_fault_proxy.py
# (503 SlowDown on a part, <Error> on Complete, 503 or a dropped connection
# on the streaming PUT: the copy starts over), a failed metadata write, a
# SIGKILL halfway through the streaming PUT, a streaming PUT refused
# before its last byte (record count or Zuora's body wrong: the previous
# object stays), wrong credentials, a missing bucket, and a key with spaces
# and non-ASCII (moto without auth: with auth it mis-verifies
# percent-encoded keys, S3.md).  After each copy the aws CLI downloads the
# objects and they must equal what the Zuora double served.
. "$(dirname "$0")/../lib/common.sh"
. "$LK_ROOT/tests/lib/pg.sh"
. "$LK_ROOT/tests/lib/doubles.sh"
. "$LK_ROOT/tests/lib/s3.sh"
. "$LK_ROOT/tests/lib/copy.sh"
set -u

pg_start || exit 1
zuora_double_start --job-seconds 0 || exit 1
moto_start || exit 1
moto_start_noauth || exit 1
lk_tmpdir >/dev/null
T=$(lk_tmpdir)
DB=$(pg_new_db lakeop_copy_s3)
copy_env "$DB" "$LK_MOTO_URL"
export AWS_ACCESS_KEY_ID=$LK_MOTO_KEY AWS_SECRET_ACCESS_KEY=$LK_MOTO_SECRET AWS_REGION=us-east-1
export LAKEOP_S3_PART_SIZE=5MiB
copy_config "s3://raw-account/Account.csv" "s3://raw-invoice/InvoiceItem.csv"
lk_aws "$LK_MOTO_URL" s3 mb s3://raw-account >/dev/null
lk_aws "$LK_MOTO_URL" s3 mb s3://raw-invoice >/dev/null

# proxy_start ARGS...: the fault proxy in front of moto; sets PROXY_URL.
proxy_start() {
    port=$(lk_free_port)
    python3 "$LK_ROOT/tests/doubles/s3_fault_proxy.py" --port "$port" --upstream "$LK_MOTO_URL" "$@" \
        >"$T/proxy.$port.log" 2>&1 &
    pid=$!
    lk_on_exit "kill $pid"
    lk_wait_port "$port" || return 1
    PROXY_URL=http://127.0.0.1:$port
    PROXY_PID=$pid
}
proxy_stat() {
    curl -sS "$PROXY_URL/_proxy/stats" | python3 -c "import json,sys; print(json.load(sys.stdin)['$1'])"
}
# s3_same NAME URL-OF-SERVER s3://B/K FILE-ID[,FILE-ID...]: the aws CLI
# reads the object back; several ids are segments joined with one header.
s3_same() {
    : > "$T/want"
    first=true
    for id in $(echo "$4" | tr ',' ' '); do
        if $first; then zuora_get "$id" >> "$T/want"; else zuora_get "$id" | tail -n +2 >> "$T/want"; fi
        first=false
    done
    rm -f "$T/got"
    if lk_aws "$2" s3 cp "$3" "$T/got" >/dev/null 2>&1 && cmp -s "$T/want" "$T/got"; then
        lk_pass "$1"
    else
        lk_fail "$1" "$3 is not what Zuora served ($(wc -c < "$T/want") bytes served, $(wc -c < "$T/got" 2>/dev/null) read back)"
    fi
}
etag_of() {   # SERVER BUCKET KEY
    lk_aws "$1" s3api head-object --bucket "$2" --key "$3" --query ETag --output text 2>/dev/null
}
# moto's request log: how many requests matched since line $1.
log_count() { tail -n +"$1" "$LK_MOTO_LOG" | grep -c "$2"; }
s3_meta() {   # NAME SERVER s3://B/K JOB FILE BATCH OBJECT COUNT
    rm -f "$T/meta"
    lk_aws "$2" s3 cp "$3" "$T/meta" >/dev/null 2>&1
    check_meta "$1" "$T/meta" "$4" "$5" "$6" "$7" "$8"
}
no_uploads() {   # SERVER BUCKET: no multipart upload left open
    n=$(lk_aws "$1" s3api list-multipart-uploads --bucket "$2" --output json | python3 -c 'import json,sys; t=sys.stdin.read().strip(); print(len(json.loads(t).get("Uploads", [])) if t else 0)')
    [ "$n" = 0 ]
}

J=2c92c0f9725046a2017255f7d84e5a48
BA=2c92c0f9725046a2017255f7d8925a55
BI=2c92c0f9725046a2017255f7d8925a56
FA=2c92c09472503749017255fc3c9379c8
FI1=2c92c09472503749017255fc3c9379c9
FI2=2c92c09472503749017255fc3c9379ca
FI=$FI1,$FI2
FB=2c92c09472503749017255fc3c9379cb
zuora_file "$FA" 500 50
# 13 MB in two segments: the joined size is not known up front, so three 5 MiB parts.
zuora_file "$FI1" 65000 50
zuora_file "$FI2" 65000 50
zuora_file "$FB" 130000 50        # 13 MB in one file with a Content-Length: one streaming PUT
seed_job "$J" "$BA:Account:500:$FA" "$BI:InvoiceItem:130000:$FI"

# ---- small (single PUT) and multipart, signatures checked
out=$($LK_BIN copy "$J" --yes 2>&1)
st=$?
if [ $st -eq 0 ]; then lk_pass "copy to moto (auth on): exit 0"; else lk_fail "copy to moto" "status $st: $out"; fi
s3_same "small file read back by aws: identical" "$LK_MOTO_URL" s3://raw-account/Account.csv "$FA"
s3_same "multipart file read back by aws: identical" "$LK_MOTO_URL" s3://raw-invoice/InvoiceItem.csv "$FI"
s3_meta "metadata on S3 has the exact layout" "$LK_MOTO_URL" s3://raw-account/metadata/Account.json "$J" "$FA" "$BA" Account 500
s3_meta "multipart object's metadata" "$LK_MOTO_URL" s3://raw-invoice/metadata/InvoiceItem.json "$J" "$FI" "$BI" InvoiceItem 130000
if [ "$(log_count 1 'POST /raw-invoice/InvoiceItem.csv?uploads')" -ge 1 ]; then
    lk_pass "segments (size unknown up front) went as a multipart upload"
else
    lk_fail "segments as multipart" "no CreateMultipartUpload in moto's log"
fi
out=$($LK_BIN copy "$J" --yes 2>&1)
if [ "$(echo "$out" | grep -c ': already copied (')" = 2 ]; then
    lk_pass "second run on S3: both already copied (size and ETag match)"
else
    lk_fail "already copied on S3" "$out"
fi

# ---- 503 SlowDown on a part: retried, the copy succeeds
proxy_start --fail-part 2
out=$(LAKEOP_S3_ENDPOINT=$PROXY_URL $LK_BIN copy "$J" --object InvoiceItem --yes --force 2>&1)
st=$?
if [ $st -eq 0 ] && [ "$(proxy_stat injected)" = 1 ]; then
    s3_same "503 SlowDown on part 2: retried, object identical" "$LK_MOTO_URL" s3://raw-invoice/InvoiceItem.csv "$FI"
    s3_meta "503 SlowDown on part 2: metadata exact" "$LK_MOTO_URL" s3://raw-invoice/metadata/InvoiceItem.json "$J" "$FI" "$BI" InvoiceItem 130000
else
    lk_fail "503 SlowDown on a part" "status $st: $out"
fi
kill "$PROXY_PID"

# ---- <Error> in a 200 answer to Complete, every time: fails, nothing changes
lk_aws "$LK_MOTO_URL" s3api head-object --bucket raw-invoice --key InvoiceItem.csv --query ETag --output text > "$T/etag.before"
proxy_start --complete-error -1
out=$(LAKEOP_S3_ENDPOINT=$PROXY_URL $LK_BIN copy "$J" --object InvoiceItem --yes --force 2>&1)
st=$?
lk_aws "$LK_MOTO_URL" s3api head-object --bucket raw-invoice --key InvoiceItem.csv --query ETag --output text > "$T/etag.after"
if [ $st -eq 1 ] && echo "$out" | grep -q "InternalError" && cmp -s "$T/etag.before" "$T/etag.after" &&
   no_uploads "$LK_MOTO_URL" raw-invoice; then
    lk_pass "<Error> on Complete: fails (1), old object kept, upload aborted"
else
    lk_fail "<Error> on Complete" "status $st: $out"
fi
kill "$PROXY_PID"

# Once only: retried, and the copy succeeds.
proxy_start --complete-error 1
out=$(LAKEOP_S3_ENDPOINT=$PROXY_URL $LK_BIN copy "$J" --object InvoiceItem --yes --force 2>&1)
st=$?
if [ $st -eq 0 ] && [ "$(proxy_stat completes)" -ge 2 ]; then
    s3_same "a single <Error> on Complete is retried" "$LK_MOTO_URL" s3://raw-invoice/InvoiceItem.csv "$FI"
    s3_meta "a single <Error> on Complete: metadata exact" "$LK_MOTO_URL" s3://raw-invoice/metadata/InvoiceItem.json "$J" "$FI" "$BI" InvoiceItem 130000
else
    lk_fail "<Error> on Complete once" "status $st: $out"
fi
kill "$PROXY_PID"

# ---- the multipart path (segments) refused midway: Zuora 500 on segment 2
# after segment 1 has streamed (every try, then once: retried before any of
# its bytes were taken), segment 2's body cut short, and a record count
# that differs.  Each refusal keeps the old object and metadata, and leaves
# no upload open.
inv_etag=$(etag_of "$LK_MOTO_URL" raw-invoice InvoiceItem.csv)
inv_meta=$(lk_aws "$LK_MOTO_URL" s3 cp s3://raw-invoice/metadata/InvoiceItem.json - 2>/dev/null)
multipart_refused() {   # NAME EXPECTED-TEXT LAKEOP-ARGS...
    name=$1 want=$2
    shift 2
    out=$($LK_BIN "$@" 2>&1)
    st=$?
    if [ $st -eq 1 ] && echo "$out" | grep -q "$want" && [ -n "$inv_etag" ] && [ -n "$inv_meta" ] &&
       [ "$(etag_of "$LK_MOTO_URL" raw-invoice InvoiceItem.csv)" = "$inv_etag" ] &&
       [ "$(lk_aws "$LK_MOTO_URL" s3 cp s3://raw-invoice/metadata/InvoiceItem.json - 2>/dev/null)" = "$inv_meta" ] &&
       no_uploads "$LK_MOTO_URL" raw-invoice; then
        lk_pass "$name: fails (1), old object and metadata kept, upload aborted"
    else
        lk_fail "$name" "status $st: $out"
    fi
}
zuora_ctl POST /_control/fault "{\"match\":\"GET /v1/file/$FI2\",\"status\":500,\"times\":-1}" >/dev/null
gets1=$(file_gets "$FI1")
multipart_refused "Zuora 500 on segment 2 after segment 1 streamed" "$FI2" copy "$J" --object InvoiceItem --yes --force
if [ "$(file_gets "$FI1")" -gt "$gets1" ]; then
    lk_pass "segment 1 had streamed before segment 2's 500"
else
    lk_fail "segment 1 before the 500" "segment 1 not downloaded"
fi
zuora_ctl DELETE /_control/fault >/dev/null
zuora_ctl POST /_control/fault "{\"match\":\"GET /v1/file/$FI2\",\"status\":500,\"times\":1}" >/dev/null
out=$($LK_BIN copy "$J" --object InvoiceItem --yes --force 2>&1)
st=$?
if [ $st -eq 0 ]; then
    s3_same "one Zuora 500 on segment 2: retried, identical" "$LK_MOTO_URL" s3://raw-invoice/InvoiceItem.csv "$FI"
    s3_meta "one Zuora 500 on segment 2: metadata exact" "$LK_MOTO_URL" s3://raw-invoice/metadata/InvoiceItem.json "$J" "$FI" "$BI" InvoiceItem 130000
else
    lk_fail "one Zuora 500 on segment 2" "status $st: $out"
fi
zuora_ctl DELETE /_control/fault >/dev/null
inv_etag=$(etag_of "$LK_MOTO_URL" raw-invoice InvoiceItem.csv)
zuora_ctl POST /_control/fault "{\"match\":\"GET /v1/file/$FI2\",\"truncate_after\":3000000,\"times\":-1}" >/dev/null
multipart_refused "multipart, segment 2's body cut short" "$FI2" copy "$J" --object InvoiceItem --yes --force
zuora_ctl DELETE /_control/fault >/dev/null
J4=2c92c0f9725046a2017255f7d84e5a4c
BI4=2c92c0f9725046a2017255f7d8925a5c
seed_job "$J4" "$BI4:InvoiceItem:130001:$FI"
multipart_refused "multipart, recordCount one more than the segments have" "said 130001 records, the file has 130000" \
    copy "$J4" --yes --force

# ---- one file above a part with a Content-Length: ONE streaming PUT
mark=$(($(wc -l < "$LK_MOTO_LOG") + 1))
out=$($LK_BIN copy --file-id "$FB" --to s3://raw-account/big/Big.csv --job "$J" --record-count 130000 --yes 2>&1)
st=$?
if [ $st -eq 0 ] && [ "$(log_count $mark 'PUT /raw-account/big/Big.csv')" = 1 ] &&
   [ "$(log_count $mark 'uploads')" = 0 ]; then
    s3_same "13 MB with a known size: one streaming PUT (no multipart), identical" "$LK_MOTO_URL" \
        s3://raw-account/big/Big.csv "$FB"
else
    lk_fail "streaming PUT" "status $st, moto log: $(tail -n +$mark "$LK_MOTO_LOG" | grep -v HEAD | head -5): $out"
fi

# Refused before its last byte: the previous object stays, nothing is left.
big_before=$(etag_of "$LK_MOTO_URL" raw-account big/Big.csv)
stream_refused() {   # NAME EXPECTED-TEXT LAKEOP-ARGS...
    name=$1 want=$2
    shift 2
    mark=$(($(wc -l < "$LK_MOTO_LOG") + 1))
    out=$($LK_BIN "$@" 2>&1)
    st=$?
    puts=$(log_count $mark 'PUT /raw-account/big/Big.csv')
    if [ $st -eq 1 ] && echo "$out" | grep -q "$want" && [ "$puts" -ge 1 ] &&
       [ "$(etag_of "$LK_MOTO_URL" raw-account big/Big.csv)" = "$big_before" ] &&
       no_uploads "$LK_MOTO_URL" raw-account; then
        lk_pass "$name: fails (1), the streaming PUT was dropped before its last byte, old object kept"
    else
        lk_fail "$name" "status $st, $puts PUTs, etag $(etag_of "$LK_MOTO_URL" raw-account big/Big.csv) (was $big_before): $out"
    fi
}
stream_refused "streaming PUT, recordCount one more than the file has" "said 130001 records, the file has 130000" \
    copy --file-id "$FB" --to s3://raw-account/big/Big.csv --job "$J" --record-count 130001 --yes --force
zuora_ctl POST /_control/fault "{\"match\":\"GET /v1/file/$FB\",\"truncate_after\":9000000,\"times\":-1}" >/dev/null
stream_refused "streaming PUT, Zuora's body cut short at 9 MB" "$FB" \
    copy --file-id "$FB" --to s3://raw-account/big/Big.csv --job "$J" --record-count 130000 --yes --force
zuora_ctl DELETE /_control/fault >/dev/null
meta=$(lk_aws "$LK_MOTO_URL" s3 cp s3://raw-account/big/metadata/Big.json - 2>/dev/null)
if echo "$meta" | grep -q '"recordCount" : 130000'; then
    lk_pass "the refused copies left the metadata as it was"
else
    lk_fail "metadata after refused copies" "$meta"
fi

# ---- the streaming PUT cannot be resent, so a retryable failure of it
# starts the whole copy over: a fresh download from Zuora and a new PUT.
meta_of() {   # s3://B/K: the object's text (empty when missing)
    lk_aws "$LK_MOTO_URL" s3 cp "$1" - 2>/dev/null
}
gets_before=$(file_gets "$FB")
proxy_start --fail "PUT /raw-account/big/Big.csv SlowDown 1" --fail "PUT /raw-account/big/Big.csv reset 1"
out=$(LAKEOP_S3_ENDPOINT=$PROXY_URL $LK_BIN copy --file-id "$FB" --to s3://raw-account/big/Big.csv \
      --job "$J" --record-count 130000 --yes --force 2>&1)
st=$?
gets=$(($(file_gets "$FB") - gets_before))
if [ $st -eq 0 ] && [ "$(proxy_stat injected)" = 2 ] && [ $gets = 3 ] && echo "$out" | grep -q "on try 3"; then
    s3_same "streaming PUT: 503 SlowDown, then a dropped connection: copied again from Zuora (3 downloads), identical" \
        "$LK_MOTO_URL" s3://raw-account/big/Big.csv "$FB"
    s3_meta "the restarted copy's metadata" "$LK_MOTO_URL" s3://raw-account/big/metadata/Big.json "$J" "$FB" "" Big 130000
else
    lk_fail "streaming PUT restarted after 503 and reset" "status $st, $(proxy_stat injected) injected, $gets downloads: $out"
fi
kill "$PROXY_PID"

big_before=$(etag_of "$LK_MOTO_URL" raw-account big/Big.csv)
meta_before=$(meta_of s3://raw-account/big/metadata/Big.json)
proxy_start --fail "PUT /raw-account/big/Big.csv SlowDown -1"
out=$(LAKEOP_S3_ENDPOINT=$PROXY_URL $LK_BIN copy --file-id "$FB" --to s3://raw-account/big/Big.csv \
      --job "$J" --record-count 130000 --yes --force 2>&1)
st=$?
if [ $st -eq 1 ] && echo "$out" | grep -q "tried 4 times" && echo "$out" | grep -q SlowDown &&
   [ "$(proxy_stat injected)" = 4 ] && [ "$(etag_of "$LK_MOTO_URL" raw-account big/Big.csv)" = "$big_before" ] &&
   [ "$(meta_of s3://raw-account/big/metadata/Big.json)" = "$meta_before" ] && [ -n "$meta_before" ]; then
    lk_pass "streaming PUT, 503 SlowDown every time: fails (1) after 4 tries, says so; old object and metadata kept"
else
    lk_fail "streaming PUT, persistent 503" "status $st, $(proxy_stat injected) injected: $out"
fi
kill "$PROXY_PID"

# ---- the lake never sees a new CSV beside the previous file's metadata:
# that is deleted just before the commit, so a metadata write that fails
# after it leaves none ("not ready"), and a rerun writes it.
FS=2c92c09472503749017255fc3c9379cc
zuora_file "$FS" 300 50
proxy_start --fail "PUT /raw-account/big/metadata/Big.json AccessDenied -1"
out=$(LAKEOP_S3_ENDPOINT=$PROXY_URL $LK_BIN copy --file-id "$FS" --to s3://raw-account/big/Big.csv \
      --job "$J" --record-count 300 --yes 2>&1)
st=$?
if [ $st -eq 1 ] && echo "$out" | grep -q "not ready" && [ "$(proxy_stat injected)" = 1 ] &&
   [ -z "$(meta_of s3://raw-account/big/metadata/Big.json)" ]; then
    s3_same "metadata write refused after the commit: exit 1, the new CSV is there and NO metadata (not the old one)" \
        "$LK_MOTO_URL" s3://raw-account/big/Big.csv "$FS"
else
    lk_fail "metadata write refused" "status $st, metadata now: $(meta_of s3://raw-account/big/metadata/Big.json): $out"
fi
kill "$PROXY_PID"
out=$($LK_BIN copy --file-id "$FS" --to s3://raw-account/big/Big.csv --job "$J" --record-count 300 --yes 2>&1)
st=$?
if [ $st -eq 0 ]; then
    s3_meta "run again: the metadata is written" "$LK_MOTO_URL" s3://raw-account/big/metadata/Big.json "$J" "$FS" "" Big 300
else
    lk_fail "rerun after the metadata failure" "status $st: $out"
fi
# The previous metadata cannot be set aside: nothing is committed.
proxy_start --fail "DELETE /raw-account/big/metadata/Big.json AccessDenied -1"
meta_before=$(meta_of s3://raw-account/big/metadata/Big.json)
out=$(LAKEOP_S3_ENDPOINT=$PROXY_URL $LK_BIN copy --file-id "$FB" --to s3://raw-account/big/Big.csv \
      --job "$J" --record-count 130000 --yes 2>&1)
st=$?
if [ $st -eq 1 ] && echo "$out" | grep -q "could not be set aside" &&
   [ "$(meta_of s3://raw-account/big/metadata/Big.json)" = "$meta_before" ]; then
    s3_same "previous metadata cannot be deleted: exit 1, old CSV and metadata kept" \
        "$LK_MOTO_URL" s3://raw-account/big/Big.csv "$FS"
else
    lk_fail "metadata delete refused" "status $st: $out"
fi
kill "$PROXY_PID"

# ---- SIGKILL halfway through the streaming PUT (13 MB at 2 MB/s through
# the slow proxy): the old CSV and metadata stay until the new ones are
# complete, then a rerun ends right.
sport=$(lk_free_port)
python3 "$LK_ROOT/tests/doubles/s3_slow_proxy.py" --port "$sport" --upstream "$LK_MOTO_URL" \
    --put-rate 2000000 >"$T/slow.log" 2>&1 &
spid=$!
lk_on_exit "kill $spid 2>/dev/null"
lk_wait_port "$sport" || exit 1
put_bytes() { curl -sS "http://127.0.0.1:$sport/_proxy/stats" | python3 -c 'import json,sys; print(json.load(sys.stdin)["put_bytes"])'; }
old_csv=$(etag_of "$LK_MOTO_URL" raw-account big/Big.csv)
old_meta=$(meta_of s3://raw-account/big/metadata/Big.json)
big_len=$(zuora_get "$FB" | wc -c)
LAKEOP_S3_ENDPOINT=http://127.0.0.1:$sport $LK_BIN copy --file-id "$FB" --to s3://raw-account/big/Big.csv \
    --job "$J" --record-count 130000 --yes >"$T/kill.log" 2>&1 &
pid=$!
intact=true
n=0
while [ "$(put_bytes)" -lt $((big_len / 2)) ] && [ $n -lt 300 ]; do
    [ "$(etag_of "$LK_MOTO_URL" raw-account big/Big.csv)" = "$old_csv" ] || intact=false
    sleep 0.1
    n=$((n + 1))
done
kill -9 $pid 2>/dev/null
wait $pid 2>/dev/null
at_kill=$(put_bytes)
sleep 0.5
if [ "$at_kill" -ge $((big_len / 2)) ] && [ "$at_kill" -lt "$big_len" ] && $intact &&
   [ -n "$old_csv" ] && [ -n "$old_meta" ] &&
   [ "$(etag_of "$LK_MOTO_URL" raw-account big/Big.csv)" = "$old_csv" ] &&
   [ "$(meta_of s3://raw-account/big/metadata/Big.json)" = "$old_meta" ]; then
    lk_pass "SIGKILL mid streaming PUT ($at_kill of $big_len bytes sent): old CSV and metadata intact throughout"
else
    lk_fail "SIGKILL mid streaming PUT" "$at_kill of $big_len bytes sent, intact during: $intact: $(cat "$T/kill.log")"
fi
kill $spid 2>/dev/null
out=$($LK_BIN copy --file-id "$FB" --to s3://raw-account/big/Big.csv --job "$J" --record-count 130000 --yes 2>&1)
st=$?
if [ $st -eq 0 ]; then
    s3_same "run again after the kill: identical" "$LK_MOTO_URL" s3://raw-account/big/Big.csv "$FB"
    s3_meta "run again after the kill: metadata exact" "$LK_MOTO_URL" s3://raw-account/big/metadata/Big.json "$J" "$FB" "" Big 130000
else
    lk_fail "rerun after the kill mid PUT" "status $st: $out"
fi

# ---- wrong credentials: not retried, a clear message
proxy_start
out=$(LAKEOP_S3_ENDPOINT=$PROXY_URL AWS_SECRET_ACCESS_KEY=wrong $LK_BIN copy "$J" --object Account --yes --force 2>&1)
st=$?
reqs=$(proxy_stat requests)
if [ $st -eq 1 ] && echo "$out" | grep -q "SignatureDoesNotMatch\|credentials\|403" && [ "$reqs" -le 2 ]; then
    lk_pass "wrong credentials: exit 1, clear message, not retried ($reqs requests)"
else
    lk_fail "wrong credentials" "status $st, $reqs requests: $out"
fi
kill "$PROXY_PID"

# ---- a bucket that does not exist: HEAD bucket in the plan, nothing downloaded
gets=$(file_gets "$FA")
out=$($LK_BIN copy --file-id "$FA" --to s3://no-such-bucket/Account.csv --yes 2>&1)
st=$?
if [ $st -eq 4 ] && echo "$out" | grep -q "bucket no-such-bucket does not exist" && [ "$(file_gets "$FA")" = "$gets" ]; then
    lk_pass "missing bucket: not found (4), 'bucket no-such-bucket does not exist', before any download"
else
    lk_fail "missing bucket" "status $st: $out"
fi

# ---- a key with spaces and non-ASCII characters (moto without auth)
lk_aws "$LK_MOTO_NOAUTH_URL" s3 mb s3://raw-odd >/dev/null
out=$(LAKEOP_S3_ENDPOINT=$LK_MOTO_NOAUTH_URL AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test \
      $LK_BIN copy --file-id "$FA" --to "s3://raw-odd/zuora exports/Äccount €.csv" --yes 2>&1)
st=$?
if [ $st -eq 0 ]; then
    s3_same "key with spaces and non-ASCII: identical" "$LK_MOTO_NOAUTH_URL" "s3://raw-odd/zuora exports/Äccount €.csv" "$FA"
    s3_meta "its metadata beside it" "$LK_MOTO_NOAUTH_URL" "s3://raw-odd/zuora exports/metadata/Account.json" "$J" "$FA" "$BA" Account 500
else
    lk_fail "odd key" "status $st: $out"
fi
lk_done
