#!/bin/sh
# lakeop jobs / job [--watch] against the Zuora double: token caching,
# 429 + Retry-After, 503 retried, 400 not, the time budget, truncated and
# malformed JSON, unknown jobs, the stored copy, watching to every ending;
# when a job ended (ended_at: set once, never moved by a later look) and
# the duration `jobs` shows from it.
. "$(dirname "$0")/../lib/common.sh"
. "$LK_ROOT/tests/lib/pg.sh"
. "$LK_ROOT/tests/lib/doubles.sh"
set -u

pg_start || exit 1
DB=$(pg_new_db zuora_jobs)
zuora_double_start --job-seconds 0 || exit 1
T=$(lk_tmpdir)
cat >"$T/config" <<EOF
[env "CODE"]
zuora.partner  = guardian-12357
zuora.project  = zuora-datalake-export-2
zuora.timezone = UTC

[object "Account"]
zoql  = SELECT Account.Id, Account.Name, Account.Balance FROM Account
raw   = file://$T/raw/Account.csv
stage = zuora_account

[object "Contact"]
zoql  = SELECT Contact.Id, Contact.FirstName FROM Contact
raw   = file://$T/raw/Contact.csv
stage = zuora_contact
EOF
chmod 600 "$T/config"
export LAKEOP_CONFIG="$T/config" LAKEOP_DATABASE_URL="$DB" LAKEOP_ZUORA_URL="$LK_ZUORA_URL" \
    LAKEOP_ZUORA_CLIENT_ID=lakeop-test LAKEOP_ZUORA_CLIENT_SECRET=s3cret
L=$LK_BIN
OUT=$T/out
ERR=$T/err

run() { "$L" "$@" >"$OUT" 2>"$ERR"; RC=$?; }
expect_rc() {   # NAME RC
    if [ "$RC" = "$2" ]; then lk_pass "$1"; else lk_fail "$1" "exit $RC, expected $2: $(head -c 600 "$ERR")"; fi
}
has() {   # NAME FILE TEXT
    if grep -qF -- "$3" "$2"; then lk_pass "$1"; else lk_fail "$1" "'$3' not in: $(head -c 800 "$2")"; fi
}
hasnt() {
    if grep -qF -- "$3" "$2"; then lk_fail "$1" "'$3' found in: $(head -c 800 "$2")"; else lk_pass "$1"; fi
}
stat_of() {   # python expression over d = /_control/stats
    zuora_ctl GET /_control/stats | python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"
}
gets() { stat_of "d['requests'].get('GET /v1/batch-query/jobs/$1', 0)"; }
sql() { psql -X -q -t -A "$DB" -c "$1"; }
fault() { zuora_ctl POST /_control/fault "$1" >/dev/null; }
now_ms() { python3 -c 'import time; print(int(time.time()*1000))'; }

# A job to look at: submitted from a date, completed at once.
run export --from "$(date -u -d '3 days ago' +%F)" --yes
expect_rc "export from a date" 0
J=$(sql "SELECT job_id FROM lakeop.zuora_jobs ORDER BY id DESC LIMIT 1")
[ -n "$J" ] && lk_pass "the submitted job is stored" || lk_fail "the submitted job is stored" "no row"

# ---- job: ask Zuora, store, print
run job "$J"
expect_rc "job: exit 0" 0
has "job: shows the job id" "$OUT" "$J"
has "job: batches with fileId" "$OUT" "completed"
has "job: batch names" "$OUT" "Contact"
n=$(sql "SELECT count(*) FROM lakeop.zuora_batches WHERE job_id = '$J' AND file_id IS NOT NULL AND status = 'completed'")
[ "$n" = 2 ] && lk_pass "job: both batches stored with their file ids" || lk_fail "job: batches stored" "$n"
origin=$(sql "SELECT origin FROM lakeop.zuora_jobs WHERE job_id = '$J'")
[ "$origin" = lakeop ] && lk_pass "job: a lookup keeps the origin 'lakeop'" || lk_fail "origin kept" "$origin"

