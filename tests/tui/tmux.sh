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
tui_tmux_init

tui_tmux_start main 100 30
lk_check "starts on the Overview" tui_wait_for main "cubic__dmap__agg_sample"
lk_check "dataset name inert" tui_wait_for main 'evil^[[31mRED\xFF^G'
lk_check "database health shown" tui_wait_for main "db:ok"
tui_keys main j j
tui_keys main : audit Enter
lk_check "command mode opens Audit" tui_wait_for main "mallory"
lk_check "audit message inert" tui_wait_for main 'bad ^[[2J\xFE\xFF'
tui_keys main / bob Enter
lk_check "filter" tui_wait_for main "filter 'bob'"
tui_keys main Escape
tui_keys main '>' '>'
lk_check "sort by column" tui_wait_for main "sort Operator"
tui_keys main I
lk_check "sort reversed" tui_wait_for main "sort Operator desc"
tui_keys main '?'
lk_check "help" tui_wait_for main "Help: keys on the Audit screen"
tui_keys main Escape
tui_keys main Enter
lk_check "detail on Enter" tui_wait_for main '"objects": ['
tui_keys main Escape
tui_psql "INSERT INTO lakeop.audit (operator, env, action, target, result, message) VALUES ('carol', 'CODE', 'copy', 'live-target', 'ok', 'live update row')"
lk_check "live update through LISTEN/NOTIFY" tui_wait_for main "live update row" 10
tui_tmux resize-window -t main -x 60 -y 15
sleep 0.5
lk_check "resize redraws" tui_wait_for main "Audit"
if tui_screen main | python3 -c 'import sys; sys.exit(any(len(l.rstrip("\n")) > 60 for l in sys.stdin))'; then lk_pass "resize fits 60 columns"; else lk_fail "resize fits 60 columns" "$(tui_screen main)"; fi
tui_keys main Tab
lk_check "Tab switches top-level screens" tui_wait_for main "Kind"
tui_keys main q
lk_check "q quits" tui_wait_exit main
[ "$(cat "$d/main.exit" 2>/dev/null)" = 0 ] && lk_pass "exit status 0" || lk_fail "exit status 0" "$(cat "$d/main.exit" "$d/main.err")"
tui_no_asan "$d/main.err"

# NO_COLOR: attributes only, no colour escape sequences.
tui_tmux_start nocolor 100 30 NO_COLOR=1
lk_check "NO_COLOR starts" tui_wait_for nocolor "cubic__dmap__agg_sample"
if tui_tmux capture-pane -p -e -t nocolor | LC_ALL=C grep -qE "$(printf '\033')\[[0-9;]*(3[0-7]|4[0-7]|38;5|48;5)[;m]"; then
    lk_fail "NO_COLOR has no colours" "$(tui_tmux capture-pane -p -e -t nocolor | cat -v | head -5)"
else
    lk_pass "NO_COLOR has no colours"
fi
tui_keys nocolor q
tui_wait_exit nocolor
tui_no_asan "$d/nocolor.err"

# A 40x10 terminal: still correct.
tui_tmux_start small 40 10
lk_check "40x10 shows the header" tui_wait_for small "lakeop"
lk_check "40x10 shows rows" tui_wait_for small "dataset"
tui_keys small : audit Enter
lk_check "40x10 audit" tui_wait_for small "Time"
tui_keys small q
lk_check "40x10 quits" tui_wait_exit small
tui_no_asan "$d/small.err"

# SIGTERM: the terminal is restored and the process ends cleanly.
tui_tmux_start term 80 24
tui_wait_for term "cubic__dmap__agg_sample" >/dev/null
# The pane's own child, never another run's console (pgrep -f would match any).
pid=$(tui_console_pid term)
[ -n "$pid" ] && [ "$(readlink "/proc/$pid/exe")" = "$(readlink -f "$LK_BIN")" ] \
    && lk_pass "the console's pid is the pane's child" || lk_fail "the console's pid is the pane's child" "pid '$pid'"
[ -n "$pid" ] && kill -TERM "$pid"
lk_check "SIGTERM ends the console" tui_wait_exit term
[ "$(cat "$d/term.exit" 2>/dev/null)" = 130 ] && lk_pass "SIGTERM exit status 130" || lk_fail "SIGTERM exit status 130" "$(cat "$d/term.exit" "$d/term.err")"
tui_no_asan "$d/term.err"

lk_done
