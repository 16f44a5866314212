#!/bin/sh
# The toolkit's dialogs, mouse and crash handling in a real terminal (tmux),
# driven through real screens:
#   - confirm (ingest on Datasets): focus starts on Cancel, Enter alone cancels;
#   - typed confirmation (PROD): OK does nothing until the input is "PROD";
#   - input with validation (export on Jobs): bad input is refused with why;
#   - progress (a 40 MB ingest through a proxy whose pace the test sets):
#     bytes, records, rate, ETA; "stalled" after 4 s without progress; the
#     y/N questions (quit, cancel) default to No; Esc sends it to the
#     background and :progress brings it back; cancel asks, then cancels and
#     nothing reaches raw-hist;
#   - mouse: a click selects a row, the wheel scrolls; LAKEOP_MOUSE=0 and
#     mouse = false leave the terminal's mouse reporting off;
#   - SIGABRT, SIGSEGV (ASan's own SEGV handler off for that run:
#     ASAN_OPTIONS=handle_segv=0, else ASan reports and exits first) and SIGHUP
#     leave the terminal in normal mode: main screen, cursor visible.
. "$(dirname "$0")/../lib/common.sh"
. "$LK_ROOT/tests/lib/pg.sh"
. "$LK_ROOT/tests/lib/s3.sh"
. "$LK_ROOT/tests/tui/lib.sh"
command -v tmux >/dev/null || { lk_fail "tmux" "tmux is not installed"; lk_done; exit 1; }
pg_start || exit 1
tui_seed lk_tui_dialogs || { lk_fail "seed" "could not seed"; lk_done; exit 1; }
d=$TUI_DIR
s3rver_start || { lk_fail "s3rver" "did not start"; lk_done; exit 1; }
pport=$(lk_free_port)
python3 "$LK_ROOT/tests/doubles/s3_slow_proxy.py" --port "$pport" --upstream "$LK_S3RVER_URL" \
    --rate 3000000 >"$d/proxy.log" 2>&1 &
lk_on_exit "kill $!"
lk_wait_port "$pport" || { lk_fail "proxy" "$(cat "$d/proxy.log")"; lk_done; exit 1; }
PROXY=http://127.0.0.1:$pport
proxy() { curl -sS -X POST -H 'Content-Type: application/json' --data-binary "${2:-{\}}" "$PROXY/_proxy/$1" >/dev/null; }
fx=$LK_ROOT/tests/fixtures/ingest

lk_aws "$LK_S3RVER_URL" s3 mb s3://incoming >/dev/null
lk_aws "$LK_S3RVER_URL" s3 mb s3://raw-hist >/dev/null
python3 -c '
import sys
with open(sys.argv[1], "w") as f:
    f.write("id,name,amount\n")
    row = 0
    while f.tell() < 40_000_000:
        f.write("%d,name number %d,%d.5\n" % (row, row, row % 1000)); row += 1
' "$d/big.csv"
lk_aws "$LK_S3RVER_URL" s3 cp "$d/big.csv" s3://incoming/big/big.csv >/dev/null
lk_aws "$LK_S3RVER_URL" s3 cp "$fx/good.csv" s3://incoming/small/good.csv >/dev/null
cat >> "$d/config" <<EOC

[env "NOMOUSE"]
database = host=$LK_PG_HOST port=$LK_PG_PORT user=postgres dbname=$TUI_DB
operator = alice
mouse = false

[dataset "big"]
incoming = s3://incoming/big/
raw_hist = s3://raw-hist/big/
schema = $fx/schema.json

