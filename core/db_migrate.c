/* Schema migrations: the SQL files of core/migrations, compiled in
 * (migrations_sql.h), applied in order, each in its own transaction under
 * one advisory lock so that two lakeops starting at once take turns. */
#include "db.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "migrations_sql.h"

/* "lakeop" in ASCII: the advisory lock every migrating lakeop takes. */
#define MIGRATION_LOCK "108498143932272"

#define N_MIGRATIONS ((int)(sizeof DB_MIGRATIONS / sizeof DB_MIGRATIONS[0]))

int db_latest_version(void)
{
    int latest = 0;
    for (int i = 0; i < N_MIGRATIONS; i++)
        if (DB_MIGRATIONS[i].version > latest)
            latest = DB_MIGRATIONS[i].version;
    return latest;
}

int db_schema_version(PGconn *conn)
{
    PGresult *res = NULL;
    if (db_exec(conn, "SELECT to_regclass('lakeop.schema_migrations') IS NOT NULL", 0, NULL, &res, NULL)
        != LK_OK)
        return -1;
    bool exists = PQntuples(res) == 1 && strcmp(PQgetvalue(res, 0, 0), "t") == 0;
    PQclear(res);
    if (!exists)
        return 0;
    if (db_exec(conn, "SELECT coalesce(max(version), 0) FROM lakeop.schema_migrations", 0, NULL, &res,
                NULL) != LK_OK)
        return -1;
    int v = atoi(PQgetvalue(res, 0, 0));
    PQclear(res);
    return v;
}

/* Runs a script of several statements (the simple protocol allows it;
 * db_exec's extended protocol does not). */
static enum lk_status exec_script(PGconn *conn, const char *sql, struct lk_error *err)
{
    PGresult *res = PQexec(conn, sql);
    ExecStatusType st = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
    if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) {
        PQclear(res);
        return LK_OK;
    }
    const char *primary = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
    char msg[768];
    snprintf(msg, sizeof msg, "%s", primary ? primary : PQerrorMessage(conn));
    for (char *p = msg; *p; p++)
        if (*p == '\n')
            *p = ' ';
    err_set(err, LK_FAIL, "metadata database: %s", msg);
    err_remote(err, 0, res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL, NULL, NULL);
    PQclear(res);
    return LK_FAIL;
}

static enum lk_status prepare(PGconn *conn, struct lk_error *err)
{
    enum lk_status st = db_begin(conn, err);
    if (st == LK_OK)
        st = db_exec(conn, "SELECT pg_advisory_xact_lock(" MIGRATION_LOCK ")", 0, NULL, NULL, err);
    if (st == LK_OK)
        st = db_exec(conn, "CREATE SCHEMA IF NOT EXISTS lakeop", 0, NULL, NULL, err);
    if (st == LK_OK)
        st = db_exec(conn,
                     "CREATE TABLE IF NOT EXISTS lakeop.schema_migrations ("
                     " version integer PRIMARY KEY,"
                     " name text NOT NULL,"
                     " applied_at timestamptz NOT NULL DEFAULT now())",
                     0, NULL, NULL, err);
    if (st == LK_OK)
        st = db_commit(conn, err);
    if (st != LK_OK) {
        db_rollback(conn);
        err_prefix(err, "preparing the lakeop schema");
    }
    return st;
}

static enum lk_status apply_one(PGconn *conn, int i, struct lk_error *err)
{
    char version[16];
    snprintf(version, sizeof version, "%d", DB_MIGRATIONS[i].version);
    const char *params[] = { version, DB_MIGRATIONS[i].name };
    PGresult *res = NULL;
    enum lk_status st = db_begin(conn, err);
    if (st == LK_OK)
        st = db_exec(conn, "SELECT pg_advisory_xact_lock(" MIGRATION_LOCK ")", 0, NULL, NULL, err);
    /* Checked under the lock: another lakeop may have applied it meanwhile. */
    if (st == LK_OK)
        st = db_exec(conn, "SELECT 1 FROM lakeop.schema_migrations WHERE version = $1::integer", 1,
                     params, &res, err);
    if (st == LK_OK && PQntuples(res) == 0) {
        st = exec_script(conn, DB_MIGRATIONS[i].sql, err);
        if (st == LK_OK)
            st = db_exec(conn, "INSERT INTO lakeop.schema_migrations (version, name) VALUES ($1::integer, $2)",
                         2, params, NULL, err);
    }
    PQclear(res);
    if (st == LK_OK)
        st = db_commit(conn, err);
    if (st != LK_OK) {
        db_rollback(conn);
        err_prefix(err, "applying migration %d (%s)", DB_MIGRATIONS[i].version, DB_MIGRATIONS[i].name);
    }
    return st;
}

enum lk_status db_migrate(PGconn *conn, int up_to, struct lk_error *err)
{
    /* Every command starts here: when the schema is already current, two
     * reads and no transaction (no lock, no DDL) keep start-up cheap. */
    int target = up_to > 0 && up_to < db_latest_version() ? up_to : db_latest_version();
    int current = db_schema_version(conn);
    if (current >= target)
        return LK_OK;
    enum lk_status st = prepare(conn, err);
    for (int i = 0; st == LK_OK && i < N_MIGRATIONS; i++) {
        if (up_to > 0 && DB_MIGRATIONS[i].version > up_to)
            continue;
        st = apply_one(conn, i, err);
    }
    return st;
}
