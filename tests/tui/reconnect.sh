#!/bin/sh
# The console rides out a database outage, in tmux: down at start (the
# database refuses connections), the health mark says DOWN, and once the
# database is back the console reconnects by itself and `r` refreshes;
# then every backend is terminated (pg_terminate_backend) while connections
# are refused: DOWN again, and after the reconnect a NOTIFY repaints the
# screen with no key pressed.
. "$(dirname "$0")/../lib/common.sh"
. "$LK_ROOT/tests/lib/pg.sh"
. "$LK_ROOT/tests/tui/lib.sh"
command -v tmux >/dev/null || { lk_fail "tmux" "tmux is not installed"; lk_done; exit 1; }
pg_start || exit 1
tui_seed lk_tui_reconnect || { lk_fail "seed" "could not seed"; lk_done; exit 1; }
d=$TUI_DIR
admin() { psql -X -qAt -v ON_ERROR_STOP=1 -h "$LK_PG_HOST" -p "$LK_PG_PORT" -U postgres -d postgres -c "$1" >/dev/null; }
allow() { admin "ALTER DATABASE $TUI_DB ALLOW_CONNECTIONS $1"; }
kick() { admin "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '$TUI_DB'"; }
lk_on_exit "psql -X -q -h '$LK_PG_HOST' -p '$LK_PG_PORT' -U postgres -d postgres -c 'ALTER DATABASE $TUI_DB ALLOW_CONNECTIONS true'"

tui_tmux_init
allow false
tui_tmux_start rc 180 30 LAKEOP_SCREEN=audit
lk_check "down at start: the mark says DOWN" tui_wait_for rc "db:DOWN" 20
lk_check "down at start: the screen says why" tui_wait_for rc "refresh failed" 10
allow true
lk_check "back: the console reconnects by itself" tui_wait_for rc "db:ok" 20
lk_check "back: the screen reloads" tui_wait_for rc "message 60" 10
# A row no NOTIFY announces (triggers off): only `r` shows it.
sleep 1
psql -X -q -v ON_ERROR_STOP=1 -h "$LK_PG_HOST" -p "$LK_PG_PORT" -U postgres -d "$TUI_DB" \
    -c "SET session_replication_role = replica" \
    -c "INSERT INTO lakeop.audit (operator, env, action, target, result, message)
        VALUES ('carol', 'CODE', 'copy', 'quiet-target', 'ok', 'quiet row')" >/dev/null
sleep 1.5
if tui_screen rc | grep -qF "61 rows"; then lk_pass "the quiet row waits for r"
else lk_fail "the quiet row waits for r" "$(tui_screen rc | tail -1)"; fi
# New rows come in above the cursor, which stays on its row: g goes up.
tui_keys rc r
lk_check "r refreshes after the outage" tui_wait_for rc "62 rows" 10
tui_keys rc g
lk_check "r fetched the quiet row" tui_wait_for rc "quiet row" 5

# The connections cut under a running console.
allow false
kick
lk_check "cut: the mark says DOWN" tui_wait_for rc "db:DOWN" 20
allow true
lk_check "cut: reconnected" tui_wait_for rc "db:ok" 20
sleep 0.5
tui_psql "INSERT INTO lakeop.audit (operator, env, action, target, result, message)
          VALUES ('carol', 'CODE', 'copy', 'live-target', 'ok', 'after the outage')"
lk_check "live updates resume: a NOTIFY repaints" tui_wait_for rc "63 rows" 10
tui_keys rc g
lk_check "the NOTIFY fetched the new row" tui_wait_for rc "after the outage" 5
tui_keys rc L
lk_check "the log says the connection was lost" tui_wait_for rc "database connection lost" 5
tui_keys rc Escape q
tui_wait_exit rc >/dev/null
lk_check "the console exits 0" test "$(cat "$d/rc.exit" 2>/dev/null)" = 0
tui_no_asan "$d/rc.err"
lk_done