[dataset "small"]
incoming = s3://incoming/small/
raw_hist = s3://raw-hist/small/
schema = $fx/schema.json
EOC
S3ENV="LAKEOP_S3_ENDPOINT=$PROXY AWS_ACCESS_KEY_ID=S3RVER AWS_SECRET_ACCESS_KEY=S3RVER AWS_REGION=us-east-1"
tui_tmux_init
flag() { tui_tmux display -p -t "$1" "#{$2}"; }
q() { psql -X -qAt -h "$LK_PG_HOST" -p "$LK_PG_PORT" -U postgres -d "$TUI_DB" -c "$1"; }
loads_of() { q "SELECT count(*) FROM lakeop.loads l JOIN lakeop.datasets d ON d.id = l.dataset_id WHERE d.name = '$1'"; }
shows() { tui_screen "$1" | grep -qF -- "$2"; }

# ---- mouse ---------------------------------------------------------------------
# xterm-256color's terminfo has kmous=\E[<, so ncurses reads SGR reports
# (1-based column;row; the Audit table's first row is on row 3).
tui_tmux_start mouse 100 20 TERM=xterm-256color LAKEOP_SCREEN=audit
lk_check "Audit starts" tui_wait_for mouse "mallory"
[ "$(flag mouse mouse_standard_flag)$(flag mouse mouse_sgr_flag)" = 11 ] && lk_pass "mouse reporting on (SGR)" \
    || lk_fail "mouse reporting on (SGR)" "standard $(flag mouse mouse_standard_flag) sgr $(flag mouse mouse_sgr_flag)"
tui_keys mouse -l "$(printf '\033[<0;20;6M\033[<0;20;6m')"
tui_keys mouse Enter
lk_check "a click selected the 4th row (Enter opens it)" tui_wait_for mouse "Audit entry 58"
tui_keys mouse Escape
tui_wait_for mouse "mallory" >/dev/null
# The wheel moves the selection 3 rows a notch (the view follows it).
wheel() { tui_keys mouse -l "$(printf '\033[<%s;20;8M' "$1")"; }
wheel 65; wheel 65
tui_keys mouse Enter
lk_check "two notches down: 6 rows further (Enter opens it)" tui_wait_for mouse "Audit entry 52"
tui_keys mouse Escape
tui_wait_for mouse "mallory" >/dev/null
for i in 1 2 3 4 5 6; do wheel 65; done
lk_check "further down the view scrolls" tui_wait_gone mouse "mallory"
for i in 1 2 3 4 5 6 7 8 9 10; do wheel 64; done
lk_check "and back up" tui_wait_for mouse "mallory"
tui_keys mouse q
tui_wait_exit mouse >/dev/null
tui_no_asan "$d/mouse.err"
for how in LAKEOP_MOUSE=0 LAKEOP_ENV=NOMOUSE; do
    tui_tmux_start nomouse 100 20 TERM=xterm-256color LAKEOP_SCREEN=audit "$how"
    tui_wait_for nomouse "mallory" >/dev/null
    f="$(flag nomouse mouse_standard_flag)$(flag nomouse mouse_button_flag)$(flag nomouse mouse_any_flag)$(flag nomouse mouse_sgr_flag)"
    [ "$f" = 0000 ] && lk_pass "$how: no mouse reporting" || lk_fail "$how: no mouse reporting" "flags $f"
    tui_keys nomouse q
    tui_wait_exit nomouse >/dev/null
done

# ---- confirm: focus on Cancel; the progress dialog and its questions ---------
# shellcheck disable=SC2086
tui_tmux_start ing 160 30 TERM=xterm-256color LAKEOP_SCREEN=datasets $S3ENV
lk_check "Datasets lists the configured datasets" tui_wait_for ing " big "
tui_keys ing / big Enter
tui_keys ing i
lk_check "ingest asks first, showing the target" tui_wait_for ing "target: big"
lk_check "focus on Cancel" tui_wait_for ing "[ Cancel ]  [ OK ]"
tui_keys ing Enter
lk_check "Enter alone cancels" tui_wait_for ing "ingest: nothing started"
[ "$(loads_of big)" = 0 ] && lk_pass "nothing registered after Enter alone" || lk_fail "nothing registered after Enter alone" "$(loads_of big) loads"

