# The sandbox: a private PostgreSQL, the Zuora and Airflow doubles, and an
# object store (file:// by default, s3rver on request), seeded with
# realistic data, and a config that points lakeop at all of it.
# `make demo` uses it, and so do the tests that want a realistic world.
#
# Source after tests/lib/common.sh, then:
#   sandbox_up DIR [file|s3rver]   start everything under DIR, seed it, and
#                                  export LAKEOP_CONFIG=DIR/config
# Everything started is stopped at exit (lk_on_exit).

. "$LK_ROOT/tests/lib/pg.sh"
. "$LK_ROOT/tests/lib/doubles.sh"

sandbox_datasets() {   # name|incoming path|dialect|freshness|ods
    cat <<'EOD'
cubic__ods_qlik__edw_sample|cubic/ods_qlik/EDW.SAMPLE|csv|26h|true
cubic__ods_qlik__edw_sample__ct|cubic/ods_qlik/EDW.SAMPLE__ct|csv|26h|true
cubic__ods_qlik__edw_card|cubic/ods_qlik/EDW.CARD|csv|26h|true
cubic__ods_qlik__edw_card__ct|cubic/ods_qlik/EDW.CARD__ct|csv|26h|true
cubic__ods_qlik__edw_farerev|cubic/ods_qlik/EDW.FARE_REVENUE|csv|26h|true
cubic__ods_qlik__edw_patron|cubic/ods_qlik/EDW.PATRON|csv|26h|true
cubic__dmap__agg_sample|cubic/dmap/agg_sample|csv|48h|false
cubic__dmap__agg_average_boardings|cubic/dmap/agg_average_boardings|csv|48h|false
cubic__dmap__agg_total_trips|cubic/dmap/agg_total_trips|csv|48h|false
cubic__dmap__device_event|cubic/dmap/device_event|redshift-unload|48h|false
cubic__dmap__sale_transaction|cubic/dmap/sale_transaction|redshift-unload|48h|false
cubic__dmap__use_transaction|cubic/dmap/use_transaction|csv|7d|false
EOD
}

# Files waiting in the incoming bucket, so that `ingest` has work to do:
# good ones, and a few that fail validation for the usual reasons.
sandbox_incoming_files() {
    root=$1
    base="$root/lake-incoming/cubic"
    mkdir -p "$base/dmap/agg_sample" "$base/ods_qlik/EDW.SAMPLE" "$base/dmap/device_event" \
             "$base/dmap/agg_total_trips"
    day=$(date -u +%Y%m%d)
    printf 'id,name,updated_at\r\n1,"Park Street",2026-11-22 10:00:00\r\n2,"Downtown ""Crossing""",2026-11-22 10:01:00\r\n' \
        > "$base/dmap/agg_sample/${day}01.csv"
    printf 'id,name,updated_at\n3,"multi\nline",2026-11-22 11:00:00\n4,Kendall,2026-11-22 11:00:01' \
        > "$base/dmap/agg_sample/${day}02.csv"
    printf 'id,name\n5,Harvard\n' > "$base/dmap/agg_sample/${day}03.csv"      # missing column
    : > "$base/dmap/agg_total_trips/${day}00.csv"                             # empty
    printf 'id,name,updated_at\n10,Alewife,2026-11-22 09:00:00\n' | gzip > "$base/ods_qlik/EDW.SAMPLE/$(date -u +%Y%m%d-%H%M%S)000.csv.gz"
    printf '7|device \\| 7|\\N\n8|"quoted|pipe"|2026-11-22 09:00:00\n' > "$base/dmap/device_event/${day}_0000_part_00.txt"
}

sandbox_buckets() {   # objects.conf: every bucket the config names
    echo lake-incoming lake-raw-hist ophan-clean-price-migration-engine-cohort-items
    grep '^raw' "$1" | sed 's|.*s3://\([^/]*\)/.*|\1|'
}

