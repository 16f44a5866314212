#!/bin/sh
# Quitting while long work runs in the background: a copy from Job detail
# is sent away with Esc, Job detail is closed, q asks, y: the console
# cancels the copy instead of waiting for it, says it is stopping it, and
# exits at once; nothing (not even a temporary file) is left at the target
# and the audit says the copy was cancelled.  Twice: a copy waiting on a
# download that would take a minute to start, and one cancelled in the
# middle of a large file.  Then SIGTERM does the same (exit status 130).
# Against the Zuora double, a file:// store and Postgres, in tmux.
. "$(dirname "$0")/../lib/common.sh"
. "$LK_ROOT/tests/lib/pg.sh"
. "$LK_ROOT/tests/lib/doubles.sh"
. "$LK_ROOT/tests/lib/copy.sh"
. "$LK_ROOT/tests/tui/lib.sh"
set -u

command -v tmux >/dev/null || { lk_fail "tmux" "tmux is not installed"; lk_done; exit 1; }
pg_start || exit 1
lk_tmpdir >/dev/null           # in this shell, so that every $(lk_tmpdir) is the same folder
TUI_DIR=$(lk_tmpdir)/quit_cancels
mkdir -p "$TUI_DIR/home" "$TUI_DIR/lake/raw-account"
DB=$(pg_new_db lk_tui_quit_cancels)
LK_COPY_DB=$DB
zuora_double_start --job-seconds 0 || { lk_fail "zuora double" "did not start"; lk_done; exit 1; }
# Files come through a relay that sends them at 4 MB/s, so a large one is
# still being copied when the test quits.
cat >"$TUI_DIR/relay.py" <<'PY'
import socket, sys, threading, time
port, upstream, rate = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
srv = socket.socket()
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("127.0.0.1", port))
srv.listen(16)
def pipe(src, dst, throttle):
    try:
        while True:
            data = src.recv(16384)
            if not data:
                break
            dst.sendall(data)
            if throttle:
                time.sleep(len(data) / rate)
    except OSError:
        pass
    for s in (src, dst):
        try:
            s.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
def serve(client):
    try:
        up = socket.create_connection(("127.0.0.1", upstream))
    except OSError:
        client.close()
        return
    threading.Thread(target=pipe, args=(client, up, False), daemon=True).start()
    pipe(up, client, True)
    client.close()
    up.close()
while True:
    c, _ = srv.accept()
    threading.Thread(target=serve, args=(c,), daemon=True).start()
PY
RELAY_PORT=$(lk_free_port)
python3 "$TUI_DIR/relay.py" "$RELAY_PORT" "$LK_ZUORA_PORT" 4000000 &
lk_on_exit "kill $!"
lk_wait_port "$RELAY_PORT" || { lk_fail "relay" "did not start"; lk_done; exit 1; }
cat >"$TUI_DIR/config" <<EOF
[env "CODE"]
database        = $DB
operator        = alice
zuora.url       = $LK_ZUORA_URL
zuora.file_url  = http://127.0.0.1:$RELAY_PORT
zuora.client_id = lakeop-test
zuora.client_secret = env:ZSECRET
zuora.partner   = guardian
zuora.project   = copy-test
zuora.timezone  = UTC
s3.endpoint     = file://$TUI_DIR/lake

[object "Account"]
zoql  = SELECT Id, Name FROM Account
raw   = s3://raw-account/Account.csv

[env "CODE2"]
database        = $DB
operator        = alice
EOF
chmod 600 "$TUI_DIR/config"
export LAKEOP_CONFIG="$TUI_DIR/config" HOME="$TUI_DIR/home" XDG_STATE_HOME="$TUI_DIR/home/state" ZSECRET=s3cret TZ=UTC
unset LAKEOP_ENV XDG_CONFIG_HOME LAKEOP_DATABASE_URL LAKEOP_ZUORA_URL LAKEOP_S3_ENDPOINT
: "${ASAN_OPTIONS:=}" "${UBSAN_OPTIONS:=}"
"$LK_BIN" jobs >/dev/null 2>"$TUI_DIR/migrate.err" || { lk_fail "migrate" "$(cat "$TUI_DIR/migrate.err")"; lk_done; exit 1; }

J=2c92c0f9725046a2017255f7d84e5b01
B=2c92c0f9725046a2017255f7d8925b01
F=2c92c09472503749017255fc3c937b01
J2=2c92c0f9725046a2017255f7d84e5b02
B2=2c92c0f9725046a2017255f7d8925b02
F2=2c92c09472503749017255fc3c937b02
seed_job "$J" "$B:Account:57:$F"
# A large file (500,000 records of 100 bytes, 12 s through the relay):
# cancelled half-way, with a temporary file at the target.
zuora_ctl POST /_control/file "{\"fileId\":\"$F2\",\"records\":500000,\"quoted_newline_every\":0,\"record_bytes\":100,\"object\":\"Account\"}" >/dev/null
seed_job "$J2" "$B2:Account:500000:$F2"

