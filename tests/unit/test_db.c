/* The metadata database on a real PostgreSQL: migrations, the audit, and
 * connection errors people can act on. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <time.h>
#include <unistd.h>

#include "audit.h"
#include "db.h"
#include "mem.h"
#include "testdb.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static PGconn *fresh(const char *name, bool migrate)
{
    char *conninfo = testdb_create(name);
    if (!conninfo)
        fail_msg("no test database (is LK_PG_HOST/LK_PG_PORT set? run via tests/run.sh)");
    PGconn *conn = NULL;
    struct lk_error err;
    err_clear(&err);
    enum lk_status st = migrate ? db_open(conninfo, &conn, &err) : db_connect(conninfo, &conn, &err);
    free(conninfo);
    if (st != LK_OK)
        fail_msg("%s", err.message);
    return conn;
}

static long long count(PGconn *conn, const char *sql)
{
    PGresult *res = NULL;
    struct lk_error err;
    err_clear(&err);
    if (db_exec(conn, sql, 0, NULL, &res, &err) != LK_OK)
        fail_msg("%s: %s", sql, err.message);
    long long n = atoll(PQgetvalue(res, 0, 0));
    PQclear(res);
    return n;
}

static void test_migrate_fresh_and_twice(void **state)
{
    (void)state;
    PGconn *conn = fresh("lk_test_db_twice", true);
    int latest = db_latest_version();
    assert_true(latest >= 2);
    assert_int_equal(db_schema_version(conn), latest);
    /* Versions may have gaps (each issue owns its number): max, not count. */
    assert_int_equal(count(conn, "SELECT max(version) FROM lakeop.schema_migrations"), latest);
    int applied = count(conn, "SELECT count(*) FROM lakeop.schema_migrations");
    assert_int_equal(count(conn, "SELECT count(*) FROM pg_tables WHERE schemaname = 'lakeop'"), 13);

    struct lk_error err;
    err_clear(&err);
    assert_int_equal(db_migrate(conn, 0, &err), LK_OK);
    assert_int_equal(db_migrate(conn, 0, &err), LK_OK);
    assert_int_equal(count(conn, "SELECT count(*) FROM lakeop.schema_migrations"), applied);
    assert_string_equal(PQparameterStatus(conn, "application_name"), "lakeop");
    db_close(conn);
}

static void test_upgrade_in_place(void **state)
{
    (void)state;
    PGconn *conn = fresh("lk_test_db_upgrade", false);
    assert_int_equal(db_schema_version(conn), 0);
    struct lk_error err;
    err_clear(&err);
    assert_int_equal(db_migrate(conn, 1, &err), LK_OK);
    assert_int_equal(db_schema_version(conn), 1);
    assert_int_equal(count(conn, "SELECT count(*) FROM pg_indexes WHERE indexname = 'audit_action_id'"), 0);

    /* Data written under version 1 survives the upgrade. */
    const char *params[] = { "ops", "CODE", "copy", "job-1", "{\"a\": 1}", "ok", "copied" };
    assert_int_equal(db_exec(conn,
                             "INSERT INTO lakeop.audit (operator, env, action, target, params, result, message)"
                             " VALUES ($1, $2, $3, $4, $5::jsonb, $6, $7)", 7, params, NULL, &err), LK_OK);

    assert_int_equal(db_migrate(conn, 0, &err), LK_OK);
    assert_int_equal(db_schema_version(conn), db_latest_version());
    assert_int_equal(count(conn, "SELECT count(*) FROM pg_indexes WHERE indexname = 'audit_action_id'"), 1);
    assert_int_equal(count(conn, "SELECT count(*) FROM pg_indexes WHERE indexname = 'loads_dataset_key_prefix'"), 1);
    assert_int_equal(count(conn, "SELECT count(*) FROM lakeop.audit WHERE target = 'job-1'"), 1);
    db_close(conn);
}

struct racer {
    char *conninfo;
    enum lk_status st;
    char message[1024];
};

static void *race(void *arg)
{
    struct racer *r = arg;
    PGconn *conn = NULL;
    struct lk_error err;
    err_clear(&err);
    r->st = db_open(r->conninfo, &conn, &err);
    snprintf(r->message, sizeof r->message, "%s", err.message);
    db_close(conn);
    return NULL;
}

