#!/bin/sh
# make bench: every figure of ../shared/design/TARGETS.md, each measured in
# this run beside its peer (psql, curl, aws, wc, mlr), so that ratios on this
# noisy machine mean something.  Each piece is a script tests/bench/*.sh that
# prints its own table; this runner starts the shared PostgreSQL cluster and
# runs them in turn.  LAKEOP_BENCH_QUICK=1 uses smaller inputs.
set -u
. "$(dirname "$0")/../lib/common.sh"
. "$LK_ROOT/tests/lib/pg.sh"
LK_BIN=$LK_ROOT/lakeop    # release build: benchmarks never run sanitized code
export LK_BIN
cd "$LK_ROOT"
pg_start || exit 1
export LK_PG_HOST LK_PG_PORT

echo "lakeop bench — $(date -u '+%Y-%m-%d %H:%M UTC') on $(nproc) cores, $(uname -m)"
echo
status=0
for piece in tests/bench/*.sh; do
    [ "$(basename "$piece")" = run.sh ] && continue
    echo "== $(basename "$piece" .sh) =="
    if ! sh "$piece"; then
        echo "(bench piece $piece failed)"
        status=1
    fi
    echo
done
exit $status
