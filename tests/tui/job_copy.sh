#!/bin/sh
# Copy from Job detail (issue 5, "In the console") and its links to the
# stages (issue 7): against the Zuora and Airflow doubles, a file:// store
# and Postgres.  Headless scripts: open Jobs, open a completed job, mark two
# batches, c, the plan with both keys and what each overwrites, confirm, the
# files byte-identical to what Zuora served and the metadata exact, the rows
# say "copied", the audit has both; a second c says "already copied" and f
# forces; a cancelled confirmation and read-only change nothing; in a
# protected environment OK needs its name typed, and then copies; the links
# line shows the stage's last success from Airflow, "ingested" once the
# stage succeeded after the copy; C opens the Stages screen's clear dialog
# on that stage.  In tmux: Esc sends a running copy
# to the background with its state on Job detail, and a confirmed cancel
# leaves nothing at the target.
. "$(dirname "$0")/../lib/common.sh"
. "$LK_ROOT/tests/lib/pg.sh"
. "$LK_ROOT/tests/lib/doubles.sh"
. "$LK_ROOT/tests/lib/copy.sh"
. "$LK_ROOT/tests/tui/lib.sh"
set -u

pg_start || exit 1
lk_tmpdir >/dev/null           # in this shell, so that every $(lk_tmpdir) is the same folder
T=$(lk_tmpdir)/job_copy
mkdir -p "$T/home" "$T/lake/raw-account" "$T/lake/raw-contact"
DB=$(pg_new_db lk_tui_job_copy)
zuora_double_start --job-seconds 0 || { lk_fail "zuora double" "did not start"; lk_done; exit 1; }
airflow_double_start --task-seconds 1000 || { lk_fail "airflow double" "did not start"; lk_done; exit 1; }
LK_COPY_DB=$DB
cat >"$T/config" <<EOF
[env "CODE"]
database        = $DB
operator        = alice
zuora.url       = $LK_ZUORA_URL
zuora.client_id = lakeop-test
zuora.client_secret = env:ZSECRET
zuora.partner   = guardian
zuora.project   = copy-test
zuora.timezone  = UTC
s3.endpoint     = file://$T/lake
airflow.url     = $LK_AIRFLOW_URL
airflow.user    = ops
airflow.password = env:APASS
airflow.dag     = supporter_experience

[object "Account"]
zoql  = SELECT Id, Name FROM Account
raw   = s3://raw-account/Account.csv
stage = zuora_account

[object "Contact"]
zoql  = SELECT Id, FirstName FROM Contact
raw   = s3://raw-contact/Contact.csv
stage = zuora_contact
EOF
chmod 600 "$T/config"
export LAKEOP_CONFIG="$T/config" HOME="$T/home" XDG_STATE_HOME="$T/home/state" ZSECRET=s3cret APASS=pw TZ=UTC
unset LAKEOP_ENV XDG_CONFIG_HOME LAKEOP_DATABASE_URL LAKEOP_ZUORA_URL LAKEOP_S3_ENDPOINT LAKEOP_AIRFLOW_URL
"$LK_BIN" jobs >/dev/null 2>"$T/migrate.err" || { lk_fail "migrate" "$(cat "$T/migrate.err")"; lk_done; exit 1; }

J=2c92c0f9725046a2017255f7d84e5a48
BA=2c92c0f9725046a2017255f7d8925a01
BC=2c92c0f9725046a2017255f7d8925a02
FA=2c92c09472503749017255fc3c9379a1
FC=2c92c09472503749017255fc3c9379a2
seed_job "$J" "$BA:Account:57:$FA" "$BC:Contact:31:$FC"
# The job as the history knows it (the Jobs screen lists from there).
"$LK_BIN" job "$J" >/dev/null 2>&1 || { lk_fail "job lookup" "lakeop job $J failed"; lk_done; exit 1; }
# A job the scheduled exporter stored already ended: lakeop never saw it
# start or end, so it has no duration to show.
psql_q "INSERT INTO lakeop.zuora_jobs (job_id, env, status, origin, submitted_at, updated_at)
        VALUES ('f0000000000000000000000000000001', 'CODE', 'completed', 'scheduled',
                now() - interval '3 hours', now())" >/dev/null
# Something is already at Account's target: the plan says it is overwritten.
printf 'old,content\n' >"$T/lake/raw-account/Account.csv"
touch -d '2026-01-02 03:04:05' "$T/lake/raw-account/Account.csv"

