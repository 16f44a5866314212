#!/bin/sh
# The Datasets screen headless on the sandbox seed: every configured dataset
# with freshness (the seed's two stale ones STALE), counts and ODS snapshot;
# Enter opens its loads and Esc comes back; ingest of the selected dataset
# with confirmation moves a good file to raw-hist (checked in Postgres, on
# disk and in the audit); ingest-all asks first and Esc starts nothing.
# Then in tmux: a load archived meanwhile turns a STALE dataset fresh live.
. "$(dirname "$0")/../lib/common.sh"
. "$LK_ROOT/tests/lib/pg.sh"
. "$LK_ROOT/tests/tui/lib.sh"
. "$LK_ROOT/tests/tui/scripts/loads-seed.sh"
pg_start || exit 1
loads_seed lk_tui_datasets || { lk_fail "seed" "could not seed"; lk_done; exit 1; }
d=$LD_DIR
store=$d/store

ld_run datasets-main 30 180
[ "$(cat "$d/datasets-main.rc")" = 0 ] && lk_pass "scripted run exits 0" \
    || lk_fail "scripted run exits 0" "rc $(cat "$d/datasets-main.rc"): $(tail -20 "$d/datasets-main.err")"

f=$d/datasets.txt
for ds in cubic__ods_qlik__edw_patron cubic__dmap__agg_total_trips; do
    if grep -E "^ *$ds +STALE " "$f" >/dev/null 2>&1; then lk_pass "$ds is STALE"; else lk_fail "$ds is STALE" "$(cat "$f")"; fi
