#!/bin/sh
# Ingestion on the file:// store and real Postgres: every bad input of
# issue 6 ends in the right status with a message naming the problem, valid
# files reach raw-hist under file_land_timestamp=<unix seconds>, nothing is
# lost or moved twice, retry puts a file back, status/datasets/loads report it.
. "$(dirname "$0")/../lib/common.sh"
. "$LK_ROOT/tests/lib/pg.sh"

pg_start || { echo "cannot start PostgreSQL"; exit 1; }
tmp=$(lk_tmpdir)
fx=$LK_ROOT/tests/fixtures/ingest
store=$tmp/store
mkdir -p "$store/incoming/cubic/dmap/agg" "$store/incoming/unload" "$store/incoming/bad" \
         "$store/incoming/cubic/ods_qlik/EDW.SAMPLE" "$store/raw-hist"
LAKEOP_DATABASE_URL=$(pg_new_db lk_ingest_file)
export LAKEOP_DATABASE_URL
unset LAKEOP_ENV LAKEOP_S3_ENDPOINT

cat >"$tmp/config" <<EOF
[env "test"]
s3.endpoint = file://$store
operator = tester

[dataset "agg"]
incoming = s3://incoming/cubic/dmap/agg/
raw_hist = s3://raw-hist/cubic/dmap/agg/
schema = $fx/schema.json
dialect = csv
freshness = 26h
min_records = 1

[dataset "unload"]
incoming = s3://incoming/unload/
raw_hist = s3://raw-hist/unload/
schema = $fx/schema.txt
dialect = redshift-unload
min_records = 1

[dataset "badschema"]
incoming = s3://incoming/bad/
raw_hist = s3://raw-hist/bad/
schema = $fx/bad_schema.json

[dataset "ods"]
incoming = s3://incoming/cubic/ods_qlik/EDW.SAMPLE/
raw_hist = s3://raw-hist/cubic/ods_qlik/EDW.SAMPLE/
schema = $fx/schema.json
ods = true
EOF
chmod 600 "$tmp/config"
lk() { "$LK_BIN" --config "$tmp/config" "$@"; }
q() { psql -X -qAt -h "$LK_PG_HOST" -p "$LK_PG_PORT" -U postgres -d lk_ingest_file -c "$1"; }

# Files land at known times: the raw-hist partition is the landing time.
T=1700000000
agg=$store/incoming/cubic/dmap/agg
for f in good.csv bom.csv crlf.csv quoted_newline.csv no_final_newline.csv empty.csv header_only.csv \
         missing_column.csv extra_column.csv short_record.csv unterminated_quote.csv not_utf8.csv \
         good.csv.gz truncated.csv.gz "key with spaces.csv" report.json unload_0000_part_00 unload_in_csv.csv; do
    cp "$fx/$f" "$agg/$f"
    touch -d "@$T" "$agg/$f"
done
for f in unload_0000_part_00 unload_0001_part_00.gz unload_short_0000_part_00 unload_bad_quote_0000_part_00 \
         unload_backslash_0000_part_00 unload_unterminated_0000_part_00; do
    cp "$fx/$f" "$store/incoming/unload/$f"
    touch -d "@$T" "$store/incoming/unload/$f"
done
cp "$fx/good.csv" "$store/incoming/bad/good.csv"
for f in LOAD00000001.csv LOAD00000002.csv; do
    cp "$fx/$f" "$store/incoming/cubic/ods_qlik/EDW.SAMPLE/$f"
    touch -d "@$T" "$store/incoming/cubic/ods_qlik/EDW.SAMPLE/$f"
done

# ---- a schema file that does not parse: exit 2, file named, nothing touched
out=$(lk ingest --dataset badschema --yes 2>&1); rc=$?
if [ $rc -eq 2 ] && echo "$out" | grep -q "bad_schema.json does not parse: line 3"; then
    lk_pass "schema that does not parse: exit 2 naming the file and line"
else lk_fail "schema that does not parse" "rc=$rc $out"; fi
if [ -f "$store/incoming/bad/good.csv" ] && [ "$(q "SELECT count(*) FROM lakeop.loads")" = 0 ]; then
    lk_pass "schema error: its files left untouched, nothing registered"
else lk_fail "schema error leaves files" "$(ls -R "$store/incoming/bad")"; fi

