/* The Stages screen: a DAG's tasks as a tree with their states in one run
 * (the latest unless the operator picked another), live while the run or
 * the instances a clear touched are unfinished; clear, trigger and pause
 * from here.  `:stages [DAG]`.
 *
 * Airflow is only ever asked on a worker.  Loads and polls carry a
 * generation so that an answer to an older question is dropped; one poll
 * at a time (a slow server never piles them up); after a failed poll the
 * interval doubles up to 30 s and the old states stay shown with
 * "refresh failed: ...". */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "app.h"
#include "audit.h"
#include "fmt.h"
#include "json.h"
#include "mem.h"
#include "stages.h"
#include "stages_ui.h"
#include "tbl.h"
#include "text.h"
#include "tui.h"

#define STAGES_HEADER_LINES 2
#define STAGES_NOTE_MAX_LINES 3   /* an error note wraps so the server's words show */
#define STAGES_POLL_MS 2500
#define STAGES_POLL_MAX_MS 30000
/* Runs other than the shown one read per poll while following a clear
 * that reached them (past, future, recursive): a bounded load per interval,
 * every run read in turn. */
#define STAGES_FOLLOW_RUNS_PER_POLL 4

enum { COL_TASK, COL_STATE, COL_TRY, COL_START, COL_END, COL_DURATION, COL_OPERATOR, N_COLS };

static const struct tbl_col STAGES_COLS[N_COLS] = {
    { "Task", 0, 16, TBL_LEFT, false },
    { "State", 15, 7, TBL_LEFT, false },
    { "Try", 3, 3, TBL_RIGHT, true },
    { "Start", 19, 8, TBL_LEFT, false },
    { "End", 19, 8, TBL_LEFT, false },
    { "Duration", 8, 5, TBL_RIGHT, false },
    { "Operator", 24, 6, TBL_LEFT, false },
};

/* The runs list (R): the same screen in another mode, so that choosing
 * a run never has to close a screen from inside its own key handler. */
#define RUNS_MAX 500   /* months of daily runs; 100 per request */

enum { RCOL_RUN, RCOL_STATE, RCOL_EXEC, RCOL_START, RCOL_END, RCOL_TYPE, N_RCOLS };

static const struct tbl_col RUNS_COLS[N_RCOLS] = {
    { "Run", 0, 16, TBL_LEFT, false },
    { "State", 9, 5, TBL_LEFT, false },
    { "Execution date", 19, 10, TBL_LEFT, false },
    { "Start", 19, 8, TBL_LEFT, false },
    { "End", 19, 8, TBL_LEFT, false },
    { "Type", 9, 4, TBL_LEFT, false },
};

struct stages {
    struct screen *s;
    struct tbl *tbl;
    WINDOW *sub;                  /* the table's part of the body */
    int sub_y;                    /* where sub starts (the header grows with an error) */
    char *dag_id;
    char *run_id;                 /* chosen run; NULL: the latest */
    char *focus_task;             /* `:stages DAG TASK`: the cursor's row once loaded */
    unsigned generation;
    bool runs_mode;               /* the runs list is shown instead of the tree */
    struct tbl *runs;
    unsigned runs_generation;

    /* The last answer. */
    bool loaded;
    struct airflow_dag dag;
    bool have_dag;
    struct airflow_task_list tasks;
    struct stages_tree tree;
    struct airflow_run run;
    bool have_run;
    struct airflow_ti_list tis;
    char note[1400];              /* why the last load failed, or what happened */
    enum theme_el note_el;

    /* Live states: the instances a clear touched, in any run or DAG. */
    struct stages_follow follow;
    unsigned timer;
    long poll_ms;
    bool poll_in_flight;

    /* stages_open_clear(): the task whose clear dialog opens once the
     * latest run is loaded. */
    char *clear_task;
};

/* ---- helpers shared by the parts ------------------------------------- */

enum theme_el stages_state_el(const char *state)
{
    if (!state)
        return TH_DIM;
    if (!strcmp(state, "success"))
        return TH_STATE_SUCCESS;
    if (!strcmp(state, "failed") || !strcmp(state, "upstream_failed"))
        return TH_STATE_FAILED;
    if (!strcmp(state, "running") || !strcmp(state, "restarting"))
        return TH_STATE_RUNNING;
    if (!strcmp(state, "queued") || !strcmp(state, "scheduled") || !strcmp(state, "up_for_retry") ||
        !strcmp(state, "up_for_reschedule") || !strcmp(state, "deferred"))
        return TH_STATE_QUEUED;
    return TH_DIM;                /* skipped, removed */
}

