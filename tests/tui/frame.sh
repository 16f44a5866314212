#!/bin/sh
# The frame's promises not shown elsewhere: Tab completion on the : line,
# "loading Ns" while the database is slow and "refresh failed: REASON" with
# the database's own reason, paging on the Audit screen to its last row, a
# monochrome terminal (vt100), 20x5 with a dialog, the help and the : line
# open, and read_only = true in the configuration file.
. "$(dirname "$0")/../lib/common.sh"
. "$LK_ROOT/tests/lib/pg.sh"
. "$LK_ROOT/tests/tui/lib.sh"
command -v tmux >/dev/null || { lk_fail "tmux" "tmux is not installed"; lk_done; exit 1; }
pg_start || exit 1
tui_seed lk_tui_frame || { lk_fail "seed" "could not seed"; lk_done; exit 1; }
d=$TUI_DIR
cat >> "$d/config" <<EOC

[env "RO"]
database = host=$LK_PG_HOST port=$LK_PG_PORT user=postgres dbname=$TUI_DB
operator = alice
read_only = true
EOC
tui_tmux_init

# ---- the : line completes the command word ------------------------------------
tui_tmux_start main 120 30
tui_wait_for main "Kind" 20 >/dev/null
tui_keys main : au Tab
lk_check "Tab completes :au to :audit" tui_wait_for main ":audit _" 5
tui_keys main Enter
lk_check "the completed command runs" tui_wait_for main "mallory" 10
tui_keys main : lo Tab
lk_check "Tab on several matches lists them" tui_wait_for main "loads log" 5
tui_keys main Escape

# ---- loading Ns, and a refresh the database refuses ------------------------------
psql -X -q -h "$LK_PG_HOST" -p "$LK_PG_PORT" -U postgres -d "$TUI_DB" \
    -c "BEGIN" -c "LOCK TABLE lakeop.audit IN ACCESS EXCLUSIVE MODE" -c "SELECT pg_sleep(3.5)" -c "COMMIT" \
    >/dev/null 2>&1 &
locker=$!
sleep 0.5
tui_keys main r
lk_check "a slow refresh says loading 2s" tui_wait_for main "loading 2s" 5
wait $locker
lk_check "then it is updated" tui_wait_for main "updated 0 s ago" 5
tui_psql "ALTER TABLE lakeop.audit RENAME TO audit_moved"
tui_keys main r
lk_check "refresh failed with the database's reason" \
    tui_wait_for main 'refresh failed: metadata database: relation "lake' 10
tui_psql "ALTER TABLE lakeop.audit_moved RENAME TO audit"
tui_keys main r
lk_check "r again after the repair" tui_wait_for main "61 rows, updated" 10
tui_keys main q
tui_wait_exit main >/dev/null
tui_no_asan "$d/main.err"

# ---- paging: more rows than a page; the cursor near the end fetches more ---------
tui_psql "INSERT INTO lakeop.audit (at, operator, env, action, target, params, result, message)
  SELECT timestamptz '2026-11-22 10:00:00+00' + g * interval '1 second', 'pager', 'CODE', 'copy',
         'page-' || g, '{}', 'ok', 'paged ' || g FROM generate_series(1, 500) g"
printf ':audit\n:save-display %s/page-first.txt\nG\nG\nG\nG\n:save-display %s/page-last.txt\n' "$d" "$d" > "$d/page.script"
LAKEOP_HEADLESS=1 LINES=24 COLUMNS=140 LAKEOP_SCRIPT="$d/page.script" timeout 60 "$LK_BIN" >/dev/null 2>"$d/page.err"
lk_check "the first page is one page" grep -qE '200 rows \(more\)|200 rows, more|200\+? rows' "$d/page-first.txt"
lk_check "at the end: every row loaded" grep -q "561 rows" "$d/page-last.txt"
lk_check "at the end: the oldest row is shown" grep -qE 'target-1 +ok +message 1$' "$d/page-last.txt"
tui_no_asan "$d/page.err"
# Live: at the last row, a new row (NOTIFY) comes in on top; every loaded
# row stays, and so does the cursor (a refresh used to fetch only as many
# rows as were loaded, so the oldest fell off under the cursor).
tui_tmux_start pager 140 24 LAKEOP_SCREEN=audit
tui_wait_for pager "200 rows" 20 >/dev/null
for want in 400 561; do
    tui_keys pager G
    tui_wait_for pager "$want rows" 10 >/dev/null
done
tui_keys pager G
lk_check "live paging: at the oldest row" tui_wait_for pager "message 1" 5
tui_psql "INSERT INTO lakeop.audit (operator, env, action, target, result, message)
          VALUES ('carol', 'CODE', 'copy', 'late-target', 'ok', 'late row')"
