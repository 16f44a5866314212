/* The Jobs screen: every Zuora job of the environment, newest first, from
 * the job history (keyset paged, filtered on the server by status, object
 * or date as you type).  While any shown job runs, the screen asks Zuora
 * about the running ones on a worker at the watch interval (core/watch.h:
 * a round still in flight drops the next), stores the answers, and the
 * table follows through the database's change notifications.
 * A job Zuora does not know (90002), or one running past the watch
 * ceiling (stuck), is no longer asked about: its status shows a '?' and the
 * status line says why.  On opening, the session's last completed job is
 * fetched into the history, so that the scheduled exporter's jobs show.
 * Enter opens the job's detail; e submits an export (screens/export_dlg.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "app.h"
#include "db.h"
#include "export.h"
#include "export_dlg.h"
#include "jobs_cli.h"
#include "jobstore.h"
#include "mem.h"
#include "tbl.h"
#include "tui.h"
#include "watch.h"
#include "zuora.h"

#define JOBS_PAGE 200
#define JOBS_TICK_MS 1000
#define JOBS_MAX_POLLED 50
/* From this width on the Job column keeps the whole 32-hex id (operators
 * copy ids); Objects and From give up their room first. */
#define JOBS_FULL_ID_COLS 100
#define JOBS_ID_LEN 32

enum { COL_JOB, COL_STATUS, COL_ORIGIN, COL_SUBMITTED, COL_AGE, COL_DURATION, COL_BATCHES,
       COL_RECORDS, COL_FROM, COL_OBJECTS, N_COLS };

static const struct tbl_col JOBS_COLS[N_COLS] = {
    { "Job", 32, 8, TBL_LEFT, false },
    { "Status", 10, 6, TBL_LEFT, false },
    { "Origin", 9, 5, TBL_LEFT, false },
    { "Submitted", 19, 10, TBL_LEFT, false },
    { "Age", 7, 4, TBL_RIGHT, false },
    { "Took", 7, 4, TBL_RIGHT, false },
    { "Batches", 14, 5, TBL_LEFT, false },
    { "Records", 9, 5, TBL_RIGHT, true },
    { "From", 19, 6, TBL_LEFT, false },
    { "Objects", 0, 8, TBL_LEFT, false },
};

struct jobs {
    struct screen *s;
    struct tbl *tbl;
    unsigned generation;
    unsigned timer;
    struct watch w;
    struct zuora_client *zc;     /* one token for the screen; lent to one worker at a time */
    char **running;              /* ids of the shown jobs that have not ended */
    size_t n_running;
    char **unknown;              /* jobs Zuora answered 90002 for: not asked again */
    size_t n_unknown;
    char **stuck;                /* jobs running past the ceiling: not asked again */
    size_t n_stuck;
    char **asked;                /* jobs asked about since the screen opened */
    size_t n_asked;
    long long ceiling_s;
    char poll_note[256];         /* the last poll's trouble, for the status line */
    char sync_note[256];         /* the last-completed-job fetch's trouble */
};

struct jobs_query {
    struct jobs *js;
    unsigned generation;
    bool replace;
    char env[128];
    char before[32];
    char filter[256];
    int limit;
    PGresult *res;
    struct lk_error err;
};

static const char JOBS_SQL[] =
    "SELECT j.id, j.job_id, j.status, j.origin, extract(epoch FROM j.submitted_at)::bigint,"
    "       extract(epoch FROM coalesce(j.start_time, j.submitted_at))::bigint,"
    "       coalesce(extract(epoch FROM j.ended_at)::bigint, 0), coalesce(j.incremental_time, ''),"
    "       coalesce(b.total, 0), coalesce(b.done, 0), coalesce(b.failed, 0), coalesce(b.records, 0),"
    "       coalesce(b.names, '')"
    "  FROM lakeop.zuora_jobs j"
    "  LEFT JOIN LATERAL (SELECT count(*) AS total, count(*) FILTER (WHERE status = 'completed') AS done,"
    "                            count(*) FILTER (WHERE status IN ('aborted', 'cancelled')) AS failed,"
    "                            sum(record_count) AS records, string_agg(name, ' ' ORDER BY name) AS names"
    "                       FROM lakeop.zuora_batches WHERE job_id = j.job_id) b ON true"
    " WHERE j.env = $1 AND ($2 = '' OR j.id < (SELECT id FROM lakeop.zuora_jobs WHERE job_id = $2))"
    "   AND ($3 = '' OR concat_ws(' ', j.job_id, j.status, j.origin, j.incremental_time,"
    "                             to_char(j.submitted_at AT TIME ZONE 'UTC', 'YYYY-MM-DD'), b.names) ILIKE"
    "                   '%' || replace(replace(replace($3, '\\', '\\\\'), '%', '\\%'), '_', '\\_') || '%')"
    " ORDER BY j.id DESC LIMIT $4::int";

