#!/bin/sh
# Crash and resume: lakeop killed with SIGKILL while a large file is being
# validated (load `ingesting`) and again while it is being copied
# (`archiving`); the next run finishes every load, and each file ends in
# exactly one place.  Then the states a crash can leave between two steps
# (copy made but source not deleted; errored copy made) are set up directly
# and resumed: moves are idempotent.
. "$(dirname "$0")/../lib/common.sh"
. "$LK_ROOT/tests/lib/pg.sh"

pg_start || { echo "cannot start PostgreSQL"; exit 1; }
tmp=$(lk_tmpdir)
fx=$LK_ROOT/tests/fixtures/ingest
store=$tmp/store
inc=$store/incoming/big
mkdir -p "$inc" "$store/raw-hist"
LAKEOP_DATABASE_URL=$(pg_new_db lk_ingest_crash)
export LAKEOP_DATABASE_URL
unset LAKEOP_ENV LAKEOP_S3_ENDPOINT
cat >"$tmp/config" <<EOF
[env "test"]
s3.endpoint = file://$store

[dataset "big"]
incoming = s3://incoming/big/
raw_hist = s3://raw-hist/big/
schema = $fx/schema.json
min_records = 1
EOF
chmod 600 "$tmp/config"
lk() { "$LK_BIN" --config "$tmp/config" "$@"; }
q() { psql -X -qAt -h "$LK_PG_HOST" -p "$LK_PG_PORT" -U postgres -d lk_ingest_crash -c "$1" 2>/dev/null; }
T=1700000000

# About 300 MB: long enough to be caught in the middle.
{ echo "id,name,amount"; yes '12345,a name of moderate length,12345.678' | head -n 7000000; } >"$inc/big.csv"
touch -d "@$T" "$inc/big.csv"
size=$(stat -c %s "$inc/big.csv")
sum=$(md5sum <"$inc/big.csv")

# Waits for the load to reach a status, then kills lakeop; prints the status it was killed in.
kill_when() {   # status
    # lakeop itself in the background (not a shell function around it): the kill must reach it.
    "$LK_BIN" --config "$tmp/config" ingest --yes >/dev/null 2>&1 &
    pid=$!
    tries=0
    while [ $tries -lt 2000 ]; do
        st=$(q "SELECT status FROM lakeop.loads WHERE key = 'big/big.csv'")
        if [ "$st" = "$1" ]; then
            kill -KILL $pid 2>/dev/null
            wait $pid 2>/dev/null
            echo "$st"
            return 0
        fi
        kill -0 $pid 2>/dev/null || break
        sleep 0.02
        tries=$((tries + 1))
    done
    wait $pid 2>/dev/null
    echo "missed:$st"
}

got=$(kill_when ingesting)
st=$(q "SELECT status FROM lakeop.loads WHERE key = 'big/big.csv'")
if [ "$got" = ingesting ] && [ "$st" = ingesting ] && [ -f "$inc/big.csv" ]; then
    lk_pass "killed while validating: the load is left ingesting, the file in incoming"
else lk_fail "kill while ingesting" "got=$got st=$st"; fi

# The next run may be killed again while copying: the copy is never visible half-written.
got=$(kill_when archiving)
dest="$store/raw-hist/big/file_land_timestamp=$T/big.csv"
case "$got" in
    archiving) lk_pass "killed again while archiving" ;;
    *) echo "# (the copy finished before the kill: $got)"; lk_pass "second run reached archiving or beyond" ;;
esac
if [ -f "$dest" ] && [ "$(stat -c %s "$dest")" != "$size" ]; then
    lk_fail "no half-written raw-hist object" "$(stat -c %s "$dest") bytes"
else lk_pass "no half-written object under the raw-hist name"; fi

