#!/bin/sh
# The Stages screen's live parts in a real terminal (tmux), against the
# Airflow double with long virtual lifecycles moved by the test: a running
# task's log followed as it grows until the task finishes; a clear with
# past followed in every run it touched, not only the one shown; the clear
# screen's failures (a 403 dry run, a 404 real clear) in the server's words.
. "$(dirname "$0")/../lib/common.sh"
. "$LK_ROOT/tests/lib/pg.sh"
. "$LK_ROOT/tests/lib/doubles.sh"
. "$LK_ROOT/tests/tui/lib.sh"
command -v tmux >/dev/null || { lk_fail "tmux" "tmux is not installed"; lk_done; exit 1; }
pg_start || exit 1
TUI_DIR=$(lk_tmpdir)/stages_live
d=$TUI_DIR
mkdir -p "$d/home"
db=$(pg_new_db lk_tui_stages_live)
airflow_double_start --task-seconds 1000 || { lk_fail "airflow double" "did not start"; lk_done; exit 1; }
cat > "$d/config" <<EOC
[env "CODE"]
database = $db
operator = alice
airflow.dag = supporter_experience
EOC
chmod 600 "$d/config"
export LAKEOP_CONFIG="$d/config" HOME="$d/home" XDG_STATE_HOME="$d/home/state"
unset LAKEOP_ENV XDG_CONFIG_HOME
"$LK_BIN" audit >/dev/null 2>"$d/migrate.err" || { lk_fail "migrate" "$(cat "$d/migrate.err")"; lk_done; exit 1; }
tui_tmux_init
R7='scheduled__2024-01-07T00:00:00+00:00'
joined_has() {   # NAME TEXT: TEXT on the screen, wrapped lines joined by a space
    tui_screen "$1" | python3 -c 'import sys; t = " ".join(l.strip() for l in sys.stdin); sys.exit(sys.argv[1] not in t)' "$2" ||
        { echo "no '$2' on the screen:"; tui_screen "$1"; return 1; }
}
advance() { airflow_ctl POST /_control/advance "{\"seconds\": $1}" >/dev/null; }
start() {   # NAME [VAR=VALUE...]: the console on the double
    n=$1; shift
    tui_tmux_start "$n" 160 40 "LAKEOP_AIRFLOW_URL='$LK_AIRFLOW_URL'" LAKEOP_AIRFLOW_USER=ops LAKEOP_AIRFLOW_PASSWORD=pw "$@"
    lk_check "$n: console starts" tui_wait_for "$n" "airflow:" 15
}

# ---- a running task's log, followed -----------------------------------------
# zuora_account of the latest run starts a new try now; its log grows with
# the double's clock, and following stops once the try has finished.
airflow_ctl POST /_control/set_state "{\"dag\":\"supporter_experience\",\"run\":\"$R7\",\"state\":\"running\"}" >/dev/null
airflow_ctl POST /_control/set_state "{\"dag\":\"supporter_experience\",\"run\":\"$R7\",\"task\":\"zuora_account\",\"state\":\"running\",\"activate\":true}" >/dev/null
start log
tui_keys log : stages Enter
lk_check "log: the run shown running" tui_wait_for log "run $R7  running"
tui_keys log Enter
lk_check "log: the running try's log" tui_wait_for log "Starting attempt"
lk_check "log: following" tui_wait_for log "following"
lk_check "log: only what was written so far" sh -c "! tmux -L '$TUI_SOCK' capture-pane -p -t log | grep -q 'Read part'"
advance 150
lk_check "log: new lines as the clock moves" tui_wait_for log "Read part 1 of 5" 10
lk_check "log: not the later ones yet" sh -c "! tmux -L '$TUI_SOCK' capture-pane -p -t log | grep -q 'Read part 2 of 5'"
advance 200
lk_check "log: more lines" tui_wait_for log "Read part 3 of 5" 10
advance 400
lk_check "log: the try's end" tui_wait_for log "Marking task as SUCCESS" 10
lk_check "log: the state is success" tui_wait_for log "state    success"
lk_check "log: following stopped" tui_wait_gone log "following" 10
n0=$(airflow_ctl GET '/_control/requests?method=GET&prefix=/api/v1/dags/supporter_experience/dagRuns/' |
    python3 -c 'import json,sys; print(sum("/logs/" in r["path"] for r in json.load(sys.stdin)["requests"]))')
