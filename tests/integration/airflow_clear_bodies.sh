#!/bin/sh
# The exact clearTaskInstances body lakeop sends for every combination of
# the six toggles (--downstream --upstream --recursive --only-failed --past
# --future), dry and real: every field explicit, never a server default.
# And what the double selected with each, against its own rules.
. "$(dirname "$0")/../lib/common.sh"
. "$LK_ROOT/tests/lib/doubles.sh"
set -u

airflow_cli_env
airflow_double_start --task-seconds 600 || exit 1
export LAKEOP_AIRFLOW_URL=$LK_AIRFLOW_URL LAKEOP_AIRFLOW_USER=ops LAKEOP_AIRFLOW_PASSWORD=pw
DAG=supporter_experience
R6='scheduled__2024-01-06T00:00:00+00:00'

fp0=$(airflow_ctl GET /_control/state | python3 -c 'import json,sys; print(json.load(sys.stdin)["fingerprint"])')
: >"$T/flags"
mask=0
failed_runs=0
while [ $mask -lt 64 ]; do
    flags=""
    [ $((mask & 1)) -ne 0 ] && flags="$flags --downstream"
    [ $((mask & 2)) -ne 0 ] && flags="$flags --upstream"
    [ $((mask & 4)) -ne 0 ] && flags="$flags --recursive"
    [ $((mask & 8)) -ne 0 ] && flags="$flags --only-failed"
    [ $((mask & 16)) -ne 0 ] && flags="$flags --past"
    [ $((mask & 32)) -ne 0 ] && flags="$flags --future"
    echo "$mask" >>"$T/flags"
    # shellcheck disable=SC2086
    "$LK_BIN" clear zuora_subscription --run "$R6" $flags --dry-run --json >"$T/out.$mask" 2>"$T/err.$mask" ||
        failed_runs=$((failed_runs + 1))
    mask=$((mask + 1))
done
[ "$failed_runs" -eq 0 ] && lk_pass "64 dry runs exit 0" || lk_fail "dry runs" "$failed_runs failed; $(cat "$T"/err.* | head -5)"

airflow_ctl GET "/_control/requests?path=/api/v1/dags/$DAG/clearTaskInstances&method=POST" >"$T/requests"
out=$(python3 - "$T" "$R6" <<'EOF'
import json, sys
tdir, run = sys.argv[1], sys.argv[2]
bodies = [r["body"] for r in json.load(open(tdir + "/requests"))["requests"]]
bad = []
UP = {"zuora_account"}
DOWN = {"zuora_rate_plan", "zuora_rate_plan_charge", "zuora_amendment", "supporter_product_data"}
RUNS = {"scheduled__2024-01-0%dT00:00:00+00:00" % i for i in range(1, 8)}
if len(bodies) != 64:
    bad.append("expected 64 clear requests, got %d" % len(bodies))
for mask, body in enumerate(bodies[:64]):
    want = {
        "dry_run": True, "dag_run_id": run, "task_ids": ["zuora_subscription"],
        "include_downstream": bool(mask & 1), "include_upstream": bool(mask & 2),
        "include_subdags": bool(mask & 4), "include_parentdag": bool(mask & 4),
        "only_failed": bool(mask & 8), "include_past": bool(mask & 16),
        "include_future": bool(mask & 32), "only_running": False, "reset_dag_runs": True,
    }
    if body != want:
        bad.append("mask %d: sent %s" % (mask, json.dumps(body, sort_keys=True)))
    # The preview lists what the double selected: check a few rules.
    d = json.load(open("%s/out.%d" % (tdir, mask)))
    tasks = {(x["task_id"], x["dag_run_id"]) for x in d["will_rerun"]}
    names = {t for t, _ in tasks}
    runs = {r for _, r in tasks}
    if "zuora_subscription" not in names:
        bad.append("mask %d: the task itself is missing" % mask)
    # Airflow takes both closures from the named task only: with upstream
    # and downstream on, zuora_contact (upstream of supporter_product_data)
    # is not in.
    want_names = {"zuora_subscription"}
    if mask & 1:
        want_names |= DOWN
    if mask & 2:
        want_names |= UP
    want_runs = {r for r in RUNS if r == run or (mask & 16 and r < run) or (mask & 32 and r > run)}
    if not (mask & 8) and tasks != {(t, r) for t in want_names for r in want_runs}:
        bad.append("mask %d: selected %s, want %s in %s" % (mask, sorted(tasks), sorted(want_names), sorted(want_runs)))
    # Only failed: a subset of the same selection (zuora_account succeeded in this run).
    if mask & 8 and not (names <= want_names and runs <= want_runs):
        bad.append("mask %d: only-failed selected outside %s: %s" % (mask, sorted(want_names), sorted(tasks)))
    if mask & 8 and not (mask & 48) and names != want_names - UP:
        bad.append("mask %d: only-failed in this run: %s" % (mask, sorted(names)))
    if mask & 8 and any(x["state"] not in ("failed", "upstream_failed") for x in d["will_rerun"]):
        bad.append("mask %d: only-failed listed other states" % mask)
    if any(x["state"] is None and x["dag_run_id"] == run and x["task_id"] == "zuora_subscription" for x in d["will_rerun"]):
        bad.append("mask %d: preview has no state for a failed task" % mask)
print("\n".join(bad))
EOF
)
[ -z "$out" ] && lk_pass "64 combinations: exact bodies and the selection each made" || lk_fail "combinations" "$out"

fp1=$(airflow_ctl GET /_control/state | python3 -c 'import json,sys; print(json.load(sys.stdin)["fingerprint"])')
[ "$fp0" = "$fp1" ] && lk_pass "64 dry runs changed nothing on the server" || lk_fail "dry runs changed state" "$fp0 -> $fp1"

# Real clears: a few combinations, each body exactly as the dry run's but dry_run false.
for flags in "" "--downstream" "--upstream --only-failed" "--recursive --past --future --downstream"; do
    airflow_ctl POST /_control/reset >/dev/null
    # shellcheck disable=SC2086
    "$LK_BIN" clear zuora_subscription --run "$R6" $flags --yes --json >"$T/real" 2>"$T/err"; rc=$?
    pair=$(airflow_ctl GET "/_control/requests?path=/api/v1/dags/$DAG/clearTaskInstances&method=POST" |
        python3 -c '
import json,sys
b=[r["body"] for r in json.load(sys.stdin)["requests"]]
ok = len(b)==2 and b[0]["dry_run"] is True and b[1]["dry_run"] is False and b[1]["reset_dag_runs"] is True
b[1]["dry_run"]=True
print("ok" if ok and b[0]==b[1] and len(b[0])==12 else json.dumps(b))')
    [ "$rc" -eq 0 ] && [ "$pair" = ok ] && lk_pass "real clear [$flags]: dry run then the same body for real" ||
        lk_fail "real clear [$flags]" "rc=$rc $pair $(cat "$T/err")"
done
lk_done
