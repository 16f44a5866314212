/* The Datasets screen: one row per configured dataset, with its freshness
 * (the newest archived load against the dataset's limit; STALE in the
 * error colour), loads by status and, for ODS datasets, the current
 * snapshot.  Enter opens the Loads screen narrowed to the dataset (Esc comes
 * back); i ingests the selected (or marked) datasets, A every dataset, on a
 * worker behind a progress dialog that can be sent to the background or
 * cancelled (what is unfinished is finished by the next run).  ingest_run
 * audits each run itself. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "app.h"
#include "buf.h"
#include "dataset.h"
#include "ingest.h"
#include "mem.h"
#include "tbl.h"
#include "tui.h"

#define PROGRESS_TICK_MS 250

enum { COL_NAME, COL_FRESH, COL_NEWEST, COL_AGE, COL_READY, COL_ACTIVE, COL_ARCHIVED, COL_ERRORED,
       COL_SNAPSHOT, N_COLS };

static const struct tbl_col DATASETS_COLS[N_COLS] = {
    { "Dataset", 0, 24, TBL_LEFT, false },
    { "Fresh", 5, 5, TBL_LEFT, false },
    { "Newest archived", 16, 6, TBL_LEFT, false },
    { "Age", 7, 3, TBL_RIGHT, false },
    { "Ready", 6, 3, TBL_RIGHT, true },
    { "-ing", 5, 3, TBL_RIGHT, true },
    { "Archived", 8, 4, TBL_RIGHT, true },
    { "Errored", 7, 3, TBL_RIGHT, true },
    { "Snapshot", 0, 4, TBL_LEFT, false },
};

struct datasets {
    struct screen *s;
    struct tbl *tbl;
    unsigned generation;
    bool pending, again;         /* one query at a time; changes meanwhile ask for one more */
    bool painted;
    char *select;                /* put the cursor here once loaded (`:datasets NAME`) */
};

/* ---- the rows ---- */

struct stats_job {
    struct datasets *ds;         /* touched only in done(), when not orphaned */
    unsigned generation;
    size_t n;
    char **names;
    long long *freshness;
    struct dataset_stats *stats;
    long long now;
    enum lk_status st;
    struct lk_error err;
};

static void stats_work(void *wctx, void *p)
{
    struct stats_job *j = p;
    err_clear(&j->err);
    PGconn *db = app_db(wctx, &j->err);
    if (!db) {
        j->st = LK_FAIL;
        return;
    }
    j->st = LK_OK;
    for (size_t i = 0; i < j->n && j->st == LK_OK; i++)
        j->st = dataset_stats_get(db, j->names[i], j->freshness[i], j->now, &j->stats[i], &j->err);
}

static long long in_progress(const struct dataset_stats *s)
{
    return s->counts[LOAD_INGESTING] + s->counts[LOAD_READY_FOR_ARCHIVING] + s->counts[LOAD_ARCHIVING] +
           s->counts[LOAD_READY_FOR_ERRORING] + s->counts[LOAD_ERRORING];
}

static void fmt_minute(long long t, char *out, size_t size)
{
    time_t tt = (time_t)t;
    struct tm tm;
    if (t <= 0 || !localtime_r(&tt, &tm) || !strftime(out, size, "%Y-%m-%d %H:%M", &tm))
        snprintf(out, size, "never");
}

static void add_row(struct tbl *t, const char *name, long long freshness, const struct dataset_stats *s,
                    long long now)
{
    char newest[32], age[32] = "-", ready[24], active[24], archived[24], errored[24];
    fmt_minute(s->newest_archived, newest, sizeof newest);
    if (s->newest_archived)
        app_age(now - s->newest_archived, age, sizeof age);
    snprintf(ready, sizeof ready, "%lld", s->counts[LOAD_READY]);
    snprintf(active, sizeof active, "%lld", in_progress(s));
    snprintf(archived, sizeof archived, "%lld", s->counts[LOAD_ARCHIVED]);
    snprintf(errored, sizeof errored, "%lld", s->counts[LOAD_ERRORED]);
    const char *fresh = freshness <= 0 ? "-" : s->stale ? "STALE" : "fresh";
    enum theme_el el = freshness <= 0 ? TH_DIM : s->stale ? TH_STATE_FAILED : TH_STATE_SUCCESS;
    char *snapshot;
    if (s->snapshot_key) {
        char started[32];
        fmt_minute(s->snapshot_started, started, sizeof started);
        snapshot = xasprintf("%s (%s, %lld loads)", s->snapshot_key, started, s->snapshot_loads);
    } else {
        snapshot = xstrdup("-");
    }
    const char *cells[N_COLS] = { name, fresh, newest, age, ready, active, archived, errored, snapshot };
    tbl_row(t, name, cells, COL_FRESH, el);
    free(snapshot);
}