out=$(lk ingest --yes 2>&1); rc=$?
st=$(q "SELECT status || ' ' || record_count FROM lakeop.loads WHERE key = 'big/big.csv'")
if [ $rc -eq 0 ] && [ "$st" = "archived 7000000" ] && [ ! -e "$inc/big.csv" ] && [ -f "$dest" ] \
    && [ "$(md5sum <"$dest")" = "$sum" ]; then
    lk_pass "the next run finishes it: archived, 7000000 records, in raw-hist only, intact"
else lk_fail "resume" "rc=$rc st=$st $out"; fi
# A copy killed half-way may leave the file store's hidden temporary file
# (never listed, never under the final name); everything else: one file.
n=$(find "$store" -type f ! -name '.*.lakeop-tmp.*' | wc -l)
[ "$n" = 1 ] && lk_pass "the file is in exactly one place in the whole store" \
    || lk_fail "one place" "$(find "$store" -type f)"
find "$store" -type f -name '.*.lakeop-tmp.*' -delete
rm -f "$dest"

# ---- crash between copy and delete: archiving, copy present, source present
printf 'id,name,amount\n1,a,1\n' >"$inc/a.csv"; touch -d "@$T" "$inc/a.csv"
printf 'id,name,amount\n1,a\n' >"$inc/b.csv"; touch -d "@$T" "$inc/b.csv"
lk ingest --yes >/dev/null 2>&1
# Rewind the database as if the process had died after copying, before deleting.
mv "$store/raw-hist/big/file_land_timestamp=$T/a.csv" "$tmp/a.csv"
cp "$tmp/a.csv" "$inc/a.csv"; touch -d "@$T" "$inc/a.csv"
cp "$tmp/a.csv" "$store/raw-hist/big/file_land_timestamp=$T/a.csv"
q "UPDATE lakeop.loads SET status = 'archiving' WHERE key = 'big/a.csv'"
cp "$store/incoming/errored/big/b.csv" "$inc/b.csv"; touch -d "@$T" "$inc/b.csv"
q "UPDATE lakeop.loads SET status = 'erroring' WHERE key = 'big/b.csv'"
out=$(lk ingest --yes 2>&1); rc=$?
if [ $rc -eq 0 ] && [ "$(q "SELECT status FROM lakeop.loads WHERE key = 'big/a.csv'")" = archived ] \
    && [ ! -e "$inc/a.csv" ] && cmp -s "$tmp/a.csv" "$store/raw-hist/big/file_land_timestamp=$T/a.csv" \
    && [ "$(q "SELECT status FROM lakeop.loads WHERE key = 'big/b.csv'")" = errored ] \
    && [ ! -e "$inc/b.csv" ] && [ -f "$store/incoming/errored/big/b.csv" ]; then
    lk_pass "copy made, source not yet deleted: the next run only deletes the source (both outcomes)"
else lk_fail "idempotent moves" "rc=$rc $out"; fi

# ---- two runs at once: the second skips the dataset being ingested
{ echo "id,name,amount"; yes '1,b,2' | head -n 3000000; } >"$inc/c.csv"
touch -d "@$T" "$inc/c.csv"
"$LK_BIN" --config "$tmp/config" ingest --yes >/dev/null 2>&1 &
pid=$!
tries=0
while [ "$(q "SELECT status FROM lakeop.loads WHERE key = 'big/c.csv'")" != ingesting ] && [ $tries -lt 1000 ]; do
    sleep 0.02; tries=$((tries + 1))
done
out=$(lk ingest --yes 2>&1); rc=$?
wait $pid
if [ $rc -eq 1 ] && echo "$out" | grep -q "another ingest is running for this dataset"; then
    lk_pass "a second ingest at the same time skips the dataset (exit 1) and touches nothing"
else lk_fail "concurrent" "rc=$rc $out"; fi
[ "$(q "SELECT status FROM lakeop.loads WHERE key = 'big/c.csv'")" = archived ] \
    && lk_pass "the first run finished it" || lk_fail "first run" "$(q "SELECT status FROM lakeop.loads WHERE key = 'big/c.csv'")"

lk_done