lk_check "live paging: the new row is loaded" tui_wait_for pager "562 rows" 10
if tui_screen pager | grep -qE 'target-1 +ok +message 1 *$'; then lk_pass "live paging: the cursor stays on the oldest row"
else lk_fail "live paging: the cursor stays on the oldest row" "$(tui_screen pager)"; fi
tui_keys pager g
lk_check "live paging: the new row is on top" tui_wait_for pager "late row" 5
tui_keys pager q
tui_wait_exit pager >/dev/null
tui_no_asan "$d/pager.err"

# ---- a monochrome terminal ---------------------------------------------------
tui_tmux_start mono 100 24 TERM=vt100
lk_check "vt100: starts" tui_wait_for mono "cubic__dmap__agg_sample" 20
if tui_tmux capture-pane -p -e -t mono | LC_ALL=C grep -qE "$(printf '\033')\[[0-9;]*(3[0-7]|4[0-7]|38;5|48;5)[;m]"; then
    lk_fail "vt100: no colours" "$(tui_tmux capture-pane -p -e -t mono | cat -v | head -5)"
else
    lk_pass "vt100: no colours"
fi
tui_tmux capture-pane -p -e -t mono | LC_ALL=C grep -q "$(printf '\033')\[[0-9;]*7[;m]" \
    && lk_pass "vt100: the cursor row is shown in reverse" \
    || lk_fail "vt100: the cursor row is shown in reverse" "$(tui_tmux capture-pane -p -e -t mono | cat -v | head -5)"
tui_keys mono '?'
lk_check "vt100: help" tui_wait_for mono "Help: keys" 5
tui_keys mono Escape q
lk_check "vt100: quits" tui_wait_exit mono
tui_no_asan "$d/mono.err"

# ---- 20x5 with a dialog, the help and the : line open ------------------------------
small_ok() {   # STEP: the pane fits 20x5, holds no raw control bytes, the console runs
    tui_screen tiny > "$d/tiny-$1.txt"
    tui_check_inert "$d/tiny-$1.txt" || return 1
    python3 -c 'import sys; l=open(sys.argv[1]).read().split("\n"); sys.exit(0 if len(l) <= 6 and all(len(x) <= 20 for x in l) else 1)' \
        "$d/tiny-$1.txt" || { echo "does not fit 20x5:"; cat "$d/tiny-$1.txt"; return 1; }
    [ ! -s "$d/tiny.exit" ] || { echo "the console exited: $(cat "$d/tiny.exit")"; return 1; }
}
tui_tmux_start tiny 20 5
tui_wait_for tiny "lakeop" 20 >/dev/null
tui_keys tiny : "loads errored" Enter
sleep 1
tui_keys tiny R
sleep 0.3
lk_check "20x5: the retry dialog" small_ok dialog
tui_keys tiny Escape
tui_keys tiny '?'
sleep 0.3
lk_check "20x5: the help" small_ok help
tui_keys tiny Escape
tui_keys tiny : aud
sleep 0.3
lk_check "20x5: the : line" small_ok cmdline
grep -q ":aud" "$d/tiny-cmdline.txt" && lk_pass "20x5: the : line shows what is typed" \
    || lk_fail "20x5: the : line shows what is typed" "$(cat "$d/tiny-cmdline.txt")"
tui_keys tiny Escape
tui_tmux resize-window -t tiny -x 80 -y 24
lk_check "20x5: back to 80x24, the console is whole" tui_wait_for tiny "Loads" 5
tui_keys tiny q
tui_wait_exit tiny >/dev/null
lk_check "20x5: exit status 0" test "$(cat "$d/tiny.exit" 2>/dev/null)" = 0
tui_no_asan "$d/tiny.err"

# ---- read_only = true in the configuration file -----------------------------------
sed "s|@OUT@|$d|g" "$LK_ROOT/tests/tui/scripts/readonly.script" > "$d/readonly.script"
LAKEOP_ENV=RO LAKEOP_HEADLESS=1 LINES=60 COLUMNS=100 LAKEOP_SCRIPT="$d/readonly.script" \
    timeout 60 "$LK_BIN" >"$d/ro.out" 2>"$d/ro.err"
lk_check "read_only = true: the badge" grep -q 'RO  *READ-ONLY' "$d/readonly.txt"
lk_check "read_only = true: a change is refused" \
    grep -q "read-only: 'retry' changes something and is refused" "$d/readonly.txt"
lk_check "read_only = true: greyed in help" grep -q 'retry .*(refused: read-only)' "$d/readonly-help.txt"
n=$(psql -X -qAt -h "$LK_PG_HOST" -p "$LK_PG_PORT" -U postgres -d "$TUI_DB" -c "SELECT count(*) FROM lakeop.loads WHERE status = 'errored'")
[ "$n" = 2 ] && lk_pass "read_only = true: nothing changed" || lk_fail "read_only = true: nothing changed" "$n errored"
tui_no_asan "$d/ro.err"
[ -n "${FRAME_KEEP:-}" ] && cp -r "$d" "$FRAME_KEEP"
lk_done