static void test_two_at_once(void **state)
{
    (void)state;
    char *conninfo = testdb_create("lk_test_db_race");
    assert_non_null(conninfo);
    struct racer racers[4];
    pthread_t threads[4];
    for (int i = 0; i < 4; i++) {
        racers[i] = (struct racer){ .conninfo = conninfo };
        assert_int_equal(pthread_create(&threads[i], NULL, race, &racers[i]), 0);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(threads[i], NULL);
        if (racers[i].st != LK_OK)
            fail_msg("racer %d: %s", i, racers[i].message);
    }
    PGconn *conn = NULL;
    struct lk_error err;
    err_clear(&err);
    assert_int_equal(db_connect(conninfo, &conn, &err), LK_OK);
    assert_int_equal(count(conn, "SELECT max(version) FROM lakeop.schema_migrations"), db_latest_version());
    db_close(conn);
    free(conninfo);
}

static void test_audit_append_only(void **state)
{
    (void)state;
    PGconn *conn = fresh("lk_test_db_audit", true);
    struct lk_error err;
    err_clear(&err);
    const struct audit_entry e = {
        .operator_name = "alice", .env = "PROD", .action = "load.retry", .target = "42",
        .params_json = "{\"loads\": [42]}", .result = AUDIT_REFUSED, .message = "read-only",
    };
    assert_int_equal(audit_append(conn, &e, &err), LK_OK);
    const struct audit_entry minimal = { .action = "stage.clear", .result = AUDIT_OK };
    assert_int_equal(audit_append(conn, &minimal, &err), LK_OK);
    assert_int_equal(count(conn, "SELECT count(*) FROM lakeop.audit WHERE operator = 'alice' AND env = 'PROD'"
                                 " AND result = 'refused' AND params->'loads'->>0 = '42'"), 1);
    assert_int_equal(count(conn, "SELECT count(*) FROM lakeop.audit WHERE operator = 'unknown' AND params IS NULL"),
                     1);

    const struct audit_entry bad_json = { .operator_name = "a", .env = "b", .action = "x",
                                          .params_json = "{not json", .result = AUDIT_OK };
    assert_int_equal(audit_append(conn, &bad_json, &err), LK_FAIL);
    assert_string_equal(err.remote_code, "22P02");
    assert_non_null(strstr(err.message, "recording 'x' in the audit log"));
    const struct audit_entry no_action = { .operator_name = "a" };
    assert_int_equal(audit_append(conn, &no_action, &err), LK_USAGE);

    err_clear(&err);
    assert_int_equal(db_exec(conn, "UPDATE lakeop.audit SET message = 'rewritten'", 0, NULL, NULL, &err), LK_FAIL);
    assert_non_null(strstr(err.message, "append-only"));
    assert_string_equal(err.remote_code, "P0001");
    err_clear(&err);
    assert_int_equal(db_exec(conn, "DELETE FROM lakeop.audit", 0, NULL, NULL, &err), LK_FAIL);
    assert_int_equal(count(conn, "SELECT count(*) FROM lakeop.audit"), 2);
    assert_string_equal(audit_result_name(AUDIT_FAILED), "failed");
    db_close(conn);
}

static void test_exec_error_carries_sqlstate(void **state)
{
    (void)state;
    PGconn *conn = fresh("lk_test_db_exec", true);
    struct lk_error err;
    err_clear(&err);
    PGresult *res = (PGresult *)1;
    assert_int_equal(db_exec(conn, "SELECT * FROM lakeop.no_such_table", 0, NULL, &res, &err), LK_FAIL);
    assert_null(res);
    assert_string_equal(err.remote_code, "42P01");
    assert_non_null(strstr(err.message, "no_such_table"));
    char text[2048];
    err_text(&err, text, sizeof text);
    assert_non_null(strstr(text, "42P01"));

    /* Parameters travel as parameters, never spliced into SQL. */
    const char *params[] = { "x'; DROP TABLE lakeop.audit; --" };
    assert_int_equal(db_exec(conn, "SELECT $1::text", 1, params, &res, &err), LK_OK);
    assert_string_equal(PQgetvalue(res, 0, 0), params[0]);
    PQclear(res);

    /* A transaction that fails is rolled back and the connection stays usable. */
    assert_int_equal(db_begin(conn, &err), LK_OK);
    const char *dup[] = { "ds" };
    assert_int_equal(db_exec(conn, "INSERT INTO lakeop.datasets (name) VALUES ($1)", 1, dup, NULL, &err), LK_OK);
    err_clear(&err);
    assert_int_equal(db_exec(conn, "INSERT INTO lakeop.datasets (name) VALUES ($1)", 1, dup, NULL, &err), LK_FAIL);
    assert_string_equal(err.remote_code, "23505");
    assert_non_null(strstr(err.remote_message, "already exists"));
    db_rollback(conn);
    assert_int_equal(count(conn, "SELECT count(*) FROM lakeop.datasets"), 0);
    assert_int_equal(db_begin(conn, &err), LK_OK);
    assert_int_equal(db_exec(conn, "INSERT INTO lakeop.datasets (name) VALUES ($1)", 1, dup, NULL, &err), LK_OK);
    assert_int_equal(db_commit(conn, &err), LK_OK);
    assert_int_equal(count(conn, "SELECT count(*) FROM lakeop.datasets"), 1);
    db_close(conn);
}