run job "$J" --json
expect_rc "job --json: exit 0" 0
if python3 -c "import json,sys; d=json.load(open('$OUT')); sys.exit(0 if d['source']=='zuora' and d['outcome']=='completed' and d['job']['id']=='$J' and all('fileId' in b for b in d['job']['batches']) else 1)"; then
    lk_pass "job --json: one document with the job"
else
    lk_fail "job --json" "$(head -c 400 "$OUT")"
fi

# ---- jobs: newest first, paged by key
run export --from "$(date -u -d '2 days ago' +%F)" --yes
run jobs
expect_rc "jobs: exit 0" 0
has "jobs: lists the first job" "$OUT" "$J"
run jobs --limit 1 --json
first=$(python3 -c "import json; d=json.load(open('$OUT')); print(d['jobs'][0]['jobId'], d['nextBefore'])")
J2=$(sql "SELECT job_id FROM lakeop.zuora_jobs ORDER BY id DESC LIMIT 1")
case "$first" in "$J2 "[0-9]*) lk_pass "jobs --limit 1: the newest, with nextBefore" ;; *) lk_fail "jobs --limit 1" "$first" ;; esac
before=${first#* }
run jobs --before "$before" --json
python3 -c "import json,sys; d=json.load(open('$OUT')); sys.exit(0 if [j['jobId'] for j in d['jobs']]==['$J'] else 1)" \
    && lk_pass "jobs --before: the next page" || lk_fail "jobs --before" "$(cat "$OUT")"
run jobs --limit 0
expect_rc "jobs --limit 0: usage" 2

# ---- one token for many calls
t0=$(stat_of "d['tokens_issued']")
run job "$J" --watch --interval 2
expect_rc "watch a completed job: exit 0" 0
fault '{"match":"GET /v1/batch-query/jobs/","status":503,"times":2}'
run job "$J"
expect_rc "503 twice: retried, exit 0" 0
t1=$(stat_of "d['tokens_issued']")
[ $((t1 - t0)) -eq 2 ] && lk_pass "one token per process (2 processes, several calls)" || lk_fail "tokens" "$t0 -> $t1"

# ---- 429 + Retry-After honoured
before=$(gets "$J")
fault '{"match":"GET /v1/batch-query/jobs/","status":429,"retry_after":1,"times":1}'
s=$(now_ms); run job "$J"; e=$(now_ms)
expect_rc "429 then 200: exit 0" 0
[ $((e - s)) -ge 1000 ] && lk_pass "Retry-After: 1 honoured (waited $((e - s)) ms)" || lk_fail "Retry-After honoured" "$((e - s)) ms"
after=$(gets "$J")
[ $((after - before)) -eq 2 ] && lk_pass "429: exactly one retry" || lk_fail "429 retry count" "$before -> $after"

# ---- 400 not retried
before=$(gets "$J")
fault '{"match":"GET /v1/batch-query/jobs/","status":400,"times":1}'
run job "$J"
expect_rc "400: exit 1" 1
after=$(gets "$J")
[ $((after - before)) -eq 1 ] && lk_pass "400: not retried" || lk_fail "400 not retried" "$before -> $after"
has "400: the remote's words" "$ERR" "HTTP 400"

# ---- the time budget: a Retry-After beyond it is not slept
fault '{"match":"GET /v1/batch-query/jobs/","status":429,"retry_after":600,"times":-1}'
s=$(now_ms); run job "$J"; e=$(now_ms)
zuora_ctl DELETE /_control/fault >/dev/null
expect_rc "429 storm: exit 1" 1
[ $((e - s)) -lt 10000 ] && lk_pass "budget respected: gave up in $((e - s)) ms" || lk_fail "budget" "$((e - s)) ms"
has "429 storm: says throttled" "$ERR" "throttling"

# ---- truncated and malformed JSON
fault '{"match":"GET /v1/batch-query/jobs/","truncate_after":40,"times":-1}'
run job "$J"
zuora_ctl DELETE /_control/fault >/dev/null
expect_rc "body cut short: exit 1" 1
has "body cut short: message" "$ERR" "body cut short: got 40 of"
fault '{"match":"GET /v1/batch-query/jobs/","malformed_json":true,"times":1}'
run job "$J"
expect_rc "malformed JSON: exit 1" 1
has "malformed JSON: message" "$ERR" "Zuora sent malformed JSON ("

# ---- a field of an unexpected type
fault "{\"match\":\"GET /v1/batch-query/jobs/\",\"status\":200,\"body\":{\"id\":\"$J\",\"status\":\"completed\",\"batches\":[{\"batchId\":\"b\",\"name\":\"Account\",\"status\":\"completed\",\"recordCount\":\"many\"}]},\"times\":1}"
run job "$J"
expect_rc "wrong type: exit 1" 1
has "wrong type: names the field" "$ERR" "field 'recordCount'"
n=$(sql "SELECT count(*) FROM lakeop.zuora_batches WHERE batch_id = 'b'")
[ "$n" = 0 ] && lk_pass "wrong type: nothing stored" || lk_fail "wrong type: nothing stored" "$n"

# ---- unknown job: 90002 on HTTP 200 → exit 4
run job 0123456789abcdef0123456789abcdef
expect_rc "unknown job: exit 4" 4
has "unknown job: says 90002" "$ERR" "90002"

# ---- Zuora forgot the job: the stored copy, with a note
zuora_ctl POST /_control/reset >/dev/null
run job "$J"
expect_rc "forgotten job: exit 0 from the history" 0
has "forgotten job: a note" "$ERR" "no longer knows job"
has "forgotten job: the stored batches" "$OUT" "Contact"

# ---- wrong credentials: clear message, secret never shown
LAKEOP_ZUORA_CLIENT_SECRET=wr0ng-s3cret-value run job "$J"
expect_rc "wrong credentials: exit 1" 1
has "wrong credentials: says so" "$ERR" "credentials"
hasnt "wrong credentials: the secret is not echoed" "$ERR" "wr0ng-s3cret-value"

# ---- watching to every ending
watch_job() {   # FATE-JSON → submits a job with that fate, sets W
    zuora_ctl POST /_control/job_fate "$1" >/dev/null
    if "$L" export --from "$(date -u -d '1 day ago' +%F)" --yes --json >"$T/sub.json" 2>"$T/sub.err"; then
        W=$(python3 -c "import json; print(json.load(open('$T/sub.json'))['job']['id'])")
    else
        W=none
        lk_fail "submit for $1" "$(cat "$T/sub.err")"
    fi
}
watch_job '{"job":"next","fate":"error"}'
s=$(now_ms); run job "$W" --watch --interval 2; e=$(now_ms)
expect_rc "stuck in error, no aborted batch: watch ends with exit 1" 1
has "stuck in error: the reason" "$ERR" "no batch says why"
[ $((e - s)) -lt 20000 ] && lk_pass "stuck in error: not watched forever" || lk_fail "stuck in error" "$((e - s)) ms"

watch_job '{"job":"next","fate":"aborted_batch","batch":"Account","message":"Query exceeded its time limit","job_status":"completed"}'
run job "$W" --watch --interval 2
expect_rc "completed job with an aborted batch: exit 1" 1
has "aborted batch: its message" "$OUT" "Query exceeded its time limit"
st=$(sql "SELECT status || ':' || coalesce(message, '') FROM lakeop.zuora_batches WHERE job_id = '$W' AND name = 'Account'")
[ "$st" = "aborted:Query exceeded its time limit" ] && lk_pass "aborted batch stored with its message" || lk_fail "aborted batch stored" "$st"

watch_job '{"job":"next","fate":"cancelled"}'
run job "$W" --watch --interval 2
expect_rc "cancelled job: exit 1" 1

# A 500 while polling: retried, the watch carries on to completion.
zuora_ctl POST /_control/reset >/dev/null
"$L" export --from "$(date -u -d '1 day ago' +%F)" --yes >/dev/null 2>&1
W=$(sql "SELECT job_id FROM lakeop.zuora_jobs ORDER BY id DESC LIMIT 1")
fault '{"match":"GET /v1/batch-query/jobs/","status":500,"times":1}'
run job "$W" --watch --interval 2
expect_rc "500 during polling: the watch completes, exit 0" 0

# A long watch in one process: one token, one request per interval.
watch_job '{"job":"next","fate":"stuck_executing"}'
t0=$(stat_of "d['tokens_issued']")
g0=$(gets "$W")
"$L" job "$W" --watch --interval 2 >"$OUT" 2>"$ERR" &
wpid=$!
sleep 7
running_end=$(sql "SELECT status || ':' || (ended_at IS NULL) FROM lakeop.zuora_jobs WHERE job_id = '$W'")
zuora_ctl POST /_control/job_fate "{\"job\":\"$W\",\"fate\":\"completed\"}" >/dev/null
wait $wpid; RC=$?
expect_rc "stuck executing, then completed: the watch ends with exit 0" 0
[ "$running_end" = "executing:true" ] && lk_pass "ended_at: none while the job runs" || lk_fail "ended_at while running" "$running_end"
t1=$(stat_of "d['tokens_issued']")
g1=$(gets "$W")
[ $((t1 - t0)) -eq 1 ] && lk_pass "one token for a whole watch" || lk_fail "one token for a watch" "$t0 -> $t1"
polls=$((g1 - g0))
[ "$polls" -ge 3 ] && [ "$polls" -le 6 ] && lk_pass "one request per interval ($polls polls in ~8 s at 2 s)" \
    || lk_fail "one request per interval" "$polls polls"

# ---- ended_at: the job's real duration, however often it is looked at
LW=$W
jobs_json() {   # the durationSeconds and endedAt of job $LW in `lakeop jobs --json`
    "$L" jobs --limit 100 --json | python3 -c "import json,sys; j=[x for x in json.load(sys.stdin)['jobs'] if x['jobId']=='$LW'][0]; print(j['durationSeconds'], j['endedAt'], j['startedAt'] is not None)"
}
end0=$(sql "SELECT extract(epoch FROM ended_at)::bigint FROM lakeop.zuora_jobs WHERE job_id = '$LW'")
took0=$(sql "SELECT floor(extract(epoch FROM ended_at - start_time))::int FROM lakeop.zuora_jobs WHERE job_id = '$LW'")
[ -n "$end0" ] && [ "$took0" -ge 6 ] && [ "$took0" -le 20 ] && lk_pass "ended_at: set when the watch saw the end (${took0} s after the start)" ||
    lk_fail "ended_at set at the end" "end '$end0', took '$took0'"
j0=$(jobs_json)
case "$j0" in "$took0 "*" True") lk_pass "jobs --json: durationSeconds = ended_at - startTime, with endedAt and startedAt" ;;
    *) lk_fail "jobs --json duration" "'$j0', expected $took0 s" ;; esac