static void stats_job_free(struct stats_job *j)
{
    for (size_t i = 0; i < j->n; i++) {
        free(j->names[i]);
        dataset_stats_free(&j->stats[i]);
    }
    free(j->names);
    free(j->freshness);
    free(j->stats);
    free(j);
}

static void datasets_reload(struct screen *s);

static void stats_done(struct loop *loop, void *p, bool orphaned)
{
    struct stats_job *j = p;
    if (!orphaned && j->generation == j->ds->generation) {
        struct datasets *ds = j->ds;
        ds->pending = false;
        if (j->st != LK_OK) {
            char text[1024];
            tbl_fail(ds->tbl, err_text(&j->err, text, sizeof text));
        } else {
            tbl_begin(ds->tbl, true);
            for (size_t i = 0; i < j->n; i++)
                add_row(ds->tbl, j->names[i], j->freshness[i], &j->stats[i], j->now);
            tbl_end(ds->tbl, false);
            if (ds->select) {
                tbl_set_cursor(ds->tbl, ds->select);
                free(ds->select);
                ds->select = NULL;
            }
            if (!ds->painted) {
                ds->painted = true;
                tui_timing(ds->s->tui, "data datasets");
                tui_mark_paint(ds->s->tui, "paint datasets");
            }
        }
        tui_dirty(ds->s, false);
        if (ds->again) {
            ds->again = false;
            datasets_reload(ds->s);
        }
    }
    stats_job_free(j);
}

static void datasets_reload(struct screen *s)
{
    struct datasets *ds = s->st;
    if (ds->pending) {
        ds->again = true;
        return;
    }
    const struct cfg_env *env = app_env(s->tui);
    struct stats_job *j = xcalloc(1, sizeof *j);
    j->ds = ds;
    j->generation = ++ds->generation;
    j->n = env ? env->n_datasets : 0;
    j->names = xcalloc(j->n + 1, sizeof *j->names);
    j->freshness = xcalloc(j->n + 1, sizeof *j->freshness);
    j->stats = xcalloc(j->n + 1, sizeof *j->stats);
    for (size_t i = 0; i < j->n; i++) {
        j->names[i] = xstrdup(env->datasets[i].name);
        j->freshness[i] = env->datasets[i].freshness_s;
    }
    j->now = (long long)time(NULL);
    ds->pending = true;
    tbl_loading(ds->tbl);
    tui_submit(s, stats_work, stats_done, j);
}

static void *datasets_open(struct screen *s, const char *arg, void *data)
{
    struct datasets *ds = xcalloc(1, sizeof *ds);
    ds->s = s;
    ds->tbl = tbl_new(DATASETS_COLS, N_COLS);
    ds->select = arg && *arg ? xstrdup(arg) : NULL;
    s->st = ds;
    const struct cfg_env *env = app_env(s->tui);
    if (!env || env->n_datasets == 0)
        tui_message(s->tui, TUI_INFO, "no [dataset \"NAME\"] sections in the configuration "
                                      "(see lakeop.conf(5))");
    datasets_reload(s);
    return ds;
}

static void datasets_close(struct screen *s)
{
    struct datasets *ds = s->st;
    tbl_free(ds->tbl);
    free(ds->select);
    free(ds);
}

static void datasets_draw(struct screen *s, WINDOW *win, bool full)
{
    struct datasets *ds = s->st;
    tbl_draw(ds->tbl, win, &s->tui->th, full);
}

static void datasets_notify(struct screen *s, const char *table)
{
    if (!strcmp(table, "loads") || !strcmp(table, "datasets"))
        datasets_reload(s);
}

/* Enter: the dataset's loads, on top of this screen. */
static void datasets_enter(struct screen *s)
{
    struct datasets *ds = s->st;
    const char *name = tbl_cursor_id(ds->tbl);
    if (!name)
        return;
    const struct screen_ops *loads = screen_find("loads");
    if (!loads) {
        tui_message(s->tui, TUI_WARN, "the loads screen is not part of this build");
        return;
    }
    char *arg = xasprintf("dataset:%s", name);
    tui_push(s->tui, loads, arg, NULL);
    free(arg);
}

/* ---- ingestion ---- */

struct ingest_job {
    struct tui *t;
    struct datasets *ds;         /* touched only in done(), when not orphaned */
    char **names;                /* NULL: every dataset */
    size_t n;
    volatile int cancel;
    struct dlg_progress *progress;
    unsigned timer;

    pthread_mutex_t mu;          /* guards what follows: the worker writes, the timer reads */
    char what[512];
    long long bytes, bytes_total, loads_done;

