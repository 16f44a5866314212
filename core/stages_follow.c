/* The instances a clear touched, followed by (DAG, run, task) until they
 * finish (stages.h).  Pure bookkeeping: the caller reads the runs. */
#include "stages.h"

#include <stdlib.h>
#include <string.h>

#include "mem.h"

static bool same(const char *a, const char *b)
{
    return a && b ? strcmp(a, b) == 0 : a == b;
}

void stages_follow_free(struct stages_follow *f)
{
    for (size_t i = 0; i < f->n; i++) {
        free(f->items[i].dag_id);
        free(f->items[i].run_id);
        free(f->items[i].task_id);
        free(f->items[i].state);
    }
    free(f->items);
    memset(f, 0, sizeof *f);
}

void stages_follow_set(struct stages_follow *f, const struct airflow_ti_list *touched)
{
    stages_follow_free(f);
    f->items = xcalloc(touched->n ? touched->n : 1, sizeof *f->items);
    for (size_t i = 0; i < touched->n; i++) {
        const struct airflow_ti *ti = &touched->items[i];
        if (!ti->dag_id || !ti->dag_run_id || !ti->task_id)
            continue;
        struct stages_follow_ti *e = &f->items[f->n++];
        e->dag_id = xstrdup(ti->dag_id);
        e->run_id = xstrdup(ti->dag_run_id);
        e->task_id = xstrdup(ti->task_id);
    }
}

static bool unfinished(const struct stages_follow_ti *e)
{
    return !e->known || !airflow_state_finished(e->state);
}

/* Whether item i is the first of its run among the items. */
static bool first_of_run(const struct stages_follow *f, size_t i)
{
    for (size_t k = 0; k < i; k++)
        if (same(f->items[k].dag_id, f->items[i].dag_id) && same(f->items[k].run_id, f->items[i].run_id))
            return false;
    return true;
}

static bool run_unfinished(const struct stages_follow *f, const char *dag_id, const char *run_id)
{
    for (size_t i = 0; i < f->n; i++)
        if (same(f->items[i].dag_id, dag_id) && same(f->items[i].run_id, run_id) && unfinished(&f->items[i]))
            return true;
    return false;
}

size_t stages_follow_runs(struct stages_follow *f, const char *skip_dag, const char *skip_run,
                          struct stages_run_ref *out, size_t max)
{
    /* The candidates, in the order of their first instance. */
    size_t n_cand = 0;
    size_t *cand = xcalloc(f->n ? f->n : 1, sizeof *cand);
    for (size_t i = 0; i < f->n; i++) {
        const struct stages_follow_ti *e = &f->items[i];
        if (first_of_run(f, i) && !(same(e->dag_id, skip_dag) && same(e->run_id, skip_run)) &&
            run_unfinished(f, e->dag_id, e->run_id))
            cand[n_cand++] = i;
    }
    size_t n = 0;
    for (size_t k = 0; k < n_cand && n < max; k++) {
        const struct stages_follow_ti *e = &f->items[cand[(f->next + k) % n_cand]];
        out[n].dag_id = e->dag_id;
        out[n].run_id = e->run_id;
        n++;
    }
    if (n_cand)
        f->next = (f->next + n) % n_cand;
    free(cand);
    return n;
}

void stages_follow_update(struct stages_follow *f, const char *dag_id, const char *run_id,
                          const struct airflow_ti_list *tis)
{
    for (size_t i = 0; i < f->n; i++) {
        struct stages_follow_ti *e = &f->items[i];
        if (!same(e->dag_id, dag_id) || !same(e->run_id, run_id))
            continue;
        const struct airflow_ti *ti = stages_ti_find(tis, e->task_id);
        free(e->state);
        /* Gone from its run: it will not run again. */
        e->state = xstrdup(ti ? ti->state : "removed");
        e->known = true;
    }
}

bool stages_follow_live(const struct stages_follow *f)
{
    for (size_t i = 0; i < f->n; i++)
        if (unfinished(&f->items[i]))
            return true;
    return false;
}

size_t stages_follow_n_runs(const struct stages_follow *f)
{
    size_t n = 0;
    for (size_t i = 0; i < f->n; i++)
        n += first_of_run(f, i);
    return n;
}

void stages_follow_count(const struct stages_follow *f, size_t *ok, size_t *failed, size_t *other)
{
    *ok = *failed = *other = 0;
    for (size_t i = 0; i < f->n; i++) {
        const char *s = f->items[i].state;
        if (s && !strcmp(s, "success"))
            (*ok)++;
        else if (s && (!strcmp(s, "failed") || !strcmp(s, "upstream_failed")))
            (*failed)++;
        else
            (*other)++;
    }
}
