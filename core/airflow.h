/* The Airflow 2.x stable REST API client (/api/v1), as AIRFLOW.md describes.
 *
 * Every call borrows an lk_ctx: the environment's airflow.url, airflow.user
 * and airflow.password (basic auth; the password is registered as a secret
 * with the HTTP layer and never appears in a message), and its http client.
 * dag_id, dag_run_id and task_id are percent-encoded in paths (run ids
 * carry ':' and '+').
 *
 * Errors: the server's Problem JSON lands in the error record as the server
 * wrote it (remote_code = title, remote_message = detail, which may be a
 * Python repr and is never parsed), http_status set.  401 names the user,
 * 403 the missing permission, 404 returns LK_NOTFOUND naming what was not
 * found; anything else from the server is LK_FAIL.
 *
 * Lists are read whole, page by page (limit 100, offset) until
 * total_entries, because the server silently cuts a larger limit.
 *
 * Task-instance state: the JSON null and the deprecated string "none" both
 * become state == NULL ("no state"). */
#ifndef LAKEOP_AIRFLOW_H
#define LAKEOP_AIRFLOW_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"
#include "ctx.h"
#include "err.h"

struct airflow_dag {
    char *dag_id;
    char *description;          /* may be NULL */
    char *schedule;             /* schedule_interval as text (cron or timedelta); may be NULL */
    char *next_dagrun;          /* ISO 8601; may be NULL */
    bool is_paused;
    bool is_active;
};

struct airflow_dag_list {
    struct airflow_dag *items;
    size_t n;
};

struct airflow_task {
    char *task_id;
    char *operator_name;        /* may be NULL */
    char *trigger_rule;         /* may be NULL */
    char *owner;                /* may be NULL */
    char **downstream;          /* direct downstream task ids, as the server lists them */
    size_t n_downstream;
    int retries;
};

struct airflow_task_list {
    struct airflow_task *items;
    size_t n;
};

struct airflow_run {
    char *dag_run_id;
    char *dag_id;
    char *logical_date;         /* ISO 8601; any of these may be NULL */
    char *execution_date;
    char *start_date;
    char *end_date;
    char *run_type;             /* scheduled, manual, backfill, dataset_triggered */
    char *state;                /* queued, running, success, failed; NULL when absent */
    char *note;
    bool external_trigger;
};

struct airflow_run_list {
    struct airflow_run *items;  /* newest first (order_by=-execution_date) */
    size_t n;
};

struct airflow_ti {
    char *task_id;
    char *dag_id;
    char *dag_run_id;
    char *execution_date;
    char *start_date;           /* may be NULL */
    char *end_date;             /* may be NULL */
    char *state;                /* NULL: no state (JSON null or "none") */
    char *hostname;
    char *operator_name;        /* the "operator" field */
    char *queued_when;
    double duration;            /* seconds; -1 when null */
    int try_number;
    int max_tries;
    int map_index;              /* -1: not mapped */
};

struct airflow_ti_list {
    struct airflow_ti *items;
    size_t n;
};

/* The options of clearTaskInstances.  Every one of them is written into the
 * request body explicitly (stages_clear_body in stages.h), because the
 * server's defaults (dry_run true, only_failed true, every run) are not
 * what an operator means. */
struct airflow_clear_opts {
    const char *dag_run_id;            /* required: lakeop always clears one run */
    const char *const *task_ids;       /* at least one */
    size_t n_task_ids;
    bool dry_run;
    bool include_upstream;
    bool include_downstream;
    bool include_future;
    bool include_past;
    bool only_failed;
    bool recursive;                    /* include_subdags and include_parentdag */
    bool reset_dag_runs;
};

/* The server's version (GET /api/v1/version, or, when the server has no such
 * endpoint, GET /api/v1/dags?limit=1 which leaves version ""); proves the
 * URL and the credentials. */
enum lk_status airflow_ping(struct lk_ctx *ctx, char *version, size_t version_size,
                            struct lk_error *err);

/* The newest end_date (unix seconds) of a successful instance of task_id in
 * any run of dag_id, looking at the newest runs first; 0 when it never
 * succeeded.  Used by the export safety check ("has the lake ingested the
 * last increment?"). */
enum lk_status airflow_task_last_success(struct lk_ctx *ctx, const char *dag_id,
                                         const char *task_id, long long *when_unix_out,
                                         struct lk_error *err);

enum lk_status airflow_list_dags(struct lk_ctx *ctx, struct airflow_dag_list *out,
                                 struct lk_error *err);
enum lk_status airflow_get_dag(struct lk_ctx *ctx, const char *dag_id, struct airflow_dag *out,
                               struct lk_error *err);