    struct ingest_totals tot;
    enum lk_status st;
    bool changed;                /* the re-check refused: nothing was started */
    struct buf why;
};

static void ingest_job_free(struct ingest_job *j)
{
    for (size_t i = 0; i < j->n; i++)
        free(j->names[i]);
    free(j->names);
    buf_free(&j->why);
    pthread_mutex_destroy(&j->mu);
    free(j);
}

/* On the worker. */
static void on_event(const struct ingest_event *ev, void *ud)
{
    struct ingest_job *j = ud;
    pthread_mutex_lock(&j->mu);
    snprintf(j->what, sizeof j->what, "%s: %s %s", ev->dataset, ev->key ? ev->key : "", ev->what);
    if (!strcmp(ev->what, "archived") || !strcmp(ev->what, "errored") || !strcmp(ev->what, "failed"))
        j->loads_done++;
    pthread_mutex_unlock(&j->mu);
}

static void on_progress(const struct lk_progress *p, void *ud)
{
    struct ingest_job *j = ud;
    pthread_mutex_lock(&j->mu);
    if (p->what)
        snprintf(j->what, sizeof j->what, "validating %s", p->what);
    j->bytes = p->bytes_done;
    j->bytes_total = p->bytes_total;
    pthread_mutex_unlock(&j->mu);
}

static void add_totals(struct ingest_totals *a, const struct ingest_totals *b)
{
    a->datasets += b->datasets;
    a->registered += b->registered;
    a->archived += b->archived;
    a->errored += b->errored;
    a->failed += b->failed;
    a->skipped += b->skipped;
}

/* Just before starting, on the worker: no target is being ingested by
 * another session now (it would be skipped half-way through a run of
 * several); all or nothing, like the confirmation was. */
static bool ingest_recheck(struct lk_ctx *ctx, struct ingest_job *j, struct lk_error *err)
{
    size_t n = j->names ? j->n : ctx->env->n_datasets;
    for (size_t i = 0; i < n && !j->changed; i++) {
        const char *name = j->names ? j->names[i] : ctx->env->datasets[i].name;
        bool busy = false;
        if (!cfg_dataset_find(ctx->env, name)) {
            buf_printf(&j->why, "dataset %s is no longer configured", name);
            j->changed = true;
        } else if (ingest_busy(ctx->db, name, &busy, err) != LK_OK) {
            return false;
        } else if (busy) {
            buf_printf(&j->why, "dataset %s is being ingested by another session now", name);
            j->changed = true;
        }
    }
    return true;
}

static void ingest_work(void *wctx, void *p)
{
    struct ingest_job *j = p;
    struct lk_error err;
    err_clear(&err);
    j->st = LK_OK;
    if (!app_db(wctx, &err)) {
        char text[1024];
        j->st = LK_FAIL;
        buf_puts(&j->why, err_text(&err, text, sizeof text));
        return;
    }
    struct lk_ctx *ctx = app_ctx(wctx);
    if (!ingest_recheck(ctx, j, &err) || j->changed) {
        char text[1024];
        j->st = LK_FAIL;
        if (!j->changed)
            buf_puts(&j->why, err_text(&err, text, sizeof text));
        return;
    }
    /* The context belongs to this worker thread and outlives the job. */
    lk_progress_fn old_progress = ctx->progress;
    void *old_ud = ctx->progress_ud;
    const volatile int *old_cancel = ctx->cancel;
    ctx->progress = on_progress;
    ctx->progress_ud = j;
    ctx->cancel = &j->cancel;
    size_t runs = j->names ? j->n : 1;
    for (size_t i = 0; i < runs && !j->cancel; i++) {
        struct ingest_totals tot;
        err_clear(&err);
        enum lk_status st = ingest_run(ctx, j->names ? j->names[i] : NULL, on_event, j, &tot, &err);
        add_totals(&j->tot, &tot);
        if (st != LK_OK) {
            char text[1024];
            if (j->st == LK_OK || st == LK_FAIL)
                j->st = st;
            buf_printf(&j->why, "%s%s", j->why.len ? "; " : "", err_text(&err, text, sizeof text));
        }
    }
    ctx->progress = old_progress;
    ctx->progress_ud = old_ud;
    ctx->cancel = old_cancel;
}

static void ingest_tick(struct loop *loop, void *ud)
{
    struct ingest_job *j = ud;
    char what[512];
    long long bytes, total, done;
    pthread_mutex_lock(&j->mu);
    memcpy(what, j->what, sizeof what);
    bytes = j->bytes;
    total = j->bytes_total;
    done = j->loads_done;
    pthread_mutex_unlock(&j->mu);
    dlg_progress_update(j->progress, what[0] ? what : "listing incoming files", bytes, total, done, -1);
}