done
n=$(grep -cE ' STALE ' "$f" 2>/dev/null)
# tui_ingest has never archived anything and has a limit: stale too.
[ "$n" = 3 ] && lk_pass "only the stale datasets are STALE" || lk_fail "only the stale datasets are STALE" "$n: $(cat "$f")"
if grep -E '^ *cubic__dmap__agg_sample +fresh ' "$f" >/dev/null 2>&1; then lk_pass "a fresh dataset is fresh"; else lk_fail "a fresh dataset is fresh" "$(cat "$f")"; fi
n=$(grep -cE '^ *(cubic__|tui_ingest)' "$f" 2>/dev/null)
[ "$n" = 13 ] && lk_pass "one row per configured dataset" || lk_fail "one row per configured dataset" "$n rows"
ld_has "ODS snapshot shown with its loads" "$f" "LOAD00002501.csv.gz ("
ld_has "a dataset never archived says never" "$f" "never"
# Counts: the seed's agg_sample has 2 ready, 3 errored+ (its own), our 3 retry targets.
exp=$(ld_psql "SELECT count(*) FILTER (WHERE status = 'archived') || ' ' || count(*) FILTER (WHERE status = 'errored')
                 FROM lakeop.loads l JOIN lakeop.datasets d ON d.id = l.dataset_id WHERE d.name = 'cubic__dmap__agg_sample'")
set -- $exp
if grep -E "^ *cubic__dmap__agg_sample .* $1 +$2 " "$f" >/dev/null 2>&1; then
    lk_pass "archived and errored counts match Postgres ($1, $2)"
else
    lk_fail "archived and errored counts match Postgres ($1, $2)" "$(grep agg_sample "$f")"
fi
lk_check "screen datasets is inert" tui_check_inert "$f"

ld_has "filter narrows to one dataset" "$d/datasets-filter.txt" "1 of 13 rows"
f=$d/datasets-loads.txt
ld_has "Enter opens the Loads screen" "$f" "Loads"
if [ -f "$f" ] && grep -q 'cubic__dmap__agg_sample' "$f" && ! grep -qE '^ +[0-9]+ cubic__(ods|dmap__[^a])' "$f"; then
    lk_pass "the Loads screen shows that dataset only"
else
    lk_fail "the Loads screen shows that dataset only" "$(cat "$f")"
fi
ld_has "Esc comes back to Datasets" "$d/datasets-back.txt" "Datasets"

# Ingest of the selected dataset.
ld_has "ingest asks first" "$d/datasets-ingest-confirm.txt" "target: tui_ingest"
st=$(ld_psql "SELECT l.status || '|' || coalesce(l.record_count, -1) FROM lakeop.loads l JOIN lakeop.datasets d ON d.id = l.dataset_id WHERE d.name = 'tui_ingest'")
[ "$st" = "archived|3" ] && lk_pass "ingest archived the good file (3 records)" || lk_fail "ingest archived the good file (3 records)" "$st"
n=$(find "$store/lake-raw-hist/tui" -path '*file_land_timestamp=*' -name good.csv 2>/dev/null | wc -l)
[ "$n" = 1 ] && [ ! -e "$store/lake-incoming/tui/good.csv" ] && lk_pass "file moved to raw-hist" \
    || lk_fail "file moved to raw-hist" "$(find "$store" -name good.csv)"
ld_has "ingest reports its totals" "$d/datasets-ingested.txt" "ingest done: 1 registered, 1 archived, 0 errored, 0 failed"
if grep -E '^ *tui_ingest +fresh ' "$d/datasets-ingested.txt" >/dev/null; then lk_pass "the ingested dataset is fresh now"; else lk_fail "the ingested dataset is fresh now" "$(cat "$d/datasets-ingested.txt")"; fi
n=$(ld_psql "SELECT count(*) FROM lakeop.audit WHERE action = 'ingest' AND target = 'tui_ingest' AND result = 'ok' AND operator = 'alice'")
[ "$n" = 1 ] && lk_pass "ingest audited" || lk_fail "ingest audited" "$n audit rows"
ld_has "ingest-all asks first" "$d/datasets-ingest-all-confirm.txt" "target: every dataset"
ld_has "Esc starts nothing" "$d/datasets-ingest-cancelled.txt" "ingest: nothing started"
n=$(ld_psql "SELECT count(*) FROM lakeop.audit WHERE action = 'ingest'")
[ "$n" = 1 ] && lk_pass "no second ingest ran" || lk_fail "no second ingest ran" "$n ingest audits"
ld_has ":datasets NAME selects it (Enter opens its loads)" "$d/datasets-link.txt" "cubic__dmap__agg_total_trips"
tui_no_asan "$d/datasets-main.err"

# Live: a load archived now turns agg_total_trips fresh without a key.
if command -v tmux >/dev/null; then
    sock=lakeop-ds-$$
    lk_on_exit "tmux -L '$sock' kill-server"
    tmux -L "$sock" new-session -d -s live -x 160 -y 30 \
        "env LAKEOP_CONFIG='$LAKEOP_CONFIG' HOME='$HOME' XDG_STATE_HOME='$XDG_STATE_HOME' TZ=UTC LAKEOP_SCREEN=datasets \
         ASAN_OPTIONS='$ASAN_OPTIONS' UBSAN_OPTIONS='$UBSAN_OPTIONS' '$LK_BIN' 2>'$d/live.err'; sleep 30"
    wait_line() {   # regexp: until a line of the pane matches
        i=0
        while [ $i -lt 100 ]; do
            tmux -L "$sock" capture-pane -p -t live | grep -qE "$1" && return 0
            sleep 0.1; i=$((i + 1))
        done
        tmux -L "$sock" capture-pane -p -t live
        return 1
    }
    lk_check "live: agg_total_trips starts STALE" wait_line '^ *cubic__dmap__agg_total_trips +STALE '
    ld_psql "INSERT INTO lakeop.loads (dataset_id, key, size, modified_at, file_land_timestamp, status, record_count)
             SELECT id, 'live.csv', 10, now(), extract(epoch FROM now())::bigint, 'archived', 1
               FROM lakeop.datasets WHERE name = 'cubic__dmap__agg_total_trips'" >/dev/null
    lk_check "live: turns fresh on NOTIFY" wait_line '^ *cubic__dmap__agg_total_trips +fresh '
    # The re-check before starting reads the database: another session
    # takes the dataset's ingest lock behind the open dialog.
    printf 'new,%s\n' 1 > "$store/lake-incoming/tui/late.csv"
    tmux -L "$sock" send-keys -t live / tui_ingest Enter
    sleep 0.3
    tmux -L "$sock" send-keys -t live i
    lk_check "ingest asks first" wait_line 'target: tui_ingest'
    psql -X -qAt -h "$LK_PG_HOST" -p "$LK_PG_PORT" -U postgres -d "$LD_DB" \
        -c "SELECT pg_advisory_lock(27755, id::int) FROM lakeop.datasets WHERE name = 'tui_ingest'" \
        -c "SELECT pg_sleep(20)" >/dev/null 2>&1 &
    locker=$!
    i=0
    while [ $i -lt 50 ] && [ "$(ld_psql "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND classid = 27755")" = 0 ]; do
        sleep 0.1; i=$((i + 1))
    done
    a0=$(ld_psql "SELECT count(*) FROM lakeop.audit WHERE action = 'ingest'")
    tmux -L "$sock" send-keys -t live Tab Enter
    lk_check "ingest refused: the dataset is being ingested elsewhere" \
        wait_line 'nothing done: dataset tui_ingest is being ingested by another session now'
    a1=$(ld_psql "SELECT count(*) FROM lakeop.audit WHERE action = 'ingest'")
    n=$(ld_psql "SELECT count(*) FROM lakeop.loads WHERE key LIKE '%late.csv'")
    [ "$a1" = "$a0" ] && [ "$n" = 0 ] && [ -f "$store/lake-incoming/tui/late.csv" ] \
        && lk_pass "the refused ingest started nothing" \
        || lk_fail "the refused ingest started nothing" "audit $a0 -> $a1, $n loads for late.csv"
    kill $locker 2>/dev/null; wait $locker 2>/dev/null
    tmux -L "$sock" send-keys -t live q
    sleep 1
    tui_no_asan "$d/live.err"
else
    lk_fail "tmux" "tmux is not installed"
fi

[ -n "${LD_KEEP:-}" ] && cp -r "$d" "$LD_KEEP"
lk_done
