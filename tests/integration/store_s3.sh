#!/bin/sh
# The object store against real S3 servers (build/san/itests/store_s3, from
# tests/integration/store_s3.c): moto with every signature checked, moto
# without auth for keys that need percent-encoding, and s3rver for a large
# streamed upload and paging.  Everything written is read back with the aws
# CLI and compared byte for byte.
#
# The aws CLI takes a second or two to start, so read-backs are collected
# and checked together: one recursive download per checkpoint, one listing
# for everything that must be gone.
set -u
. "$(dirname "$0")/../lib/common.sh"
. "$LK_ROOT/tests/lib/s3.sh"

B=$LK_ROOT/build/san/itests/store_s3
if [ ! -x "$B" ]; then
    lk_fail "store_s3 program" "$B is not built (make san)"
    lk_done
    exit 1
fi
T=$(lk_tmpdir)
# A private copy: a rebuild during the run must not pull the binary away.
cp "$B" "$T/store_s3" && B=$T/store_s3
MiB=1048576
: > "$T/pending"

# ok NAME CMD...: passes when CMD succeeds; shows its output otherwise.
ok() {
    name=$1; shift
    if out=$("$@" 2>&1); then lk_pass "$name"; else lk_fail "$name" "$out"; fi
}
contains() {     # FILE WORDS
    grep -qF -- "$2" "$1" || { echo "'$2' not in:"; cat "$1"; return 1; }
}
etag_of() { sed -n 's/.* etag=\([^ ]*\) .*/\1/p' "$1"; }
# Deferred read-backs: NAME KEY FILE (same bytes) or NAME KEY sha:SHA256.
expect() { printf '%s|%s|%s\n' "$1" "$2" "$3" >> "$T/pending"; }
# readback SERVER BUCKET: the aws CLI downloads the bucket, then every
# pending expectation is checked against what it got.
readback() {
    rm -rf "$T/rb"
    if ! lk_aws "$1" s3 cp "s3://$2/" "$T/rb/" --recursive --quiet > "$T/rb.log" 2>&1; then
        lk_fail "aws CLI downloads s3://$2" "$(cat "$T/rb.log")"
    fi
    while IFS='|' read -r name key want; do
        got=$T/rb/$key
        case "$want" in
            sha:*)
                sum=$(sha256sum < "$got" 2>/dev/null | cut -d' ' -f1)
                if [ "sha:$sum" = "$want" ]; then lk_pass "$name"; else lk_fail "$name" "sha256 '$sum', expected $want"; fi ;;
            *)
                if cmp -s "$got" "$want"; then lk_pass "$name"; else lk_fail "$name" "s3://$2/$key differs from $want"; fi ;;
        esac
    done < "$T/pending"
    : > "$T/pending"
}
# keys_now SERVER BUCKET: every key, one a line, in $T/keys.
keys_now() {
    lk_aws "$1" s3api list-objects-v2 --bucket "$2" --query 'Contents[].Key' --output text \
        | tr '\t' '\n' > "$T/keys"
}
gone() {         # NAME KEY: not in $T/keys
    if grep -qxF -- "$2" "$T/keys"; then lk_fail "$1" "$2 is still there"; else lk_pass "$1"; fi
}

# ---- moto, every request signature-checked ---------------------------------------
if ! moto_start; then
    lk_fail "moto starts" "see $T"
    lk_done
    exit 1
fi
lk_aws "$LK_MOTO_URL" s3 mb s3://lake >/dev/null
M() { env $(lk_s3_env "$LK_MOTO_URL") "$@"; }

printf 'Id,Name\n1,Acme\n2,"Quoted, name"\n' > "$T/small.csv"
M "$B" put s3://lake/raw/Account.csv "$T/small.csv" text/csv > "$T/out" 2>&1
ok "moto: small object in one PUT" contains "$T/out" "put exists=1 size=32"
expect "moto: small object read back by aws" raw/Account.csv "$T/small.csv"
ctype=$(lk_aws "$LK_MOTO_URL" s3api head-object --bucket lake --key raw/Account.csv --query ContentType --output text)
if [ "$ctype" = "text/csv" ]; then lk_pass "moto: Content-Type is text/csv"; else lk_fail "moto: Content-Type" "$ctype"; fi