sleep 2
run job "$LW"
run job "$LW" --json
end1=$(sql "SELECT extract(epoch FROM ended_at)::bigint || ':' || (updated_at > ended_at + interval '1 second') FROM lakeop.zuora_jobs WHERE job_id = '$LW'")
[ "$end1" = "$end0:true" ] && lk_pass "ended_at: not moved by later looks (updated_at is)" || lk_fail "ended_at moved" "$end0 -> $end1"
j1=$(jobs_json)
[ "$j1" = "$j0" ] && lk_pass "jobs --json: the duration does not grow when the job is looked at again" || lk_fail "duration grew" "$j0 -> $j1"
run jobs --limit 100
has "jobs: a TOOK column" "$OUT" "TOOK"
line=$(grep -F "$LW" "$OUT")
case "$line" in *" $took0 s "*) lk_pass "jobs: TOOK shows the run ($took0 s)" ;; *) lk_fail "jobs: TOOK" "$line" ;; esac
watch_job '{"job":"next","fate":"stuck_executing"}'
run job "$W"
run jobs --limit 100 --json
python3 -c "import json,sys; d=json.load(open('$OUT')); r=[j for j in d['jobs'] if j['jobId']=='$W']; sys.exit(0 if len(r)==1 and r[0]['status']=='executing' and r[0]['endedAt'] is None and 0 <= r[0]['durationSeconds'] < 60 else 1)" &&
    lk_pass "jobs --json: a running job has endedAt null and its duration so far" || lk_fail "running job json" "$(head -c 600 "$OUT")"

