/* The stage tree (upstream by inverting downstream ids, longest-path depth,
 * one row per task with a marker for other parents), the clear body with
 * every field explicit, and the audit parameters. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "stages.h"

static void tasks_from(const char *json, struct airflow_task_list *l)
{
    struct lk_error err = { 0 };
    memset(l, 0, sizeof *l);
    assert_int_equal(airflow_parse_tasks(json, l, &err), LK_OK);
}

/* "depth name [also after: ...]" per row, one line each, with the drawn prefix. */
static char *render(const struct airflow_task_list *tasks, const struct stages_tree *t)
{
    struct buf b = BUF_INIT;
    for (size_t i = 0; i < t->n; i++) {
        stages_row_prefix(t, i, &b);
        buf_puts(&b, tasks->items[t->rows[i].task].task_id);
        struct buf also = BUF_INIT;
        if (stages_row_also_after(tasks, t, i, &also))
            buf_printf(&b, " [also after: %s]", buf_cstr(&also));
        buf_free(&also);
        buf_printf(&b, " (%d)\n", t->rows[i].depth);
    }
    return buf_detach(&b);
}

static void test_tree_pipeline(void **state)
{
    (void)state;
    /* zuora_account fans out; merge waits for both branches; a second root. */
    struct airflow_task_list tasks;
    tasks_from("{\"tasks\":["
               "{\"task_id\":\"merge\",\"downstream_task_ids\":[\"publish\"]},"
               "{\"task_id\":\"zuora_account\",\"downstream_task_ids\":[\"zuora_subscription\",\"zuora_rate_plan\"]},"
               "{\"task_id\":\"zuora_subscription\",\"downstream_task_ids\":[\"merge\"]},"
               "{\"task_id\":\"zuora_rate_plan\",\"downstream_task_ids\":[\"merge\",\"nowhere\"]},"
               "{\"task_id\":\"publish\",\"downstream_task_ids\":[]},"
               "{\"task_id\":\"cleanup\",\"downstream_task_ids\":[]}]}",
               &tasks);
    struct stages_tree t;
    struct lk_error err = { 0 };
    assert_int_equal(stages_tree_build(&tasks, &t, &err), LK_OK);
    assert_int_equal(t.n, 6);
    char *text = render(&tasks, &t);
    assert_string_equal(text,
                        "cleanup (0)\n"
                        "zuora_account (0)\n"
                        "\xe2\x94\x9c\xe2\x94\x80 zuora_rate_plan (1)\n"
                        "\xe2\x94\x82  \xe2\x94\x94\xe2\x94\x80 merge [also after: zuora_subscription] (2)\n"
                        "\xe2\x94\x82     \xe2\x94\x94\xe2\x94\x80 publish (3)\n"
                        "\xe2\x94\x94\xe2\x94\x80 zuora_subscription (1)\n");
    free(text);
    stages_tree_free(&t);
    airflow_task_list_free(&tasks);
}

static void test_tree_longest_path(void **state)
{
    (void)state;
    /* c depends on a directly and through b: drawn under b, at depth 2. */
    struct airflow_task_list tasks;
    tasks_from("{\"tasks\":[{\"task_id\":\"a\",\"downstream_task_ids\":[\"c\",\"b\",\"c\"]},"
               "{\"task_id\":\"b\",\"downstream_task_ids\":[\"c\"]},"
               "{\"task_id\":\"c\",\"downstream_task_ids\":[]}]}",
               &tasks);
    struct stages_tree t;
    struct lk_error err = { 0 };
    assert_int_equal(stages_tree_build(&tasks, &t, &err), LK_OK);
    assert_int_equal(t.n, 3);
    assert_string_equal(tasks.items[t.rows[2].task].task_id, "c");
    assert_int_equal(t.rows[2].depth, 2);
    assert_int_equal(t.rows[2].n_upstream, 2);
    assert_int_equal(t.rows[2].parent_row, 1);
    struct buf also = BUF_INIT;
    assert_int_equal(stages_row_also_after(&tasks, &t, 2, &also), 1);
    assert_string_equal(buf_cstr(&also), "a");
    buf_free(&also);
    stages_tree_free(&t);
    airflow_task_list_free(&tasks);
}

