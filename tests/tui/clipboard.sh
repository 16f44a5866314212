#!/bin/sh
# y copies the selected id with OSC 52, in tmux with set-clipboard on (tmux
# turns the sequence into a paste buffer, as a terminal over SSH would into
# its clipboard): the Overview copies the bare job id or dataset name (not
# its internal "job:" key), the Loads screen and the load's detail copy the
# load key.
. "$(dirname "$0")/../lib/common.sh"
. "$LK_ROOT/tests/lib/pg.sh"
. "$LK_ROOT/tests/tui/lib.sh"
command -v tmux >/dev/null || { lk_fail "tmux" "tmux is not installed"; lk_done; exit 1; }
pg_start || exit 1
tui_seed lk_tui_clipboard || { lk_fail "seed" "could not seed"; lk_done; exit 1; }
d=$TUI_DIR

tui_tmux_init
tui_tmux_start clip 160 30
tui_tmux set -s set-clipboard on
tui_wait_for clip "Kind" 20 >/dev/null || { lk_fail "the Overview" "$(tui_screen clip)"; lk_done; exit 1; }

copied() {   # EXPECTED: the newest paste buffer holds exactly EXPECTED
    i=0
    while [ $i -lt 30 ]; do
        [ "$(tui_tmux show-buffer 2>/dev/null)" = "$1" ] && return 0
        sleep 0.1; i=$((i + 1))
    done
    echo "the buffer holds '$(tui_tmux show-buffer 2>&1)', not '$1'"
    return 1
}

tui_keys clip / 2c92a0fd7a1b2c3e Enter
tui_wait_for clip "error" 5 >/dev/null
tui_keys clip y
lk_check "Overview: y copies the bare job id" copied 2c92a0fd7a1b2c3e
lk_check "the status line says what was copied" tui_wait_for clip "copied to the clipboard: 2c92a0fd7a1b2c3e" 5
tui_keys clip Escape / agg_sample Enter
tui_wait_for clip "cubic__dmap__agg_sample" 5 >/dev/null
tui_keys clip y
lk_check "Overview: y copies the dataset's name" copied cubic__dmap__agg_sample

tui_keys clip : "loads" Enter
tui_wait_for clip " k10 " 10 >/dev/null
tui_keys clip / old Enter
tui_wait_gone clip " k10 " 10 >/dev/null
tui_keys clip y
lk_check "Loads: y copies the load key" copied old
tui_keys clip Enter
tui_wait_for clip "incoming" 10 >/dev/null
tui_tmux set-buffer placeholder
tui_keys clip y
lk_check "load detail: y copies the load key" copied old

tui_keys clip q
tui_wait_exit clip >/dev/null
tui_no_asan "$d/clip.err"
lk_done