# A token revoked early: one 401, one fresh token, the watch carries on.
watch_job '{"job":"next","fate":"stuck_executing"}'
t0=$(stat_of "d['tokens_issued']")
"$L" job "$W" --watch --interval 2 >"$OUT" 2>"$ERR" &
wpid=$!
sleep 3
zuora_ctl POST /_control/expire_tokens '{}' >/dev/null
sleep 3
zuora_ctl POST /_control/job_fate "{\"job\":\"$W\",\"fate\":\"completed\"}" >/dev/null
wait $wpid; RC=$?
expect_rc "token expired mid-watch: refreshed, exit 0" 0
t1=$(stat_of "d['tokens_issued']")
[ $((t1 - t0)) -eq 2 ] && lk_pass "401: exactly one fresh token" || lk_fail "401 refresh" "$t0 -> $t1"

# ---- a watch's trouble: a 429 storm costs one request per poll; what no
# retry mends ends it at once in Zuora's words; a stuck job meets the ceiling
watch_job '{"job":"next","fate":"stuck_executing"}'
g0=$(gets "$W")
fault '{"match":"GET /v1/batch-query/jobs/","status":429,"retry_after":1,"times":-1}'
"$L" job "$W" --watch --interval 2 >"$OUT" 2>"$ERR" </dev/null &
wpid=$!
sleep 5
kill $wpid; wait $wpid 2>/dev/null
zuora_ctl DELETE /_control/fault >/dev/null
polls=$(( $(gets "$W") - g0 ))
[ "$polls" -le 2 ] && lk_pass "429 storm: one request per poll, not one per retry ($polls in 5 s)" || lk_fail "429 storm" "$polls requests"
has "429 storm: each failed poll said on stderr, without a terminal" "$ERR" "poll failed, retrying in"

