#!/bin/sh
# lakeop clear against the Airflow double: the dry run first (never changes
# state), the preview with current states, the real clear with
# reset_dag_runs and its state changes, "nothing to clear", refusals
# (no terminal, read-only), the audit of each, an empty real response,
# 400/403/404, a run id that needs percent-encoding, Airflow unreachable.
. "$(dirname "$0")/../lib/common.sh"
. "$LK_ROOT/tests/lib/pg.sh"
. "$LK_ROOT/tests/lib/doubles.sh"
set -u

pg_start || exit 1
airflow_cli_env
DB=$(pg_new_db lakeop_airflow_clear)
export LAKEOP_DATABASE_URL="$DB"
# Slow tasks (moved by the virtual clock) so that states can be read before they move.
airflow_double_start --task-seconds 60 || exit 1
export LAKEOP_AIRFLOW_URL=$LK_AIRFLOW_URL LAKEOP_AIRFLOW_USER=ops LAKEOP_AIRFLOW_PASSWORD=pw
DAG=supporter_experience
R3='scheduled__2024-01-03T00:00:00+00:00'   # failed at zuora_account
R6='scheduled__2024-01-06T00:00:00+00:00'   # failed at zuora_subscription
R7='scheduled__2024-01-07T00:00:00+00:00'   # success, the latest

psql_q() { psql -X -qAt -h "$LK_PG_HOST" -p "$LK_PG_PORT" -U postgres -d lakeop_airflow_clear -c "$1"; }
fingerprint() { airflow_ctl GET /_control/state | python3 -c 'import json,sys; print(json.load(sys.stdin)["fingerprint"])'; }
# snap RUN: that run's state and its instances' (other runs may be moving on).
snap() {
    airflow_ctl GET /_control/state | python3 -c "
import json,sys
s=json.load(sys.stdin)
print(json.dumps([r for r in s['runs'] if r['dag_run_id']=='$1'] + sorted([t for t in s['task_instances'] if t['dag_run_id']=='$1'], key=lambda t: t['task_id']), sort_keys=True))"
}
# clears: the recorded clear bodies as JSON lines.
clears() {
    airflow_ctl GET "/_control/requests?path=/api/v1/dags/$DAG/clearTaskInstances&method=POST" |
        python3 -c 'import json,sys; [print(json.dumps(r["body"], sort_keys=True)) for r in json.load(sys.stdin)["requests"]]'
}
# st PY: evaluates PY with s = the double's state; ti(run, task) gives an instance, run(id) a run.
st() {
    airflow_ctl GET /_control/state >"$T/state"
    python3 -c "
import json,sys
s=json.load(open('$T/state'))
def ti(r,t,d='$DAG'): return [x for x in s['task_instances'] if x['dag_id']==d and x['dag_run_id']==r and x['task_id']==t][0]
def run(r,d='$DAG'): return [x for x in s['runs'] if x['dag_id']==d and x['dag_run_id']==r][0]
sys.exit(0 if ($1) else 1)"
}
check() {   # NAME PY
    if st "$2"; then lk_pass "$1"; else lk_fail "$1" "state check failed: $2"; fi
}

# ---- dry run: the preview, with states, changes nothing
fp0=$(fingerprint)
"$LK_BIN" clear zuora_account --run "$R3" --downstream --dry-run >"$T/out" 2>"$T/err"; rc=$?
[ "$rc" -eq 0 ] && lk_pass "dry run: exit 0" || lk_fail "dry run" "rc=$rc $(cat "$T/err")"
if grep -q '^11 task instances will re-run:' "$T/out" &&
   grep -q "^  $DAG  *zuora_account  *$R3  *failed" "$T/out" &&
   grep -q "^  $DAG  *zuora_rate_plan  *$R3  *upstream_failed" "$T/out" &&
   grep -q '^dry run: nothing was cleared' "$T/out"; then
    lk_pass "dry run: the list with DAG, task, run and current state"
else
    lk_fail "dry run: list" "$(cat "$T/out")"
