/* Every answer shape of ZUORA.md, parsed from strings. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "zuora.h"

static enum lk_status parse(const char *text, struct zuora_job *job, struct lk_error *err)
{
    err_clear(err);
    return zuora_parse_job(text, strlen(text), job, err);
}

static void test_completed_job(void **state)
{
    const char *text =
        "{ \"id\": \"402881824835bb2a01483c19f7d70256\", \"name\": \"Example\", \"status\": \"completed\","
        "  \"version\": \"1.1\", \"format\": \"CSV\", \"encrypted\": \"none\", \"partner\": \"p\", \"project\": \"q\","
        "  \"startTime\": \"2014-09-03 08:20:07\","
        "  \"batches\": [ { \"batchId\": \"402881824835bb2a01483c19f7da0257\", \"name\": \"AccountingPeriod\","
        "    \"query\": \"select x\", \"batchType\": \"zoqlexport\", \"apiVersion\": \"60.0\","
        "    \"status\": \"completed\", \"recordCount\": 1, \"full\": true, \"message\": \"\","
        "    \"fileId\": \"402881824835bb2a01483c19f8190259\" } ] }";
    struct zuora_job job;
    struct lk_error err;
    assert_int_equal(parse(text, &job, &err), LK_OK);
    assert_string_equal(job.id, "402881824835bb2a01483c19f7d70256");
    assert_string_equal(job.status, "completed");
    assert_string_equal(job.partner, "p");
    assert_int_equal(job.n_batches, 1);
    assert_string_equal(job.batches[0].file_id, "402881824835bb2a01483c19f8190259");
    assert_int_equal(job.batches[0].record_count, 1);
    assert_int_equal(job.batches[0].full, 1);
    assert_false(job.start_has_zone);
    assert_int_equal(job.start_unix, 1409732407LL);
    assert_int_equal(zuora_job_outcome(&job), ZUORA_COMPLETED);
    assert_non_null(strstr(job.json, "AccountingPeriod"));
    zuora_job_free(&job);
}

static void test_segments_and_iso_time(void **state)
{
    const char *text =
        "{\"id\":\"j1\",\"status\":\"completed\",\"startTime\":\"2021-01-18T17:13:48+0000\","
        "\"batches\":[{\"batchId\":\"b1\",\"name\":\"Invoice\",\"status\":\"completed\",\"recordCount\":900000,"
        "\"full\":true,\"segments\":[\"f1\",\"f2\"]}]}";
    struct zuora_job job;
    struct lk_error err;
    assert_int_equal(parse(text, &job, &err), LK_OK);
    assert_null(job.batches[0].file_id);
    assert_int_equal(job.batches[0].n_segments, 2);
    assert_string_equal(job.batches[0].segments[1], "f2");
    assert_true(job.start_has_zone);
    assert_int_equal(job.start_unix, 1610990028LL);
    zuora_job_free(&job);

    long long t;
    bool zone;
    assert_true(zuora_parse_time("2021-01-18T17:13:48-0800", &t, &zone));
    assert_int_equal(t, 1610990028LL + 8 * 3600);
    assert_true(zuora_parse_time("2021-01-18T17:13:48.123Z", &t, &zone));
    assert_false(zuora_parse_time("yesterday", &t, &zone));
}

static void test_unknown_status_kept(void **state)
{
    const char *text = "{\"id\":\"j2\",\"status\":\"pondering\",\"batches\":[{\"batchId\":\"b\",\"name\":\"A\","
                       "\"status\":\"deleted_notallowed\"}]}";
    struct zuora_job job;
    struct lk_error err;
    assert_int_equal(parse(text, &job, &err), LK_OK);
    assert_string_equal(job.status, "pondering");
    assert_string_equal(job.batches[0].status, "deleted_notallowed");
    assert_int_equal(job.batches[0].record_count, -1);
    assert_int_equal(job.batches[0].full, -1);
    assert_int_equal(zuora_job_outcome(&job), ZUORA_RUNNING);
    zuora_job_free(&job);
}

static void test_http200_error(void **state)
{
    const char *text = "{\"status\":\"error\",\"errorCode\":\"90005\",\"message\":\"There is a syntax error in one of the queries\"}";
    struct zuora_job job;
    struct lk_error err;
    assert_int_equal(parse(text, &job, &err), LK_FAIL);
    assert_string_equal(err.remote_code, "90005");
    assert_non_null(strstr(err.remote_message, "syntax error"));
    assert_non_null(strstr(err.message, "syntax error"));
    assert_null(job.id);
}

static void test_unknown_job(void **state)
{
    const char *text = "{\"status\":\"error\",\"errorCode\":\"90002\",\"message\":\"invalid job id\"}";
    struct zuora_job job;
    struct lk_error err;
    assert_int_equal(parse(text, &job, &err), LK_NOTFOUND);
    assert_string_equal(err.remote_code, "90002");
}

/* What a watch may ask again: Zuora's own trouble and a garbled body, not
 * a refusal. */
