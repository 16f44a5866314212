/* Fresh databases for tests that need a real PostgreSQL (testdb.h). */
#include "testdb.h"

#include <libpq-fe.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "mem.h"

char *testdb_admin_conninfo(void)
{
    const char *host = getenv("LK_PG_HOST");
    const char *port = getenv("LK_PG_PORT");
    if (!host || !*host || !port || !*port) {
        fprintf(stderr, "testdb: LK_PG_HOST and LK_PG_PORT are not set; run the test through "
                        "`sh tests/run.sh`, which starts PostgreSQL\n");
        return NULL;
    }
    return xasprintf("host=%s port=%s user=postgres dbname=postgres", host, port);
}

static void quiet(void *arg, const char *message)
{
    (void)arg;
    (void)message;
}

static bool run(PGconn *conn, const char *sql)
{
    PGresult *res = PQexec(conn, sql);
    bool ok = PQresultStatus(res) == PGRES_COMMAND_OK;
    if (!ok)
        fprintf(stderr, "testdb: %s: %s", sql, PQerrorMessage(conn));
    PQclear(res);
    return ok;
}

char *testdb_create(const char *name)
{
    char *admin = testdb_admin_conninfo();
    if (!admin)
        return NULL;
    PGconn *conn = PQconnectdb(admin);
    if (PQstatus(conn) != CONNECTION_OK) {
        fprintf(stderr, "testdb: cannot connect (%s): %s", admin, PQerrorMessage(conn));
        PQfinish(conn);
        free(admin);
        return NULL;
    }
    free(admin);
    PQsetNoticeProcessor(conn, quiet, NULL);
    char *ident = PQescapeIdentifier(conn, name, strlen(name));
    char *drop = xasprintf("DROP DATABASE IF EXISTS %s WITH (FORCE)", ident);
    char *create = xasprintf("CREATE DATABASE %s", ident);
    PQfreemem(ident);
    bool ok = run(conn, drop) && run(conn, create);
    free(drop);
    free(create);
    PQfinish(conn);
    if (!ok)
        return NULL;
    return xasprintf("host=%s port=%s user=postgres dbname=%s", getenv("LK_PG_HOST"), getenv("LK_PG_PORT"),
                     name);
}

PGconn *testdb_open(const char *name)
{
    char *conninfo = testdb_create(name);
    if (!conninfo)
        return NULL;
    PGconn *db = NULL;
    struct lk_error err;
    err_clear(&err);
    enum lk_status st = db_open(conninfo, &db, &err);
    free(conninfo);
    if (st != LK_OK) {
        fprintf(stderr, "db_open: %s\n", err.message);
        return NULL;
    }
    return db;
}
