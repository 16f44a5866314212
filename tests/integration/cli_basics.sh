#!/bin/sh
# The real binary's plumbing: help, version, unknown commands, `paths`,
# `doctor` with only a database, the variables-only environment, and the
# refusals every changing command shares (no terminal, read-only).
. "$(dirname "$0")/../lib/common.sh"
. "$LK_ROOT/tests/lib/pg.sh"
set -u

pg_start || exit 1
T=$(lk_tmpdir)
export HOME="$T/home"
mkdir -p "$HOME"
unset LAKEOP_CONFIG LAKEOP_ENV XDG_CONFIG_HOME XDG_STATE_HOME LAKEOP_DATABASE_URL LAKEOP_ZUORA_URL \
      LAKEOP_S3_ENDPOINT LAKEOP_AIRFLOW_URL AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_PROFILE \
      AWS_SHARED_CREDENTIALS_FILE 2>/dev/null
DB=$(pg_new_db lakeop_cli_basics)

out=$("$LK_BIN" --help 2>&1); st=$?
if [ $st -eq 0 ] && printf '%s' "$out" | grep -q "usage: lakeop" && printf '%s' "$out" | grep -q "cohort-sync" &&
   printf '%s' "$out" | grep -q "exit codes"; then lk_pass "--help"; else lk_fail "--help" "$st: $out"; fi

out=$("$LK_BIN" --version 2>&1); st=$?
if [ $st -eq 0 ] && printf '%s' "$out" | grep -Eq '^lakeop [0-9]+\.[0-9]+\.[0-9]+$'; then lk_pass "--version"; else lk_fail "--version" "$out"; fi

out=$("$LK_BIN" frobnicate 2>&1); st=$?
if [ $st -eq 2 ] && printf '%s' "$out" | grep -q "unknown command 'frobnicate'"; then lk_pass "unknown command exits 2"
else lk_fail "unknown command" "$st: $out"; fi

out=$("$LK_BIN" --no-such-option 2>&1); st=$?
if [ $st -eq 2 ]; then lk_pass "unknown global option exits 2"; else lk_fail "unknown option" "$st: $out"; fi

# Every command takes --help: its usage on stdout, exit 0, before any
# configuration is read (there is none yet) and without changing anything.
bad=""
for c in $("$LK_BIN" --help | awk '/^commands:/{f=1;next} f&&/^  [a-z]/{print $1}'); do
    out=$("$LK_BIN" "$c" --help 2>/dev/null); st=$?
    if [ $st -ne 0 ] || ! printf '%s' "$out" | grep -q "usage: lakeop $c"; then bad="$bad $c($st)"; fi
done
if [ -z "$bad" ]; then lk_pass "every command accepts --help (usage on stdout, exit 0)"
else lk_fail "every command accepts --help" "failed:$bad"; fi

out=$("$LK_BIN" paths extra 2>&1); st=$?
if [ $st -eq 2 ]; then lk_pass "paths refuses arguments"; else lk_fail "paths extra" "$st: $out"; fi

# A configuration with a dataset schema and a file:// store.
mkdir -p "$HOME/.config/lakeop" "$T/lake/incoming/edw" "$HOME/.config/lakeop/meta"
echo '[]' >"$HOME/.config/lakeop/meta/edw.json"
cat >"$HOME/.config/lakeop/config" <<CONF
[env "CODE"]
database = $DB
s3.endpoint = file://$T/lake
operator = tester

[env "PROD"]
database = $DB
protected = true
read_only = true

[dataset "edw"]
incoming = file://$T/lake/incoming/edw/
schema = meta/edw.json
CONF
chmod 600 "$HOME/.config/lakeop/config"

out=$("$LK_BIN" paths 2>&1); st=$?
if [ $st -eq 0 ] && printf '%s' "$out" | grep -q "^config .*file .*$HOME/.config/lakeop/config" &&
   printf '%s' "$out" | grep -q "^schema edw .*file .*$HOME/.config/lakeop/meta/edw.json" &&
   printf '%s' "$out" | grep -q "^store-root .*folder .*$T/lake" &&
   printf '%s' "$out" | grep -q "^history .*missing .*$HOME/.local/state/lakeop/history"; then
    lk_pass "paths lists config, schema, store root and state"
else
    lk_fail "paths" "$st: $out"
fi
out=$(XDG_STATE_HOME="$T/state" "$LK_BIN" paths --json 2>&1); st=$?
if [ $st -eq 0 ] && printf '%s' "$out" | python3 -c '
import json, sys
d = json.load(sys.stdin)
p = {x["what"]: x for x in d["paths"]}
ok = d["env"] == "CODE" and p["config"]["exists"] and p["history"]["path"].endswith("/state/lakeop/history") \
     and not p["history"]["exists"] and p["store-root"]["kind"] == "folder" \
     and not any(x["path"].endswith(".log") for x in d["paths"])
