/* Stages: a DAG's tasks as a tree, and the clear operation an operator runs
 * on it ("re-run this stage and what follows"), built on airflow.h.
 *
 * The tree: Airflow lists only downstream ids, so upstream is built by
 * inverting them.  Each task sits at the depth of its longest path from a
 * root (so it always comes after every task it depends on) and appears
 * exactly once, under its deepest parent; a task with several parents
 * carries the others as a marker ("also after: a, b").
 *
 * The clear: a dry run always comes first (it lists the task instances that
 * will re-run; their states come from the runs' task instances), then, once
 * the operator confirmed, the real clear with reset_dag_runs so that
 * finished runs run again. */
#ifndef LAKEOP_STAGES_H
#define LAKEOP_STAGES_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "airflow.h"
#include "buf.h"
#include "ctx.h"
#include "err.h"

#define STAGES_NO_PARENT ((size_t)-1)

struct stages_row {
    size_t task;            /* index into the task list */
    int depth;              /* 0 for a task nothing runs before */
    size_t parent_row;      /* the row it is drawn under; STAGES_NO_PARENT for a root */
    size_t *upstream;       /* every direct upstream task (indices into the task list), by task_id */
    size_t n_upstream;
    bool last_sibling;      /* the last child of its parent (for drawing branches) */
};

struct stages_tree {
    struct stages_row *rows;    /* in display order: depth-first, children by task_id */
    size_t n;
};

/* Builds the tree of tasks (which must outlive it: rows hold indices).
 * Downstream ids naming no listed task are ignored.  A cycle (not a DAG) is
 * LK_FAIL naming a task on it. */
enum lk_status stages_tree_build(const struct airflow_task_list *tasks, struct stages_tree *out,
                                 struct lk_error *err);
void stages_tree_free(struct stages_tree *t);

/* Appends the branch drawing in front of a row's name ("│  ├─ ", "└─ ";
 * nothing for a root). */
void stages_row_prefix(const struct stages_tree *t, size_t row, struct buf *out);

/* Appends the ids of the row's upstream tasks other than the one it is drawn
 * under, comma-separated; returns how many (0: the row needs no marker). */
size_t stages_row_also_after(const struct airflow_task_list *tasks, const struct stages_tree *t,
                             size_t row, struct buf *out);

/* The first instance of task_id in a list (any map index); NULL if none. */
const struct airflow_ti *stages_ti_find(const struct airflow_ti_list *tis, const char *task_id);

/* The body of POST clearTaskInstances, every field written explicitly
 * (dry_run, dag_run_id, task_ids, include_upstream, include_downstream,
 * include_future, include_past, only_failed, only_running = false,
 * include_subdags and include_parentdag = recursive, reset_dag_runs), so
 * that no server default ever decides.  start_date/end_date are left out:
 * the server rejects them beside dag_run_id.  LK_USAGE when dag_run_id or
 * task_ids is missing.  *out is owned by the caller. */
enum lk_status stages_clear_body(const struct airflow_clear_opts *opts, char **out,
                                 struct lk_error *err);

/* The task instances an operation touched, for its audit record: a JSON
 * array of {"dag_id","task_id","dag_run_id","state"} (empty for NULL).  The
 * caller owns the reference. */
json_t *stages_touched_json(const struct airflow_ti_list *touched);

/* The audit parameters of a clear: the DAG, the options and the task
 * instances touched (stages_touched_json: the dry run's list, whose states
 * are the ones before the clear; the server's answer has none), as a JSON
 * object.  touched may be NULL.  Caller frees. */
char *stages_clear_params_json(const char *dag_id, const struct airflow_clear_opts *opts,
                               const struct airflow_ti_list *touched);

/* The run to act on: run_id when given (LK_NOTFOUND when the DAG has no such
 * run), else the latest by execution date. */
enum lk_status stages_resolve_run(struct lk_ctx *ctx, const char *dag_id, const char *run_id,
                                  struct airflow_run *out, struct lk_error *err);

/* The dry run (opts->dry_run is ignored: always true here), with each listed
 * instance's current state filled from its run's task instances (runs of
 * other DAGs too, when recursive reached them).  Changes nothing. */
enum lk_status stages_clear_preview(struct lk_ctx *ctx, const char *dag_id,
                                    const struct airflow_clear_opts *opts,
                                    struct airflow_ti_list *out, struct lk_error *err);

/* The real clear (dry_run false, reset_dag_runs true, whatever opts says).
 * out receives the instances the server listed; when it listed none (some
 * releases do), a copy of preview, and *from_preview (may be NULL) is set. */
enum lk_status stages_clear_apply(struct lk_ctx *ctx, const char *dag_id,
                                  const struct airflow_clear_opts *opts,
                                  const struct airflow_ti_list *preview,
                                  struct airflow_ti_list *out, bool *from_preview,
                                  struct lk_error *err);

/* Following the instances a clear touched until they finish, by (DAG, run,
 * task): with past, future or recursive they sit in other runs and DAGs
 * than the one shown (stages_follow.c).  A state is unknown until a read
 * of its run reported it; an instance its run no longer lists counts as
 * removed. */
struct stages_follow_ti {
    char *dag_id, *run_id, *task_id;
    char *state;                /* NULL: no state (or not read yet) */
    bool known;                 /* a read of its run reported it */
};

struct stages_follow {
    struct stages_follow_ti *items;
    size_t n;
    size_t next;                /* round robin over the runs to read */
};

struct stages_run_ref {
    const char *dag_id, *run_id;  /* borrowed from the follow */
};

/* Replaces what *f follows with the touched instances (all unknown). */
void stages_follow_set(struct stages_follow *f, const struct airflow_ti_list *touched);
void stages_follow_free(struct stages_follow *f);
/* Up to max distinct (DAG, run) pairs still holding an unfinished instance,
 * other than (skip_dag, skip_run) (the run read anyway; either may be NULL),
 * taking turns from one call to the next so that every run is read within
 * a bounded number of calls.  Returns how many; out borrows from f. */
size_t stages_follow_runs(struct stages_follow *f, const char *skip_dag, const char *skip_run,
                          struct stages_run_ref *out, size_t max);
/* A read of (dag_id, run_id)'s task instances: the states of f's instances
 * in that run. */
void stages_follow_update(struct stages_follow *f, const char *dag_id, const char *run_id,
                          const struct airflow_ti_list *tis);
/* Some followed instance may still change. */
bool stages_follow_live(const struct stages_follow *f);
/* How many distinct runs the followed instances are in. */
size_t stages_follow_n_runs(const struct stages_follow *f);
/* The followed instances by outcome: success, failed or upstream_failed, other. */
void stages_follow_count(const struct stages_follow *f, size_t *ok, size_t *failed, size_t *other);

/* The failed and upstream_failed task instances of the DAG's latest run
 * (by execution date), sorted by task_id; an empty list when the DAG never
 * ran.  For the Overview's "failed stages of the latest run".  out is owned
 * by the caller (airflow_ti_list_free). */
enum lk_status stages_failed_latest(struct lk_ctx *ctx, const char *dag_id,
                                    struct airflow_ti_list *out, struct lk_error *err);

#endif