sleep 6
n1=$(airflow_ctl GET '/_control/requests?method=GET&prefix=/api/v1/dags/supporter_experience/dagRuns/' |
    python3 -c 'import json,sys; print(sum("/logs/" in r["path"] for r in json.load(sys.stdin)["requests"]))')
[ "$n0" = "$n1" ] && lk_pass "log: no more log requests once finished" || lk_fail "log: no more log requests once finished" "$n0 -> $n1"
tui_keys log Escape
tui_keys log q
lk_check "log: q quits" tui_wait_exit log
tui_no_asan "$d/log.err"

# ---- a clear with past: every cleared run followed until it finishes -------
# zuora_account alone in the 2024-01-06 run and every run before it: six
# instances in six runs, five of them not the run shown.
airflow_ctl POST /_control/reset >/dev/null
R6='scheduled__2024-01-06T00:00:00+00:00'
start past
tui_keys past : stages Enter
lk_check "past: Stages on the latest run" tui_wait_for past "(latest)"
tui_keys past R
lk_check "past: runs list" tui_wait_for past "Runs, newest first"
tui_keys past j Enter
lk_check "past: the 2024-01-06 run" tui_wait_for past "run $R6  failed"
tui_keys past C
lk_check "past: the clear screen" tui_wait_for past "11 task instances will re-run"
tui_keys past d
lk_check "past: without downstream" tui_wait_for past "1 task instance will re-run"
tui_keys past p
lk_check "past: with past, six runs" tui_wait_for past "6 task instances will re-run"
tui_keys past Enter
lk_check "past: confirmation" tui_wait_for past "[ Cancel ]  [ OK ]"
tui_keys past Tab Enter
lk_check "past: watching six instances in six runs" tui_wait_for past "watching 6 cleared task instances in 6 runs"
lk_check "past: the double cleared six runs" python3 -c '
import json, sys, urllib.request
st = json.load(urllib.request.urlopen(sys.argv[1] + "/_control/state"))
runs = sorted(r["dag_run_id"][11:21] for r in st["runs"] if r["dag_id"] == "supporter_experience" and r["state"] == "queued")
assert runs == ["2024-01-0%d" % i for i in range(1, 7)], runs
' "$LK_AIRFLOW_URL"
sleep 6   # two polls: nothing has moved, the watch goes on
lk_check "past: still watching while nothing finished" tui_wait_for past "watching"
lk_check "past: no early verdict" sh -c "! tmux -L '$TUI_SOCK' capture-pane -p -t past | grep -q 'cleared tasks finished'"
lk_check "past: the other runs were read" python3 -c '
import json, sys, urllib.request
reqs = json.load(urllib.request.urlopen(sys.argv[1] + "/_control/requests?method=GET&prefix=/api/v1/dags/supporter_experience/dagRuns/"))["requests"]
read = {r["path"].split("/")[6][11:21] for r in reqs if r["path"].endswith("/taskInstances")}
assert {"2024-01-0%d" % i for i in range(1, 6)} <= read, sorted(read)
' "$LK_AIRFLOW_URL"
advance 20000
lk_check "past: every cleared instance followed to its end" tui_wait_for past "cleared tasks finished: 6 success, 0 failed, 0 other" 30
lk_check "past: the status line stops watching" tui_wait_gone past "| watching" 10
tui_keys past q
lk_check "past: q quits" tui_wait_exit past
tui_no_asan "$d/past.err"