static void query_work(void *wctx, void *p)
{
    struct jobs_query *q = p;
    err_clear(&q->err);
    PGconn *db = app_db(wctx, &q->err);
    if (!db)
        return;
    char limit[16];
    snprintf(limit, sizeof limit, "%d", q->limit);
    const char *params[] = { q->env, q->before, q->filter, limit };
    db_exec(db, JOBS_SQL, 4, params, &q->res, &q->err);
}

static enum theme_el jobs_status_el(const char *status)
{
    if (strcmp(status, "completed") == 0)
        return TH_STATE_SUCCESS;
    if (strcmp(status, "error") == 0 || strcmp(status, "aborted") == 0 || strcmp(status, "cancelled") == 0)
        return TH_STATE_FAILED;
    if (strcmp(status, "executing") == 0)
        return TH_STATE_RUNNING;
    return TH_STATE_QUEUED;
}

static void ids_free(char ***ids, size_t *n)
{
    for (size_t i = 0; i < *n; i++)
        free((*ids)[i]);
    free(*ids);
    *ids = NULL;
    *n = 0;
}

static bool ids_has(char *const *ids, size_t n, const char *id)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(ids[i], id) == 0)
            return true;
    return false;
}

static void ids_add(char ***ids, size_t *n, const char *id)
{
    if (ids_has(*ids, *n, id))
        return;
    *ids = xrealloc(*ids, (*n + 1) * sizeof **ids);
    (*ids)[(*n)++] = xstrdup(id);
}

static void forget_running(struct jobs *js)
{
    ids_free(&js->running, &js->n_running);
}

static void jobs_tick(struct loop *loop, void *ud);

static void query_done(struct loop *loop, void *p, bool orphaned)
{
    struct jobs_query *q = p;
    if (!orphaned && q->generation == q->js->generation) {
        struct jobs *js = q->js;
        if (!q->res) {
            char text[1024];
            tbl_fail(js->tbl, err_text(&q->err, text, sizeof text));
        } else {
            int n = PQntuples(q->res);
            long long now = (long long)time(NULL);
            if (q->replace)
                forget_running(js);
            tbl_begin(js->tbl, q->replace);
            for (int i = 0; i < n; i++) {
                const char *status = PQgetvalue(q->res, i, 2);
                long long submitted = atoll(PQgetvalue(q->res, i, 4));
                long long started = atoll(PQgetvalue(q->res, i, 5));
                long long ended_at = atoll(PQgetvalue(q->res, i, 6));
                bool ended = zuora_status_terminal(status);
                char when[32], age[32], took[32], batches[64], records[32];
                app_time(submitted, when, sizeof when);
                app_age(now - submitted, age, sizeof age);
                /* An ended job lakeop never saw end has no duration to
                 * show: "0 s" would be a made-up one. */
                long long secs = jobstore_duration(started, submitted, ended_at, ended, now);
                if (secs < 0)
                    snprintf(took, sizeof took, "-");
                else
                    app_age(secs, took, sizeof took);
                int total = atoi(PQgetvalue(q->res, i, 8)), done = atoi(PQgetvalue(q->res, i, 9));
                int failed = atoi(PQgetvalue(q->res, i, 10));
                int running = total - done - failed;
                int len = snprintf(batches, sizeof batches, "%d/%d done", done, total);
                if (failed && len > 0)
                    len += snprintf(batches + len, sizeof batches - (size_t)len, " %d failed", failed);
                if (running > 0 && !ended && len > 0)
                    snprintf(batches + len, sizeof batches - (size_t)len, " %d running", running);
                snprintf(records, sizeof records, "%s", PQgetvalue(q->res, i, 11));
                const char *from = PQgetvalue(q->res, i, 7);
                const char *id = PQgetvalue(q->res, i, 1);
                /* Zuora lets no job run this long: once it has said so
                 * again (the stored status may just be old), it is stuck. */
                if (!ended && now - started > js->ceiling_s && ids_has(js->asked, js->n_asked, id))
                    ids_add(&js->stuck, &js->n_stuck, id);
                bool dropped = !ended && (ids_has(js->unknown, js->n_unknown, id) || ids_has(js->stuck, js->n_stuck, id));
                char shown[64];
                snprintf(shown, sizeof shown, "%s%s", status, dropped ? "?" : "");
                const char *cells[N_COLS] = {
                    id, shown, PQgetvalue(q->res, i, 3), when, age, took, batches,
                    records, *from ? from : strcmp(PQgetvalue(q->res, i, 3), "lookup") ? "afterLastIncrement" : "-",
                    PQgetvalue(q->res, i, 12),
                };
                enum theme_el el = failed && !strcmp(status, "completed") ? TH_STATE_FAILED : jobs_status_el(status);
                tbl_row(js->tbl, PQgetvalue(q->res, i, 1), cells, COL_STATUS, el);
                if (!ended && !dropped && js->n_running < JOBS_MAX_POLLED)
                    ids_add(&js->running, &js->n_running, id);
            }
            tbl_end(js->tbl, n == q->limit);
            /* Running jobs just appeared: ask Zuora now, not at the next tick. */
            jobs_tick(loop, js);
        }
        tui_dirty(js->s, false);
        tui_header_dirty(js->s->tui);
    }
    if (q->res)
        PQclear(q->res);
    free(q);
}