/* A loopback port nobody listens on (bound, then closed). */
static int free_port(void)
{
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t len = sizeof a;
    assert_int_equal(bind(s, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(getsockname(s, (struct sockaddr *)&a, &len), 0);
    close(s);
    return ntohs(a.sin_port);
}

static void test_unreachable_is_quick_and_clear(void **state)
{
    (void)state;
    char *conninfo = xasprintf("postgresql://lakeop:topsecretpw@127.0.0.1:%d/lakeop", free_port());
    PGconn *conn = NULL;
    struct lk_error err;
    err_clear(&err);
    double t0 = now_s();
    assert_int_equal(db_connect(conninfo, &conn, &err), LK_FAIL);
    assert_true(now_s() - t0 < 6.0);
    assert_null(conn);
    assert_non_null(strstr(err.message, "cannot connect to the metadata database (host 127.0.0.1"));
    assert_non_null(strstr(err.message, "LAKEOP_DATABASE_URL"));
    assert_null(strstr(err.message, "topsecretpw"));
    free(conninfo);

    err_clear(&err);
    assert_int_equal(db_connect("postgresql://u:pw@host:notaport/db?bogus=1", &conn, &err), LK_USAGE);
    assert_null(strstr(err.message, ":pw@"));
    err_clear(&err);
    assert_int_equal(db_open(NULL, &conn, &err), LK_USAGE);
    assert_non_null(strstr(err.message, "LAKEOP_DATABASE_URL"));
}

/* A stand-in PostgreSQL server on loopback: either it never answers, or it
 * asks for a password and refuses it the way PostgreSQL does (28P01). */
struct fake_pg {
    int listener;
    int port;
    bool refuse_password;
};

static bool read_full(int fd, void *buf, size_t n)
{
    char *p = buf;
    while (n) {
        ssize_t r = read(fd, p, n);
        if (r <= 0)
            return false;
        p += r;
        n -= (size_t)r;
    }
    return true;
}

static uint32_t be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void put32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)(v >> 24);
    p[1] = (unsigned char)(v >> 16);
    p[2] = (unsigned char)(v >> 8);
    p[3] = (unsigned char)v;
}

static void *fake_pg_serve(void *arg)
{
    struct fake_pg *f = arg;
    int fd = accept(f->listener, NULL, NULL);
    if (fd < 0)
        return NULL;
    if (!f->refuse_password) {
        /* Swallow what the client sends and never answer, until it gives up. */
        char sink[256];
        while (read(fd, sink, sizeof sink) > 0)
            continue;
        close(fd);
        return NULL;
    }
    unsigned char hdr[8];
    for (;;) {   /* SSL / GSS encryption requests: "N", then the startup packet */
        if (!read_full(fd, hdr, 4))
            goto done;
        uint32_t len = be32(hdr);
        if (len < 8 || len > 10000)
            goto done;
        unsigned char *body = xmalloc(len - 4);
        bool ok = read_full(fd, body, len - 4);
        uint32_t code = be32(body);
        free(body);
        if (!ok)
            goto done;
        if (code == 80877103 || code == 80877104) {
            if (write(fd, "N", 1) != 1)
                goto done;
            continue;
        }
        break;
    }
    unsigned char ask[9] = { 'R' };
    put32(ask + 1, 8);
    put32(ask + 5, 3);   /* AuthenticationCleartextPassword */
    if (write(fd, ask, sizeof ask) != (ssize_t)sizeof ask)
        goto done;
    unsigned char ptype[5];
    if (!read_full(fd, ptype, 5))
        goto done;
    uint32_t plen = be32(ptype + 1);
    if (plen < 4 || plen > 10000)
        goto done;
    unsigned char *pw = xmalloc(plen);
    read_full(fd, pw, plen - 4);
    free(pw);
    static const char fields[] = "SFATAL\0VFATAL\0C28P01\0Mpassword authentication failed for user \"lakeop\"\0";
    unsigned char msg[256] = { 'E' };
    size_t flen = sizeof fields;   /* includes the final terminator */
    put32(msg + 1, (uint32_t)(4 + flen));
    memcpy(msg + 5, fields, flen);
    if (write(fd, msg, 5 + flen) < 0)
        goto done;
done:
    close(fd);
    return NULL;
}

