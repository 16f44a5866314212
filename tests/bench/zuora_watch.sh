#!/bin/sh
# Watching 50 running Zuora jobs (TARGETS.md: ≤ 1 request per job per poll
# interval, 1 OAuth token per hour; issue 4: keypress → repaint < 10 ms while
# it polls).  The console's Jobs screen is what watches several jobs at once:
# it polls every running job it shows (up to 50) on a worker, one round per
# interval, with one token for the screen.  So: 50 jobs seeded at the Zuora
# double as executing (seeded jobs stay as seeded, so they never finish),
# looked up once each with `lakeop job ID` so that the job history holds
# them, then the release console on the Jobs screen in a real terminal
# (tmux) for several intervals while keys arrive every 0.25 s.  Everything
# is counted at the double (GET /_control/requests, /_control/stats) from the
# moment the console starts; key → paint from LAKEOP_TIMINGS.
# A round asks one job after another on one connection, and the interval
# runs from a round's end, so the gap between two polls of a job is the
# interval plus a round.  (The double answers a request on a kept-alive
# connection ~40 ms late: Nagle and delayed ACK, tests/doubles/common.py does
# not set TCP_NODELAY; a round of 50 takes ~2 s here, as it would against a
# real Zuora at that latency.)
# LAKEOP_BENCH_QUICK=1: 3 intervals instead of 14.
set -u
. "$(dirname "$0")/../lib/common.sh"
. "$LK_ROOT/tests/lib/pg.sh"
. "$LK_ROOT/tests/lib/doubles.sh"
command -v tmux >/dev/null || { echo "zuora_watch: tmux is not installed"; exit 1; }

njobs=50
interval=5                       # WATCH_DEFAULT_INTERVAL_MS: the console's interval
# 14 intervals: past a minute, so that anything the console does once a
# minute (its header's health checks) is counted too.
intervals=14
[ "${LAKEOP_BENCH_QUICK:-0}" = 1 ] && intervals=3
window=$((interval * intervals))

pg_start || exit 1
zuora_double_start || exit 1
d=$(lk_tmpdir)/zuora_watch
mkdir -p "$d"
db=lk_bench_zuora_watch
ci=$(pg_new_db $db)
cat > "$d/config" <<EOC
[env "BENCH"]
database = $ci
operator = bench
zuora.url = $LK_ZUORA_URL
zuora.client_id = lakeop-test
zuora.client_secret = env:LK_BENCH_ZUORA_SECRET
zuora.partner = guardian
zuora.project = bench
zuora.timezone = UTC
EOC
chmod 600 "$d/config"
export LAKEOP_CONFIG="$d/config" HOME="$d" XDG_STATE_HOME="$d/state" LK_BENCH_ZUORA_SECRET=s3cret
unset LAKEOP_ENV LAKEOP_DATABASE_URL LAKEOP_ZUORA_URL LAKEOP_ZUORA_CLIENT_ID LAKEOP_ZUORA_CLIENT_SECRET

# 50 jobs executing, two batches each (one done, one running).
python3 - "$njobs" > "$d/jobs.json" <<'PY'
import json, sys, time
# Started just now: a job running longer than Zuora allows is stuck, not polled.
started = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime())
jobs = []
for i in range(int(sys.argv[1])):
    jid = "2c92c0f8%024x" % (0xbe0c4 + i)
    jobs.append({"id": jid, "name": "lakeop-export", "status": "executing", "version": "1.1",
                 "format": "CSV", "encrypted": "none", "partner": "guardian", "project": "bench",
                 "startTime": started,
                 "batches": [
                     {"batchId": "2c92c0f9%024x" % (2 * i), "name": "Account", "status": "completed",
                      "recordCount": 120 + i, "fileId": "2c92c094%024x" % i,
                      "query": "SELECT Id, Name FROM Account", "batchType": "zoqlexport",
                      "full": True, "message": ""},
                     {"batchId": "2c92c0f9%024x" % (2 * i + 1), "name": "InvoiceItem",
                      "status": "executing", "recordCount": 0,
                      "query": "SELECT Id, ChargeAmount FROM InvoiceItem", "batchType": "zoqlexport",
                      "full": True, "message": ""}]})
