/* The Overview: what an operator checks first.  Datasets and their
 * freshness, loads by status, Zuora jobs running or failed in the last day,
 * the failed stages of the DAG's latest Airflow run, the last operator
 * actions.  Enter on a line opens the screen it is about, when that screen
 * is part of the build.
 *
 * The database and Airflow are asked by separate jobs and their last
 * answers kept here, so a slow or unreachable Airflow never holds back the
 * lines from the database (and a burst of NOTIFYs never asks Airflow). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "db.h"
#include "mem.h"
#include "stages.h"
#include "tbl.h"
#include "tui.h"

enum { COL_KIND, COL_ITEM, COL_STATE, COL_DETAIL, N_COLS };

static const struct tbl_col OVERVIEW_COLS[N_COLS] = {
    { "Kind", 8, 4, TBL_LEFT, false },
    { "Item", 0, 12, TBL_LEFT, false },
    { "State", 15, 5, TBL_LEFT, false },     /* "upstream_failed" */
    { "Detail", 0, 10, TBL_LEFT, false },
};

/* Airflow is not a lakeop table: no NOTIFY tells us a run failed. */
#define OVERVIEW_STAGES_MS 60000

enum { Q_DATASETS, Q_LOADS, Q_JOBS, Q_AUDIT, N_QUERIES };

struct overview {
    struct screen *s;
    struct tbl *tbl;
    unsigned generation;
    bool painted;
    PGresult *res[N_QUERIES];     /* the last good answer of the database */

    unsigned stages_generation;
    unsigned stages_timer;
    struct airflow_ti_list failed;    /* failed stages of the latest run */
    char stages_error[700];           /* why Airflow could not say; "" when it did */
    const char *stages_what;          /* "Airflow unreachable", or it answered with an error */
};

/* Freshness: the newest archived load of each dataset against its limit.
 * The newest load by id is found through loads_dataset_id, so a dataset
 * with millions of loads costs one index probe. */
static const char *const OVERVIEW_SQL[N_QUERIES] = {
    "SELECT d.name, coalesce(d.freshness_seconds, 0),"
    "       (SELECT extract(epoch FROM now() - l.updated_at)::bigint FROM lakeop.loads l"
    "         WHERE l.dataset_id = d.id AND l.status = 'archived' ORDER BY l.id DESC LIMIT 1)"
    "  FROM lakeop.datasets d ORDER BY d.name",
    "SELECT status, count(*) FROM lakeop.loads GROUP BY status ORDER BY status",
    "SELECT job_id, status, coalesce(name, ''), extract(epoch FROM now() - submitted_at)::bigint"
    "  FROM lakeop.zuora_jobs"
    " WHERE submitted_at > now() - interval '1 day'"
    "   AND status NOT IN ('completed')"
    " ORDER BY id DESC LIMIT 20",
    "SELECT id, action, coalesce(target, ''), result, operator,"
    "       extract(epoch FROM at)::bigint"
    "  FROM lakeop.audit ORDER BY id DESC LIMIT 5",
};

struct overview_job {
    struct overview *o;
    unsigned generation;
    PGresult *res[N_QUERIES];
    struct lk_error err;
    bool failed;
};

static void overview_work(void *wctx, void *p)
{
    struct overview_job *j = p;
    err_clear(&j->err);
    PGconn *db = app_db(wctx, &j->err);
    if (!db) {
        j->failed = true;
        return;
    }
    for (int q = 0; q < N_QUERIES; q++) {
        if (db_exec(db, OVERVIEW_SQL[q], 0, NULL, &j->res[q], &j->err) != LK_OK) {
            j->failed = true;
            return;
        }
    }
}

static enum theme_el job_el(const char *status)
{
    if (!strcmp(status, "error") || !strcmp(status, "aborted") || !strcmp(status, "cancelled"))
        return TH_STATE_FAILED;
    if (!strcmp(status, "executing"))
        return TH_STATE_RUNNING;
    return TH_STATE_QUEUED;
}

static enum theme_el load_el(const char *status)
{
    if (!strcmp(status, "errored") || !strcmp(status, "erroring") || !strcmp(status, "ready_for_erroring"))
        return TH_STATE_FAILED;
    if (!strcmp(status, "archived"))
        return TH_STATE_SUCCESS;
    if (!strcmp(status, "ready"))
        return TH_STATE_QUEUED;
    return TH_STATE_RUNNING;
}

