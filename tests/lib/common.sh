# Shared shell helpers for lakeop's integration, terminal and sandbox
# scripts.  Source it; it sets a cleanup trap that stops every server the
# script started, even when a test fails.
#
#   lk_tmpdir            a private temporary folder (removed at exit)
#   lk_free_port         a free loopback TCP port
#   lk_on_exit CMD       run CMD at exit (last registered runs first)
#   lk_wait_port PORT    wait until something listens on 127.0.0.1:PORT
#   lk_pass NAME / lk_fail NAME MSG    count results; lk_done prints the tally

# The project root: the nearest folder above the script holding the Makefile
# (scripts live at different depths: tests/run.sh, tests/integration/x.sh).
LK_ROOT=${LK_ROOT:-$(d=$(cd "$(dirname "$0")" && pwd); while [ "$d" != / ] && [ ! -f "$d/Makefile" ]; do d=$(dirname "$d"); done; echo "$d")}
export LK_ROOT
# Tests run the sanitized build and nothing else: falling back to the
# release binary would pass a run that no sanitizer watched.  Benchmarks and
# the demo run the release build (tests/bench/run.sh, demo.sh set LK_BIN).
if [ -z "${LK_BIN:-}" ]; then
    case "$0" in
        */tests/bench/*|tests/bench/*|*/tests/sandbox/*|tests/sandbox/*) LK_BIN=$LK_ROOT/lakeop ;;
        *)
            LK_BIN=$LK_ROOT/build/san/lakeop
            [ -x "$LK_BIN" ] || { echo "$0: $LK_BIN is not built: the tests run under ASan/UBSan (make san)" >&2; exit 2; }
            ;;
    esac
fi
export LK_BIN
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
export TZ=UTC

LK_EXIT_CMDS=""
lk_on_exit() {
    LK_EXIT_CMDS="$1
$LK_EXIT_CMDS"
}
lk_run_exit() {
    status=$?
    set +e
    printf '%s\n' "$LK_EXIT_CMDS" | while IFS= read -r cmd; do
        [ -n "$cmd" ] && eval "$cmd" >/dev/null 2>&1
    done
    exit $status
}
trap lk_run_exit EXIT
trap 'exit 130' INT TERM HUP

lk_tmpdir() {
    if [ -z "${LK_TMP:-}" ]; then
        LK_TMP=$(mktemp -d "${TMPDIR:-/tmp}/lakeop-test.XXXXXX")
        chmod 755 "$LK_TMP"
        export LK_TMP
        lk_on_exit "rm -rf '$LK_TMP'"
    fi
    echo "$LK_TMP"
}

# DIR [VAR...]: HOME becomes DIR/home (made), and nothing of the caller's
# configuration, database, services or AWS credentials reaches lakeop;
# each VAR is unset too.
lk_hermetic_home() {
    lh_dir=$1; shift
    export HOME="$lh_dir/home"
    mkdir -p "$HOME"
    unset LAKEOP_CONFIG LAKEOP_ENV XDG_CONFIG_HOME XDG_STATE_HOME LAKEOP_DATABASE_URL LAKEOP_ZUORA_URL \
          LAKEOP_S3_ENDPOINT LAKEOP_AIRFLOW_URL AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_PROFILE \
          AWS_SHARED_CREDENTIALS_FILE "$@" 2>/dev/null
}

lk_free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

lk_wait_port() {
    port=$1; tries=${2:-200}
    while [ "$tries" -gt 0 ]; do
        if python3 -c "import socket,sys; s=socket.socket(); s.settimeout(0.2); sys.exit(0 if s.connect_ex(('127.0.0.1',$port))==0 else 1)" 2>/dev/null; then
            return 0
        fi
        sleep 0.05
        tries=$((tries - 1))
    done
    echo "nothing listens on 127.0.0.1:$port" >&2
    return 1
}

LK_PASSED=0
LK_FAILED=0
lk_pass() { LK_PASSED=$((LK_PASSED + 1)); echo "ok - $1"; }
lk_fail() { LK_FAILED=$((LK_FAILED + 1)); echo "not ok - $1: $2"; }
# lk_check NAME CMD...: passes when CMD succeeds.
lk_check() {
    name=$1; shift
    if out=$("$@" 2>&1); then lk_pass "$name"; else lk_fail "$name" "$out"; fi
}
lk_done() {
    echo "$LK_PASSED passed, $LK_FAILED failed"
    [ "$LK_FAILED" -eq 0 ]
}
