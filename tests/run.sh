#!/bin/sh
# Runs every test: the unit tests (cmocka, built with ASan/UBSan), then the
# integration and terminal scripts against real servers.  One PostgreSQL
# cluster serves the whole run; each test makes its own database in it.
#
#   sh tests/run.sh            everything
#   sh tests/run.sh --unit     unit tests only
#   sh tests/run.sh PATTERN    only the tests whose path contains PATTERN
set -u
. "$(dirname "$0")/lib/common.sh"
. "$LK_ROOT/tests/lib/pg.sh"
cd "$LK_ROOT"

only_unit=false
pattern=""
case "${1:-}" in
    --unit) only_unit=true ;;
    "") ;;
    *) pattern=$1 ;;
esac

pg_start || { echo "cannot start PostgreSQL"; exit 1; }
export LK_PG_HOST LK_PG_PORT

logdir=$(lk_tmpdir)/logs
mkdir -p "$logdir"
passed=0
failed=0
failed_names=""
start_all=$(date +%s)

run_one() {   # name, command...
    name=$1; shift
    case "$name" in *"$pattern"*) ;; *) return 0 ;; esac
    log="$logdir/$(echo "$name" | tr '/' '_').log"
    t0=$(date +%s)
    if timeout 600 "$@" >"$log" 2>&1; then
        passed=$((passed + 1))
        printf 'PASS %-50s %3ss\n' "$name" $(( $(date +%s) - t0 ))
    else
        failed=$((failed + 1))
        failed_names="$failed_names $name"
        printf 'FAIL %-50s %3ss\n' "$name" $(( $(date +%s) - t0 ))
        sed 's/^/    /' "$log" | tail -60
    fi
    # cmocka and our scripts print their own tallies; keep them visible.
    grep -E '^\[  PASSED  \]|^\[  FAILED  \]|^[0-9]+ passed, [0-9]+ failed' "$log" | sed 's/^/    /'
}

for t in build/san/tests/test_*; do
    [ -x "$t" ] || continue
    run_one "unit/$(basename "$t")" "$t"
done

if ! $only_unit; then
    for t in tests/integration/*.sh tests/tui/*.sh; do
        [ -f "$t" ] || continue
        [ "$(basename "$t")" = lib.sh ] && continue   # shared helpers, not a test
        run_one "$t" sh "$t"
    done
fi

echo
echo "tests took $(( $(date +%s) - start_all ))s"
[ -n "$failed_names" ] && echo "failed:$failed_names"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
