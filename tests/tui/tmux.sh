#!/bin/sh
# The real binary in a real terminal (tmux): start, move, filter, sort,
# help, command mode, resize, live updates, quit; NO_COLOR; 40x10; SIGTERM.
# Untrusted text (escape sequences, invalid UTF-8) must appear inert.
. "$(dirname "$0")/../lib/common.sh"
. "$LK_ROOT/tests/lib/pg.sh"
. "$LK_ROOT/tests/tui/lib.sh"
command -v tmux >/dev/null || { lk_fail "tmux" "tmux is not installed"; lk_done; exit 1; }
pg_start || exit 1
tui_seed lk_tui_tmux || { lk_fail "seed" "could not seed"; lk_done; exit 1; }
d=$TUI_DIR
sock=lakeop-test-$$
T() { tmux -L "$sock" "$@"; }
lk_on_exit "tmux -L '$sock' kill-server"

start() {   # name cols rows [env assignments...]
    name=$1; cols=$2; rows=$3; shift 3
    rm -f "$d/$name.exit"
    T kill-session -t "$name" 2>/dev/null
    T new-session -d -s "$name" -x "$cols" -y "$rows" \
        "env LAKEOP_CONFIG='$LAKEOP_CONFIG' HOME='$HOME' XDG_STATE_HOME='$XDG_STATE_HOME' TZ=UTC \
         ASAN_OPTIONS='$ASAN_OPTIONS' UBSAN_OPTIONS='$UBSAN_OPTIONS' $* '$LK_BIN' 2>'$d/$name.err'; \
         echo \$? > '$d/$name.exit'; sleep 30"
}
screen() { T capture-pane -p -t "$1"; }
# wait_for NAME TEXT [seconds]: until the pane shows TEXT (fixed string).
wait_for() {
    i=0; limit=$(( ${3:-10} * 10 ))
    while [ $i -lt $limit ]; do
        screen "$1" | grep -qF -- "$2" && return 0
        sleep 0.1; i=$((i + 1))
    done
    echo "waited for '$2'; the screen:"; screen "$1"
    return 1
}
wait_exit() {
    i=0
    while [ $i -lt 100 ]; do [ -s "$d/$1.exit" ] && return 0; sleep 0.1; i=$((i + 1)); done
    return 1
}
keys() { s=$1; shift; T send-keys -t "$s" "$@"; sleep 0.15; }

start main 100 30
lk_check "starts on the Overview" wait_for main "cubic__dmap__agg_sample"
lk_check "dataset name inert" wait_for main 'evil^[[31mRED\xFF^G'
lk_check "database health shown" wait_for main "db:ok"
keys main j j
keys main : audit Enter
lk_check "command mode opens Audit" wait_for main "mallory"
lk_check "audit message inert" wait_for main 'bad ^[[2J\xFE\xFF'
keys main / bob Enter
lk_check "filter" wait_for main "filter 'bob'"
keys main Escape
keys main '>' '>'
lk_check "sort by column" wait_for main "sort Operator"
keys main I
lk_check "sort reversed" wait_for main "sort Operator desc"
keys main '?'
lk_check "help" wait_for main "Help: keys on the Audit screen"
keys main Escape
keys main Enter
lk_check "detail on Enter" wait_for main '"objects": ['
keys main Escape
tui_psql "INSERT INTO lakeop.audit (operator, env, action, target, result, message) VALUES ('carol', 'CODE', 'copy', 'live-target', 'ok', 'live update row')"
lk_check "live update through LISTEN/NOTIFY" wait_for main "live update row" 10
T resize-window -t main -x 60 -y 15
sleep 0.5
lk_check "resize redraws" wait_for main "Audit"
if screen main | python3 -c 'import sys; sys.exit(any(len(l.rstrip("\n")) > 60 for l in sys.stdin))'; then lk_pass "resize fits 60 columns"; else lk_fail "resize fits 60 columns" "$(screen main)"; fi
keys main Tab
lk_check "Tab switches top-level screens" wait_for main "Kind"
keys main q
lk_check "q quits" wait_exit main
[ "$(cat "$d/main.exit" 2>/dev/null)" = 0 ] && lk_pass "exit status 0" || lk_fail "exit status 0" "$(cat "$d/main.exit" "$d/main.err")"
tui_no_asan "$d/main.err"

# NO_COLOR: attributes only, no colour escape sequences.
start nocolor 100 30 NO_COLOR=1
lk_check "NO_COLOR starts" wait_for nocolor "cubic__dmap__agg_sample"
if T capture-pane -p -e -t nocolor | LC_ALL=C grep -qE "$(printf '\033')\[[0-9;]*(3[0-7]|4[0-7]|38;5|48;5)[;m]"; then
    lk_fail "NO_COLOR has no colours" "$(T capture-pane -p -e -t nocolor | cat -v | head -5)"
else
    lk_pass "NO_COLOR has no colours"
fi
keys nocolor q
wait_exit nocolor
tui_no_asan "$d/nocolor.err"

# A 40x10 terminal: still correct.
start small 40 10
lk_check "40x10 shows the header" wait_for small "lakeop"
lk_check "40x10 shows rows" wait_for small "dataset"
keys small : audit Enter
lk_check "40x10 audit" wait_for small "Time"
keys small q
lk_check "40x10 quits" wait_exit small
tui_no_asan "$d/small.err"

# SIGTERM: the terminal is restored and the process ends cleanly.
start term 80 24
wait_for term "cubic__dmap__agg_sample" >/dev/null
pid=$(pgrep -f "^$LK_BIN\$" | head -1)
[ -n "$pid" ] && kill -TERM "$pid"
lk_check "SIGTERM ends the console" wait_exit term
[ "$(cat "$d/term.exit" 2>/dev/null)" = 130 ] && lk_pass "SIGTERM exit status 130" || lk_fail "SIGTERM exit status 130" "$(cat "$d/term.exit" "$d/term.err")"
tui_no_asan "$d/term.err"

lk_done