fi
[ "$(fingerprint)" = "$fp0" ] && lk_pass "dry run: the server's state is unchanged" || lk_fail "dry run changed state" "fingerprint moved"
body=$(clears | tail -1)
want='{"dag_run_id": "scheduled__2024-01-03T00:00:00+00:00", "dry_run": true, "include_downstream": true, "include_future": false, "include_parentdag": false, "include_past": false, "include_subdags": false, "include_upstream": false, "only_failed": false, "only_running": false, "reset_dag_runs": true, "task_ids": ["zuora_account"]}'
[ "$body" = "$want" ] && lk_pass "dry run: every field explicit" || lk_fail "dry run body" "$body"
if [ -z "$(psql_q "SELECT to_regclass('lakeop.audit')")" ] || [ "$(psql_q "SELECT count(*) FROM lakeop.audit")" = 0 ]; then
    lk_pass "dry run: no audit record (nothing changed)"
else
    lk_fail "dry run audit" "$(psql_q "SELECT * FROM lakeop.audit")"
fi

"$LK_BIN" clear zuora_account --run "$R3" --downstream --dry-run --json >"$T/out" 2>"$T/err"
if python3 -c "
import json,sys; d=json.load(open('$T/out'))
ok = d['cleared'] is False and len(d['will_rerun'])==11 and d['options']['downstream'] is True and d['dag_run_id']=='$R3'
ok = ok and {x['task_id']:x['state'] for x in d['will_rerun']}['zuora_account']=='failed'
sys.exit(0 if ok else 1)"; then lk_pass "dry run --json"; else lk_fail "dry run --json" "$(head -c 500 "$T/out")"; fi

# ---- no terminal, no --yes: refused after the preview, nothing changes, audited
n_before=$(clears | wc -l)
"$LK_BIN" clear zuora_account --run "$R3" --downstream </dev/null >"$T/out" 2>"$T/err"; rc=$?
[ "$rc" -eq 3 ] && grep -q -- "--yes" "$T/err" && lk_pass "no terminal: refused (3), says --yes" || lk_fail "no terminal" "rc=$rc $(cat "$T/err")"
[ "$(fingerprint)" = "$fp0" ] && lk_pass "refused: state unchanged" || lk_fail "refused changed state" ""
[ "$(clears | wc -l)" -eq $((n_before + 1)) ] && clears | tail -1 | grep -q '"dry_run": true' &&
    lk_pass "refused: only the dry run was sent" || lk_fail "refused: requests" "$(clears | tail -2)"
row=$(psql_q "SELECT action || ' ' || result || ' ' || target || ' ' || jsonb_array_length(params->'task_instances') FROM lakeop.audit ORDER BY id DESC LIMIT 1")
[ "$row" = "stage.clear refused $DAG/$R3/zuora_account 11" ] && lk_pass "refused: audited with the list" || lk_fail "refused audit" "$row"

# ---- read-only: refused before anything is sent
n_before=$(clears | wc -l)
"$LK_BIN" --read-only clear zuora_account --run "$R3" --yes >"$T/out" 2>"$T/err"; rc=$?
[ "$rc" -eq 3 ] && [ "$(clears | wc -l)" -eq "$n_before" ] && lk_pass "read-only: refused (3), nothing sent" || lk_fail "read-only" "rc=$rc $(cat "$T/err")"
[ "$(psql_q "SELECT result FROM lakeop.audit ORDER BY id DESC LIMIT 1")" = refused ] && lk_pass "read-only: refusal audited" || lk_fail "read-only audit" ""
"$LK_BIN" --read-only clear zuora_account --run "$R3" --dry-run >"$T/out" 2>"$T/err"; rc=$?
[ "$rc" -eq 0 ] && lk_pass "read-only: a dry run is still allowed" || lk_fail "read-only dry run" "rc=$rc $(cat "$T/err")"

