#!/bin/sh
# The Loads screen headless, on the sandbox seed (tens of thousands of
# loads) plus three errored loads whose files wait in a file:// store:
# status and key-text filters (on the server), the detail with the error and
# the history, a retry with confirmation and a bulk retry with the typed
# count, each checked in Postgres and on disk; refusals; a protected
# environment asks for its name.
. "$(dirname "$0")/../lib/common.sh"
. "$LK_ROOT/tests/lib/pg.sh"
. "$LK_ROOT/tests/tui/lib.sh"
. "$LK_ROOT/tests/tui/scripts/loads-seed.sh"
pg_start || exit 1
loads_seed lk_tui_loads || { lk_fail "seed" "could not seed"; lk_done; exit 1; }
d=$LD_DIR
store=$d/store
ids=$(ld_psql "SELECT string_agg(id::text, ' ' ORDER BY id) FROM lakeop.loads WHERE key LIKE '%retryme-%'")
set -- $ids
id1=$1; id2=$2; id3=$3

ld_run loads-main 30 180
[ "$(cat "$d/loads-main.rc")" = 0 ] && lk_pass "scripted run exits 0" \
    || lk_fail "scripted run exits 0" "rc $(cat "$d/loads-main.rc"): $(tail -20 "$d/loads-main.err")"

# :loads errored: errored rows only, newest first.
f=$d/loads-errored.txt
ld_has ":loads errored lists the newest errored load first" "$f" "cubic/dmap/agg_sample/retryme-3.csv"
if [ -f "$f" ] && ! grep -qE ' (archived|ready|ingesting|archiving) ' "$f"; then
    lk_pass ":loads errored shows no other status"
else
    lk_fail ":loads errored shows no other status" "$(cat "$f")"
fi
ld_has "the Error column shows the reason" "$f" 'header mismatch: missing column "amount"'

# / filter: on the server, over every row (the seed's 36,000 loads).
f=$d/loads-filter.txt
ld_has "filter by key text finds retryme-1" "$f" "retryme-1.csv"
ld_has "the status line shows the filter" "$f" "filter 'retryme'"
n=$(grep -c 'retryme-' "$f" 2>/dev/null)
[ "$n" = 3 ] && lk_pass "filter shows exactly the 3 matching loads" || lk_fail "filter shows exactly the 3 matching loads" "$n rows: $(cat "$f")"

# Detail of the second row (retryme-2): the error in full, keys, history.
f=$d/loads-detail.txt
ld_has "detail title names the load" "$f" "Load $id2"
ld_has "detail shows the error" "$f" 'header mismatch: missing column "amount" (retryme 2)'
ld_has "detail shows the incoming key" "$f" "cubic/dmap/agg_sample/retryme-2.csv"
ld_has "detail shows where the errored file is" "$f" "s3://lake-incoming/errored/cubic/dmap/agg_sample/retryme-2.csv"
ld_has "detail shows the history: registration" "$f" "(new) → ready  by ingest: registered"
ld_has "detail shows the history: errored" "$f" "erroring → errored  by ingest"
ld_has "detail shows file_land_timestamp" "$f" "file_land_timestamp"
tui_compare loads-detail "$f"      # fixed times: the whole screen is compared

# Retry one: confirmation with the target, then ready and the file back.
f=$d/loads-confirm.txt
ld_has "retry asks first" "$f" "Retry load"
ld_has "retry shows the target" "$f" "target: $id2"
st=$(ld_psql "SELECT status || '|' || coalesce(error, '') FROM lakeop.loads WHERE id = $id2")
[ "$st" = "ready|" ] && lk_pass "retried load is ready, error cleared" || lk_fail "retried load is ready, error cleared" "$st"
if [ -f "$store/lake-incoming/cubic/dmap/agg_sample/retryme-2.csv" ] && \
   [ ! -e "$store/lake-incoming/errored/cubic/dmap/agg_sample/retryme-2.csv" ]; then
    lk_pass "retried file moved back under the incoming prefix"
else
    lk_fail "retried file moved back under the incoming prefix" "$(find "$store" -name 'retryme-*')"
fi
ld_has "retry reports success" "$d/loads-retried.txt" "retried 1 load"
n=$(grep -c 'retryme-' "$d/loads-retried.txt" 2>/dev/null)
[ "$n" = 2 ] && lk_pass "the retried load leaves the errored list" || lk_fail "the retried load leaves the errored list" "$(cat "$d/loads-retried.txt")"

# Bulk: two marked loads, typed count; a wrong count does nothing.
f=$d/loads-bulk-confirm.txt
ld_has "bulk retry asks for the typed count" "$f" "Type 2 (the number of loads) to confirm"
ld_has "bulk retry shows both targets" "$f" "target: $id3 $id1"
ld_has "a wrong count is refused" "$d/loads-bulk-wrong.txt" "type 2 to confirm"
st=$(ld_psql "SELECT string_agg(status, ',' ORDER BY id) FROM lakeop.loads WHERE id IN ($id1, $id3)")
[ "$st" = "ready,ready" ] && lk_pass "bulk retry: both loads ready" || lk_fail "bulk retry: both loads ready" "$st"
n=$(find "$store/lake-incoming/cubic/dmap/agg_sample" -name 'retryme-*.csv' | wc -l)
e=$(find "$store/lake-incoming/errored" -name 'retryme-*.csv' | wc -l)
[ "$n" = 3 ] && [ "$e" = 0 ] && lk_pass "bulk retry: files back, errored area empty" \
    || lk_fail "bulk retry: files back, errored area empty" "$n back, $e left"
