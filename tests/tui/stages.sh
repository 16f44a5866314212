#!/bin/sh
# The Stages screen against the Airflow double, on the real binary: the
# tree with states, the runs list, a task's log, the clear flow with its
# dry-run preview (headless scripts with screen dumps), a cancelled
# confirmation and read-only changing nothing (the double's fingerprint),
# a protected environment's typed confirmation, and in tmux the whole
# clear with the exact request, the audit record, live states until the
# cleared tasks finish, and Airflow unreachable mid-watch.
. "$(dirname "$0")/../lib/common.sh"
. "$LK_ROOT/tests/lib/pg.sh"
. "$LK_ROOT/tests/lib/doubles.sh"
. "$LK_ROOT/tests/tui/lib.sh"
pg_start || exit 1
d=$(lk_tmpdir)/stages
mkdir -p "$d/home"
db=$(pg_new_db lk_tui_stages)
# Long virtual task lifecycles: nothing moves unless the test advances the
# double's clock, so the screens are deterministic.
airflow_double_start --task-seconds 1000 || { lk_fail "airflow double" "did not start"; lk_done; exit 1; }
export LAKEOP_AIRFLOW_URL=$LK_AIRFLOW_URL LAKEOP_AIRFLOW_USER=ops LAKEOP_AIRFLOW_PASSWORD=pw
cat > "$d/config" <<EOC
[env "CODE"]
database = $db
operator = alice
airflow.dag = supporter_experience

[env "PROD"]
database = $db
operator = alice
airflow.dag = supporter_experience
protected = true
EOC
chmod 600 "$d/config"
export LAKEOP_CONFIG="$d/config" HOME="$d/home" XDG_STATE_HOME="$d/home/state"
unset LAKEOP_ENV XDG_CONFIG_HOME
"$LK_BIN" audit >/dev/null 2>"$d/migrate.err" || { lk_fail "migrate" "$(cat "$d/migrate.err")"; lk_done; exit 1; }

RUN3='scheduled__2024-01-03T00:00:00+00:00'
fingerprint() { airflow_ctl GET /_control/state | python3 -c 'import json,sys; print(json.load(sys.stdin)["fingerprint"])'; }
real_clears() {   # how many clearTaskInstances with dry_run false were sent
    airflow_ctl GET '/_control/requests?method=POST&path=/api/v1/dags/supporter_experience/clearTaskInstances' |
        python3 -c 'import json,sys; print(sum(1 for r in json.load(sys.stdin)["requests"] if r["body"] and r["body"].get("dry_run") is False))'
}
audit_rows() { psql -X -qAt -h "$LK_PG_HOST" -p "$LK_PG_PORT" -U postgres -d lk_tui_stages -c "$1"; }

run_script() {   # name lines cols [lakeop args]: runs tests/tui/scripts/NAME.script
    name=$1; lines=$2; cols=$3; shift 3
    sed "s|@OUT@|$d|g" "$LK_ROOT/tests/tui/scripts/$name.script" > "$d/$name.script"
    LAKEOP_HEADLESS=1 LINES=$lines COLUMNS=$cols TERM=xterm-256color LAKEOP_SCRIPT="$d/$name.script" \
        timeout 60 "$LK_BIN" "$@" >"$d/$name.out" 2>"$d/$name.err"
    rc=$?
    [ $rc -eq 0 ] && lk_pass "$name: scripted run exits 0" || lk_fail "$name: scripted run exits 0" "rc $rc: $(tail -20 "$d/$name.err")"
    tui_no_asan "$d/$name.err"
}
has() {   # FILE TEXT...: every TEXT (fixed string) is on the screen
    f=$1; shift
    for want in "$@"; do
        grep -qF -- "$want" "$f" || { echo "no '$want' in $f:"; cat "$f"; return 1; }
    done
}
hasnt() { f=$1; shift; for no in "$@"; do grep -qF -- "$no" "$f" && { echo "'$no' in $f:"; cat "$f"; return 1; }; done; return 0; }

# ---- looking, previewing, cancelling: nothing changes ----------------------
fp0=$(fingerprint)
run_script stages-look 40 160
for s in tree runs failed-run task task-try2 preview preview-nodown confirm cancelled; do
    lk_check "screen stages-$s is inert" tui_check_inert "$d/stages-$s.txt"
