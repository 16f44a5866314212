/* core/jobstore.c on real PostgreSQL: upserts, nothing half-stored,
 * increments, jobstore_mark_copied, keyset paging, the stored copy, when a
 * job ended (set once, never moved) and the duration shown from it;
 * migration 3 backfilling ended_at for jobs already over. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "jobstore.h"
#include "testdb.h"

static PGconn *db;

static int setup(void **state)
{
    db = testdb_open("lakeop_unit_jobstore");
    return db ? 0 : -1;
}

static int teardown(void **state)
{
    db_close(db);
    return 0;
}

static void parse(const char *text, struct zuora_job *job)
{
    struct lk_error err;
    err_clear(&err);
    assert_int_equal(zuora_parse_job(text, strlen(text), job, &err), LK_OK);
}

static char *scalar(const char *sql)
{
    PGresult *res;
    struct lk_error err;
    err_clear(&err);
    assert_int_equal(db_exec(db, sql, 0, NULL, &res, &err), LK_OK);
    char *v = PQntuples(res) && !PQgetisnull(res, 0, 0) ? strdup(PQgetvalue(res, 0, 0)) : strdup("");
    PQclear(res);
    return v;
}

#define JOB_RUNNING \
    "{\"id\":\"J1\",\"status\":\"executing\",\"partner\":\"p\",\"project\":\"q\",\"startTime\":\"2024-01-19 08:00:00\"," \
    "\"batches\":[{\"batchId\":\"B1\",\"name\":\"Account\",\"status\":\"executing\",\"recordCount\":0,\"full\":true," \
    "\"query\":\"SELECT Account.Id FROM Account\"}]}"
#define JOB_DONE \
    "{\"id\":\"J1\",\"status\":\"completed\",\"partner\":\"p\",\"project\":\"q\",\"startTime\":\"2024-01-19 08:00:00\"," \
    "\"batches\":[{\"batchId\":\"B1\",\"name\":\"Account\",\"status\":\"completed\",\"recordCount\":42,\"full\":true," \
    "\"query\":\"SELECT Account.Id FROM Account\",\"fileId\":\"F1\"}," \
    "{\"batchId\":\"B2\",\"name\":\"Invoice\",\"status\":\"completed\",\"recordCount\":900,\"full\":true," \
    "\"query\":\"SELECT Invoice.Id FROM Invoice\",\"segments\":[\"S1\",\"S2\"]}]}"

static void test_upsert_and_increments(void **state)
{
    struct lk_error err;
    struct zuora_job job;
    parse(JOB_RUNNING, &job);
    struct jobstore_sent_query sent[] = { { "Account", "hash-a" } };
    err_clear(&err);
    assert_int_equal(jobstore_save_submitted(db, "CODE", &job, NULL, "America/Los_Angeles", "p", "q", sent, 1, &err), LK_OK);
    zuora_job_free(&job);
    char *v = scalar("SELECT status || '/' || origin || '/' || start_time AT TIME ZONE 'UTC' FROM lakeop.zuora_jobs WHERE job_id = 'J1'");
    assert_string_equal(v, "executing/lakeop/2024-01-19 16:00:00");   /* plain startTime read as Pacific */
    free(v);
    v = scalar("SELECT coalesce(last_job_id, '-') || '/' || query_hash FROM lakeop.increments WHERE object_name = 'Account'");
    assert_string_equal(v, "-/hash-a");
    free(v);

    parse(JOB_DONE, &job);
    assert_int_equal(jobstore_save_job(db, "CODE", &job, JOBSTORE_LOOKUP, NULL, "UTC", &err), LK_OK);
    zuora_job_free(&job);
    v = scalar("SELECT status || '/' || origin FROM lakeop.zuora_jobs WHERE job_id = 'J1'");
    assert_string_equal(v, "completed/lakeop");
    free(v);
    v = scalar("SELECT string_agg(name || ':' || status || ':' || record_count || ':' || coalesce(file_id, segments::text), ',' ORDER BY name)"
               " FROM lakeop.zuora_batches WHERE job_id = 'J1'");
    assert_string_equal(v, "Account:completed:42:F1,Invoice:completed:900:[\"S1\", \"S2\"]");
    free(v);
    v = scalar("SELECT string_agg(object_name || ':' || last_job_id || ':' || last_batch_id || ':' || (copied_at IS NULL), ',' ORDER BY object_name)"
               " FROM lakeop.increments WHERE env = 'CODE'");
    assert_string_equal(v, "Account:J1:B1:true,Invoice:J1:B2:true");
    free(v);

    assert_int_equal(jobstore_mark_copied(db, "CODE", "Account", "J1", "B1", 1705708800LL, &err), LK_OK);
    v = scalar("SELECT copied_at AT TIME ZONE 'UTC' FROM lakeop.increments WHERE object_name = 'Account'");
    assert_string_equal(v, "2024-01-20 00:00:00");
    free(v);
    v = scalar("SELECT copied_at AT TIME ZONE 'UTC' FROM lakeop.zuora_batches WHERE batch_id = 'B1'");
    assert_string_equal(v, "2024-01-20 00:00:00");
    free(v);

    struct jobstore_object_history h;
    assert_int_equal(jobstore_object_history(db, "CODE", "p", "q", "Account", &h, &err), LK_OK);
    assert_string_equal(h.last_job_id, "J1");
    assert_string_equal(h.last_query, "SELECT Account.Id FROM Account");
    assert_string_equal(h.sent_query_hash, "hash-a");
    assert_string_equal(h.increment_job_id, "J1");
    assert_int_equal(h.increment_copied_unix, 1705708800LL);
    assert_null(h.running_job_id);
    jobstore_object_history_free(&h);
    assert_int_equal(jobstore_object_history(db, "CODE", "p", "other", "Account", &h, &err), LK_OK);
    assert_null(h.last_job_id);
    assert_string_equal(h.other_project, "q");
    jobstore_object_history_free(&h);
}