static void jobs_query(struct jobs *js, const char *before, bool replace, int limit)
{
    struct jobs_query *q = xcalloc(1, sizeof *q);
    q->js = js;
    q->generation = js->generation;
    q->replace = replace;
    q->limit = limit;
    snprintf(q->env, sizeof q->env, "%s", app_env(js->s->tui)->name);
    snprintf(q->before, sizeof q->before, "%s", before ? before : "");
    snprintf(q->filter, sizeof q->filter, "%s", tbl_filter(js->tbl));
    tbl_loading(js->tbl);
    tui_submit(js->s, query_work, query_done, q);
}

/* The page after a job: keyset on the row id behind the job id. */
static void jobs_fetch(struct tbl *t, const char *after_id, void *ud)
{
    jobs_query(ud, after_id, false, JOBS_PAGE);
}

static void jobs_reload(struct screen *s)
{
    struct jobs *js = s->st;
    size_t loaded = tbl_loaded(js->tbl);
    js->generation++;
    jobs_query(js, NULL, true, loaded > JOBS_PAGE ? (int)loaded : JOBS_PAGE);
}

static void jobs_filter(struct tbl *t, const char *filter, void *ud)
{
    struct jobs *js = ud;
    js->generation++;
    jobs_query(js, NULL, true, JOBS_PAGE);
}

/* ---- live: ask Zuora about the running jobs, one round at a time ---- */

struct poll_round {
    struct jobs *js;
    struct zuora_client *zc;
    const struct cfg_env *env;
    char **ids;
    size_t n;
    bool *unknown;               /* per id: Zuora answered 90002 */
    size_t answered;
    long retry_after;            /* the longest Retry-After of any failed poll */
    struct lk_error err;         /* the first failure */
    bool failed;
};

static long long mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void poll_work(void *wctx, void *p)
{
    struct poll_round *r = p;
    struct lk_error err;
    err_clear(&err);
    PGconn *db = app_db(wctx, &err);
    if (!db) {
        r->failed = true;
        r->err = err;
        return;
    }
    struct lk_ctx *ctx = app_ctx(wctx);
    zuora_client_set_http(r->zc, ctx->http);
    for (size_t i = 0; i < r->n; i++) {
        struct zuora_job job;
        err_clear(&err);
        enum lk_status st = zuora_job_get(r->zc, r->ids[i], &job, &err);
        if (st == LK_NOTFOUND) {
            r->unknown[i] = true;
            continue;
        }
        long retry_after = st == LK_OK ? -1 : zuora_client_retry_after(r->zc);
        if (st == LK_OK) {
            st = jobstore_save_job(db, r->env->name, &job, JOBSTORE_LOOKUP, NULL, r->env->zuora_timezone, &err);
            zuora_job_free(&job);
        }
        if (st == LK_OK) {
            r->answered++;
            continue;
        }
        if (retry_after > r->retry_after)
            r->retry_after = retry_after;
        if (!r->failed) {
            r->failed = true;
            r->err = err;
        }
        /* Throttled or down: the rest of the round would fare no better. */
        if (err.retryable)
            break;
    }
}

