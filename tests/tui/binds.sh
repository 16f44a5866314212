#!/bin/sh
# The config's bind lines as the console applies them: a line naming a
# screen that does not exist is reported in the status line (and the message
# log) with its file:line and the screens there are, and ignored; the good
# lines around it still apply.  `lakeop doctor` reports the same line.
. "$(dirname "$0")/../lib/common.sh"
. "$LK_ROOT/tests/lib/pg.sh"
. "$LK_ROOT/tests/tui/lib.sh"
pg_start || exit 1
tui_seed lk_tui_binds || { lk_fail "seed" "could not seed"; lk_done; exit 1; }
d=$TUI_DIR
# Before the first section: bind lines may stand there.
{ printf 'bind generic Z log\nbind audti z refresh\n\n'; cat "$d/config"; } >"$d/config.new"
mv "$d/config.new" "$d/config"
chmod 600 "$d/config"

cat >"$d/binds.script" <<EOF
:save-display $d/start.txt
Z
:save-display $d/log.txt
q
EOF
LAKEOP_HEADLESS=1 LINES=24 COLUMNS=300 TERM=xterm-256color LAKEOP_SCRIPT="$d/binds.script" \
    timeout 60 "$LK_BIN" >"$d/binds.out" 2>"$d/binds.err"
rc=$?
[ $rc -eq 0 ] && lk_pass "scripted run exits 0" || lk_fail "scripted run exits 0" "rc $rc: $(cat "$d/binds.err")"
# The list is the registry's (in name order), so only its fixed points.
want="$d/config:2: unknown screen 'audti' in bind; screens are: generic, audit, cohort, cohorts, "
if tail -1 "$d/start.txt" | grep -qF "$want" && tail -1 "$d/start.txt" | grep -qF ", detail, " &&
   tail -1 "$d/start.txt" | grep -qF ", loads, overview, " && tail -1 "$d/start.txt" | grep -qF "(the binding is ignored)"; then
    lk_pass "status line: file:line, the unknown screen and the screens there are"
else
    lk_fail "status line names the bad bind" "$(tail -2 "$d/start.txt")"
fi
if grep -q "Message log\|Messages" "$d/log.txt" && grep -qF "unknown screen 'audti' in bind" "$d/log.txt"; then
    lk_pass "the line next to it still applies (Z opens the log), which keeps the message"
else
    lk_fail "good bind applied, message logged" "$(cat "$d/log.txt")"
fi
out=$("$LK_BIN" doctor 2>&1); st=$?
if [ $st -eq 1 ] && printf '%s' "$out" | grep -qF "$want"; then
    lk_pass "doctor reports the same line (exit 1)"
else
    lk_fail "doctor reports the bad bind" "$st: $out"
fi
tui_no_asan "$d/binds.err"
lk_done