static void test_tree_cycle_and_empty(void **state)
{
    (void)state;
    struct airflow_task_list tasks;
    tasks_from("{\"tasks\":[{\"task_id\":\"root\",\"downstream_task_ids\":[\"x\"]},"
               "{\"task_id\":\"x\",\"downstream_task_ids\":[\"y\"]},"
               "{\"task_id\":\"y\",\"downstream_task_ids\":[\"x\"]}]}",
               &tasks);
    struct stages_tree t;
    struct lk_error err = { 0 };
    assert_int_equal(stages_tree_build(&tasks, &t, &err), LK_FAIL);
    assert_non_null(strstr(err.message, "cycle through x"));
    assert_int_equal(t.n, 0);
    stages_tree_free(&t);
    airflow_task_list_free(&tasks);

    tasks_from("{\"tasks\":[]}", &tasks);
    assert_int_equal(stages_tree_build(&tasks, &t, &err), LK_OK);
    assert_int_equal(t.n, 0);
    stages_tree_free(&t);
    airflow_task_list_free(&tasks);
}

static void test_tree_wide(void **state)
{
    (void)state;
    /* 300 tasks in a chain with a shortcut from the root to each: every task
     * once, depth = position in the chain. */
    struct buf b = BUF_INIT;
    buf_puts(&b, "{\"tasks\":[");
    for (int i = 0; i < 300; i++) {
        buf_printf(&b, "%s{\"task_id\":\"t%03d\",\"downstream_task_ids\":[", i ? "," : "", i);
        if (i < 299)
            buf_printf(&b, "\"t%03d\"", i + 1);
        if (i == 0)
            for (int k = 2; k < 300; k++)
                buf_printf(&b, ",\"t%03d\"", k);
        buf_puts(&b, "]}");
    }
    buf_puts(&b, "]}");
    struct airflow_task_list tasks;
    tasks_from(buf_cstr(&b), &tasks);
    buf_free(&b);
    struct stages_tree t;
    struct lk_error err = { 0 };
    assert_int_equal(stages_tree_build(&tasks, &t, &err), LK_OK);
    assert_int_equal(t.n, 300);
    for (size_t i = 0; i < t.n; i++) {
        assert_int_equal(t.rows[i].task, i);
        assert_int_equal(t.rows[i].depth, (int)i);
        assert_int_equal(t.rows[i].n_upstream, i >= 2 ? 2 : (i == 1 ? 1 : 0));
    }
    stages_tree_free(&t);
    airflow_task_list_free(&tasks);
}

static const char *const FIELDS[] = {
    "dry_run",      "dag_run_id",      "task_ids",     "include_upstream",
    "include_downstream", "include_future", "include_past", "only_failed",
    "only_running", "include_subdags", "include_parentdag", "reset_dag_runs",
};

static void test_body_every_combination(void **state)
{
    (void)state;
    const char *ids[] = { "zuora_account", "zuora_subscription" };
    for (unsigned mask = 0; mask < 256; mask++) {
        struct airflow_clear_opts o = {
            .dag_run_id = "scheduled__2024-01-01T00:00:00+00:00",
            .task_ids = ids,
            .n_task_ids = 1 + (mask & 1),
            .dry_run = mask & 2,
            .include_upstream = mask & 4,
            .include_downstream = mask & 8,
            .include_future = mask & 16,
            .include_past = mask & 32,
            .only_failed = mask & 64,
            .recursive = mask & 128,
            .reset_dag_runs = !(mask & 2),
        };
        char *body = NULL;
        struct lk_error err = { 0 };
        assert_int_equal(stages_clear_body(&o, &body, &err), LK_OK);
        json_error_t jerr;
        json_t *j = json_loads(body, 0, &jerr);
        assert_non_null(j);
        assert_int_equal(json_object_size(j), sizeof FIELDS / sizeof FIELDS[0]);
        for (size_t f = 0; f < sizeof FIELDS / sizeof FIELDS[0]; f++)
            assert_non_null(json_object_get(j, FIELDS[f]));
        assert_int_equal(json_is_true(json_object_get(j, "dry_run")), o.dry_run);
        assert_int_equal(json_is_true(json_object_get(j, "include_upstream")), o.include_upstream);
        assert_int_equal(json_is_true(json_object_get(j, "include_downstream")),
                         o.include_downstream);
        assert_int_equal(json_is_true(json_object_get(j, "include_future")), o.include_future);
        assert_int_equal(json_is_true(json_object_get(j, "include_past")), o.include_past);
        assert_int_equal(json_is_true(json_object_get(j, "only_failed")), o.only_failed);
        assert_true(json_is_false(json_object_get(j, "only_running")));
        assert_int_equal(json_is_true(json_object_get(j, "include_subdags")), o.recursive);
        assert_int_equal(json_is_true(json_object_get(j, "include_parentdag")), o.recursive);
        assert_int_equal(json_is_true(json_object_get(j, "reset_dag_runs")), o.reset_dag_runs);
        assert_string_equal(json_string_value(json_object_get(j, "dag_run_id")), o.dag_run_id);
        json_t *tids = json_object_get(j, "task_ids");
        assert_int_equal(json_array_size(tids), o.n_task_ids);
        assert_string_equal(json_string_value(json_array_get(tids, 0)), "zuora_account");
        json_decref(j);
        free(body);
    }
}

