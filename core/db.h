/* The metadata database (PostgreSQL, schema "lakeop").
 *
 * db_open() connects with a short connect timeout (never hangs on a server
 * that does not answer) and applies pending migrations, each in its own
 * transaction, recorded in lakeop.schema_migrations.  Every query is
 * parameterised; lists are paged by key, never by OFFSET. */
#ifndef LAKEOP_DB_H
#define LAKEOP_DB_H

#include <libpq-fe.h>
#include <stdbool.h>

#include "err.h"

/* Connects and migrates.  conninfo is a libpq URI or key=value string. */
enum lk_status db_open(const char *conninfo, PGconn **out, struct lk_error *err);
/* Connects only (the TUI's LISTEN connection, tests). */
enum lk_status db_connect(const char *conninfo, PGconn **out, struct lk_error *err);
void db_close(PGconn *conn);

/* Applies migrations 1..up_to (0 = all).  Safe to run twice, and safe when
 * two lakeops start at once (advisory lock). */
enum lk_status db_migrate(PGconn *conn, int up_to, struct lk_error *err);
int db_schema_version(PGconn *conn);   /* -1 on error */
int db_latest_version(void);

/* Runs a parameterised statement; on success *out (may be NULL to discard)
 * holds the result, which the caller PQclear()s.  On failure err carries the
 * server's message and SQLSTATE. */
enum lk_status db_exec(PGconn *conn, const char *sql, int n_params,
                       const char *const *params, PGresult **out, struct lk_error *err);

enum lk_status db_begin(PGconn *conn, struct lk_error *err);
enum lk_status db_commit(PGconn *conn, struct lk_error *err);
void db_rollback(PGconn *conn);

/* The channel lakeop NOTIFYs on after any change (payload: table name). */
#define DB_NOTIFY_CHANNEL "lakeop_changes"

#endif
