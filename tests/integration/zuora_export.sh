#!/bin/sh
# lakeop export against the Zuora and Airflow doubles: the exact request,
# the plan (full loads: new object, changed query, other project), every
# refusal (beginning, bad dates, read-only, afterLastIncrement not ingested),
# --force, the audit, the HTTP-200 syntax error, --wait.
. "$(dirname "$0")/../lib/common.sh"
. "$LK_ROOT/tests/lib/pg.sh"
. "$LK_ROOT/tests/lib/doubles.sh"
set -u

pg_start || exit 1
DB=$(pg_new_db zuora_export)
zuora_double_start --job-seconds 0 || exit 1
airflow_double_start || exit 1
T=$(lk_tmpdir)
write_config() {   # FILE ACCOUNT-QUERY
    cat >"$1" <<EOF
[env "CODE"]
zuora.partner  = guardian-12357
zuora.project  = zuora-datalake-export-2
zuora.timezone = America/Los_Angeles
airflow.dag    = supporter_experience

[object "Account"]
zoql  = $2
raw   = file://$T/raw/Account.csv
stage = zuora_account

[object "Contact"]
zoql  = SELECT Contact.Id, Contact.FirstName FROM Contact
raw   = file://$T/raw/Contact.csv
stage = zuora_contact

[object "Broken"]
zoql  = SELECT Broken.Id FROM Broken WHERE SYNTAXERROR
raw   = file://$T/raw/Broken.csv
stage = zuora_account
EOF
    chmod 600 "$1"
}
write_config "$T/config" "SELECT Account.Id, Account.Name, Account.Balance FROM Account"
write_config "$T/config2" "SELECT Account.Id, Account.Name, Account.Balance, Account.Currency FROM Account"
export LAKEOP_CONFIG="$T/config" LAKEOP_DATABASE_URL="$DB" LAKEOP_ZUORA_URL="$LK_ZUORA_URL" \
    LAKEOP_ZUORA_CLIENT_ID=lakeop-test LAKEOP_ZUORA_CLIENT_SECRET=s3cret \
    LAKEOP_AIRFLOW_URL="$LK_AIRFLOW_URL" LAKEOP_AIRFLOW_USER=ops LAKEOP_AIRFLOW_PASSWORD=pw
. "$LK_ROOT/tests/lib/cli.sh"
last_body() {   # python expression over b = the last submit body
    zuora_ctl GET "/_control/requests?path=/v1/batch-query/&method=POST" \
        | python3 -c "import json,sys; b=json.load(sys.stdin)['requests'][-1]['body']; print($1)"
}
audits() { sql "SELECT result || ':' || coalesce(params->>'from', '') || ':' || coalesce(params->>'force', '') FROM lakeop.audit WHERE action = 'export.submit' ORDER BY id DESC LIMIT 1"; }

D=$(date -u -d '10 days ago' +%F)
DM1=$(date -u -d '11 days ago' +%F)

# ---- bad input: nothing is sent
run export --from 2024-02-30 --object Account --yes
expect_rc "2024-02-30: usage error" 2
has "2024-02-30: clear message" "$ERR" "real calendar date"
run export --from "$(date -u -d 'tomorrow' +%F)" --object Account --yes
expect_rc "a future date: usage error" 2
has "a future date: says so" "$ERR" "in the future"
run export --from yesterdayish --object Account --yes
expect_rc "garbage: usage error" 2
run export --object Account --yes
expect_rc "no --from: usage error" 2
run export --from "$D" --object Nope --yes
expect_rc "unknown object: usage error" 2
has "unknown object: lists the known ones" "$ERR" "Account, Contact"
run export --from beginning --yes
expect_rc "--from beginning: refused" 3
has "--from beginning: the reason" "$ERR" "time limit"
[ "$(audits)" = "refused:beginning:false" ] && lk_pass "--from beginning: audited as refused" || lk_fail "beginning audited" "$(audits)"
run --read-only export --from "$D" --object Account --yes
expect_rc "read-only: refused" 3
run export --from "$D" --object Account
expect_rc "no terminal and no --yes: refused" 3
[ "$(submits)" = 0 ] && lk_pass "nothing was submitted so far" || lk_fail "nothing submitted" "$(submits)"