run_script() {   # NAME [lakeop args]: the script on stdin
    name=$1; shift
    cat >"$T/$name.script"
    LAKEOP_HEADLESS=1 LINES=40 COLUMNS=160 TERM=xterm-256color LAKEOP_SCRIPT="$T/$name.script" \
        timeout 120 "$LK_BIN" "$@" >"$T/$name.out" 2>"$T/$name.err"
    rc=$?
    [ $rc -eq 0 ] && lk_pass "$name: scripted run exits 0" || lk_fail "$name: scripted run exits 0" "rc $rc: $(tail -20 "$T/$name.err")"
    tui_no_asan "$T/$name.err"
}
has() {   # NAME FILE TEXT...: every TEXT (fixed string) is on the screen
    n=$1; f=$2; shift 2
    for want in "$@"; do
        if ! grep -qF -- "$want" "$f" 2>/dev/null; then
            lk_fail "$n" "no '$want' in $f: $(cat "$f" 2>/dev/null)"
            return
        fi
    done
    lk_pass "$n"
}
hasnt() {
    n=$1; f=$2; shift 2
    for bad in "$@"; do
        if grep -qF -- "$bad" "$f" 2>/dev/null; then
            lk_fail "$n" "'$bad' in $f: $(cat "$f")"
            return
        fi
    done
    lk_pass "$n"
}
copies() { psql_q "SELECT count(*) FROM lakeop.audit WHERE action = 'copy'"; }

# ---- read-only: c refused before any plan --------------------------------
run_script readonly --read-only <<EOF
:job $J
c
:save-display $T/ro.txt
q
EOF
has "read-only refuses the copy" "$T/ro.txt" "read-only: 'copy' changes something and is refused"
[ "$(copies)" = 0 ] && [ "$(cat "$T/lake/raw-account/Account.csv")" = "old,content" ] &&
    lk_pass "read-only: nothing copied, nothing audited" || lk_fail "read-only changed something" "$(copies)"

# ---- a cancelled confirmation leaves everything as it was -----------------
run_script declined <<EOF
:job $J
c
:save-display $T/declined-plan.txt
c
<Esc>
<Esc>
:save-display $T/declined.txt
q
EOF
has "the plan opens from c" "$T/declined-plan.txt" "Copy 1 of 1 file of job $J"
has "declined: nothing was copied" "$T/declined.txt" "copy: nothing was copied"
[ "$(copies)" = 0 ] && [ "$(cat "$T/lake/raw-account/Account.csv")" = "old,content" ] &&
    [ ! -e "$T/lake/raw-account/metadata" ] &&
    lk_pass "declined: the target and the audit untouched" || lk_fail "declined changed something" "$(ls -R "$T/lake")"

# ---- Jobs, the job, two marked batches, c, confirm ------------------------
run_script copy <<EOF
:jobs
:save-display $T/jobs.txt
j
<Enter>
:save-display $T/detail.txt
<Space>
j
<Space>
c
:save-display $T/plan.txt
c
:save-display $T/confirm.txt
<Tab>
<Enter>
:save-display $T/copied.txt
q
EOF
has "Jobs shows the whole job id at 160 columns" "$T/jobs.txt" "$J"
grep 'f0000000000000000000000000000001' "$T/jobs.txt" | grep -qE '3h 0m +- ' &&
    lk_pass "Took is '-' for a job with no known start or end" || lk_fail "Took '-'" "$(grep f000 "$T/jobs.txt")"
has "detail: both batches, not copied yet" "$T/detail.txt" "$BA" "$BC" "Account" "Contact"
has "links: the stage's last success before any copy" "$T/detail.txt" "Account: not copied, zuora_account last succeeded"
has "plan: job, batches, files, records" "$T/plan.txt" "Copy 2 of 2 files of job $J" "$BA" "$BC" "$FA" "$FC" \
    "records   57" "records   31" "size known when the download starts" "environment CODE"
has "plan: both destination keys of each batch" "$T/plan.txt" \
    "s3://raw-account/Account.csv" "s3://raw-account/metadata/Account.json" \
    "s3://raw-contact/Contact.csv" "s3://raw-contact/metadata/Contact.json"
has "plan: what is overwritten, with its size and time" "$T/plan.txt" \
    "s3://raw-account/Account.csv  (overwrites 12 B of 2026-01-02 03:04:05)" \
    "s3://raw-contact/Contact.csv  (new)"
