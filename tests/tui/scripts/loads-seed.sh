# Shared set-up of the Loads and Datasets console tests (sourced by
# tests/tui/loads.sh and tests/tui/datasets.sh; kept here, beside their
# scripts, so that tests/run.sh does not run it as a test).
#
#   loads_seed NAME   a fresh database NAME migrated by lakeop and filled
#                     with tests/sandbox/seed.sql (12 datasets, two of them
#                     stale), plus three errored loads of
#                     cubic__dmap__agg_sample whose files wait in the errored
#                     area of a file:// store ($LD_DIR/store), keys
#                     cubic/dmap/agg_sample/retryme-N.csv; writes
#                     $LD_DIR/config (env CODE, and PROD protected) with
#                     every seed dataset and one dataset, tui_ingest, whose
#                     incoming prefix holds one good CSV file.  The dmap
#                     datasets' limit is 48h here: the seed's hourly keys
#                     collapse to fewer loads per day, so only the two
#                     datasets it ages by four days are stale.
#   ld_psql SQL       runs SQL, prints the rows (unaligned, |-separated)
#   ld_run NAME LINES COLS [ENV...]   runs tests/tui/scripts/NAME.script headless
#
# LD_KEEP=DIR keeps a run's dumps and logs (copied there at the end).

ld_psql() {
    psql -X -qAt -v ON_ERROR_STOP=1 -h "$LK_PG_HOST" -p "$LK_PG_PORT" -U postgres -d "$LD_DB" -c "$1"
}