void stages_fmt_time(const char *iso, char *out, size_t size)
{
    long long t;
    if (!iso || !iso[0]) {
        snprintf(out, size, "-");
        return;
    }
    if (!airflow_parse_time(iso, &t)) {
        snprintf(out, size, "%s", iso);
        return;
    }
    app_time(t, out, size);
}

/* ---- loading --------------------------------------------------------- */

struct load_job {
    struct stages *st;
    unsigned generation;
    bool poll;                    /* only the run and its instances */
    char *dag_id;
    char *run_id;                 /* NULL: the latest */
    enum lk_status status;
    struct lk_error err;
    struct airflow_dag dag;
    bool have_dag;
    struct airflow_task_list tasks;
    struct stages_tree tree;
    struct airflow_run run;
    bool have_run;
    struct airflow_ti_list tis;
    /* Other runs holding followed instances, read in the same job. */
    struct other_run {
        char *dag_id, *run_id;
        struct airflow_ti_list tis;
    } others[STAGES_FOLLOW_RUNS_PER_POLL];
    size_t n_others;
};

static void load_job_free(struct load_job *j)
{
    for (size_t i = 0; i < j->n_others; i++) {
        free(j->others[i].dag_id);
        free(j->others[i].run_id);
        airflow_ti_list_free(&j->others[i].tis);
    }
    airflow_ti_list_free(&j->tis);
    airflow_run_free(&j->run);
    stages_tree_free(&j->tree);
    airflow_task_list_free(&j->tasks);
    if (j->have_dag)
        airflow_dag_free(&j->dag);
    free(j->dag_id);
    free(j->run_id);
    free(j);
}

static void load_work(void *wctx, void *p)
{
    struct load_job *j = p;
    struct lk_ctx *ctx = app_ctx(wctx);
    err_clear(&j->err);
    enum lk_status st = LK_OK;
    if (!j->poll) {
        st = airflow_get_dag(ctx, j->dag_id, &j->dag, &j->err);
        j->have_dag = st == LK_OK;
        if (st == LK_OK)
            st = airflow_list_tasks(ctx, j->dag_id, &j->tasks, &j->err);
        if (st == LK_OK)
            st = stages_tree_build(&j->tasks, &j->tree, &j->err);
    }
    if (st == LK_OK) {
        st = stages_resolve_run(ctx, j->dag_id, j->run_id, &j->run, &j->err);
        if (st == LK_NOTFOUND && !j->run_id && j->err.http_status == 0) {
            /* A DAG that never ran still has a tree to show. */
            err_clear(&j->err);
            st = LK_OK;
        } else {
            j->have_run = st == LK_OK;
        }
    }
    if (st == LK_OK && j->have_run)
        st = airflow_list_task_instances(ctx, j->dag_id, j->run.dag_run_id, &j->tis, &j->err);
    for (size_t i = 0; i < j->n_others && st == LK_OK; i++) {
        st = airflow_list_task_instances(ctx, j->others[i].dag_id, j->others[i].run_id,
                                         &j->others[i].tis, &j->err);
        if (st == LK_NOTFOUND && j->err.http_status == 404) {
            /* The run is gone: what it held will not run again. */
            err_clear(&j->err);
            st = LK_OK;
        }
    }
    j->status = st;
}

static void fill_table(struct stages *st)
{
    tbl_begin(st->tbl, true);
    for (size_t i = 0; i < st->tree.n; i++) {
        const struct stages_row *row = &st->tree.rows[i];
        const struct airflow_task *t = &st->tasks.items[row->task];
        const struct airflow_ti *ti = st->have_run ? stages_ti_find(&st->tis, t->task_id) : NULL;
        struct buf name = BUF_INIT;
        stages_row_prefix(&st->tree, i, &name);
        buf_puts(&name, t->task_id);
        struct buf also = BUF_INIT;
        if (stages_row_also_after(&st->tasks, &st->tree, i, &also)) {
            buf_puts(&name, "  \xe2\x97\x86 also after ");   /* "◆": several parents */
            buf_puts(&name, buf_cstr(&also));
        }
        buf_free(&also);
        char tries[16], start[40], end[40], dur[24];
        snprintf(tries, sizeof tries, "%d", ti ? ti->try_number : 0);
        stages_fmt_time(ti ? ti->start_date : NULL, start, sizeof start);
        stages_fmt_time(ti ? ti->end_date : NULL, end, sizeof end);
        fmt_duration(ti ? ti->duration : -1, dur, sizeof dur);
        const char *state = !ti ? "-" : ti->state ? ti->state : "no state";
        const char *cells[N_COLS] = {
            buf_cstr(&name), state, ti ? tries : "-", start, end, dur,
            t->operator_name ? t->operator_name : "",
        };
        tbl_row(st->tbl, t->task_id, cells, COL_STATE, ti ? stages_state_el(ti->state) : TH_DIM);
        buf_free(&name);
    }
    tbl_end(st->tbl, false);
    if (st->focus_task) {
        tbl_set_cursor(st->tbl, st->focus_task);
        xfree(&st->focus_task);
    }
}