has "confirmation: the target ids and the environment" "$T/confirm.txt" "Copy files" "target: job $J" \
    "Copy 2 files (88 records) to the raw buckets of CODE" "1 overwrites an existing" "$BA" "$BC"
same_bytes "Account.csv is byte-identical to what Zuora served" "$FA" "$T/lake/raw-account/Account.csv"
same_bytes "Contact.csv is byte-identical to what Zuora served" "$FC" "$T/lake/raw-contact/Contact.csv"
check_meta "Account's metadata is exact" "$T/lake/raw-account/metadata/Account.json" "$J" "$FA" "$BA" Account 57
check_meta "Contact's metadata is exact" "$T/lake/raw-contact/metadata/Contact.json" "$J" "$FC" "$BC" Contact 31
has "the batch rows say copied" "$T/copied.txt" "copied "
[ "$(grep -c "copied [0-9]" "$T/copied.txt")" -ge 2 ] && lk_pass "both rows say copied" || lk_fail "both rows say copied" "$(cat "$T/copied.txt")"
has "links: copied, the stage's last success, not ingested yet" "$T/copied.txt" \
    "Contact: copied " "zuora_contact last succeeded" ": not ingested yet" "C: clear zuora_contact"
a=$(psql_q "SELECT string_agg(result || ' ' || operator || ' ' || target, ',' ORDER BY target) FROM lakeop.audit WHERE action = 'copy'")
[ "$a" = "ok alice $FA,ok alice $FC" ] && lk_pass "each copy audited by copy_batch" || lk_fail "audit" "$a"
r=$(psql_q "SELECT count(*) FROM lakeop.zuora_batches WHERE job_id = '$J' AND copied_at IS NOT NULL")
[ "$r" = 2 ] && lk_pass "both batches record the copy" || lk_fail "copies recorded" "$r"
lk_check "screens are inert" tui_check_inert "$T/copied.txt"

# ---- again: already copied, skipped unless forced; C opens the clear ------
run_script again <<EOF
:job $J
c
:save-display $T/again-plan.txt
f
:save-display $T/again-force.txt
<Esc>
C
:save-display $T/clear.txt
<Esc>
<Esc>
:save-display $T/back.txt
q
EOF
has "already copied: said, and skipped" "$T/again-plan.txt" "already copied (same size and ETag): skipped" \
    "Copy 0 of 1 file" "force is OFF"
has "f forces a new copy" "$T/again-force.txt" "force is ON" "Copy 1 of 1 file" "copied again (force)"
has "C opens the Stages screen's clear dialog on the stage" "$T/clear.txt" "zuora_account"
has "the clear dialog runs in the latest run" "$T/clear.txt" "scheduled__2024-01-07"
[ "$(copies)" = 2 ] && lk_pass "nothing copied again without confirming" || lk_fail "copied again" "$(copies)"

# ---- the stage succeeds after the copy: "ingested" ------------------------
# zuora_account re-runs in the double after Account was copied; its new
# success (the double's clock moved past the copy) means the lake has it.
"$LK_BIN" clear zuora_account --run 'scheduled__2024-01-07T00:00:00+00:00' --yes >"$T/stage-clear.out" 2>&1 ||
    lk_fail "clear zuora_account" "$(cat "$T/stage-clear.out")"
airflow_ctl POST /_control/advance '{"seconds": 1100}' >/dev/null
run_script ingested <<EOF
:job $J
:save-display $T/ingested.txt
q
EOF
has "links: the stage succeeded after the copy: ingested" "$T/ingested.txt" \
    "Account: copied " "zuora_account last succeeded" ": ingested   C: clear zuora_account"
grep -q "Account: copied .*not ingested yet" "$T/ingested.txt" && lk_fail "ingested, not 'not yet'" "$(cat "$T/ingested.txt")" ||
    lk_pass "ingested, not 'not ingested yet'"
grep -qE "ingested [0-9]" "$T/ingested.txt" && lk_pass "the Lake column says ingested with the time" ||
    lk_fail "the Lake column says ingested" "$(cat "$T/ingested.txt")"