# ---- from a date: the plan and the exact request
run export --from "$D" --object Account --object Contact --yes
expect_rc "export from a date: exit 0" 0
has "plan: incrementalTime is D-1" "$OUT" "incrementalTime = \"$DM1 00:00:00\""
has "plan: its UTC equivalent (Pacific time)" "$OUT" "America/Los_Angeles, = $DM1 0"
has "plan: a new object is a full load" "$OUT" "full load: new object in this session"
[ "$(last_body "b['incrementalTime']")" = "$DM1 00:00:00" ] && lk_pass "request: incrementalTime sent" || lk_fail "incrementalTime sent" "$(last_body "b.get('incrementalTime')")"
[ "$(last_body "(b['version'], b['format'], b['partner'], b['project'], b['useQueryLabels'], b['dateTimeUtc'])")" = "('1.1', 'csv', 'guardian-12357', 'zuora-datalake-export-2', 'true', 'true')" ] \
    && lk_pass "request: stateful 1.1 csv with partner and project" || lk_fail "request shape" "$(last_body 'b')"
[ "$(last_body "[q['deleted'] for q in b['queries']]")" = "[{'column': 'IsDeleted', 'format': 'Boolean'}, {'column': 'IsDeleted', 'format': 'Boolean'}]" ] \
    && lk_pass "request: deleted column IsDeleted/Boolean on each query" || lk_fail "deleted column" "$(last_body 'b')"
[ "$(audits)" = "ok:$D:false" ] && lk_pass "submit audited with its parameters" || lk_fail "submit audited" "$(audits)"
p=$(sql "SELECT params->>'incrementalTime' || '|' || (params->'objects')::text FROM lakeop.audit WHERE action = 'export.submit' ORDER BY id DESC LIMIT 1")
[ "$p" = "$DM1 00:00:00|[\"Account\", \"Contact\"]" ] && lk_pass "audit: incrementalTime and objects" || lk_fail "audit params" "$p"

# ---- more than 30 days back: warned; --yes satisfies both confirmations
run export --from "$(date -u -d '45 days ago' +%F)" --object Contact --yes
expect_rc "45 days back with --yes: exit 0" 0
has "45 days back: the warning" "$OUT" "more than 30"

# ---- afterLastIncrement: omits incrementalTime; first job of the session is full
run export --from afterLastIncrement --object Account --object Contact --yes --wait --interval 2
expect_rc "afterLastIncrement (first of the session) with --wait: completed, exit 0" 0
[ "$(last_body "'incrementalTime' in b")" = False ] && lk_pass "afterLastIncrement: incrementalTime omitted" || lk_fail "omitted" "$(last_body 'b')"
J=$(sql "SELECT job_id FROM lakeop.zuora_jobs WHERE incremental_time IS NULL ORDER BY id DESC LIMIT 1")
n=$(sql "SELECT count(*) FROM lakeop.increments WHERE last_job_id = '$J' AND copied_at IS NULL")
[ "$n" = 2 ] && lk_pass "the completed job became each object's last increment" || lk_fail "increments" "$n"

# ---- the next afterLastIncrement: the increment was never copied → refused
before=$(submits)
run export --from afterLastIncrement --object Account --object Contact --yes
expect_rc "increment not copied: refused" 3
has "refusal names the object and the job" "$ERR" "Account (its last increment (job $J) was never copied"
has "refusal gives the two ways out" "$ERR" "export from a date"
[ "$(audits)" = "refused:afterLastIncrement:false" ] && lk_pass "refusal audited" || lk_fail "refusal audited" "$(audits)"
[ "$(submits)" = "$before" ] && lk_pass "refused: nothing sent to Zuora" || lk_fail "refused: nothing sent" "$(submits)"

# Copied long ago, and the stages have succeeded since: allowed.
sql "UPDATE lakeop.increments SET copied_at = '2000-01-01 00:00:00+00' WHERE env = 'CODE'" >/dev/null
run export --from afterLastIncrement --object Account --yes
expect_rc "copied, then ingested by its stage: allowed" 0
has "incremental for a known query" "$OUT" "Account                  incremental"