done
lk_check "tree: DAG, latest run, branches" has "$d/stages-tree.txt" \
    "DAG supporter_experience  run scheduled__2024-01-07T00:00:00+00:00  success  (latest)" \
    "zuora_account" "├─ zuora_contact" "└─ zuora_subscription" "│  └─ zuora_invoice_item" "success" "ZuoraRawToCleanOperator"
lk_check "tree: a task with two parents once, with the marker" has "$d/stages-tree.txt" \
    "zuora_rate_plan_charge  ◆ also after zuora_subscription"
[ "$(grep -c 'zuora_rate_plan_charge' "$d/stages-tree.txt")" -eq 1 ] \
    && lk_pass "tree: each task once" || lk_fail "tree: each task once" "$(cat "$d/stages-tree.txt")"
lk_check "runs: newest first, with states" python3 - "$d/stages-runs.txt" <<'EOF'
import sys
lines = [l for l in open(sys.argv[1]) if 'scheduled__2024-01-0' in l and not l.startswith(' DAG ')]
ids = [l.split('scheduled__')[1][:10] for l in lines]
assert ids == ['2024-01-07', '2024-01-06', '2024-01-05', '2024-01-04', '2024-01-03', '2024-01-02', '2024-01-01'], ids
assert 'failed' in lines[1] and 'failed' in lines[4] and 'success' in lines[0], lines
EOF
lk_check "failed run chosen: failed and upstream_failed" has "$d/stages-failed-run.txt" \
    "run $RUN3  failed" "upstream_failed"
grep -E '^ *.?zuora_account +failed +3 ' "$d/stages-failed-run.txt" >/dev/null \
    && lk_pass "zuora_account failed after 3 tries" || lk_fail "zuora_account failed after 3 tries" "$(cat "$d/stages-failed-run.txt")"
lk_check "task detail: tries, times, operator, hostname, log of the last try" has "$d/stages-task.txt" \
    "Task zuora_account in run $RUN3 of supporter_experience" "3 of at most 3" "operator" "hostname" \
    "Log of try 3 of 3" "^[[31m"
lk_check "task detail: [ shows the previous try's log" has "$d/stages-task-try2.txt" "Log of try 2 of 3" "UP_FOR_RETRY"
lk_check "clear screen: downstream on by default, the dry run listed" has "$d/stages-preview.txt" \
    "Clear zuora_account in run $RUN3 of DAG supporter_experience" "[x] d downstream" "[ ] u upstream" \
    "11 task instances will re-run (dry run: nothing changed yet)" "zuora_invoice_item" "supporter_product_data" \
    "upstream_failed"
lk_check "clear screen: without downstream only the task itself" has "$d/stages-preview-nodown.txt" \
    "[ ] d downstream" "1 task instance will re-run"
lk_check "clear screen: no downstream task without downstream" hasnt "$d/stages-preview-nodown.txt" "zuora_invoice_item"
lk_check "confirmation names the count, the environment and the target" has "$d/stages-confirm.txt" \
    "Clear these 11 task instances of DAG supporter_experience in" "environment CODE?" \
    "target: supporter_experience / scheduled__2024-01-03" "[ Cancel ]  [ OK ]"
lk_check "Enter on Cancel clears nothing" has "$d/stages-cancelled.txt" "nothing cleared"
[ "$(fingerprint)" = "$fp0" ] && lk_pass "preview and cancel change nothing (fingerprint)" || lk_fail "preview and cancel change nothing (fingerprint)" "changed"
[ "$(real_clears)" = 0 ] && lk_pass "no real clear sent" || lk_fail "no real clear sent" "$(real_clears)"

# ---- read-only: refused ----------------------------------------------------
run_script stages-readonly 30 120 --read-only
lk_check "read-only refuses clear" has "$d/ro-clear.txt" "read-only: 'clear' changes something and is refused"
lk_check "read-only refuses trigger" has "$d/ro-trigger.txt" "read-only: 'trigger' changes something and is refused"
lk_check "read-only refuses pause" has "$d/ro-pause.txt" "read-only: 'pause' changes something and is refused"
[ "$(fingerprint)" = "$fp0" ] && lk_pass "read-only changes nothing (fingerprint)" || lk_fail "read-only changes nothing (fingerprint)" "changed"

# ---- protected: the typed name --------------------------------------------
LAKEOP_ENV=PROD run_script stages-prod 40 160
lk_check "protected: asks for the environment's name" has "$d/prod-confirm.txt" "PROD"
lk_check "protected: OK without the name does nothing" has "$d/prod-untyped.txt" "type PROD to confirm"
lk_check "protected: typed name clears" has "$d/prod-cleared.txt" "cleared 11 task instances of supporter_experience"
[ "$(real_clears)" = 1 ] && lk_pass "protected: one real clear" || lk_fail "protected: one real clear" "$(real_clears)"
lk_check "protected: the screen shows the cleared states" has "$d/prod-cleared.txt" "watching" "no state"

