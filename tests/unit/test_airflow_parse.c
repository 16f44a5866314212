/* Airflow JSON → structs, error answers → the error record, timestamps. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "airflow.h"

static void test_dags(void **state)
{
    (void)state;
    const char *json =
        "{\"dags\":[{\"dag_id\":\"supporter_experience\",\"is_paused\":false,\"is_active\":true,"
        "\"description\":null,\"schedule_interval\":{\"__type\":\"CronExpression\",\"value\":\"0 9 * * *\"},"
        "\"tags\":[{\"name\":\"zuora\"}],\"next_dagrun\":\"2024-01-02T09:00:00+00:00\"},"
        "{\"dag_id\":\"other\",\"is_paused\":true,\"schedule_interval\":{\"__type\":\"TimeDelta\","
        "\"days\":1,\"seconds\":3660,\"microseconds\":0}},"
        "{\"dag_id\":\"plain\",\"schedule_interval\":null}],\"total_entries\":7}";
    struct airflow_dag_list l = { 0 };
    long long total = 0;
    struct lk_error err = { 0 };
    assert_int_equal(airflow_parse_dags(json, &l, &total, &err), LK_OK);
    assert_int_equal(l.n, 3);
    assert_int_equal(total, 7);
    assert_string_equal(l.items[0].dag_id, "supporter_experience");
    assert_string_equal(l.items[0].schedule, "0 9 * * *");
    assert_null(l.items[0].description);
    assert_false(l.items[0].is_paused);
    assert_true(l.items[1].is_paused);
    assert_string_equal(l.items[1].schedule, "every 1d 01:01:00");
    assert_null(l.items[2].schedule);
    airflow_dag_list_free(&l);
}

static void test_tasks_sorted_with_downstream(void **state)
{
    (void)state;
    const char *json =
        "{\"tasks\":[{\"task_id\":\"zuora_subscription\",\"operator_name\":\"GlueJobOperator\","
        "\"downstream_task_ids\":[],\"retries\":2},"
        "{\"task_id\":\"zuora_account\",\"downstream_task_ids\":[\"zuora_subscription\",\"zuora_rate_plan\"],"
        "\"trigger_rule\":\"all_success\",\"owner\":\"data\"},"
        "{\"task_id\":\"zuora_rate_plan\",\"downstream_task_ids\":[7, null]}],\"total_entries\":3}";
    struct airflow_task_list l = { 0 };
    struct lk_error err = { 0 };
    assert_int_equal(airflow_parse_tasks(json, &l, &err), LK_OK);
    assert_int_equal(l.n, 3);
    assert_string_equal(l.items[0].task_id, "zuora_account");
    assert_int_equal(l.items[0].n_downstream, 2);
    assert_string_equal(l.items[0].downstream[1], "zuora_rate_plan");
    assert_string_equal(l.items[0].trigger_rule, "all_success");
    /* Non-string ids from a broken server are skipped, not crashed on. */
    assert_string_equal(l.items[1].task_id, "zuora_rate_plan");
    assert_int_equal(l.items[1].n_downstream, 0);
    assert_string_equal(l.items[2].operator_name, "GlueJobOperator");
    assert_int_equal(l.items[2].retries, 2);
    airflow_task_list_free(&l);
}

static void test_runs(void **state)
{
    (void)state;
    const char *json =
        "{\"dag_runs\":[{\"dag_run_id\":\"scheduled__2024-01-01T00:00:00+00:00\",\"dag_id\":\"d\","
        "\"logical_date\":\"2024-01-01T00:00:00+00:00\",\"execution_date\":\"2024-01-01T00:00:00+00:00\","
        "\"start_date\":\"2024-01-01T00:00:05+00:00\",\"end_date\":null,\"run_type\":\"scheduled\","
        "\"state\":\"running\",\"external_trigger\":false,\"conf\":{},\"note\":null},"
        "{\"dag_run_id\":\"manual__x\",\"logical_date\":\"2024-01-02T00:00:00+00:00\",\"external_trigger\":true}],"
        "\"total_entries\":250}";
    struct airflow_run_list l = { 0 };
    long long total = 0;
    struct lk_error err = { 0 };
    assert_int_equal(airflow_parse_runs(json, &l, &total, &err), LK_OK);
    assert_int_equal(total, 250);
    assert_int_equal(l.n, 2);
    assert_string_equal(l.items[0].state, "running");
    assert_null(l.items[0].end_date);
    assert_false(l.items[0].external_trigger);
    /* execution_date falls back to logical_date (Airflow 3 has only the latter). */
    assert_string_equal(l.items[1].execution_date, "2024-01-02T00:00:00+00:00");
    assert_true(l.items[1].external_trigger);
    assert_null(l.items[1].state);
    airflow_run_list_free(&l);
}