audit_of() {   # FILE: result and message of the copy's audit row
    psql_q "SELECT result || ': ' || message FROM lakeop.audit WHERE action = 'copy' AND target = '$1' ORDER BY id DESC LIMIT 1"
}
nothing_at_target() {   # NAME
    left=$(find "$TUI_DIR/lake/raw-account" -type f | wc -l)
    [ "$left" = 0 ] && lk_pass "$1: nothing at the target, not even a temporary file" ||
        lk_fail "$1: something left at the target" "$(find "$TUI_DIR/lake/raw-account" -type f -exec ls -l {} +)"
}
now_ms() { python3 -c 'import time; print(int(time.time()*1000))'; }
wait_exit_ms() {   # NAME: waits (at most 20 s) for the console to exit; prints how long it took
    we_t0=$(now_ms); we_i=0
    while [ $we_i -lt 200 ] && [ ! -s "$TUI_DIR/$1.exit" ]; do sleep 0.1; we_i=$((we_i + 1)); done
    echo $(( $(now_ms) - we_t0 ))
}
start_copy() {   # NAME JOB: Job detail, c, confirm, the progress dialog
    tui_tmux_start "$1" 160 40 ZSECRET=s3cret
    lk_check "$1: the console starts" tui_wait_for "$1" "lakeop" 20
    tui_keys "$1" : "job $2" Enter
    lk_check "$1: Job detail" tui_wait_for "$1" "Account: not copied" 20
    tui_keys "$1" c
    lk_check "$1: the plan" tui_wait_for "$1" "Copy 1 of 1 file" 20
    tui_keys "$1" c
    lk_check "$1: the confirmation" tui_wait_for "$1" "Copy files"
    tui_keys "$1" Tab Enter
    lk_check "$1: the progress dialog" tui_wait_for "$1" "Copy to the raw buckets"
}
to_background_and_close() {   # NAME: Esc sends the copy away, Esc closes Job detail
    tui_keys "$1" Escape
    lk_check "$1: in the background" tui_wait_for "$1" "copying "
    tui_keys "$1" Escape
    lk_check "$1: Job detail closed, the copy still runs" tui_wait_gone "$1" "c: copy to raw"
    tui_screen "$1" | grep -qF "Copy to the raw buckets" && lk_pass "$1: the status line still shows the copy" ||
        lk_fail "$1: the status line shows the copy" "$(tui_screen "$1")"
}
quit_yes() {   # NAME: q, the question, y; then how long the console took to exit
    tui_keys "$1" q
    lk_check "$1: q asks first while the copy runs" tui_wait_for "$1" "Quit anyway?"
    tui_screen "$1" | grep -qF "cancelled" && lk_pass "$1: the question says the work is cancelled" ||
        lk_fail "$1: the question says the work is cancelled" "$(tui_screen "$1")"
    tui_tmux send-keys -t "$1" y
}

tui_tmux_init

# ---- a copy that would wait a minute for its first byte ------------------
zuora_ctl POST /_control/fault "{\"match\":\"GET /v1/file/$F\",\"delay_ms\":60000,\"times\":-1}" >/dev/null
start_copy stalled "$J"
to_background_and_close stalled
quit_yes stalled
ms=$(wait_exit_ms stalled)
[ "$(cat "$TUI_DIR/stalled.exit" 2>/dev/null)" = 0 ] && lk_pass "stalled: exit status 0" ||
    lk_fail "stalled: exit status 0" "$(cat "$TUI_DIR/stalled.exit" 2>/dev/null) $(tail -20 "$TUI_DIR/stalled.err")"
[ "$ms" -lt 10000 ] && lk_pass "stalled: quits in $ms ms, not after the minute the download would take" ||
    lk_fail "stalled: quits promptly" "$ms ms"
[ "$(file_gets "$F")" -ge 1 ] && lk_pass "stalled: the download had started" || lk_fail "stalled: download started" "$(file_gets "$F")"
nothing_at_target stalled
a=$(audit_of "$F")
case "$a" in "failed: "*cancelled*) lk_pass "stalled: the audit says cancelled ($a)" ;; *) lk_fail "stalled: audit" "'$a'" ;; esac
[ "$(psql_q "SELECT count(*) FROM lakeop.zuora_batches WHERE batch_id = '$B' AND copied_at IS NOT NULL")" = 0 ] &&
    lk_pass "stalled: the batch is not recorded as copied" || lk_fail "stalled: batch recorded" "copied_at set"
tui_no_asan "$TUI_DIR/stalled.err"
zuora_ctl DELETE /_control/fault >/dev/null

