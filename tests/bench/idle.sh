#!/bin/sh
# The console at rest, release build, in tmux: CPU over 30 s with every
# live source on (LISTEN, the Jobs screen polling a running Zuora job, the
# header's health checks against Zuora and Airflow), and how many times the
# Overview reloads for a burst of 1,000 NOTIFYs in one second (the debounce
# promises at most about one a second).  Reloads are counted by Postgres:
# each Overview reload scans lakeop.datasets once, and nothing else here does.
. "$(dirname "$0")/../lib/common.sh"
. "$LK_ROOT/tests/lib/pg.sh"
. "$LK_ROOT/tests/lib/doubles.sh"
LK_BIN=$LK_ROOT/lakeop
export LK_BIN
. "$LK_ROOT/tests/tui/lib.sh"
[ -x "$LK_BIN" ] || { echo "idle: $LK_BIN is not built (make)"; exit 2; }
command -v tmux >/dev/null || { echo "idle: tmux is needed"; exit 2; }
pg_start || exit 1
tui_seed lk_bench_idle || exit 1
d=$TUI_DIR
zuora_double_start || exit 1
airflow_double_start || exit 1
# The seed's executing job, known to Zuora too and never finishing.
zuora_ctl POST /_control/job '{"id": "2c92a0fd7a1b2c3d", "name": "daily", "status": "executing", "version": "1.1",
  "format": "CSV", "batches": [{"batchId": "b1", "name": "Account", "query": "SELECT Id FROM Account",
  "status": "executing", "recordCount": 0}]}' >/dev/null
ENVS="LAKEOP_ZUORA_URL=$LK_ZUORA_URL LAKEOP_ZUORA_CLIENT_ID=lakeop-test LAKEOP_ZUORA_CLIENT_SECRET=s3cret \
LAKEOP_AIRFLOW_URL=$LK_AIRFLOW_URL LAKEOP_AIRFLOW_USER=ops LAKEOP_AIRFLOW_PASSWORD=pw"
tui_tmux_init
# shellcheck disable=SC2086
tui_tmux_start idle 120 30 LAKEOP_SCREEN=jobs $ENVS
tui_wait_for idle "zuora:ok" 20 >/dev/null || { tui_screen idle; exit 1; }
tui_wait_for idle "airflow:ok" 20 >/dev/null || { tui_screen idle; exit 1; }
pid=$(tui_console_pid idle)
hz=$(getconf CLK_TCK)
ticks() { awk '{ print $14 + $15 }' "/proc/$pid/stat"; }
polls() { zuora_ctl GET /_control/stats | python3 -c 'import json,sys; r=json.load(sys.stdin)["requests"]; print(sum(v for k,v in r.items() if "2c92a0fd7a1b2c3d" in k))'; }
sleep 3
c0=$(ticks); p0=$(polls); t0=$(date +%s.%N)
sleep 30
c1=$(ticks); p1=$(polls); t1=$(date +%s.%N)
cpu=$(awk -v a="$c0" -v b="$c1" -v hz="$hz" -v t0="$t0" -v t1="$t1" 'BEGIN { printf "%.2f", (b - a) / hz / (t1 - t0) * 100 }')

# The burst, on the Overview.
tui_keys idle 1
tui_wait_for idle "Kind" >/dev/null
sleep 2
scans() {
    psql -X -qAt -h "$LK_PG_HOST" -p "$LK_PG_PORT" -U postgres -d "$TUI_DB" \
        -c "SELECT pg_stat_force_next_flush()" -c "SELECT seq_scan FROM pg_stat_user_tables WHERE schemaname = 'lakeop' AND relname = 'datasets'" | tail -1
}
# Backends publish their statistics when idle for a while: wait for that.
sleep 11
s0=$(scans)
ds=$(psql -X -qAt -h "$LK_PG_HOST" -p "$LK_PG_PORT" -U postgres -d "$TUI_DB" -c "SELECT min(id) FROM lakeop.datasets")
python3 - "$ds" > "$d/burst.sql" <<'PY'
import sys
for i in range(1000):
    print("INSERT INTO lakeop.loads (dataset_id, key, status) VALUES (%s, 'burst/%d.csv', 'ready');" % (sys.argv[1], i))
    print("SELECT pg_sleep(0.0006);")
PY
b0=$(date +%s.%N)
psql -X -q -h "$LK_PG_HOST" -p "$LK_PG_PORT" -U postgres -d "$TUI_DB" -f "$d/burst.sql" >/dev/null
b1=$(date +%s.%N)
sleep 3
tui_wait_for idle "ready" >/dev/null
sleep 11
s1=$(scans)
burst=$(awk -v a="$b0" -v b="$b1" 'BEGIN { printf "%.2f", b - a }')
reloads=$((s1 - s0))
tui_keys idle q
tui_wait_exit idle >/dev/null

printf '%-60s %10s %s\n' "figure" "lakeop" "target"
printf '%-60s %9s%% %s\n' "idle console, LISTEN + Jobs poll + health (CPU over 30 s)" "$cpu" "< 1% of a core"
printf '%-60s %10s %s\n' "Zuora polls of the running job in those 30 s" "$((p1 - p0))" "-"
printf '%-60s %10s %s\n' "Overview reloads for 1,000 NOTIFYs in ${burst} s (+3 s)" "$reloads" "about 1 a second"
if [ -n "${LK_BENCH_SUMMARY:-}" ]; then
    printf 'idle console, all live sources (CPU over 30 s)\t%s%%\t-\t-\t< 1%% of a core\t%s\n' "$cpu" \
        "$(awk -v c="$cpu" 'BEGIN { print (c < 1 ? "met" : "NOT met") }')" >> "$LK_BENCH_SUMMARY"
    printf 'Overview reloads, 1,000 NOTIFYs in %s s\t%s\t-\t-\tabout 1 a second\t%s\n' "$burst" "$reloads" \
        "$(awk -v r="$reloads" -v b="$burst" 'BEGIN { print (r <= b + 4 ? "met" : "NOT met") }')" >> "$LK_BENCH_SUMMARY"
fi