static void test_nothing_half_stored(void **state)
{
    struct zuora_job job;
    parse("{\"id\":\"J9\",\"status\":\"completed\",\"batches\":[{\"batchId\":\"B91\",\"name\":\"A\",\"status\":\"completed\"},"
          "{\"batchId\":\"B92\",\"name\":\"B\",\"status\":\"completed\"}]}", &job);
    /* The second batch breaks a constraint: the job and the first batch must not stay. */
    free(job.batches[1].name);
    job.batches[1].name = NULL;
    struct lk_error err;
    err_clear(&err);
    assert_int_not_equal(jobstore_save_job(db, "CODE", &job, JOBSTORE_LOOKUP, NULL, "UTC", &err), LK_OK);
    assert_true(err.remote_code[0] != '\0');
    zuora_job_free(&job);
    char *v = scalar("SELECT count(*) FROM lakeop.zuora_jobs WHERE job_id = 'J9'");
    assert_string_equal(v, "0");
    free(v);
    v = scalar("SELECT count(*) FROM lakeop.zuora_batches WHERE batch_id = 'B91'");
    assert_string_equal(v, "0");
    free(v);
}

static void test_list_paged_and_load(void **state)
{
    struct lk_error err;
    for (int i = 0; i < 5; i++) {
        char text[256];
        snprintf(text, sizeof text, "{\"id\":\"P%d\",\"status\":\"submitted\",\"batches\":[]}", i);
        struct zuora_job job;
        parse(text, &job);
        err_clear(&err);
        assert_int_equal(jobstore_save_job(db, "PAGED", &job, JOBSTORE_LAKEOP, "2024-01-01 00:00:00", "UTC", &err), LK_OK);
        zuora_job_free(&job);
    }
    struct jobstore_row *rows;
    size_t n;
    assert_int_equal(jobstore_list(db, "PAGED", 0, 2, &rows, &n, &err), LK_OK);
    assert_int_equal(n, 2);
    assert_string_equal(rows[0].job_id, "P4");
    assert_string_equal(rows[1].job_id, "P3");
    assert_string_equal(rows[0].incremental_time, "2024-01-01 00:00:00");
    long long next = rows[1].id;
    jobstore_rows_free(rows, n);
    assert_int_equal(jobstore_list(db, "PAGED", next, 10, &rows, &n, &err), LK_OK);
    assert_int_equal(n, 3);
    assert_string_equal(rows[0].job_id, "P2");
    assert_string_equal(rows[2].job_id, "P0");
    jobstore_rows_free(rows, n);

    struct zuora_job job;
    char *origin;
    assert_int_equal(jobstore_load_job(db, "J1", &job, &origin, &err), LK_OK);
    assert_string_equal(origin, "lakeop");
    assert_int_equal(job.n_batches, 2);
    assert_string_equal(job.batches[1].segments[1], "S2");
    free(origin);
    zuora_job_free(&job);
    assert_int_equal(jobstore_load_job(db, "nope", &job, NULL, &err), LK_NOTFOUND);

    /* Rows written by others without JSON: rebuilt from the columns. */
    char *v = scalar("WITH j AS (INSERT INTO lakeop.zuora_jobs (job_id, env, status, origin) VALUES ('NJ', 'CODE', 'completed', 'scheduled'))"
                     " INSERT INTO lakeop.zuora_batches (job_id, batch_id, name, status, record_count, segments, full_load)"
                     " VALUES ('NJ', 'NB', 'Invoice', 'completed', 5, '[\"s1\"]', true) RETURNING batch_id");
    free(v);
    assert_int_equal(jobstore_load_job(db, "NJ", &job, NULL, &err), LK_OK);
    assert_string_equal(job.status, "completed");
    assert_int_equal(job.n_batches, 1);
    assert_string_equal(job.batches[0].name, "Invoice");
    assert_int_equal(job.batches[0].record_count, 5);
    assert_int_equal(job.batches[0].full, 1);
    assert_int_equal(job.batches[0].n_segments, 1);
    zuora_job_free(&job);
}