static void ingest_cancel(void *ud)
{
    struct ingest_job *j = ud;
    j->cancel = 1;
}

static void ingest_done(struct loop *loop, void *p, bool orphaned)
{
    struct ingest_job *j = p;
    loop_timer_cancel(loop, j->timer);
    dlg_progress_close(j->progress);
    app_busy_end(j->t);
    const struct ingest_totals *t = &j->tot;
    if (j->changed)
        dlg_nothing_done(j->t, buf_cstr(&j->why));
    else
        tui_message(j->t, j->st == LK_OK ? TUI_INFO : TUI_ERROR,
                    "ingest %s: %lld registered, %lld archived, %lld errored, %lld failed, %lld skipped%s%s",
                    j->st == LK_OK ? "done" : "ended with errors", t->registered, t->archived, t->errored,
                    t->failed, t->skipped, j->why.len ? ": " : "", buf_cstr(&j->why));
    if (!orphaned)
        datasets_reload(j->ds->s);
    ingest_job_free(j);
}

static void ingest_confirmed(struct tui *t, bool ok, const char *input, void *ud)
{
    struct ingest_job *j = ud;
    if (!ok) {
        tui_message(t, TUI_INFO, "ingest: nothing started");
        ingest_job_free(j);
        return;
    }
    char *target = j->names ? NULL : xstrdup("every dataset");
    if (j->names) {
        struct buf b = BUF_INIT;
        for (size_t i = 0; i < j->n; i++)
            buf_printf(&b, "%s%s", i ? " " : "", j->names[i]);
        target = xstrdup(buf_cstr(&b));
        buf_free(&b);
    }
    j->progress = dlg_progress_open(t, "Ingest", target, ingest_cancel, j);
    free(target);
    j->timer = loop_timer_add(t->loop, PROGRESS_TICK_MS, true, ingest_tick, j);
    app_busy_begin(t, "ingesting");
    tui_submit(j->ds->s, ingest_work, ingest_done, j);
}

static void datasets_ingest(struct screen *s, bool all)
{
    struct datasets *ds = s->st;
    struct ingest_job *j = xcalloc(1, sizeof *j);
    j->t = s->tui;
    j->ds = ds;
    pthread_mutex_init(&j->mu, NULL);
    if (!all) {
        const char **marked = NULL;
        size_t n = tbl_marked(ds->tbl, &marked);
        const char *cursor = tbl_cursor_id(ds->tbl);
        if (n == 0 && !cursor) {
            free(marked);
            ingest_job_free(j);
            tui_message(s->tui, TUI_INFO, "ingest: no dataset selected (A ingests every dataset)");
            return;
        }
        j->n = n ? n : 1;
        j->names = xcalloc(j->n, sizeof *j->names);
        for (size_t i = 0; i < j->n; i++)
            j->names[i] = xstrdup(n ? marked[i] : cursor);
        free(marked);
    }
    struct buf target = BUF_INIT;
    for (size_t i = 0; j->names && i < j->n; i++)
        buf_printf(&target, "%s%s", i ? " " : "", j->names[i]);
    char *text = xasprintf("List the incoming prefix of %s, register new files as loads, validate "
                           "them and move each to raw-hist (or to the errored area, with the reason). "
                           "Loads left half-way by an earlier run are finished too.",
                           all ? "every configured dataset" : j->n == 1 ? "this dataset" : "these datasets");
    app_confirm(s->tui, all ? ACT_INGEST_ALL : ACT_INGEST, "Ingest", text,
                all ? "every dataset" : buf_cstr(&target), NULL, ingest_confirmed, j);
    free(text);
    buf_free(&target);
}

static bool datasets_key(struct screen *s, enum action act, int ch)
{
    switch (act) {
    case ACT_ENTER:
        datasets_enter(s);
        return true;
    case ACT_INGEST:
        datasets_ingest(s, false);
        return true;
    case ACT_INGEST_ALL:
        datasets_ingest(s, true);
        return true;
    default:
        return false;
    }
}

static struct tbl *datasets_table(struct screen *s)
{
    return ((struct datasets *)s->st)->tbl;
}

static const struct screen_ops datasets_ops = {
    .name = "datasets",
    .title = "Datasets",
    .order = 3,
    .flags = SCREEN_TOP | SCREEN_SORTABLE | SCREEN_FILTERABLE,
    .open = datasets_open,
    .close = datasets_close,
    .draw = datasets_draw,
    .key = datasets_key,
    .reload = datasets_reload,
    .on_notify = datasets_notify,
    .table = datasets_table,
};
SCREEN_DEFINE(datasets_ops);