# Streamed writer below the part size: still one PUT (a plain MD5 ETag, no "-N").
head -c $((MiB + 12345)) /dev/urandom > "$T/one_part.bin"
M "$B" write s3://lake/raw/one_part.bin "$T/one_part.bin" > "$T/out" 2>&1
if grep -q 'committed exists=1' "$T/out" && ! etag_of "$T/out" | grep -q -- '-'; then
    lk_pass "moto: writer below the part size uses one PUT"
else
    lk_fail "moto: writer below the part size" "$(cat "$T/out")"
fi
expect "moto: one-part object read back by aws" raw/one_part.bin "$T/one_part.bin"

# Exactly one part (5 MiB with 5 MiB parts): one PUT too.
head -c $((5 * MiB)) /dev/urandom > "$T/exact.bin"
LAKEOP_S3_PART_SIZE=5M M "$B" write s3://lake/raw/exact.bin "$T/exact.bin" > "$T/out" 2>&1
if grep -q 'committed exists=1 size=5242880' "$T/out" && ! etag_of "$T/out" | grep -q -- '-'; then
    lk_pass "moto: an object of exactly one part is a single PUT"
else
    lk_fail "moto: exactly one part" "$(cat "$T/out")"
fi
expect "moto: exact-part object read back by aws" raw/exact.bin "$T/exact.bin"

# Multipart: ~12 MiB in 5 MiB parts, written in uneven pieces.
BIG=$((12 * MiB + 4321))
want=$("$B" gen-stdout $BIG 42 | sha256sum | cut -d' ' -f1)
LAKEOP_S3_PART_SIZE=5M M "$B" gen s3://lake/raw/multi.bin $BIG 42 > "$T/out" 2>&1
if grep -q "committed exists=1 size=$BIG" "$T/out" && etag_of "$T/out" | grep -q -- '-3"$'; then
    lk_pass "moto: multipart upload in 3 parts"
else
    lk_fail "moto: multipart upload" "$(cat "$T/out")"
fi
expect "moto: multipart object read back by aws" raw/multi.bin "sha:$want"

# HEAD
M "$B" head s3://lake/raw/multi.bin > "$T/out" 2>&1
ok "moto: head gives size and the multipart ETag" sh -c "grep -q 'head exists=1 size=$BIG etag=\"[0-9a-f]*-3\" mtime=[1-9]' '$T/out' || { cat '$T/out'; exit 1; }"
M "$B" head s3://lake/raw/none.csv > "$T/out" 2>&1
ok "moto: head of a missing object: exists=0, not an error" contains "$T/out" "head exists=0"

# GET with ranges
M "$B" get s3://lake/raw/Account.csv 8 6 > "$T/got" 2>"$T/err"
ok "moto: get with a range" sh -c "[ \"\$(cat '$T/got')\" = '1,Acme' ] || { cat '$T/got' '$T/err'; exit 1; }"
"$B" gen-stdout $BIG 42 | tail -c +$((5 * MiB - 9)) | head -c 40 > "$T/want"
M "$B" get s3://lake/raw/multi.bin $((5 * MiB - 10)) 40 > "$T/got" 2>"$T/err"
ok "moto: get across a part boundary" cmp "$T/got" "$T/want"
M "$B" get s3://lake/raw/multi.bin 0 -1 2>"$T/err" | sha256sum | cut -d' ' -f1 > "$T/got"
ok "moto: get of a whole multipart object" sh -c "[ \"\$(cat '$T/got')\" = '$want' ]"
M "$B" get s3://lake/raw/none.csv 0 -1 > /dev/null 2>"$T/err"
rc=$?
if [ $rc -eq 4 ] && grep -q 'cannot read s3://lake/raw/none.csv: it does not exist' "$T/err"; then
    lk_pass "moto: get of a missing object: exit 4, clear message"
else
    lk_fail "moto: get of a missing object" "rc=$rc $(cat "$T/err")"
fi