# ---- no terminal, no --yes: refused
out=$(lk ingest --dataset agg </dev/null 2>&1); rc=$?
[ $rc -eq 3 ] && lk_pass "ingest without --yes and without a terminal is refused (3)" \
    || lk_fail "ingest refused" "rc=$rc $out"
out=$(lk --read-only ingest --yes 2>&1); rc=$?
[ $rc -eq 3 ] && lk_pass "read-only ingest refused (3)" || lk_fail "read-only" "rc=$rc $out"
out=$(lk ingest --dataset nope --yes 2>&1); rc=$?
[ $rc -eq 4 ] && lk_pass "unknown dataset: 4" || lk_fail "unknown dataset" "rc=$rc $out"

# ---- the real run
out=$(lk ingest --dataset agg --yes 2>&1); rc=$?
echo "$out" | sed 's/^/    | /'
[ $rc -eq 0 ] && lk_pass "ingest agg exits 0" || lk_fail "ingest agg" "rc=$rc"

status_of() { q "SELECT status FROM lakeop.loads WHERE key = 'cubic/dmap/agg/$1'"; }
error_of() { q "SELECT error FROM lakeop.loads WHERE key = 'cubic/dmap/agg/$1'"; }
expect_archived() {   # file, records
    f=$1
    st=$(status_of "$f"); n=$(q "SELECT record_count FROM lakeop.loads WHERE key = 'cubic/dmap/agg/$f'")
    dest="$store/raw-hist/cubic/dmap/agg/file_land_timestamp=$T/$f"
    if [ "$st" = archived ] && [ "$n" = "$2" ] && [ -f "$dest" ] && [ ! -e "$agg/$f" ] \
        && cmp -s "$dest" "$fx/$f"; then
        lk_pass "$f: archived with $2 records, byte-identical in raw-hist, gone from incoming"
    else lk_fail "$f archived" "status=$st records=$n dest=$(ls "$store/raw-hist/cubic/dmap/agg/file_land_timestamp=$T/" 2>&1)"; fi
}
expect_errored() {   # file, words of the message
    f=$1
    st=$(status_of "$f"); e=$(error_of "$f")
    dest="$store/incoming/errored/cubic/dmap/agg/$f"
    if [ "$st" = errored ] && echo "$e" | grep -qF "$2" && [ -f "$dest" ] && [ ! -e "$agg/$f" ] \
        && cmp -s "$dest" "$fx/$f" && [ ! -e "$store/raw-hist/cubic/dmap/agg/file_land_timestamp=$T/$f" ]; then
        lk_pass "$f: errored ($2), moved intact to the errored area"
    else lk_fail "$f errored" "status=$st error=$e"; fi
}
expect_archived good.csv 3
expect_archived bom.csv 1
expect_archived crlf.csv 2
expect_archived quoted_newline.csv 2
expect_archived no_final_newline.csv 2
expect_archived good.csv.gz 199
expect_archived "key with spaces.csv" 1
expect_errored empty.csv "empty file"
expect_errored header_only.csv "0 data records (a header only), expected at least 1"
expect_errored missing_column.csv "missing column name"
expect_errored extra_column.csv "extra column colour"
expect_errored short_record.csv "record 2 (line 3) has 2 fields, expected 3 (a short record)"
expect_errored unterminated_quote.csv "unterminated quote: the quoted field that starts in record 2 (line 3)"
expect_errored not_utf8.csv "record 2 (line 3) contains bytes that are not UTF-8"
expect_errored truncated.csv.gz "gzip data truncated"
expect_errored report.json "does not have an extension of the csv dialect"
# Redshift UNLOAD output landed in a csv dataset: by its name, or by its
# content when it is named .csv.
expect_errored unload_0000_part_00 "'unload_0000_part_00' does not have an extension of the csv dialect"
expect_errored unload_in_csv.csv "missing columns id, name, amount; extra column 1|\"acme"

# Each change is an event; the run is audited.
n=$(q "SELECT count(*) FROM lakeop.load_events e JOIN lakeop.loads l ON l.id = e.load_id WHERE l.key = 'cubic/dmap/agg/good.csv'")
[ "$n" = 5 ] && lk_pass "good.csv: 5 events (registered, ingesting, ready_for_archiving, archiving, archived)" \
    || lk_fail "events" "$n"
n=$(q "SELECT count(*) FROM lakeop.audit WHERE action = 'ingest' AND result = 'ok' AND operator = 'tester'")
[ "$n" = 1 ] && lk_pass "the run is audited once" || lk_fail "audit" "$n"