# ---- the real clear: zuora_account and downstream in the failed run
"$LK_BIN" clear zuora_account --run "$R3" --downstream --yes >"$T/out" 2>"$T/err"; rc=$?
[ "$rc" -eq 0 ] && lk_pass "clear: exit 0" || lk_fail "clear" "rc=$rc $(cat "$T/err")"
body=$(clears | tail -1)
[ "$body" = "$(echo "$want" | sed 's/"dry_run": true/"dry_run": false/')" ] && lk_pass "clear: real body, reset_dag_runs true" || lk_fail "clear body" "$body"
prev=$(clears | tail -2 | head -1)
[ "$prev" = "$want" ] && lk_pass "clear: a dry run came first" || lk_fail "clear: dry run first" "$prev"
grep -q '^cleared 11 task instances:' "$T/out" && lk_pass "clear: prints the touched instances" || lk_fail "clear output" "$(cat "$T/out")"
check "clear: instances have no state, the run is queued again" \
    "ti('$R3','zuora_account')['state'] is None and ti('$R3','supporter_product_data')['state'] is None and run('$R3')['state']=='queued'"
check "clear: other tasks and runs untouched" \
    "ti('$R3','zuora_product')['state']=='success' and run('$R6')['state']=='failed' and ti('$R6','zuora_subscription')['state']=='failed'"