static void test_body_runbook_exact(void **state)
{
    (void)state;
    /* AIRFLOW.md's "clear this task and downstream in this run". */
    const char *ids[] = { "zuora_account" };
    struct airflow_clear_opts o = { .dag_run_id = "scheduled__2024-01-01T00:00:00+00:00",
                                    .task_ids = ids, .n_task_ids = 1, .include_downstream = true,
                                    .recursive = true, .reset_dag_runs = true };
    char *body = NULL;
    struct lk_error err = { 0 };
    assert_int_equal(stages_clear_body(&o, &body, &err), LK_OK);
    assert_string_equal(body,
                        "{\"dry_run\":false,\"dag_run_id\":\"scheduled__2024-01-01T00:00:00+00:00\","
                        "\"task_ids\":[\"zuora_account\"],\"include_upstream\":false,"
                        "\"include_downstream\":true,\"include_future\":false,\"include_past\":false,"
                        "\"only_failed\":false,\"only_running\":false,\"include_subdags\":true,"
                        "\"include_parentdag\":true,\"reset_dag_runs\":true}");
    free(body);
}

static void test_body_refuses_incomplete(void **state)
{
    (void)state;
    const char *ids[] = { "a", "" };
    char *body = (char *)"untouched";
    struct lk_error err = { 0 };
    struct airflow_clear_opts o = { .task_ids = ids, .n_task_ids = 1 };
    assert_int_equal(stages_clear_body(&o, &body, &err), LK_USAGE);
    assert_null(body);
    o.dag_run_id = "r";
    o.n_task_ids = 0;
    assert_int_equal(stages_clear_body(&o, &body, &err), LK_USAGE);
    o.n_task_ids = 2;
    assert_int_equal(stages_clear_body(&o, &body, &err), LK_USAGE);
    assert_null(body);
}

static void test_params_json_and_find(void **state)
{
    (void)state;
    struct airflow_ti_list tis = { 0 };
    struct lk_error err = { 0 };
    assert_int_equal(airflow_parse_task_instances(
                         "{\"task_instances\":[{\"task_id\":\"a\",\"dag_id\":\"d\",\"dag_run_id\":\"r\","
                         "\"state\":\"failed\"},{\"task_id\":\"b\",\"dag_id\":\"d\",\"dag_run_id\":\"r\","
                         "\"state\":null}]}",
                         &tis, NULL, &err),
                     LK_OK);
    assert_string_equal(stages_ti_find(&tis, "a")->state, "failed");
    assert_null(stages_ti_find(&tis, "zz"));
    const char *ids[] = { "a" };
    struct airflow_clear_opts o = { .dag_run_id = "r", .task_ids = ids, .n_task_ids = 1,
                                    .include_downstream = true, .reset_dag_runs = true };
    char *p = stages_clear_params_json("d", &o, &tis);
    json_error_t jerr;
    json_t *j = json_loads(p, 0, &jerr);
    assert_non_null(j);
    assert_string_equal(json_string_value(json_object_get(j, "dag_id")), "d");
    assert_true(json_is_true(json_object_get(j, "include_downstream")));
    json_t *list = json_object_get(j, "task_instances");
    assert_int_equal(json_array_size(list), 2);
    assert_string_equal(json_string_value(json_object_get(json_array_get(list, 0), "state")),
                        "failed");
    assert_true(json_is_null(json_object_get(json_array_get(list, 1), "state")));
    json_decref(j);
    free(p);
    airflow_ti_list_free(&tis);
}