static void schedule_poll(struct stages *st);

/* Still something to follow: an unfinished run, or a touched instance. */
static bool live(const struct stages *st)
{
    if (stages_follow_live(&st->follow))
        return true;
    return st->have_run && st->run.state &&
           (!strcmp(st->run.state, "queued") || !strcmp(st->run.state, "running"));
}

/* The watch ended: say how the touched instances finished. */
static void watch_report(struct stages *st)
{
    size_t ok, failed, other;
    stages_follow_count(&st->follow, &ok, &failed, &other);
    tui_message(st->s->tui, failed ? TUI_WARN : TUI_INFO,
                "cleared tasks finished: %zu success, %zu failed, %zu other", ok, failed, other);
    snprintf(st->note, sizeof st->note, "cleared tasks finished: %zu success, %zu failed, %zu other", ok,
             failed, other);
    st->note_el = failed ? TH_STATE_FAILED : TH_STATE_SUCCESS;
    stages_follow_free(&st->follow);
}

static void load_done(struct loop *loop, void *p, bool orphaned)
{
    struct load_job *j = p;
    if (orphaned || j->generation != j->st->generation) {
        if (!orphaned && j->poll)
            j->st->poll_in_flight = false;
        load_job_free(j);
        return;
    }
    struct stages *st = j->st;
    if (j->poll)
        st->poll_in_flight = false;
    if (j->status != LK_OK) {
        char text[1400];
        err_text(&j->err, text, sizeof text);
        tbl_fail(st->tbl, text);
        if (!j->poll || !st->loaded) {
            snprintf(st->note, sizeof st->note, "%s", text);
            st->note_el = TH_STATUS_ERROR;
        }
        /* A clear asked for from elsewhere is not opened by a later reload. */
        xfree(&st->clear_task);
        if (j->poll || live(st)) {
            /* Back off, keep trying: Airflow may come back. */
            st->poll_ms = st->poll_ms * 2 > STAGES_POLL_MAX_MS ? STAGES_POLL_MAX_MS : st->poll_ms * 2;
            schedule_poll(st);
        }
        load_job_free(j);
        tui_dirty(st->s, true);
        return;
    }
    st->poll_ms = STAGES_POLL_MS;
    if (!j->poll) {
        if (st->have_dag)
            airflow_dag_free(&st->dag);
        st->dag = j->dag;
        st->have_dag = j->have_dag;
        j->have_dag = false;
        stages_tree_free(&st->tree);
        airflow_task_list_free(&st->tasks);
        st->tasks = j->tasks;
        st->tree = j->tree;
        memset(&j->tasks, 0, sizeof j->tasks);
        memset(&j->tree, 0, sizeof j->tree);
        if (st->note_el == TH_STATUS_ERROR)
            st->note[0] = '\0';
    }
    airflow_run_free(&st->run);
    airflow_ti_list_free(&st->tis);
    st->run = j->run;
    st->have_run = j->have_run;
    st->tis = j->tis;
    memset(&j->run, 0, sizeof j->run);
    memset(&j->tis, 0, sizeof j->tis);
    st->loaded = true;
    if (st->have_run)
        stages_follow_update(&st->follow, st->dag_id, st->run.dag_run_id, &st->tis);
    for (size_t i = 0; i < j->n_others; i++)
        stages_follow_update(&st->follow, j->others[i].dag_id, j->others[i].run_id, &j->others[i].tis);
    fill_table(st);
    if (st->clear_task && !j->poll) {
        char *task = st->clear_task;
        st->clear_task = NULL;
        tbl_set_cursor(st->tbl, task);
        const char *cur = tbl_cursor_id(st->tbl);
        if (!st->have_run)
            tui_message(st->s->tui, TUI_WARN, "%s has no run to clear %s in", st->dag_id, task);
        else if (!cur || strcmp(cur, task) != 0)
            tui_message(st->s->tui, TUI_WARN, "DAG %s has no task %s", st->dag_id, task);
        else if (tui_top(st->s->tui) == st->s)
            stages_clear_open(st->s, st->dag_id, st->run.dag_run_id, task);
        free(task);
    }
    if (st->follow.n && !live(st))
        watch_report(st);
    if (live(st))
        schedule_poll(st);
    load_job_free(j);
    tui_dirty(st->s, true);
}