sandbox_up() {
    # Not "dir": pg_start and friends use that name (sh has no locals).
    sbx=$1
    store_kind=${2:-file}
    mkdir -p "$sbx"
    sbx=$(cd "$sbx" && pwd)
    rm -rf "$sbx/store" "$sbx/schemas" "$sbx/s3rver" "$sbx/upload"
    mkdir -p "$sbx/store" "$sbx/schemas"

    # PostgreSQL: a cluster of our own (the test runner's when it has one).
    pg_start "$sbx/pg" || return 1
    conninfo=$(pg_new_db lakeop_sandbox) || return 1

    # Zuora: a week of history; Airflow: the supporter_experience DAG of
    # airflow_seed.json, one task per exported object, each object's stage,
    # all behind zuora_account (the catalogue after the rate plans that name
    # it), a run a day for the Zuora week, two of them failed.  The double's
    # default DAG stays as the Airflow tests know it.
    python3 "$LK_ROOT/tests/sandbox/zuora_seed.py" "$sbx/zuora_jobs.json" "$sbx/objects.conf" "$sbx/history.sql" || return 1
    zuora_double_start --seed "$sbx/zuora_jobs.json" --job-seconds 90 || return 1
    airflow_double_start --first-date "$(date -u -d '8 days ago' +%Y-%m-%d)" \
        --seed "$LK_ROOT/tests/sandbox/airflow_seed.json" || return 1

    # The buckets the config names, with yesterday's increment in place.
    store_endpoint="file://$sbx/store"
    if [ "$store_kind" = s3rver ]; then
        . "$LK_ROOT/tests/lib/s3.sh"
        # shellcheck disable=SC2046
        s3rver_start "$sbx/s3rver" $(sandbox_buckets "$sbx/objects.conf") || return 1
        store_endpoint=$LK_S3RVER_URL
        sandbox_incoming_files "$sbx/upload"
        lk_aws "$LK_S3RVER_URL" s3 cp --recursive --only-show-errors "$sbx/upload/lake-incoming" s3://lake-incoming \
            || return 1
    else
        for b in $(sandbox_buckets "$sbx/objects.conf"); do
            mkdir -p "$sbx/store/$b"
        done
        sandbox_incoming_files "$sbx/store"
    fi

    for ds in $(sandbox_datasets | cut -d'|' -f1); do
        printf '{"columns":[{"name":"id","type":"bigint","nullable":false},{"name":"name","type":"string","nullable":true},{"name":"updated_at","type":"timestamp","nullable":true}]}\n' \
            > "$sbx/schemas/$ds.json"
    done

    umask 077
    {
        for env in CODE PROD; do
            echo "[env \"$env\"]"
            echo "database        = $conninfo"
            echo "zuora.url       = $LK_ZUORA_URL"
            echo "zuora.client_id = lakeop-test"
            echo "zuora.client_secret = s3cret"
            echo "zuora.partner   = guardian-12357"
            echo "zuora.project   = zuora-datalake-export-2"
            echo "zuora.timezone  = UTC"
            echo "s3.endpoint     = $store_endpoint"
            echo "s3.region       = eu-west-1"
            if [ "$store_kind" = s3rver ]; then
                echo "aws.access_key_id = S3RVER"
                echo "aws.secret_access_key = S3RVER"
            fi
            echo "airflow.url     = $LK_AIRFLOW_URL"
            echo "airflow.user    = ops"
            echo "airflow.password = pw"
            echo "airflow.dag     = supporter_experience"
            echo "cohorts.bucket  = s3://ophan-clean-price-migration-engine-cohort-items"
            echo "cohorts.table_stage = $env"
            if [ "$env" = PROD ]; then
                echo "protected       = true"
            fi
            echo
        done
        cat "$sbx/objects.conf"
        sandbox_datasets | while IFS='|' read -r name path dialect fresh ods; do
            echo "[dataset \"$name\"]"
            echo "incoming  = s3://lake-incoming/$path/"
            echo "raw_hist  = s3://lake-raw-hist/$path/"
            echo "schema    = schemas/$name.json"
            echo "dialect   = $dialect"
            echo "freshness = $fresh"
            echo "min_records = 1"
            echo "ods       = $ods"
            echo
        done
    } > "$sbx/config"
    umask 022
    chmod 600 "$sbx/config"
    LAKEOP_CONFIG=$sbx/config
    export LAKEOP_CONFIG
    unset LAKEOP_ENV

    # lakeop migrates the schema itself on first contact; then the seed.
    "${LK_BIN:-$LK_ROOT/lakeop}" audit --limit 1 >/dev/null 2>"$sbx/migrate.log" || { cat "$sbx/migrate.log" >&2; return 1; }
    psql -X -q "$conninfo" -f "$LK_ROOT/tests/sandbox/seed.sql" >/dev/null || return 1
    psql -X -q "$conninfo" -f "$sbx/history.sql" >/dev/null || return 1
    # This morning's export aborted: re-export from yesterday, as the runbook
    # says, so a real job runs through Zuora's lifecycle while you watch.
    "${LK_BIN:-$LK_ROOT/lakeop}" export --from "$(date -u -d yesterday +%Y-%m-%d)" --yes \
        >"$sbx/export.log" 2>&1 || { cat "$sbx/export.log" >&2; return 1; }
    SANDBOX_DIR=$sbx
    SANDBOX_DB=$conninfo
    export SANDBOX_DIR SANDBOX_DB
}