# ---- cancelled in the middle of a large file --------------------------------
start_copy midway "$J2"
lk_check "midway: bytes are flowing" tui_wait_for midway " MB" 20
to_background_and_close midway
partial=$(find "$TUI_DIR/lake/raw-account" -type f | wc -l)
[ "$partial" -ge 1 ] && lk_pass "midway: a temporary file is being written when q is pressed" ||
    lk_fail "midway: a temporary file is being written" "none: the copy was not under way"
quit_yes midway
# The stopping message, while the worker winds down (it may be quick).
ms=$(wait_exit_ms midway)
[ "$(cat "$TUI_DIR/midway.exit" 2>/dev/null)" = 0 ] && lk_pass "midway: exit status 0" ||
    lk_fail "midway: exit status 0" "$(cat "$TUI_DIR/midway.exit" 2>/dev/null) $(tail -20 "$TUI_DIR/midway.err")"
[ "$ms" -lt 10000 ] && lk_pass "midway: quits in $ms ms" || lk_fail "midway: quits promptly" "$ms ms"
nothing_at_target midway
a=$(audit_of "$F2")
case "$a" in "failed: "*cancelled*) lk_pass "midway: the audit says cancelled" ;; *) lk_fail "midway: audit" "'$a'" ;; esac
tui_no_asan "$TUI_DIR/midway.err"

# ---- SIGTERM while a copy runs in the background -----------------------------
zuora_ctl POST /_control/fault "{\"match\":\"GET /v1/file/$F\",\"delay_ms\":60000,\"times\":-1}" >/dev/null
start_copy signal "$J"
to_background_and_close signal
pid=$(tui_console_pid signal)
if [ -n "$pid" ]; then
    kill -TERM "$pid"
    ms=$(wait_exit_ms signal)
    [ "$(cat "$TUI_DIR/signal.exit" 2>/dev/null)" = 130 ] && lk_pass "signal: exit status 130" ||
        lk_fail "signal: exit status 130" "$(cat "$TUI_DIR/signal.exit" 2>/dev/null) $(tail -20 "$TUI_DIR/signal.err")"
    [ "$ms" -lt 10000 ] && lk_pass "signal: the copy is cancelled, the console ends in $ms ms" ||
        lk_fail "signal: ends promptly" "$ms ms"
else
    lk_fail "signal: the console's pid" "not found"
fi
nothing_at_target signal
[ "$(psql_q "SELECT count(*) FROM lakeop.audit WHERE action = 'copy' AND target = '$F' AND message LIKE '%cancelled%'")" = 2 ] &&
    lk_pass "signal: the audit says cancelled" || lk_fail "signal: audit" "$(psql_q "SELECT result, message FROM lakeop.audit WHERE action = 'copy'")"
tui_no_asan "$TUI_DIR/signal.err"
zuora_ctl DELETE /_control/fault >/dev/null

# ---- :env while a copy runs: asked as q is; no stays; yes cancels ---------
zuora_ctl POST /_control/fault "{\"match\":\"GET /v1/file/$F\",\"delay_ms\":60000,\"times\":-1}" >/dev/null
start_copy envsw "$J"
to_background_and_close envsw
tui_keys envsw : "env CODE2" Enter
lk_check "env: :env asks first while the copy runs" tui_wait_for envsw "(copying files to the raw buckets). Switch to"
tui_keys envsw n
lk_check "env: no stays on the environment" tui_wait_for envsw "staying on CODE"
tui_screen envsw | grep -qF "Copy to the raw buckets" && lk_pass "env: no left the copy running" ||
    lk_fail "env: no left the copy running" "$(tui_screen envsw)"
tui_keys envsw : "env CODE2" Enter
lk_check "env: asked again" tui_wait_for envsw "(copying files to the raw buckets). Switch to"
tui_keys envsw y
lk_check "env: yes switches" tui_wait_for envsw " CODE2 " 20
nothing_at_target envsw
[ "$(psql_q "SELECT count(*) FROM lakeop.audit WHERE action = 'copy' AND target = '$F' AND message LIKE '%cancelled%'")" = 3 ] &&
    lk_pass "env: the copy was cancelled, not waited for" || lk_fail "env: audit" "$(psql_q "SELECT result, message FROM lakeop.audit WHERE action = 'copy'")"
tui_keys envsw q
tui_wait_exit envsw >/dev/null
[ "$(cat "$TUI_DIR/envsw.exit" 2>/dev/null)" = 0 ] && lk_pass "env: exit status 0" ||
    lk_fail "env: exit status 0" "$(cat "$TUI_DIR/envsw.exit" 2>/dev/null) $(tail -20 "$TUI_DIR/envsw.err")"
tui_no_asan "$TUI_DIR/envsw.err"
zuora_ctl DELETE /_control/fault >/dev/null

lk_done