static void submit_load(struct stages *st, bool poll)
{
    struct load_job *j = xcalloc(1, sizeof *j);
    j->st = st;
    j->poll = poll;
    j->dag_id = xstrdup(st->dag_id);
    /* A poll follows the run shown, even when it was "the latest". */
    j->run_id = xstrdup(poll && st->have_run ? st->run.dag_run_id : st->run_id);
    struct stages_run_ref refs[STAGES_FOLLOW_RUNS_PER_POLL];
    j->n_others = stages_follow_runs(&st->follow, j->dag_id, j->run_id, refs, STAGES_FOLLOW_RUNS_PER_POLL);
    for (size_t i = 0; i < j->n_others; i++) {
        j->others[i].dag_id = xstrdup(refs[i].dag_id);
        j->others[i].run_id = xstrdup(refs[i].run_id);
    }
    if (poll) {
        st->poll_in_flight = true;
    } else {
        st->generation++;
        tbl_loading(st->tbl);
    }
    j->generation = st->generation;
    tui_submit(st->s, load_work, load_done, j);
}

static void poll_tick(struct loop *loop, void *ud)
{
    struct stages *st = ud;
    st->timer = 0;
    if (st->poll_in_flight)
        schedule_poll(st);        /* one poll at a time: try again later */
    else
        submit_load(st, true);
}

static void schedule_poll(struct stages *st)
{
    if (st->timer)
        loop_timer_cancel(st->s->tui->loop, st->timer);
    st->timer = loop_timer_add(st->s->tui->loop, st->poll_ms, false, poll_tick, st);
}

/* ---- the runs list --------------------------------------------------- */

struct runs_job {
    struct stages *st;
    unsigned generation;
    char *dag_id;
    enum lk_status status;
    struct lk_error err;
    struct airflow_run_list runs;
};

static void runs_work(void *wctx, void *p)
{
    struct runs_job *j = p;
    err_clear(&j->err);
    j->status = airflow_list_runs(app_ctx(wctx), j->dag_id, RUNS_MAX, &j->runs, &j->err);
}

static void runs_done(struct loop *loop, void *p, bool orphaned)
{
    struct runs_job *j = p;
    if (!orphaned && j->generation == j->st->runs_generation) {
        struct stages *st = j->st;
        if (j->status != LK_OK) {
            char text[1400];
            tbl_fail(st->runs, err_text(&j->err, text, sizeof text));
        } else {
            tbl_begin(st->runs, true);
            for (size_t i = 0; i < j->runs.n; i++) {
                const struct airflow_run *run = &j->runs.items[i];
                char exec[40], start[40], end[40];
                stages_fmt_time(run->execution_date, exec, sizeof exec);
                stages_fmt_time(run->start_date, start, sizeof start);
                stages_fmt_time(run->end_date, end, sizeof end);
                const char *cells[N_RCOLS] = { run->dag_run_id, run->state ? run->state : "-", exec,
                                               start, end, run->run_type ? run->run_type : "" };
                tbl_row(st->runs, run->dag_run_id, cells, RCOL_STATE, stages_state_el(run->state));
            }
            tbl_end(st->runs, false);
            if (st->have_run)
                tbl_set_cursor(st->runs, st->run.dag_run_id);
        }
        tui_dirty(st->s, true);
    }
    airflow_run_list_free(&j->runs);
    free(j->dag_id);
    free(j);
}

static void runs_show(struct stages *st)
{
    st->runs_mode = true;
    struct runs_job *j = xcalloc(1, sizeof *j);
    j->st = st;
    j->generation = ++st->runs_generation;
    j->dag_id = xstrdup(st->dag_id);
    tbl_loading(st->runs);
    tui_submit(st->s, runs_work, runs_done, j);
    tui_dirty(st->s, true);
}

/* ---- the parts' entry points ----------------------------------------- */

static bool is_stages(struct screen *s);

bool stages_target_is(struct screen *s, const char *run_id, const char *task_id, char *why,
                      size_t why_size)
{
    if (!is_stages(s)) {
        snprintf(why, why_size, "the Stages screen was closed");
        return false;
    }
    struct stages *st = s->st;
    if (st->runs_mode) {
        snprintf(why, why_size, "the runs list is open");
        return false;
    }
    if (!st->have_run || strcmp(st->run.dag_run_id, run_id) != 0) {
        snprintf(why, why_size, "the run shown changed (now %s)",
                 st->have_run ? st->run.dag_run_id : "none");
        return false;
    }
    const char *cur = tbl_cursor_id(st->tbl);
    if (!cur || strcmp(cur, task_id) != 0) {
        snprintf(why, why_size, "the selected task changed (now %s)", cur ? cur : "none");
        return false;
    }
    return true;
}