static void fake_pg_start(struct fake_pg *f, pthread_t *thread)
{
    f->listener = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t len = sizeof a;
    assert_int_equal(bind(f->listener, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(listen(f->listener, 4), 0);
    assert_int_equal(getsockname(f->listener, (struct sockaddr *)&a, &len), 0);
    f->port = ntohs(a.sin_port);
    assert_int_equal(pthread_create(thread, NULL, fake_pg_serve, f), 0);
}

static void test_wrong_password(void **state)
{
    (void)state;
    struct fake_pg f = { .refuse_password = true };
    pthread_t thread;
    fake_pg_start(&f, &thread);
    char *conninfo = xasprintf("postgresql://lakeop:wrongpw-123@127.0.0.1:%d/lakeop", f.port);
    PGconn *conn = NULL;
    struct lk_error err;
    err_clear(&err);
    double t0 = now_s();
    assert_int_equal(db_connect(conninfo, &conn, &err), LK_FAIL);
    assert_true(now_s() - t0 < 6.0);
    assert_non_null(strstr(err.message, "password authentication failed for user \"lakeop\""));
    assert_non_null(strstr(err.message, "user lakeop"));
    assert_null(strstr(err.message, "wrongpw-123"));
    pthread_join(thread, NULL);
    close(f.listener);
    free(conninfo);
}

static void test_silent_server_times_out(void **state)
{
    (void)state;
    struct fake_pg f = { .refuse_password = false };
    pthread_t thread;
    fake_pg_start(&f, &thread);
    char *conninfo = xasprintf("host=127.0.0.1 port=%d user=lakeop dbname=lakeop", f.port);
    PGconn *conn = NULL;
    struct lk_error err;
    err_clear(&err);
    double t0 = now_s();
    assert_int_equal(db_connect(conninfo, &conn, &err), LK_FAIL);
    double took = now_s() - t0;
    if (took >= 6.0)
        fail_msg("took %.1f s", took);
    assert_non_null(strstr(err.message, "cannot connect to the metadata database"));
    pthread_join(thread, NULL);
    close(f.listener);
    free(conninfo);
}

static void test_unknown_db_and_role(void **state)
{
    (void)state;
    struct lk_error err;
    err_clear(&err);
    char *conninfo = xasprintf("host=%s port=%s user=postgres password=wrongpw dbname=lk_no_such_db",
                               getenv("LK_PG_HOST"), getenv("LK_PG_PORT"));
    PGconn *conn = NULL;
    double t0 = now_s();
    assert_int_equal(db_connect(conninfo, &conn, &err), LK_FAIL);
    assert_true(now_s() - t0 < 6.0);
    assert_non_null(strstr(err.message, "lk_no_such_db"));
    assert_non_null(strstr(err.message, "does not exist"));
    assert_null(strstr(err.message, "wrongpw"));
    free(conninfo);

    conninfo = xasprintf("host=%s port=%s user=lk_no_such_role dbname=postgres", getenv("LK_PG_HOST"),
                         getenv("LK_PG_PORT"));
    err_clear(&err);
    assert_int_equal(db_connect(conninfo, &conn, &err), LK_FAIL);
    assert_non_null(strstr(err.message, "lk_no_such_role"));
    free(conninfo);
}

int main(void)
{
    if (!getenv("LK_PG_HOST") || !getenv("LK_PG_PORT")) {
        fprintf(stderr, "test_db: LK_PG_HOST and LK_PG_PORT must name the test cluster; "
                        "run it through `sh tests/run.sh`\n");
        return 1;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_migrate_fresh_and_twice),
        cmocka_unit_test(test_upgrade_in_place),
        cmocka_unit_test(test_two_at_once),
        cmocka_unit_test(test_audit_append_only),
        cmocka_unit_test(test_exec_error_carries_sqlstate),
        cmocka_unit_test(test_unreachable_is_quick_and_clear),
        cmocka_unit_test(test_wrong_password),
        cmocka_unit_test(test_silent_server_times_out),
        cmocka_unit_test(test_unknown_db_and_role),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
