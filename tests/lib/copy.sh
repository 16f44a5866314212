# Helpers for the copy tests (tests/integration/copy_*.sh).  Source after
# common.sh, pg.sh and doubles.sh, with the Zuora double started.
#
#   copy_env CONNINFO STORE_ENDPOINT   exports what lakeop needs (database,
#                                      Zuora double, object store)
#   copy_config RAW_ACCOUNT RAW_INVOICEITEM   writes $LAKEOP_CONFIG
#   zuora_file ID RECORDS QUOTED_EVERY registers a file at the double
#   seed_job JOB BATCH:NAME:COUNT:FILE[,FILE...]...   a completed job
#   zuora_get ID                       the file's bytes as the double serves them
#   file_gets ID                       how many times lakeop asked for the file
#   same_bytes NAME ID PATH            passes when PATH holds exactly the file
#   check_meta NAME PATH JOB FILE BATCH OBJECT COUNT   exact metadata text
#   psql_q SQL                         one value (or row, '|'-separated)

copy_env() {
    LK_COPY_DB=$1
    export LAKEOP_DATABASE_URL="$1"
    export LAKEOP_ZUORA_URL="$LK_ZUORA_URL"
    export LAKEOP_ZUORA_CLIENT_ID=lakeop-test
    export LAKEOP_ZUORA_CLIENT_SECRET=s3cret
    export LAKEOP_S3_ENDPOINT="$2"
    export LAKEOP_OPERATOR=copy-test
    export LAKEOP_ENV=test
}

copy_config() {
    export LAKEOP_CONFIG="$(lk_tmpdir)/config"
    cat > "$LAKEOP_CONFIG" <<CFG
[env "test"]
zuora.partner = guardian
zuora.project = copy-test
zuora.timezone = UTC

[object "Account"]
zoql = SELECT Id, Name FROM Account
raw = $1

[object "InvoiceItem"]
zoql = SELECT Id, ChargeAmount FROM InvoiceItem
raw = $2
CFG
    chmod 600 "$LAKEOP_CONFIG"
}

zuora_file() {
    zuora_ctl POST /_control/file \
        "{\"fileId\":\"$1\",\"records\":$2,\"quoted_newline_every\":$3,\"record_bytes\":100,\"object\":\"Account\"}" >/dev/null
}

seed_job() {
    job=$1; shift
    batches=""
    for b in "$@"; do
        python_batch=$(python3 - "$b" <<'PY'
import json, sys
bid, name, count, files = sys.argv[1].split(":")
d = {"batchId": bid, "name": name, "status": "completed", "recordCount": int(count),
     "query": "SELECT Id, Name FROM " + name, "batchType": "zoqlexport", "full": True, "message": ""}
ids = files.split(",")
if len(ids) > 1:
    d["segments"] = ids
else:
    d["fileId"] = ids[0]
print(json.dumps(d))
PY
)
        batches="${batches:+$batches,}$python_batch"
    done
    zuora_ctl POST /_control/job "{\"id\":\"$job\",\"name\":\"lakeop-export\",\"status\":\"completed\",\"version\":\"1.1\",\"format\":\"CSV\",\"encrypted\":\"none\",\"partner\":\"guardian\",\"project\":\"copy-test\",\"startTime\":\"2024-03-01 10:00:00\",\"batches\":[$batches]}" >/dev/null
}

zuora_get() {
    tok=$(curl -sS -d client_id=lakeop-test -d client_secret=s3cret -d grant_type=client_credentials \
        "$LK_ZUORA_URL/oauth/token" | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')
    curl -sS -H "Authorization: Bearer $tok" "$LK_ZUORA_URL/v1/file/$1"
}

file_gets() {
    zuora_ctl GET /_control/stats | python3 -c 'import json,sys; print(json.load(sys.stdin)["requests"].get("GET /v1/file/'"$1"'", 0))'
}

same_bytes() {
    zuora_get "$2" > "$(lk_tmpdir)/want.$2"
    if [ -f "$3" ] && cmp -s "$(lk_tmpdir)/want.$2" "$3"; then
        lk_pass "$1"
    else
        lk_fail "$1" "$3 differs from file $2 ($(wc -c < "$(lk_tmpdir)/want.$2") bytes served, $(wc -c < "$3" 2>/dev/null) written)"
    fi
}

check_meta() {
    want=$(printf '{\n  "jobId" : "%s",\n  "fileId" : "%s",\n  "batchId" : "%s",\n  "status" : "completed",\n  "name" : "%s",\n  "recordCount" : %s\n}' "$3" "$4" "$5" "$6" "$7")
    if [ -f "$2" ] && [ "$(cat "$2")" = "$want" ] && [ "$(tail -c 1 "$2")" = "}" ]; then
        lk_pass "$1"
    else
        lk_fail "$1" "$2: $(cat "$2" 2>&1)"
    fi
}

psql_q() {
    psql -X -q -t -A -h "$LK_PG_HOST" -p "$LK_PG_PORT" -U postgres -d "$(echo "$LK_COPY_DB" | sed 's/.*dbname=//')" -c "$1"
}
