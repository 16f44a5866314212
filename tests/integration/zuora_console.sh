#!/bin/sh
# The console's Jobs, Job detail and Export dialog, headless and scripted,
# against the Zuora double: submit an export from a date, follow it to
# completion on the Jobs screen, open its detail, watch, cancel.
. "$(dirname "$0")/../lib/common.sh"
. "$LK_ROOT/tests/lib/pg.sh"
. "$LK_ROOT/tests/lib/doubles.sh"
set -u

pg_start || exit 1
DB=$(pg_new_db zuora_console)
zuora_double_start --job-seconds 3 || exit 1
T=$(lk_tmpdir)
mkdir -p "$T/home"
zuora_two_objects_config "$T/config" "$DB" "$T/raw"
export LAKEOP_CONFIG="$T/config" HOME="$T/home" XDG_STATE_HOME="$T/home/state" ZSECRET=s3cret
unset LAKEOP_ENV XDG_CONFIG_HOME LAKEOP_DATABASE_URL LAKEOP_ZUORA_URL
L=$LK_BIN
D=$(date -u -d '5 days ago' +%F)
DM1=$(date -u -d '6 days ago' +%F)
sql() { psql -X -q -t -A "$DB" -c "$1"; }

"$L" jobs >/dev/null 2>&1 || { lk_fail "migrate" "lakeop jobs failed"; lk_done; exit 1; }
# An old job Zuora has forgotten, with an evil name, stored by the scheduled exporter.
sql "INSERT INTO lakeop.zuora_jobs (job_id, env, name, status, origin, submitted_at, last_json) VALUES
  ('0ld0000000000000000000000000000a', 'CODE', E'old\\x1b[31m', 'completed', 'scheduled', now() - interval '3 days',
   '{\"id\":\"0ld0000000000000000000000000000a\",\"status\":\"completed\",\"batches\":[{\"batchId\":\"0ldb\",\"name\":\"Account\",\"status\":\"completed\",\"recordCount\":7,\"full\":false,\"fileId\":\"0ldf\"}]}');
  INSERT INTO lakeop.zuora_batches (job_id, batch_id, name, status, record_count, file_id, full_load)
  VALUES ('0ld0000000000000000000000000000a', '0ldb', 'Account', 'completed', 7, '0ldf', false);" >/dev/null

run_script() {   # NAME: the script on stdin
    cat >"$T/$1.script"
    LAKEOP_HEADLESS=1 LINES=30 COLUMNS=160 TERM=xterm-256color LAKEOP_SCRIPT="$T/$1.script" \
        timeout 120 "$L" >"$T/$1.out" 2>"$T/$1.err"
    echo $? >"$T/$1.rc"
}
screen_has() {   # NAME FILE TEXT
    if [ -f "$2" ] && grep -qF -- "$3" "$2"; then lk_pass "$1"; else lk_fail "$1" "'$3' not in $2: $(cat "$2" 2>/dev/null | head -40)"; fi
}

# 1. Jobs, then e: an export from a date, confirmed; it opens the new job's detail.
run_script export <<EOF
:jobs
:save-display $T/jobs.txt
e
<C-u>2024-02-30<Enter>
:save-display $T/export-bad.txt
<C-u>$D<Enter>
:save-display $T/export-plan.txt
<Tab><Enter>
:save-display $T/job-submitted.txt
q
EOF
[ "$(cat "$T/export.rc")" = 0 ] && lk_pass "export script exits 0" || lk_fail "export script" "$(cat "$T/export.err")"
screen_has "Jobs lists the stored job" "$T/jobs.txt" "0ld0000000000000000000000000000a"
screen_has "Jobs shows the origin" "$T/jobs.txt" "scheduled"
screen_has "Jobs shows names inert" "$T/jobs.txt" "Account"
screen_has "Export dialog rejects 2024-02-30" "$T/export-bad.txt" "invalid --from '2024-02-30'"
screen_has "the plan: exact incrementalTime" "$T/export-plan.txt" "$DM1 00:00:00"
screen_has "the plan: full load of a new object" "$T/export-plan.txt" "full load: new object"
screen_has "the submitted job's detail opens" "$T/job-submitted.txt" "Job "
J=$(sql "SELECT job_id FROM lakeop.zuora_jobs WHERE origin = 'lakeop' ORDER BY id DESC LIMIT 1")
[ -n "$J" ] && lk_pass "the export was submitted and stored" || lk_fail "submitted" "no job"
a=$(sql "SELECT result || ' ' || target FROM lakeop.audit WHERE action = 'export.submit' ORDER BY id DESC LIMIT 1")
[ "$a" = "ok $J" ] && lk_pass "the console's submit is audited" || lk_fail "audited" "$a"
b=$(zuora_ctl GET "/_control/requests?path=/v1/batch-query/&method=POST" | python3 -c 'import json,sys; print(json.load(sys.stdin)["requests"][-1]["body"]["incrementalTime"])')
[ "$b" = "$DM1 00:00:00" ] && lk_pass "the console sent incrementalTime D-1" || lk_fail "incrementalTime" "$b"