sys.exit(0 if ok else 1)'; then lk_pass "paths --json (and no log file, which nothing writes)"; else lk_fail "paths --json" "$st: $out"; fi

# The files secrets and time zones come from are read too: listed, their values never.
cfgdir=$HOME/.config/lakeop
mkdir -p "$cfgdir/secrets" "$T/secrets"
printf 'zuora-secret-value-42\n' >"$cfgdir/secrets/zuora"
printf 'airflow-secret-value-43\n' >"$T/secrets/airflow"
chmod 600 "$cfgdir/secrets/zuora" "$T/secrets/airflow"
sc=$cfgdir/secrets.conf
cat >"$sc" <<CONF
[env "CODE"]
database = $DB
zuora.url = http://127.0.0.1:1
zuora.client_secret = file:secrets/zuora
zuora.timezone = Europe/Paris
airflow.password = file:$T/secrets/airflow
CONF
chmod 600 "$sc"
out=$(TZ=America/New_York "$LK_BIN" --config "$sc" paths 2>&1); st=$?
if [ $st -eq 0 ] && printf '%s' "$out" | grep -q "^secret zuora.client_secret  *file  *$cfgdir/secrets/zuora\$" &&
   printf '%s' "$out" | grep -q "^secret airflow.password  *file  *$T/secrets/airflow\$" &&
   printf '%s' "$out" | grep -q "^zuora-zone  *file  *.*/Europe/Paris\$" &&
   printf '%s' "$out" | grep -q "^local-zone  *file  *.*/America/New_York\$" &&
   ! printf '%s' "$out" | grep -q 'secret-value'; then
    lk_pass "paths lists secret files and zoneinfo files, never a secret"
else
    lk_fail "paths: secret and zone files" "$st: $out"
fi
out=$(LAKEOP_AIRFLOW_PASSWORD=from-env env -u TZ "$LK_BIN" --config "$sc" paths --json 2>&1); st=$?
if [ $st -eq 0 ] && printf '%s' "$out" | python3 -c '
import json, sys
d = json.load(sys.stdin)
p = {x["what"]: x for x in d["paths"]}
ok = "secret airflow.password" not in p and p["secret zuora.client_secret"]["exists"] \
     and p["local-zone"]["path"] == "/etc/localtime" and "from-env" not in json.dumps(d)
sys.exit(0 if ok else 1)'; then
    lk_pass "paths --json: a secret a variable overrides is not read; TZ unset is /etc/localtime"
else
    lk_fail "paths --json secrets" "$st: $out"
fi
out=$("$LK_BIN" paths 2>&1)
if ! printf '%s' "$out" | grep -q 'zuora-zone\|local-zone'; then
    lk_pass "no zone file without Zuora, and none for TZ=UTC"
else
    lk_fail "no zone file without Zuora" "$out"
fi

# doctor with a database only: the rest is "not configured", not a failure.
out=$("$LK_BIN" doctor 2>&1); st=$?
if [ $st -eq 0 ] && printf '%s' "$out" | grep -q "database  ok .*PostgreSQL" &&
   printf '%s' "$out" | grep -q "schema version 0 of" &&
   printf '%s' "$out" | grep -q "zuora     not configured" && printf '%s' "$out" | grep -q "airflow   not configured"; then
    lk_pass "doctor with a database only"
else
    lk_fail "doctor with a database only" "$st: $out"
fi
out=$("$LK_BIN" doctor --json 2>&1); st=$?
if [ $st -eq 0 ] && printf '%s' "$out" | python3 -c '
import json, sys
d = json.load(sys.stdin)
c = {x["service"]: x for x in d["checks"]}
ok = d["ok"] and c["database"]["status"] == "ok" and c["database"]["version"].startswith("PostgreSQL") \
     and c["airflow"]["status"] == "not configured" and d["operator"] == "tester"
sys.exit(0 if ok else 1)'; then lk_pass "doctor --json"; else lk_fail "doctor --json" "$st: $out"; fi

# No config file at all: the "default" environment from variables, a database only.
out=$(HOME="$T/empty" LAKEOP_DATABASE_URL="$DB" "$LK_BIN" doctor 2>&1); st=$?
if [ $st -eq 0 ] && printf '%s' "$out" | grep -q "environment default (config: no file" &&
   printf '%s' "$out" | grep -q "database  ok" && printf '%s' "$out" | grep -q "s3        not configured"; then lk_pass "variables-only environment"
else lk_fail "variables-only environment" "$st: $out"; fi

