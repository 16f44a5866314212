#!/bin/sh
# The real binary facing a broken or missing configuration: every mistake
# gets one clear line (file:line, what was expected, the fix), exit 2, and
# never a secret; a database that is down is named within seconds.
. "$(dirname "$0")/../lib/common.sh"
. "$LK_ROOT/tests/lib/pg.sh"
set -u

T=$(lk_tmpdir)
lk_hermetic_home "$T"

# expect NAME STATUS PATTERN CMD...: CMD exits STATUS and its stderr matches PATTERN.
expect() {
    name=$1; want=$2; pattern=$3; shift 3
    err=$("$@" 2>&1 >/dev/null)
    st=$?
    if [ "$st" -eq "$want" ] && printf '%s' "$err" | grep -q -- "$pattern"; then
        lk_pass "$name"
    else
        lk_fail "$name" "status $st (want $want): $err"
    fi
}

# expect_hidden NAME STATUS PATTERN SECRET CMD...: CMD exits STATUS, its
# stdout and stderr together match PATTERN and never hold SECRET.
expect_hidden() {
    name=$1; want=$2; pattern=$3; secret=$4; shift 4
    out=$("$@" 2>&1)
    st=$?
    if [ "$st" -eq "$want" ] && printf '%s' "$out" | grep -q -- "$pattern" && ! printf '%s' "$out" | grep -qF -- "$secret"; then
        lk_pass "$name"
    else
        lk_fail "$name" "status $st (want $want): $out"
    fi
}

conf() {   # conf NAME MODE: stdin becomes the file; prints its path
    f="$T/$1"
    cat >"$f"
    chmod "$2" "$f"
    echo "$f"
}

expect "missing explicit file" 2 "lakeop: $T/nope: no such configuration file" \
    "$LK_BIN" --config "$T/nope" doctor
expect "missing LAKEOP_CONFIG file" 2 "no such configuration file" \
    env LAKEOP_CONFIG="$T/nope2" "$LK_BIN" paths

