#!/bin/sh
# The sandbox `make demo` opens, in a folder of its own (never the repo's
# .lakeop-sandbox, so a user's demo and parallel runs don't clash): with
# the file store and with s3rver, `lakeop doctor` finds every configured
# service; the seed has the volumes the issue asks for; the console opens
# headless on it and shows the Overview with data; demo.sh's non-terminal
# path runs twice in the same folder and leaves nothing running.
. "$(dirname "$0")/../lib/common.sh"
set -u
. "$LK_ROOT/tests/sandbox/sandbox.sh"

T=$(lk_tmpdir)
export HOME="$T/home"
mkdir -p "$HOME"
unset LAKEOP_ENV XDG_CONFIG_HOME XDG_STATE_HOME LAKEOP_DATABASE_URL LAKEOP_ZUORA_URL \
      LAKEOP_S3_ENDPOINT LAKEOP_AIRFLOW_URL AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_PROFILE \
      AWS_SHARED_CREDENTIALS_FILE 2>/dev/null

# doctor_all_ok NAME: doctor --json exits 0 and every configured check is ok.
doctor_all_ok() {
    out=$("$LK_BIN" doctor --json 2>&1); st=$?
    if [ $st -eq 0 ] && printf '%s' "$out" | python3 -c '
import json, sys
d = json.load(sys.stdin)
c = {x["service"]: x for x in d["checks"]}
want = ["database", "zuora", "s3", "airflow"]
ok = d["ok"] and all(c[s]["status"] == "ok" and c[s]["reachable"] for s in want) \
     and all(x["status"] in ("ok", "not configured") for x in d["checks"])
sys.exit(0 if ok else 1)'; then
        lk_pass "$1: doctor --json says ok for database, zuora, s3 and airflow"
    else
        lk_fail "$1: doctor --json" "$st: $out"
    fi
}

q() { psql -X -q -t -A "$SANDBOX_DB" -c "$1"; }
# at_least NAME MIN SQL: the number SQL prints is MIN or more.
at_least() {
    n=$(q "$3")
    if [ -n "$n" ] && [ "$n" -ge "$2" ]; then lk_pass "$1 ($n)"; else lk_fail "$1" "got '$n', want >= $2"; fi
}
# exactly NAME WANT SQL
exactly() {
    n=$(q "$3")
    if [ "$n" = "$2" ]; then lk_pass "$1"; else lk_fail "$1" "got '$n', want $2"; fi
}

# --- The file store: most checks use this one. ---
if ! sandbox_up "$T/file" file >"$T/up-file.log" 2>&1; then
    lk_fail "sandbox up (file store)" "$(tail -30 "$T/up-file.log")"
    lk_done
    exit 1
fi
lk_pass "sandbox up (file store) in $T/file"
doctor_all_ok "file store"

exactly "a dozen datasets" 12 "SELECT count(*) FROM lakeop.datasets"
at_least "tens of thousands of loads" 20000 "SELECT count(*) FROM lakeop.loads"
exactly "loads in every status" 8 "SELECT count(DISTINCT status) FROM lakeop.loads
    WHERE status IN ('ready', 'ingesting', 'ready_for_archiving', 'archiving', 'ready_for_erroring',
                     'erroring', 'errored', 'archived')"
at_least "every status on several datasets' loads" 10 "SELECT min(n) FROM (SELECT count(*) AS n FROM lakeop.loads GROUP BY status) s"
exactly "ODS datasets have snapshots" 6 "SELECT count(DISTINCT dataset_id) FROM lakeop.dataset_snapshots"
exactly "three cohorts" 3 "SELECT count(*) FROM lakeop.cohorts"
at_least "each cohort has thousands of items" 1000 "SELECT min(n) FROM (SELECT count(*) AS n FROM lakeop.cohort_items GROUP BY cohort_id) s"
at_least "each cohort spreads across the processing stages" 5 "SELECT min(n) FROM (SELECT count(DISTINCT processing_stage) AS n FROM lakeop.cohort_items GROUP BY cohort_id) s"
at_least "a week of daily scheduled exports" 7 "SELECT count(DISTINCT start_time::date) FROM lakeop.zuora_jobs WHERE origin = 'scheduled'"
exactly "every job exports the 13 objects" 13 "SELECT DISTINCT count(*) FROM lakeop.zuora_batches GROUP BY job_id"
exactly "the 13 objects are configured" 13 "SELECT count(DISTINCT name) FROM lakeop.zuora_batches"
n=$(grep -c '^\[object "' "$LAKEOP_CONFIG")
[ "$n" = 13 ] && lk_pass "the config names the 13 objects" || lk_fail "the config names the 13 objects" "$n"
exactly "one aborted batch" 1 "SELECT count(*) FROM lakeop.zuora_batches WHERE status = 'aborted'"
exactly "one job still running" 1 "SELECT count(*) FROM lakeop.zuora_jobs WHERE status IN ('submitted', 'executing')"
exactly "one full load" 1 "SELECT count(DISTINCT job_id) FROM lakeop.zuora_batches WHERE full_load"

