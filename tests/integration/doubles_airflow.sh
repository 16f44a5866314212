#!/bin/sh
# The Airflow double checked against /work/shared/design/AIRFLOW.md and
# tests/doubles/README.md: every status code and shape it implements.
. "$(dirname "$0")/../lib/common.sh"
. "$LK_ROOT/tests/lib/doubles.sh"
set -u

# Long tasks moved by the virtual clock, so a loaded machine does not flake.
airflow_double_start --task-seconds 60 || exit 1
T=$(lk_tmpdir)
B=$T/body
H=$T/headers
AUTH=ops:pw
D=supporter_experience
R6='scheduled__2024-01-06T00:00:00+00:00'
R6E='scheduled__2024-01-06T00%3A00%3A00%2B00%3A00'

# a METHOD PATH [JSON]: body in $B, headers in $H, status in $S.
a() {
    if [ $# -ge 3 ]; then
        S=$(curl -sS -D "$H" -o "$B" -w '%{http_code}' -u "$AUTH" -X "$1" -H 'Accept: application/json' \
            -H 'Content-Type: application/json' --data-binary "$3" "$LK_AIRFLOW_URL/api/v1$2")
    else
        S=$(curl -sS -D "$H" -o "$B" -w '%{http_code}' -u "$AUTH" -X "$1" -H 'Accept: application/json' "$LK_AIRFLOW_URL/api/v1$2")
    fi
}
jchk() {
    if out=$(python3 -S -c "import json,re,sys; d=json.load(open('$B')); sys.exit(0 if ($2) else 1)" 2>&1); then
        lk_pass "$1"
    else
        lk_fail "$1" "status $S body $(head -c 700 "$B") $out"
    fi
}
scheck() {
    if [ "$S" = "$2" ]; then lk_pass "$1"; else lk_fail "$1" "status $S, expected $2: $(head -c 400 "$B")"; fi
}
problem() {  # NAME STATUS
    scheck "$1: $2" "$2"
    jchk "$1: Problem JSON" "set(d)=={'type','title','status','detail'} and d['status']==$2 and d['type'].startswith('https://airflow.apache.org/')"
    if grep -qi '^content-type: application/problem+json' "$H"; then lk_pass "$1: problem content type"; else lk_fail "$1: problem content type" "$(cat "$H")"; fi
}
advance() { airflow_ctl POST /_control/advance "{\"seconds\": $1}" >/dev/null; }
state() { airflow_ctl GET /_control/state >"$1"; }
clear() { a POST "/dags/$D/clearTaskInstances" "$1"; }

# ---- auth
AUTH=ops:wrong; a GET /dags
problem "wrong password" 401
jchk "401 detail is null" 'd["detail"] is None and d["title"]'
lk_check "401 carries WWW-Authenticate: Basic" grep -qi '^www-authenticate: basic' "$H"
S=$(curl -sS -o "$B" -w '%{http_code}' "$LK_AIRFLOW_URL/api/v1/dags"); scheck "no credentials: 401" 401
AUTH=viewer:pw; a GET /dags; scheck "viewer reads" 200
a PATCH "/dags/$D?update_mask=is_paused" '{"is_paused":true}'
problem "viewer changes" 403
AUTH=ops:pw

# ---- dags
a GET /dags
jchk "dags: active ones by default" 'd["total_entries"]==2 and [x["dag_id"] for x in d["dags"]]==["cubic_ingest","supporter_experience"]'
jchk "dags: shape" 'all(k in d["dags"][0] for k in ("dag_id","is_paused","is_active","description","schedule_interval","tags","next_dagrun","fileloc","owners")) and d["dags"][1]["tags"][0]=={"name":"zuora"}'
a GET '/dags?only_active=false'; jchk "dags: only_active=false" 'd["total_entries"]==3'
a GET '/dags?only_active=false&paused=true'; jchk "dags: paused filter" '[x["dag_id"] for x in d["dags"]]==["legacy_export"]'
a GET '/dags?dag_id_pattern=cubic'; jchk "dags: dag_id_pattern" '[x["dag_id"] for x in d["dags"]]==["cubic_ingest"]'
a GET '/dags?limit=1&offset=1'; jchk "dags: limit and offset" 'd["total_entries"]==2 and [x["dag_id"] for x in d["dags"]]==["supporter_experience"]'
a GET '/dags?limit=x'; problem "dags: bad limit" 400
a PATCH "/dags/cubic_ingest?update_mask=is_paused" '{"is_paused":true}'
jchk "pause: 200 with the DAG" 'd["dag_id"]=="cubic_ingest" and d["is_paused"] is True'
a GET '/dags?paused=true'; jchk "pause: visible in the list" '[x["dag_id"] for x in d["dags"]]==["cubic_ingest"]'
a PATCH "/dags/cubic_ingest?update_mask=is_paused" '{"is_paused":false,"bogus":1}'
problem "pause: unknown field" 400
jchk "pause: detail is a dict repr" "d['detail']==\"{'bogus': ['Unknown field.']}\""
a PATCH "/dags/cubic_ingest?update_mask=description" '{"is_paused":false}'
problem "pause: other update_mask" 400
a PATCH "/dags/nope?update_mask=is_paused" '{"is_paused":false}'
problem "pause: unknown DAG" 404
a PATCH "/dags/cubic_ingest?update_mask=is_paused" '{"is_paused":false}'
jchk "unpause" 'd["is_paused"] is False'

# ---- tasks
a GET "/dags/$D/tasks"
jchk "tasks: 12 zuora tasks and supporter_product_data" 'd["total_entries"]==13==len(d["tasks"]) and sum(t["task_id"].startswith("zuora_") for t in d["tasks"])==12'
jchk "tasks: downstream only, rate_plan_charge has two parents" '[t["task_id"] for t in d["tasks"] if "zuora_rate_plan_charge" in t["downstream_task_ids"]]==["zuora_subscription","zuora_rate_plan"] and all("upstream_task_ids" not in t for t in d["tasks"])'
jchk "tasks: shape" 'all(k in d["tasks"][0] for k in ("task_id","operator_name","downstream_task_ids","retries","trigger_rule","owner","class_ref"))'
a GET /dags/nope/tasks; problem "tasks: unknown DAG" 404

# ---- runs
a GET "/dags/$D/dagRuns?order_by=-execution_date"
jchk "runs: 7, newest first" 'd["total_entries"]==7 and d["dag_runs"][0]["dag_run_id"]=="scheduled__2024-01-07T00:00:00+00:00" and d["dag_runs"][-1]["dag_run_id"]=="scheduled__2024-01-01T00:00:00+00:00"'
jchk "runs: shape" 'all(set(("dag_run_id","dag_id","logical_date","execution_date","start_date","end_date","run_type","state","external_trigger","conf","note"))<=set(r) for r in d["dag_runs"])'
jchk "runs: mixed final states" 'sorted(set(r["state"] for r in d["dag_runs"]))==["failed","success"]'
a GET "/dags/$D/dagRuns?order_by=execution_date&limit=2&offset=1"
jchk "runs: ascending, paged" 'd["total_entries"]==7 and [r["dag_run_id"][11:21] for r in d["dag_runs"]]==["2024-01-02","2024-01-03"]'
a GET "/dags/$D/dagRuns?state=failed"
jchk "runs: state filter" 'd["total_entries"]==2 and all(r["state"]=="failed" for r in d["dag_runs"])'
a GET "/dags/$D/dagRuns?order_by=bogus"; problem "runs: bad order_by" 400
a GET "/dags/$D/dagRuns/$R6E"; jchk "run: percent-decoded run id" "d['dag_run_id']=='$R6'"
a GET "/dags/$D/dagRuns/nope"; problem "run: unknown" 404
jchk "run: 404 detail names DAG and run" "\"DAGRun with DAG ID: '$D' and DagRun ID: 'nope' not found\"==d['detail']"

# ---- task instances
a GET "/dags/$D/dagRuns/$R6E/taskInstances"
jchk "tis: all 13" 'd["total_entries"]==13==len(d["task_instances"])'
jchk "tis: not in task order (clients must sort)" '[t["task_id"] for t in d["task_instances"]]!=sorted(t["task_id"] for t in d["task_instances"])'
jchk "tis: shape" 'all(set(("task_id","dag_id","dag_run_id","execution_date","start_date","end_date","duration","state","try_number","map_index","max_tries","hostname","operator","queued_when"))<=set(t) for t in d["task_instances"])'
jchk "tis: failed with retries, upstream_failed downstream" '{t["task_id"]:(t["state"],t["try_number"]) for t in d["task_instances"]}["zuora_subscription"]==("failed",3) and {t["task_id"]:t["state"] for t in d["task_instances"]}["zuora_rate_plan_charge"]=="upstream_failed"'
a GET "/dags/$D/dagRuns/$R6E/taskInstances?state=upstream_failed&state=failed"
jchk "tis: state filter" 'd["total_entries"]==5 and {t["state"] for t in d["task_instances"]}=={"failed","upstream_failed"}'
a GET "/dags/$D/dagRuns/$R6E/taskInstances?limit=5&offset=10"
jchk "tis: paging" 'd["total_entries"]==13 and len(d["task_instances"])==3'
a GET "/dags/cubic_ingest/dagRuns/scheduled__2024-01-02T00%3A00%3A00%2B00%3A00/taskInstances"
jchk "tis: both null and \"none\" occur" '{t["task_id"]:t["state"] for t in d["task_instances"]}=={"wait_for_files":"success","ingest_edw_sample":"success","ingest_edw_card":"none","register_loads":None}'

# ---- logs
S=$(curl -sS -o "$B" -w '%{http_code}' -u "$AUTH" -H 'Accept: text/plain' "$LK_AIRFLOW_URL/api/v1/dags/$D/dagRuns/$R6E/taskInstances/zuora_subscription/logs/2")
scheck "logs: text/plain 200" 200
lk_check "logs: plain text with the attempt" sh -c "grep -q 'Starting attempt 2 of 3' '$B' && grep -q 'UP_FOR_RETRY' '$B' && ! grep -q '^{' '$B'"
S=$(curl -sS -o "$B" -w '%{http_code}' -u "$AUTH" -H 'Accept: text/plain' "$LK_AIRFLOW_URL/api/v1/dags/$D/dagRuns/$R6E/taskInstances/zuora_subscription/logs/4")
scheck "logs: a try that does not exist: 404" 404
a GET "/dags/$D/dagRuns/$R6E/taskInstances/zuora_account/logs/1"
jchk "logs: the JSON form wraps a Python repr" 'd["content"].startswith("[(") and "continuation_token" in d'

# ---- clear: validation
clear '{"task_ids":["zuora_account"],"only_failed":true,"only_running":true}'
problem "clear: only_failed and only_running" 400
clear '{"start_date":"2024-01-05T00:00:00+00:00","end_date":"2024-01-01T00:00:00+00:00"}'
problem "clear: start after end" 400
clear "{\"dag_run_id\":\"$R6\",\"start_date\":\"2024-01-01T00:00:00+00:00\"}"
problem "clear: dag_run_id with dates" 400
clear '{"task_ids":[]}'
problem "clear: empty task_ids" 400
jchk "clear: validation detail is a dict repr" "d['detail']==\"{'task_ids': ['Shorter than minimum length 1.']}\""
clear '{"task_ids":["zuora_account"],"bogus":true}'
problem "clear: unknown field" 400
clear '{"start_date":"2024-01-01T00:00:00"}'
problem "clear: naive date" 400
clear '{"dry_run":"no"}'
problem "clear: not a boolean" 400
a POST /dags/nope/clearTaskInstances '{}'; problem "clear: unknown DAG" 404
clear '{"dag_run_id":"nope"}'; problem "clear: unknown run" 404
clear "{\"dry_run\":false,\"dag_run_id\":\"$R6\",\"task_ids\":[\"no_such_task\"],\"only_failed\":false,\"reset_dag_runs\":true}"
jchk "clear: an unknown task is no error and clears nothing" 'd=={"task_instances":[]}'

# ---- clear: dry runs change nothing
state "$T/s0.json"
clear '{"task_ids":["zuora_subscription"]}'
jchk "clear defaults: dry run, only failed, every run" 'sorted(t["dag_run_id"][11:21] for t in d["task_instances"])==["2024-01-03","2024-01-06"] and set(d["task_instances"][0])=={"task_id","dag_id","execution_date","dag_run_id"}'
clear '{}'
FAILED=$(python3 -c "import json; print(sum(t['state'] in ('failed','upstream_failed') for t in json.load(open('$T/s0.json'))['task_instances'] if t['dag_id']=='$D'))")
jchk "clear {}: every failed/upstream_failed instance of every run" "len(d['task_instances'])==$FAILED==16 and {t['dag_run_id'][11:21] for t in d['task_instances']}=={'2024-01-03','2024-01-06'}"
clear "{\"dry_run\":true,\"dag_run_id\":\"$R6\",\"task_ids\":[\"supporter_product_data\"],\"include_upstream\":true,\"include_downstream\":false,\"only_failed\":false,\"only_running\":false,\"include_past\":false,\"include_future\":false,\"reset_dag_runs\":true}"
jchk "clear: upstream is transitive" 'sorted(t["task_id"] for t in d["task_instances"])==sorted(["supporter_product_data","zuora_rate_plan_charge","zuora_invoice_item","zuora_contact","zuora_product_rate_plan","zuora_subscription","zuora_rate_plan","zuora_account","zuora_invoice","zuora_product"])'
clear '{"dry_run":true,"dag_run_id":"scheduled__2024-01-04T00:00:00+00:00","task_ids":["zuora_account"],"only_failed":false,"include_past":true}'
jchk "clear: include_past opens the range backwards" 'sorted(t["dag_run_id"][11:21] for t in d["task_instances"])==["2024-01-01","2024-01-02","2024-01-03","2024-01-04"]'
clear '{"dry_run":true,"dag_run_id":"scheduled__2024-01-04T00:00:00+00:00","task_ids":["zuora_account"],"only_failed":false,"include_future":true}'
jchk "clear: include_future opens the range forwards" 'sorted(t["dag_run_id"][11:21] for t in d["task_instances"])==["2024-01-04","2024-01-05","2024-01-06","2024-01-07"]'
clear '{"dry_run":true,"start_date":"2024-01-02T00:00:00+00:00","end_date":"2024-01-03T00:00:00+00:00","task_ids":["zuora_account"],"only_failed":false}'
jchk "clear: date range" 'sorted(t["dag_run_id"][11:21] for t in d["task_instances"])==["2024-01-02","2024-01-03"]'
state "$T/s1.json"
lk_check "clear: dry runs leave the state fingerprint alone" python3 -c "import json; a=json.load(open('$T/s0.json')); b=json.load(open('$T/s1.json')); assert a['fingerprint']==b['fingerprint']"

# ---- clear: the UI's "this task and downstream in this run"
UI="{\"dry_run\": DRY, \"dag_run_id\": \"$R6\", \"task_ids\": [\"zuora_subscription\"], \"include_downstream\": true, \"include_upstream\": false, \"include_future\": false, \"include_past\": false, \"only_failed\": false, \"only_running\": false, \"include_subdags\": true, \"include_parentdag\": true, \"reset_dag_runs\": true}"
clear "$(echo "$UI" | sed 's/DRY/true/')"; cp "$B" "$T/dry.json"
clear "$(echo "$UI" | sed 's/DRY/false/')"
scheck "clear: real 200" 200
lk_check "clear: real answer lists what the dry run listed" python3 -c "import json; a=json.load(open('$T/dry.json')); b=json.load(open('$B')); assert a==b and sorted(t['task_id'] for t in a['task_instances'])==['supporter_product_data','zuora_amendment','zuora_rate_plan','zuora_rate_plan_charge','zuora_subscription'], (a,b)"
airflow_ctl GET "/_control/requests?path=/api/v1/dags/$D/clearTaskInstances" >"$B"
jchk "control: the exact clear body is recorded" 'd["requests"][-1]["body"]["dry_run"] is False and d["requests"][-1]["body"]["reset_dag_runs"] is True and d["requests"][-2]["body"]["dry_run"] is True'
a GET "/dags/$D/dagRuns/$R6E/taskInstances"
jchk "clear: cleared instances are null, tries bumped" '{t["task_id"]:(t["state"],t["max_tries"]) for t in d["task_instances"]}["zuora_subscription"]==(None,5) and {t["task_id"]:t["state"] for t in d["task_instances"]}["zuora_account"]=="success"'
a GET "/dags/$D/dagRuns/$R6E"; jchk "clear: reset_dag_runs queues the finished run" 'd["state"]=="queued" and d["end_date"] is None'
advance 20
a GET "/dags/$D/dagRuns/$R6E/taskInstances"
jchk "lifecycle: queued" '{t["task_id"]:t["state"] for t in d["task_instances"]}["zuora_subscription"]=="queued"'
advance 15
a GET "/dags/$D/dagRuns/$R6E/taskInstances"
jchk "lifecycle: running, try 4, downstream waits" '{t["task_id"]:(t["state"],t["try_number"]) for t in d["task_instances"]}["zuora_subscription"]==("running",4) and {t["task_id"]:t["state"] for t in d["task_instances"]}["zuora_rate_plan"] is None'
a GET "/dags/$D/dagRuns/$R6E"; jchk "lifecycle: run running" 'd["state"]=="running"'
advance 1000
a GET "/dags/$D/dagRuns/$R6E/taskInstances"
jchk "lifecycle: all success" 'all(t["state"]=="success" for t in d["task_instances"])'
a GET "/dags/$D/dagRuns/$R6E"; jchk "lifecycle: run success" 'd["state"]=="success" and d["end_date"]'
a GET "/dags/$D/dagRuns/$R6E/taskInstances/zuora_subscription/logs/4"
jchk "lifecycle: the new try has a log" '"Marking task as SUCCESS" in d["content"]'

# ---- clear without reset_dag_runs: nothing runs again
R3='scheduled__2024-01-03T00:00:00+00:00'
clear "{\"dry_run\":false,\"dag_run_id\":\"$R3\",\"task_ids\":[\"zuora_account\"],\"only_failed\":false,\"reset_dag_runs\":false}"
advance 1000
a GET "/dags/$D/dagRuns/scheduled__2024-01-03T00%3A00%3A00%2B00%3A00"
jchk "no reset: the finished run keeps its state" 'd["state"]=="failed"'
a GET "/dags/$D/dagRuns/scheduled__2024-01-03T00%3A00%3A00%2B00%3A00/taskInstances?state=none"
jchk "no reset: the cleared task stays null" '[t["task_id"] for t in d["task_instances"]]==["zuora_account"]'

# ---- running -> restarting; task fates; empty clear response
R5='scheduled__2024-01-05T00:00:00+00:00'
airflow_ctl POST /_control/set_state "{\"dag\":\"$D\",\"run\":\"$R5\",\"task\":\"zuora_invoice\",\"state\":\"running\"}" >/dev/null
R5E='scheduled__2024-01-05T00%3A00%3A00%2B00%3A00'
a GET "/dags/$D/dagRuns/$R5E/taskInstances/zuora_invoice"
N=$(python3 -c "import json; print(json.load(open('$B'))['try_number'])")
S=$(curl -sS -o "$B" -w '%{http_code}' -u "$AUTH" -H 'Accept: text/plain' "$LK_AIRFLOW_URL/api/v1/dags/$D/dagRuns/$R5E/taskInstances/zuora_invoice/logs/$N")
scheck "logs: the running try's log is served" 200
lk_check "logs: a running try's log is partial" sh -c "grep -q 'Starting attempt $N of' '$B' && ! grep -q 'Marking task' '$B'"
clear "{\"dry_run\":false,\"dag_run_id\":\"$R5\",\"task_ids\":[\"zuora_invoice\"],\"only_failed\":false,\"only_running\":true,\"reset_dag_runs\":false}"
jchk "only_running selects the running instance" '[t["task_id"] for t in d["task_instances"]]==["zuora_invoice"]'
a GET "/dags/$D/dagRuns/scheduled__2024-01-05T00%3A00%3A00%2B00%3A00/taskInstances?state=restarting"
jchk "clear: running becomes restarting" '[t["task_id"] for t in d["task_instances"]]==["zuora_invoice"]'
airflow_ctl POST /_control/task_fate "{\"dag\":\"$D\",\"run\":\"$R5\",\"task\":\"zuora_invoice\",\"state\":\"failed\"}" >/dev/null
clear "{\"dry_run\":false,\"dag_run_id\":\"$R5\",\"task_ids\":[\"zuora_invoice\"],\"include_downstream\":true,\"only_failed\":false,\"reset_dag_runs\":true}"
advance 1000
a GET "/dags/$D/dagRuns/scheduled__2024-01-05T00%3A00%3A00%2B00%3A00/taskInstances"
jchk "task_fate: fails, downstream upstream_failed" '{t["task_id"]:t["state"] for t in d["task_instances"]}["zuora_invoice"]=="failed" and {t["task_id"]:t["state"] for t in d["task_instances"]}["zuora_invoice_item"]=="upstream_failed"'
a GET "/dags/$D/dagRuns/scheduled__2024-01-05T00%3A00%3A00%2B00%3A00"; jchk "task_fate: run failed" 'd["state"]=="failed"'
airflow_ctl POST /_control/empty_clear_response '{"enabled":true}' >/dev/null
clear "{\"dry_run\":true,\"dag_run_id\":\"$R5\",\"task_ids\":[\"zuora_invoice\"],\"only_failed\":true}"
jchk "empty clear response: dry runs still list" 'len(d["task_instances"])==1'
clear "{\"dry_run\":false,\"dag_run_id\":\"$R5\",\"task_ids\":[\"zuora_invoice\"],\"only_failed\":true}"
jchk "empty clear response: real run answers []" 'd=={"task_instances":[]}'

# ---- trigger
a POST "/dags/$D/dagRuns" '{}'
scheck "trigger: 200 (not 201)" 200
jchk "trigger: queued manual run" 'd["state"]=="queued" and d["dag_run_id"].startswith("manual__") and d["run_type"]=="manual" and d["external_trigger"] is True'
RM=$(python3 -c "import json,urllib.parse; print(urllib.parse.quote(json.load(open('$B'))['dag_run_id'], safe=''))")
RMID=$(python3 -c "import json; print(json.load(open('$B'))['dag_run_id'])")
a POST "/dags/$D/dagRuns" "{\"dag_run_id\":\"$RMID\"}"
problem "trigger: duplicate run id" 409
a POST "/dags/$D/dagRuns" '{"conf":{"a":1},"bogus":1}'
problem "trigger: unknown field" 400
advance 2000
a GET "/dags/$D/dagRuns/$RM"; jchk "trigger: the run completes" 'd["state"]=="success"'

# ---- faults and controls
airflow_ctl POST /_control/fault '{"match":"GET /api/v1/dags/","status":503,"times":1}' >/dev/null
a GET "/dags/$D/dagRuns"; problem "fault: 503" 503
airflow_ctl POST /_control/fault '{"match":"GET /api/v1/dags/","drop":true}' >/dev/null
curl -sS -o /dev/null -u "$AUTH" "$LK_AIRFLOW_URL/api/v1/dags/$D/dagRuns" 2>/dev/null
rc=$?
if [ $rc -ne 0 ]; then lk_pass "fault: drop closes the connection (curl $rc)"; else lk_fail "fault: drop" "curl succeeded"; fi
a GET "/dags/$D/dagRuns"; scheck "fault: gone after its times" 200
airflow_ctl POST /_control/set_state "{\"dag\":\"$D\",\"run\":\"$R5\",\"state\":\"running\"}" >/dev/null
a GET "/dags/$D/dagRuns/scheduled__2024-01-05T00%3A00%3A00%2B00%3A00"; jchk "control: set_state of a run" 'd["state"]=="running"'
airflow_ctl POST /_control/reset '{}' >/dev/null
a GET "/dags/$D/dagRuns"; jchk "reset: back to the seed" 'd["total_entries"]==7'
state "$T/s2.json"
lk_check "reset: same fingerprint as at start" python3 -c "import json; a=json.load(open('$T/s0.json')); b=json.load(open('$T/s2.json')); assert a['fingerprint']==b['fingerprint']"

# ---- more runs than a page, a smaller maximum
airflow_double_start --runs 150 --maximum-page-limit 100 || exit 1
S=$(curl -sS -o "$B" -w '%{http_code}' -u "$AUTH" "$LK_AIRFLOW_URL/api/v1/dags/$D/dagRuns?limit=500&offset=20")
jchk "paging: limit above the maximum is cut to 100" 'd["total_entries"]==150 and len(d["dag_runs"])==100'
S=$(curl -sS -o "$B" -w '%{http_code}' -u "$AUTH" "$LK_AIRFLOW_URL/api/v1/dags/$D/dagRuns?offset=140")
jchk "paging: the last page" 'len(d["dag_runs"])==10'

# ---- a seed DAG with a default DAG's id replaces it, runs and instances too
cat >"$T/replace.json" <<'JSON'
{"dags":[{"dag_id":"supporter_experience","runs":4,"tasks":{"zuora_account":["zuora_product"],"zuora_product":[]}}]}
JSON
airflow_double_start --seed "$T/replace.json" || exit 1
S=$(curl -sS -o "$B" -w '%{http_code}' -u "$AUTH" "$LK_AIRFLOW_URL/api/v1/dags/$D/tasks")
jchk "seed: replaces the default DAG's tasks" 'sorted(t["task_id"] for t in d["tasks"])==["zuora_account","zuora_product"]'
S=$(curl -sS -o "$B" -w '%{http_code}' -u "$AUTH" "$LK_AIRFLOW_URL/api/v1/dags/$D/dagRuns")
jchk "seed: and its runs" 'd["total_entries"]==4'
S=200; airflow_ctl GET /_control/state >"$B"
jchk "seed: no task instance of the default shape is left" \
    'sorted({t["task_id"] for t in d["task_instances"] if t["dag_id"]=="supporter_experience"})==["zuora_account","zuora_product"] and sum(t["dag_id"]=="supporter_experience" for t in d["task_instances"])==8'
lk_done