static void add_datasets(struct tbl *t, PGresult *r)
{
    for (int i = 0; i < PQntuples(r); i++) {
        const char *name = PQgetvalue(r, i, 0);
        long long limit = atoll(PQgetvalue(r, i, 1));
        bool never = PQgetisnull(r, i, 2);
        long long age = atoll(PQgetvalue(r, i, 2));
        char id[600], state[32], detail[160], a[32], l[32];
        snprintf(id, sizeof id, "dataset:%s", name);
        enum theme_el el;
        if (never) {
            snprintf(state, sizeof state, "no loads");
            snprintf(detail, sizeof detail, "nothing archived yet");
            el = limit ? TH_STATE_FAILED : TH_DIM;
        } else {
            app_age(age, a, sizeof a);
            if (limit) {
                app_age(limit, l, sizeof l);
                bool stale = age > limit;
                snprintf(state, sizeof state, "%s", stale ? "STALE" : "fresh");
                snprintf(detail, sizeof detail, "newest archived %s ago (limit %s)", a, l);
                el = stale ? TH_STATE_FAILED : TH_STATE_SUCCESS;
            } else {
                snprintf(state, sizeof state, "-");
                snprintf(detail, sizeof detail, "newest archived %s ago (no limit)", a);
                el = TH_DIM;
            }
        }
        const char *cells[N_COLS] = { "dataset", name, state, detail };
        tbl_row(t, id, cells, COL_STATE, el);
    }
}

static void add_loads(struct tbl *t, PGresult *r)
{
    for (int i = 0; i < PQntuples(r); i++) {
        const char *status = PQgetvalue(r, i, 0);
        char id[64];
        snprintf(id, sizeof id, "loads:%s", status);
        const char *cells[N_COLS] = { "loads", status, PQgetvalue(r, i, 1), "" };
        tbl_row(t, id, cells, COL_STATE, load_el(status));
    }
}

static void add_jobs(struct tbl *t, PGresult *r)
{
    for (int i = 0; i < PQntuples(r); i++) {
        const char *job = PQgetvalue(r, i, 0), *status = PQgetvalue(r, i, 1);
        char id[300], detail[300], a[32];
        snprintf(id, sizeof id, "job:%s", job);
        app_age(atoll(PQgetvalue(r, i, 3)), a, sizeof a);
        snprintf(detail, sizeof detail, "%s%ssubmitted %s ago", PQgetvalue(r, i, 2),
                 *PQgetvalue(r, i, 2) ? ", " : "", a);
        const char *cells[N_COLS] = { "job", job, status, detail };
        tbl_row(t, id, cells, COL_STATE, job_el(status));
    }
}

static void add_actions(struct tbl *t, PGresult *r)
{
    for (int i = 0; i < PQntuples(r); i++) {
        const char *result = PQgetvalue(r, i, 3);
        char id[64], item[600], detail[300], when[32];
        snprintf(id, sizeof id, "audit:%s", PQgetvalue(r, i, 0));
        snprintf(item, sizeof item, "%s %s", PQgetvalue(r, i, 1), PQgetvalue(r, i, 2));
        app_time(atoll(PQgetvalue(r, i, 5)), when, sizeof when);
        snprintf(detail, sizeof detail, "by %s at %s", PQgetvalue(r, i, 4), when);
        const char *cells[N_COLS] = { "action", item, result, detail };
        tbl_row(t, id, cells, COL_STATE,
                !strcmp(result, "ok") ? TH_STATE_SUCCESS
                : !strcmp(result, "refused") ? TH_STATE_QUEUED : TH_STATE_FAILED);
    }
}

/* One line per failed task instance, the failed ones (the causes) before
 * the upstream_failed; one dim line when Airflow could not say (an old
 * list would look like good news). */
static void add_stages(struct overview *o)
{
    if (o->stages_error[0]) {
        const char *cells[N_COLS] = { "stages", o->stages_what, "", o->stages_error };
        tbl_row(o->tbl, "stages:", cells, COL_DETAIL, TH_DIM);
        return;
    }
    for (size_t k = 0; k < 2 * o->failed.n; k++) {
        const struct airflow_ti *ti = &o->failed.items[k % o->failed.n];
        bool cause = ti->state && strcmp(ti->state, "failed") == 0;
        if (cause != (k < o->failed.n))
            continue;
        char id[400], detail[400];
        if (ti->map_index >= 0)
            snprintf(id, sizeof id, "stage:%s[%d]", ti->task_id, ti->map_index);
        else
            snprintf(id, sizeof id, "stage:%s", ti->task_id);
        snprintf(detail, sizeof detail, "run %s", ti->dag_run_id ? ti->dag_run_id : "?");
        const char *cells[N_COLS] = { "stage", id + 6, ti->state ? ti->state : "", detail };
        tbl_row(o->tbl, id, cells, COL_STATE, TH_STATE_FAILED);
    }
}

