#!/bin/sh
# The issue's terminal test, in tmux: on the Jobs screen, e opens the Export
# dialog; a date, the plan, confirmed (the job's detail opens; Esc goes
# back); the new job is listed and the screen
# follows it live (the double's clock moved on) from submitted through
# executing to completed without a key pressed; Enter opens its detail
# with the batches, their record counts and file ids.  Then a job Zuora
# does not know (90002) and one running past Zuora's limit are marked '?'
# and no longer asked about.
. "$(dirname "$0")/../lib/common.sh"
. "$LK_ROOT/tests/lib/pg.sh"
. "$LK_ROOT/tests/lib/doubles.sh"
. "$LK_ROOT/tests/tui/lib.sh"
set -u

tui_zuora_console export_watch_tui --job-seconds 300 || { lk_fail "set-up" "see above"; lk_done; exit 1; }

job() {   # a Python expression over j = the double's newest job (None when none)
    zuora_ctl GET /_control/jobs | python3 -c "import json,sys; js=json.load(sys.stdin)['jobs']; j=js[-1] if js else None; print($1)"
}
row() { tui_screen ew | grep -F -- "$1"; }
wait_row() {   # JOB TEXT: until the job's row shows TEXT (15 s)
    wr_i=0
    while [ $wr_i -lt 150 ]; do
        case "$(row "$1")" in *"$2"*) return 0 ;; esac
        sleep 0.1; wr_i=$((wr_i + 1))
    done
    echo "no '$2' in the row of $1; the screen:"; tui_screen ew
    return 1
}

tui_tmux_init
tui_tmux_start ew 230 30 ZSECRET=s3cret LAKEOP_SCREEN=jobs
lk_check "the Jobs screen opens" tui_wait_for ew "Jobs" 15

# ---- the Export dialog: a date, the plan, the confirmation
D=$(date -u -d '5 days ago' +%F)
DM1=$(date -u -d '6 days ago' +%F)
tui_keys ew e
lk_check "e opens the Export dialog" tui_wait_for ew "From (afterLastIncrement or YYYY-MM-DD)"
tui_keys ew C-u
tui_keys ew "$D" Enter
lk_check "the plan is shown for confirmation" tui_wait_for ew "Submit export" 15
lk_check "the plan: the exact incrementalTime" tui_wait_for ew "incrementalTime = \"$DM1 00:00:00\""
lk_check "the plan: full loads (new in this session)" tui_wait_for ew "full load: new object in this session"
tui_keys ew Tab Enter
i=0; J=None
while [ $i -lt 50 ]; do J=$(job "j['id'] if j else None"); [ "$J" != None ] && break; sleep 0.2; i=$((i + 1)); done
[ "$J" != None ] && lk_pass "the export was submitted ($J)" || { lk_fail "submitted" "no job at the double: $(tui_screen ew)"; lk_done; exit 1; }
[ "$(job "j['_incrementalTime']")" = "$DM1 00:00:00" ] && lk_pass "sent with incrementalTime $DM1 00:00:00" \
    || lk_fail "incrementalTime sent" "$(job "j['_incrementalTime']")"

# ---- live on the Jobs screen: submitted, executing, completed
lk_check "the submitted job's detail opens" tui_wait_for ew "Job $J" 15
tui_keys ew Escape
lk_check "Esc: back on the Jobs screen, the new job listed" wait_row "$J" "$J"
case "$(row "$J")" in *submitted*) lk_pass "first seen submitted" ;; *) lk_fail "first seen submitted" "$(row "$J")" ;; esac
zuora_ctl POST /_control/advance '{"seconds":110}' >/dev/null
lk_check "the screen follows it to executing, no key pressed" wait_row "$J" executing
lk_check "its batches: none done yet" wait_row "$J" "0/2 done"
lk_check "the status line says the screen is live" tui_wait_for ew "live: 1 running" 12
zuora_ctl POST /_control/advance '{"seconds":300}' >/dev/null
lk_check "then to completed" wait_row "$J" completed
lk_check "both batches done" wait_row "$J" "2/2 done"
tui_screen ew > "$T/jobs.txt"
tui_check_inert "$T/jobs.txt" >/dev/null && lk_pass "the Jobs screen is inert" || lk_fail "inert" "control bytes"

# ---- Enter: the detail with its batches and file ids
FA=$(job "[b for b in j['batches'] if b['name']=='Account'][0]['fileId']")
FC=$(job "[b for b in j['batches'] if b['name']=='Contact'][0]['fileId']")
NA=$(job "[b for b in j['batches'] if b['name']=='Account'][0]['recordCount']")
tui_keys ew Enter
lk_check "Enter opens the job's detail" tui_wait_for ew "Job $J"
lk_check "the detail: Account's file id" tui_wait_for ew "$FA"
lk_check "the detail: Contact's file id" tui_wait_for ew "$FC"
tui_screen ew > "$T/detail.txt"
grep -F "Account" "$T/detail.txt" | grep -F "completed" | grep -qF " $NA " \
    && lk_pass "the detail: Account completed with its $NA records" || lk_fail "Account's row" "$(cat "$T/detail.txt")"
grep -qF "full" "$T/detail.txt" && lk_pass "the detail: full or incremental shown" || lk_fail "full shown" "$(cat "$T/detail.txt")"

# ---- jobs not worth asking about: one Zuora forgot (90002), one stuck for
# longer than Zuora lets a job run (seeded there as executing for ever)
tui_keys ew Escape
lk_check "back on the Jobs screen" wait_row "$J" completed
U=2c92c0f9000000000000000000000b01
S=2c92c0f9000000000000000000000b02
zuora_ctl POST /_control/job "{\"id\":\"$S\",\"name\":\"lakeop-export\",\"status\":\"executing\",\"version\":\"1.1\",
  \"partner\":\"guardian-12357\",\"project\":\"zuora-datalake-export-2\",\"batches\":[{\"batchId\":\"${S}b\",
  \"name\":\"Account\",\"status\":\"executing\",\"recordCount\":0,\"full\":false,\"message\":\"\"}]}" >/dev/null
gets() { zuora_ctl GET /_control/stats | python3 -c "import json,sys; print(json.load(sys.stdin)['requests'].get('GET /v1/batch-query/jobs/$1', 0))"; }
psql -X -q "$DB" -c "INSERT INTO lakeop.zuora_jobs (job_id, env, name, status, origin, submitted_at)
  VALUES ('$U', 'CODE', 'lakeop-export', 'executing', 'lakeop', now() - interval '2 hours'),
         ('$S', 'CODE', 'lakeop-export', 'executing', 'lakeop', now() - interval '10 hours')" >/dev/null
lk_check "Zuora does not know it: marked, not polled" wait_row "$U" "executing?"
lk_check "stuck past Zuora's limit: marked, not polled" wait_row "$S" "executing?"
lk_check "the status line says why (90002)" tui_wait_for ew "?: 1 unknown to Zuora (90002) $U"
lk_check "the status line says why (stuck)" tui_wait_for ew "?: 1 stuck, running over 9 h (Zuora's limit)"
gu=$(gets "$U"); gs=$(gets "$S")
sleep 11
[ "$(gets "$U")" = "$gu" ] && [ "$gu" -ge 1 ] && lk_pass "the unknown job: asked once ($gu), not again" \
    || lk_fail "unknown job polled" "$gu -> $(gets "$U")"
[ "$(gets "$S")" = "$gs" ] && [ "$gs" -ge 1 ] && lk_pass "the stuck job: asked once more ($gs), then left alone" \
    || lk_fail "stuck job polled" "$gs -> $(gets "$S")"

tui_quit ew
lk_done
