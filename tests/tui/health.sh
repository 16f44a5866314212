#!/bin/sh
# The header's health marks run the doctor's real checks: a Zuora token
# (wrong credentials are DOWN, with Zuora's reason in the message log once,
# never the secret), an S3 request on a configured bucket, Airflow with our
# credentials.  A check that hangs never holds up quitting.
. "$(dirname "$0")/../lib/common.sh"
. "$LK_ROOT/tests/lib/pg.sh"
. "$LK_ROOT/tests/lib/doubles.sh"
. "$LK_ROOT/tests/tui/lib.sh"
pg_start || exit 1
tui_seed lk_tui_health || { lk_fail "seed" "could not seed"; lk_done; exit 1; }
d=$TUI_DIR
zuora_double_start || { lk_fail "zuora double" "did not start"; lk_done; exit 1; }
airflow_double_start || { lk_fail "airflow double" "did not start"; lk_done; exit 1; }
mkdir -p "$d/store/incoming/x"
cat >> "$d/config" <<EOF2

[dataset "present"]
incoming = file://$d/store/incoming/x/
raw_hist = file://$d/store/raw-hist/x/
EOF2
printf ':save-display %s/@NAME@.txt\nL\n:save-display %s/@NAME@-log.txt\n' "$d" "$d" > "$d/look.script"

look() {   # NAME VAR=VALUE...: one headless run, the Overview and the log saved
    name=$1; shift
    sed "s|@NAME@|$name|g" "$d/look.script" > "$d/$name.script"
    env LAKEOP_HEADLESS=1 LINES=24 COLUMNS=320 LAKEOP_SCRIPT="$d/$name.script" \
        LAKEOP_ZUORA_URL="$LK_ZUORA_URL" LAKEOP_ZUORA_CLIENT_ID=lakeop-test \
        LAKEOP_AIRFLOW_URL="$LK_AIRFLOW_URL" LAKEOP_AIRFLOW_USER=ops "$@" \
        timeout 60 "$LK_BIN" >"$d/$name.out" 2>"$d/$name.err"
    echo $? > "$d/$name.rc"
}
has() { f=$1; shift; for want in "$@"; do grep -qF -- "$want" "$f" || { echo "no '$want' in $f:"; cat "$f"; return 1; }; done; }
hasnt() { f=$1; shift; for no in "$@"; do grep -qF -- "$no" "$f" && { echo "'$no' in $f:"; cat "$f"; return 1; }; done; return 0; }

look good LAKEOP_ZUORA_CLIENT_SECRET=s3cret LAKEOP_AIRFLOW_PASSWORD=pw
lk_check "right credentials: every mark ok" has "$d/good.txt" "db:ok zuora:ok s3:ok airflow:ok"
lk_check "nothing went down, nothing logged" hasnt "$d/good-log.txt" "DOWN"
n=$(airflow_ctl GET /_control/stats | python3 -c 'import json,sys; r=json.load(sys.stdin)["requests"]; print(sum(v for k,v in r.items() if k.startswith("GET /api/v1/")))')
[ "${n:-0}" -ge 1 ] && lk_pass "the Airflow mark asked Airflow itself" || lk_fail "the Airflow mark asked Airflow itself" "$n requests"
tokens=$(zuora_ctl GET /_control/stats | python3 -c 'import json,sys; print(json.load(sys.stdin)["tokens_issued"])')
[ "${tokens:-0}" -ge 1 ] && lk_pass "the Zuora mark got a token" || lk_fail "the Zuora mark got a token" "$tokens tokens"

look wrong LAKEOP_ZUORA_CLIENT_SECRET=wrong-secret-9f3e LAKEOP_AIRFLOW_PASSWORD=bad-pw-77aa
lk_check "wrong Zuora secret: zuora DOWN" has "$d/wrong.txt" "zuora:DOWN"
lk_check "wrong Airflow password: airflow DOWN" has "$d/wrong.txt" "airflow:DOWN"
lk_check "Zuora's reason in the log" has "$d/wrong-log.txt" \
    "zuora DOWN: getting a Zuora token: Zuora refused the credentials" "(HTTP 401 90000011: Invalid client credentials)"
lk_check "Airflow's reason in the log" has "$d/wrong-log.txt" "airflow DOWN:" "HTTP 401"
[ "$(grep -cE '^ [0-9:]{8} zuora DOWN' "$d/wrong-log.txt")" = 1 ] && lk_pass "logged once" \
    || lk_fail "logged once" "$(cat "$d/wrong-log.txt")"
lk_check "never the secrets" hasnt "$d/wrong-log.txt" "wrong-secret-9f3e" "bad-pw-77aa"
lk_check "never the secrets (screen)" hasnt "$d/wrong.txt" "wrong-secret-9f3e" "bad-pw-77aa"
tui_no_asan "$d/wrong.err"

rmdir "$d/store/incoming/x" "$d/store/incoming"
look nobucket LAKEOP_ZUORA_CLIENT_SECRET=s3cret LAKEOP_AIRFLOW_PASSWORD=pw
lk_check "a missing bucket: s3 DOWN" has "$d/nobucket.txt" "s3:DOWN"
lk_check "with where it looked" has "$d/nobucket-log.txt" "s3 DOWN: file://$d/store/incoming/x/"

# A Zuora that never answers: the check is cancelled when the console quits.
zuora_ctl POST /_control/fault '{"match": "POST /oauth/token", "delay_ms": 60000, "times": -1}' >/dev/null
tui_tmux_init
tui_tmux_start hang 120 24 LAKEOP_ZUORA_URL="$LK_ZUORA_URL" LAKEOP_ZUORA_CLIENT_ID=lakeop-test LAKEOP_ZUORA_CLIENT_SECRET=s3cret
lk_check "starts while Zuora hangs" tui_wait_for hang "zuora:?"
sleep 1
t0=$(date +%s%N)
tui_keys hang q
tui_wait_exit hang >/dev/null
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
[ "$ms" -lt 3000 ] && lk_pass "quits in ${ms} ms with a check hanging" || lk_fail "quits at once with a check hanging" "${ms} ms"
[ "$(cat "$d/hang.exit" 2>/dev/null)" = 0 ] && lk_pass "exit status 0" || lk_fail "exit status 0" "$(cat "$d/hang.exit" "$d/hang.err")"
tui_no_asan "$d/hang.err"
zuora_ctl DELETE /_control/fault >/dev/null
lk_done