# A file:// store that is not there is a failed S3 check naming the bucket.
out=$(LAKEOP_S3_ENDPOINT="file://$T/no-such-lake" LAKEOP_COHORTS_BUCKET=s3://cohorts "$LK_BIN" doctor 2>&1); st=$?
if [ $st -eq 1 ] && printf '%s' "$out" | grep -q "s3 *failed *s3://cohorts" && printf '%s' "$out" | grep -q "doctor: s3 failed"; then
    lk_pass "doctor names a missing store"
else
    lk_fail "doctor names a missing store" "$st: $out"
fi

# Read-only refuses a change, says why, and the refusal is in the audit.
psql_q() { psql -X -q -t -A -h "$LK_PG_HOST" -p "$LK_PG_PORT" -U postgres -d lakeop_cli_basics -c "$1"; }
out=$("$LK_BIN" --env PROD retry 1 --yes 2>&1 </dev/null); st=$?
if [ $st -eq 3 ] && printf '%s' "$out" | grep -q "read-only: load.retry refused (environment PROD is read_only)"; then
    lk_pass "read_only = true refuses a change (exit 3)"
else
    lk_fail "read_only = true" "$st: $out"
fi
out=$("$LK_BIN" --read-only retry 1 --yes 2>&1 </dev/null); st=$?
if [ $st -eq 3 ] && printf '%s' "$out" | grep -q "read-only: load.retry refused (--read-only)"; then
    lk_pass "--read-only refuses a change (exit 3)"
else
    lk_fail "--read-only" "$st: $out"
fi
rows=$(psql_q "SELECT env || ':' || action || ':' || result FROM lakeop.audit ORDER BY id")
if [ "$rows" = "PROD:load.retry:refused
CODE:load.retry:refused" ]; then lk_pass "refusals are audited"; else lk_fail "refusals are audited" "$rows"; fi

# Without a terminal a change needs --yes.
psql_q "INSERT INTO lakeop.datasets (name) VALUES ('edw');
        INSERT INTO lakeop.loads (dataset_id, key, status, error) SELECT id, 'LOAD001.csv', 'errored', 'bad header' FROM lakeop.datasets" >/dev/null
id=$(psql_q "SELECT id FROM lakeop.loads")
out=$("$LK_BIN" retry "$id" 2>&1 </dev/null); st=$?
if [ $st -eq 3 ] && printf '%s' "$out" | grep -q "refusing to change anything without a terminal: add --yes" &&
   [ "$(psql_q "SELECT status FROM lakeop.loads")" = errored ]; then
    lk_pass "no terminal and no --yes: refused, nothing changed"
else
    lk_fail "no terminal" "$st: $out"
fi

# Bind lines are checked as the console applies them: a screen that does
# not exist is named by file:line with the list, like a bad key or action.
cp "$HOME/.config/lakeop/config" "$T/binds.conf"
cat >>"$T/binds.conf" <<CONF

[keys]
bind audit x refresh
bind audti z refresh
bind loads <Nope> retry
CONF
chmod 600 "$T/binds.conf"
line=$(grep -n audti "$T/binds.conf" | cut -d: -f1)
out=$("$LK_BIN" --config "$T/binds.conf" doctor 2>&1); st=$?
if [ $st -eq 1 ] && printf '%s' "$out" | grep -q "keys *failed *$T/binds.conf:$line: unknown screen 'audti' in bind; screens are: generic, audit, .*loads, overview" &&
   printf '%s' "$out" | grep -q "binds.conf:$((line + 1)): unknown key '<Nope>'" && printf '%s' "$out" | grep -q "doctor: keys failed" &&
   ! printf '%s' "$out" | grep -q "binds.conf:$((line - 1))"; then
    lk_pass "doctor names a bind line's unknown screen (file:line, the screens) and key; exit 1"
else
    lk_fail "doctor checks bind lines" "$st: $out"
fi
out=$("$LK_BIN" --config "$T/binds.conf" doctor --json 2>/dev/null)
if printf '%s' "$out" | python3 -c '
import json, sys
d = json.load(sys.stdin)
c = {x["service"]: x for x in d["checks"]}
ok = not d["ok"] and c["keys"]["status"] == "failed" and "unknown screen" in c["keys"]["detail"] and "ms" not in c["keys"]
sys.exit(0 if ok else 1)'; then lk_pass "doctor --json: the keys check"; else lk_fail "doctor --json keys" "$out"; fi
sed -i '/audti\|Nope/d' "$T/binds.conf"
out=$("$LK_BIN" --config "$T/binds.conf" doctor 2>&1); st=$?
if [ $st -eq 0 ] && printf '%s' "$out" | grep -q "keys *ok *1 bind line, every screen, key and action known"; then
    lk_pass "doctor: good bind lines pass"
else
    lk_fail "doctor: good bind lines" "$st: $out"
fi

lk_done
