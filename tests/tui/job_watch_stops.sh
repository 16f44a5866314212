#!/bin/sh
# Job detail's watch (w) stops, in tmux, as `lakeop job --watch` does: at
# once on what no retry can mend (Zuora's 90009 in an HTTP 200, a 401 after
# a fresh token), and on the watch ceiling (LAKEOP_WATCH_CEILING) for a job
# stuck executing.  Each time the status line says why, the title loses its
# "(watching)", and the Zuora double counts no further poll of the job.
. "$(dirname "$0")/../lib/common.sh"
. "$LK_ROOT/tests/lib/pg.sh"
. "$LK_ROOT/tests/lib/doubles.sh"
. "$LK_ROOT/tests/tui/lib.sh"
set -u

tui_zuora_console job_watch_stops_tui || { lk_fail "set-up" "see above"; lk_done; exit 1; }

# A job executing for ever at the double (a seeded job stays as seeded).
J=2c92c0f9000000000000000000000c01
zuora_ctl POST /_control/job "{\"id\":\"$J\",\"name\":\"lakeop-export\",\"status\":\"executing\",\"version\":\"1.1\",
  \"partner\":\"guardian-12357\",\"project\":\"zuora-datalake-export-2\",\"batches\":[{\"batchId\":\"${J}b\",
  \"name\":\"Account\",\"status\":\"executing\",\"recordCount\":0,\"full\":false,\"message\":\"\"}]}" >/dev/null
stat() { zuora_ctl GET /_control/stats | python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }
gets() { stat "d['requests'].get('GET /v1/batch-query/jobs/$J', 0)"; }
fault() { zuora_ctl POST /_control/fault "$1" >/dev/null; }
# no_more_polls NAME: the job's poll count does not move for longer than
# the watch's 5 s interval.
no_more_polls() {
    nm0=$(gets)
    sleep 6
    nm1=$(gets)
    [ "$nm1" = "$nm0" ] && lk_pass "$1: no further poll" || lk_fail "$1: no further poll" "$nm0 -> $nm1 requests"
}

# open_detail [VAR=VALUE...]: a console on the job's detail.
open_detail() {
    tui_tmux_start jw 230 30 ZSECRET=s3cret "$@"
    lk_check "the console starts" tui_wait_for jw "Overview" 15
    tui_keys jw ":job $J" Enter
    lk_check "Job detail opens on the running job" tui_wait_for jw "Job $J  executing" 15
}
# status_says NAME TEXT: the status line (the last line) says TEXT.
status_says() {
    ss_i=0
    while [ $ss_i -lt 100 ]; do
        tui_screen jw | tail -1 | grep -qF -- "$2" && { lk_pass "$1"; return 0; }
        sleep 0.1; ss_i=$((ss_i + 1))
    done
    lk_fail "$1" "'$2' not in the status line: $(tui_screen jw | tail -1)"
}
quit_console() {
    tui_screen jw > "$T/last.txt"
    tui_check_inert "$T/last.txt" >/dev/null && lk_pass "the screen is inert" || lk_fail "inert" "control bytes"
    tui_quit jw
}

tui_tmux_init
# The default ceiling (9 h): only the error can end these watches.
open_detail

# ---- 90009: not authorised, in an HTTP 200 body
fault "{\"match\":\"GET /v1/batch-query/jobs/$J\",\"status\":200,\"times\":-1,
  \"body\":{\"status\":\"error\",\"errorCode\":\"90009\",\"message\":\"You are not authorised to run AQuA\"}}"
g0=$(gets)
tui_keys jw w
status_says "90009: the watch stops at once, in Zuora's words" \
    "stopped watching job $J: Zuora refused the request: error 90009 (HTTP 200 90009: You are not authorised to run AQuA)"
lk_check "90009: no longer watching" tui_wait_gone jw "(watching)"
g1=$(gets)
[ $((g1 - g0)) -eq 1 ] && lk_pass "90009: one request, no retry" || lk_fail "90009: one request" "$g0 -> $g1"
no_more_polls 90009
zuora_ctl DELETE /_control/fault >/dev/null

# ---- 401 even with a fresh token
fault "{\"match\":\"GET /v1/batch-query/jobs/$J\",\"status\":401,\"times\":-1}"
g0=$(gets); t0=$(stat "d['tokens_issued']")
tui_keys jw w
status_says "401: the watch stops at once, naming the credentials" \
    "stopped watching job $J: Zuora refused the credentials"
lk_check "401: no longer watching" tui_wait_gone jw "(watching)"
g1=$(gets); t1=$(stat "d['tokens_issued']")
[ $((t1 - t0)) -eq 1 ] && lk_pass "401: one fresh token asked for" || lk_fail "401: one fresh token" "$t0 -> $t1"
[ $((g1 - g0)) -eq 2 ] && lk_pass "401: the poll, and once more with the fresh token" \
    || lk_fail "401: two requests" "$g0 -> $g1"
no_more_polls 401
zuora_ctl DELETE /_control/fault >/dev/null

quit_console

# ---- the ceiling: still executing after LAKEOP_WATCH_CEILING seconds
open_detail LAKEOP_WATCH_CEILING=3
g0=$(gets)
tui_keys jw w
lk_check "ceiling: watching" tui_wait_for jw "Job $J  executing  (watching)" 5
status_says "ceiling: the watch stops, the job probably stuck" \
    "stopped watching job $J: still executing after 3 s, longer than Zuora lets a job run: it is probably stuck"
lk_check "ceiling: no longer watching" tui_wait_gone jw "(watching)"
g1=$(gets)
[ $((g1 - g0)) -eq 1 ] && lk_pass "ceiling: polled once before the ceiling" || lk_fail "ceiling: one poll" "$g0 -> $g1"
no_more_polls ceiling
quit_console
lk_done
