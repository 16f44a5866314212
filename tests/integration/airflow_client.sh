#!/bin/sh
# core/airflow.h against the Airflow double: ping, paging by total_entries,
# the newest success of a task, trigger, pause, logs, auth and permission
# errors, 404s, an unreachable server.  The C driver is
# tests/integration/airflow_client.c (built by make san).
. "$(dirname "$0")/../lib/common.sh"
. "$LK_ROOT/tests/lib/doubles.sh"
set -u

C=$LK_ROOT/build/san/itests/airflow_client
[ -x "$C" ] || { echo "not ok - build/san/itests/airflow_client missing: run make san"; exit 1; }
airflow_double_start --runs 150 || exit 1
export LAKEOP_AIRFLOW_URL=$LK_AIRFLOW_URL LAKEOP_AIRFLOW_USER=ops LAKEOP_AIRFLOW_PASSWORD=pw
T=$(lk_tmpdir)
DAG=supporter_experience

state() { airflow_ctl GET /_control/state; }

# ---- ping
out=$("$C" ping 2>&1)
case "$out" in "ok version="*) lk_pass "ping answers" ;; *) lk_fail "ping answers" "$out" ;; esac
out=$(LAKEOP_AIRFLOW_PASSWORD=Wr0ngPassw0rd "$C" ping 2>&1); rc=$?
case "$out" in
    *"Airflow refused the credentials for user ops (HTTP 401)"*) lk_pass "ping: wrong password is 401 naming the user" ;;
    *) lk_fail "ping: wrong password is 401 naming the user" "$out" ;;
esac
case "$out" in *Wr0ngPassw0rd*) lk_fail "ping: the password is never shown" "$out" ;; *) lk_pass "ping: the password is never shown" ;; esac
[ "$rc" -eq 1 ] && lk_pass "ping: 401 fails with status 1" || lk_fail "ping: 401 fails with status 1" "rc=$rc"

# ---- paging over more than 100 runs (the server cuts limit to 100)
"$C" runs $DAG >"$T/runs" 2>&1
if head -1 "$T/runs" | grep -qx 'count 150'; then lk_pass "runs: all 150 over two pages"; else lk_fail "runs: all 150" "$(head -3 "$T/runs")"; fi
if [ "$(sed -n 2p "$T/runs" | cut -d' ' -f1)" = "scheduled__2024-05-29T00:00:00+00:00" ] &&
   [ "$(tail -1 "$T/runs" | cut -d' ' -f1)" = "scheduled__2024-01-01T00:00:00+00:00" ]; then
    lk_pass "runs: newest first"
else
    lk_fail "runs: newest first" "$(sed -n 2p "$T/runs"); $(tail -1 "$T/runs")"
fi
if [ "$(sed 1d "$T/runs" | cut -d' ' -f1 | sort -u | wc -l)" -eq 150 ]; then lk_pass "runs: no run twice"; else lk_fail "runs: no run twice" "duplicates"; fi
offsets=$(airflow_ctl GET "/_control/requests?path=/api/v1/dags/$DAG/dagRuns&method=GET" |
    python3 -c 'import json,sys; print(" ".join(r["query"].get("offset",["?"])[0] if isinstance(r["query"],dict) else r["query"] for r in json.load(sys.stdin)["requests"]))')
case "$offsets" in
    *0*100*) lk_pass "runs: paged by offset 0, 100" ;;
    *) lk_fail "runs: paged by offset 0, 100" "$offsets" ;;
esac
out=$("$C" runs $DAG 5 | head -1)
[ "$out" = "count 5" ] && lk_pass "runs: a maximum stops paging early" || lk_fail "runs: a maximum" "$out"

# ---- last success: the newest end_date of a success instance over all runs
want=$(state | python3 -c '
import json,sys,datetime
s=json.load(sys.stdin)
ends=[datetime.datetime.fromisoformat(t["end_date"]).timestamp() for t in s["task_instances"]
      if t["dag_id"]=="supporter_experience" and t["task_id"]=="zuora_account" and t["state"]=="success" and t["end_date"]]
print(int(max(ends)) if ends else 0)')
got=$("$C" last_success $DAG zuora_account)
[ "$got" = "$want" ] && [ "$got" != 0 ] && lk_pass "last_success: newest success ($got)" || lk_fail "last_success" "got $got want $want"
# An older run re-run and succeeded later than every other: still found.
old='scheduled__2024-01-02T00:00:00+00:00'
airflow_ctl POST /_control/set_state "{\"dag\":\"$DAG\",\"run\":\"$old\",\"task\":\"zuora_account\",\"state\":\"failed\"}" >/dev/null
got2=$("$C" last_success $DAG zuora_account)
[ "$got2" = "$want" ] && lk_pass "last_success: a failure in an older run changes nothing" || lk_fail "last_success after failure" "$got2 vs $want"
out=$("$C" last_success $DAG no_such_task); rc=$?
[ "$rc" -eq 4 ] && case "$out" in *"no task no_such_task"*) true ;; *) false ;; esac &&
    lk_pass "last_success: unknown task is not found (4)" || lk_fail "last_success unknown task" "rc=$rc $out"