f=$(conf bad_header 600 <<'CONF'
# fine so far
[env "CODE"
database = x
CONF
)
expect "bad section header names file:line" 2 "$f:2: malformed section header" "$LK_BIN" --config "$f" doctor

f=$(conf no_equals 600 <<'CONF'
[env "CODE"]
database postgresql://x
CONF
)
expect "missing '=' names file:line" 2 "$f:2: expected KEY = VALUE" "$LK_BIN" --config "$f" doctor

f=$(conf unknown_key 600 <<'CONF'
[env "CODE"]
zuora.urll = https://x
CONF
)
expect "unknown key lists the expected ones" 2 "$f:2: unknown key 'zuora.urll' in \[env \"CODE\"\]; expected one of: database, zuora.url" \
    "$LK_BIN" --config "$f" doctor

f=$(conf bad_duration 600 <<'CONF'
[dataset "d"]
freshness = a day
CONF
)
expect "bad duration" 2 "$f:2: freshness = 'a day'" "$LK_BIN" --config "$f" paths

f=$(conf bad_bool 600 <<'CONF'
[env "CODE"]
protected = perhaps
CONF
)
expect "bad bool" 2 "expected true or false" "$LK_BIN" --config "$f" doctor

f=$(conf literal 644 <<'CONF'
[env "CODE"]
airflow.url = http://127.0.0.1:1
airflow.password = hunter2-do-not-show
CONF
)
expect "world-readable literal secret is refused with the fix" 2 "chmod 600 $f" "$LK_BIN" --config "$f" doctor
err=$("$LK_BIN" --config "$f" doctor 2>&1)
if printf '%s' "$err" | grep -q hunter2; then lk_fail "the secret is never shown" "$err"; else lk_pass "the secret is never shown"; fi
chmod 600 "$f"
expect "the same file at 0600 is accepted" 1 "airflow failed" "$LK_BIN" --config "$f" doctor

# A password in the database line is a literal secret like the others.
f=$(conf dbpassword 640 <<'CONF'
[env "CODE"]
database = postgresql://lakeop:pg-pw-do-not-show@127.0.0.1:1/lakeop
CONF
)
expect "group-readable password in database is refused with the fix" 2 \
    "$f:2: database in \[env \"CODE\"\] holds a password, in a file that group or others can read; run \`chmod 600 $f\`" \
    "$LK_BIN" --config "$f" doctor
expect_hidden "it suggests ~/.pgpass or PGPASSWORD and never shows the password" 2 '~/.pgpass or PGPASSWORD' \
    pg-pw-do-not-show "$LK_BIN" --config "$f" doctor
chmod 600 "$f"
expect "the same file at 0600 is accepted" 1 "database failed" "$LK_BIN" --config "$f" doctor

# Unreadable: root reads anything, so as root the reader is "nobody".
f=$(conf unreadable 600 <<'CONF'
[env "CODE"]
CONF
)
if [ "$(id -u)" -eq 0 ]; then
    as_reader() { runuser -u nobody -- env HOME="$HOME" "$@"; }
else
    chmod 000 "$f"
    as_reader() { "$@"; }
fi
expect "unreadable file names it, the reason and the fix" 2 \
    "lakeop: $f: cannot read the configuration file: Permission denied; it must belong to the user running lakeop (chown it, then \`chmod 600 $f\`)" \
    as_reader "$LK_BIN" --config "$f" doctor

f=$(conf envsecret 600 <<'CONF'
[env "CODE"]
zuora.client_secret = env:LK_TEST_UNSET_SECRET
CONF
)
expect "env: secret names the missing variable" 2 "environment variable LK_TEST_UNSET_SECRET, which is not set" \
    "$LK_BIN" --config "$f" doctor

f=$(conf fileecret 600 <<CONF
[env "CODE"]
zuora.client_secret = file:$T/no-secret-here
CONF
)
expect "file: secret names the file" 2 "cannot read the secret file $T/no-secret-here" "$LK_BIN" --config "$f" doctor

f=$(conf envs 600 <<'CONF'
[env "CODE"]
[env "PROD"]
CONF
)
expect "unknown env lists the known ones" 2 "unknown environment 'STAGING' (--env); $f defines: CODE, PROD" \
    "$LK_BIN" --config "$f" --env STAGING doctor
expect "unknown LAKEOP_ENV" 2 "unknown environment 'QA' (LAKEOP_ENV)" env LAKEOP_ENV=QA "$LK_BIN" --config "$f" doctor

# Postgres down: a port nobody listens on, and a socket folder with no server.
port=$(lk_free_port)
f=$(conf down 600 <<CONF
[env "CODE"]
database = postgresql://lakeop:pw-in-url@127.0.0.1:$port/lakeop
CONF
)
t0=$(date +%s)
err=$("$LK_BIN" --config "$f" doctor 2>&1)
st=$?
t1=$(date +%s)
if [ $((t1 - t0)) -lt 6 ] && printf '%s' "$err" | grep -q "cannot connect to the metadata database (host 127.0.0.1 port $port" &&
   ! printf '%s' "$err" | grep -q "pw-in-url" && [ "$st" -ne 0 ]; then
    lk_pass "Postgres down: clear error within 6 s, no password"
else
    lk_fail "Postgres down" "status $st in $((t1 - t0)) s: $err"
fi
expect "doctor names the database" 1 "doctor: database failed" "$LK_BIN" --config "$f" doctor
out=$("$LK_BIN" --config "$f" doctor --json 2>/dev/null)
if printf '%s' "$out" | python3 -c 'import json,sys; d=json.load(sys.stdin); c={x["service"]: x for x in d["checks"]}; sys.exit(0 if c["database"]["status"]=="failed" and c["zuora"]["status"]=="not configured" and d["ok"] is False else 1)'; then
    lk_pass "doctor --json reports the failure"
else
    lk_fail "doctor --json" "$out"
fi

# Wrong password, against a real server: a small cluster of this test's own
# on loopback TCP whose hba wants scram-sha-256 (the suite's cluster trusts).
pg_auth=$T/pg-auth
mkdir -p "$pg_auth"
[ "$(id -u)" -eq 0 ] && chown postgres "$pg_auth"
auth_port=$(lk_free_port)
bindir=$(pg_bindir)
if pg_as_owner "$bindir/initdb" -D "$pg_auth/data" -U postgres --auth-local=trust --auth-host=scram-sha-256 \
       --no-sync -E UTF8 --locale=C.UTF-8 >"$pg_auth/initdb.log" 2>&1 &&
   pg_as_owner "$bindir/pg_ctl" -D "$pg_auth/data" -l "$pg_auth/server.log" -w -t 30 \
       -o "-k $pg_auth -p $auth_port -c listen_addresses=127.0.0.1 -c fsync=off" start >/dev/null; then
    lk_on_exit "pg_as_owner '$bindir/pg_ctl' -D '$pg_auth/data' -m immediate stop"
    psql -X -q -h "$pg_auth" -p "$auth_port" -U postgres -d postgres \
        -c "CREATE ROLE lakeop LOGIN PASSWORD 'right-pw-4711'" -c "CREATE DATABASE lakeop OWNER lakeop" >/dev/null
    f=$(conf wrongpw 600 <<CONF
[env "CODE"]
database = postgresql://lakeop:wrong-pw-0815@127.0.0.1:$auth_port/lakeop
CONF
)
    expect_hidden "wrong password (real Postgres, scram): doctor exits 1 with the server's words, no password" 1 \
        "database *failed .*password authentication failed for user \"lakeop\"" wrong-pw-0815 \
        timeout 30 "$LK_BIN" --config "$f" doctor
    expect_hidden "wrong password: a command that needs the database fails (exit 1), no password" 1 \
        "password authentication failed for user \"lakeop\"" wrong-pw-0815 \
        timeout 30 "$LK_BIN" --config "$f" audit
    # PGPASSWORD, as the fix suggests: the wrong one fails unprinted, the right one works.
    url="host=127.0.0.1 port=$auth_port user=lakeop dbname=lakeop"
    expect_hidden "wrong PGPASSWORD: exit 1, not printed" 1 "password authentication failed" wrong-pw-0815 \
        env PGPASSWORD=wrong-pw-0815 LAKEOP_DATABASE_URL="$url" timeout 30 "$LK_BIN" --config "$f" doctor
    expect_hidden "the right PGPASSWORD connects" 0 "database *ok .*connected as lakeop" right-pw-4711 \
        env PGPASSWORD=right-pw-4711 LAKEOP_DATABASE_URL="$url" timeout 30 "$LK_BIN" --config "$f" doctor
else
    lk_fail "a cluster with password authentication" "$(cat "$pg_auth/initdb.log" "$pg_auth/server.log" 2>/dev/null | tail -20)"
fi

# Zuora unreachable: nothing listens on the port; doctor names it, the URL and why.
port=$(lk_free_port)
expect_hidden "Zuora unreachable: doctor exits 1 naming zuora, the URL and the reason" 1 \
    "zuora *failed .*http://127.0.0.1:$port/oauth/token: Couldn't connect to server" zuora-secret-do-not-show \
    env HOME="$T/empty" LAKEOP_ZUORA_URL="http://127.0.0.1:$port" LAKEOP_ZUORA_CLIENT_ID=lakeop-test \
        LAKEOP_ZUORA_CLIENT_SECRET=zuora-secret-do-not-show timeout 30 "$LK_BIN" doctor
expect "... and says doctor: zuora failed" 1 "lakeop: doctor: zuora failed" \
    env HOME="$T/empty" LAKEOP_ZUORA_URL="http://127.0.0.1:$port" LAKEOP_ZUORA_CLIENT_ID=lakeop-test \
        LAKEOP_ZUORA_CLIENT_SECRET=x timeout 30 "$LK_BIN" doctor

lk_done