# LIST with paging: 25 keys in pages of 7 (4 requests).  With signatures
# checked, moto mis-verifies a %2F in the query (the aws CLI gets the same
# 403), so this prefix has no '/'; prefixes with '/' are listed below on
# moto without auth and on s3rver.
M "$B" put-many s3://lake/many-k 25 > "$T/out" 2>&1
ok "moto: 25 small puts" test -z "$(cat "$T/out")"
before=$(grep -c 'continuation-token=' "$LK_MOTO_LOG")
M "$B" list s3://lake/many- 7 > "$T/list" 2>"$T/err"
after=$(grep -c 'continuation-token=' "$LK_MOTO_LOG")
i=0
: > "$T/want"
while [ $i -lt 25 ]; do printf 'many-k%04d\n' $i >> "$T/want"; i=$((i + 1)); done
cut -f1 "$T/list" > "$T/got"
ok "moto: paged listing gives every key in order" cmp "$T/got" "$T/want"
ok "moto: listing followed 3 continuation tokens" test $((after - before)) -eq 3
ok "moto: listing says 25" contains "$T/err" "listed 25"
M "$B" list s3://lake/ > "$T/list" 2>"$T/err"
ok "moto: listing sizes and ETags" sh -c "grep -q \"^raw/Account.csv	32	\\\"\" '$T/list' || { cat '$T/list' '$T/err'; exit 1; }"

# COPY
M "$B" copy s3://lake/raw/Account.csv s3://lake/copies/Account.csv > "$T/out" 2>&1
ok "moto: server-side copy" test -z "$(cat "$T/out")"
expect "moto: copy read back by aws" copies/Account.csv "$T/small.csv"
M "$B" copy s3://lake/raw/none.csv s3://lake/copies/none.csv > "$T/out" 2>&1
ok "moto: copy of a missing object fails, exit 4" sh -c "[ $? -eq 4 ] && grep -q 'does not exist' '$T/out' || { cat '$T/out'; exit 1; }"

# Faults real S3 produces and moto does not, through the copy tests' proxy
# (tests/doubles/s3_fault_proxy.py): a part answered 503 SlowDown twice is
# retried with the same bytes; a CompleteMultipartUpload answered 200 with
# <Error> is a failure, and the upload is aborted.
proxy_start() {
    pport=$(lk_free_port)
    python3 "$LK_ROOT/tests/doubles/s3_fault_proxy.py" --port "$pport" --upstream "$LK_MOTO_URL" "$@" \
        >"$T/proxy.$pport.log" 2>&1 &
    lk_on_exit "kill $!"
    lk_wait_port "$pport" || return 1
    PROXY_URL=http://127.0.0.1:$pport
}
proxy_stat() {
    curl -sS "$PROXY_URL/_proxy/stats" | python3 -c "import json,sys; print(json.load(sys.stdin)['$1'])"
}
P() { env $(lk_s3_env "$LK_MOTO_URL") LAKEOP_S3_ENDPOINT="$PROXY_URL" "$@"; }
if proxy_start --fail-part 2 --fail-parts 2; then
    want=$("$B" gen-stdout $BIG 43 | sha256sum | cut -d' ' -f1)
    LAKEOP_S3_PART_SIZE=5M P "$B" gen s3://lake/raw/slowdown.bin $BIG 43 > "$T/out" 2>&1
    ok "proxy: a part answered 503 SlowDown twice is retried" contains "$T/out" "committed exists=1 size=$BIG"
    ok "proxy: two faults injected, five part requests" \
        test "$(proxy_stat injected) $(proxy_stat upload_parts)" = "2 5"
    expect "proxy: retried upload read back by aws" raw/slowdown.bin "sha:$want"
else
    lk_fail "fault proxy starts" "see $T"
fi
if proxy_start --complete-error -1; then
    LAKEOP_S3_PART_SIZE=5M P "$B" gen s3://lake/raw/complete-error.bin $BIG 44 > "$T/out" 2>&1
    rc=$?
    if [ $rc -eq 1 ] && grep -q 'cannot complete the upload of s3://lake/raw/complete-error.bin' "$T/out" &&
       grep -q 'InternalError' "$T/out"; then
        lk_pass "proxy: 200 carrying <Error> on Complete is a failure"
    else
        lk_fail "proxy: 200 carrying <Error> on Complete" "rc=$rc $(cat "$T/out")"
    fi
    ok "proxy: Complete with <Error> was retried" test "$(proxy_stat completes)" -eq 4
else
    lk_fail "fault proxy starts" "see $T"
fi