# Airflow, as lakeop sees it: supporter_experience has a task for each
# object's stage, every zuora_* task downstream of zuora_account, several
# runs, some failed, one of them at zuora_account with all the rest upstream
# failed.
out=$("$LK_BIN" stages --json --runs 0 2>&1); st=$?
printf '%s' "$out" >"$T/stages.json"
grep '^stage' "$LAKEOP_CONFIG" | sed 's/^stage *= *//' >"$T/stage-names"
if [ $st -eq 0 ] && python3 - "$T/stages.json" "$T/stage-names" <<'EOP'
import json, sys
d = json.load(open(sys.argv[1]))
stages = set(open(sys.argv[2]).read().split())
t = {x["task_id"]: x for x in d["tasks"]}
zs = {k for k in t if k.startswith("zuora_")} - {"zuora_account"}
down, todo = set(), list(t["zuora_account"]["downstream"])
while todo:
    k = todo.pop()
    if k not in down:
        down.add(k)
        todo.extend(t[k]["downstream"])
missing = zs - down
assert d["dag_id"] == "supporter_experience", d["dag_id"]
assert len(zs) == 12 and not missing, "not downstream of zuora_account: %s" % sorted(missing)
assert len(stages) == 13 and stages <= set(t), "stages without a task: %s" % sorted(stages - set(t))
EOP
then
    lk_pass "supporter_experience: each object's stage is a task, every other zuora_* task downstream of zuora_account"
else
    lk_fail "supporter_experience tasks" "$st: $out"
fi
failed_at_account=$(python3 - "$T/stages.json" <<'EOP'
import json, sys
r = json.load(open(sys.argv[1]))["runs"]
states = [x["state"] for x in r]
if len(r) >= 7 and "success" in states and states.count("failed") >= 2:
    print(sorted(x["dag_run_id"] for x in r if x["state"] == "failed")[0])
EOP
)
if [ -n "$failed_at_account" ]; then
    lk_pass "supporter_experience: a run a day, some failed"
    out=$("$LK_BIN" stages --json --run "$failed_at_account" 2>&1); st=$?
    if [ $st -eq 0 ] && printf '%s' "$out" | python3 -c '
import json, sys
t = {x["task_id"]: x["state"] for x in json.load(sys.stdin)["tasks"]}
rest = {k for k in t if k != "zuora_account"}
sys.exit(0 if t["zuora_account"] == "failed" and {t[k] for k in rest} == {"upstream_failed"} else 1)'; then
        lk_pass "the first failed run failed at zuora_account, everything downstream upstream_failed"
    else
        lk_fail "stages of $failed_at_account" "$st: $out"
    fi
else
    lk_fail "supporter_experience runs" "$(cat "$T/stages.json")"
fi

# The console on it, headless: the Overview with the seed's datasets, loads and jobs.
cat >"$T/overview.script" <<EOS
:save-display $T/overview.txt
:q
EOS
LAKEOP_HEADLESS=1 LINES=40 COLUMNS=160 TERM=xterm-256color LAKEOP_SCRIPT="$T/overview.script" \
    timeout 60 "$LK_BIN" >"$T/console.out" 2>"$T/console.err"
st=$?
[ $st -eq 0 ] && lk_pass "the console opens and quits on the sandbox" \
    || lk_fail "the console on the sandbox" "rc $st: $(tail -20 "$T/console.err")"
