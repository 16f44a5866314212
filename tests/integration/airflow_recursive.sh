#!/bin/sh
# The recursive toggle (include_subdags and include_parentdag): a clear
# that reaches an ExternalTaskMarker follows it into the other DAG's run of
# the same logical date, there clearing the marked task and its downstream.
# The dry run lists both DAGs with their current states and changes
# nothing; the real clear resets both DAGs' runs; without recursive the
# other DAG is left alone.
. "$(dirname "$0")/../lib/common.sh"
. "$LK_ROOT/tests/lib/pg.sh"
. "$LK_ROOT/tests/lib/doubles.sh"
set -u

pg_start || exit 1
airflow_cli_env
DB=$(pg_new_db lakeop_airflow_recursive)
export LAKEOP_DATABASE_URL="$DB"
cat >"$T/seed.json" <<'JSON'
{"dags": [
  {"dag_id": "supporter_export", "runs": 7, "tasks": {"export_done": ["mark_reports"], "mark_reports": []},
   "markers": {"mark_reports": ["supporter_reports", "wait_for_export"]}},
  {"dag_id": "supporter_reports", "runs": 7,
   "tasks": {"wait_for_export": ["build_report"], "build_report": ["publish_report"], "publish_report": []}}
]}
JSON
airflow_double_start --task-seconds 60 --seed "$T/seed.json" || exit 1
export LAKEOP_AIRFLOW_URL=$LK_AIRFLOW_URL LAKEOP_AIRFLOW_USER=ops LAKEOP_AIRFLOW_PASSWORD=pw
R7='scheduled__2024-01-07T00:00:00+00:00'
fingerprint() { airflow_ctl GET /_control/state | python3 -c 'import json,sys; print(json.load(sys.stdin)["fingerprint"])'; }
psql_q() { psql -X -qAt -h "$LK_PG_HOST" -p "$LK_PG_PORT" -U postgres -d lakeop_airflow_recursive -c "$1"; }

lk_check "the marker task is an ExternalTaskMarker" sh -c "'$LK_BIN' stages --dag supporter_export --run '$R7' | grep -q 'mark_reports .*ExternalTaskMarker'"

fp0=$(fingerprint)
"$LK_BIN" clear export_done --dag supporter_export --run "$R7" --downstream --dry-run --json >"$T/plain.json" 2>"$T/err"
lk_check "without recursive: this DAG only" python3 - "$T/plain.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
got = [(x["dag_id"], x["task_id"], x["state"]) for x in d["will_rerun"]]
assert got == [("supporter_export", "export_done", "success"), ("supporter_export", "mark_reports", "success")], got
PY
"$LK_BIN" clear export_done --dag supporter_export --run "$R7" --downstream --recursive --dry-run --json >"$T/rec.json" 2>"$T/err"
lk_check "recursive dry run: the marked task and its downstream in the other DAG, with states" python3 - "$T/rec.json" "$R7" <<'PY'
import json, sys
d, run = json.load(open(sys.argv[1])), sys.argv[2]
got = sorted((x["dag_id"], x["task_id"], x["dag_run_id"], x["state"]) for x in d["will_rerun"])
want = sorted([("supporter_export", "export_done", run, "success"), ("supporter_export", "mark_reports", run, "success"),
               ("supporter_reports", "wait_for_export", run, "success"), ("supporter_reports", "build_report", run, "success"),
               ("supporter_reports", "publish_report", run, "success")])
assert got == want, got
PY
"$LK_BIN" clear export_done --dag supporter_export --run "$R7" --recursive --dry-run >"$T/rec.txt" 2>"$T/err"
lk_check "recursive without downstream: the marker is not selected, nothing crosses" sh -c "grep -q '1 task instance will re-run' '$T/rec.txt' && ! grep -q supporter_reports '$T/rec.txt'"
lk_check "the recursive body sets include_subdags and include_parentdag" python3 -c '
import json, sys, urllib.request
url = sys.argv[1] + "/_control/requests?method=POST&path=/api/v1/dags/supporter_export/clearTaskInstances"
b = [r["body"] for r in json.load(urllib.request.urlopen(url))["requests"]]
assert [x["include_subdags"] for x in b] == [False, True, True] and all(x["include_subdags"] == x["include_parentdag"] for x in b), b
' "$LK_AIRFLOW_URL"
[ "$(fingerprint)" = "$fp0" ] && lk_pass "recursive dry runs change nothing" || lk_fail "recursive dry runs change nothing" "fingerprint changed"

"$LK_BIN" clear export_done --dag supporter_export --run "$R7" --downstream --recursive --yes --json >"$T/real.json" 2>"$T/err"
rc=$?
[ $rc -eq 0 ] && lk_pass "recursive real clear exits 0" || lk_fail "recursive real clear exits 0" "rc $rc: $(cat "$T/err")"
lk_check "the real clear lists both DAGs" python3 - "$T/real.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
assert d["cleared"] and sorted({x["dag_id"] for x in d["cleared_instances"]}) == ["supporter_export", "supporter_reports"], d
assert len(d["cleared_instances"]) == 5, d["cleared_instances"]
PY
lk_check "both DAGs' runs queued again, their cleared instances without state; other DAGs untouched" python3 -c '
import json, sys, urllib.request
st = json.load(urllib.request.urlopen(sys.argv[1] + "/_control/state"))
run = sys.argv[2]
queued = sorted(r["dag_id"] for r in st["runs"] if r["state"] == "queued")
assert queued == ["supporter_export", "supporter_reports"], queued
none = sorted((t["dag_id"], t["task_id"]) for t in st["task_instances"] if t["state"] is None and t["dag_run_id"] == run)
assert none == [("supporter_export", "export_done"), ("supporter_export", "mark_reports"),
                ("supporter_reports", "build_report"), ("supporter_reports", "publish_report"),
                ("supporter_reports", "wait_for_export")], none
' "$LK_AIRFLOW_URL" "$R7"
airflow_ctl POST /_control/advance '{"seconds": 1000}' >/dev/null
lk_check "the other DAG's cleared tasks run again" python3 -c '
import json, sys, urllib.request
st = json.load(urllib.request.urlopen(sys.argv[1] + "/_control/state"))
r = [x for x in st["runs"] if x["dag_id"] == "supporter_reports" and x["dag_run_id"] == sys.argv[2]][0]
assert r["state"] == "success", r
' "$LK_AIRFLOW_URL" "$R7"
lk_check "audited with both DAGs' instances" test "$(psql_q "SELECT string_agg(DISTINCT e->>'dag_id', ',') FROM lakeop.audit, jsonb_array_elements(params->'task_instances') e WHERE action = 'stage.clear' AND result = 'ok'")" = "supporter_export,supporter_reports"
lk_done
