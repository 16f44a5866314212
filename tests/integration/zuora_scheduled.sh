#!/bin/sh
# The scheduled exporter's jobs: lakeop never submitted them, yet they move
# the session.  `lakeop jobs` and every export plan fetch the session's last
# completed job into the history (origin scheduled), and afterLastIncrement
# judges by it.
. "$(dirname "$0")/../lib/common.sh"
. "$LK_ROOT/tests/lib/pg.sh"
. "$LK_ROOT/tests/lib/doubles.sh"
. "$LK_ROOT/tests/lib/s3.sh"
set -u

pg_start || exit 1
DB=$(pg_new_db zuora_scheduled)
zuora_double_start --job-seconds 0 || exit 1
airflow_double_start || exit 1
T=$(lk_tmpdir)
Q="SELECT Account.Id, Account.Name FROM Account"
cat >"$T/config" <<EOF2
[env "CODE"]
zuora.partner  = guardian-12357
zuora.project  = zuora-datalake-export-2
zuora.timezone = UTC
airflow.dag    = supporter_experience

[object "Account"]
zoql  = $Q
raw   = file://$T/raw/Account.csv
stage = zuora_account
EOF2
chmod 600 "$T/config"
export LAKEOP_CONFIG="$T/config" LAKEOP_DATABASE_URL="$DB" LAKEOP_ZUORA_URL="$LK_ZUORA_URL" \
    LAKEOP_ZUORA_CLIENT_ID=lakeop-test LAKEOP_ZUORA_CLIENT_SECRET=s3cret \
    LAKEOP_AIRFLOW_URL="$LK_AIRFLOW_URL" LAKEOP_AIRFLOW_USER=ops LAKEOP_AIRFLOW_PASSWORD=pw
. "$LK_ROOT/tests/lib/cli.sh"

# The scheduled exporter's job, as Zuora keeps it: lakeop has never seen it.
S=5c92c0f9725046a2017255f7d84e5a48
zuora_ctl POST /_control/job "{\"id\":\"$S\",\"name\":\"scheduled-export\",\"status\":\"completed\",
  \"version\":\"1.1\",\"format\":\"CSV\",\"encrypted\":\"none\",\"partner\":\"guardian-12357\",
  \"project\":\"zuora-datalake-export-2\",\"startTime\":\"2021-01-18T17:13:48+0000\",
  \"batches\":[{\"batchId\":\"5c92c0f9725046a2017255f7d8925a55\",\"name\":\"Account\",\"query\":\"$Q\",
  \"batchType\":\"zoqlexport\",\"apiVersion\":\"91.0\",\"status\":\"completed\",\"recordCount\":3,\"full\":false,
  \"message\":\"\",\"deleted\":{\"column\":\"IsDeleted\",\"format\":\"Boolean\"},\"fileId\":\"5c92c09472503749017255fc3c9379c8\"}]}" >/dev/null

run jobs
expect_rc "jobs: exit 0" 0
has "jobs: the scheduled exporter's job is listed" "$OUT" "$S"
[ "$(sql "SELECT origin || ':' || status FROM lakeop.zuora_jobs WHERE job_id = '$S'")" = "scheduled:completed" ] \
    && lk_pass "stored with origin scheduled" || lk_fail "origin scheduled" "$(sql "SELECT origin FROM lakeop.zuora_jobs")"