static void add_ti(struct airflow_ti_list *l, const char *dag, const char *run, const char *task,
                   const char *state)
{
    l->items = realloc(l->items, (l->n + 1) * sizeof *l->items);
    struct airflow_ti *ti = &l->items[l->n++];
    memset(ti, 0, sizeof *ti);
    ti->dag_id = strdup(dag);
    ti->dag_run_id = strdup(run);
    ti->task_id = strdup(task);
    ti->state = state ? strdup(state) : NULL;
}

/* A clear with past over six runs of d and one run of another DAG: every
 * run other than the shown one is read in turn, at most max per call, and
 * the follow ends only when every instance has finished. */
static void test_follow_by_dag_run_task(void **unused)
{
    (void)unused;
    struct airflow_ti_list touched = { 0 };
    char run[16];
    for (int i = 1; i <= 6; i++) {
        snprintf(run, sizeof run, "r%d", i);
        add_ti(&touched, "d", run, "a", "failed");
    }
    add_ti(&touched, "d", "r6", "b", "upstream_failed");
    add_ti(&touched, "other", "r6", "x", "success");
    struct stages_follow f = { 0 };
    stages_follow_set(&f, &touched);
    assert_int_equal(f.n, 8);
    assert_int_equal(stages_follow_n_runs(&f), 7);
    /* Unknown until read: the states before the clear do not count. */
    assert_true(stages_follow_live(&f));

    struct stages_run_ref refs[4];
    size_t n = stages_follow_runs(&f, "d", "r6", refs, 4);
    assert_int_equal(n, 4);
    assert_string_equal(refs[0].run_id, "r1");
    assert_string_equal(refs[3].run_id, "r4");
    n = stages_follow_runs(&f, "d", "r6", refs, 4);
    assert_int_equal(n, 4);
    /* In turn: r5, then the other DAG's r6, then round again. */
    assert_string_equal(refs[0].run_id, "r5");
    assert_string_equal(refs[1].dag_id, "other");
    assert_string_equal(refs[2].run_id, "r1");

    struct airflow_ti_list now = { 0 };
    add_ti(&now, "d", "r1", "a", "success");
    for (int i = 1; i <= 5; i++) {
        snprintf(run, sizeof run, "r%d", i);
        free(now.items[0].dag_run_id);
        now.items[0].dag_run_id = strdup(run);
        stages_follow_update(&f, "d", run, &now);
    }
    struct airflow_ti_list shown = { 0 };
    add_ti(&shown, "d", "r6", "a", "success");
    add_ti(&shown, "d", "r6", "b", "running");
    stages_follow_update(&f, "d", "r6", &shown);
    assert_true(stages_follow_live(&f));
    /* Only the runs still unfinished are read: r6 is skipped as shown, so
     * the other DAG's run alone. */
    n = stages_follow_runs(&f, "d", "r6", refs, 4);
    assert_int_equal(n, 1);
    assert_string_equal(refs[0].dag_id, "other");
    /* Gone from its run: removed, finished. */
    struct airflow_ti_list empty = { 0 };
    stages_follow_update(&f, "other", "r6", &empty);
    free(shown.items[1].state);
    shown.items[1].state = strdup("failed");
    stages_follow_update(&f, "d", "r6", &shown);
    assert_false(stages_follow_live(&f));
    size_t ok, failed, other;
    stages_follow_count(&f, &ok, &failed, &other);
    assert_int_equal(ok, 6);
    assert_int_equal(failed, 1);
    assert_int_equal(other, 1);
    assert_int_equal(stages_follow_runs(&f, NULL, NULL, refs, 4), 0);
    stages_follow_free(&f);
    airflow_ti_list_free(&touched);
    airflow_ti_list_free(&now);
    airflow_ti_list_free(&shown);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tree_pipeline),
        cmocka_unit_test(test_tree_longest_path),
        cmocka_unit_test(test_tree_cycle_and_empty),
        cmocka_unit_test(test_tree_wide),
        cmocka_unit_test(test_body_every_combination),
        cmocka_unit_test(test_body_runbook_exact),
        cmocka_unit_test(test_body_refuses_incomplete),
        cmocka_unit_test(test_params_json_and_find),
        cmocka_unit_test(test_follow_by_dag_run_task),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