# ---- a protected environment: the operator types its name ---------------
sed 's/^\[env "CODE"\]$/[env "PROD"]\nprotected = true/' "$T/config" > "$T/config.prod"
chmod 600 "$T/config.prod"
before=$(copies)
LAKEOP_CONFIG=$T/config.prod run_script prod <<EOF
:job $J
c
f
:save-display $T/prod-plan.txt
c
:save-display $T/prod-confirm.txt
<Tab>
<Enter>
:save-display $T/prod-untyped.txt
PROD
<Enter>
:save-display $T/prod-copied.txt
q
EOF
has "protected: the plan says so" "$T/prod-plan.txt" "environment PROD (PROTECTED)"
has "protected: OK without the name does nothing" "$T/prod-untyped.txt" "type PROD to confirm"
a=$(psql_q "SELECT count(*) || ' ' || string_agg(env || ' ' || result, ',') FROM lakeop.audit WHERE action = 'copy' AND env = 'PROD'")
if [ "$a" = "1 PROD ok" ] && [ "$(copies)" = $((before + 1)) ]; then
    same_bytes "protected: the name typed, copied (and audited in PROD)" "$FA" "$T/lake/raw-account/Account.csv"
else
    lk_fail "protected: typed name copies" "audit '$a': $(cat "$T/prod-copied.txt")"
fi

# ---- tmux: Esc sends a running copy to the background; cancel leaves nothing
if command -v tmux >/dev/null; then
    sock=lakeop-jobcopy-$$
    X() { tmux -L "$sock" "$@"; }
    lk_on_exit "tmux -L '$sock' kill-server"
    rm -rf "$T/lake/raw-account"
    mkdir -p "$T/lake/raw-account"
    # The download waits 6 s before its first byte: time to look around.
    zuora_ctl POST /_control/fault "{\"match\":\"GET /v1/file/$FA\",\"delay_ms\":6000,\"times\":-1}" >/dev/null
    X new-session -d -s cp -x 160 -y 40 \
        "env LAKEOP_CONFIG='$LAKEOP_CONFIG' HOME='$HOME' XDG_STATE_HOME='$XDG_STATE_HOME' TZ=UTC ZSECRET=s3cret APASS=pw \
         ASAN_OPTIONS='${ASAN_OPTIONS:-}' UBSAN_OPTIONS='${UBSAN_OPTIONS:-}' '$LK_BIN' 2>'$T/tmux.err'; echo \$? > '$T/tmux.exit'; sleep 30"
    pane() { X capture-pane -p -t cp; }
    wait_for() {
        i=0
        while [ $i -lt 100 ]; do pane | grep -qF -- "$1" && return 0; sleep 0.1; i=$((i + 1)); done
        echo "waited for '$1'; the screen:"; pane; return 1
    }
    keys() { X send-keys -t cp "$@"; sleep 0.2; }
    keys : "job $J" Enter
    lk_check "tmux: Job detail" wait_for "Account: copied"
    keys c
    lk_check "tmux: the plan" wait_for "Copy 1 of 1 file"
    keys f
    keys c
    lk_check "tmux: the confirmation" wait_for "Copy files"
    keys Tab Enter
    lk_check "tmux: the progress dialog" wait_for "Copy to the raw buckets"
    keys Escape
    lk_check "tmux: in the background, its state on Job detail" wait_for "copying 0%"
    keys q
    lk_check "tmux: q asks first while a copy runs" wait_for "copying files to the raw buckets"
    keys n
    keys : progress Enter
    lk_check "tmux: :progress brings it back" wait_for "Copy to the raw buckets"
    keys c
    lk_check "tmux: cancel asks first" wait_for "Nothing partial is kept"
    keys y
    lk_check "tmux: the copy ends cancelled" wait_for "1 cancelled"
    lk_check "tmux: the row says cancelled" wait_for " cancelled "
    left=$(find "$T/lake/raw-account" -type f | wc -l)
    [ "$left" = 0 ] && lk_pass "cancel: nothing at the target, not even a temporary file" ||
        lk_fail "cancel left something" "$(find "$T/lake/raw-account" -type f)"
    keys q
    i=0; while [ $i -lt 100 ] && [ ! -s "$T/tmux.exit" ]; do sleep 0.1; i=$((i + 1)); done
    [ "$(cat "$T/tmux.exit" 2>/dev/null)" = 0 ] && lk_pass "tmux: quits cleanly" || lk_fail "tmux exit" "$(cat "$T/tmux.exit" 2>/dev/null) $(tail -20 "$T/tmux.err")"
    tui_no_asan "$T/tmux.err"
    zuora_ctl DELETE /_control/fault >/dev/null
else
    lk_fail "tmux" "tmux is not installed"
fi

lk_done