seed=$T/seed.json
cat >"$seed" <<'EOF'
{"dags":[{"dag_id":"never_ran","tasks":{"only":[]},"runs":0}]}
EOF
FIRST=$LK_AIRFLOW_URL
airflow_double_start --seed "$seed" || exit 1
out=$(LAKEOP_AIRFLOW_URL=$LK_AIRFLOW_URL "$C" last_success never_ran only)
LK_AIRFLOW_URL=$FIRST
[ "$out" = 0 ] && lk_pass "last_success: never succeeded is 0" || lk_fail "last_success never" "$out"

# ---- 404s name what is missing
out=$("$C" runs nosuch); rc=$?
[ "$rc" -eq 4 ] && case "$out" in *"no DAG nosuch"*"DAG not found"*) true ;; *) false ;; esac &&
    lk_pass "unknown DAG: 4 with the server's words" || lk_fail "unknown DAG" "rc=$rc $out"
out=$("$C" tis $DAG 'scheduled__1999-01-01T00:00:00+00:00'); rc=$?
[ "$rc" -eq 4 ] && case "$out" in *"DAG run scheduled__1999-01-01T00:00:00+00:00 of DAG $DAG"*"not found"*) true ;; *) false ;; esac &&
    lk_pass "unknown run: 4 naming the run" || lk_fail "unknown run" "rc=$rc $out"

# ---- states: null and "none" are both "no state"
out=$("$C" tis cubic_ingest 'scheduled__2024-01-02T00:00:00+00:00')
if echo "$out" | grep -qx 'ingest_edw_card - [0-9]*' && echo "$out" | grep -qx 'register_loads - [0-9]*'; then
    lk_pass "task states null and \"none\" both read as no state"
else
    lk_fail "no state" "$out"
fi
if [ "$(echo "$out" | cut -d' ' -f1 | tr '\n' ' ')" = "ingest_edw_card ingest_edw_sample register_loads wait_for_files " ]; then
    lk_pass "task instances sorted on the client"
else
    lk_fail "task instances sorted" "$out"
fi

# ---- trigger: 200 with a queued manual run; a second with the same logical date is 409
out=$("$C" trigger cubic_ingest '{"reason":"test"}')
case "$out" in "manual__"*" queued") lk_pass "trigger: a queued manual run" ;; *) lk_fail "trigger" "$out" ;; esac
run_id=${out% queued}
conf=$(airflow_ctl GET "/_control/requests?path=/api/v1/dags/cubic_ingest/dagRuns&method=POST" |
    python3 -c 'import json,sys; print(json.dumps(json.load(sys.stdin)["requests"][-1]["body"], sort_keys=True))')
[ "$conf" = '{"conf": {"reason": "test"}}' ] && lk_pass "trigger: body carries conf" || lk_fail "trigger body" "$conf"
out=$("$C" trigger cubic_ingest '[1]'); rc=$?
[ "$rc" -eq 2 ] && lk_pass "trigger: a conf that is not an object is refused before sending" || lk_fail "trigger conf" "rc=$rc $out"
if state | python3 -c "import json,sys; s=json.load(sys.stdin); sys.exit(0 if any(r['dag_run_id']=='$run_id' for r in s['runs']) else 1)"; then
    lk_pass "trigger: the run exists on the server"
else
    lk_fail "trigger: run exists" "$run_id"
fi

# ---- pause / unpause
out=$("$C" pause cubic_ingest 1)
p=$(state | python3 -c 'import json,sys; print(json.load(sys.stdin)["dags"]["cubic_ingest"]["is_paused"])')
[ "$out" = "cubic_ingest paused=1" ] && [ "$p" = True ] && lk_pass "pause" || lk_fail "pause" "$out / $p"
out=$("$C" pause cubic_ingest 0)
p=$(state | python3 -c 'import json,sys; print(json.load(sys.stdin)["dags"]["cubic_ingest"]["is_paused"])')
[ "$out" = "cubic_ingest paused=0" ] && [ "$p" = False ] && lk_pass "unpause" || lk_fail "unpause" "$out / $p"
q=$(airflow_ctl GET "/_control/requests?path=/api/v1/dags/cubic_ingest&method=PATCH" |
    python3 -c 'import json,sys; r=json.load(sys.stdin)["requests"][-1]; print(r["query"], json.dumps(r["body"]))')