# ---- the whole clear in a real terminal: request, audit, live states -------
command -v tmux >/dev/null || { lk_fail "tmux" "tmux is not installed"; lk_done; exit 1; }
airflow_ctl POST /_control/reset >/dev/null
sock=lakeop-stages-$$
T() { tmux -L "$sock" "$@"; }
lk_on_exit "tmux -L '$sock' kill-server"
T new-session -d -s live -x 160 -y 40 \
    "env LAKEOP_CONFIG='$LAKEOP_CONFIG' HOME='$HOME' XDG_STATE_HOME='$XDG_STATE_HOME' TZ=UTC \
     LAKEOP_AIRFLOW_URL='$LAKEOP_AIRFLOW_URL' LAKEOP_AIRFLOW_USER=ops LAKEOP_AIRFLOW_PASSWORD=pw \
     ASAN_OPTIONS='$ASAN_OPTIONS' UBSAN_OPTIONS='$UBSAN_OPTIONS' '$LK_BIN' 2>'$d/live.err'; \
     echo \$? > '$d/live.exit'; sleep 30"
pane() { T capture-pane -p -t live; }
wait_for() {   # TEXT [seconds]
    i=0; limit=$(( ${2:-10} * 10 ))
    while [ $i -lt $limit ]; do
        pane | grep -qF -- "$1" && return 0
        sleep 0.1; i=$((i + 1))
    done
    echo "waited for '$1'; the screen:"; pane
    return 1
}
wait_re() {   # REGEX [seconds]
    i=0; limit=$(( ${2:-10} * 10 ))
    while [ $i -lt $limit ]; do
        pane | grep -qE -- "$1" && return 0
        sleep 0.1; i=$((i + 1))
    done
    echo "waited for /$1/; the screen:"; pane
    return 1
}
keys() { T send-keys -t live "$@"; sleep 0.2; }
lk_check "console starts" wait_for "airflow:" 15
keys : stages Enter
lk_check "Stages opens on the latest run" wait_for "(latest)"
keys R
lk_check "runs list" wait_for "Runs, newest first"
keys j j j j Enter
lk_check "the failed run chosen" wait_for "run $RUN3  failed"
keys C
lk_check "dry-run list shown" wait_for "11 task instances will re-run (dry run: nothing changed yet)"
[ "$(real_clears)" = 0 ] && lk_pass "the preview sent no real clear" || lk_fail "the preview sent no real clear" "$(real_clears)"
keys Enter
lk_check "confirmation, focus on Cancel" wait_for "[ Cancel ]  [ OK ]"
keys Tab Enter
lk_check "cleared, watching" wait_for "watching 11 cleared task instances of this run"
lk_check "exactly the expected clear body was sent" python3 -c '
import json, sys, urllib.request
url = sys.argv[1] + "/_control/requests?method=POST&path=/api/v1/dags/supporter_experience/clearTaskInstances"
reqs = json.load(urllib.request.urlopen(url))["requests"]
real = [r["body"] for r in reqs if r["body"].get("dry_run") is False]
dry = [r["body"] for r in reqs if r["body"].get("dry_run") is True]
want = {"dry_run": False, "dag_run_id": "scheduled__2024-01-03T00:00:00+00:00", "task_ids": ["zuora_account"],
        "include_downstream": True, "include_upstream": False, "include_future": False, "include_past": False,
        "only_failed": False, "only_running": False, "include_subdags": False, "include_parentdag": False,
        "reset_dag_runs": True}