f=$T/overview.txt
archived=$(q "SELECT count(*) FROM lakeop.loads WHERE status = 'archived'")
if [ -f "$f" ] && head -1 "$f" | grep -q 'lakeop  CODE .* Overview' &&
   grep -qE '^ dataset +cubic__ods_qlik__edw_patron +STALE ' "$f" &&
   grep -qE "^ loads +archived +$archived\$" "$f" &&
   grep -qE '^ job +[0-9a-f]{16,} +(submitted|executing) ' "$f"; then
    lk_pass "the Overview shows the seed: a stale dataset, $archived archived loads, the running job"
else
    lk_fail "the Overview shows the seed" "$(cat "$f" 2>/dev/null)"
fi
if grep -q 'ERROR: AddressSanitizer\|runtime error:' "$T/console.err"; then
    lk_fail "no sanitizer report from the console" "$(cat "$T/console.err")"
fi

# --- s3rver: the buckets exist and the incoming files are in them. ---
if sandbox_up "$T/s3rver" s3rver >"$T/up-s3rver.log" 2>&1; then
    lk_pass "sandbox up (s3rver)"
    doctor_all_ok "s3rver"
    [ -d "$T/s3rver/s3rver" ] && [ "$LK_S3RVER_DIR" = "$T/s3rver/s3rver" ] \
        && lk_pass "s3rver keeps its objects under the sandbox folder" \
        || lk_fail "s3rver's folder" "$LK_S3RVER_DIR"
    keys=$(lk_aws "$LK_S3RVER_URL" s3 ls --recursive s3://lake-incoming/cubic/dmap/agg_sample/ 2>&1 | wc -l)
    [ "$keys" = 3 ] && lk_pass "the incoming files are uploaded" || lk_fail "the incoming files are uploaded" "$keys"
    out=$("$LK_BIN" ingest --dataset cubic__dmap__agg_sample --yes 2>&1); st=$?
    if printf '%s' "$out" | grep -q '3 registered, 2 archived, 1 errored'; then
        lk_pass "ingest finds them in s3rver"
    else
        lk_fail "ingest on the s3rver sandbox" "$st: $out"
    fi
else
    lk_fail "sandbox up (s3rver)" "$(tail -30 "$T/up-s3rver.log")"
fi

# --- demo.sh without a terminal, twice in one folder, its own Postgres. ---
demo_dir=$T/demo
demo() {   # store: runs demo.sh as `make demo` would, with no terminal
    env -u LK_PG_HOST -u LK_PG_PORT -u LK_TMP -u LAKEOP_CONFIG LAKEOP_SANDBOX_DIR="$demo_dir" \
        LAKEOP_SANDBOX_STORE="$1" timeout 300 sh "$LK_ROOT/tests/sandbox/demo.sh" </dev/null >"$T/demo-$1.log" 2>&1
}
# left_running: what a stopped demo still has alive (its processes, ports, socket).
left_running() {
    ps -eo pid=,args= | grep -F "$demo_dir" | grep -v grep
    for url in $(grep -oE 'http://127\.0\.0\.1:[0-9]+' "$demo_dir/config" | sort -u); do
        port=${url##*:}
        python3 -c "import socket,sys; s=socket.socket(); sys.exit(0 if s.connect_ex(('127.0.0.1',$port)) else 1)" \
            || echo "something still listens on $url"
    done
    ls "$demo_dir/pg" 2>/dev/null
}
for store in file s3rver; do
    if demo "$store" && grep -q 'database  ok' "$T/demo-$store.log" && grep -q 's3        ok' "$T/demo-$store.log" &&
       grep -q 'lakeop demo: stopping the sandbox' "$T/demo-$store.log"; then
        lk_pass "demo.sh ($store store) proves the sandbox without a terminal"
    else
        lk_fail "demo.sh ($store store)" "$(tail -30 "$T/demo-$store.log")"
    fi
    grep -q "host=$demo_dir/pg " "$demo_dir/config" && lk_pass "the demo's Postgres lives in its folder ($store)" \
        || lk_fail "the demo's Postgres lives in its folder ($store)" "$(grep database "$demo_dir/config")"
    left=$(left_running)
    [ -z "$left" ] && lk_pass "nothing left running after demo.sh ($store)" || lk_fail "left running ($store)" "$left"
done

lk_done