void stages_watch(struct screen *s, const char *run_id, const struct airflow_ti_list *touched)
{
    struct stages *st = s->st;
    stages_follow_set(&st->follow, touched);
    size_t runs = stages_follow_n_runs(&st->follow);
    if (runs <= 1)
        snprintf(st->note, sizeof st->note, "watching %zu cleared task instance%s of this run",
                 st->follow.n, st->follow.n == 1 ? "" : "s");
    else
        snprintf(st->note, sizeof st->note, "watching %zu cleared task instances in %zu runs",
                 st->follow.n, runs);
    st->note_el = TH_STATE_RUNNING;
    st->poll_ms = STAGES_POLL_MS;
    char *chosen = xstrdup(run_id);
    free(st->run_id);
    st->run_id = chosen;
    submit_load(st, false);
}

void stages_show_run(struct screen *s, const char *run_id)
{
    struct stages *st = s->st;
    char *chosen = run_id ? xstrdup(run_id) : NULL;   /* run_id may be st->run_id */
    free(st->run_id);
    st->run_id = chosen;
    /* The watch goes on: a clear's instances may be in other runs. */
    if (!st->follow.n)
        st->note[0] = '\0';
    submit_load(st, false);
}

/* ---- trigger and pause ----------------------------------------------- */

struct change_job {
    struct tui *t;
    struct screen *s;             /* the Stages screen; valid unless orphaned */
    bool trigger;                 /* else pause/unpause */
    bool pause;
    char *dag_id;
    char *operator_name;
    char *env_name;
    bool needs_db;
    enum lk_status status;
    struct lk_error err;
    char *new_run;
};

static void change_job_free(struct change_job *j)
{
    free(j->dag_id);
    free(j->operator_name);
    free(j->env_name);
    free(j->new_run);
    free(j);
}

static void change_work(void *wctx, void *p)
{
    struct change_job *j = p;
    err_clear(&j->err);
    /* The audit record must be possible before anything changes. */
    PGconn *db = NULL;
    if (j->needs_db) {
        db = app_db(wctx, &j->err);
        if (!db) {
            err_prefix(&j->err, "nothing changed: the audit cannot be recorded");
            j->status = LK_FAIL;
            return;
        }
    }
    struct lk_ctx *ctx = app_ctx(wctx);
    json_t *params = json_object();
    json_object_set_new(params, "dag_id", json_string(j->dag_id));
    if (j->trigger) {
        struct airflow_run run;
        j->status = airflow_trigger(ctx, j->dag_id, NULL, &run, &j->err);
        if (j->status == LK_OK) {
            j->new_run = xstrdup(run.dag_run_id);
            json_object_set_new(params, "dag_run_id", json_string(run.dag_run_id));
            json_object_set_new(params, "state", run.state ? json_string(run.state) : json_null());
            /* The new run's instances, one more read: the trigger happened
             * whether or not it answers. */
            struct airflow_ti_list tis;
            struct lk_error lerr;
            err_clear(&lerr);
            if (airflow_list_task_instances(ctx, j->dag_id, run.dag_run_id, &tis, &lerr) == LK_OK) {
                json_object_set_new(params, "task_instances", stages_touched_json(&tis));
                airflow_ti_list_free(&tis);
            } else {
                json_object_set_new(params, "task_instances", json_null());
            }
            airflow_run_free(&run);
        }
    } else {
        j->status = airflow_set_paused(ctx, j->dag_id, j->pause, NULL, &j->err);
        json_object_set_new(params, "is_paused", json_boolean(j->pause));
        /* Pausing changes the DAG, no task instance. */
        json_object_set_new(params, "task_instances", json_array());
    }
    if (db) {
        char *text = jx_dump(params);
        char msg[1400], said[1400];
        if (j->status == LK_OK && j->trigger)
            snprintf(msg, sizeof msg, "triggered run %s from the console", j->new_run);
        else if (j->status == LK_OK)
            snprintf(msg, sizeof msg, "%s from the console", j->pause ? "paused" : "unpaused");
        else
            snprintf(msg, sizeof msg, "%s", err_text(&j->err, said, sizeof said));
        const struct audit_entry e = {
            .operator_name = j->operator_name, .env = j->env_name,
            .action = j->trigger ? "stage.trigger" : "stage.pause", .target = j->dag_id,
            .params_json = text, .result = j->status == LK_OK ? AUDIT_OK : AUDIT_FAILED,
            .message = msg,
        };
        struct lk_error aerr;
        err_clear(&aerr);
        if (audit_append(db, &e, &aerr) != LK_OK && j->status == LK_OK) {
            j->status = LK_FAIL;
            j->err = aerr;
            err_prefix(&j->err, "done, but the audit record failed");
        }
        free(text);
    }
    json_decref(params);
}