row=$(psql_q "SELECT result || ' ' || jsonb_array_length(params->'task_instances') || ' ' || (params->>'include_downstream') || ' ' || (params->>'dry_run') FROM lakeop.audit WHERE action='stage.clear' ORDER BY id DESC LIMIT 1")
[ "$row" = "ok 11 true false" ] && lk_pass "clear: audited with the 11 instances touched" || lk_fail "clear audit" "$row"
row=$(psql_q "SELECT string_agg(e->>'task_id' || '=' || coalesce(e->>'state', 'null'), ',' ORDER BY e->>'task_id') FILTER (WHERE e->>'task_id' IN ('zuora_account', 'zuora_contact')) || ' ' || count(*) FILTER (WHERE e->>'state' IS NULL) FROM lakeop.audit, jsonb_array_elements(params->'task_instances') e WHERE action='stage.clear' AND id = (SELECT max(id) FROM lakeop.audit WHERE action='stage.clear')")
[ "$row" = "zuora_account=failed,zuora_contact=upstream_failed 0" ] && lk_pass "clear: the audit has each instance's state before the clear" || lk_fail "clear audit states" "$row"
lk_check "clear: lakeop audit --json shows the states" sh -c "'$LK_BIN' audit --json | python3 -c '
import json, sys
d = json.load(sys.stdin)
rows = d if isinstance(d, list) else d.get(\"entries\", d.get(\"rows\", []))
c = [r for r in rows if r[\"action\"] == \"stage.clear\" and r[\"result\"] == \"ok\"][0]
p = c[\"params\"] if isinstance(c[\"params\"], dict) else json.loads(c[\"params\"])
assert len(p[\"task_instances\"]) == 11 and all(t[\"state\"] in (\"failed\", \"upstream_failed\") for t in p[\"task_instances\"]), p
'"
# The cleared tasks run again on the double's clock.
airflow_ctl POST /_control/advance '{"seconds": 3600}' >/dev/null
check "clear: the cleared run re-runs to success" "run('$R3')['state']=='success' and ti('$R3','zuora_account')['state']=='success'"

# ---- nothing to clear: --only-failed on a successful run; no real clear sent
n_before=$(clears | wc -l)
"$LK_BIN" clear zuora_account --only-failed --downstream --yes >"$T/out" 2>"$T/err"; rc=$?
if [ "$rc" -eq 0 ] && grep -q "^nothing to clear" "$T/out" && grep -q "$R7" "$T/out"; then
    lk_pass "nothing to clear: says so, latest run by default, exit 0"
else
    lk_fail "nothing to clear" "rc=$rc $(cat "$T/out" "$T/err")"
fi
[ "$(clears | wc -l)" -eq $((n_before + 1)) ] && clears | tail -1 | grep -q '"dry_run": true' &&
    lk_pass "nothing to clear: no real clear sent" || lk_fail "nothing to clear: requests" "$(clears | tail -2)"

# ---- an empty real response: the dry run's list is what was touched
airflow_ctl POST /_control/empty_clear_response '{"enabled":true}' >/dev/null
"$LK_BIN" clear zuora_subscription --run "$R6" --downstream --yes --json >"$T/out" 2>"$T/err"; rc=$?
airflow_ctl POST /_control/empty_clear_response '{"enabled":false}' >/dev/null
if [ "$rc" -eq 0 ] && python3 -c "
import json,sys; d=json.load(open('$T/out'))
sys.exit(0 if d['cleared'] and d['list_from_dry_run'] and len(d['cleared_instances'])==5 else 1)"; then
    lk_pass "empty real response: the dry run's list is reported"
else
    lk_fail "empty response" "rc=$rc $(head -c 600 "$T/out") $(cat "$T/err")"
fi
check "empty real response: the clear still happened" "run('$R6')['state']=='queued' and ti('$R6','zuora_subscription')['state'] is None"
row=$(psql_q "SELECT jsonb_array_length(params->'task_instances') || ' ' || message FROM lakeop.audit WHERE action='stage.clear' ORDER BY id DESC LIMIT 1")
case "$row" in "5 cleared 5 task instances (Airflow listed none"*) lk_pass "empty real response: audit lists the dry run's 5" ;; *) lk_fail "empty response audit" "$row" ;; esac

# ---- a run id that needs percent-encoding
odd='manual__x/y z?q#h+1:2'
curl -sS -u ops:pw -H 'Content-Type: application/json' -d '{"dag_run_id":"manual__x/y z?q#h+1:2","logical_date":"2025-02-01T00:00:00+00:00"}' \
    "$LK_AIRFLOW_URL/api/v1/dags/$DAG/dagRuns" >/dev/null
airflow_ctl POST /_control/set_state "{\"dag\":\"$DAG\",\"run\":\"$odd\",\"task\":\"zuora_product\",\"state\":\"failed\"}" >/dev/null
"$LK_BIN" clear zuora_product --run "$odd" --dry-run >"$T/out" 2>"$T/err"; rc=$?
if [ "$rc" -eq 0 ] && grep -q "zuora_product  *manual__x/y z?q#h+1:2  *failed" "$T/out"; then
    lk_pass "odd run id: percent-encoded and found"
else
    lk_fail "odd run id" "rc=$rc $(cat "$T/out" "$T/err")"
fi

# ---- not found: DAG, task, run
out=$("$LK_BIN" clear zuora_account --dag nosuch --dry-run 2>&1); rc=$?
[ "$rc" -eq 4 ] && printf '%s' "$out" | grep -q "no DAG nosuch" && lk_pass "unknown DAG: 4" || lk_fail "unknown DAG" "rc=$rc $out"
out=$("$LK_BIN" clear no_such_task --dry-run 2>&1); rc=$?
[ "$rc" -eq 4 ] && printf '%s' "$out" | grep -q "has no task no_such_task" && lk_pass "unknown task: 4" || lk_fail "unknown task" "rc=$rc $out"
# Airflow answers an unknown task with an empty list, not 404: lakeop names
# it from the task list before asking, and sends no clear at all.
n0=$(clears | wc -l)
out=$("$LK_BIN" clear no_such_task --yes 2>&1); rc=$?
[ "$rc" -eq 4 ] && printf '%s' "$out" | grep -q "has no task no_such_task" && [ "$(clears | wc -l)" = "$n0" ] &&
    lk_pass "unknown task: named by lakeop, no clear sent" || lk_fail "unknown task, real" "rc=$rc $out"
out=$("$LK_BIN" clear zuora_account --run scheduled__1999-01-01T00:00:00+00:00 --yes 2>&1); rc=$?
[ "$rc" -eq 4 ] && printf '%s' "$out" | grep -q "DAGRun with DAG ID" && lk_pass "unknown run: 4 with the server's words" || lk_fail "unknown run" "rc=$rc $out"

# ---- the server's 400 (an invalid combination), shown as written
airflow_ctl POST /_control/fault "{\"match\":\"POST /api/v1/dags/$DAG/clearTaskInstances\",\"status\":400,\"body\":{\"type\":\"x\",\"title\":\"Bad Request\",\"status\":400,\"detail\":\"{'_schema': ['only_failed and only_running both are set to True']}\"}}" >/dev/null
out=$("$LK_BIN" clear zuora_account --run "$R7" --dry-run 2>&1); rc=$?
airflow_ctl DELETE /_control/fault >/dev/null
if [ "$rc" -eq 1 ] && printf '%s' "$out" | grep -q "rejected" &&
   printf '%s' "$out" | grep -qF "{'_schema': ['only_failed and only_running both are set to True']}"; then
    lk_pass "400: exit 1 with the server's detail as written"
else
    lk_fail "400" "rc=$rc $out"
fi

# ---- missing permission: the viewer may not clear
fp1=$(snap "$R7")
out=$(LAKEOP_AIRFLOW_USER=viewer "$LK_BIN" clear zuora_account --run "$R7" --yes 2>&1); rc=$?
if [ "$rc" -eq 1 ] && printf '%s' "$out" | grep -q "user viewer lacks the permission" && [ "$(snap "$R7")" = "$fp1" ]; then
    lk_pass "403: exit 1 naming the missing permission"
else
    lk_fail "403" "rc=$rc $out"
fi

# ---- wrong password
out=$(LAKEOP_AIRFLOW_PASSWORD=N0tThePassw0rd "$LK_BIN" clear zuora_account --yes 2>&1); rc=$?
if [ "$rc" -eq 1 ] && printf '%s' "$out" | grep -q "refused the credentials for user ops (HTTP 401)" && ! printf '%s' "$out" | grep -q N0tThePassw0rd; then
    lk_pass "401: exit 1, user named, password hidden"
else
    lk_fail "401" "rc=$rc $out"
fi

# ---- unreachable: during the real clear (connection dropped), and a closed port
airflow_ctl POST /_control/fault "{\"match\":\"POST /api/v1/dags/$DAG/clearTaskInstances\",\"drop\":true,\"times\":-1}" >/dev/null
fp2=$(snap "$R7")
t0=$(date +%s)
out=$("$LK_BIN" clear zuora_account --run "$R7" --yes 2>&1); rc=$?
t1=$(date +%s)
airflow_ctl DELETE /_control/fault >/dev/null
[ "$rc" -eq 1 ] && [ $((t1 - t0)) -lt 30 ] && printf '%s' "$out" | grep -q "did not answer" && [ "$(snap "$R7")" = "$fp2" ] &&
    lk_pass "dropped connection: exit 1 in $((t1 - t0))s, nothing changed" || lk_fail "dropped" "rc=$rc $out"
# The dry run passes, the real clear's connection is dropped: a failed audit record.
airflow_ctl POST /_control/fault "[{\"match\":\"POST /api/v1/dags/$DAG/clearTaskInstances\",\"times\":1,\"delay_ms\":1},{\"match\":\"POST /api/v1/dags/$DAG/clearTaskInstances\",\"drop\":true,\"times\":-1}]" >/dev/null
out=$("$LK_BIN" clear zuora_account --run "$R7" --yes 2>&1); rc=$?
airflow_ctl DELETE /_control/fault >/dev/null
row=$(psql_q "SELECT result || ' ' || jsonb_array_length(params->'task_instances') FROM lakeop.audit WHERE action='stage.clear' ORDER BY id DESC LIMIT 1")
[ "$rc" -eq 1 ] && [ "$row" = "failed 1" ] && lk_pass "dropped during the real clear: exit 1, audited as failed" || lk_fail "dropped mid-clear" "rc=$rc row=$row $out"
port=$(lk_free_port)
out=$(LAKEOP_AIRFLOW_URL=http://127.0.0.1:$port "$LK_BIN" clear zuora_account --yes 2>&1); rc=$?
[ "$rc" -eq 1 ] && printf '%s' "$out" | grep -q "did not answer" && lk_pass "closed port: exit 1" || lk_fail "closed port" "rc=$rc $out"

# ---- usage
out=$("$LK_BIN" clear 2>&1); rc=$?
[ "$rc" -eq 2 ] && lk_pass "no task: usage (2)" || lk_fail "no task" "rc=$rc $out"
out=$("$LK_BIN" clear a b 2>&1); rc=$?
[ "$rc" -eq 2 ] && lk_pass "two tasks: usage (2)" || lk_fail "two tasks" "rc=$rc $out"
out=$("$LK_BIN" clear a --bogus 2>&1); rc=$?
[ "$rc" -eq 2 ] && lk_pass "unknown option: usage (2)" || lk_fail "unknown option" "rc=$rc $out"
lk_done