print(json.dumps(jobs))
PY
zuora_ctl POST /_control/job "$(cat "$d/jobs.json")" > "$d/seeded" || exit 1
python3 -c 'import json,sys; [print(j["id"]) for j in json.load(open(sys.argv[1]))]' "$d/jobs.json" > "$d/ids"
while read -r id; do
    "$LK_BIN" job "$id" > /dev/null 2> "$d/lookup.err" || { echo "lakeop job $id failed:"; cat "$d/lookup.err"; exit 1; }
done < "$d/ids"
stored=$(psql -X -qAt -h "$LK_PG_HOST" -p "$LK_PG_PORT" -U postgres -d $db \
    -c "SELECT count(*) FROM lakeop.zuora_jobs WHERE status = 'executing'")
[ "$stored" = "$njobs" ] || { echo "the job history holds $stored running jobs, not $njobs"; exit 1; }

zuora_ctl GET /_control/stats > "$d/stats0" || exit 1

sock=lakeop-bench-$$
T() { tmux -L "$sock" "$@"; }
lk_on_exit "tmux -L '$sock' kill-server"
# exec: the pane's process is the console itself, so its CPU can be read.
T new-session -d -s watch -x 160 -y 60 \
    "exec env LAKEOP_CONFIG='$LAKEOP_CONFIG' HOME='$HOME' XDG_STATE_HOME='$XDG_STATE_HOME' TZ=UTC \
     LK_BENCH_ZUORA_SECRET=s3cret LAKEOP_SCREEN=jobs LAKEOP_MOUSE=0 LAKEOP_TIMINGS='$d/timings' \
     '$LK_BIN' 2>'$d/console.err'" || exit 1
pid=$(T list-panes -t watch -F '#{pane_pid}')
ticks() { awk '{ print $14 + $15 }' "/proc/$pid/stat" 2>/dev/null || echo 0; }
c0=$(ticks)
t_start=$(date +%s.%N)
# Keys all through the window, so some land while a round is on the worker.
end=$(awk -v s="$t_start" -v w="$window" 'BEGIN { printf "%.3f", s + w }')
k=0
: > "$d/sent"
while awk -v e="$end" -v n="$(date +%s.%N)" 'BEGIN { exit !(n < e) }'; do
    date +%s.%N >> "$d/sent"
    if [ $((k % 2)) -eq 0 ]; then T send-keys -t watch j; else T send-keys -t watch k; fi
    k=$((k + 1))
    sleep 0.25
done
c1=$(ticks)
t_end=$(date +%s.%N)
T capture-pane -p -t watch > "$d/screen.txt"
zuora_ctl GET /_control/stats > "$d/stats1" || exit 1
zuora_ctl GET '/_control/requests?prefix=/' > "$d/requests" || exit 1
T kill-server 2>/dev/null
[ -n "${ZW_KEEP:-}" ] && cp -r "$d" "$ZW_KEEP"

# The screen must show the jobs; that it polled them is counted below.
if ! grep -q "$(head -1 "$d/ids")" "$d/screen.txt"; then
    echo "the Jobs screen did not show the seeded jobs; the screen:"
    cat "$d/screen.txt" "$d/console.err"
    exit 1
fi
hz=$(getconf CLK_TCK)
cpu=$(awk -v a="$c0" -v b="$c1" -v hz="$hz" -v s="$t_start" -v e="$t_end" \
    'BEGIN { printf "%.1f", (b - a) / hz / (e - s) * 100 }')
awk '$1 == "key" { print $2 }' "$d/timings" > "$d/keys"
python3 - "$d" "$njobs" "$interval" "$cpu" "${LK_BENCH_SUMMARY:-}" <<'PY'
import json, statistics, sys
d, njobs, interval, cpu, summary = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), sys.argv[4], sys.argv[5]
s0 = json.load(open(d + "/stats0"))
s1 = json.load(open(d + "/stats1"))
t0, t1 = s0["now"], s1["now"]
reqs = [r for r in json.load(open(d + "/requests"))["requests"] if t0 <= r["t"] <= t1]
ids = [l.strip() for l in open(d + "/ids") if l.strip()]
per_job = {i: [] for i in ids}
other = 0
for r in reqs:
    p = r["path"].rstrip("/")
    jid = p.rsplit("/", 1)[-1] if p.startswith("/v1/batch-query/jobs/") else None
    if r["method"] == "GET" and jid in per_job:
        per_job[jid].append(r["t"])
    else:
        other += 1
window = t1 - t0
polls = sum(len(v) for v in per_job.values())
watched = sum(1 for v in per_job.values() if v)
gaps = []
for v in per_job.values():
    v.sort()
    gaps += [b - a for a, b in zip(v, v[1:])]