[ "$(sql "SELECT to_char(submitted_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS') FROM lakeop.zuora_jobs WHERE job_id = '$S'")" = "2021-01-18 17:13:48" ] \
    && lk_pass "its place in the history: when it started, not when lakeop heard of it" || lk_fail "submitted_at" "$(sql "SELECT submitted_at FROM lakeop.zuora_jobs")"
[ "$(sql "SELECT last_job_id FROM lakeop.increments WHERE object_name = 'Account'")" = "$S" ] \
    && lk_pass "it is Account's last increment" || lk_fail "increment" "$(sql "SELECT * FROM lakeop.increments")"

# afterLastIncrement: the scheduled increment was never copied → refused.
sql "DELETE FROM lakeop.zuora_jobs" >/dev/null
sql "DELETE FROM lakeop.increments" >/dev/null
before=$(submits)
run export --from afterLastIncrement --yes
expect_rc "afterLastIncrement after a scheduled job lakeop never saw: refused" 3
has "refusal names the scheduled job" "$ERR" "Account (its last increment (job $S) was never copied"
has "refusal says what the lake holds" "$ERR" "lakeop has no record of a copy, and file://$T/raw/metadata/Account.json does not exist"
[ "$(submits)" = "$before" ] && lk_pass "refused: nothing sent" || lk_fail "nothing sent" "$(submits)"

# Copied (by the scheduled pipeline) long ago, ingested since: allowed, and
# incremental because the scheduled job ran the same query.
sql "UPDATE lakeop.zuora_batches SET copied_at = '2000-01-01 00:00:00+00' WHERE job_id = '$S'" >/dev/null
run export --from afterLastIncrement --yes
expect_rc "its increment copied and ingested: allowed" 0
has "plan: incremental, from the scheduled job's query" "$OUT" "Account                  incremental"
full=$(zuora_ctl GET "/_control/jobs" | python3 -c "import json,sys; print([b['full'] for j in json.load(sys.stdin)['jobs'] if j['id'] != '$S' for b in j['batches']])")
[ "$full" = "[False]" ] && lk_pass "Zuora agrees: incremental" || lk_fail "double's full" "$full"

# Looked up by id first (origin lookup), then found to be the session's last job.
zuora_ctl POST /_control/reset >/dev/null
sql "DELETE FROM lakeop.zuora_batches; DELETE FROM lakeop.zuora_jobs; DELETE FROM lakeop.increments" >/dev/null
zuora_ctl POST /_control/job "{\"id\":\"$S\",\"status\":\"completed\",\"version\":\"1.1\",\"partner\":\"guardian-12357\",
  \"project\":\"zuora-datalake-export-2\",\"batches\":[{\"batchId\":\"b1\",\"name\":\"Account\",\"query\":\"$Q\",
  \"status\":\"completed\",\"recordCount\":1,\"fileId\":\"f1\"}]}" >/dev/null
run job "$S"
[ "$(sql "SELECT origin FROM lakeop.zuora_jobs WHERE job_id = '$S'")" = lookup ] && lk_pass "a job looked up by id: origin lookup" || lk_fail "lookup" "$(sql "SELECT origin FROM lakeop.zuora_jobs")"
run jobs
[ "$(sql "SELECT origin FROM lakeop.zuora_jobs WHERE job_id = '$S'")" = scheduled ] && lk_pass "then the session's last job: origin scheduled" || lk_fail "became scheduled" "$(sql "SELECT origin FROM lakeop.zuora_jobs")"

# Zuora unreachable: jobs still lists the history, with a note.
zuora_ctl POST /_control/fault '{"match":"GET /v1/batch-query/jobs/partner/","status":400,"times":1}' >/dev/null
run jobs
expect_rc "jobs with Zuora refusing: still exit 0" 0
has "jobs with Zuora refusing: a note" "$ERR" "showing the history as stored"
has "jobs with Zuora refusing: the history" "$OUT" "$S"
zuora_ctl DELETE /_control/fault >/dev/null

# ---- Copied by another tool (the scheduled exporter): lakeop has no record
# of the copy, the lake's metadata beside the raw target vouches for it.
zuora_ctl POST /_control/reset >/dev/null
sql "DELETE FROM lakeop.zuora_batches; DELETE FROM lakeop.zuora_jobs; DELETE FROM lakeop.increments" >/dev/null
S2=5c92c0f9725046a2017255f7d84e5b00
B2=5c92c0f9725046a2017255f7d8925b01
F2=5c92c09472503749017255fc3c937b02
zuora_ctl POST /_control/job "{\"id\":\"$S2\",\"name\":\"scheduled-export\",\"status\":\"completed\",
  \"version\":\"1.1\",\"format\":\"CSV\",\"encrypted\":\"none\",\"partner\":\"guardian-12357\",
  \"project\":\"zuora-datalake-export-2\",\"startTime\":\"2021-01-19T17:13:48+0000\",
  \"batches\":[{\"batchId\":\"$B2\",\"name\":\"Account\",\"query\":\"$Q\",\"status\":\"completed\",
  \"recordCount\":2,\"full\":false,\"fileId\":\"$F2\"}]}" >/dev/null
mkdir -p "$T/raw/metadata"
printf 'Account.Id,Account.Name,IsDeleted\nA1,One,false\nA2,Two,false\n' >"$T/raw/Account.csv"
M=$T/raw/metadata/Account.json
# meta JOB BATCH FILE WHEN: the metadata as ZUORA.md lays it out, last written WHEN.
meta() {
    printf '{\n  "jobId" : "%s",\n  "fileId" : "%s",\n  "batchId" : "%s",\n  "status" : "completed",\n  "name" : "Account",\n  "recordCount" : 2\n}' \
        "$1" "$3" "$2" >"$M"
    touch -d "$4" "$M"
}
refused() {
    before=$(submits)
    run export --from afterLastIncrement --yes
    expect_rc "$1: refused" 3
    has "$1: says what was found" "$ERR" "$2"
    [ "$(submits)" = "$before" ] && lk_pass "$1: nothing sent" || lk_fail "$1: nothing sent" "$(submits)"
}

O=5c92c0f9725046a2017255f7d84e5c99
meta "$O" b-other f-other "2001-01-01 00:00:00"
refused "metadata of another job" "$M is for job $O (batch b-other, file f-other), not for job $S2 (batch $B2)"

printf '{"jobId" : "%s", "batchId" : ' "$S2" >"$M"
refused "truncated metadata" "$M is not valid metadata: not JSON ("
printf '{"jobId" : 42, "batchId" : "%s"}' "$B2" >"$M"
refused "metadata with a number for jobId" "$M is not valid metadata: field 'jobId' of the metadata is an integer, expected a string"

meta "$S2" "$B2" "$F2" "2001-01-01 00:00:00"
mv "$T/raw/Account.csv" "$T/raw/Account.csv.away"
refused "the metadata without its CSV" "$M names it, but file://$T/raw/Account.csv does not exist"
mv "$T/raw/Account.csv.away" "$T/raw/Account.csv"
[ "$(sql "SELECT count(*) FROM lakeop.zuora_batches WHERE copied_at IS NOT NULL")" = 0 ] \
    && lk_pass "no copy recorded from what did not vouch for it" || lk_fail "nothing recorded" "$(sql "SELECT batch_id, copied_at FROM lakeop.zuora_batches")"

# Written after the stage last succeeded: the lake has not ingested it yet.
meta "$S2" "$B2" "$F2" "tomorrow"
refused "copied (in the lake) after the stage's last success" "not ingested yet"
has "the refusal says where the copy was found" "$ERR" "found in the lake, file://$M written"

# Written long before the stage's last success (found by its fileId alone):
# afterLastIncrement plans incremental and submits.
sql "DELETE FROM lakeop.zuora_batches; DELETE FROM lakeop.zuora_jobs; DELETE FROM lakeop.increments" >/dev/null
meta "$S2" "" "$F2" "2001-01-01 00:00:00"
# The console first: its Export dialog plans with the same code, and Job
# detail shows the recorded copy as found in the lake.
mkdir -p "$T/home"
cat >"$T/console.script" <<EOF2
:jobs
e
<C-u>afterLastIncrement<Enter>
:save-display $T/dialog-plan.txt
<Escape>
:job $S2
:save-display $T/detail.txt
q
EOF2
LAKEOP_HEADLESS=1 LINES=30 COLUMNS=200 TERM=xterm-256color LAKEOP_SCRIPT="$T/console.script" HOME="$T/home" \
    XDG_STATE_HOME="$T/home/state" timeout 120 "$L" >"$T/console.out" 2>"$T/console.err" </dev/null
has "Export dialog: the plan says the copy was found in the lake" "$T/dialog-plan.txt" "copy of job $S2 found in the lake"
has "Job detail: the batch's copy is in the lake" "$T/detail.txt" "in lake "
[ "$(submits)" = 0 ] && lk_pass "the dialog cancelled: nothing sent" || lk_fail "dialog sent" "$(submits)"
run export --from afterLastIncrement --yes
expect_rc "copied by another tool, then ingested: allowed" 0
has "plan: incremental" "$OUT" "Account                  incremental"
has "plan: the copy was found in the lake" "$OUT" "copy of job $S2 found in the lake: file://$M written 2001-01-01 00:00:00 UTC (by the scheduled exporter or another tool)"
[ "$(submits)" = 1 ] && lk_pass "submitted" || lk_fail "submitted" "$(submits)"
rec=$(sql "SELECT copied_to || '|' || metadata_key || '|' || to_char(copied_at AT TIME ZONE 'UTC', 'YYYY-MM-DD') || '|' || coalesce(copied_etag, 'no etag') || '|' || coalesce(copied_bytes::text, 'no bytes') FROM lakeop.zuora_batches WHERE batch_id = '$B2'")
[ "$rec" = "file://$T/raw/Account.csv|file://$M|2001-01-01|no etag|no bytes" ] \
    && lk_pass "recorded on the batch: where and when, without bytes or ETag" || lk_fail "recorded on the batch" "$rec"
[ "$(sql "SELECT count(*) FROM lakeop.copies")" = 0 ] \
    && lk_pass "not a copy of lakeop's: lakeop copy would still copy it" || lk_fail "lakeop.copies" "$(sql "SELECT * FROM lakeop.copies")"

# ---- The same on S3 (s3rver): the scheduled exporter's objects put with the
# aws CLI; the copy's time is the metadata's Last-Modified.
s3rver_start || { lk_fail "s3rver" "did not start"; lk_done; exit 1; }
lk_aws "$LK_S3RVER_URL" s3 mb s3://raw-sched >/dev/null
sed "s|^raw   = .*|raw   = s3://raw-sched/Account.csv|" "$T/config" >"$T/config-s3"
chmod 600 "$T/config-s3"
zuora_ctl POST /_control/reset >/dev/null
sql "DELETE FROM lakeop.zuora_batches; DELETE FROM lakeop.zuora_jobs; DELETE FROM lakeop.increments" >/dev/null
zuora_ctl POST /_control/job "{\"id\":\"$S2\",\"status\":\"completed\",\"version\":\"1.1\",\"partner\":\"guardian-12357\",
  \"project\":\"zuora-datalake-export-2\",\"startTime\":\"2021-01-19T17:13:48+0000\",
  \"batches\":[{\"batchId\":\"$B2\",\"name\":\"Account\",\"query\":\"$Q\",\"status\":\"completed\",
  \"recordCount\":2,\"full\":false,\"fileId\":\"$F2\"}]}" >/dev/null
s3run() { LAKEOP_CONFIG="$T/config-s3" LAKEOP_S3_ENDPOINT="$LK_S3RVER_URL" AWS_ACCESS_KEY_ID=S3RVER \
    AWS_SECRET_ACCESS_KEY=S3RVER AWS_REGION=$LK_S3_REGION run "$@"; }
lk_aws "$LK_S3RVER_URL" s3 cp "$T/raw/Account.csv" s3://raw-sched/Account.csv >/dev/null
meta "$O" b-other f-other "2001-01-01 00:00:00"
lk_aws "$LK_S3RVER_URL" s3 cp "$M" s3://raw-sched/metadata/Account.json >/dev/null
s3run export --from afterLastIncrement --yes
expect_rc "S3: metadata of another job: refused" 3
has "S3: names it" "$ERR" "s3://raw-sched/metadata/Account.json is for job $O"
meta "$S2" "$B2" "$F2" "2001-01-01 00:00:00"
lk_aws "$LK_S3RVER_URL" s3 cp "$M" s3://raw-sched/metadata/Account.json >/dev/null
# Just written: after the stage's last success in the double's world.
s3run export --from afterLastIncrement --yes
expect_rc "S3: copied after the stage's last success: refused" 3
has "S3: not ingested yet" "$ERR" "found in the lake, s3://raw-sched/metadata/Account.json written"
lm=$(lk_aws "$LK_S3RVER_URL" s3api head-object --bucket raw-sched --key metadata/Account.json --query LastModified --output text)
want=$(date -u -d "$lm" +%s)
got=$(sql "SELECT floor(extract(epoch FROM copied_at))::bigint FROM lakeop.zuora_batches WHERE batch_id = '$B2'")
[ "$got" = "$want" ] && lk_pass "S3: copied when the metadata was last modified" || lk_fail "S3: copied_at" "$got, expected $want ($lm)"

lk_done
