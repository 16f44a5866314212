/* The clear operation of stages.h against Airflow: the run to act on, the
 * dry run with current states, and the real clear. */
#include "stages.h"

#include <stdlib.h>
#include <string.h>

#include "mem.h"

enum lk_status stages_resolve_run(struct lk_ctx *ctx, const char *dag_id, const char *run_id,
                                  struct airflow_run *out, struct lk_error *err)
{
    if (!run_id)
        return airflow_latest_run(ctx, dag_id, out, err);
    return airflow_get_run(ctx, dag_id, run_id, out, err);
}

static bool same(const char *a, const char *b)
{
    return a && b ? strcmp(a, b) == 0 : a == b;
}

/* Fills the state of every instance of (dag_id, run_id) in list from one
 * read of that run's task instances. */
static enum lk_status fill_states(struct lk_ctx *ctx, struct airflow_ti_list *list,
                                  const char *dag_id, const char *run_id, struct lk_error *err)
{
    struct airflow_ti_list current;
    enum lk_status st = airflow_list_task_instances(ctx, dag_id, run_id, &current, err);
    if (st != LK_OK)
        return st;
    for (size_t i = 0; i < list->n; i++) {
        struct airflow_ti *ti = &list->items[i];
        if (!same(ti->dag_id, dag_id) || !same(ti->dag_run_id, run_id))
            continue;
        const struct airflow_ti *now = stages_ti_find(&current, ti->task_id);
        if (!now)
            continue;
        free(ti->state);
        ti->state = xstrdup(now->state);
        ti->try_number = now->try_number;
        ti->max_tries = now->max_tries;
        if (!ti->start_date)
            ti->start_date = xstrdup(now->start_date);
        if (!ti->end_date)
            ti->end_date = xstrdup(now->end_date);
    }
    airflow_ti_list_free(&current);
    return LK_OK;
}

enum lk_status stages_clear_preview(struct lk_ctx *ctx, const char *dag_id,
                                    const struct airflow_clear_opts *opts,
                                    struct airflow_ti_list *out, struct lk_error *err)
{
    struct airflow_clear_opts dry = *opts;
    dry.dry_run = true;
    enum lk_status st = airflow_clear(ctx, dag_id, &dry, out, err);
    if (st != LK_OK)
        return st;
    /* The clear response carries no state: read each (DAG, run) touched
     * once.  Instances without a dag_id or run belong to the one asked. */
    for (size_t i = 0; i < out->n; i++) {
        struct airflow_ti *ti = &out->items[i];
        if (!ti->dag_id)
            ti->dag_id = xstrdup(dag_id);
        if (!ti->dag_run_id)
            ti->dag_run_id = xstrdup(opts->dag_run_id);
    }
    for (size_t i = 0; i < out->n && st == LK_OK; i++) {
        const struct airflow_ti *ti = &out->items[i];
        bool done = false;
        for (size_t k = 0; k < i && !done; k++)
            done = same(out->items[k].dag_id, ti->dag_id) &&
                   same(out->items[k].dag_run_id, ti->dag_run_id);
        if (!done)
            st = fill_states(ctx, out, ti->dag_id, ti->dag_run_id, err);
    }
    if (st != LK_OK) {
        err_prefix(err, "reading the states of the task instances the clear would touch");
        airflow_ti_list_free(out);
    }
    return st;
}

static void copy_ti(struct airflow_ti *dst, const struct airflow_ti *src)
{
    *dst = *src;
    dst->task_id = xstrdup(src->task_id);
    dst->dag_id = xstrdup(src->dag_id);
    dst->dag_run_id = xstrdup(src->dag_run_id);
    dst->execution_date = xstrdup(src->execution_date);
    dst->start_date = xstrdup(src->start_date);
    dst->end_date = xstrdup(src->end_date);
    dst->state = xstrdup(src->state);
    dst->hostname = xstrdup(src->hostname);
    dst->operator_name = xstrdup(src->operator_name);
    dst->queued_when = xstrdup(src->queued_when);
}

enum lk_status stages_clear_apply(struct lk_ctx *ctx, const char *dag_id,
                                  const struct airflow_clear_opts *opts,
                                  const struct airflow_ti_list *preview,
                                  struct airflow_ti_list *out, bool *from_preview,
                                  struct lk_error *err)
{
    if (from_preview)
        *from_preview = false;
    struct airflow_clear_opts real = *opts;
    real.dry_run = false;
    /* Without it a finished run keeps its state and nothing re-runs. */
    real.reset_dag_runs = true;
    enum lk_status st = airflow_clear(ctx, dag_id, &real, out, err);
    if (st != LK_OK)
        return st;
    if (out->n == 0 && preview && preview->n) {
        airflow_ti_list_free(out);
        out->items = xcalloc(preview->n + 1, sizeof *out->items);
        for (size_t i = 0; i < preview->n; i++)
            copy_ti(&out->items[i], &preview->items[i]);
        out->n = preview->n;
        if (from_preview)
            *from_preview = true;
    }
    return LK_OK;
}
