#!/bin/sh
# The Overview's lines lead to their screens, under ASan: a key handler that
# replaces its own screen must not leave the frame touching the freed one.
. "$(dirname "$0")/../lib/common.sh"
. "$LK_ROOT/tests/lib/pg.sh"
. "$LK_ROOT/tests/tui/lib.sh"
pg_start || exit 1
tui_seed lk_tui_links || { lk_fail "seed" "could not seed"; lk_done; exit 1; }
d=$TUI_DIR
sed "s|@OUT@|$d|g" "$LK_ROOT/tests/tui/scripts/overview-links.script" > "$d/links.script"
LAKEOP_HEADLESS=1 LINES=24 COLUMNS=100 TERM=xterm-256color LAKEOP_SCRIPT="$d/links.script" \
    timeout 60 "$LK_BIN" >"$d/links.out" 2>"$d/links.err"
rc=$?
[ $rc = 0 ] && lk_pass "scripted run exits 0" || lk_fail "scripted run exits 0" "rc $rc: $(cat "$d/links.err")"
grep -q 'Datasets' "$d/link-dataset.txt" 2>/dev/null && lk_pass "Enter on a dataset line opens Datasets" \
    || lk_fail "Enter on a dataset line opens Datasets" "$(cat "$d/link-dataset.txt" 2>/dev/null)"
[ -s "$d/link-last.txt" ] && ! grep -q 'Overview *$' "$d/link-last.txt" && lk_pass "Enter on the last line leaves the Overview" \
    || lk_fail "Enter on the last line leaves the Overview" "$(cat "$d/link-last.txt" 2>/dev/null)"
tui_no_asan "$d/links.err"
lk_done
