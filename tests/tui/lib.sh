# Shared set-up of the console tests: a seeded database and a config.
# Source after tests/lib/common.sh and tests/lib/pg.sh.
#
#   tui_seed NAME    a fresh SQL_ASCII database NAME (so that invalid UTF-8
#                    can be stored, as a misbehaving pipeline might), migrated
#                    by lakeop itself, with datasets, loads, jobs and audit
#                    rows at fixed times; writes $TUI_DIR/config
#   tui_psql SQL     runs SQL in it

tui_psql() {
    psql -X -q -v ON_ERROR_STOP=1 -h "$LK_PG_HOST" -p "$LK_PG_PORT" -U postgres -d "$TUI_DB" -c "$1" >/dev/null
}

tui_seed() {
    TUI_DB=$1
    TUI_DIR=$(lk_tmpdir)/$1
    mkdir -p "$TUI_DIR/home"
    psql -X -q -h "$LK_PG_HOST" -p "$LK_PG_PORT" -U postgres -d postgres \
        -c "DROP DATABASE IF EXISTS \"$TUI_DB\" WITH (FORCE)" \
        -c "CREATE DATABASE \"$TUI_DB\" ENCODING 'SQL_ASCII' LC_COLLATE 'C' LC_CTYPE 'C' TEMPLATE template0" >/dev/null
    cat > "$TUI_DIR/config" <<EOC
[env "CODE"]
database = host=$LK_PG_HOST port=$LK_PG_PORT user=postgres dbname=$TUI_DB
operator = alice

[env "PROD"]
database = host=$LK_PG_HOST port=$LK_PG_PORT user=postgres dbname=$TUI_DB
operator = alice
protected = true
EOC
    chmod 600 "$TUI_DIR/config"
    export LAKEOP_CONFIG="$TUI_DIR/config" HOME="$TUI_DIR/home" XDG_STATE_HOME="$TUI_DIR/home/state"
    unset LAKEOP_ENV XDG_CONFIG_HOME
    # lakeop applies its own schema.
    "$LK_BIN" audit >/dev/null || return 1
    tui_psql "
INSERT INTO lakeop.datasets (name, freshness_seconds) VALUES
  ('cubic__dmap__agg_sample', 172800),
  ('cubic__ods_qlik__edw_card', 93600),
  (E'evil\\x1b[31mRED\\xff\\x07', 93600);
INSERT INTO lakeop.loads (dataset_id, key, status, updated_at)
  SELECT d.id, 'k' || g, CASE WHEN g % 5 = 0 THEN 'errored' ELSE 'archived' END,
         now() - interval '2 hours'
    FROM lakeop.datasets d, generate_series(1, 10) g WHERE d.name = 'cubic__dmap__agg_sample';
INSERT INTO lakeop.loads (dataset_id, key, status, updated_at)
  SELECT d.id, 'old', 'archived', now() - interval '3 days'
    FROM lakeop.datasets d WHERE d.name = 'cubic__ods_qlik__edw_card';
INSERT INTO lakeop.zuora_jobs (job_id, env, name, status, submitted_at) VALUES
  ('2c92a0fd7a1b2c3d', 'CODE', 'daily', 'executing', now() - interval '3 hours'),
  ('2c92a0fd7a1b2c3e', 'CODE', 'daily', 'error', now() - interval '5 hours'),
  ('2c92a0fd7a1b2c3f', 'CODE', 'daily', 'completed', now() - interval '6 hours');
INSERT INTO lakeop.audit (at, operator, env, action, target, params, result, message)
  SELECT timestamptz '2026-11-20 10:00:00+00' + g * interval '1 minute',
         CASE WHEN g % 3 = 0 THEN 'bob' ELSE 'alice' END, 'CODE',
         CASE WHEN g % 4 = 0 THEN 'load.retry' ELSE 'copy' END,
         'target-' || g, jsonb_build_object('n', g, 'objects', jsonb_build_array('Account', 'Invoice')),
         CASE WHEN g % 7 = 0 THEN 'failed' ELSE 'ok' END, 'message ' || g
    FROM generate_series(1, 60) g;
INSERT INTO lakeop.audit (at, operator, env, action, target, params, result, message) VALUES
  ('2026-11-21 09:00:00+00', 'mallory', 'CODE', 'stage.clear', E'task\\x1b]52;c;aGk=\\x07',
   '{\"note\": \"escape\"}', 'refused', E'bad \\x1b[2J\\xfe\\xff bytes');
"
}

# tui_check_inert FILE: no raw escape or control bytes in a screen dump.
tui_check_inert() {
    if LC_ALL=C grep -q "$(printf '[\001-\010\013-\037\177]')" "$1"; then
        echo "raw control bytes in $1"
        return 1
    fi
}

# tui_mask FILE: volatile parts of the status line made stable.
tui_mask() {
    sed -E 's/updated [0-9]+.*$/updated N/; s/loading [0-9]+s/loading Ns/; s/^ [0-9]{2}:[0-9]{2}:[0-9]{2} / HH:MM:SS /' "$1"
}

# tui_compare NAME FILE: compare a dump with tests/tui/expected/NAME.txt.
# LAKEOP_UPDATE_EXPECTED=1 writes the expected file instead.
tui_compare() {
    expected="$LK_ROOT/tests/tui/expected/$1.txt"
    tui_mask "$2" > "$2.masked"
    if [ "${LAKEOP_UPDATE_EXPECTED:-0}" = 1 ]; then
        cp "$2.masked" "$expected"
    fi
    if diff -u "$expected" "$2.masked" >"$2.diff" 2>&1; then
        lk_pass "screen $1 matches"
    else
        lk_fail "screen $1 matches" "$(cat "$2.diff")"
    fi
}