static void test_retryable(void **state)
{
    struct zuora_job job;
    struct lk_error err;
    static const struct { const char *code; bool retryable; } cases[] = {
        { "90022", true }, { "90008", true }, { "90010", true }, { "90006", true },
        { "90009", false }, { "90019", false }, { "90002", false }, { "90005", false },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char text[160];
        snprintf(text, sizeof text, "{\"status\":\"error\",\"errorCode\":\"%s\",\"message\":\"m\"}", cases[i].code);
        err_clear(&err);
        assert_int_not_equal(parse(text, &job, &err), LK_OK);
        assert_int_equal(err.retryable, cases[i].retryable);
    }
    err_clear(&err);
    assert_int_equal(parse("{\"id\":\"j\",\"sta", &job, &err), LK_FAIL);
    assert_true(err.retryable);
    err_clear(&err);
    assert_int_equal(zuora_parse_error(401, "", 0, &err), LK_FAIL);
    assert_false(err.retryable);
}

static void test_generic_reasons(void **state)
{
    const char *text = "{\"success\":false,\"reasons\":[{\"code\":\"90000011\",\"message\":\"Authentication error\"}]}";
    struct zuora_job job;
    struct lk_error err;
    assert_int_equal(parse(text, &job, &err), LK_FAIL);
    assert_string_equal(err.remote_code, "90000011");
    assert_string_equal(err.remote_message, "Authentication error");

    err_clear(&err);
    assert_int_equal(zuora_parse_error(401, text, strlen(text), &err), LK_FAIL);
    assert_int_equal(err.http_status, 401);
    assert_non_null(strstr(err.message, "credentials"));
    assert_string_equal(err.remote_message, "Authentication error");

    assert_int_equal(zuora_parse_error(429, "", 0, &err), LK_FAIL);
    assert_true(err.retryable);
    assert_non_null(strstr(err.message, "throttling"));

    const char *nf = "{\"reasons\":[{\"code\":\"50000040\",\"message\":\"Cannot find file\"}]}";
    assert_int_equal(zuora_parse_error(404, nf, strlen(nf), &err), LK_NOTFOUND);
    assert_int_equal(zuora_parse_error(502, "<html>bad gateway</html>", 24, &err), LK_FAIL);
    assert_non_null(strstr(err.remote_message, "bad gateway"));
}

static void test_malformed_and_truncated(void **state)
{
    struct zuora_job job;
    struct lk_error err;
    assert_int_equal(parse("{\"id\":\"j\",\"status\":\"compl", &job, &err), LK_FAIL);
    assert_non_null(strstr(err.message, "Zuora sent malformed JSON ("));
    assert_int_equal(parse("", &job, &err), LK_FAIL);
    assert_non_null(strstr(err.message, "malformed JSON"));
    assert_int_equal(parse("[1,2]", &job, &err), LK_FAIL);
    assert_non_null(strstr(err.message, "an array"));
}