# Abort: an explicit abort and a failure halfway both leave no upload and no object.
LAKEOP_S3_PART_SIZE=5M M "$B" abort s3://lake/raw/aborted.bin $((11 * MiB)) > "$T/out" 2>&1
ok "moto: writer aborted after two parts" test -z "$(cat "$T/out")"
LAKEOP_S3_PART_SIZE=5242880 M "$B" cancel s3://lake/raw/cancelled.bin $((16 * MiB)) > "$T/out" 2>&1
rc=$?
if [ $rc -eq 1 ] && grep -q 'cancelled' "$T/out"; then
    lk_pass "moto: a failure mid-upload is reported"
else
    lk_fail "moto: failure mid-upload" "rc=$rc $(cat "$T/out")"
fi

# Session credentials (STS): signed with x-amz-security-token.
lk_aws "$LK_MOTO_URL" iam create-role --role-name lakeop-ops --assume-role-policy-document \
    '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"*"},"Action":"sts:AssumeRole"}]}' \
    >/dev/null
lk_aws "$LK_MOTO_URL" iam put-role-policy --role-name lakeop-ops --policy-name all --policy-document \
    '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}'
creds=$(lk_aws "$LK_MOTO_URL" sts assume-role --role-arn arn:aws:iam::123456789012:role/lakeop-ops \
    --role-session-name itest --query 'Credentials.[AccessKeyId,SecretAccessKey,SessionToken]' --output text)