min_gap = min(gaps) if gaps else float("nan")
med_gap = statistics.median(gaps) if gaps else float("nan")
# How often one job is asked, per interval: the interval over the shortest
# gap between two requests for the same job (<= 1: never twice within an
# interval).  The average over the window counts the round at t = 0 too.
worst = interval / min_gap if gaps else float("inf")
avg = polls / njobs / (window / interval)
tokens = s1["tokens_issued"] - s0["tokens_issued"]
token_at = ["%.1f s" % (r["t"] - t0) for r in reqs if r["method"] == "POST" and r["path"] == "/oauth/token"]

# Rounds: job requests closer than 1 s to the previous one belong to it.
times = sorted(t for v in per_job.values() for t in v)
rounds = []
for t in times:
    if rounds and t - rounds[-1][1] < 1.0:
        rounds[-1][1] = t
    else:
        rounds.append([t, t])
round_secs = statistics.median(b - a for a, b in rounds) if rounds else float("nan")

keys = [float(l) for l in open(d + "/keys") if l.strip()]
sent = [float(l) for l in open(d + "/sent") if l.strip()]
def during(t):
    return any(a <= t <= b for a, b in rounds)
in_round = [k for k, t in zip(keys, sent) if during(t)] if len(keys) == len(sent) else []
def pct(v, p):
    v = sorted(v)
    return v[max(0, int(round(len(v) * p)) - 1)] if v else float("nan")
kmed, kp95, kmax = pct(keys, 0.5), pct(keys, 0.95), max(keys) if keys else float("nan")
def verdict(ok):
    return "met" if ok else "NOT met"
print("watching %d running jobs on the Jobs screen for %.0f s (%d intervals of %.0f s), counted at the double"
      % (njobs, window, round(window / interval), interval))
print("  %-52s %10s  %s" % ("figure", "lakeop", "target"))
print("  %-52s %10d" % ("jobs polled", watched))
print("  %-52s %10d  (%d rounds, each %.2f s long: one request after another)"
      % ("job requests (GET /v1/batch-query/jobs/ID)", polls, len(rounds), round_secs))
print("  %-52s %10.2f  <= 1 per job per interval: %s" % ("requests per job per interval (worst job)", worst, verdict(worst <= 1.0)))
print("  %-52s %10.2f  (incl. the round at start)" % ("requests per job per interval (average)", avg))
print("  %-52s %9.2fs  (median %.2f s; the interval runs from a round's end)" % ("shortest gap between two polls of one job", min_gap, med_gap))
print("  %-52s %10d" % ("other requests (token, anything else)", other))
print("  %-52s %10d  1 per hour (1 in this run): %s" % ("OAuth tokens issued", tokens, verdict(tokens == 1)))
print("  %-52s %10s" % ("  asked for at", ", ".join(token_at) or "-"))
print("  %-52s %8.2fms  < 10 ms: %s (%d keys)" % ("keypress -> repaint while watching (median)", kmed, verdict(kmed < 10), len(keys)))
print("  %-52s %8.2fms  < 10 ms: %s" % ("keypress -> repaint while watching (95th pct)", kp95, verdict(kp95 < 10)))
print("  %-52s %8.2fms" % ("keypress -> repaint while watching (max)", kmax))
if in_round:
    print("  %-52s %8.2fms  < 10 ms: %s (%d keys)" % ("  keys pressed during a round (median)", pct(in_round, 0.5),
                                                    verdict(pct(in_round, 0.5) < 10), len(in_round)))
    print("  %-52s %8.2fms" % ("  keys pressed during a round (max)", max(in_round)))
print("  %-52s %9s%%  (information)" % ("console CPU while watching", cpu))
if summary:
    with open(summary, "a") as f:
        f.write("watch 50 jobs: requests per job per interval\t%.2f\t-\t-\t<= 1\t%s\n" % (worst, verdict(worst <= 1.0)))
        f.write("watch 50 jobs: OAuth tokens in %.0f s\t%d\t-\t-\t1 per hour\t%s\n" % (window, tokens, verdict(tokens == 1)))
        f.write("keypress -> repaint while watching 50 jobs (median/p95)\t%.2f/%.2f ms\t-\t-\t< 10 ms\t%s\n"
                % (kmed, kp95, verdict(kp95 < 10)))
sys.exit(0 if watched == njobs else 1)
PY
