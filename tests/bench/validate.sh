#!/bin/sh
# Ingest validation throughput (TARGETS.md: "MB/s printed beside
# `mlr --icsv --ojson cat > /dev/null`"), on the same generated ~1 GB CSV
# (LAKEOP_BENCH_QUICK=1: 128 MB).  csvcheck: median of 3 runs, file in the
# page cache; Miller: one run (it is the slow peer).
set -u
. "$(dirname "$0")/../lib/common.sh"
bin=$LK_ROOT/build/rel/tests/bench/validate_bench
[ -x "$bin" ] || { echo "validate: $bin is not built (make bench builds it)"; exit 1; }
command -v mlr >/dev/null || { echo "validate: mlr (Miller) is not installed"; exit 1; }
mb=1024
[ "${LAKEOP_BENCH_QUICK:-0}" = 1 ] && mb=128
file=$(lk_tmpdir)/validate.csv
"$bin" gen "$file" "$mb" || exit 1
cat "$file" >/dev/null     # into the page cache for both
set -- $("$bin" run "$file") || exit 1
ours=$1 records=$2 bytes=$3
t0=$(date +%s.%N)
mlr --icsv --ojson cat "$file" >/dev/null || { echo "validate: mlr failed"; exit 1; }
t1=$(date +%s.%N)
mlr_rate=$(echo "$bytes $t0 $t1" | awk '{ printf "%.0f", $1 / 1048576 / ($3 - $2) }')
ratio=$(echo "$ours $mlr_rate" | awk '{ printf "%.1f", $1 / ($2 > 0 ? $2 : 1) }')
printf 'ingest validation, %d MB CSV, %s records (quoted newline in every 50th, UTF-8 text)\n' \
    $((bytes / 1048576)) "$records"
printf '  %-44s %8s MB/s\n' "lakeop csvcheck (header, fields, UTF-8)" "$ours"
printf '  %-44s %8s MB/s\n' "mlr --icsv --ojson cat > /dev/null" "$mlr_rate"
printf '  ratio: %sx Miller\n' "$ratio"
[ -n "${LK_BENCH_SUMMARY:-}" ] &&
    printf 'ingest validation, %d MB CSV (MB/s vs mlr)\t%s\t%s\t%sx\tprinted beside Miller\tinfo\n' \
        $((bytes / 1048576)) "$ours" "$mlr_rate" "$ratio" >> "$LK_BENCH_SUMMARY"
exit 0