# tui_no_asan LOG: the sanitizers stayed quiet.
tui_no_asan() {
    if grep -qE 'LeakSanitizer|AddressSanitizer|runtime error' "$1"; then
        lk_fail "no sanitizer reports" "$(head -40 "$1")"
    else
        lk_pass "no sanitizer reports"
    fi
}

# ---- the real binary in tmux ------------------------------------------------
# tui_tmux_init: a private tmux server for this script (killed at exit).
# tui_tmux_start NAME COLS ROWS [VAR=VALUE...]: a session running the console
#   (stderr to $TUI_DIR/NAME.err, exit status to $TUI_DIR/NAME.exit; no
#   core files).  Needs LAKEOP_CONFIG, HOME, XDG_STATE_HOME and TUI_DIR.
# tui_screen NAME                  the pane as text
# tui_wait_for NAME TEXT [SECONDS] until the pane shows TEXT (fixed string)
# tui_wait_gone NAME TEXT [SECONDS] until it no longer does
# tui_wait_exit NAME               until the console has exited
# tui_keys NAME KEYS...            tmux send-keys, then a moment to draw
# tui_console_pid NAME             the console's own pid: the pane's child, so
#                                  that parallel runs never signal each other
tui_tmux_init() {
    TUI_SOCK=lakeop-test-$$
    lk_on_exit "tmux -L '$TUI_SOCK' kill-server"
}
tui_tmux() { tmux -L "$TUI_SOCK" "$@"; }
tui_tmux_start() {
    tts_name=$1; tts_cols=$2; tts_rows=$3; shift 3
    rm -f "$TUI_DIR/$tts_name.exit"
    tui_tmux kill-session -t "$tts_name" 2>/dev/null
    tui_tmux new-session -d -s "$tts_name" -x "$tts_cols" -y "$tts_rows" \
        "ulimit -c 0; env LAKEOP_CONFIG='$LAKEOP_CONFIG' HOME='$HOME' XDG_STATE_HOME='$XDG_STATE_HOME' TZ=UTC \
         ASAN_OPTIONS='$ASAN_OPTIONS' UBSAN_OPTIONS='$UBSAN_OPTIONS' $* '$LK_BIN' 2>'$TUI_DIR/$tts_name.err'; \
         echo \$? > '$TUI_DIR/$tts_name.exit'; sleep 60"
}
tui_screen() { tui_tmux capture-pane -p -t "$1"; }
tui_wait_for() {
    twf_i=0; twf_limit=$(( ${3:-10} * 10 ))
    while [ $twf_i -lt $twf_limit ]; do
        tui_screen "$1" | grep -qF -- "$2" && return 0
        sleep 0.1; twf_i=$((twf_i + 1))
    done
    echo "waited for '$2'; the screen:"; tui_screen "$1"
    return 1
}
tui_wait_gone() {
    twg_i=0; twg_limit=$(( ${3:-10} * 10 ))
    while [ $twg_i -lt $twg_limit ]; do
        tui_screen "$1" | grep -qF -- "$2" || return 0
        sleep 0.1; twg_i=$((twg_i + 1))
    done
    echo "'$2' still shown; the screen:"; tui_screen "$1"
    return 1
}
tui_wait_exit() {
    twe_i=0
    while [ $twe_i -lt 100 ]; do [ -s "$TUI_DIR/$1.exit" ] && return 0; sleep 0.1; twe_i=$((twe_i + 1)); done
    echo "the console in $1 did not exit; the screen:"; tui_screen "$1"
    return 1
}
tui_keys() { tk_s=$1; shift; tui_tmux send-keys -t "$tk_s" "$@"; sleep 0.15; }
tui_console_pid() {
    tcp_pane=$(tui_tmux display -p -t "$1" '#{pane_pid}')
    [ -n "$tcp_pane" ] && pgrep -P "$tcp_pane" | head -1
}
# tui_quit NAME: q quits the console in NAME, exit status 0, sanitizers quiet.
tui_quit() {
    tui_keys "$1" q
    lk_check "quits" tui_wait_exit "$1"
    [ "$(cat "$TUI_DIR/$1.exit" 2>/dev/null)" = 0 ] && lk_pass "exit status 0" \
        || lk_fail "exit status 0" "$(cat "$TUI_DIR/$1.exit" "$TUI_DIR/$1.err")"
    tui_no_asan "$TUI_DIR/$1.err"
}

# ---- the console on the Zuora double ---------------------------------------
# tui_zuora_console NAME [ARGS...]: a database NAME, the Zuora double (ARGS,
#   e.g. --job-seconds 300), TUI_DIR = T = $(lk_tmpdir)/NAME with home/ and
#   raw/, the Account/Contact config of zuora_two_objects_config as
#   LAKEOP_CONFIG (DB set, ZSECRET exported), lakeop's schema applied.  Needs
#   tests/lib/pg.sh and tests/lib/doubles.sh; says on stderr what failed.
tui_zuora_console() {
    tzc_name=$1; shift
    pg_start || return 1
    DB=$(pg_new_db "$tzc_name")
    zuora_double_start "$@" || return 1
    TUI_DIR=$(lk_tmpdir)/$tzc_name
    T=$TUI_DIR
    mkdir -p "$T/home" "$T/raw"
    zuora_two_objects_config "$T/config" "$DB" "$T/raw"
    export LAKEOP_CONFIG="$T/config" HOME="$T/home" XDG_STATE_HOME="$T/home/state" ZSECRET=s3cret
    unset LAKEOP_ENV XDG_CONFIG_HOME LAKEOP_DATABASE_URL LAKEOP_ZUORA_URL LAKEOP_WATCH_CEILING
    "$LK_BIN" jobs >/dev/null 2>"$T/migrate.err" || { cat "$T/migrate.err" >&2; return 1; }
}