tui_keys ing i
tui_wait_for ing "target: big" >/dev/null
tui_keys ing Tab Enter
lk_check "progress: bytes of the total" tui_wait_for ing "of 40.0 MB" 10
lk_check "progress: records" tui_wait_for ing "records"
lk_check "progress: rate and ETA" tui_wait_for ing "MB/s, ETA 0:00:" 10
if tui_screen ing | grep -qE 'ETA 0:00:[0-9]{2}$|ETA 0:00:[0-9]{2} '; then lk_pass "ETA counts down"; else lk_fail "ETA counts down" "$(tui_screen ing)"; fi
proxy pause
lk_check "stalled after 4 s without progress" tui_wait_for ing "(stalled)" 9
tui_keys ing c
lk_check "cancel asks first" tui_wait_for ing "Cancel Ingest? Nothing partial is kept."
lk_check "y/N with No focused" tui_wait_for ing "[y/N] [ No ]"
tui_keys ing Enter
lk_check "Enter alone does not cancel" tui_wait_gone ing "Cancel Ingest?"
shows ing "Background (Esc)" && lk_pass "the progress dialog stays" || lk_fail "the progress dialog stays" "$(tui_screen ing)"
tui_keys ing Escape
lk_check "Esc sends it to the background" tui_wait_gone ing "Background (Esc)"
tui_screen ing | tail -1 | grep -qE "\| Ingest [0-9]+% \(stalled\)$" && lk_pass "the status line follows it: percent, stalled" \
    || lk_fail "the status line follows it: percent, stalled" "$(tui_screen ing | tail -1)"