# ---- again: nothing new, nothing moved twice
before=$(cd "$store" && find . -type f | sort | xargs -d '\n' md5sum)
out=$(lk ingest --dataset agg --yes 2>&1); rc=$?
after=$(cd "$store" && find . -type f | sort | xargs -d '\n' md5sum)
if [ $rc -eq 0 ] && echo "$out" | grep -q "^0 registered, 0 archived, 0 errored, 0 failed" && [ "$before" = "$after" ]; then
    lk_pass "a second run registers and moves nothing"
else lk_fail "second run" "rc=$rc $out"; fi

# ---- Redshift UNLOAD
out=$(lk ingest --dataset unload --yes 2>&1); rc=$?
st=$(q "SELECT status || ' ' || record_count FROM lakeop.loads WHERE key = 'unload/unload_0000_part_00'")
[ $rc -eq 0 ] && [ "$st" = "archived 3" ] && [ -f "$store/raw-hist/unload/file_land_timestamp=$T/unload_0000_part_00" ] \
    && lk_pass "Redshift UNLOAD file: escapes, \\N, quotes; archived with 3 records" \
    || lk_fail "unload" "rc=$rc st=$st $out"
st=$(q "SELECT status || ' ' || record_count FROM lakeop.loads WHERE key = 'unload/unload_0001_part_00.gz'")
[ "$st" = "archived 3" ] && cmp -s "$fx/unload_0001_part_00.gz" "$store/raw-hist/unload/file_land_timestamp=$T/unload_0001_part_00.gz" \
    && lk_pass "gzipped UNLOAD part (_part_00.gz): decompressed while validated, archived as landed" \
    || lk_fail "unload gz" "st=$st"
expect_unload_errored() {   # file, words of the message
    st=$(q "SELECT status FROM lakeop.loads WHERE key = 'unload/$1'"); e=$(q "SELECT error FROM lakeop.loads WHERE key = 'unload/$1'")
    if [ "$st" = errored ] && echo "$e" | grep -qF "$2" && cmp -s "$fx/$1" "$store/incoming/errored/unload/$1" \
        && [ ! -e "$store/incoming/unload/$1" ]; then
        lk_pass "UNLOAD $1: errored ($2), moved intact to the errored area"
    else lk_fail "UNLOAD $1 errored" "status=$st error=$e"; fi
}
expect_unload_errored unload_short_0000_part_00 "record 2 (line 2) has 2 fields, expected 3 (a short record)"
expect_unload_errored unload_bad_quote_0000_part_00 "unexpected 'h' after a closing quote (a quote inside a quoted field must be escaped)"
expect_unload_errored unload_backslash_0000_part_00 "the file ends with a backslash that escapes nothing"
expect_unload_errored unload_unterminated_0000_part_00 "unterminated quote: the quoted field that starts in record 2 (line 2)"

# ---- ODS snapshots
lk ingest --dataset ods --yes >/dev/null 2>&1
n=$(q "SELECT count(*) FROM lakeop.dataset_snapshots s JOIN lakeop.load_snapshots ls ON ls.snapshot_id = s.id WHERE s.snapshot_key = 'cubic/ods_qlik/EDW.SAMPLE/LOAD00000001.csv'")
[ "$n" = 2 ] && lk_pass "ODS: LOAD00000001 starts a snapshot, both loads belong to it" || lk_fail "snapshot" "$n"
# A full reload restarts at LOAD00000001 under the same keys, a day later:
# new loads, and a new snapshot they belong to.
T2=$((T + 86400))
ods=$store/incoming/cubic/ods_qlik/EDW.SAMPLE
for f in LOAD00000001.csv LOAD00000002.csv; do
    cp "$fx/$f" "$ods/$f"; touch -d "@$T2" "$ods/$f"