static void change_done(struct loop *loop, void *p, bool orphaned)
{
    struct change_job *j = p;
    app_busy_end(j->t);
    char text[1400];
    if (j->status != LK_OK) {
        tui_message(j->t, TUI_ERROR, "%s %s: %s", j->trigger ? "trigger" : j->pause ? "pause" : "unpause",
                    j->dag_id, err_text(&j->err, text, sizeof text));
    } else if (j->trigger) {
        tui_message(j->t, TUI_INFO, "triggered run %s of %s", j->new_run, j->dag_id);
    } else {
        tui_message(j->t, TUI_INFO, "%s %s", j->pause ? "paused" : "unpaused", j->dag_id);
    }
    if (!orphaned && j->status == LK_OK) {
        if (j->trigger)
            stages_show_run(j->s, j->new_run);
        else
            stages_show_run(j->s, ((struct stages *)j->s->st)->run_id);
    }
    change_job_free(j);
}

struct change_ask {
    struct screen *s;
    char *dag_id;
    bool trigger, pause;
};

static bool change_still_valid(struct tui *t, void *ud, char *why, size_t why_size)
{
    struct change_ask *a = ud;
    if (!is_stages(tui_top(t)) || tui_top(t) != a->s) {
        snprintf(why, why_size, "the Stages screen is no longer shown");
        return false;
    }
    const struct stages *st = a->s->st;
    if (strcmp(st->dag_id, a->dag_id) != 0) {
        snprintf(why, why_size, "the DAG shown changed");
        return false;
    }
    if (!a->trigger && st->have_dag && st->dag.is_paused == a->pause) {
        snprintf(why, why_size, "%s is already %s", a->dag_id, a->pause ? "paused" : "unpaused");
        return false;
    }
    return true;
}

static void change_confirmed(struct tui *t, bool ok, const char *input, void *ud)
{
    struct change_ask *a = ud;
    if (!ok) {
        tui_message(t, TUI_INFO, "%s: nothing changed", a->dag_id);
    } else {
        struct change_job *j = xcalloc(1, sizeof *j);
        j->t = t;
        j->s = a->s;
        j->trigger = a->trigger;
        j->pause = a->pause;
        j->dag_id = xstrdup(a->dag_id);
        j->operator_name = xstrdup(app_operator(t));
        j->env_name = xstrdup(app_env(t)->name);
        j->needs_db = app_env(t)->database && app_env(t)->database[0];
        app_busy_begin(t, a->trigger ? "triggering a run" : "pausing a DAG");
        tui_submit(a->s, change_work, change_done, j);
    }
    free(a->dag_id);
    free(a);
}

static void ask_change(struct stages *st, bool trigger)
{
    struct tui *t = st->s->tui;
    if (!trigger && !st->have_dag) {
        tui_message(t, TUI_WARN, "the DAG is not loaded yet");
        return;
    }
    struct change_ask *a = xcalloc(1, sizeof *a);
    a->s = st->s;
    a->dag_id = xstrdup(st->dag_id);
    a->trigger = trigger;
    a->pause = !trigger && !st->dag.is_paused;
    const char *dag = st->dag_id;   /* the dialog shows it inert */
    char *text;
    if (trigger)
        text = xasprintf("Start a new run of DAG %s now?%s", dag,
                         st->have_dag && st->dag.is_paused ? "\nThe DAG is paused: the run waits until it is unpaused." : "");
    else if (a->pause)
        text = xasprintf("Pause DAG %s? No new task instance starts until it is unpaused.", dag);
    else
        text = xasprintf("Unpause DAG %s? Queued runs and cleared tasks start running.", dag);
    app_confirm(t, trigger ? ACT_TRIGGER : ACT_PAUSE,
                trigger ? "Trigger a run" : a->pause ? "Pause DAG" : "Unpause DAG", text, dag,
                change_still_valid, change_confirmed, a);
    free(text);
}

/* ---- the screen ------------------------------------------------------ */

static void *stages_open(struct screen *s, const char *arg, void *data)
{
    struct stages *st = xcalloc(1, sizeof *st);
    st->s = s;
    const struct cfg_env *env = app_env(s->tui);
    /* "DAG [TASK [RUN]]" (the Overview's failed stages pass all three). */
    char dag[256] = "", task[256] = "", run[256] = "";
    if (arg && sscanf(arg, "%255s %255s %255s", dag, task, run) >= 1)
        st->dag_id = xstrdup(dag);
    else if (env->airflow_dag && env->airflow_dag[0])
        st->dag_id = xstrdup(env->airflow_dag);
    else
        st->dag_id = xstrdup("supporter_experience");
    if (task[0])
        st->focus_task = xstrdup(task);
    if (run[0])
        st->run_id = xstrdup(run);
    st->tbl = tbl_new(STAGES_COLS, N_COLS);
    st->runs = tbl_new(RUNS_COLS, N_RCOLS);
    st->poll_ms = STAGES_POLL_MS;
    st->clear_task = data;        /* from stages_open_clear(), which hands it over */
    s->st = st;
    submit_load(st, false);
    return st;
}