g0=$(gets "$W")
fault '{"match":"GET /v1/batch-query/jobs/","status":200,"body":{"status":"error","errorCode":"90009","message":"You are not authorised to run AQuA"},"times":-1}'
s=$(now_ms); run job "$W" --watch --interval 2; e=$(now_ms)
zuora_ctl DELETE /_control/fault >/dev/null
expect_rc "90009 while watching: exit 1" 1
has "90009: Zuora's words" "$ERR" "You are not authorised to run AQuA"
has "90009: says why it stopped" "$ERR" "asking again would not help"
[ $(( $(gets "$W") - g0 )) -eq 1 ] && [ $((e - s)) -lt 5000 ] && lk_pass "90009: stopped at once (one request, $((e - s)) ms)" \
    || lk_fail "90009 at once" "$(( $(gets "$W") - g0 )) requests, $((e - s)) ms"

fault '{"match":"GET /v1/batch-query/jobs/","status":401,"times":-1}'
s=$(now_ms); run job "$W" --watch --interval 2; e=$(now_ms)
zuora_ctl DELETE /_control/fault >/dev/null
expect_rc "401 after a fresh token while watching: exit 1" 1
has "401: the credentials are named" "$ERR" "refused the credentials"
[ $((e - s)) -lt 5000 ] && lk_pass "401: stopped at once ($((e - s)) ms)" || lk_fail "401 at once" "$((e - s)) ms"

s=$(now_ms); LAKEOP_WATCH_CEILING=3 run job "$W" --watch --interval 2; e=$(now_ms)
expect_rc "stuck past the ceiling (LAKEOP_WATCH_CEILING=3): exit 1" 1
has "ceiling: says the job is stuck" "$ERR" "it is still executing, longer than Zuora lets a job run"
[ $((e - s)) -lt 8000 ] && lk_pass "ceiling: the watch ended ($((e - s)) ms)" || lk_fail "ceiling" "$((e - s)) ms"

lk_done
