#!/bin/sh
# lakeop stages against the Airflow double: the tree (each task once, a
# marker for several parents), states in the chosen run (latest by
# default; null and "none" both "no state"), the runs list, --json, and the
# errors (404 DAG/run, 401, unreachable).
. "$(dirname "$0")/../lib/common.sh"
. "$LK_ROOT/tests/lib/doubles.sh"
set -u

airflow_cli_env
airflow_double_start || exit 1
export LAKEOP_AIRFLOW_URL=$LK_AIRFLOW_URL LAKEOP_AIRFLOW_USER=ops LAKEOP_AIRFLOW_PASSWORD=pw
DAG=supporter_experience

# jchk NAME PYTHON-EXPR: true for d = the JSON in $T/out.
jchk() {
    if r=$(python3 -c "import json,sys; d=json.load(open('$T/out')); sys.exit(0 if ($2) else 1)" 2>&1); then
        lk_pass "$1"
    else
        lk_fail "$1" "$r $(head -c 400 "$T/out")"
    fi
}

# ---- text: the tree of the latest run
"$LK_BIN" stages >"$T/out" 2>"$T/err"; rc=$?
[ "$rc" -eq 0 ] && lk_pass "stages: exit 0" || lk_fail "stages" "rc=$rc $(cat "$T/err")"
if head -1 "$T/out" | grep -q "^DAG $DAG, run scheduled__2024-01-07T00:00:00+00:00 (success"; then
    lk_pass "stages: default DAG and the latest run"
else
    lk_fail "stages: header" "$(head -1 "$T/out")"
fi
for t in zuora_account zuora_subscription zuora_rate_plan_charge supporter_product_data zuora_product; do
    n=$(grep -c " $t  \|^$t  \|─ $t  " "$T/out")
    [ "$n" -eq 1 ] || lk_fail "stages: $t once" "$n times"
done
lk_pass "stages: every task shown once"
if grep -q '└─ zuora_rate_plan_charge .*also after: zuora_subscription' "$T/out"; then
    lk_pass "stages: a task with two parents under the deeper one, marked with the other"
else
    lk_fail "stages: two parents" "$(grep rate_plan_charge "$T/out")"
fi
if grep -q '^   ├─ zuora_amendment ' "$T/out" && grep -q '^├─ zuora_contact ' "$T/out"; then
    lk_pass "stages: indentation by dependency"
else
    lk_fail "stages: indentation" "$(cat "$T/out")"
fi
if grep -q '^\* scheduled__2024-01-07T00:00:00+00:00 *success' "$T/out" &&
   grep -q '^  scheduled__2024-01-01T00:00:00+00:00' "$T/out"; then
    lk_pass "stages: runs list with the chosen run marked"
else
    lk_fail "stages: runs list" "$(tail -9 "$T/out")"
fi

# ---- --run, states, --json
R3='scheduled__2024-01-03T00:00:00+00:00'
"$LK_BIN" stages --run "$R3" --json >"$T/out" 2>"$T/err"; rc=$?
[ "$rc" -eq 0 ] || lk_fail "stages --json" "rc=$rc $(cat "$T/err")"
jchk "stages --json: the chosen run" 'd["run"]["dag_run_id"]=="'"$R3"'" and d["run"]["state"]=="failed"'
jchk "stages --json: 13 tasks, each once" 'len(d["tasks"])==13 and len({t["task_id"] for t in d["tasks"]})==13'
jchk "stages --json: states of that run" '{t["task_id"]:t["state"] for t in d["tasks"]}["zuora_account"]=="failed" and {t["task_id"]:t["state"] for t in d["tasks"]}["zuora_rate_plan"]=="upstream_failed" and {t["task_id"]:t["state"] for t in d["tasks"]}["zuora_product"]=="success"'
jchk "stages --json: upstream built from downstream ids" 'sorted([t for t in d["tasks"] if t["task_id"]=="supporter_product_data"][0]["upstream"])==["zuora_contact","zuora_invoice_item","zuora_product_rate_plan","zuora_rate_plan_charge","zuora_subscription"]'
jchk "stages --json: depth is the longest path" '[t for t in d["tasks"] if t["task_id"]=="supporter_product_data"][0]["depth"]==4'
jchk "stages --json: try numbers" '[t for t in d["tasks"] if t["task_id"]=="zuora_account"][0]["try_number"]==3'
jchk "stages --json: runs newest first" 'len(d["runs"])==7 and d["runs"][0]["dag_run_id"].startswith("scheduled__2024-01-07")'