static void stages_close(struct screen *s)
{
    struct stages *st = s->st;
    if (st->timer)
        loop_timer_cancel(s->tui->loop, st->timer);
    if (st->sub)
        delwin(st->sub);
    stages_follow_free(&st->follow);
    tbl_free(st->tbl);
    tbl_free(st->runs);
    airflow_ti_list_free(&st->tis);
    airflow_run_free(&st->run);
    stages_tree_free(&st->tree);
    airflow_task_list_free(&st->tasks);
    if (st->have_dag)
        airflow_dag_free(&st->dag);
    free(st->focus_task);
    free(st->dag_id);
    free(st->run_id);
    free(st->clear_task);
    free(st);
}

void stages_put_line(WINDOW *win, int y, const struct theme *th, enum theme_el el,
                     const char *raw)
{
    char *inert = text_inert(raw);
    char fit[1024];
    text_fit(inert, getmaxx(win) - 1, 1, fit, sizeof fit);
    wmove(win, y, 0);
    wclrtoeol(win);
    wattrset(win, theme_attr(th, el));
    mvwaddstr(win, y, 1, fit);
    wattrset(win, theme_attr(th, TH_NORMAL));
    free(inert);
}

int stages_put_wrapped(WINDOW *win, int y, int max_lines, const struct theme *th,
                       enum theme_el el, const char *raw)
{
    char *inert = text_inert(raw);
    const char *p = inert;
    int used = 0, w = getmaxx(win) - 2;
    while (*p && used < max_lines && w > 0) {
        char fit[1024];
        /* The last line allowed ends with an ellipsis when text remains. */
        bool last = used == max_lines - 1;
        text_fit(p, w, last, fit, sizeof fit);
        size_t n = strlen(fit);
        if (!n)
            break;
        if (!last && p[n]) {
            /* Break at a space when there is one in the second half. */
            char *sp = strrchr(fit, ' ');
            if (sp && sp - fit > (ptrdiff_t)(n / 2)) {
                *sp = '\0';
                n = (size_t)(sp - fit);
            }
        }
        wmove(win, y + used, 0);
        wclrtoeol(win);
        wattrset(win, theme_attr(th, el));
        mvwaddstr(win, y + used, 1, fit);
        wattrset(win, theme_attr(th, TH_NORMAL));
        p += n;
        while (*p == ' ')
            p++;
        used++;
    }
    free(inert);
    return used;
}

void stages_note_error(struct screen *s, const char *text)
{
    struct stages *st = s->st;
    snprintf(st->note, sizeof st->note, "%s", text);
    st->note_el = TH_STATUS_ERROR;
    tui_dirty(s, true);
}

static void stages_draw(struct screen *s, WINDOW *win, bool full)
{
    struct stages *st = s->st;
    const struct theme *th = &s->tui->th;
    int h = getmaxy(win), w = getmaxx(win);
    char line[1200];
    if (st->have_run)
        snprintf(line, sizeof line, "DAG %s%s  run %s  %s%s", st->dag_id,
                 st->have_dag && st->dag.is_paused ? " (paused)" : "", st->run.dag_run_id,
                 st->run.state ? st->run.state : "no state", st->run_id ? "" : "  (latest)");
    else
        snprintf(line, sizeof line, "DAG %s%s  %s", st->dag_id,
                 st->have_dag && st->dag.is_paused ? " (paused)" : "",
                 st->loaded ? "no runs yet" : "loading...");
    stages_put_line(win, 0, th, st->have_run ? stages_state_el(st->run.state) : TH_NORMAL, line);
    int top = STAGES_HEADER_LINES;
    if (h > 1 && st->runs_mode)
        stages_put_line(win, 1, th, TH_DIM,
                        "Runs, newest first.   Enter: show this run   Esc: back to the tasks");
    else if (h > 1 && st->note[0] && st->note_el == TH_STATUS_ERROR && h > STAGES_HEADER_LINES + STAGES_NOTE_MAX_LINES)
        top = 1 + stages_put_wrapped(win, 1, STAGES_NOTE_MAX_LINES, th, st->note_el, st->note);
    else if (h > 1)
        stages_put_line(win, 1, th, st->note[0] ? st->note_el : TH_DIM,
                        st->note[0] ? st->note
                                    : "Enter: detail and log   C: clear   R: runs   T: trigger   "
                                      "P: pause/unpause");
    if (top < STAGES_HEADER_LINES)
        top = STAGES_HEADER_LINES;
    if (h <= top)
        return;
    if (st->sub && (getmaxy(st->sub) != h - top || getmaxx(st->sub) != w || st->sub_y != top)) {
        delwin(st->sub);
        st->sub = NULL;
        full = true;
    }
    if (!st->sub) {
        st->sub = derwin(win, h - top, w, top, 0);
        st->sub_y = top;
    }
    if (st->sub && tbl_draw(st->runs_mode ? st->runs : st->tbl, st->sub, th, full))
        wsyncup(st->sub);
}

