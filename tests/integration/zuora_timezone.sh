#!/bin/sh
# startTime in the tenant's zone (ZUORA.md): a plain "yyyy-MM-dd HH:mm:ss"
# is wall-clock time in zuora.timezone (the reference's own example: job
# 402881824835bb2a01483c19f7d70256 was created at 15:20:07 UTC, its id says,
# and its startTime reads 08:20:07, Pacific daylight time); the ISO form
# carries its offset.  A Pacific tenant (the double with --timezone) and
# lakeop with zuora.timezone = America/Los_Angeles: the history holds the
# true instants, durations are not 7 or 8 hours off.
. "$(dirname "$0")/../lib/common.sh"
. "$LK_ROOT/tests/lib/pg.sh"
. "$LK_ROOT/tests/lib/doubles.sh"
set -u

pg_start || exit 1
DB=$(pg_new_db zuora_timezone)
zuora_double_start --job-seconds 0 --timezone America/Los_Angeles || exit 1
T=$(lk_tmpdir)
cat >"$T/config" <<CONF
[env "CODE"]
zuora.partner  = guardian-12357
zuora.project  = zuora-datalake-export-2
zuora.timezone = America/Los_Angeles

[object "Account"]
zoql  = SELECT Account.Id, Account.Name FROM Account
raw   = file://$T/raw/Account.csv
stage = zuora_account
CONF
chmod 600 "$T/config"
export LAKEOP_CONFIG="$T/config" LAKEOP_DATABASE_URL="$DB" LAKEOP_ZUORA_URL="$LK_ZUORA_URL" \
    LAKEOP_ZUORA_CLIENT_ID=lakeop-test LAKEOP_ZUORA_CLIENT_SECRET=s3cret TZ=UTC
L=$LK_BIN
OUT=$T/out
ERR=$T/err
run() { "$L" "$@" >"$OUT" 2>"$ERR" </dev/null; RC=$?; }
sql() { psql -X -q -t -A "$DB" -c "$1"; }

# The double writes the tenant's wall-clock time.
run export --from "$(date -u -d '2 days ago' +%F)" --yes --json
[ "$RC" = 0 ] && lk_pass "export: exit 0" || lk_fail "export" "$(cat "$ERR")"
J=$(python3 -c "import json; print(json.load(open('$OUT'))['job']['id'])")
run job "$J" --json
shown=$(python3 -c "import json; print(json.load(open('$OUT'))['job']['startTime'])")
pacific=$(TZ=America/Los_Angeles date +%F)
case "$shown" in "$pacific "*) lk_pass "the double writes startTime in the tenant's zone ($shown)" ;;
    *) lk_fail "startTime in Pacific time" "$shown, expected the date $pacific" ;; esac
off=$(sql "SELECT abs(extract(epoch FROM now() - start_time))::bigint FROM lakeop.zuora_jobs WHERE job_id = '$J'")
[ -n "$off" ] && [ "$off" -lt 120 ] && lk_pass "stored start_time is the true instant (${off} s ago)" \
    || lk_fail "start_time read in zuora.timezone" "${off:-none} s from now"
ago=$("$L" jobs --json | python3 -c "
import calendar, json, sys, time
j = [j for j in json.load(sys.stdin)['jobs'] if j['jobId'] == '$J'][0]
print(int(time.time()) - calendar.timegm(time.strptime(j['startedAt'], '%Y-%m-%d %H:%M:%SZ')))")
[ -n "$ago" ] && [ "$ago" -ge 0 ] && [ "$ago" -lt 120 ] && lk_pass "jobs --json: startedAt is seconds ago, not hours ($ago s)" \
    || lk_fail "startedAt" "$ago s ago"

# ZUORA.md's example job, seeded as written: stored at the instant in its id.
E=402881824835bb2a01483c19f7d70256
zuora_ctl POST /_control/job "{\"id\":\"$E\",\"name\":\"Example\",\"status\":\"completed\",\"version\":\"1.1\",
  \"startTime\":\"2014-09-03 08:20:07\",\"batches\":[{\"batchId\":\"402881824835bb2a01483c19f7da0257\",
  \"name\":\"AccountingPeriod\",\"query\":\"select Id from AccountingPeriod\",\"status\":\"completed\",
  \"recordCount\":1,\"full\":true,\"message\":\"\",\"fileId\":\"402881824835bb2a01483c19f8190259\"}]}" >/dev/null
run job "$E"
[ "$RC" = 0 ] && lk_pass "the reference's example job: looked up" || lk_fail "lookup $E" "$(cat "$ERR")"
at=$(sql "SELECT to_char(start_time AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS') FROM lakeop.zuora_jobs WHERE job_id = '$E'")
[ "$at" = "2014-09-03 15:20:07" ] && lk_pass "08:20:07 Pacific stored as 15:20:07 UTC, the instant in its id" \
    || lk_fail "example startTime" "$at"
grep -qF "2014-09-03 08:20:07 (America/Los_Angeles)" "$OUT" && lk_pass "job: the plain startTime shown with its zone" \
    || lk_fail "zone shown" "$(head -8 "$OUT")"

# The ISO form carries its own offset whatever the zone.
I=5c92c0f9725046a2017255f7d84e5a49
zuora_ctl POST /_control/job "{\"id\":\"$I\",\"status\":\"completed\",\"startTime\":\"2021-01-18T17:13:48+0000\",\"batches\":[]}" >/dev/null
run job "$I"
at=$(sql "SELECT to_char(start_time AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS') FROM lakeop.zuora_jobs WHERE job_id = '$I'")
[ "$at" = "2021-01-18 17:13:48" ] && lk_pass "the ISO form: its own offset" || lk_fail "ISO startTime" "$at"

lk_done