# Copied after the stage last succeeded: refused naming both times.
run job "$(sql "SELECT job_id FROM lakeop.zuora_jobs ORDER BY id DESC LIMIT 1")" >/dev/null
sql "UPDATE lakeop.increments SET copied_at = now() + interval '1 day' WHERE env = 'CODE'" >/dev/null
run export --from afterLastIncrement --object Account --yes
expect_rc "copied after the stage's last success: refused" 3
has "refusal: when the stage last succeeded" "$ERR" "stage zuora_account last succeeded"
run export --from afterLastIncrement --object Account --yes --force
expect_rc "--force overrides" 0
has "--force: says what it overrides" "$ERR" "--force"
[ "$(audits)" = "ok:afterLastIncrement:true" ] && lk_pass "--force audited" || lk_fail "--force audited" "$(audits)"

# The audit of a submit: the plan per object, and what --force overrode.
p=$(sql "SELECT (params->'plan'->'objects'->0->>'name') || ':' || (params->'plan'->'objects'->0->>'full') || '|' || coalesce(params->'overridden'->>0, 'none') FROM lakeop.audit WHERE action = 'export.submit' ORDER BY id DESC LIMIT 1")
case "$p" in "Account:false|Account: increment (job "*"stage zuora_account last succeeded"*)
    lk_pass "--force audit: Account incremental, and the problem it overrode" ;;
    *) lk_fail "--force audit" "$p" ;; esac

# ---- --json: the plan and a refusal, one document on stdout
run export --from afterLastIncrement --object Account --yes --json
expect_rc "--json refusal: exit 3" 3
python3 -c "
import json, sys
d = json.load(open('$OUT'))
o = d['plan']['objects'][0]
sys.exit(0 if d['refused'].startswith('refusing to export afterLastIncrement') and o['name'] == 'Account'
         and o['full'] is False and o['ingested'] is False and o['problem'] in d['refused'] else 1)" \
    && lk_pass "--json refusal: {plan, refused} on stdout" || lk_fail "--json refusal" "$(head -c 600 "$OUT")"

# ---- more refusals: a job still running, no stage, a stage missing from the DAG
zuora_ctl POST /_control/job_fate '{"job":"next","fate":"stuck_executing"}' >/dev/null
run export --from "$D" --object Account --yes
R=$(sql "SELECT job_id FROM lakeop.zuora_jobs ORDER BY id DESC LIMIT 1")
run export --from afterLastIncrement --object Account --yes
expect_rc "a job with the object still running: refused" 3
has "refusal: names the running job" "$ERR" "Account (job $R with this object has not finished)"
zuora_ctl POST /_control/job_fate "{\"job\":\"$R\",\"fate\":\"completed\"}" >/dev/null
run job "$R"
sql "UPDATE lakeop.zuora_batches SET copied_at = now() - interval '1 hour'; UPDATE lakeop.increments SET copied_at = now() - interval '1 hour'" >/dev/null
grep -v '^stage = zuora_account' "$T/config" >"$T/config3"
sed 's/^stage = zuora_account/stage = zuora_nope/' "$T/config" >"$T/config4"
chmod 600 "$T/config3" "$T/config4"
LAKEOP_CONFIG="$T/config3" run export --from afterLastIncrement --object Account --yes
expect_rc "no stage configured: refused" 3
has "refusal: no stage configured" "$ERR" "no stage is configured for it (stage = ... in [object \"Account\"])"
LAKEOP_CONFIG="$T/config4" run export --from afterLastIncrement --object Account --yes
expect_rc "stage missing from the DAG: refused" 3
has "refusal: the stage is not in the DAG" "$ERR" "Airflow has no task zuora_nope in DAG supporter_experience"

# ---- full-load plan: a changed query, a different project
LAKEOP_CONFIG="$T/config2" run export --from "$D" --object Account --yes
has "changed query: full load" "$OUT" "full load: query changed since job"
LAKEOP_ZUORA_PROJECT=zuora-datalake-export-3 run export --from "$D" --object Account --yes
has "different project: full load" "$OUT" "full load: a different project (last exported in zuora-datalake-export-2)"