static bool stages_key(struct screen *s, enum action a, int ch)
{
    struct stages *st = s->st;
    struct tbl *tb = st->runs_mode ? st->runs : st->tbl;
    /* The / prompt takes every key, bound or not. */
    if (tbl_filtering(tb)) {
        tbl_key(tb, ACT_NONE, ch);
        s->text_entry = tbl_filtering(tb);
        tui_dirty(s, true);
        return true;
    }
    if (st->runs_mode && (a == ACT_ENTER || a == ACT_BACK || a == ACT_RUNS)) {
        const char *run = tbl_cursor_id(st->runs);
        st->runs_mode = false;
        if (a == ACT_ENTER && run)
            stages_show_run(s, run);
        tui_dirty(s, true);
        return true;
    }
    if (st->runs_mode && (a == ACT_CLEAR || a == ACT_TRIGGER || a == ACT_PAUSE)) {
        tui_message(s->tui, TUI_INFO, "pick a run first (Enter), or Esc");
        return true;
    }
    const char *task = tbl_cursor_id(st->tbl);
    switch (a) {
    case ACT_ENTER:
        if (task)
            stages_task_open(s->tui, st->dag_id, st->have_run ? st->run.dag_run_id : NULL, task);
        return true;
    case ACT_CLEAR:
        if (!st->have_run)
            tui_message(s->tui, TUI_WARN, "%s", st->loaded ? "no run to clear in" : "still loading");
        else if (task)
            stages_clear_open(s, st->dag_id, st->run.dag_run_id, task);
        return true;
    case ACT_RUNS:
        runs_show(st);
        return true;
    case ACT_TRIGGER:
        ask_change(st, true);
        return true;
    case ACT_PAUSE:
        ask_change(st, false);
        return true;
    case ACT_YANK:
        if (task)
            tui_clipboard(s->tui, task);
        return true;
    default:
        break;
    }
    if (!st->runs_mode && (a == ACT_SORT_NEXT || a == ACT_SORT_PREV || a == ACT_SORT_REVERSE)) {
        tui_message(s->tui, TUI_INFO, "the tree keeps the order of the DAG");
        return true;
    }
    if (a != ACT_NONE && tbl_key(tb, a, ch)) {
        s->text_entry = tbl_filtering(tb);
        tui_dirty(s, a == ACT_FILTER);
        return true;
    }
    return false;
}

static void stages_reload(struct screen *s)
{
    struct stages *st = s->st;
    if (st->runs_mode)
        runs_show(st);
    else
        submit_load(st, false);
}

static void stages_status(struct screen *s, char *out, size_t out_size)
{
    struct stages *st = s->st;
    struct tbl *tb = st->runs_mode ? st->runs : st->tbl;
    if (tbl_filtering(tb)) {
        char *in = text_inert(tbl_filter(tb));
        snprintf(out, out_size, "/%s_", in);
        free(in);
        return;
    }
    tbl_status(tb, out, out_size);
    if (st->follow.n) {
        size_t l = strlen(out);
        snprintf(out + l, out_size - l, "%swatching", l ? " | " : "");
    }
}

static const struct screen_ops stages_ops = {
    .name = "stages",
    .title = "Stages",
    .order = 6,
    .flags = SCREEN_TOP | SCREEN_FILTERABLE,
    .open = stages_open,
    .close = stages_close,
    .draw = stages_draw,
    .key = stages_key,
    .reload = stages_reload,
    .status = stages_status,
};
SCREEN_DEFINE(stages_ops);

static bool is_stages(struct screen *s)
{
    return s && s->ops == &stages_ops;
}

void stages_open_clear(struct tui *t, const char *dag_id, const char *task_id)
{
    /* Pushed, not switched to: Esc goes back to the screen that asked. */
    tui_push(t, &stages_ops, dag_id, xstrdup(task_id));
}