tui_keys ing q
lk_check "quit while busy asks y/N" tui_wait_for ing "Quit anyway?"
tui_keys ing Enter
lk_check "Enter alone answers No" tui_wait_gone ing "Quit anyway?"
sleep 0.3
[ ! -s "$d/ing.exit" ] && lk_pass "still running after No" || lk_fail "still running after No" "$(cat "$d/ing.exit")"
tui_keys ing : progress Enter
lk_check ":progress brings it back" tui_wait_for ing "Background (Esc)"
proxy resume
lk_check "moving again: not stalled" tui_wait_gone ing "(stalled)" 6
tui_keys ing c
tui_wait_for ing "Cancel Ingest?" >/dev/null
tui_keys ing y
lk_check "y cancels: the ingest ends" tui_wait_for ing "ingest ended with errors" 20
tui_keys ing L
lk_check "the log says it was cancelled" tui_wait_for ing "cancelling Ingest"
tui_keys ing Escape
left=$(lk_aws "$LK_S3RVER_URL" s3 ls --recursive s3://raw-hist/ 2>&1)
[ -z "$left" ] && lk_pass "nothing partial in raw-hist" || lk_fail "nothing partial in raw-hist" "$left"
st=$(q "SELECT l.status FROM lakeop.loads l JOIN lakeop.datasets d ON d.id = l.dataset_id WHERE d.name = 'big'")
[ -n "$st" ] && [ "$st" != archived ] && lk_pass "the load is not archived ($st)" || lk_fail "the load is not archived" "'$st'"
tui_keys ing q
lk_check "quits when idle without asking" tui_wait_exit ing
tui_no_asan "$d/ing.err"

# ---- typed confirmation in a protected environment --------------------------
# shellcheck disable=SC2086
tui_tmux_start prod 120 30 LAKEOP_ENV=PROD LAKEOP_SCREEN=datasets $S3ENV
lk_check "PROD starts" tui_wait_for prod " small "
tui_keys prod / small Enter
tui_keys prod i
lk_check "asks for the environment's name" tui_wait_for prod "type PROD to confirm:"
tui_keys prod Tab Enter
sleep 0.3
n=$(tui_screen prod | grep -c "type PROD to confirm")
[ "$n" = 2 ] && lk_pass "OK with nothing typed: says what to type, stays open" || lk_fail "OK with nothing typed" "$(tui_screen prod)"
tui_keys prod -l prod
tui_keys prod Enter
sleep 0.3
shows prod "type PROD to confirm:" && [ "$(loads_of small)" = 0 ] && lk_pass "the wrong name does nothing" \
    || lk_fail "the wrong name does nothing" "$(tui_screen prod)"
tui_keys prod C-u
tui_keys prod -l PROD
tui_keys prod Enter
lk_check "the right name runs it" tui_wait_for prod "ingest done: 1 registered, 1 archived" 20
[ "$(q "SELECT count(*) FROM lakeop.audit WHERE env = 'PROD' AND action LIKE 'ingest%'")" -ge 1 ] \
    && lk_pass "audited in PROD" || lk_fail "audited in PROD" "$(q "SELECT action, env FROM lakeop.audit ORDER BY id DESC LIMIT 3")"
tui_keys prod q
tui_wait_exit prod >/dev/null
tui_no_asan "$d/prod.err"

# ---- input line with validation ----------------------------------------------
tui_tmux_start exp 120 30 LAKEOP_SCREEN=jobs
lk_check "Jobs starts" tui_wait_for exp "Jobs"
tui_keys exp e
lk_check "export asks where from" tui_wait_for exp "From (afterLastIncrement or YYYY-MM-DD):"
tui_keys exp C-u
tui_keys exp -l 'last tuesday'
tui_keys exp Enter
sleep 0.3
if shows exp "From (afterLastIncrement or YYYY-MM-DD):" && shows exp "Enter: OK   Esc: cancel" \
   && ! shows exp "Submit export"; then lk_pass "bad input refused, the dialog stays"; else lk_fail "bad input refused, the dialog stays" "$(tui_screen exp)"; fi
why=$(tui_screen exp | grep -A1 'last tuesday_' | tail -1 | sed 's/^[ │|]*//')
[ -n "$why" ] && ! echo "$why" | grep -q 'Enter: OK' && lk_pass "with a reason under the line ($why)" \
    || lk_fail "with a reason under the line" "$(tui_screen exp)"
tui_keys exp Escape
lk_check "Esc closes it, nothing submitted" tui_wait_gone exp "From (afterLastIncrement"
tui_keys exp q
tui_wait_exit exp >/dev/null
tui_no_asan "$d/exp.err"

# ---- signals restore the terminal ---------------------------------------------
for sig in ABRT SEGV HUP; do
    name=sig$sig
    extra=
    [ $sig = SEGV ] && extra="ASAN_OPTIONS=handle_segv=0:detect_leaks=0"
    tui_tmux_start "$name" 100 20 $extra
    tui_wait_for "$name" "cubic__dmap__agg_sample" >/dev/null
    before="$(flag "$name" alternate_on)$(flag "$name" cursor_flag)"
    pid=$(tui_console_pid "$name")
    [ -n "$pid" ] && kill -$sig "$pid"
    tui_wait_exit "$name" >/dev/null
    sleep 0.2
    after="$(flag "$name" alternate_on)$(flag "$name" cursor_flag)"
    [ "$before" = 10 ] && [ "$after" = 01 ] && lk_pass "SIG$sig: main screen and cursor back" \
        || lk_fail "SIG$sig: main screen and cursor back" "alternate/cursor before $before after $after"
    case $sig in
        HUP) want=130 ;; ABRT) want=134 ;; SEGV) want=139 ;;
    esac
    [ "$(cat "$d/$name.exit")" = $want ] && lk_pass "SIG$sig: exit status $want" \
        || lk_fail "SIG$sig: exit status $want" "$(cat "$d/$name.exit" "$d/$name.err")"
    tui_screen "$name" | grep -q "Overview" && lk_fail "SIG$sig: the console's screen is gone" "$(tui_screen "$name")" \
        || lk_pass "SIG$sig: the console's screen is gone"
done
tui_no_asan "$d/sigHUP.err"

lk_done
