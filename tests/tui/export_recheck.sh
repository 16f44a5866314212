#!/bin/sh
# The Export dialog checks its plan again just before submitting, in tmux:
# afterLastIncrement is safe when the dialog opens (each object's increment
# copied, its stage succeeded since); while the confirmation is open another
# operator's `lakeop export` submits a job with the same objects.  Confirmed,
# the console refuses ("nothing done: ...", naming the running job), sends
# Zuora nothing, opens no job, and audits the refusal.  Then a date export
# whose full-or-incremental verdict moves behind the open confirmation (the
# session's query changed): refused the same way.
. "$(dirname "$0")/../lib/common.sh"
. "$LK_ROOT/tests/lib/pg.sh"
. "$LK_ROOT/tests/lib/doubles.sh"
. "$LK_ROOT/tests/tui/lib.sh"
set -u

tui_zuora_console export_recheck_tui --job-seconds 300 || { lk_fail "set-up" "see above"; lk_done; exit 1; }
airflow_double_start || { lk_fail "airflow double" "did not start"; lk_done; exit 1; }
AIRFLOW="LAKEOP_AIRFLOW_URL=$LK_AIRFLOW_URL LAKEOP_AIRFLOW_USER=ops LAKEOP_AIRFLOW_PASSWORD=pw"
export LAKEOP_AIRFLOW_URL="$LK_AIRFLOW_URL" LAKEOP_AIRFLOW_USER=ops LAKEOP_AIRFLOW_PASSWORD=pw
L=$LK_BIN
sql() { psql -X -q -t -A "$DB" -c "$1"; }
submits() { zuora_ctl GET "/_control/requests?path=/v1/batch-query/&method=POST" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["requests"]))'; }

# The session's first job (full loads), completed; its increments copied
# long before the stages' last successes (2024), so afterLastIncrement is safe.
"$L" export --from afterLastIncrement --yes >"$T/first.out" 2>"$T/first.err" \
    || { lk_fail "the session's first export" "$(cat "$T/first.err")"; lk_done; exit 1; }
J0=$(sql "SELECT job_id FROM lakeop.zuora_jobs ORDER BY id DESC LIMIT 1")
zuora_ctl POST /_control/advance '{"seconds": 400}' >/dev/null
"$L" job "$J0" >"$T/j0.out" 2>"$T/j0.err" || { lk_fail "lakeop job $J0" "$(cat "$T/j0.err")"; lk_done; exit 1; }
sql "UPDATE lakeop.increments SET copied_at = '2000-01-01 00:00:00+00' WHERE env = 'CODE';
     UPDATE lakeop.zuora_batches SET copied_at = '2000-01-01 00:00:00+00' WHERE job_id = '$J0'" >/dev/null

tui_tmux_init
tui_tmux_start rc 230 30 ZSECRET=s3cret LAKEOP_SCREEN=jobs $AIRFLOW
lk_check "the Jobs screen opens" tui_wait_for rc "Jobs" 15
tui_keys rc e
lk_check "e opens the Export dialog" tui_wait_for rc "From (afterLastIncrement or YYYY-MM-DD)"
tui_keys rc Enter
lk_check "afterLastIncrement is safe: the plan asks for confirmation" tui_wait_for rc "Submit export" 15
lk_check "the plan: after the last increment" tui_wait_for rc "Export after the last increment"
lk_check "the plan: Account incremental" tui_wait_for rc "Account incremental"

# Behind the open confirmation: another export of the same objects.
D=$(date -u -d '3 days ago' +%F)
"$L" export --from "$D" --yes >"$T/other.out" 2>"$T/other.err" \
    && lk_pass "meanwhile, lakeop export --from $D submits a job" || lk_fail "the other export" "$(cat "$T/other.err")"
J1=$(sql "SELECT job_id FROM lakeop.zuora_jobs ORDER BY id DESC LIMIT 1")
s0=$(submits)
tui_keys rc Tab Enter
lk_check "confirmed: nothing done, the check fails now" \
    tui_wait_for rc "nothing done: the afterLastIncrement check fails now" 15