static void overview_fill(struct overview *o)
{
    tbl_begin(o->tbl, true);
    add_datasets(o->tbl, o->res[Q_DATASETS]);
    add_loads(o->tbl, o->res[Q_LOADS]);
    add_jobs(o->tbl, o->res[Q_JOBS]);
    add_stages(o);
    add_actions(o->tbl, o->res[Q_AUDIT]);
    tbl_end(o->tbl, false);
}

static void overview_done(struct loop *loop, void *p, bool orphaned)
{
    struct overview_job *j = p;
    if (!orphaned && j->generation == j->o->generation) {
        struct overview *o = j->o;
        if (j->failed) {
            char text[1024];
            tbl_fail(o->tbl, err_text(&j->err, text, sizeof text));
        } else {
            for (int q = 0; q < N_QUERIES; q++) {
                if (o->res[q])
                    PQclear(o->res[q]);
                o->res[q] = j->res[q];
                j->res[q] = NULL;
            }
            overview_fill(o);
            if (!o->painted) {
                o->painted = true;
                tui_timing(o->s->tui, "data overview");
                tui_mark_paint(o->s->tui, "paint overview");
            }
        }
        tui_dirty(o->s, false);
    }
    for (int q = 0; q < N_QUERIES; q++)
        if (j->res[q])
            PQclear(j->res[q]);
    free(j);
}

static void overview_reload_db(struct screen *s)
{
    struct overview *o = s->st;
    struct overview_job *j = xcalloc(1, sizeof *j);
    j->o = o;
    j->generation = ++o->generation;
    tbl_loading(o->tbl);
    tui_submit(s, overview_work, overview_done, j);
}

/* Failed stages: on a worker, since Airflow may be slow or away. */

struct stages_job {
    struct overview *o;
    unsigned generation;
    char *dag_id;
    enum lk_status st;
    struct lk_error err;
    struct airflow_ti_list failed;
};

static void stages_work(void *wctx, void *p)
{
    struct stages_job *j = p;
    err_clear(&j->err);
    j->st = stages_failed_latest(app_ctx(wctx), j->dag_id, &j->failed, &j->err);
}

static void stages_done(struct loop *loop, void *p, bool orphaned)
{
    struct stages_job *j = p;
    if (!orphaned && j->generation == j->o->stages_generation) {
        struct overview *o = j->o;
        airflow_ti_list_free(&o->failed);
        o->stages_error[0] = '\0';
        if (j->st == LK_OK) {
            o->failed = j->failed;
            memset(&j->failed, 0, sizeof j->failed);
        } else {
            char text[600];
            err_text(&j->err, text, sizeof text);
            snprintf(o->stages_error, sizeof o->stages_error, "(%s)", text);
            o->stages_what = j->err.http_status ? "Airflow error" : "Airflow unreachable";
        }
        /* Before the database's first answer there is nothing to add to. */
        if (o->res[0])
            overview_fill(o);
        tui_dirty(o->s, false);
    }
    airflow_ti_list_free(&j->failed);
    free(j->dag_id);
    free(j);
}

static void overview_reload_stages(struct overview *o)
{
    const struct cfg_env *env = app_env(o->s->tui);
    if (!env->airflow_url || !env->airflow_url[0])
        return;
    struct stages_job *j = xcalloc(1, sizeof *j);
    j->o = o;
    j->generation = ++o->stages_generation;
    j->dag_id = xstrdup(env->airflow_dag && env->airflow_dag[0] ? env->airflow_dag : "supporter_experience");
    tui_submit(o->s, stages_work, stages_done, j);
}

static void stages_tick(struct loop *loop, void *ud)
{
    overview_reload_stages(ud);
}

static void overview_reload(struct screen *s)
{
    overview_reload_db(s);
    overview_reload_stages(s->st);
}

static void *overview_open(struct screen *s, const char *arg, void *data)
{
    struct overview *o = xcalloc(1, sizeof *o);
    o->s = s;
    o->tbl = tbl_new(OVERVIEW_COLS, N_COLS);
    s->st = o;
    overview_reload(s);
    o->stages_timer = loop_timer_add(s->tui->loop, OVERVIEW_STAGES_MS, true, stages_tick, o);
    return o;
}