ld_has "bulk retry reports success" "$d/loads-bulk-done.txt" "retried 2 loads"
n=$(ld_psql "SELECT count(*) FROM lakeop.audit WHERE action = 'load.retry' AND result = 'ok' AND operator = 'alice'")
[ "$n" = 3 ] && lk_pass "each retry audited" || lk_fail "each retry audited" "$n audit rows"
n=$(ld_psql "SELECT count(*) FROM lakeop.load_events WHERE load_id IN ($id1, $id2, $id3) AND from_status = 'errored' AND to_status = 'ready'")
[ "$n" = 3 ] && lk_pass "each retry in the load's history" || lk_fail "each retry in the load's history" "$n events"

# Refusals.
ld_has "retry of an archived load is refused" "$d/loads-not-errored.txt" "only errored loads are retried"
ld_has "an unknown :loads word is explained" "$d/loads-bad-arg.txt" "'nosuchstatus' is neither a status"
for s in loads-errored loads-filter loads-detail loads-confirm loads-bulk-confirm; do
    lk_check "screen $s is inert" tui_check_inert "$d/$s.txt"
done
tui_no_asan "$d/loads-main.err"

# Protected: the environment's name, whatever the count; Esc changes nothing.
ld_psql "UPDATE lakeop.loads SET status = 'errored' WHERE id IN ($id1, $id2)" >/dev/null
ld_run loads-prod 30 180 LAKEOP_ENV=PROD
ld_has "protected bulk retry asks for the environment's name" "$d/loads-prod-confirm.txt" "type PROD"
ld_has "cancelled: nothing changed" "$d/loads-prod-cancelled.txt" "retry: nothing changed"
st=$(ld_psql "SELECT string_agg(status, ',' ORDER BY id) FROM lakeop.loads WHERE id IN ($id1, $id2)")
[ "$st" = "errored,errored" ] && lk_pass "cancelled retry left the loads errored" || lk_fail "cancelled retry left the loads errored" "$st"
tui_no_asan "$d/loads-prod.err"

# Read-only: refused with a message, nothing asked, nothing changed.
sed "s|@OUT@|$d|g" "$LK_ROOT/tests/tui/scripts/loads-ro.script" > "$d/loads-ro.script"
env LAKEOP_HEADLESS=1 LINES=30 COLUMNS=180 TERM=xterm-256color LAKEOP_SCRIPT="$d/loads-ro.script" \
    timeout 90 "$LK_BIN" --read-only >"$d/loads-ro.out" 2>"$d/loads-ro.err"
ld_has "read-only refuses retry" "$d/loads-ro-retry.txt" "read-only: 'retry' changes something and is refused"
ld_has "read-only refuses ingest" "$d/loads-ro-ingest.txt" "read-only: 'ingest' changes something and is refused"
st=$(ld_psql "SELECT string_agg(status, ',' ORDER BY id) FROM lakeop.loads WHERE id IN ($id1, $id2)")
[ "$st" = "errored,errored" ] && lk_pass "read-only changed nothing" || lk_fail "read-only changed nothing" "$st"
tui_no_asan "$d/loads-ro.err"

# The re-check before acting reads the database, not the table: the load
# is made ready behind the open dialog; confirming then does nothing.
TUI_DIR=$d
tui_tmux_init
tui_tmux_start recheck 180 30
tui_wait_for recheck "Overview" 20 >/dev/null
tui_keys recheck : "loads errored" Enter
tui_keys recheck / retryme-1 Enter
if tui_wait_for recheck "retryme-1.csv" 20 >/dev/null; then
    tui_keys recheck R
    tui_wait_for recheck "target: $id1" 10 >/dev/null
    n0=$(ld_psql "SELECT count(*) FROM lakeop.audit WHERE action = 'load.retry'")
    f0=$(find "$store" -name 'retryme-1*' | sort)
    ld_psql "UPDATE lakeop.loads SET status = 'ready' WHERE id = $id1" >/dev/null
    tui_keys recheck Tab Enter
    if out=$(tui_wait_for recheck "nothing done: load $id1 is ready now, not errored" 10); then
        lk_pass "a target changed behind the dialog is refused"
    else
        lk_fail "a target changed behind the dialog is refused" "$out"
    fi
    st=$(ld_psql "SELECT status FROM lakeop.loads WHERE id = $id1")
    n1=$(ld_psql "SELECT count(*) FROM lakeop.audit WHERE action = 'load.retry'")
    f1=$(find "$store" -name 'retryme-1*' | sort)
    if [ "$st" = ready ] && [ "$n1" = "$n0" ] && [ "$f1" = "$f0" ]; then
        lk_pass "the refused retry changed nothing"
    else
        lk_fail "the refused retry changed nothing" "status $st, audit rows $n0 -> $n1, files $f0 -> $f1"
    fi
else
    lk_fail "a target changed behind the dialog is refused" "the errored load is not listed"
fi
tui_keys recheck q
tui_wait_exit recheck >/dev/null
tui_no_asan "$d/recheck.err"

[ -n "${LD_KEEP:-}" ] && cp -r "$d" "$LD_KEEP"
lk_done