loads_seed() {
    LD_DB=$1
    LD_DIR=$(lk_tmpdir)/$1
    store=$LD_DIR/store
    mkdir -p "$LD_DIR/home" "$store/lake-incoming/errored/cubic/dmap/agg_sample" \
             "$store/lake-incoming/cubic/dmap/agg_sample" "$store/lake-incoming/tui" "$store/lake-raw-hist"
    conninfo=$(pg_new_db "$LD_DB" 2>/dev/null) || return 1
    {
        printf '[env "CODE"]\ndatabase = %s\noperator = alice\ns3.endpoint = file://%s\n\n' "$conninfo" "$store"
        printf '[env "PROD"]\ndatabase = %s\noperator = alice\ns3.endpoint = file://%s\nprotected = true\n\n' \
            "$conninfo" "$store"
        for ds in cubic__ods_qlik__edw_sample:cubic/ods_qlik/EDW.SAMPLE:26h:true \
                  cubic__ods_qlik__edw_sample__ct:cubic/ods_qlik/EDW.SAMPLE__ct:26h:true \
                  cubic__ods_qlik__edw_card:cubic/ods_qlik/EDW.CARD:26h:true \
                  cubic__ods_qlik__edw_card__ct:cubic/ods_qlik/EDW.CARD__ct:26h:true \
                  cubic__ods_qlik__edw_farerev:cubic/ods_qlik/EDW.FARE_REVENUE:26h:true \
                  cubic__ods_qlik__edw_patron:cubic/ods_qlik/EDW.PATRON:26h:true \
                  cubic__dmap__agg_sample:cubic/dmap/agg_sample:48h:false \
                  cubic__dmap__agg_average_boardings:cubic/dmap/agg_average_boardings:48h:false \
                  cubic__dmap__agg_total_trips:cubic/dmap/agg_total_trips:48h:false \
                  cubic__dmap__device_event:cubic/dmap/device_event:48h:false \
                  cubic__dmap__sale_transaction:cubic/dmap/sale_transaction:48h:false \
                  cubic__dmap__use_transaction:cubic/dmap/use_transaction:168h:false; do
            IFS=: read -r name path fresh ods <<EOD
$ds
EOD
            printf '[dataset "%s"]\nincoming = s3://lake-incoming/%s/\nraw_hist = s3://lake-raw-hist/%s/\n' \
                "$name" "$path" "$path"
            printf 'schema = %s\nfreshness = %s\nods = %s\n\n' "$LK_ROOT/tests/fixtures/ingest/schema.json" "$fresh" "$ods"
        done
        printf '[dataset "tui_ingest"]\nincoming = s3://lake-incoming/tui/\nraw_hist = s3://lake-raw-hist/tui/\n'
        printf 'schema = %s\ndialect = csv\nfreshness = 26h\nmin_records = 1\n' "$LK_ROOT/tests/fixtures/ingest/schema.json"
    } > "$LD_DIR/config"
    chmod 600 "$LD_DIR/config"
    export LAKEOP_CONFIG="$LD_DIR/config" HOME="$LD_DIR/home" XDG_STATE_HOME="$LD_DIR/home/state"
    unset LAKEOP_ENV XDG_CONFIG_HOME LAKEOP_DATABASE_URL LAKEOP_S3_ENDPOINT
    "$LK_BIN" audit --limit 1 >/dev/null || return 1      # lakeop applies its own schema
    psql -X -q -h "$LK_PG_HOST" -p "$LK_PG_PORT" -U postgres -d "$LD_DB" \
        -f "$LK_ROOT/tests/sandbox/seed.sql" >/dev/null || return 1

    # The retry targets: errored, their files in the errored area.
    for i in 1 2 3; do
        printf 'id,name\n%s,short\n' "$i" > "$store/lake-incoming/errored/cubic/dmap/agg_sample/retryme-$i.csv"
    done
    size=$(wc -c < "$store/lake-incoming/errored/cubic/dmap/agg_sample/retryme-1.csv")
    ld_psql "
INSERT INTO lakeop.loads (dataset_id, key, size, modified_at, file_land_timestamp, status, error, created_at, updated_at)
SELECT d.id, 'cubic/dmap/agg_sample/retryme-' || g || '.csv', $size,
       timestamptz '2026-11-20 10:00:00+00' + g * interval '1 minute',
       extract(epoch FROM timestamptz '2026-11-20 10:00:00+00' + g * interval '1 minute')::bigint,
       'errored', 'header mismatch: missing column \"amount\" (retryme ' || g || ')',
       timestamptz '2026-11-20 10:05:00+00', timestamptz '2026-11-20 10:06:00+00'
  FROM lakeop.datasets d, generate_series(1, 3) g WHERE d.name = 'cubic__dmap__agg_sample' ORDER BY g;
INSERT INTO lakeop.load_events (load_id, at, from_status, to_status, operator, message)
SELECT l.id, timestamptz '2026-11-20 10:05:00+00', NULL, 'ready', 'ingest', 'registered'
  FROM lakeop.loads l WHERE l.key LIKE '%retryme-%';
INSERT INTO lakeop.load_events (load_id, at, from_status, to_status, operator, message)
SELECT l.id, timestamptz '2026-11-20 10:06:00+00', 'erroring', 'errored', 'ingest', l.error
  FROM lakeop.loads l WHERE l.key LIKE '%retryme-%';
ANALYZE lakeop.loads;" >/dev/null || return 1
    cp "$LK_ROOT/tests/fixtures/ingest/good.csv" "$store/lake-incoming/tui/good.csv"
}

ld_run() {   # name lines cols [env assignments...]
    name=$1; lines=$2; cols=$3; shift 3
    sed "s|@OUT@|$LD_DIR|g" "$LK_ROOT/tests/tui/scripts/$name.script" > "$LD_DIR/$name.script"
    env "$@" LAKEOP_HEADLESS=1 LINES="$lines" COLUMNS="$cols" TERM=xterm-256color \
        LAKEOP_SCRIPT="$LD_DIR/$name.script" timeout 90 "$LK_BIN" >"$LD_DIR/$name.out" 2>"$LD_DIR/$name.err"
    echo $? > "$LD_DIR/$name.rc"
}

# ld_has NAME FILE TEXT: passes when the dump FILE holds TEXT (fixed string).
ld_has() {
    if [ -f "$2" ] && grep -qF -- "$3" "$2"; then
        lk_pass "$1"
    else
        lk_fail "$1" "no '$3' in $2: $(cat "$2" 2>/dev/null)"
    fi
}