static void overview_close(struct screen *s)
{
    struct overview *o = s->st;
    loop_timer_cancel(s->tui->loop, o->stages_timer);
    for (int q = 0; q < N_QUERIES; q++)
        if (o->res[q])
            PQclear(o->res[q]);
    airflow_ti_list_free(&o->failed);
    tbl_free(o->tbl);
    free(o);
}

static void overview_draw(struct screen *s, WINDOW *win, bool full)
{
    struct overview *o = s->st;
    tbl_draw(o->tbl, win, &s->tui->th, full);
}

static void overview_notify(struct screen *s, const char *table)
{
    static const char *const watched[] = { "datasets", "loads", "zuora_jobs", "audit" };
    for (size_t i = 0; i < sizeof watched / sizeof watched[0]; i++)
        if (strcmp(table, watched[i]) == 0) {
            overview_reload_db(s);
            return;
        }
}

/* Enter on a failed stage: the Stages screen on that task in that run. */
static void open_stage(struct overview *o, const char *id)
{
    const struct cfg_env *env = app_env(o->s->tui);
    const char *dag = env->airflow_dag && env->airflow_dag[0] ? env->airflow_dag : "supporter_experience";
    for (size_t i = 0; i < o->failed.n; i++) {
        const struct airflow_ti *ti = &o->failed.items[i];
        size_t n = strlen(ti->task_id);
        if (strncmp(id, ti->task_id, n) != 0 || (id[n] != '\0' && id[n] != '['))
            continue;
        char *arg = xasprintf("%s %s %s", dag, ti->task_id, ti->dag_run_id ? ti->dag_run_id : "");
        tui_open(o->s->tui, "stages", arg);
        free(arg);
        return;
    }
    tui_open(o->s->tui, "stages", dag);
}

/* Enter: the screen each line is about. */
static void overview_enter(struct screen *s)
{
    struct overview *o = s->st;
    const char *id = tbl_cursor_id(o->tbl);
    if (!id)
        return;
    if (strncmp(id, "stage:", 6) == 0) {
        open_stage(o, id + 6);
        return;
    }
    if (strcmp(id, "stages:") == 0) {
        tui_open(s->tui, "stages", NULL);
        return;
    }
    static const struct {
        const char *prefix, *screen;
    } LINKS[] = { { "dataset:", "datasets" }, { "loads:", "loads" }, { "job:", "job" }, { "audit:", "audit" } };
    for (size_t i = 0; i < sizeof LINKS / sizeof LINKS[0]; i++) {
        size_t n = strlen(LINKS[i].prefix);
        if (strncmp(id, LINKS[i].prefix, n) == 0) {
            const char *arg = id + n;
            if (!strcmp(LINKS[i].screen, "audit"))
                arg = NULL;
            if (!screen_find(LINKS[i].screen) && !strcmp(LINKS[i].screen, "job") && screen_find("jobs"))
                tui_open(s->tui, "jobs", arg);
            else
                tui_open(s->tui, LINKS[i].screen, arg);
            return;
        }
    }
}

/* y copies what the line is about (the job id, the dataset's name), not
 * the row's internal "kind:" key. */
static void overview_yank(struct screen *s)
{
    const char *id = tbl_cursor_id(((struct overview *)s->st)->tbl);
    const char *colon = id ? strchr(id, ':') : NULL;
    const char *bare = colon ? colon + 1 : id;
    if (bare && *bare)
        tui_clipboard(s->tui, bare);
    else
        tui_message(s->tui, TUI_INFO, "nothing to copy on this line");
}

static bool overview_key(struct screen *s, enum action a, int ch)
{
    if (a == ACT_ENTER) {
        overview_enter(s);
        return true;
    }
    if (a == ACT_YANK) {
        overview_yank(s);
        return true;
    }
    return false;
}

static struct tbl *overview_table(struct screen *s)
{
    return ((struct overview *)s->st)->tbl;
}

static const struct screen_ops overview_ops = {
    .name = "overview",
    .title = "Overview",
    .order = 1,
    .flags = SCREEN_TOP | SCREEN_FILTERABLE,
    .open = overview_open,
    .close = overview_close,
    .draw = overview_draw,
    .key = overview_key,
    .reload = overview_reload,
    .on_notify = overview_notify,
    .table = overview_table,
};
SCREEN_DEFINE(overview_ops);