static void test_task_instances_states(void **state)
{
    (void)state;
    const char *json =
        "{\"task_instances\":[{\"task_id\":\"a\",\"state\":null,\"duration\":null,\"try_number\":0,"
        "\"map_index\":-1},{\"task_id\":\"b\",\"state\":\"none\",\"duration\":12.5,\"try_number\":2,"
        "\"max_tries\":3,\"operator\":\"BashOperator\",\"hostname\":\"w1\"},"
        "{\"task_id\":\"c\",\"state\":\"upstream_failed\",\"dag_run_id\":\"r\",\"dag_id\":\"d\","
        "\"execution_date\":\"2024-01-01T00:00:00+00:00\"}],\"total_entries\":3}";
    struct airflow_ti_list l = { 0 };
    long long total = 0;
    struct lk_error err = { 0 };
    assert_int_equal(airflow_parse_task_instances(json, &l, &total, &err), LK_OK);
    assert_int_equal(l.n, 3);
    assert_null(l.items[0].state);
    assert_true(l.items[0].duration < 0);
    assert_null(l.items[1].state);
    assert_true(l.items[1].duration > 12.4 && l.items[1].duration < 12.6);
    assert_int_equal(l.items[1].try_number, 2);
    assert_string_equal(l.items[1].operator_name, "BashOperator");
    assert_int_equal(l.items[1].map_index, -1);
    assert_string_equal(l.items[2].state, "upstream_failed");

    /* A clear answer (no total) appends to the same list. */
    const char *clear = "{\"task_instances\":[{\"task_id\":\"d\",\"dag_id\":\"x\","
                        "\"execution_date\":\"2024-01-01T00:00:00+00:00\",\"dag_run_id\":\"r\"}]}";
    assert_int_equal(airflow_parse_task_instances(clear, &l, &total, &err), LK_OK);
    assert_int_equal(total, -1);
    assert_int_equal(l.n, 4);
    assert_string_equal(l.items[3].dag_id, "x");
    airflow_ti_list_free(&l);
}

static void test_malformed(void **state)
{
    (void)state;
    struct lk_error err = { 0 };
    struct airflow_ti_list l = { 0 };
    assert_int_equal(airflow_parse_task_instances("{not json", &l, NULL, &err), LK_FAIL);
    assert_non_null(strstr(err.message, "malformed JSON"));
    err_clear(&err);
    assert_int_equal(airflow_parse_task_instances("{\"dags\":[]}", &l, NULL, &err), LK_FAIL);
    assert_non_null(strstr(err.message, "task_instances"));
    err_clear(&err);
    assert_int_equal(airflow_parse_task_instances("[1,2]", &l, NULL, &err), LK_FAIL);
    err_clear(&err);
    assert_int_equal(airflow_parse_task_instances("{\"task_instances\":[{\"state\":\"x\"}]}", &l,
                                                  NULL, &err),
                     LK_FAIL);
    assert_non_null(strstr(err.message, "task_id"));
    assert_int_equal(l.n, 0);
    airflow_ti_list_free(&l);

    struct airflow_run r;
    err_clear(&err);
    assert_int_equal(airflow_parse_run("{\"state\":\"queued\"}", &r, &err), LK_FAIL);
    assert_non_null(strstr(err.message, "dag_run_id"));
    assert_int_equal(airflow_parse_run(NULL, &r, &err), LK_FAIL);
}

