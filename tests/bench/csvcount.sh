#!/bin/sh
# Exact record counting (csvcount) beside wc -l, libcsv and a bare read, on a
# generated ~1 GB Zuora-style CSV (LAKEOP_BENCH_QUICK=1: 128 MB).
set -u
. "$(dirname "$0")/../lib/common.sh"
bin=$LK_ROOT/build/rel/tests/bench/csvcount_bench
[ -x "$bin" ] || { echo "csvcount: $bin is not built (make bench builds it)"; exit 1; }
mb=1024
[ "${LAKEOP_BENCH_QUICK:-0}" = 1 ] && mb=128
TMPDIR=$(lk_tmpdir) "$bin" "$mb"