done
out=$(lk ingest --dataset ods --yes 2>&1); rc=$?
snaps=$(q "SELECT extract(epoch FROM s.started_at)::bigint || ':' || count(ls.load_id) FROM lakeop.dataset_snapshots s
           LEFT JOIN lakeop.load_snapshots ls ON ls.snapshot_id = s.id
           WHERE s.snapshot_key = 'cubic/ods_qlik/EDW.SAMPLE/LOAD00000001.csv' GROUP BY s.id ORDER BY s.id" | tr '\n' ' ')
if [ $rc -eq 0 ] && echo "$out" | grep -q "^2 registered, 2 archived" && [ "$snaps" = "$T:2 $T2:2 " ] \
    && [ -f "$store/raw-hist/cubic/ods_qlik/EDW.SAMPLE/file_land_timestamp=$T2/LOAD00000001.csv" ] \
    && [ -f "$store/raw-hist/cubic/ods_qlik/EDW.SAMPLE/file_land_timestamp=$T/LOAD00000001.csv" ]; then
    lk_pass "ODS restart under the same LOAD00000001 key: two new loads in their own partition, a second snapshot"
else lk_fail "ODS restart" "rc=$rc snaps=$snaps $out"; fi
n=$(q "SELECT count(*) FROM lakeop.loads l JOIN lakeop.datasets d ON d.id = l.dataset_id
       WHERE d.is_ods AND NOT EXISTS (SELECT 1 FROM lakeop.load_snapshots ls WHERE ls.load_id = l.id)")
[ "$n" = 0 ] && lk_pass "every ODS load belongs to a snapshot" || lk_fail "ODS links" "$n without a snapshot"

# ---- loads
out=$(lk loads --dataset agg --status errored 2>&1); rc=$?
n=$(echo "$out" | grep -c "^[0-9]* *errored")
[ $rc -eq 0 ] && [ "$n" = 11 ] && lk_pass "loads --status errored lists the 11 errored files" || lk_fail "loads" "rc=$rc n=$n"
out=$(lk loads --limit 2 2>&1)
next=$(echo "$out" | sed -n 's/^more: lakeop loads --before //p')
out2=$(lk loads --limit 2 --before "$next" --json 2>&1)
first2=$(echo "$out2" | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["loads"][0]["id"])')
[ -n "$next" ] && [ "$first2" -lt "$next" ] && lk_pass "loads pages by id (--before)" || lk_fail "paging" "$out"
out=$(lk loads --status nonsense 2>&1); rc=$?
[ $rc -eq 2 ] && echo "$out" | grep -q "not a load status" && lk_pass "loads --status nonsense: 2" || lk_fail "bad status" "$rc $out"

# ---- status: errored loads make it exit 1
out=$(lk status 2>&1); rc=$?
[ $rc -eq 1 ] && echo "$out" | grep -q "errored loads: 15" && lk_pass "status exits 1 with errored loads, listing them" \
    || lk_fail "status" "rc=$rc $out"
out=$(lk status --json 2>/dev/null)
# printf, not echo: dash's echo would eat the backslashes of the UNLOAD errors.
ok=$(printf "%s\n" "$out" | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["ok"], d["errored_loads"])')
[ "$ok" = "False 15" ] && lk_pass "status --json" || lk_fail "status --json" "$ok"
out=$(lk datasets --json 2>&1)
chk=$(echo "$out" | python3 -c '
import json,sys
d={x["name"]: x for x in json.load(sys.stdin)["datasets"]}
print(d["agg"]["loads"]["archived"], d["agg"]["loads"]["errored"], d["ods"]["snapshot"]["key"], d["agg"]["stale"])')
# The files landed in 2023: agg (freshness 26h) is stale.
[ "$chk" = "7 11 cubic/ods_qlik/EDW.SAMPLE/LOAD00000001.csv True" ] && lk_pass "datasets --json: counts, snapshot, stale" \
    || lk_fail "datasets" "$chk"

# ---- retry
id=$(q "SELECT id FROM lakeop.loads WHERE key = 'cubic/dmap/agg/short_record.csv'")
good=$(q "SELECT id FROM lakeop.loads WHERE key = 'cubic/dmap/agg/good.csv'")
out=$(lk retry "$id" </dev/null 2>&1); rc=$?
[ $rc -eq 3 ] && [ -f "$store/incoming/errored/cubic/dmap/agg/short_record.csv" ] \
    && lk_pass "retry without --yes and no terminal: refused, nothing moved" || lk_fail "retry refused" "$rc $out"
out=$(lk retry "$id" "$good" --yes 2>&1); rc=$?
[ $rc -eq 3 ] && echo "$out" | grep -q "is archived: only errored loads are retried" \
    && [ "$(status_of short_record.csv)" = errored ] && lk_pass "retry with an archived load: 3, nothing changed" \
    || lk_fail "retry archived" "$rc $out"
out=$(lk retry 999999 --yes 2>&1); rc=$?
[ $rc -eq 4 ] && lk_pass "retry of an unknown load: 4" || lk_fail "retry unknown" "$rc $out"
out=$(lk retry "$id" --yes 2>&1); rc=$?
if [ $rc -eq 0 ] && [ "$(status_of short_record.csv)" = ready ] && [ -f "$agg/short_record.csv" ] \
    && [ ! -e "$store/incoming/errored/cubic/dmap/agg/short_record.csv" ] && [ -z "$(error_of short_record.csv)" ]; then
    lk_pass "retry: ready again, the file back under the incoming prefix"
else lk_fail "retry" "rc=$rc $out"; fi
# The operator fixes the file; the next run archives it.  The fixed file has
# a new modified time (as any move back has on S3): it is still the retried
# load, archived in the partition of when it first landed.
printf 'id,name,amount\n1,alpha,2.5\n2,beta,0\n3,gamma,4\n' >"$agg/short_record.csv"
touch -d "@$((T + 7200))" "$agg/short_record.csv"
lk ingest --dataset agg --yes >/dev/null 2>&1
n=$(q "SELECT count(*) FROM lakeop.loads WHERE key = 'cubic/dmap/agg/short_record.csv'")
[ "$(status_of short_record.csv)" = archived ] && [ "$n" = 1 ] \
    && [ -f "$store/raw-hist/cubic/dmap/agg/file_land_timestamp=$T/short_record.csv" ] \
    && lk_pass "retried and fixed (new modified time): the same load, archived" \
    || lk_fail "retried" "$n loads: $(status_of short_record.csv) $(error_of short_record.csv)"

# ---- the same key landed again later: a second load, its own partition
T3=$((T + 3600))
cp "$fx/good.csv" "$agg/good.csv"; touch -d "@$T3" "$agg/good.csv"
out=$(lk ingest --dataset agg --yes 2>&1); rc=$?
loads=$(q "SELECT file_land_timestamp || ':' || status FROM lakeop.loads WHERE key = 'cubic/dmap/agg/good.csv' ORDER BY id" | tr '\n' ' ')
if [ $rc -eq 0 ] && [ "$loads" = "$T:archived $T3:archived " ] && [ ! -e "$agg/good.csv" ] \
    && cmp -s "$fx/good.csv" "$store/raw-hist/cubic/dmap/agg/file_land_timestamp=$T3/good.csv" \
    && cmp -s "$fx/good.csv" "$store/raw-hist/cubic/dmap/agg/file_land_timestamp=$T/good.csv"; then
    lk_pass "good.csv landed twice: two loads, in file_land_timestamp=$T and =$T3"
else lk_fail "landed twice" "rc=$rc loads=$loads $out"; fi
# The very object again (same key and modified time as a finished load): left alone.
cp "$fx/good.csv" "$agg/good.csv"; touch -d "@$T3" "$agg/good.csv"
out=$(lk ingest --dataset agg --yes 2>&1); rc=$?
n=$(q "SELECT count(*) FROM lakeop.loads WHERE key = 'cubic/dmap/agg/good.csv'")
if [ "$n" = 2 ] && [ -f "$agg/good.csv" ] && echo "$out" | grep -q "same key and modified time) was already loaded"; then
    lk_pass "the same object listed again is not a new load; it is left where it is"
else lk_fail "same object again" "n=$n rc=$rc $out"; fi
rm -f "$agg/good.csv"
n=$(q "SELECT count(*) FROM lakeop.audit WHERE action = 'load.retry' AND result = 'ok'")
[ "$n" = 1 ] && lk_pass "retry audited" || lk_fail "retry audit" "$n"

# ---- raw-hist is never overwritten
mkdir -p "$store/raw-hist/cubic/dmap/agg/file_land_timestamp=$T"
printf 'id,name,amount\n9,other,9\n' >"$agg/clash.csv"
touch -d "@$T" "$agg/clash.csv"
printf 'something else entirely\n' >"$store/raw-hist/cubic/dmap/agg/file_land_timestamp=$T/clash.csv"
out=$(lk ingest --dataset agg --yes 2>&1); rc=$?
if [ $rc -eq 1 ] && echo "$out" | grep -q "refusing to overwrite" && [ -f "$agg/clash.csv" ] \
    && grep -q "something else" "$store/raw-hist/cubic/dmap/agg/file_land_timestamp=$T/clash.csv"; then
    lk_pass "an existing raw-hist object of another size is never overwritten (exit 1, source kept)"
else lk_fail "overwrite" "rc=$rc $out"; fi

# ---- the same size is not the same file: a different object of the size of
# the one to move is never taken for an earlier copy
printf 'id,name,amount\n8,other,8\n' >"$agg/clash2.csv"
touch -d "@$T" "$agg/clash2.csv"
printf 'id,name,amount\n8,OTHER,8\n' >"$store/raw-hist/cubic/dmap/agg/file_land_timestamp=$T/clash2.csv"
out=$(lk ingest --dataset agg --yes 2>&1); rc=$?
if [ $rc -eq 1 ] && echo "$out" | grep -q "clash2.csv: a different object of the same size (25 bytes) is there" \
    && [ -f "$agg/clash2.csv" ] && grep -q "8,other,8" "$agg/clash2.csv" \
    && grep -q "OTHER" "$store/raw-hist/cubic/dmap/agg/file_land_timestamp=$T/clash2.csv" \
    && [ "$(status_of clash2.csv)" = archiving ]; then
    lk_pass "same-size clash in raw-hist: refused naming it (exit 1), source kept, raw-hist untouched"
else lk_fail "same-size clash" "rc=$rc st=$(status_of clash2.csv) $out"; fi

# ---- retry of an older errored load whose key landed again and is being
# loaded (clash2.csv, left archiving above): refused, nothing moved
old=$(q "INSERT INTO lakeop.loads (dataset_id, key, size, modified_at, file_land_timestamp, status, error, errored_key)
         SELECT dataset_id, key, 20, to_timestamp($T - 60), $T - 60, 'errored', 'a short record',
                's3://incoming/errored/cubic/dmap/agg/clash2.csv'
           FROM lakeop.loads WHERE key = 'cubic/dmap/agg/clash2.csv' RETURNING id")
printf 'id,name,amount\n8,x\n' >"$store/incoming/errored/cubic/dmap/agg/clash2.csv"
utf=$(q "SELECT id FROM lakeop.loads WHERE key = 'cubic/dmap/agg/not_utf8.csv'")
out=$(lk retry "$utf" "$old" --yes 2>&1); rc=$?
if [ $rc -eq 3 ] && echo "$out" | grep -q "landed again and is being loaded as load" \
    && grep -q "8,other,8" "$agg/clash2.csv" && [ -f "$store/incoming/errored/cubic/dmap/agg/clash2.csv" ] \
    && [ "$(q "SELECT status FROM lakeop.loads WHERE id = $old")" = errored ] \
    && [ "$(status_of not_utf8.csv)" = errored ] && [ ! -e "$agg/not_utf8.csv" ]; then
    lk_pass "retry of a load whose key is being loaded again: refused (3), nothing moved (the other load either)"
else lk_fail "retry over a newer load" "rc=$rc $out"; fi

# ---- "~/" in a schema path: ingest reads the file `lakeop paths` names
home=$tmp/home
mkdir -p "$home/schemas" "$store/incoming/tilde"
cp "$fx/schema.json" "$home/schemas/agg.json"
cp "$fx/good.csv" "$store/incoming/tilde/good.csv"
cat >"$tmp/config-tilde" <<EOF
[env "test"]
s3.endpoint = file://$store
operator = tester

[dataset "tilde"]
incoming = s3://incoming/tilde/
raw_hist = s3://raw-hist/tilde/
schema = ~/schemas/agg.json
EOF
chmod 600 "$tmp/config-tilde"
out=$(HOME=$home "$LK_BIN" --config "$tmp/config-tilde" ingest --dataset tilde --yes 2>&1); rc=$?
stored=$(q "SELECT schema_file FROM lakeop.datasets WHERE name = 'tilde'")
listed=$(HOME=$home "$LK_BIN" --config "$tmp/config-tilde" paths --json | python3 -c '
import json, sys
print([p["path"] for p in json.load(sys.stdin)["paths"] if p["what"] == "schema tilde"][0])')
loaded=$(q "SELECT l.status FROM lakeop.loads l JOIN lakeop.datasets d ON d.id = l.dataset_id WHERE d.name = 'tilde'")
if [ $rc -eq 0 ] && [ "$stored" = "$home/schemas/agg.json" ] && [ "$listed" = "$stored" ] && [ "$loaded" = archived ]; then
    lk_pass "schema = ~/...: ingest reads it from the home folder, the path paths lists"
else lk_fail "schema = ~/..." "rc=$rc stored=$stored listed=$listed load=$loaded $out"; fi

lk_done