static void test_problem_json(void **state)
{
    (void)state;
    struct lk_error err = { 0 };
    const char *notfound =
        "{\"type\":\"https://airflow.apache.org/docs/apache-airflow/2.10.5/stable-rest-api-ref.html"
        "#section/Errors/NotFound\",\"title\":\"DAGRun not found\",\"status\":404,"
        "\"detail\":\"DAGRun with DAG ID: 'x' and DagRun ID: 'y' not found\"}";
    assert_int_equal(airflow_error_from_response(404, notfound, "DAG run y of DAG x", "ops", &err),
                     LK_NOTFOUND);
    assert_int_equal(err.status, LK_NOTFOUND);
    assert_int_equal(err.http_status, 404);
    assert_string_equal(err.remote_code, "DAGRun not found");
    assert_string_equal(err.remote_message, "DAGRun with DAG ID: 'x' and DagRun ID: 'y' not found");
    assert_non_null(strstr(err.message, "DAG run y of DAG x"));

    /* detail null: the title carries the message. */
    err_clear(&err);
    assert_int_equal(airflow_error_from_response(
                         403, "{\"title\":\"Forbidden\",\"status\":403,\"detail\":null}", "DAG d",
                         "viewer", &err),
                     LK_FAIL);
    assert_string_equal(err.remote_code, "Forbidden");
    assert_string_equal(err.remote_message, "");
    assert_non_null(strstr(err.message, "viewer"));
    assert_non_null(strstr(err.message, "permission"));

    /* A Python repr in detail is shown as written, never parsed. */
    err_clear(&err);
    const char *repr = "{\"title\":\"Bad Request\",\"status\":400,"
                       "\"detail\":\"{'include_subdag': ['Unknown field.']}\"}";
    assert_int_equal(airflow_error_from_response(400, repr, "the clear", "ops", &err), LK_FAIL);
    assert_string_equal(err.remote_message, "{'include_subdag': ['Unknown field.']}");

    /* detail as a JSON object (other releases) is kept as compact JSON. */
    err_clear(&err);
    assert_int_equal(airflow_error_from_response(
                         400, "{\"title\":\"Bad Request\",\"detail\":{\"a\":[\"b\"]}}", NULL, "ops",
                         &err),
                     LK_FAIL);
    assert_string_equal(err.remote_message, "{\"a\":[\"b\"]}");

    /* 401: the user is named, the password never is (it is not passed). */
    err_clear(&err);
    assert_int_equal(airflow_error_from_response(
                         401, "{\"title\":\"Unauthorized\",\"status\":401,\"detail\":null}",
                         "DAG d", "ops", &err),
                     LK_FAIL);
    assert_non_null(strstr(err.message, "Airflow refused the credentials for user ops (HTTP 401)"));

    /* A proxy's HTML page. */
    err_clear(&err);
    assert_int_equal(airflow_error_from_response(502, "<html>Bad Gateway</html>", "DAG d", "ops",
                                                 &err),
                     LK_FAIL);
    assert_int_equal(err.http_status, 502);
    assert_string_equal(err.remote_message, "<html>Bad Gateway</html>");
}

static void test_time(void **state)
{
    (void)state;
    long long t = 0;
    assert_true(airflow_parse_time("1970-01-01T00:00:00+00:00", &t));
    assert_int_equal(t, 0);
    assert_true(airflow_parse_time("2024-01-01T00:00:00+00:00", &t));
    assert_int_equal(t, 1704067200LL);
    assert_true(airflow_parse_time("2024-01-01T09:00:00.123456Z", &t));
    assert_int_equal(t, 1704067200LL + 9 * 3600);
    assert_true(airflow_parse_time("2024-01-01T10:00:00+01:00", &t));
    assert_int_equal(t, 1704067200LL + 9 * 3600);
    assert_true(airflow_parse_time("2024-02-29T00:00:00-0530", &t));
    assert_int_equal(t, 1709164800LL + 5 * 3600 + 30 * 60);
    assert_true(airflow_parse_time("2024-03-01", &t));
    assert_int_equal(t, 1709251200LL);
    assert_false(airflow_parse_time(NULL, &t));
    assert_false(airflow_parse_time("", &t));
    assert_false(airflow_parse_time("yesterday", &t));
    assert_false(airflow_parse_time("2024-13-01T00:00:00Z", &t));
    assert_false(airflow_parse_time("2024-01-01T00:00:00Zjunk", &t));
}

static void test_finished_states(void **state)
{
    (void)state;
    assert_true(airflow_state_finished("success"));
    assert_true(airflow_state_finished("failed"));
    assert_true(airflow_state_finished("upstream_failed"));
    assert_true(airflow_state_finished("skipped"));
    assert_false(airflow_state_finished(NULL));
    assert_false(airflow_state_finished("running"));
    assert_false(airflow_state_finished("restarting"));
    assert_false(airflow_state_finished("up_for_retry"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dags),
        cmocka_unit_test(test_tasks_sorted_with_downstream),
        cmocka_unit_test(test_runs),
        cmocka_unit_test(test_task_instances_states),
        cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_problem_json),
        cmocka_unit_test(test_time),
        cmocka_unit_test(test_finished_states),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