# ---- HTTP-200 error: a syntax error in a query
run export --from "$D" --object Broken --yes
expect_rc "syntax error (HTTP 200 errorCode 90005): exit 1" 1
has "syntax error: clear message" "$ERR" "syntax error"
has "syntax error: Zuora's code" "$ERR" "90005"
[ "$(audits)" = "failed:$D:false" ] && lk_pass "failed submit audited" || lk_fail "failed submit audited" "$(audits)"

# ---- --json: one JSON document on stdout
run export --from "$D" --object Contact --yes --json
expect_rc "--json: exit 0" 0
python3 -c "import json,sys; d=json.load(open('$OUT')); sys.exit(0 if d['job']['status']=='submitted' else 1)" \
    && lk_pass "--json: the submitted job" || lk_fail "--json" "$(head -c 300 "$OUT")"
python3 -c "import json,sys; d=json.load(open('$OUT')); p=d['plan']; sys.exit(0 if p['incrementalTime']=='$DM1 00:00:00' and p['objects'][0]['name']=='Contact' and 'full' in p['objects'][0] else 1)" \
    && lk_pass "--json: the plan in the same document" || lk_fail "--json plan" "$(head -c 600 "$OUT")"

# ---- more than 30 days back on a terminal: the second question declined
before=$(submits)
D45=$(date -u -d '45 days ago' +%F)
printf 'y\nn\n' | script -qec "'$L' export --from $D45 --object Contact" "$T/typescript" >"$T/tty.out" 2>&1
RC=$?
expect_rc "second confirmation declined on a terminal: exit 3" 3
has "the terminal was asked about the long range" "$T/tty.out" "This exports 45 days of changes (more than 30)"
[ "$(submits)" = "$before" ] && lk_pass "declined: nothing sent" || lk_fail "declined: nothing sent" "$before -> $(submits)"
m=$(sql "SELECT result || ':' || message FROM lakeop.audit WHERE action = 'export.submit' ORDER BY id DESC LIMIT 1")
[ "$m" = "refused:export of more than 30 days not confirmed" ] && lk_pass "declined: audited" || lk_fail "declined audited" "$m"

# ---- a submit is never sent twice once Zuora may have received it
submit_with_fault() {   # NAME FAULT-JSON EXPECTED-RC SUBMITS-EXPECTED-AT-ZUORA
    before=$(submits)
    zuora_ctl POST /_control/fault "$2" >/dev/null
    run export --from "$D" --object Contact --yes
    expect_rc "$1: exit $3" "$3"
    [ "$(submits)" = $((before + $4)) ] && lk_pass "$1: $4 submit(s) reached Zuora" || lk_fail "$1: submits" "$before -> $(submits)"
}
submit_with_fault "502 on submit" '{"match":"POST /v1/batch-query","status":502,"times":1}' 1 1
has "502 on submit: says Zuora may have it and it was not resent" "$ERR" "Zuora may have received the export, so lakeop did not send it again"
[ "$(audits)" = "failed:$D:false" ] && lk_pass "502 on submit: audited as failed" || lk_fail "502 audited" "$(audits)"
submit_with_fault "connection cut on submit" '{"match":"POST /v1/batch-query","drop":true,"times":1}' 1 1
has "cut connection: says so" "$ERR" "did not send it again"
# A 429 is a refusal before any work: sent once more after Retry-After.
submit_with_fault "429 on submit" '{"match":"POST /v1/batch-query","status":429,"retry_after":1,"times":1}' 0 2
zuora_ctl DELETE /_control/fault >/dev/null

# ---- nothing half-stored
n=$(sql "SELECT count(*) FROM lakeop.zuora_jobs j WHERE NOT EXISTS (SELECT 1 FROM lakeop.zuora_batches b WHERE b.job_id = j.job_id)")
[ "$n" = 0 ] && lk_pass "every stored job has its batches" || lk_fail "jobs without batches" "$n"

lk_done