lk_check "the refusal names the job that runs now" tui_wait_for rc "job $J1 with this object has not finished"
[ "$(submits)" = "$s0" ] && lk_pass "the console sent Zuora no submit" || lk_fail "no submit" "$s0 -> $(submits)"
tui_screen rc > "$T/refused.txt"
grep -qF "Job $J1" "$T/refused.txt" && lk_fail "no job opened" "$(cat "$T/refused.txt")" || lk_pass "no job opened"
n=$(sql "SELECT count(*) FROM lakeop.zuora_jobs")
[ "$n" = 2 ] && lk_pass "no job stored but the two submitted" || lk_fail "jobs stored" "$n"
a=$(sql "SELECT result || '|' || operator || '|' || coalesce(target, '-') || '|' || (params->>'from') || '|' || message
         FROM lakeop.audit WHERE action = 'export.submit' ORDER BY id DESC LIMIT 1")
case "$a" in "refused|alice|-|afterLastIncrement|the afterLastIncrement check fails now: "*"job $J1 with this object has not finished"*)
    lk_pass "the refusal is audited, with why" ;;
    *) lk_fail "the refusal is audited" "$a" ;; esac
b=$(sql "SELECT result || '|' || target FROM lakeop.audit WHERE action = 'export.submit' ORDER BY id DESC OFFSET 1 LIMIT 1")
[ "$b" = "ok|$J1" ] && lk_pass "the other export is audited as submitted" || lk_fail "the other export's audit" "$b"
tui_check_inert "$T/refused.txt" >/dev/null && lk_pass "the screen is inert" || lk_fail "inert" "control bytes"

# A verdict that moved: the dialog's date export is incremental for Account
# when confirmed; meanwhile another operator, whose config has another
# Account query, moves the session on (afterLastIncrement, forced; the job
# completes), so the session's query changed and Zuora would now send
# Account in full.  Confirmed: refused, nothing sent.
tui_keys rc e
lk_check "e opens the Export dialog again" tui_wait_for rc "From (afterLastIncrement or YYYY-MM-DD)"
D2=$(date -u -d '2 days ago' +%F)
tui_keys rc C-u
tui_keys rc "$D2" Enter
lk_check "the date export asks for confirmation" tui_wait_for rc "Submit export" 15
lk_check "the plan: Account incremental" tui_wait_for rc "Account incremental"
sed 's/^zoql  = SELECT Account.Id, Account.Name FROM Account$/zoql  = SELECT Account.Id, Account.Name, Account.Balance FROM Account/' \
    "$T/config" > "$T/config.other"
chmod 600 "$T/config.other"
LAKEOP_CONFIG="$T/config.other" ZSECRET=s3cret "$L" export --from afterLastIncrement --object Account --yes --force \
    >"$T/other2.out" 2>"$T/other2.err" \
    && lk_pass "meanwhile, an export with another Account query" || lk_fail "the other query's export" "$(cat "$T/other2.err")"
zuora_ctl POST /_control/advance '{"seconds": 400}' >/dev/null   # and it completes
s0=$(submits)
tui_keys rc Tab Enter
lk_check "confirmed: nothing done, Account is a full load now" \
    tui_wait_for rc "nothing done: the export plan is different now: Account was incremental and is a full load now" 15
[ "$(submits)" = "$s0" ] && lk_pass "the console sent Zuora no submit" || lk_fail "no submit" "$s0 -> $(submits)"
a=$(sql "SELECT result || '|' || message FROM lakeop.audit WHERE action = 'export.submit' ORDER BY id DESC LIMIT 1")
case "$a" in "refused|the export plan is different now: Account was incremental and is a full load now"*)
    lk_pass "the moved verdict is audited as a refusal" ;;
    *) lk_fail "the moved verdict's audit" "$a" ;; esac

tui_quit rc
lk_done
