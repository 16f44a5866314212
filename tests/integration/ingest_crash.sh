#!/bin/sh
# Crash and resume: lakeop killed with SIGKILL (at a known point, under gdb)
# while a large file is being validated (load `ingesting`) and again while
# it is being copied (`archiving`); the next run finishes every load, and
# each file ends in exactly one place.  Then the states a crash can leave between two steps
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

# About 60 MB: sixty 1 MiB chunks to read, and to copy.
{ echo "id,name,amount"; yes '12345,a name of moderate length,12345.678' | head -n 1500000; } >"$inc/big.csv"
touch -d "@$T" "$inc/big.csv"
size=$(stat -c %s "$inc/big.csv")
sum=$(md5sum <"$inc/big.csv")
dest="$store/raw-hist/big/file_land_timestamp=$T/big.csv"

# Runs one ingest under gdb and kills it (SIGKILL) the Nth time it enters a
# function: the kill lands at a known point however fast the machine is.
# Prints "killed" when it did (the process had not finished).
kill_at() {   # function, n
    ASAN_OPTIONS=detect_leaks=0 timeout 300 gdb -q -batch -ex "break $1" -ex run -ex "continue $(($2 - 1))" \
        -ex 'info program' -ex kill --args "$LK_BIN" --config "$tmp/config" ingest --yes \
        >"$tmp/gdb.out" 2>&1
    if grep -q "exited" "$tmp/gdb.out" || ! grep -q "^Breakpoint 1, .*$1" "$tmp/gdb.out"; then
        echo missed
    else
        echo killed
    fi
}

# While validating: the 20th chunk fed to the validator.
got=$(kill_at csvcheck_feed 20)
st=$(q "SELECT status FROM lakeop.loads WHERE key = 'big/big.csv'")
if [ "$got" = killed ] && [ "$st" = ingesting ] && [ -f "$inc/big.csv" ] && [ ! -e "$dest" ]; then
    lk_pass "killed while validating: the load is left ingesting, the file in incoming"
else lk_fail "kill while ingesting" "got=$got st=$st $(tail -5 "$tmp/gdb.out")"; fi

# While copying: the 20th MiB written to the raw-hist copy.  The copy is
# never visible half-written: only the hidden temporary file has the bytes.
got=$(kill_at storef_writer_write 20)
st=$(q "SELECT status FROM lakeop.loads WHERE key = 'big/big.csv'")
part=$(find "$store/raw-hist" -type f -name '.*.lakeop-tmp.*' | head -n 1)
if [ "$got" = killed ] && [ "$st" = archiving ] && [ -f "$inc/big.csv" ] && [ ! -e "$dest" ] \
    && [ -n "$part" ] && [ "$(stat -c %s "$part")" -lt "$size" ]; then
    lk_pass "killed mid-copy: the load is archiving, the file still in incoming, no raw-hist object yet"
else lk_fail "kill while archiving" "got=$got st=$st part=$part $(tail -5 "$tmp/gdb.out")"; fi

out=$(lk ingest --yes 2>&1); rc=$?
st=$(q "SELECT status || ' ' || record_count FROM lakeop.loads WHERE key = 'big/big.csv'")
if [ $rc -eq 0 ] && [ "$st" = "archived 1500000" ] && [ ! -e "$inc/big.csv" ] && [ -f "$dest" ] \
    && [ "$(md5sum <"$dest")" = "$sum" ]; then
    lk_pass "the next run finishes it: archived, 1500000 records, in raw-hist only, intact"
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