# ---- the clear screen's failures: the server's words, nothing cleared -----
fingerprint() { airflow_ctl GET /_control/state | python3 -c 'import json,sys; print(json.load(sys.stdin)["fingerprint"])'; }
real_clears() {
    airflow_ctl GET '/_control/requests?method=POST&path=/api/v1/dags/supporter_experience/clearTaskInstances' |
        python3 -c 'import json,sys; print(sum(1 for r in json.load(sys.stdin)["requests"] if r["body"] and r["body"].get("dry_run") is False))'
}
airflow_ctl POST /_control/reset >/dev/null
fp0=$(fingerprint)
# A read-only Airflow user: even the dry run is refused (403).
start viewer LAKEOP_AIRFLOW_USER=viewer
tui_keys viewer : stages Enter
lk_check "403: Stages reads as the viewer" tui_wait_for viewer "(latest)"
tui_keys viewer C
lk_check "403: the dry run failed, in the server's words" tui_wait_for viewer "dry run failed:"
lk_check "403: the whole error shown, the server's title at its end" joined_has viewer "ask an Airflow admin to grant it (HTTP 403 Forbidden)"
tui_keys viewer Enter
lk_check "403: Enter does not clear without a dry-run list" tui_wait_for viewer "no dry-run list:"
lk_check "403: no confirmation asked" sh -c "! tmux -L '$TUI_SOCK' capture-pane -p -t viewer | grep -qF '[ Cancel ]'"
tui_keys viewer Escape
tui_keys viewer q
lk_check "403: q quits" tui_wait_exit viewer
tui_no_asan "$d/viewer.err"
[ "$(real_clears)" = 0 ] && [ "$(fingerprint)" = "$fp0" ] && lk_pass "403: nothing cleared" || lk_fail "403: nothing cleared" "$(real_clears) real clears"

# The run vanishes between the dry run and the clear: the real clear's 404.
start gone
tui_keys gone : stages Enter
lk_check "404: Stages" tui_wait_for gone "(latest)"
gone404() {   # the next clearTaskInstances answers the server's 404 for an unknown run
    airflow_ctl POST /_control/fault "{\"match\":\"POST /api/v1/dags/supporter_experience/clearTaskInstances\",\"status\":404,\"body\":{\"type\":\"https://airflow.apache.org/docs/apache-airflow/2.10.5/stable-rest-api-ref.html#section/Errors/NotFound\",\"title\":\"Dag Run not found\",\"status\":404,\"detail\":\"Dag Run id $R7 not found in dag supporter_experience\"}}" >/dev/null
}
gone404
tui_keys gone C
lk_check "404: the dry run failed" tui_wait_for gone "dry run failed:"
lk_check "404: the dry run's error whole, with the server's words" joined_has gone "Airflow has no DAG supporter_experience or no run $R7 in it (HTTP 404 Dag Run not found: Dag Run id $R7 not found in dag supporter_experience)"
tui_keys gone r
lk_check "404: r asks again, the dry run listed" tui_wait_for gone "11 task instances will re-run"
gone404
tui_keys gone Enter
lk_check "404: confirmation" tui_wait_for gone "[ Cancel ]  [ OK ]"
tui_keys gone Tab Enter
lk_check "404: the clear failed" tui_wait_for gone "clear zuora_account failed, nothing cleared:" 10
lk_check "404: our words and the server's, whole" joined_has gone "Airflow has no DAG supporter_experience or no run $R7 in it (HTTP 404 Dag Run not found: Dag Run id $R7 not found in dag supporter_experience)"
lk_check "404: no watch after a failed clear" sh -c "! tmux -L '$TUI_SOCK' capture-pane -p -t gone | grep -q 'watching'"
[ "$(fingerprint)" = "$fp0" ] && lk_pass "404: nothing cleared (fingerprint)" || lk_fail "404: nothing cleared (fingerprint)" "changed"
lk_check "404: audited as failed with the server's words" test "$(psql -X -qAt -h "$LK_PG_HOST" -p "$LK_PG_PORT" -U postgres -d lk_tui_stages_live -c "SELECT result || ' ' || (message LIKE '%Dag Run not found%') FROM lakeop.audit WHERE action = 'stage.clear' ORDER BY id DESC LIMIT 1")" = "failed true"
tui_keys gone q
lk_check "404: q quits" tui_wait_exit gone
tui_no_asan "$d/gone.err"

lk_done