/* PATCH ?update_mask=is_paused; out (may be NULL) receives the DAG as the
 * server now has it. */
enum lk_status airflow_set_paused(struct lk_ctx *ctx, const char *dag_id, bool paused,
                                  struct airflow_dag *out, struct lk_error *err);

/* The DAG's tasks (not paged by the server), sorted by task_id. */
enum lk_status airflow_list_tasks(struct lk_ctx *ctx, const char *dag_id,
                                  struct airflow_task_list *out, struct lk_error *err);

/* The DAG's runs, newest first by execution date.  max 0: every run;
 * otherwise at most max (paging stops early). */
enum lk_status airflow_list_runs(struct lk_ctx *ctx, const char *dag_id, size_t max,
                                 struct airflow_run_list *out, struct lk_error *err);
/* The latest run by execution date; LK_NOTFOUND when the DAG has none. */
enum lk_status airflow_latest_run(struct lk_ctx *ctx, const char *dag_id,
                                  struct airflow_run *out, struct lk_error *err);
enum lk_status airflow_get_run(struct lk_ctx *ctx, const char *dag_id, const char *run_id,
                               struct airflow_run *out, struct lk_error *err);

/* POST dagRuns: conf_json is a JSON object as text, or NULL for none.  The
 * server answers 200 with the new run (state queued). */
enum lk_status airflow_trigger(struct lk_ctx *ctx, const char *dag_id, const char *conf_json,
                               struct airflow_run *out, struct lk_error *err);

/* A run's task instances, every page, sorted by task_id then map_index. */
enum lk_status airflow_list_task_instances(struct lk_ctx *ctx, const char *dag_id,
                                           const char *run_id, struct airflow_ti_list *out,
                                           struct lk_error *err);

/* POST clearTaskInstances with every field explicit.  out receives the
 * instances the server listed (task_id, dag_id, dag_run_id, execution_date
 * only; no state).  Some servers answer a real clear with an empty list:
 * callers keep the dry run's list. */
enum lk_status airflow_clear(struct lk_ctx *ctx, const char *dag_id,
                             const struct airflow_clear_opts *opts,
                             struct airflow_ti_list *out, struct lk_error *err);

/* A task instance's log as plain text (Accept: text/plain), appended to out.
 * try_number is 1-based. */
enum lk_status airflow_task_log(struct lk_ctx *ctx, const char *dag_id, const char *run_id,
                                const char *task_id, int try_number, struct buf *out,
                                struct lk_error *err);

/* True for the task-instance states that will not change by themselves. */
bool airflow_state_finished(const char *state);

/* ISO 8601 as Airflow writes it ("2024-01-01T00:00:00+00:00",
 * "2024-01-01T09:00:00.123456Z") to unix seconds; false when malformed. */
bool airflow_parse_time(const char *iso, long long *unix_out);

void airflow_dag_free(struct airflow_dag *d);
void airflow_dag_list_free(struct airflow_dag_list *l);
void airflow_task_list_free(struct airflow_task_list *l);
void airflow_run_free(struct airflow_run *r);
void airflow_run_list_free(struct airflow_run_list *l);
void airflow_ti_free(struct airflow_ti *ti);
void airflow_ti_list_free(struct airflow_ti_list *l);

/* JSON → structs (airflow_parse.c), exposed for the unit tests and for
 * callers holding a body already.  On malformed JSON or a missing required
 * field: LK_FAIL with a message naming what is missing. */
enum lk_status airflow_parse_dags(const char *json, struct airflow_dag_list *out,
                                  long long *total_entries, struct lk_error *err);
enum lk_status airflow_parse_dag(const char *json, struct airflow_dag *out, struct lk_error *err);
enum lk_status airflow_parse_tasks(const char *json, struct airflow_task_list *out,
                                   struct lk_error *err);
enum lk_status airflow_parse_runs(const char *json, struct airflow_run_list *out,
                                  long long *total_entries, struct lk_error *err);
enum lk_status airflow_parse_run(const char *json, struct airflow_run *out, struct lk_error *err);
/* Task instances from a list page or from a clear response (no
 * total_entries there: *total_entries = -1).  Appends to out. */
enum lk_status airflow_parse_task_instances(const char *json, struct airflow_ti_list *out,
                                            long long *total_entries, struct lk_error *err);

/* Fills err from an Airflow error answer (Problem JSON, or whatever body
 * came): status from the HTTP status, message in our words naming `what`
 * ("DAG supporter_experience"), remote words as the server wrote them.
 * Returns the status set. */
enum lk_status airflow_error_from_response(long http_status, const char *body, const char *what,
                                           const char *user, struct lk_error *err);

#endif