static void test_wrong_types(void **state)
{
    struct zuora_job job;
    struct lk_error err;
    assert_int_equal(parse("{\"id\":\"j\",\"status\":7}", &job, &err), LK_FAIL);
    assert_non_null(strstr(err.message, "field 'status' of the job is an integer, expected a string"));
    assert_int_equal(parse("{\"id\":\"j\",\"status\":\"completed\",\"batches\":[{\"batchId\":\"b\",\"name\":\"A\","
                           "\"status\":\"completed\",\"recordCount\":\"12\"}]}", &job, &err), LK_FAIL);
    assert_non_null(strstr(err.message, "field 'recordCount' of batch 1 of the job is a string"));
    assert_int_equal(parse("{\"id\":\"j\",\"status\":\"completed\",\"batches\":{}}", &job, &err), LK_FAIL);
    assert_non_null(strstr(err.message, "'batches'"));
    assert_int_equal(parse("{\"id\":\"j\",\"status\":\"completed\",\"batches\":[{\"batchId\":\"b\",\"name\":\"A\","
                           "\"status\":\"completed\",\"segments\":[\"a\",3]}]}", &job, &err), LK_FAIL);
    assert_non_null(strstr(err.message, "segment 2"));
    assert_int_equal(parse("{\"status\":\"completed\"}", &job, &err), LK_FAIL);
    assert_non_null(strstr(err.message, "no field 'id'"));
}

static void test_outcomes(void **state)
{
    struct zuora_job job;
    struct lk_error err;
    char why[256];
    assert_int_equal(parse("{\"id\":\"j\",\"status\":\"error\",\"batches\":[{\"batchId\":\"b\",\"name\":\"A\","
                           "\"status\":\"pending\"}]}", &job, &err), LK_OK);
    assert_int_equal(zuora_job_outcome(&job), ZUORA_FAILED);
    assert_non_null(strstr(zuora_job_reason(&job, why, sizeof why), "job error and no batch says why"));
    zuora_job_free(&job);
    assert_int_equal(parse("{\"id\":\"j\",\"status\":\"completed\",\"batches\":[{\"batchId\":\"b\",\"name\":\"A\","
                           "\"status\":\"aborted\",\"message\":\"Query timed out\"}]}", &job, &err), LK_OK);
    assert_int_equal(zuora_job_outcome(&job), ZUORA_FAILED);
    assert_non_null(strstr(zuora_job_reason(&job, why, sizeof why), "batch A aborted: Query timed out"));
    zuora_job_free(&job);
    assert_int_equal(parse("{\"id\":\"j\",\"status\":\"cancelled\"}", &job, &err), LK_OK);
    assert_int_equal(zuora_job_outcome(&job), ZUORA_FAILED);
    assert_true(zuora_status_terminal(job.status));
    zuora_job_free(&job);
    assert_false(zuora_status_terminal("executing"));
}

static void test_submit_body(void **state)
{
    struct cfg_env env = { 0 };
    env.zuora_partner = "guardian";
    env.zuora_project = "proj";
    struct zuora_query q[] = { { "Account", "SELECT Account.Id FROM Account" } };
    struct zuora_submit s = { NULL, "2024-01-19 00:00:00", q, 1 };
    char *body = zuora_submit_body(&env, &s);
    assert_non_null(strstr(body, "\"version\":\"1.1\""));
    assert_non_null(strstr(body, "\"format\":\"csv\""));
    assert_non_null(strstr(body, "\"partner\":\"guardian\""));
    assert_non_null(strstr(body, "\"project\":\"proj\""));
    assert_non_null(strstr(body, "\"useQueryLabels\":\"true\""));
    assert_non_null(strstr(body, "\"dateTimeUtc\":\"true\""));
    assert_non_null(strstr(body, "\"incrementalTime\":\"2024-01-19 00:00:00\""));
    assert_non_null(strstr(body, "\"deleted\":{\"column\":\"IsDeleted\",\"format\":\"Boolean\"}"));
    assert_non_null(strstr(body, "\"type\":\"zoqlexport\""));
    free(body);
    s.incremental_time = NULL;
    body = zuora_submit_body(&env, &s);
    assert_null(strstr(body, "incrementalTime"));
    free(body);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_completed_job),
        cmocka_unit_test(test_segments_and_iso_time),
        cmocka_unit_test(test_unknown_status_kept),
        cmocka_unit_test(test_http200_error),
        cmocka_unit_test(test_unknown_job),
        cmocka_unit_test(test_retryable),
        cmocka_unit_test(test_generic_reasons),
        cmocka_unit_test(test_malformed_and_truncated),
        cmocka_unit_test(test_wrong_types),
        cmocka_unit_test(test_outcomes),
        cmocka_unit_test(test_submit_body),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