assert real == [want], real
assert dry and all(dict(b, dry_run=False) == want for b in dry), dry
' "$LK_AIRFLOW_URL"
lk_check "the run is queued again, the cleared tasks have no state" python3 -c '
import json, sys, urllib.request
st = json.load(urllib.request.urlopen(sys.argv[1] + "/_control/state"))
run = [r for r in st["runs"] if r["dag_id"] == "supporter_experience" and r["dag_run_id"].startswith("scheduled__2024-01-03")][0]
assert run["state"] in ("queued", "running"), run
tis = [t for t in st["task_instances"] if t["dag_id"] == "supporter_experience" and t["dag_run_id"] == run["dag_run_id"]]
assert len(tis) == 13 and sum(1 for t in tis if t["state"] is None) == 11, tis
' "$LK_AIRFLOW_URL"
lk_check "the screen shows the new states" wait_re "^ zuora_account +no state +3 "
lk_check "audited with each instance's state before the clear" test "$(audit_rows "SELECT count(*) FILTER (WHERE e->>'state' IN ('failed', 'upstream_failed')) || ' ' || count(*) FROM lakeop.audit, jsonb_array_elements(params->'task_instances') e WHERE action = 'stage.clear' AND env = 'CODE'")" = "11 11"
lk_check "audited with the touched instances" test "$(audit_rows "SELECT action || ' ' || result || ' ' || operator || ' ' || jsonb_array_length(params->'task_instances') FROM lakeop.audit WHERE action = 'stage.clear' AND env = 'CODE'")" = "stage.clear ok alice 11"
# Airflow unreachable mid-watch: the old states stay, "refresh failed", then it recovers.
airflow_ctl POST /_control/fault '{"match":"GET /api/v1/dags/supporter_experience/dagRuns","drop":true,"times":-1}' >/dev/null
lk_check "unreachable mid-watch: refresh failed shown" wait_for "refresh failed" 20
lk_check "unreachable mid-watch: the states stay shown" wait_re "^ zuora_account +no state +3 "
airflow_ctl DELETE /_control/fault >/dev/null
airflow_ctl POST /_control/advance '{"seconds": 20000}' >/dev/null
lk_check "the states follow until the cleared tasks finish" wait_for "cleared tasks finished: 11 success, 0 failed, 0 other" 40
lk_check "the screen shows success" wait_re "^ zuora_account +success +4 "
keys q
i=0; while [ $i -lt 100 ] && [ ! -s "$d/live.exit" ]; do sleep 0.1; i=$((i + 1)); done
[ "$(cat "$d/live.exit" 2>/dev/null)" = 0 ] && lk_pass "q quits with 0" || lk_fail "q quits with 0" "$(cat "$d/live.exit" "$d/live.err" 2>/dev/null)"
tui_no_asan "$d/live.err"

# ---- an empty dry run, trigger and pause ----------------------------------
airflow_ctl POST /_control/reset >/dev/null
run_script stages-change 40 160
lk_check "only failed on a successful run: nothing to clear" has "$d/change-empty.txt" \
    "[x] o only failed" "nothing to clear: no task instance matches these options"
[ "$(real_clears)" = 0 ] && lk_pass "an empty dry run clears nothing" || lk_fail "an empty dry run clears nothing" "$(real_clears)"
lk_check "trigger asks first" has "$d/change-trigger-ask.txt" "Start a new run of DAG supporter_experience now?" "[ Cancel ]"
lk_check "triggered: the new run is shown" has "$d/change-triggered.txt" "triggered run manual__" "run manual__"
lk_check "paused" has "$d/change-paused.txt" "paused supporter_experience" "DAG supporter_experience (paused)"
lk_check "the double has the new run and the DAG paused" python3 -c '
import json, sys, urllib.request
st = json.load(urllib.request.urlopen(sys.argv[1] + "/_control/state"))
assert st["dags"]["supporter_experience"]["is_paused"] is True, st["dags"]
assert any(r["dag_run_id"].startswith("manual__") for r in st["runs"] if r["dag_id"] == "supporter_experience")
' "$LK_AIRFLOW_URL"
lk_check "trigger and pause audited" test "$(audit_rows "SELECT string_agg(action || ' ' || result || ' ' || (params->>'dag_id'), ',' ORDER BY id) FROM lakeop.audit WHERE action IN ('stage.trigger', 'stage.pause')")" = "stage.trigger ok supporter_experience,stage.pause ok supporter_experience"
lk_check "trigger audited with the new run and its task instances" test "$(audit_rows "SELECT (params->>'dag_run_id' LIKE 'manual__%') || ' ' || (params->>'state') || ' ' || jsonb_array_length(params->'task_instances') || ' ' || (SELECT count(*) FROM jsonb_array_elements(params->'task_instances') e WHERE e->>'dag_run_id' = params->>'dag_run_id') FROM lakeop.audit WHERE action = 'stage.trigger'")" = "true queued 13 13"
lk_check "pause audited as touching no task instance" test "$(audit_rows "SELECT (params->>'is_paused') || ' ' || (params->'task_instances')::text FROM lakeop.audit WHERE action = 'stage.pause'")" = "true []"

lk_done
