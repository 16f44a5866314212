#!/bin/sh
# The console's `:` history lives where `lakeop paths` says (core's
# cfg_state_path): read at start (Up recalls the last line of a previous
# run), appended to as lines run, and with a relative $XDG_STATE_HOME
# ignored (the XDG spec) by the console exactly as by `paths`.
. "$(dirname "$0")/../lib/common.sh"
. "$LK_ROOT/tests/lib/pg.sh"
. "$LK_ROOT/tests/tui/lib.sh"
pg_start || exit 1
tui_seed lk_tui_history || { lk_fail "seed" "could not seed"; lk_done; exit 1; }
d=$TUI_DIR

history_path() {   # what `lakeop paths --json` names as the history
    "$LK_BIN" paths --json | python3 -c '
import json, sys
print([p["path"] for p in json.load(sys.stdin)["paths"] if p["what"] == "history"][0])'
}
console() {   # SCRIPT: a headless scripted run; exit status and stderr kept
    LAKEOP_HEADLESS=1 LINES=24 COLUMNS=100 TERM=xterm-256color LAKEOP_SCRIPT="$1" \
        timeout 60 "$LK_BIN" >"$1.out" 2>"$1.err"
}

# ---- an absolute $XDG_STATE_HOME: a history from an earlier run is recalled
h=$(history_path)
[ "$h" = "$XDG_STATE_HOME/lakeop/history" ] && lk_pass "paths: history under \$XDG_STATE_HOME" \
    || lk_fail "paths: history under \$XDG_STATE_HOME" "$h"
mkdir -p "$(dirname "$h")"
printf 'jobs\naudit\n' >"$h"
cat >"$d/recall.script" <<EOF
:<Up><Enter>
:save-display $d/recalled.txt
:<C-u>cohorts<Enter>
q
EOF
console "$d/recall.script"; rc=$?
[ $rc -eq 0 ] && lk_pass "scripted run exits 0" || lk_fail "scripted run exits 0" "rc $rc: $(cat "$d/recall.script.err")"
if grep -q "Audit" "$d/recalled.txt" && head -1 "$d/recalled.txt" | grep -q "Audit"; then
    lk_pass "Up recalls the last line of the history file paths names (:audit)"
else
    lk_fail "Up recalls the history" "$(head -3 "$d/recalled.txt")"
fi
[ "$(tail -1 "$h")" = cohorts ] && lk_pass "a line run is appended to that file" \
    || lk_fail "a line run is appended" "$(cat "$h")"
tui_no_asan "$d/recall.script.err"

# ---- a relative $XDG_STATE_HOME is ignored by both: ~/.local/state
mkdir -p "$d/cwd"
cd "$d/cwd" || exit 1
export XDG_STATE_HOME=relative-state
h=$(history_path)
[ "$h" = "$HOME/.local/state/lakeop/history" ] && lk_pass "paths ignores a relative \$XDG_STATE_HOME" \
    || lk_fail "paths ignores a relative \$XDG_STATE_HOME" "$h"
cat >"$d/relative.script" <<EOF
:<C-u>jobs<Enter>
q
EOF
console "$d/relative.script"; rc=$?
if [ $rc -eq 0 ] && [ "$(cat "$h" 2>/dev/null)" = jobs ] && [ ! -e "$d/cwd/relative-state" ]; then
    lk_pass "the console writes its history where paths says, not under ./relative-state"
else
    lk_fail "console and paths agree" "rc $rc; $h: $(cat "$h" 2>&1); cwd: $(find "$d/cwd")"
fi
tui_no_asan "$d/relative.script.err"
lk_done
