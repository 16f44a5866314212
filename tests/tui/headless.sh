#!/bin/sh
# The console headless (LAKEOP_HEADLESS=1), driven by a script, compared
# screen by screen with tests/tui/expected/*.txt; and `lakeop audit`.
. "$(dirname "$0")/../lib/common.sh"
. "$LK_ROOT/tests/lib/pg.sh"
. "$LK_ROOT/tests/tui/lib.sh"
pg_start || exit 1
tui_seed lk_tui_headless || { lk_fail "seed" "could not seed"; lk_done; exit 1; }
d=$TUI_DIR

run_script() {   # name lines cols: runs tests/tui/scripts/NAME.script
    sed "s|@OUT@|$d|g" "$LK_ROOT/tests/tui/scripts/$1.script" > "$d/$1.script"
    LAKEOP_HEADLESS=1 LINES=$2 COLUMNS=$3 TERM=xterm-256color LAKEOP_SCRIPT="$d/$1.script" \
        timeout 60 "$LK_BIN" >"$d/$1.out" 2>"$d/$1.err"
    echo $? > "$d/$1.rc"
}

run_script main 24 80
if [ "$(cat "$d/main.rc")" = 0 ]; then lk_pass "scripted run exits 0"; else lk_fail "scripted run exits 0" "rc $(cat "$d/main.rc"): $(cat "$d/main.err")"; fi
for s in overview overview-moved audit audit-sorted audit-filter audit-detail audit-detail-search log; do
    if [ -f "$d/$s.txt" ]; then
        tui_compare "$s" "$d/$s.txt"
        lk_check "screen $s is inert" tui_check_inert "$d/$s.txt"
    else
        lk_fail "screen $s saved" "no $d/$s.txt"
    fi
done
# Help grows as screens and actions are added: check what it must show.
if grep -q 'Help: keys on the Audit screen' "$d/help.txt" && grep -q '^ j, <Down> *move-down' "$d/help.txt" \
   && grep -q '^ q, <C-c> *quit' "$d/help.txt"; then
    lk_pass "help is generated from the action table"
else
    lk_fail "help is generated from the action table" "$(cat "$d/help.txt")"
fi
lk_check "screen help is inert" tui_check_inert "$d/help.txt"
grep -q 'evil^\[\[31mRED\\xFF^G' "$d/overview.txt" && lk_pass "dataset name shown inert" || lk_fail "dataset name shown inert" "$(cat "$d/overview.txt")"
grep -q 'bad ^\[\[2J\\' "$d/audit.txt" && lk_pass "audit message shown inert" || lk_fail "audit message shown inert" "$(cat "$d/audit.txt")"
tui_no_asan "$d/main.err"

# Airflow configured: the failed stages of the latest run (the double's 6th
# run failed at zuora_subscription, 4 tasks downstream upstream_failed).
. "$LK_ROOT/tests/lib/doubles.sh"
if airflow_double_start --runs 6 --task-seconds 1000; then
    LAKEOP_AIRFLOW_URL=$LK_AIRFLOW_URL LAKEOP_AIRFLOW_USER=ops LAKEOP_AIRFLOW_PASSWORD=pw \
        run_script overview-stages 30 120
    [ "$(cat "$d/overview-stages.rc")" = 0 ] && lk_pass "overview with Airflow exits 0" \
        || lk_fail "overview with Airflow exits 0" "$(cat "$d/overview-stages.err")"
    tui_compare overview-stages "$d/overview-stages.txt"
    lk_check "screen overview-stages is inert" tui_check_inert "$d/overview-stages.txt"
    if grep -q 'DAG supporter_experience  run scheduled__2024-01-06T00:00:00+00:00  failed' "$d/overview-stage-open.txt" \
       && grep -q 'copied to the clipboard: zuora_rate_plan_charge ' "$d/overview-stage-open.txt"; then
        lk_pass "Enter on a failed stage opens Stages on that task in that run"
    else
        lk_fail "Enter on a failed stage opens Stages on that task in that run" "$(cat "$d/overview-stage-open.txt")"
    fi
    tui_no_asan "$d/overview-stages.err"
else
    lk_fail "airflow double" "did not start"
fi
# Airflow unreachable (nothing listens on the port): one dim line, never a hang.
port=$(lk_free_port)
LAKEOP_AIRFLOW_URL=http://127.0.0.1:$port LAKEOP_AIRFLOW_USER=ops LAKEOP_AIRFLOW_PASSWORD=pw \
    run_script overview-unreachable 24 140
