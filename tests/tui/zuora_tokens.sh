#!/bin/sh
# One Zuora OAuth token per console (ZUORA.md: reuse it until shortly before
# it expires; TARGETS.md: 1 token per hour while watching jobs), counted at
# the Zuora double's tokens_issued:
#  1. headless: the Jobs screen polling two running jobs, both Job details
#     opened, the Export dialog's plan and submit, the health check: 1 token;
#  2. in tmux, on the Jobs screen, with the header's health check every 2 s
#     (LAKEOP_HEALTH_INTERVAL): still 1 token after more than five checks,
#     each of them an authenticated request, not a token;
#  3. the double expires every token while the health check and the Jobs
#     poll are both active: exactly one new token, and zuora stays ok.
. "$(dirname "$0")/../lib/common.sh"
. "$LK_ROOT/tests/lib/pg.sh"
. "$LK_ROOT/tests/lib/doubles.sh"
. "$LK_ROOT/tests/tui/lib.sh"
set -u

pg_start || exit 1
DB=$(pg_new_db zuora_tokens_tui)
zuora_double_start --job-seconds 30 || { lk_fail "zuora double" "did not start"; lk_done; exit 1; }
TUI_DIR=$(lk_tmpdir)/zuora_tokens
T=$TUI_DIR
mkdir -p "$T/home" "$T/raw"
PARTNER=guardian-12357
PROJECT=zuora-datalake-export-2
cat >"$T/config" <<EOF
[env "CODE"]
database       = $DB
operator       = alice
zuora.url      = $LK_ZUORA_URL
zuora.client_id = lakeop-test
zuora.client_secret = env:ZSECRET
zuora.partner  = $PARTNER
zuora.project  = $PROJECT
zuora.timezone = UTC

[object "Account"]
zoql  = SELECT Account.Id, Account.Name FROM Account
raw   = file://$T/raw/Account.csv
stage = zuora_account
EOF
chmod 600 "$T/config"
export LAKEOP_CONFIG="$T/config" HOME="$T/home" XDG_STATE_HOME="$T/home/state" ZSECRET=s3cret
unset LAKEOP_ENV XDG_CONFIG_HOME LAKEOP_DATABASE_URL LAKEOP_ZUORA_URL LAKEOP_HEALTH_INTERVAL

# Two jobs that run for ever at the double (seeded jobs stay as seeded), in
# the job history so that the Jobs screen polls them: started just now (a
# job running for longer than Zuora allows is stuck, and no longer polled).
STARTED=$(date -u '+%F %T')
J1=2c92c0f8000000000000000000000a01
J2=2c92c0f8000000000000000000000a02
jobs=""
for j in $J1 $J2; do
    jobs="$jobs${jobs:+,}{\"id\":\"$j\",\"name\":\"lakeop-export\",\"status\":\"executing\",\"version\":\"1.1\",
      \"format\":\"CSV\",\"encrypted\":\"none\",\"partner\":\"$PARTNER\",\"project\":\"$PROJECT\",
      \"startTime\":\"$STARTED\",\"batches\":[{\"batchId\":\"${j}b\",\"name\":\"Account\",
      \"status\":\"executing\",\"recordCount\":0,\"query\":\"SELECT Id FROM Account\",
      \"batchType\":\"zoqlexport\",\"full\":true,\"message\":\"\"}]}"
done
zuora_ctl POST /_control/job "[$jobs]" >/dev/null || { lk_fail "seed jobs" "the double refused them"; lk_done; exit 1; }
for j in $J1 $J2; do
    "$LK_BIN" job "$j" >/dev/null 2>"$T/lookup.err" || { lk_fail "lakeop job $j" "$(cat "$T/lookup.err")"; lk_done; exit 1; }
done

stat() {   # a Python expression over the double's stats d
    zuora_ctl GET /_control/stats | python3 -c "import json,sys; d=json.load(sys.stdin); r=d['requests']; print($1)"
}
TOKENS="d['tokens_issued']"
CHECKS="r.get('GET /v1/batch-query/jobs/partner/$PARTNER/project/$PROJECT', 0)"
GETS="r.get('GET /v1/batch-query/jobs/$J1', 0) + r.get('GET /v1/batch-query/jobs/$J2', 0)"
SUBMITS="r.get('POST /v1/batch-query/', 0)"
no_asan() {   # NAME FILE
    if grep -qE 'AddressSanitizer|LeakSanitizer|runtime error' "$2"; then
        lk_fail "no sanitizer reports ($1)" "$(head -40 "$2")"
    else
        lk_pass "no sanitizer reports ($1)"
    fi
}

# ---- 1. every Zuora screen of the console, one token
t0=$(stat "$TOKENS"); g0=$(stat "$GETS"); s0=$(stat "$SUBMITS"); c0=$(stat "$CHECKS")
D=$(date -u -d '3 days ago' +%F)
cat >"$T/screens.script" <<EOF
:jobs
:save-display $T/jobs.txt
<Enter>
:save-display $T/detail1.txt
<Esc>
j
<Enter>
:save-display $T/detail2.txt
<Esc>
e
<C-u>$D<Enter>
:save-display $T/plan.txt
<Tab><Enter>
:save-display $T/submitted.txt
q
EOF
LAKEOP_HEADLESS=1 LINES=30 COLUMNS=160 TERM=xterm-256color LAKEOP_SCRIPT="$T/screens.script" \
    timeout 120 "$LK_BIN" >"$T/screens.out" 2>"$T/screens.err"
