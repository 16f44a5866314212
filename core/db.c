/* The metadata database connection and statements (db.h).  libpq's
 * messages are kept as the server wrote them, but a password that was part
 * of the conninfo never reaches a message. */
#include "db.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "mem.h"

/* libpq prints notices ("schema already exists, skipping") on stderr by
 * default; core never writes there. */
static void ignore_notice(void *arg, const char *message)
{
    (void)arg;
    (void)message;
}

/* One line: libpq separates attempts and details with newlines and tabs. */
static void one_line(char *text)
{
    char *out = text;
    for (const char *p = text; *p; p++) {
        bool space = *p == '\n' || *p == '\t' || *p == ' ';
        if (space && (out == text || out[-1] == ' '))
            continue;
        *out++ = space ? ' ' : *p;
    }
    while (out > text && out[-1] == ' ')
        out--;
    *out = '\0';
}

/* Blanks "user:PASSWORD@" in anything that looks like a URI, for messages
 * about a conninfo libpq could not even parse. */
static void hide_uri_password(char *text)
{
    char *p = text;
    while ((p = strstr(p, "://")) != NULL) {
        p += 3;
        char *at = strpbrk(p, "@/ \"'");
        if (!at || *at != '@')
            continue;
        char *colon = memchr(p, ':', (size_t)(at - p));
        if (colon && at - colon > 1) {
            memmove(colon + 1 + 4, at, strlen(at) + 1);
            memcpy(colon + 1, "****", 4);
        }
    }
}

static const char *opt_value(const PQconninfoOption *opts, const char *keyword)
{
    for (const PQconninfoOption *o = opts; o && o->keyword; o++)
        if (strcmp(o->keyword, keyword) == 0)
            return o->val;
    return NULL;
}

enum lk_status db_connect(const char *conninfo, PGconn **out, struct lk_error *err)
{
    *out = NULL;
    if (!conninfo || !*conninfo)
        return err_set(err, LK_USAGE,
                       "no metadata database is configured; set `database` in [env] or LAKEOP_DATABASE_URL");
    char *parse_err = NULL;
    PQconninfoOption *opts = PQconninfoParse(conninfo, &parse_err);
    if (!opts) {
        char msg[512];
        snprintf(msg, sizeof msg, "%s", parse_err ? parse_err : "malformed");
        PQfreemem(parse_err);
        one_line(msg);
        hide_uri_password(msg);
        return err_set(err, LK_USAGE,
                       "the metadata database setting is not a libpq URI or key=value string: %s; "
                       "check `database` in [env] or LAKEOP_DATABASE_URL", msg);
    }
    const char *host = opt_value(opts, "host");
    const char *hostaddr = opt_value(opts, "hostaddr");
    const char *port = opt_value(opts, "port");
    const char *dbname = opt_value(opts, "dbname");
    const char *user = opt_value(opts, "user");
    char where[512];
    snprintf(where, sizeof where, "host %s port %s database %s user %s",
             host ? host : hostaddr ? hostaddr : "(default socket)", port ? port : "5432",
             dbname ? dbname : "(default)", user ? user : "(default)");
    char *password = xstrdup(opt_value(opts, "password"));
    PQconninfoFree(opts);

    /* Keywords before dbname are defaults the conninfo may override. */
    const char *const keys[] = { "connect_timeout", "application_name", "dbname", NULL };
    const char *const vals[] = { "5", "lakeop", conninfo, NULL };
    PGconn *conn = PQconnectdbParams(keys, vals, 1);
    if (!conn) {
        free(password);
        return err_set(err, LK_FAIL, "cannot connect to the metadata database (%s): out of memory", where);
    }
    if (PQstatus(conn) != CONNECTION_OK) {
        char msg[768];
        snprintf(msg, sizeof msg, "%s", PQerrorMessage(conn));
        one_line(msg);
        err_hide_secret(msg, password);
        hide_uri_password(msg);
        PQfinish(conn);
        free(password);
        err_set(err, LK_FAIL,
                "cannot connect to the metadata database (%s): %s; check `database` in [env] or "
                "LAKEOP_DATABASE_URL", where, msg);
        err->retryable = true;
        return LK_FAIL;
    }
    free(password);
    PQsetNoticeProcessor(conn, ignore_notice, NULL);
    *out = conn;
    return LK_OK;
}

void db_close(PGconn *conn)
{
    if (conn)
        PQfinish(conn);
}

static bool retryable_state(const char *sqlstate)
{
    /* 40: serialization failure / deadlock; 08: connection exception. */
    return sqlstate && (strncmp(sqlstate, "40", 2) == 0 || strncmp(sqlstate, "08", 2) == 0);
}

static void result_error(PGconn *conn, const PGresult *res, struct lk_error *err)
{
    const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    const char *primary = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
    const char *detail = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_DETAIL) : NULL;
    const char *hint = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_HINT) : NULL;
    char msg[512];
    snprintf(msg, sizeof msg, "%s", primary ? primary : PQerrorMessage(conn));
    one_line(msg);
    err_set(err, LK_FAIL, "metadata database: %s", msg[0] ? msg : "no answer");
    struct buf more = BUF_INIT;
    if (detail)
        buf_puts(&more, detail);
    if (hint)
        buf_printf(&more, "%sHINT: %s", detail ? " " : "", hint);
    char *text = more.len ? buf_detach(&more) : NULL;
    if (text)
        one_line(text);
    err_remote(err, 0, state, text, NULL);
    free(text);
    buf_free(&more);
    if (err) {
        err->retryable = retryable_state(state) || PQstatus(conn) != CONNECTION_OK;
        if (PQstatus(conn) != CONNECTION_OK && !state)
            snprintf(err->remote_code, sizeof err->remote_code, "connection lost");
    }
}

enum lk_status db_exec(PGconn *conn, const char *sql, int n_params,
                       const char *const *params, PGresult **out, struct lk_error *err)
{
    if (out)
        *out = NULL;
    PGresult *res = PQexecParams(conn, sql, n_params, NULL, params, NULL, NULL, 0);
    ExecStatusType st = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
        result_error(conn, res, err);
        PQclear(res);
        return LK_FAIL;
    }
    if (out)
        *out = res;
    else
        PQclear(res);
    return LK_OK;
}

enum lk_status db_begin(PGconn *conn, struct lk_error *err)
{
    return db_exec(conn, "BEGIN", 0, NULL, NULL, err);
}

enum lk_status db_commit(PGconn *conn, struct lk_error *err)
{
    return db_exec(conn, "COMMIT", 0, NULL, NULL, err);
}

void db_rollback(PGconn *conn)
{
    PQclear(PQexec(conn, "ROLLBACK"));
}

enum lk_status db_open(const char *conninfo, PGconn **out, struct lk_error *err)
{
    PGconn *conn = NULL;
    enum lk_status st = db_connect(conninfo, &conn, err);
    if (st != LK_OK)
        return st;
    st = db_migrate(conn, 0, err);
    if (st != LK_OK) {
        PQfinish(conn);
        *out = NULL;
        return st;
    }
    *out = conn;
    return LK_OK;
}