"$LK_BIN" stages --dag cubic_ingest --run 'scheduled__2024-01-02T00:00:00+00:00' --json >"$T/out" 2>"$T/err"
jchk "stages: null and \"none\" are both no state" '{t["task_id"]:t["state"] for t in d["tasks"]}["ingest_edw_card"] is None and {t["task_id"]:t["state"] for t in d["tasks"]}["register_loads"] is None'
"$LK_BIN" stages --dag cubic_ingest --run 'scheduled__2024-01-02T00:00:00+00:00' >"$T/out" 2>"$T/err"
if grep -q 'ingest_edw_card *no state' "$T/out" && grep -q 'register_loads *no state' "$T/out"; then
    lk_pass "stages text: no state shown as such"
else
    lk_fail "stages text: no state" "$(cat "$T/out")"
fi

# ---- a DAG that never ran still shows its tree; LAKEOP_AIRFLOW_DAG picks the DAG
seed=$T/seed.json
printf '%s\n' '{"dags":[{"dag_id":"fresh","tasks":{"a":["b"],"b":[]},"runs":0}],' \
    '"states":[{"dag":"supporter_experience","run":"scheduled__2024-01-05T00:00:00+00:00","task":"zuora_account","state":"\u001b[31mred"}]}' >"$seed"
airflow_ctl POST /_control/reset >/dev/null
FIRST=$LK_AIRFLOW_URL
airflow_double_start --seed "$seed" || exit 1
out=$(LAKEOP_AIRFLOW_URL=$LK_AIRFLOW_URL LAKEOP_AIRFLOW_DAG=fresh "$LK_BIN" stages 2>&1); rc=$?
if [ "$rc" -eq 0 ] && printf '%s' "$out" | grep -q '^DAG fresh: no runs yet' && printf '%s' "$out" | grep -q '└─ b '; then
    lk_pass "stages: a DAG without runs shows its tree"
else
    lk_fail "stages: no runs" "rc=$rc $out"
fi
# A state with an escape sequence from the server is shown inert.
out=$(LAKEOP_AIRFLOW_URL=$LK_AIRFLOW_URL "$LK_BIN" stages --run 'scheduled__2024-01-05T00:00:00+00:00' 2>&1)
if printf '%s' "$out" | grep -q '\^\[\[31mred' && ! printf '%s' "$out" | grep -q "$(printf '\033')"; then
    lk_pass "stages: untrusted text shown inert"
else
    lk_fail "stages: inert" "$(printf '%s' "$out" | grep zuora_account | cat -v)"
fi
LK_AIRFLOW_URL=$FIRST

# ---- errors
out=$("$LK_BIN" stages --dag nosuch 2>&1); rc=$?
[ "$rc" -eq 4 ] && printf '%s' "$out" | grep -q "Airflow has no DAG nosuch" && lk_pass "stages: unknown DAG exits 4" || lk_fail "stages unknown DAG" "rc=$rc $out"
out=$("$LK_BIN" stages --run 'scheduled__1999-01-01T00:00:00+00:00' 2>&1); rc=$?
[ "$rc" -eq 4 ] && printf '%s' "$out" | grep -q "DAGRun with DAG ID" && lk_pass "stages: unknown run exits 4 with the server's words" || lk_fail "stages unknown run" "rc=$rc $out"
out=$(LAKEOP_AIRFLOW_PASSWORD=Sekr1tWrong "$LK_BIN" stages 2>&1); rc=$?
if [ "$rc" -eq 1 ] && printf '%s' "$out" | grep -q "refused the credentials for user ops (HTTP 401)" &&
   ! printf '%s' "$out" | grep -q Sekr1tWrong; then
    lk_pass "stages: wrong password exits 1, names the user, hides the password"
else
    lk_fail "stages 401" "rc=$rc $out"
fi
port=$(lk_free_port)
out=$(LAKEOP_AIRFLOW_URL=http://127.0.0.1:$port "$LK_BIN" stages 2>&1); rc=$?
[ "$rc" -eq 1 ] && printf '%s' "$out" | grep -q "did not answer" && lk_pass "stages: unreachable Airflow exits 1" || lk_fail "stages unreachable" "rc=$rc $out"
out=$("$LK_BIN" stages --runs x 2>&1); rc=$?
[ "$rc" -eq 2 ] && lk_pass "stages: bad --runs is a usage error" || lk_fail "stages --runs x" "rc=$rc $out"
out=$("$LK_BIN" stages extra 2>&1); rc=$?
[ "$rc" -eq 2 ] && lk_pass "stages: stray argument is a usage error" || lk_fail "stages extra" "rc=$rc $out"
lk_done