rc=$?
[ $rc = 0 ] && lk_pass "the script runs (exit 0)" || lk_fail "the script runs" "exit $rc: $(cat "$T/screens.err")"
t1=$(stat "$TOKENS"); g1=$(stat "$GETS"); s1=$(stat "$SUBMITS"); c1=$(stat "$CHECKS")
cat "$T/detail1.txt" "$T/detail2.txt" > "$T/details.txt"
grep -qF "Job $J1" "$T/details.txt" && grep -qF "Job $J2" "$T/details.txt" \
    && lk_pass "both Job details opened" || lk_fail "both Job details opened" "$(cat "$T/detail1.txt" "$T/detail2.txt")"
grep -qF "00:00:00" "$T/plan.txt" \
    && lk_pass "the Export dialog showed its plan" || lk_fail "the export plan" "$(cat "$T/plan.txt")"
[ $((g1 - g0)) -ge 2 ] && lk_pass "Zuora was asked about both jobs ($((g1 - g0)) requests)" \
    || lk_fail "Zuora was asked about both jobs" "$g0 -> $g1"
[ $((s1 - s0)) = 1 ] && lk_pass "the export was submitted from the dialog" || lk_fail "export submitted" "$s0 -> $s1"
[ $((c1 - c0)) -ge 1 ] && lk_pass "the health check asked Zuora" || lk_fail "the health check asked Zuora" "$c0 -> $c1"
[ $((t1 - t0)) = 1 ] && lk_pass "Jobs, two Job details, the export and the health check: 1 token" \
    || lk_fail "one token for the whole console" "$((t1 - t0)) tokens ($t0 -> $t1)"
no_asan screens "$T/screens.err"

# ---- 2. the console at rest on the Jobs screen, health checks every 2 s
tui_tmux_init
t0=$(stat "$TOKENS"); c0=$(stat "$CHECKS"); g0=$(stat "$GETS")
tui_tmux_start idle 160 30 ZSECRET=s3cret LAKEOP_SCREEN=jobs LAKEOP_HEALTH_INTERVAL=2
lk_check "the console starts with zuora:ok" tui_wait_for idle "zuora:ok" 15
sleep 11
t1=$(stat "$TOKENS"); c1=$(stat "$CHECKS"); g1=$(stat "$GETS")
[ $((c1 - c0)) -ge 5 ] && lk_pass "$((c1 - c0)) health checks in 11 s" || lk_fail "at least 5 health checks" "$c0 -> $c1"
[ $((g1 - g0)) -ge 2 ] && lk_pass "the Jobs screen polled its running jobs" || lk_fail "Jobs polled" "$g0 -> $g1"
[ $((t1 - t0)) = 1 ] && lk_pass "$((c1 - c0)) health checks and the Jobs poll: 1 token" \
    || lk_fail "one token while idle" "$((t1 - t0)) tokens ($t0 -> $t1)"

# ---- 3. Zuora expires every token while both are active: one new token
zuora_ctl POST /_control/expire_tokens '{}' >/dev/null
c2=$(stat "$CHECKS"); g2=$(stat "$GETS")
sleep 8
t3=$(stat "$TOKENS"); c3=$(stat "$CHECKS"); g3=$(stat "$GETS")
[ $((c3 - c2)) -ge 3 ] && [ $((g3 - g2)) -ge 1 ] && lk_pass "health checks and polls went on after the expiry" \
    || lk_fail "checks and polls after the expiry" "checks $c2 -> $c3, polls $g2 -> $g3"
[ $((t3 - t1)) = 1 ] && lk_pass "after the expiry: exactly one new token" \
    || lk_fail "one new token after the expiry" "$((t3 - t1)) tokens ($t1 -> $t3)"
tui_screen idle > "$T/idle.txt"
grep -qF "zuora:ok" "$T/idle.txt" && lk_pass "zuora still ok in the header" || lk_fail "zuora still ok" "$(cat "$T/idle.txt")"
tui_check_inert "$T/idle.txt" >/dev/null && lk_pass "screen inert" || lk_fail "screen inert" "control bytes"
tok=$(zuora_ctl GET "/_control/requests?prefix=/v1/" | python3 -c 'import json,sys; print(json.load(sys.stdin)["requests"][-1]["authorization"].split()[-1])')
if [ ${#tok} -ge 16 ] && ! grep -qF "$tok" "$T/idle.txt" "$T/idle.err" "$T/screens.err" "$T"/*.txt; then
    lk_pass "the token is never shown"
else
    lk_fail "the token is never shown" "token '$tok' found (or not read)"
fi
tui_keys idle q
lk_check "quits" tui_wait_exit idle
[ "$(cat "$T/idle.exit" 2>/dev/null)" = 0 ] && lk_pass "exit status 0" || lk_fail "exit status 0" "$(cat "$T/idle.exit" "$T/idle.err")"
no_asan idle "$T/idle.err"
lk_done