static void poll_done(struct loop *loop, void *p, bool orphaned)
{
    struct poll_round *r = p;
    if (orphaned) {
        /* The screen closed while this round ran: the round owns the client now. */
        zuora_client_free(r->zc);
    } else {
        struct jobs *js = r->js;
        bool forgot = false;
        for (size_t i = 0; i < r->n; i++)
            ids_add(&js->asked, &js->n_asked, r->ids[i]);
        for (size_t i = 0; i < r->n; i++)
            if (r->unknown[i]) {
                ids_add(&js->unknown, &js->n_unknown, r->ids[i]);
                forgot = true;
            }
        if (r->failed && r->answered == 0) {
            watch_end_error(&js->w, mono_ms(), r->retry_after);
            char text[600];
            snprintf(js->poll_note, sizeof js->poll_note, "Zuora poll failed: %s",
                     err_text(&r->err, text, sizeof text));
            /* A watch that gave up starts afresh with the next reload. */
            if (js->w.gave_up)
                watch_init(&js->w, WATCH_DEFAULT_INTERVAL_MS, mono_ms() + WATCH_MAX_BACKOFF_MS);
        } else {
            watch_end_ok(&js->w, mono_ms(), false);
            /* One job throttled in a round that otherwise went well still
             * asks the whole screen to wait. */
            watch_defer(&js->w, mono_ms(), r->retry_after);
            js->poll_note[0] = '\0';
        }
        /* Show the '?' and stop asking (the reload rebuilds the list). */
        if (forgot)
            jobs_reload(js->s);
        tui_dirty(js->s, false);
    }
    for (size_t i = 0; i < r->n; i++)
        free(r->ids[i]);
    free(r->ids);
    free(r->unknown);
    free(r);
}

static void jobs_tick(struct loop *loop, void *ud)
{
    struct jobs *js = ud;
    if (js->n_running == 0 || !js->zc)
        return;
    if (!watch_begin(&js->w, mono_ms()))
        return;
    struct poll_round *r = xcalloc(1, sizeof *r);
    r->js = js;
    r->zc = js->zc;
    r->env = app_env(js->s->tui);
    r->retry_after = -1;
    r->ids = xcalloc(js->n_running, sizeof *r->ids);
    r->unknown = xcalloc(js->n_running, sizeof *r->unknown);
    for (size_t i = 0; i < js->n_running; i++)
        r->ids[r->n++] = xstrdup(js->running[i]);
    tui_submit(js->s, poll_work, poll_done, r);
}

/* ---- the scheduled exporter's last job, fetched once on opening ---- */

struct sync {
    struct jobs *js;
    struct lk_error err;
    enum lk_status st;
};

static void sync_work(void *wctx, void *p)
{
    struct sync *y = p;
    err_clear(&y->err);
    struct lk_ctx *ctx = app_ctx(wctx);
    if (!app_db(wctx, &y->err)) {
        y->st = LK_FAIL;
        return;
    }
    /* A client of its own: the screen's may be out on a poll round. */
    struct zuora_client *zc = zuora_client_for(ctx);
    y->st = export_note_last_completed(ctx, zc, NULL, 0, &y->err);
    zuora_client_free(zc);
}

static void sync_done(struct loop *loop, void *p, bool orphaned)
{
    struct sync *y = p;
    if (!orphaned) {
        char text[600];
        if (y->st != LK_OK)
            snprintf(y->js->sync_note, sizeof y->js->sync_note, "%s", err_text(&y->err, text, sizeof text));
        else
            y->js->sync_note[0] = '\0';
        tui_dirty(y->js->s, false);
    }
    free(y);
}

/* ---- the screen ---- */

static void *jobs_open(struct screen *s, const char *arg, void *data)
{
    struct jobs *js = xcalloc(1, sizeof *js);
    js->s = s;
    js->tbl = tbl_new(JOBS_COLS, N_COLS);
    tbl_on_fetch(js->tbl, jobs_fetch, js);
    tbl_on_filter(js->tbl, jobs_filter, js);
    s->st = js;
    const struct cfg_env *env = app_env(s->tui);
    if (env->zuora_url && *env->zuora_url) {
        js->zc = zuora_client_new(env, NULL);
        zuora_client_use_tokens(js->zc, app_zuora_tokens(s->tui));
        /* The watch spaces retries: one request per job per interval. */
        zuora_client_set_attempts(js->zc, 1);
    }
    watch_init(&js->w, WATCH_DEFAULT_INTERVAL_MS, mono_ms());
    js->ceiling_s = jobs_watch_ceiling_ms() / 1000;
    js->timer = loop_timer_add(s->tui->loop, JOBS_TICK_MS, true, jobs_tick, js);
    jobs_query(js, NULL, true, JOBS_PAGE);
    if (js->zc) {
        struct sync *y = xcalloc(1, sizeof *y);
        y->js = js;
        tui_submit(s, sync_work, sync_done, y);
    }
    return js;
}