static void save(const char *text, enum jobstore_origin origin)
{
    struct zuora_job job;
    parse(text, &job);
    struct lk_error err;
    err_clear(&err);
    assert_int_equal(jobstore_save_job(db, "ENDED", &job, origin, NULL, "UTC", &err), LK_OK);
    zuora_job_free(&job);
}

#define JOB_E(status) \
    "{\"id\":\"E1\",\"status\":\"" status "\",\"startTime\":\"2024-01-19T08:00:00+0000\",\"batches\":[]}"

static void test_ended_at_set_once(void **state)
{
    save(JOB_E("submitted"), JOBSTORE_LAKEOP);
    save(JOB_E("executing"), JOBSTORE_LAKEOP);
    char *v = scalar("SELECT ended_at IS NULL FROM lakeop.zuora_jobs WHERE job_id = 'E1'");
    assert_string_equal(v, "t");   /* running: no end */
    free(v);

    save(JOB_E("completed"), JOBSTORE_LAKEOP);
    v = scalar("SELECT ended_at IS NOT NULL AND ended_at = updated_at FROM lakeop.zuora_jobs WHERE job_id = 'E1'");
    assert_string_equal(v, "t");   /* the first save that sees the end sets it */
    free(v);

    /* Pretend it ended 40 minutes after its start, then look again (and
     * again, from another lakeop that only looked it up): the end stays
     * where it was while updated_at follows every look. */
    v = scalar("UPDATE lakeop.zuora_jobs SET ended_at = '2024-01-19 08:40:00+00', updated_at = '2024-01-19 08:40:00+00'"
               " WHERE job_id = 'E1' RETURNING job_id");
    free(v);
    save(JOB_E("completed"), JOBSTORE_LAKEOP);
    save(JOB_E("completed"), JOBSTORE_LOOKUP);
    v = scalar("SELECT (ended_at AT TIME ZONE 'UTC')::text || '/' || (updated_at > ended_at)"
               " FROM lakeop.zuora_jobs WHERE job_id = 'E1'");
    assert_string_equal(v, "2024-01-19 08:40:00/true");
    free(v);
    /* A later answer saying something else clears nothing. */
    save(JOB_E("executing"), JOBSTORE_LOOKUP);
    v = scalar("SELECT (ended_at AT TIME ZONE 'UTC')::text FROM lakeop.zuora_jobs WHERE job_id = 'E1'");
    assert_string_equal(v, "2024-01-19 08:40:00");
    free(v);
    save(JOB_E("completed"), JOBSTORE_LOOKUP);

    /* A job first seen already ended gets its end at that first sight. */
    save("{\"id\":\"E2\",\"status\":\"error\",\"batches\":[]}", JOBSTORE_LOOKUP);
    v = scalar("SELECT ended_at IS NOT NULL FROM lakeop.zuora_jobs WHERE job_id = 'E2'");
    assert_string_equal(v, "t");
    free(v);

    struct jobstore_row *rows;
    size_t n;
    struct lk_error err;
    err_clear(&err);
    assert_int_equal(jobstore_list(db, "ENDED", 0, 10, &rows, &n, &err), LK_OK);
    assert_int_equal(n, 2);
    assert_string_equal(rows[1].job_id, "E1");
    assert_int_equal(rows[1].start_unix, 1705651200LL);            /* 2024-01-19 08:00:00Z */
    assert_int_equal(rows[1].ended_unix, 1705651200LL + 2400);
    assert_true(rows[1].updated_unix > rows[1].ended_unix);
    /* The duration is the run, however long ago and however often looked at. */
    assert_int_equal(jobstore_duration(rows[1].start_unix, rows[1].submitted_unix, rows[1].ended_unix, true,
                                       rows[1].updated_unix + 86400), 2400);
    /* E2 was seen for the first time already over: no start after which
     * lakeop saw it end, so no duration (never a made-up 0 s). */
    assert_string_equal(rows[0].job_id, "E2");
    assert_int_equal(rows[0].start_unix, 0);
    assert_int_equal(jobstore_duration(rows[0].start_unix, rows[0].submitted_unix, rows[0].ended_unix, true,
                                       rows[0].ended_unix + 60), -1);
    jobstore_rows_free(rows, n);
}

