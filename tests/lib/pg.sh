# A throwaway PostgreSQL cluster on a Unix socket in a temporary folder.
# Source after common.sh.
#
#   pg_start [DIR]    start a cluster (or reuse $LK_PG_HOST/$LK_PG_PORT from
#                     tests/run.sh); exports LK_PG_HOST, LK_PG_PORT.  With DIR
#                     (the sandbox's), the cluster and its socket live there,
#                     replacing what an earlier run left; a temporary folder
#                     still when "postgres" cannot reach DIR or its socket
#                     path would be too long
#   pg_new_db NAME    create a fresh database; prints its conninfo
#
# initdb refuses to run as root, so as root the cluster runs as "postgres".

pg_bindir() {
    if command -v pg_config >/dev/null 2>&1 && [ -x "$(pg_config --bindir)/initdb" ]; then
        pg_config --bindir
    else
        ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1
    fi
}

pg_as_owner() {
    if [ "$(id -u)" -eq 0 ]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

# DIR's parent reachable by the cluster's owner, and room in a socket path
# (sun_path holds 107 bytes) for DIR/.s.PGSQL.NNNNN.
pg_dir_usable() {
    mkdir -p "$(dirname "$1")" || return 1
    [ "$(printf '%s' "$1/.s.PGSQL.65535" | wc -c)" -lt 108 ] || return 1
    [ "$(id -u)" -ne 0 ] || runuser -u postgres -- test -x "$(dirname "$1")" 2>/dev/null
}

pg_start() {
    if [ -n "${LK_PG_HOST:-}" ] && [ -S "$LK_PG_HOST/.s.PGSQL.${LK_PG_PORT:-5432}" ]; then
        return 0
    fi
    bindir=$(pg_bindir)
    if [ -n "${1:-}" ] && pg_dir_usable "$1"; then
        dir=$1
        # A run killed without its cleanup left a server or its files there.
        [ -f "$dir/data/postmaster.pid" ] && pg_as_owner "$bindir/pg_ctl" -D "$dir/data" -m immediate stop >/dev/null 2>&1
        rm -rf "$dir"
        mkdir -p "$dir"
    else
        dir=$(mktemp -d "${TMPDIR:-/tmp}/lakeop-pg.XXXXXX")
    fi
    chmod 755 "$dir"
    [ "$(id -u)" -eq 0 ] && chown postgres "$dir"
    pg_as_owner "$bindir/initdb" -D "$dir/data" -U postgres -A trust --no-sync -E UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 \
        || { cat "$dir/initdb.log" >&2; return 1; }
    port=$(lk_free_port)
    pg_as_owner "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 30 \
        -o "-k $dir -p $port -c listen_addresses='' -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=100" \
        start >/dev/null || { cat "$dir/server.log" >&2; return 1; }
    LK_PG_HOST=$dir
    LK_PG_PORT=$port
    export LK_PG_HOST LK_PG_PORT
    lk_on_exit "pg_as_owner '$bindir/pg_ctl' -D '$dir/data' -m immediate stop; rm -rf '$dir'"
}

pg_conninfo() {
    echo "host=$LK_PG_HOST port=$LK_PG_PORT user=postgres dbname=$1"
}

pg_new_db() {
    name=$1
    PGOPTIONS="-c client_min_messages=warning" psql -X -q -h "$LK_PG_HOST" -p "$LK_PG_PORT" -U postgres -d postgres \
        -c "DROP DATABASE IF EXISTS \"$name\" WITH (FORCE)" -c "CREATE DATABASE \"$name\"" >/dev/null
    pg_conninfo "$name"
}