if grep -qE '^ stages +Airflow unreachable +\(Airflow at http://127.0.0.1:[0-9]+ did not answer' "$d/overview-unreachable.txt" \
   && grep -q 'cubic__dmap__agg_sample' "$d/overview-unreachable.txt" && ! grep -q '^ stage ' "$d/overview-unreachable.txt"; then
    lk_pass "Airflow unreachable: one line, the database's lines as usual"
else
    lk_fail "Airflow unreachable: one line, the database's lines as usual" "$(cat "$d/overview-unreachable.txt")"
fi
grep -q 'airflow:DOWN' "$d/overview-unreachable.txt" && lk_pass "health mark: airflow DOWN" \
    || lk_fail "health mark: airflow DOWN" "$(head -1 "$d/overview-unreachable.txt")"
[ "$(grep -cE '^ [0-9:]{8} airflow DOWN: Airflow at http://127.0.0.1' "$d/overview-unreachable-log.txt")" = 1 ] \
    && lk_pass "the reason is in the message log, once" || lk_fail "the reason is in the message log, once" "$(cat "$d/overview-unreachable-log.txt")"
tui_no_asan "$d/overview-unreachable.err"

# Small terminals: correct down to 20x5, a plain line below that.
run_script small 10 40
tui_compare small-40x10 "$d/small-40x10.txt"
run_script tiny 5 20
tui_compare tiny-20x5 "$d/tiny-20x5.txt"
run_script toosmall 4 19
grep -q 'terminal too small' "$d/toosmall.txt" && lk_pass "too small says so" || lk_fail "too small says so" "$(cat "$d/toosmall.txt")"
tui_no_asan "$d/small.err"

# Read-only: changing actions refused with a message, greyed in help.
sed "s|@OUT@|$d|g" "$LK_ROOT/tests/tui/scripts/readonly.script" > "$d/readonly.script"
LAKEOP_HEADLESS=1 LINES=60 COLUMNS=100 LAKEOP_SCRIPT="$d/readonly.script" \
    timeout 60 "$LK_BIN" --read-only >"$d/ro.out" 2>"$d/ro.err"
grep -q 'READ-ONLY' "$d/readonly.txt" && lk_pass "read-only badge" || lk_fail "read-only badge" "$(cat "$d/readonly.txt")"
grep -q "read-only: 'retry' changes something and is refused" "$d/readonly.txt" \
    && lk_pass "read-only refuses a change" || lk_fail "read-only refuses a change" "$(cat "$d/readonly.txt")"
grep -q 'retry .*(refused: read-only)' "$d/readonly-help.txt" \
    && lk_pass "read-only greys help" || lk_fail "read-only greys help" "$(cat "$d/readonly-help.txt")"
# Protected environment: red banner name, typed confirmation not needed to look.
LAKEOP_ENV=PROD LAKEOP_HEADLESS=1 LINES=24 COLUMNS=100 LAKEOP_SCRIPT="$d/readonly.script" \
    timeout 60 "$LK_BIN" >"$d/prod.out" 2>"$d/prod.err"
grep -q 'PROD (protected)' "$d/readonly.txt" && lk_pass "protected environment in the header" || lk_fail "protected environment in the header" "$(cat "$d/readonly.txt")"
tui_no_asan "$d/ro.err"
grep -q 'PROD (protected)' "$d/env-switched.txt" && lk_pass ":env switches the environment" || lk_fail ":env switches the environment" "$(cat "$d/env-switched.txt" "$d/ro.err")"

# The command line: audit, text and JSON.
"$LK_BIN" audit --limit 3 > "$d/audit-cli.txt" 2>&1
if grep -q 'mallory' "$d/audit-cli.txt" && grep -q 'bad ^\[\[2J\\xFE\\xFF bytes' "$d/audit-cli.txt" \
   && [ "$(wc -l < "$d/audit-cli.txt")" -eq 4 ]; then
    lk_pass "lakeop audit: newest first, inert"
else
    lk_fail "lakeop audit: newest first, inert" "$(cat "$d/audit-cli.txt")"
fi
"$LK_BIN" audit --limit 2 --json > "$d/audit.json" 2>"$d/audit-json.err"
if python3 -c 'import json,sys; a=json.load(open(sys.argv[1])); assert len(a)==2 and a[0]["operator"]=="mallory" and a[1]["params"]["n"]==60, a' "$d/audit.json" 2>"$d/audit-json.err"; then
    lk_pass "lakeop audit --json"
else
    lk_fail "lakeop audit --json" "$(cat "$d/audit.json" "$d/audit-json.err")"
fi
"$LK_BIN" audit --limit x >/dev/null 2>&1; rc=$?
[ $rc -eq 2 ] && lk_pass "audit --limit x is a usage error" || lk_fail "audit --limit x is a usage error" "rc $rc"

lk_done