static void test_duration(void **state)
{
    const long long start = 1705651200LL, submitted = start - 30, now = start + 7200;
    /* Ended: end - start; start missing: from the submission. */
    assert_int_equal(jobstore_duration(start, submitted, start + 2400, true, now), 2400);
    assert_int_equal(jobstore_duration(0, submitted, start + 2400, true, now), 2430);
    /* Running: so far, whatever an old end says. */
    assert_int_equal(jobstore_duration(start, submitted, 0, false, now), 7200);
    assert_int_equal(jobstore_duration(0, submitted, 0, false, now), 7230);
    assert_int_equal(jobstore_duration(start, submitted, 0, false, start - 5), 0);   /* clocks apart */
    /* Ended, but the end was never seen (or not after the start): unknown. */
    assert_int_equal(jobstore_duration(start, submitted, 0, true, now), -1);
    assert_int_equal(jobstore_duration(start, submitted, start, true, now), -1);
    assert_int_equal(jobstore_duration(0, 0, start, true, now), -1);
}

/* Migration 3 on a database already holding jobs: those that had ended get
 * ended_at from their last save; running ones none. */
static void test_migration_backfills_ended_at(void **state)
{
    char *conninfo = testdb_create("lakeop_unit_jobstore_v2");
    assert_non_null(conninfo);
    PGconn *old = NULL;
    struct lk_error err;
    err_clear(&err);
    assert_int_equal(db_connect(conninfo, &old, &err), LK_OK);
    free(conninfo);
    assert_int_equal(db_migrate(old, 2, &err), LK_OK);
    assert_int_equal(db_exec(old,
                             "INSERT INTO lakeop.zuora_jobs (job_id, env, status, updated_at) VALUES"
                             " ('D', 'CODE', 'completed', '2024-01-19 08:40:00+00'),"
                             " ('X', 'CODE', 'error', '2024-01-19 09:00:00+00'),"
                             " ('A', 'CODE', 'aborted', '2024-01-19 09:01:00+00'),"
                             " ('C', 'CODE', 'cancelled', '2024-01-19 09:02:00+00'),"
                             " ('R', 'CODE', 'executing', '2024-01-19 09:03:00+00')",
                             0, NULL, NULL, &err), LK_OK);
    assert_int_equal(db_migrate(old, 0, &err), LK_OK);
    PGresult *res;
    assert_int_equal(db_exec(old,
                             "SELECT string_agg(job_id || ':' || coalesce(to_char(ended_at AT TIME ZONE 'UTC',"
                             " 'HH24:MI'), '-'), ',' ORDER BY job_id) FROM lakeop.zuora_jobs",
                             0, NULL, &res, &err), LK_OK);
    assert_string_equal(PQgetvalue(res, 0, 0), "A:09:01,C:09:02,D:08:40,R:-,X:09:00");
    PQclear(res);
    db_close(old);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_upsert_and_increments),
        cmocka_unit_test(test_nothing_half_stored),
        cmocka_unit_test(test_list_paged_and_load),
        cmocka_unit_test(test_ended_at_set_once),
        cmocka_unit_test(test_duration),
        cmocka_unit_test(test_migration_backfills_ended_at),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