# 2. The Jobs screen follows the job to completion (live polling), then its detail.
zuora_ctl POST /_control/advance '{"seconds": 10}' >/dev/null
run_script follow <<EOF
:jobs
:save-display $T/jobs-live-1.txt
r
:save-display $T/jobs-live-2.txt
<Enter>
:save-display $T/detail.txt
j
y
:save-display $T/detail-yank.txt
<Enter>
:save-display $T/batch.txt
<Esc>
<Esc>
j
<Enter>
:save-display $T/detail-old.txt
q
EOF
st=$(sql "SELECT status FROM lakeop.zuora_jobs WHERE job_id = '$J'")
screen_has "Jobs shows the completion" "$T/jobs-live-2.txt" "2/2 done"
[ "$st" = completed ] && lk_pass "the Jobs screen polled Zuora and stored the completion" || lk_fail "completion stored" "$st: $(cat "$T/follow.err")"
screen_has "detail: the job id" "$T/detail.txt" "Job $J"
screen_has "detail: batches with file ids" "$T/detail.txt" "completed"
screen_has "detail: Contact batch" "$T/detail.txt" "Contact"
screen_has "detail: y copies an id" "$T/detail-yank.txt" "copied file id"
screen_has "batch: raw JSON of the job" "$T/batch.txt" "\"batches\""
screen_has "forgotten job: the stored copy with a note" "$T/detail-old.txt" "Zuora no longer knows this job"
screen_has "forgotten job: name inert" "$T/detail-old.txt" "0ldf"
grep -q "$(printf '\033')" "$T"/*.txt && lk_fail "screens are inert" "an escape reached a dump" || lk_pass "screens are inert"

# 3. Cancel a running job from its detail (confirmed), audited.
zuora_ctl POST /_control/job_fate '{"job":"next","fate":"stuck_executing"}' >/dev/null
"$L" export --from "$D" --object Account --yes >/dev/null 2>&1
K=$(sql "SELECT job_id FROM lakeop.zuora_jobs WHERE origin = 'lakeop' ORDER BY id DESC LIMIT 1")
run_script cancel <<EOF
:job $K
X
:save-display $T/cancel-dialog.txt
<Tab><Enter>
:save-display $T/cancelled.txt
q
EOF
screen_has "cancel: a confirmation naming the job" "$T/cancel-dialog.txt" "$K"
screen_has "cancel: done" "$T/cancelled.txt" "cancelled"
a=$(sql "SELECT result FROM lakeop.audit WHERE action = 'export.cancel' AND target = '$K'")
[ "$a" = ok ] && lk_pass "cancel audited" || lk_fail "cancel audited" "$a"

# 4. More than 30 days back: the "Export a long range?" dialog, declined.
before=$(zuora_ctl GET "/_control/requests?path=/v1/batch-query/&method=POST" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["requests"]))')
D45=$(date -u -d '45 days ago' +%F)
run_script longrange <<EOF
:jobs
e
<C-u>$D45<Enter>
:save-display $T/long-plan.txt
<Tab><Enter>
:save-display $T/long-ask.txt
<Enter>
:save-display $T/long-declined.txt
q
EOF
screen_has "long range: the plan warns" "$T/long-plan.txt" "45 days back is more than 30"
screen_has "long range: a second dialog asks" "$T/long-ask.txt" "Export a long range?"
screen_has "long range: declined (focus on Cancel)" "$T/long-declined.txt" "export not submitted"
after=$(zuora_ctl GET "/_control/requests?path=/v1/batch-query/&method=POST" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["requests"]))')
[ "$after" = "$before" ] && lk_pass "long range declined: nothing sent" || lk_fail "long range declined" "$before -> $after"

# 5. A segmented full load: segments instead of a fileId, in lakeop job and Job detail.
G=5e90000000000000000000000000000a
zuora_ctl POST /_control/job "{\"id\":\"$G\",\"status\":\"completed\",\"version\":\"1.1\",\"batches\":[{\"batchId\":\"5e9b\",
  \"name\":\"Account\",\"status\":\"completed\",\"recordCount\":9,\"full\":true,\"message\":\"\",
  \"segments\":[\"5e9f1\",\"5e9f2\",\"5e9f3\"]}]}" >/dev/null
"$L" job "$G" >"$T/seg.out" 2>"$T/seg.err"
screen_has "lakeop job: the segments' file ids" "$T/seg.out" "3 segments: 5e9f1 5e9f2 5e9f3"
run_script segments <<EOF
:job $G
:save-display $T/seg-detail.txt
<Enter>
:save-display $T/seg-batch.txt
q
EOF
screen_has "Job detail: the segment count" "$T/seg-detail.txt" "3 segments"
screen_has "batch detail: each segment's file id" "$T/seg-batch.txt" "5e9f3"

for f in export follow cancel longrange segments; do
    if grep -q "ERROR: AddressSanitizer\|LeakSanitizer\|runtime error" "$T/$f.err"; then
        lk_fail "no sanitizer reports ($f)" "$(head -40 "$T/$f.err")"
    else
        lk_pass "no sanitizer reports ($f)"
    fi
done
lk_done