static void jobs_close(struct screen *s)
{
    struct jobs *js = s->st;
    loop_timer_cancel(s->tui->loop, js->timer);
    forget_running(js);
    ids_free(&js->unknown, &js->n_unknown);
    ids_free(&js->stuck, &js->n_stuck);
    ids_free(&js->asked, &js->n_asked);
    tbl_free(js->tbl);
    /* A round still on a worker keeps the client and frees it when done. */
    if (!js->w.in_flight)
        zuora_client_free(js->zc);
    free(js);
}

static void jobs_draw(struct screen *s, WINDOW *win, bool full)
{
    struct jobs *js = s->st;
    int id_width = getmaxx(win) >= JOBS_FULL_ID_COLS ? JOBS_ID_LEN : JOBS_COLS[COL_JOB].min_width;
    tbl_set_min_width(js->tbl, COL_JOB, id_width);
    tbl_draw(js->tbl, win, &s->tui->th, full);
}

static void jobs_notify(struct screen *s, const char *table)
{
    if (strcmp(table, "zuora_jobs") == 0 || strcmp(table, "zuora_batches") == 0)
        jobs_reload(s);
}

static bool jobs_key(struct screen *s, enum action act, int ch)
{
    struct jobs *js = s->st;
    switch (act) {
    case ACT_ENTER: {
        const char *id = tbl_cursor_id(js->tbl);
        if (id)
            tui_open(s->tui, "job", id);
        return true;
    }
    case ACT_YANK: {
        const char *id = tbl_cursor_id(js->tbl);
        if (id) {
            tui_clipboard(s->tui, id);
            tui_message(s->tui, TUI_INFO, "copied job id %s", id);
        }
        return true;
    }
    case ACT_EXPORT:
        export_dlg_open(s);
        return true;
    default:
        return false;
    }
}

static struct tbl *jobs_table(struct screen *s)
{
    return ((struct jobs *)s->st)->tbl;
}

static void jobs_status(struct screen *s, char *out, size_t out_size)
{
    struct jobs *js = s->st;
    int n = 0;
    out[0] = '\0';
    if (js->poll_note[0])
        n = snprintf(out, out_size, "%s", js->poll_note);
    else if (js->n_running)
        n = snprintf(out, out_size, "live: %zu running, every %lld s", js->n_running, js->w.interval_ms / 1000);
    if (js->n_unknown && n >= 0 && (size_t)n < out_size)
        n += snprintf(out + n, out_size - (size_t)n, "%s?: %zu unknown to Zuora (90002) %s", n ? "; " : "",
                      js->n_unknown, js->unknown[0]);
    if (js->n_stuck && n >= 0 && (size_t)n < out_size)
        n += snprintf(out + n, out_size - (size_t)n, "%s?: %zu stuck, running over %lld h (Zuora's limit) %s",
                      n ? "; " : "", js->n_stuck, js->ceiling_s / 3600, js->stuck[0]);
    if (js->sync_note[0] && n >= 0 && (size_t)n < out_size)
        n += snprintf(out + n, out_size - (size_t)n, "%s%s", n ? "; " : "", js->sync_note);
    if (n >= 0 && (size_t)n < out_size) {
        char t[256];
        tbl_status(js->tbl, t, sizeof t);
        snprintf(out + n, out_size - (size_t)n, "%s%s", n ? " | " : "", t);
    }
}

static const struct screen_ops jobs_ops = {
    .name = "jobs",
    .title = "Jobs",
    .order = 2,
    .flags = SCREEN_TOP | SCREEN_SORTABLE | SCREEN_FILTERABLE,
    .open = jobs_open,
    .close = jobs_close,
    .draw = jobs_draw,
    .key = jobs_key,
    .reload = jobs_reload,
    .on_notify = jobs_notify,
    .table = jobs_table,
    .status = jobs_status,
};
SCREEN_DEFINE(jobs_ops);
