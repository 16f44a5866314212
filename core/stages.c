/* The pure half of stages.h: the task tree, the clear body, the audit
 * parameters.  No network here (stages_clear.c talks to Airflow). */
#include "stages.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "mem.h"

/* Task indices sorted by task_id, for lookups by name. */
struct name_index {
    const struct airflow_task_list *tasks;
    size_t *order;
};

/* Insertion sort by task_id (qsort has no user pointer in C11).  Lists are
 * short (a task's parents or children; a DAG's tasks number in the hundreds). */
static void sort_by_id(const struct airflow_task_list *tasks, size_t *idx, size_t n)
{
    for (size_t i = 1; i < n; i++) {
        size_t v = idx[i];
        size_t j = i;
        while (j > 0) {
            const char *a = tasks->items[idx[j - 1]].task_id, *b = tasks->items[v].task_id;
            int c = strcmp(a, b);
            if (c < 0 || (c == 0 && idx[j - 1] < v))
                break;
            idx[j] = idx[j - 1];
            j--;
        }
        idx[j] = v;
    }
}

static size_t find_task(const struct name_index *ni, const char *id)
{
    size_t lo = 0, hi = ni->tasks->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(ni->tasks->items[ni->order[mid]].task_id, id);
        if (c == 0)
            return ni->order[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return STAGES_NO_PARENT;
}

struct node {
    size_t *up;
    size_t n_up;
    size_t *children;
    size_t n_children;
    int depth;
    size_t parent;       /* task index or STAGES_NO_PARENT */
};

static void add_unique(size_t **list, size_t *n, size_t v)
{
    for (size_t i = 0; i < *n; i++)
        if ((*list)[i] == v)
            return;
    *list = xrealloc(*list, (*n + 1) * sizeof **list);
    (*list)[(*n)++] = v;
}

static void emit(const struct airflow_task_list *tasks, struct node *nodes, size_t task,
                 size_t parent_row, bool last, struct stages_tree *out)
{
    /* An explicit stack keeps a very deep DAG from exhausting the C stack. */
    struct frame { size_t task, parent_row; bool last; };
    struct frame *stack = xmalloc((tasks->n + 1) * sizeof *stack);
    size_t top = 0;
    stack[top++] = (struct frame){ task, parent_row, last };
    while (top) {
        struct frame f = stack[--top];
        struct stages_row *r = &out->rows[out->n];
        size_t row = out->n++;
        struct node *nd = &nodes[f.task];
        r->task = f.task;
        r->depth = nd->depth;
        r->parent_row = f.parent_row;
        r->last_sibling = f.last;
        r->n_upstream = nd->n_up;
        r->upstream = xmalloc((nd->n_up + 1) * sizeof *r->upstream);
        if (nd->n_up)
            memcpy(r->upstream, nd->up, nd->n_up * sizeof *nd->up);
        /* Pushed in reverse so that children come out by task_id. */
        for (size_t i = nd->n_children; i-- > 0;)
            stack[top++] = (struct frame){ nd->children[i], row, i + 1 == nd->n_children };
    }
    free(stack);
}

enum lk_status stages_tree_build(const struct airflow_task_list *tasks, struct stages_tree *out,
                                 struct lk_error *err)
{
    memset(out, 0, sizeof *out);
    size_t n = tasks->n;
    struct name_index ni = { tasks, xmalloc((n + 1) * sizeof(size_t)) };
    for (size_t i = 0; i < n; i++)
        ni.order[i] = i;
    sort_by_id(tasks, ni.order, n);

    struct node *nodes = xcalloc(n + 1, sizeof *nodes);
    for (size_t i = 0; i < n; i++) {
        const struct airflow_task *t = &tasks->items[i];
        for (size_t k = 0; k < t->n_downstream; k++) {
            size_t j = find_task(&ni, t->downstream[k]);
            if (j != STAGES_NO_PARENT)
                add_unique(&nodes[j].up, &nodes[j].n_up, i);
        }
    }
    for (size_t i = 0; i < n; i++)
        sort_by_id(tasks, nodes[i].up, nodes[i].n_up);

    /* Longest-path depth in topological order (Kahn); what is left over
     * sits on a cycle. */
    size_t *indeg = xcalloc(n + 1, sizeof *indeg);
    size_t *queue = xmalloc((n + 1) * sizeof *queue);
    size_t head = 0, tail = 0;
    for (size_t i = 0; i < n; i++) {
        indeg[i] = nodes[i].n_up;
        nodes[i].parent = STAGES_NO_PARENT;
    }
    for (size_t k = 0; k < n; k++)
        if (indeg[ni.order[k]] == 0)
            queue[tail++] = ni.order[k];
    while (head < tail) {
        size_t i = queue[head++];
        const struct airflow_task *t = &tasks->items[i];
        for (size_t k = 0; k < t->n_downstream; k++) {
            size_t j = find_task(&ni, t->downstream[k]);
            if (j == STAGES_NO_PARENT)
                continue;
            /* Duplicated downstream ids were counted once in up[]. */
            bool seen = false;
            for (size_t m = 0; m < k; m++)
                if (strcmp(t->downstream[m], t->downstream[k]) == 0)
                    seen = true;
            if (seen)
                continue;
            if (nodes[i].depth + 1 > nodes[j].depth)
                nodes[j].depth = nodes[i].depth + 1;
            if (--indeg[j] == 0)
                queue[tail++] = j;
        }
    }
    enum lk_status st = LK_OK;
    if (tail < n) {
        for (size_t k = 0; k < n; k++)
            if (indeg[ni.order[k]] != 0) {
                st = err_set(err, LK_FAIL,
                             "the DAG's tasks form a cycle through %s: Airflow should not "
                             "have accepted it",
                             tasks->items[ni.order[k]].task_id);
                break;
            }
    }

    if (st == LK_OK) {
        /* Drawn under the deepest parent (the first by task_id on a tie). */
        for (size_t j = 0; j < n; j++) {
            struct node *nd = &nodes[j];
            for (size_t k = 0; k < nd->n_up; k++)
                if (nd->parent == STAGES_NO_PARENT ||
                    nodes[nd->up[k]].depth > nodes[nd->parent].depth)
                    nd->parent = nd->up[k];
            if (nd->parent != STAGES_NO_PARENT)
                add_unique(&nodes[nd->parent].children, &nodes[nd->parent].n_children, j);
        }
        for (size_t i = 0; i < n; i++)
            sort_by_id(tasks, nodes[i].children, nodes[i].n_children);

        out->rows = xcalloc(n + 1, sizeof *out->rows);
        size_t n_roots = 0;
        for (size_t k = 0; k < n; k++)
            if (nodes[ni.order[k]].n_up == 0)
                n_roots++;
        size_t seen_roots = 0;
        for (size_t k = 0; k < n; k++) {
            size_t i = ni.order[k];
            if (nodes[i].n_up != 0)
                continue;
            seen_roots++;
            emit(tasks, nodes, i, STAGES_NO_PARENT, seen_roots == n_roots, out);
        }
    }

    for (size_t i = 0; i < n; i++) {
        free(nodes[i].up);
        free(nodes[i].children);
    }
    free(nodes);
    free(indeg);
    free(queue);
    free(ni.order);
    return st;
}

void stages_tree_free(struct stages_tree *t)
{
    if (!t)
        return;
    for (size_t i = 0; i < t->n; i++)
        free(t->rows[i].upstream);
    free(t->rows);
    memset(t, 0, sizeof *t);
}

void stages_row_prefix(const struct stages_tree *t, size_t row, struct buf *out)
{
    const struct stages_row *r = &t->rows[row];
    if (r->parent_row == STAGES_NO_PARENT)
        return;
    /* Walk up to the root, noting for each ancestor below the root whether
     * more siblings follow it (then its column carries a bar). */
    size_t depth = 0;
    for (size_t p = r->parent_row; t->rows[p].parent_row != STAGES_NO_PARENT;
         p = t->rows[p].parent_row)
        depth++;
    bool *bars = xcalloc(depth + 1, sizeof *bars);
    size_t i = depth;
    for (size_t p = r->parent_row; t->rows[p].parent_row != STAGES_NO_PARENT;
         p = t->rows[p].parent_row)
        bars[--i] = !t->rows[p].last_sibling;
    for (i = 0; i < depth; i++)
        buf_puts(out, bars[i] ? "\xe2\x94\x82  " : "   ");          /* "│  " */
    buf_puts(out, r->last_sibling ? "\xe2\x94\x94\xe2\x94\x80 "       /* "└─ " */
                                  : "\xe2\x94\x9c\xe2\x94\x80 ");     /* "├─ " */
    free(bars);
}

size_t stages_row_also_after(const struct airflow_task_list *tasks, const struct stages_tree *t,
                             size_t row, struct buf *out)
{
    const struct stages_row *r = &t->rows[row];
    size_t drawn_under = r->parent_row == STAGES_NO_PARENT ? STAGES_NO_PARENT
                                                           : t->rows[r->parent_row].task;
    size_t count = 0;
    for (size_t k = 0; k < r->n_upstream; k++) {
        if (r->upstream[k] == drawn_under)
            continue;
        if (count++)
            buf_puts(out, ", ");
        buf_puts(out, tasks->items[r->upstream[k]].task_id);
    }
    return count;
}

const struct airflow_ti *stages_ti_find(const struct airflow_ti_list *tis, const char *task_id)
{
    for (size_t i = 0; tis && i < tis->n; i++)
        if (strcmp(tis->items[i].task_id, task_id) == 0)
            return &tis->items[i];
    return NULL;
}

enum lk_status stages_clear_body(const struct airflow_clear_opts *opts, char **out,
                                 struct lk_error *err)
{
    *out = NULL;
    if (!opts->dag_run_id || !opts->dag_run_id[0])
        return err_set(err, LK_USAGE, "a clear needs the DAG run it applies to");
    if (opts->n_task_ids == 0)
        return err_set(err, LK_USAGE, "a clear needs at least one task id");
    json_t *ids = json_array();
    for (size_t i = 0; i < opts->n_task_ids; i++) {
        if (!opts->task_ids[i] || !opts->task_ids[i][0]) {
            json_decref(ids);
            return err_set(err, LK_USAGE, "a clear's task ids must not be empty");
        }
        json_array_append_new(ids, json_string(opts->task_ids[i]));
    }
    json_t *body = json_object();
    json_object_set_new(body, "dry_run", json_boolean(opts->dry_run));
    json_object_set_new(body, "dag_run_id", json_string(opts->dag_run_id));
    json_object_set_new(body, "task_ids", ids);
    json_object_set_new(body, "include_upstream", json_boolean(opts->include_upstream));
    json_object_set_new(body, "include_downstream", json_boolean(opts->include_downstream));
    json_object_set_new(body, "include_future", json_boolean(opts->include_future));
    json_object_set_new(body, "include_past", json_boolean(opts->include_past));
    json_object_set_new(body, "only_failed", json_boolean(opts->only_failed));
    json_object_set_new(body, "only_running", json_false());
    json_object_set_new(body, "include_subdags", json_boolean(opts->recursive));
    json_object_set_new(body, "include_parentdag", json_boolean(opts->recursive));
    json_object_set_new(body, "reset_dag_runs", json_boolean(opts->reset_dag_runs));
    char *text = json_dumps(body, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(body);
    *out = xstrdup(text);
    free(text);
    return LK_OK;
}

static json_t *str_or_null(const char *s)
{
    return s ? json_string(s) : json_null();
}

json_t *stages_touched_json(const struct airflow_ti_list *touched)
{
    json_t *list = json_array();
    for (size_t i = 0; touched && i < touched->n; i++) {
        const struct airflow_ti *ti = &touched->items[i];
        json_t *e = json_object();
        json_object_set_new(e, "dag_id", str_or_null(ti->dag_id));
        json_object_set_new(e, "task_id", str_or_null(ti->task_id));
        json_object_set_new(e, "dag_run_id", str_or_null(ti->dag_run_id));
        json_object_set_new(e, "state", str_or_null(ti->state));
        json_array_append_new(list, e);
    }
    return list;
}

char *stages_clear_params_json(const char *dag_id, const struct airflow_clear_opts *opts,
                               const struct airflow_ti_list *touched)
{
    json_t *o = json_object();
    json_object_set_new(o, "dag_id", str_or_null(dag_id));
    json_object_set_new(o, "dag_run_id", str_or_null(opts->dag_run_id));
    json_t *ids = json_array();
    for (size_t i = 0; i < opts->n_task_ids; i++)
        json_array_append_new(ids, str_or_null(opts->task_ids[i]));
    json_object_set_new(o, "task_ids", ids);
    json_object_set_new(o, "dry_run", json_boolean(opts->dry_run));
    json_object_set_new(o, "include_upstream", json_boolean(opts->include_upstream));
    json_object_set_new(o, "include_downstream", json_boolean(opts->include_downstream));
    json_object_set_new(o, "include_future", json_boolean(opts->include_future));
    json_object_set_new(o, "include_past", json_boolean(opts->include_past));
    json_object_set_new(o, "only_failed", json_boolean(opts->only_failed));
    json_object_set_new(o, "recursive", json_boolean(opts->recursive));
    json_object_set_new(o, "reset_dag_runs", json_boolean(opts->reset_dag_runs));
    json_object_set_new(o, "task_instances", stages_touched_json(touched));
    char *text = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(o);
    char *out = xstrdup(text ? text : "{}");
    free(text);
    return out;
}

/* Failed stages of the latest run, for the Overview.  The filter keeps the
 * states that need an operator: a task that failed, and the tasks that did
 * not run because of it (the runbook clears the first with downstream). */
enum lk_status stages_failed_latest(struct lk_ctx *ctx, const char *dag_id,
                                    struct airflow_ti_list *out, struct lk_error *err)
{
    out->items = NULL;
    out->n = 0;
    struct airflow_run run;
    enum lk_status st = airflow_latest_run(ctx, dag_id, &run, err);
    if (st == LK_NOTFOUND && err->http_status == 0) {
        /* No runs yet (an unknown DAG is the server's 404 and stays one). */
        err_clear(err);
        return LK_OK;
    }
    if (st != LK_OK)
        return st;
    struct airflow_ti_list all;
    st = airflow_list_task_instances(ctx, dag_id, run.dag_run_id, &all, err);
    airflow_run_free(&run);
    if (st != LK_OK)
        return st;
    size_t kept = 0;
    for (size_t i = 0; i < all.n; i++) {
        const char *s = all.items[i].state;
        if (s && (strcmp(s, "failed") == 0 || strcmp(s, "upstream_failed") == 0))
            all.items[kept++] = all.items[i];
        else
            airflow_ti_free(&all.items[i]);
    }
    all.n = kept;
    *out = all;
    return LK_OK;
}