case "$q" in *update_mask*is_paused*'{"is_paused": false}') lk_pass "pause: update_mask=is_paused and the body" ;; *) lk_fail "pause request" "$q" ;; esac
out=$(LAKEOP_AIRFLOW_USER=viewer "$C" pause cubic_ingest 1); rc=$?
case "$out" in *"user viewer lacks the permission"*"403"*) lk_pass "pause as viewer: 403 missing permission" ;; *) lk_fail "pause as viewer" "rc=$rc $out" ;; esac

# ---- logs as plain text, 1-based tries
failed_run='scheduled__2024-01-03T00:00:00+00:00'
"$C" log $DAG "$failed_run" zuora_account 3 >"$T/log3"; rc=$?
if [ "$rc" -eq 0 ] && grep -q 'Starting attempt 3' "$T/log3"; then lk_pass "log: try 3 as text"; else lk_fail "log try 3" "rc=$rc $(head -3 "$T/log3")"; fi
acc=$(airflow_ctl GET "/_control/requests?prefix=/api/v1/dags/$DAG/dagRuns/" |
    python3 -c 'import json,sys; print([r for r in json.load(sys.stdin)["requests"] if r["path"].endswith("/zuora_account/logs/3")][-1]["accept"])')
[ "$acc" = "text/plain" ] && lk_pass "log: Accept text/plain" || lk_fail "log accept" "$acc"
out=$("$C" log $DAG "$failed_run" zuora_account 9); rc=$?
[ "$rc" -eq 4 ] && lk_pass "log: a try that did not happen is 404" || lk_fail "log try 9" "rc=$rc $out"
out=$("$C" log $DAG "$failed_run" zuora_account 0); rc=$?
[ "$rc" -eq 2 ] && lk_pass "log: try 0 refused (1-based)" || lk_fail "log try 0" "rc=$rc $out"

# ---- a run id that needs percent-encoding ('/', ' ', '?', '#', '+', ':')
odd='manual__a/b c?d#e+f:g'
curl -sS -u ops:pw -H 'Content-Type: application/json' -d "{\"dag_run_id\":\"manual__a/b c?d#e+f:g\",\"logical_date\":\"2025-01-01T00:00:00+00:00\"}" \
    "$LK_AIRFLOW_URL/api/v1/dags/$DAG/dagRuns" >/dev/null
out=$("$C" tis $DAG "$odd"); rc=$?
[ "$rc" -eq 0 ] && [ "$(echo "$out" | wc -l)" -eq 13 ] && lk_pass "run id with / ? # + : and a space reaches its run" || lk_fail "odd run id" "rc=$rc $out"
raw=$(airflow_ctl GET "/_control/requests?prefix=/api/v1/dags/$DAG/dagRuns/manual__a" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["requests"]))')
[ "$raw" -ge 1 ] && lk_pass "odd run id: one decoded path segment on the server" || lk_fail "odd run id path" "$raw"

# ---- unreachable: a closed port and a dropped connection fail fast and clearly
port=$(lk_free_port)
t0=$(date +%s)
out=$(LAKEOP_AIRFLOW_URL=http://127.0.0.1:$port "$C" runs $DAG); rc=$?
t1=$(date +%s)
[ "$rc" -eq 1 ] && [ $((t1 - t0)) -lt 20 ] && case "$out" in *"did not answer"*) true ;; *) false ;; esac &&
    lk_pass "unreachable: fails in $((t1 - t0))s saying so" || lk_fail "unreachable" "rc=$rc $((t1 - t0))s $out"
airflow_ctl POST /_control/fault '{"match":"GET /api/v1/dags/","drop":true,"times":-1}' >/dev/null
t0=$(date +%s)
out=$("$C" runs $DAG); rc=$?
t1=$(date +%s)
airflow_ctl DELETE /_control/fault >/dev/null
[ "$rc" -eq 1 ] && [ $((t1 - t0)) -lt 30 ] && lk_pass "dropped connections: clear error in $((t1 - t0))s" || lk_fail "dropped" "rc=$rc $out"
out=$(LAKEOP_AIRFLOW_URL= "$C" runs $DAG); rc=$?
[ "$rc" -eq 2 ] && case "$out" in *"LAKEOP_AIRFLOW_URL"*) true ;; *) false ;; esac &&
    lk_pass "no URL configured: usage error naming the setting" || lk_fail "no url" "rc=$rc $out"
lk_done