set -- $creds
if [ $# -eq 3 ]; then
    env $(lk_s3_env "$LK_MOTO_URL") AWS_ACCESS_KEY_ID="$1" AWS_SECRET_ACCESS_KEY="$2" AWS_SESSION_TOKEN="$3" \
        "$B" put s3://lake/raw/session.csv "$T/small.csv" > "$T/out" 2>&1
    ok "moto: session credentials (x-amz-security-token)" contains "$T/out" "put exists=1"
    expect "moto: session put read back by aws" raw/session.csv "$T/small.csv"
    env $(lk_s3_env "$LK_MOTO_URL") AWS_ACCESS_KEY_ID="$1" AWS_SECRET_ACCESS_KEY="$2" AWS_SESSION_TOKEN="x$3" \
        "$B" head s3://lake/raw/session.csv > "$T/out" 2>&1
    ok "moto: a bad session token is refused, pointing at the credentials" sh -c "[ $? -eq 1 ] && grep -q \"check AWS credentials (session token) and s3.region for environment 'itest'\" '$T/out' || { cat '$T/out'; exit 1; }"
    ok "moto: the session token never appears in the message" sh -c "! grep -qF -- '$3' '$T/out'"
else
    lk_fail "moto: session credentials" "no credentials from sts assume-role: $creds"
fi

# Wrong credentials: a clear message, and one request only (never retried).
printf 'v2\n' > "$T/v2"
n0=$(grep -c 'PUT /lake/raw/denied.csv' "$LK_MOTO_LOG")
env $(lk_s3_env "$LK_MOTO_URL") AWS_SECRET_ACCESS_KEY=not-the-secret "$B" put s3://lake/raw/denied.csv "$T/v2" \
    > "$T/out" 2>&1
rc=$?
n1=$(grep -c 'PUT /lake/raw/denied.csv' "$LK_MOTO_LOG")
if [ $rc -eq 1 ] && grep -q "check the AWS secret access key for environment 'itest'" "$T/out" &&
   grep -q 'SignatureDoesNotMatch' "$T/out"; then
    lk_pass "moto: wrong secret: clear message with S3's code"
else
    lk_fail "moto: wrong secret" "rc=$rc $(cat "$T/out")"
fi
ok "moto: wrong secret is not retried" test $((n1 - n0)) -eq 1
ok "moto: the secret never appears in the message" sh -c "! grep -q not-the-secret '$T/out'"
env $(lk_s3_env "$LK_MOTO_URL") AWS_ACCESS_KEY_ID=AKIAIOSFODNN7NOTKNOWN "$B" head s3://lake/raw/Account.csv \
    > "$T/out" 2>&1
rc=$?
if [ $rc -eq 1 ] && grep -q "check AWS credentials for environment 'itest'" "$T/out"; then
    lk_pass "moto: unknown key id: clear message"
else
    lk_fail "moto: unknown key id" "rc=$rc $(cat "$T/out")"
fi

# A bucket that does not exist.
M "$B" put s3://no-such-bucket/x.csv "$T/v2" > "$T/out" 2>&1
rc=$?
if [ $rc -eq 4 ] && grep -q "bucket 'no-such-bucket' does not exist" "$T/out"; then
    lk_pass "moto: missing bucket: exit 4, names the bucket"
else
    lk_fail "moto: missing bucket" "rc=$rc $(cat "$T/out")"
fi
M "$B" list s3://no-such-bucket/ > "$T/out" 2>&1
ok "moto: listing a missing bucket: exit 4" sh -c "[ $? -eq 4 ] && grep -q \"bucket 'no-such-bucket' does not exist\" '$T/out' || { cat '$T/out'; exit 1; }"
ok "moto: ping an existing bucket" M "$B" ping lake
M "$B" ping no-such-bucket > "$T/out" 2>&1
ok "moto: ping a missing bucket: exit 4" sh -c "[ $? -eq 4 ] && grep -q 'does not exist' '$T/out' || { cat '$T/out'; exit 1; }"

# Everything written so far, read back by the aws CLI.
readback "$LK_MOTO_URL" lake

# Overwrite and delete, then check what is left.
M "$B" put s3://lake/raw/Account.csv "$T/v2" > /dev/null 2>&1
expect "moto: overwrite read back by aws" raw/Account.csv "$T/v2"
ok "moto: delete" M "$B" delete s3://lake/copies/Account.csv
ok "moto: deleting a missing object is not an error" M "$B" delete s3://lake/copies/Account.csv
readback "$LK_MOTO_URL" lake
keys_now "$LK_MOTO_URL" lake
gone "moto: deleted object is gone" copies/Account.csv
gone "moto: abort leaves no object" raw/aborted.bin
gone "moto: a failed upload leaves no object" raw/cancelled.bin
gone "proxy: a Complete with <Error> leaves no object" raw/complete-error.bin
gone "moto: nothing written with wrong credentials" raw/denied.csv
n=$(lk_aws "$LK_MOTO_URL" s3api list-multipart-uploads --bucket lake --query 'length(Uploads || `[]`)' --output text)
ok "moto: no multipart upload left behind (puts, abort, failure, Complete error)" test "$n" = "0"

# ---- moto without auth: keys that need percent-encoding --------------------------
if moto_start_noauth; then
    lk_aws "$LK_MOTO_NOAUTH_URL" s3 mb s3://odd >/dev/null
    N() { env $(lk_s3_env "$LK_MOTO_NOAUTH_URL") "$@"; }
    KEY='in/dir with space/naïve +plus=eq&amp;~(1).csv'
    printf 'x,y\n1,ü\n' > "$T/odd.csv"
    N "$B" put "s3://odd/$KEY" "$T/odd.csv" > "$T/out" 2>&1
    ok "odd keys: put" contains "$T/out" "put exists=1"
    expect "odd keys: read back by aws" "$KEY" "$T/odd.csv"
    N "$B" head "s3://odd/$KEY" > "$T/out" 2>&1
    ok "odd keys: head" contains "$T/out" "head exists=1 size=9"
    N "$B" get "s3://odd/$KEY" 4 -1 > "$T/got" 2>&1
    printf '1,ü\n' > "$T/want"
    ok "odd keys: ranged get" cmp "$T/got" "$T/want"
    N "$B" list "s3://odd/in/dir with space/na" 1 > "$T/list" 2>&1
    ok "odd keys: listed by prefix (and paged)" sh -c "grep -qF 'in/dir with space/naïve +plus=eq&amp;~(1).csv	9' '$T/list' || { cat '$T/list'; exit 1; }"
    N "$B" copy "s3://odd/$KEY" "s3://odd/out/été & co+.csv" > "$T/out" 2>&1
    ok "odd keys: copy" test -z "$(cat "$T/out")"
    expect "odd keys: copy read back by aws" "out/été & co+.csv" "$T/odd.csv"
    N "$B" write "s3://odd/out/écrit =1.csv" "$T/odd.csv" > "$T/out" 2>&1
    expect "odd keys: streamed write read back by aws" "out/écrit =1.csv" "$T/odd.csv"
    readback "$LK_MOTO_NOAUTH_URL" odd
    ok "odd keys: delete" N "$B" delete "s3://odd/$KEY"
    N "$B" head "s3://odd/$KEY" > "$T/out" 2>&1
    ok "odd keys: deleted" contains "$T/out" "head exists=0"
    keys_now "$LK_MOTO_NOAUTH_URL" odd
    gone "odd keys: the aws CLI no longer lists it" "$KEY"
else
    lk_fail "moto without auth starts" "see $T"
fi

# ---- s3rver: a large streamed upload in constant memory, and paging --------------
if s3rver_start; then
    lk_aws "$LK_S3RVER_URL" s3 mb s3://big >/dev/null
    S() { env $(lk_s3_env "$LK_S3RVER_URL") "$@"; }
    LARGE=$((200 * MiB + 777))
    want=$("$B" gen-stdout $LARGE 7 | sha256sum | cut -d' ' -f1)
    S "$B" gen s3://big/large.bin $LARGE 7 > "$T/out" 2>&1
    ok "s3rver: 200 MB streamed upload" contains "$T/out" "committed exists=1 size=$LARGE"
    rss=$(sed -n 's/^peak_rss_kb=//p' "$T/out")
    # One 16 MiB part buffer; the sanitizers' own overhead is most of the rest.
    if [ -n "$rss" ] && [ "$rss" -lt 131072 ]; then
        lk_pass "s3rver: memory stays flat (peak ${rss} kB for 200 MB)"
    else
        lk_fail "s3rver: memory" "peak ${rss:-?} kB"
    fi
    got=$(lk_aws "$LK_S3RVER_URL" s3 cp s3://big/large.bin - | sha256sum | cut -d' ' -f1)
    ok "s3rver: 200 MB read back by aws" test "$got" = "$want"
    S "$B" get s3://big/large.bin 0 -1 2>/dev/null | sha256sum | cut -d' ' -f1 > "$T/got"
    ok "s3rver: 200 MB read by store_get" test "$(cat "$T/got")" = "$want"

    # A connection cut in the middle of a GET: the read resumes with a Range
    # from where it stopped, pinned to the same version by If-Match.
    head -c $((3 * MiB + 5)) /dev/urandom > "$T/cut.bin"
    S "$B" put s3://big/cut.bin "$T/cut.bin" > /dev/null 2>&1
    cport=$(lk_free_port)
    python3 "$LK_ROOT/tests/integration/store_s3_cut.py" --port "$cport" --upstream "$LK_S3RVER_URL" \
        --log "$T/cut.log" > "$T/cut.out" 2>&1 &
    lk_on_exit "kill $!"
    if lk_wait_port "$cport"; then
        env $(lk_s3_env "$LK_S3RVER_URL") LAKEOP_S3_ENDPOINT="http://127.0.0.1:$cport" \
            "$B" get s3://big/cut.bin 0 -1 > "$T/got" 2>"$T/err"
        ok "s3rver: a GET cut halfway resumes and gets every byte" sh -c "cmp '$T/got' '$T/cut.bin' || { cat '$T/err'; exit 1; }"
        half=$(( (3 * MiB + 5) / 2 ))
        ok "s3rver: the resumed GET asked for the rest, same version" \
            sh -c "grep -q '^GET /big/cut.bin|bytes=$half-|\"' '$T/cut.log' || { cat '$T/cut.log'; exit 1; }"
    else
        lk_fail "cutting proxy starts" "$(cat "$T/cut.out")"
    fi

    S "$B" put-many s3://big/many/k 1100 > "$T/out" 2>&1
    ok "s3rver: 1100 small puts" test -z "$(cat "$T/out")"
    S "$B" list s3://big/many/ > "$T/list" 2>"$T/err"
    ok "s3rver: listing of 1100 keys pages past 1000" contains "$T/err" "listed 1100"
    keys_now "$LK_S3RVER_URL" big
    grep '^many/' "$T/keys" > "$T/want"
    cut -f1 "$T/list" > "$T/got"
    ok "s3rver: same keys, same order as aws" cmp "$T/got" "$T/want"
else
    lk_fail "s3rver starts" "see $T"
fi

lk_done
