/* Copying a job's batches from Job detail (c): the plan, on a worker (what
 * is at each target now, whether copy_already_done() says it is there, the
 * size of an earlier copy), shown on the plan screen with a force toggle;
 * the confirmation (typed in a protected environment) re-checks that Job
 * detail still shows the same job with the same batches selected; then the
 * copy runs on a worker behind the progress dialog.  copy_batch() verifies,
 * commits, records and audits each file; a cancel leaves nothing partial.
 *
 * The worker has its own store (on the worker's HTTP client) and its own
 * Zuora client on a second HTTP client, because copy_stream() downloads in
 * a thread of its own while the store writes in the worker's. */
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "app.h"
#include "buf.h"
#include "copy.h"
#include "db.h"
#include "dlg.h"
#include "http.h"
#include "job_detail.h"
#include "mem.h"
#include "store.h"
#include "text.h"
#include "tui.h"

#define JC_TICK_MS 250

enum jc_phase { JC_PLANNING, JC_PLANNED, JC_RUNNING };
enum jc_state { JI_WAITING, JI_COPYING, JI_COPIED, JI_METADATA, JI_ALREADY, JI_FAILED, JI_CANCELLED };

struct jc_item {
    char *batch_id, *name, *file_id, *target, *meta_url;
    char **segments;
    size_t n_segments;
    struct copy_spec spec;
    /* The plan (written by the plan worker, read on the UI thread after). */
    bool already;
    struct store_object_info csv_now, meta_now;
    long long prev_bytes;          /* an earlier copy of this batch's file; -1 unknown */
    char plan_error[800];
    /* The run (under mu while the copy worker runs). */
    enum jc_state state;
    char reason[800];
    long long finished_at;
};

struct job_copy {
    struct tui *t;
    struct screen *host;           /* Job detail; NULL once detached */
    job_copy_changed_fn changed;
    void *ud;
    char *job_id;
    struct jc_item *items;
    size_t n;
    bool force;
    enum jc_phase phase;
    volatile int cancel;
    struct screen *plan;           /* the plan screen while it is shown */
    struct dlg_progress *progress;
    unsigned timer;
    enum lk_status plan_status;
    char plan_err[1400];

    pthread_mutex_t mu;            /* the copy worker writes these, the UI reads them */
    size_t cur;
    long long bytes, bytes_total, records, records_total;
};

static void fmt_bytes(long long n, char *out, size_t size)
{
    if (n < 0)
        snprintf(out, size, "unknown");
    else if (n < 1024)
        snprintf(out, size, "%lld B", n);
    else if (n < 1024 * 1024)
        snprintf(out, size, "%.1f KiB", (double)n / 1024);
    else if (n < 1024LL * 1024 * 1024)
        snprintf(out, size, "%.1f MiB", (double)n / (1024 * 1024));
    else
        snprintf(out, size, "%.2f GiB", (double)n / (1024.0 * 1024 * 1024));
}

static void job_copy_free(struct job_copy *c)
{
    for (size_t i = 0; i < c->n; i++) {
        struct jc_item *it = &c->items[i];
        free(it->batch_id);
        free(it->name);
        free(it->file_id);
        free(it->target);
        free(it->meta_url);
        for (size_t k = 0; k < it->n_segments; k++)
            free(it->segments[k]);
        free(it->segments);
        store_object_info_free(&it->csv_now);
        store_object_info_free(&it->meta_now);
    }
    free(c->items);
    free(c->job_id);
    pthread_mutex_destroy(&c->mu);
    free(c);
}

/* The copy is over (or never started): the host hears it last. */
static void finish(struct job_copy *c)
{
    if (c->host && c->changed)
        c->changed(c->ud, c, true);
    job_copy_free(c);
}

static void notify(struct job_copy *c)
{
    if (c->host && c->changed)
        c->changed(c->ud, c, false);
}

/* ---- the plan: what is at each target now -------------------------------- */

static void plan_work(void *wctx, void *p)
{
    struct job_copy *c = p;
    struct lk_error err;
    err_clear(&err);
    PGconn *db = app_db(wctx, &err);
    struct lk_ctx *ctx = app_ctx(wctx);
    struct store *st = NULL;
    if (!db || store_open(ctx->env, ctx->http, &st, &err) != LK_OK) {
        c->plan_status = err.status ? err.status : LK_FAIL;
        err_text(&err, c->plan_err, sizeof c->plan_err);
        cfg_redact(ctx->cfg, c->plan_err);
        return;
    }
    for (size_t i = 0; i < c->n; i++) {
        struct jc_item *it = &c->items[i];
        err_clear(&err);
        enum lk_status rc = copy_check_bucket(st, it->target, &err);
        if (rc == LK_OK)
            rc = store_head_url(st, it->target, &it->csv_now, &err);
        if (rc == LK_OK)
            rc = store_head_url(st, it->meta_url, &it->meta_now, &err);
        if (rc == LK_OK)
            rc = copy_already_done(ctx, st, &it->spec, &it->already, &err);
        if (rc != LK_OK) {
            err_text(&err, it->plan_error, sizeof it->plan_error);
            cfg_redact(ctx->cfg, it->plan_error);
        }
        const char *params[] = { it->batch_id };
        PGresult *res = NULL;
        struct lk_error qerr;
        err_clear(&qerr);
        if (db_exec(db, "SELECT copied_bytes FROM lakeop.zuora_batches WHERE batch_id = $1 AND copied_bytes IS NOT NULL",
                    1, params, &res, &qerr) == LK_OK && PQntuples(res) == 1)
            it->prev_bytes = atoll(PQgetvalue(res, 0, 0));
        if (res)
            PQclear(res);
    }
    store_free(st);
    c->plan_status = LK_OK;
}

/* ---- the plan screen ------------------------------------------------------- */

struct plan_view {
    struct job_copy *c;
    char **lines;
    enum theme_el *els;
    size_t n, top;
};

static void add_line(struct plan_view *v, enum theme_el el, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void add_line(struct plan_view *v, enum theme_el el, const char *fmt, ...)
{
    v->lines = xrealloc(v->lines, (v->n + 1) * sizeof *v->lines);
    v->els = xrealloc(v->els, (v->n + 1) * sizeof *v->els);
    va_list ap, again;
    va_start(ap, fmt);
    va_copy(again, ap);
    int len = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    char *text = xmalloc(len > 0 ? (size_t)len + 1 : 1);
    vsnprintf(text, len > 0 ? (size_t)len + 1 : 1, fmt, again);
    va_end(again);
    v->lines[v->n] = text;
    v->els[v->n++] = el;
}

static void clear_lines(struct plan_view *v)
{
    for (size_t i = 0; i < v->n; i++)
        free(v->lines[i]);
    free(v->lines);
    free(v->els);
    v->lines = NULL;
    v->els = NULL;
    v->n = 0;
}

static void existing(struct plan_view *v, const char *label, const char *url,
                     const struct store_object_info *now)
{
    if (now->exists) {
        char size[32], when[32];
        fmt_bytes(now->size, size, sizeof size);
        app_time(now->mtime, when, sizeof when);
        add_line(v, TH_STATUS_WARN, "  %-9s %s  (overwrites %s of %s)", label, url, size, when);
    } else {
        add_line(v, TH_NORMAL, "  %-9s %s  (new)", label, url);
    }
}

static size_t count_to_copy(const struct job_copy *c)
{
    size_t n = 0;
    for (size_t i = 0; i < c->n; i++)
        n += c->force || !c->items[i].already;
    return n;
}

static void build_lines(struct plan_view *v)
{
    struct job_copy *c = v->c;
    const struct cfg_env *env = app_env(c->t);
    clear_lines(v);
    size_t todo = count_to_copy(c);
    size_t was_copied = 0;
    for (size_t i = 0; i < c->n; i++)
        was_copied += c->items[i].already;
    add_line(v, env->protected_env ? TH_STATUS_ERROR : TH_NORMAL,
             "Copy %zu of %zu file%s of job %s to the raw buckets of environment %s%s", todo, c->n,
             c->n == 1 ? "" : "s", c->job_id, env->name, env->protected_env ? " (PROTECTED)" : "");
    add_line(v, TH_DIM, "c or Enter: copy (asks to confirm)   f: force is %s   Esc: back, nothing copied",
             c->force ? "ON (already-copied files are copied again)" : "OFF (already-copied files are skipped)");
    if (was_copied)
        add_line(v, TH_STATUS_WARN, "%zu already copied: %s", was_copied,
                 c->force ? "copied again (force)" : "skipped unless you press f");
    for (size_t i = 0; i < c->n; i++) {
        const struct jc_item *it = &c->items[i];
        add_line(v, TH_NORMAL, "%s", "");
        add_line(v, TH_TABLE_HEADER, "%s", it->name);
        add_line(v, TH_NORMAL, "  %-9s %s", "job", c->job_id);
        add_line(v, TH_NORMAL, "  %-9s %s", "batch", it->batch_id);
        if (it->file_id)
            add_line(v, TH_NORMAL, "  %-9s %s", "file", it->file_id);
        for (size_t k = 0; k < it->n_segments; k++)
            add_line(v, TH_NORMAL, "  segment %-2zu %s", k + 1, it->segments[k]);
        add_line(v, TH_NORMAL, "  %-9s %lld", "records", it->spec.record_count);
        char size[32];
        fmt_bytes(it->prev_bytes, size, sizeof size);
        if (it->prev_bytes >= 0)
            add_line(v, TH_NORMAL, "  %-9s %s (as the last copy of this file)", "size", size);
        else
            add_line(v, TH_NORMAL, "  %-9s size known when the download starts", "size");
        existing(v, "csv", it->target, &it->csv_now);
        existing(v, "metadata", it->meta_url, &it->meta_now);
        if (it->plan_error[0])
            add_line(v, TH_STATUS_ERROR, "  %-9s could not look at the target: %s", "warning", it->plan_error);
        if (it->already)
            add_line(v, c->force ? TH_STATUS_WARN : TH_DIM, "  %-9s already copied (same size and ETag): %s",
                     "state", c->force ? "copied again (force)" : "skipped");
    }
}

static void *plan_open(struct screen *s, const char *arg, void *data)
{
    if (!data) {
        tui_message(s->tui, TUI_WARN, "a copy plan opens from Job detail (c on a batch)");
        return NULL;
    }
    struct plan_view *v = xcalloc(1, sizeof *v);
    v->c = data;
    v->c->plan = s;
    build_lines(v);
    return v;
}

static void plan_close(struct screen *s)
{
    struct plan_view *v = s->st;
    v->c->plan = NULL;
    /* Left without confirming: the copy never starts. */
    if (v->c->phase != JC_RUNNING) {
        tui_message(s->tui, TUI_INFO, "copy: nothing was copied");
        finish(v->c);
    }
    clear_lines(v);
    free(v);
}

static void plan_draw(struct screen *s, WINDOW *win, bool full)
{
    struct plan_view *v = s->st;
    const struct theme *th = &s->tui->th;
    int h = getmaxy(win), w = getmaxx(win);
    werase(win);
    for (int y = 0; y < h && v->top + (size_t)y < v->n; y++) {
        size_t i = v->top + (size_t)y;
        char *inert = text_inert(v->lines[i]);
        char fit[2048];
        text_fit(inert, w - 1, 1, fit, sizeof fit);
        wattrset(win, theme_attr(th, v->els[i]));
        mvwaddstr(win, y, 1, fit);
        wattrset(win, theme_attr(th, TH_NORMAL));
        free(inert);
    }
}

static bool plan_still_valid(struct tui *t, void *ud, char *why, size_t why_size)
{
    struct job_copy *c = ud;
    if (!c->plan || tui_top(t) != c->plan) {
        snprintf(why, why_size, "the copy plan is no longer shown");
        return false;
    }
    if (!c->host) {
        snprintf(why, why_size, "Job detail of %s was closed", c->job_id);
        return false;
    }
    const char **ids = xcalloc(c->n, sizeof *ids);
    const char **files = xcalloc(c->n, sizeof *files);
    for (size_t i = 0; i < c->n; i++) {
        ids[i] = c->items[i].batch_id;
        files[i] = c->items[i].file_id ? c->items[i].file_id : c->items[i].segments[0];
    }
    bool ok = jobd_selection_is(c->host, c->job_id, ids, files, c->n, why, why_size);
    free(ids);
    free(files);
    return ok;
}

static void on_progress(const struct lk_progress *p, void *ud)
{
    struct job_copy *c = ud;
    pthread_mutex_lock(&c->mu);
    c->bytes = p->bytes_done;
    c->bytes_total = p->bytes_total;
    c->records = p->records_done;
    c->records_total = p->records_total;
    pthread_mutex_unlock(&c->mu);
}

static void run_work(void *wctx, void *p)
{
    struct job_copy *c = p;
    struct lk_error err;
    err_clear(&err);
    PGconn *db = app_db(wctx, &err);
    struct lk_ctx *ctx = app_ctx(wctx);
    struct http_client *zhttp = NULL;
    struct zuora_client *zc = NULL;
    struct store *st = NULL;
    char why[800] = "";
    if (!db) {
        err_text(&err, why, sizeof why);
    } else if (store_open(ctx->env, ctx->http, &st, &err) != LK_OK) {
        err_text(&err, why, sizeof why);
        cfg_redact(ctx->cfg, why);
    } else {
        zhttp = http_client_new(ctx->env->ca_bundle, "lakeop/" LAKEOP_VERSION);
        for (size_t i = 0; i < ctx->cfg->n_secrets; i++)
            http_client_add_secret(zhttp, ctx->cfg->secrets[i]);
        zc = zuora_client_new(ctx->env, zhttp);
        zuora_client_use_tokens(zc, ctx->zuora_tokens);
        zuora_client_set_cancel(zc, &c->cancel);
        store_set_cancel(st, &c->cancel);
    }
    /* The context belongs to this worker thread and outlives the copy. */
    lk_progress_fn old_progress = ctx->progress;
    void *old_ud = ctx->progress_ud;
    const volatile int *old_cancel = ctx->cancel;
    ctx->progress = on_progress;
    ctx->progress_ud = c;
    ctx->cancel = &c->cancel;
    struct copy_source src = zc ? copy_source_zuora(zc) : (struct copy_source){ 0 };
    for (size_t i = 0; i < c->n; i++) {
        struct jc_item *it = &c->items[i];
        enum jc_state state;
        char reason[800] = "";
        pthread_mutex_lock(&c->mu);
        c->cur = i;
        c->bytes = c->records = 0;
        c->bytes_total = -1;
        c->records_total = it->spec.record_count;
        it->state = c->cancel ? JI_CANCELLED : why[0] ? JI_FAILED : JI_COPYING;
        if (why[0])
            snprintf(it->reason, sizeof it->reason, "%s", why);
        pthread_mutex_unlock(&c->mu);
        if (it->state != JI_COPYING)
            continue;
        struct copy_result res;
        err_clear(&err);
        enum lk_status rc = copy_batch(ctx, &src, st, &it->spec, c->force, &res, &err);
        if (rc == LK_OK) {
            state = res.already_copied ? JI_ALREADY : res.metadata_only ? JI_METADATA : JI_COPIED;
        } else if (c->cancel) {
            state = JI_CANCELLED;
        } else {
            state = JI_FAILED;
            err_text(&err, reason, sizeof reason);
            cfg_redact(ctx->cfg, reason);
        }
        copy_result_free(&res);
        pthread_mutex_lock(&c->mu);
        it->state = state;
        it->finished_at = (long long)time(NULL);
        snprintf(it->reason, sizeof it->reason, "%s", reason);
        pthread_mutex_unlock(&c->mu);
    }
    ctx->progress = old_progress;
    ctx->progress_ud = old_ud;
    ctx->cancel = old_cancel;
    store_free(st);
    zuora_client_free(zc);
    if (zhttp)
        http_client_free(zhttp);
}

static void tick(struct loop *loop, void *ud)
{
    struct job_copy *c = ud;
    pthread_mutex_lock(&c->mu);
    size_t cur = c->cur;
    long long bytes = c->bytes, bytes_total = c->bytes_total, records = c->records,
              records_total = c->records_total;
    pthread_mutex_unlock(&c->mu);
    char what[300];
    snprintf(what, sizeof what, "%s (%zu of %zu)", c->items[cur].name, cur + 1, c->n);
    dlg_progress_update(c->progress, what, bytes, bytes_total, records, records_total);
    notify(c);
}

static void run_done(struct loop *loop, void *p, bool orphaned)
{
    struct job_copy *c = p;
    loop_timer_cancel(loop, c->timer);
    dlg_progress_close(c->progress);
    c->progress = NULL;
    app_busy_end(c->t);
    size_t copied = 0, already = 0, failed = 0, cancelled = 0;
    const char *first_failure = NULL;
    for (size_t i = 0; i < c->n; i++) {
        switch (c->items[i].state) {
        case JI_COPIED: case JI_METADATA: copied++; break;
        case JI_ALREADY: already++; break;
        case JI_CANCELLED: cancelled++; break;
        default:
            failed++;
            if (!first_failure)
                first_failure = c->items[i].reason;
            break;
        }
    }
    char *inert = first_failure ? text_inert(first_failure) : NULL;
    tui_message(c->t, failed ? TUI_ERROR : cancelled ? TUI_WARN : TUI_INFO,
                "copy of job %s: %zu copied, %zu already there, %zu failed, %zu cancelled%s%s", c->job_id,
                copied, already, failed, cancelled, inert ? ": " : "", inert ? inert : "");
    free(inert);
    finish(c);
}

static void jc_cancel(void *ud)
{
    struct job_copy *c = ud;
    c->cancel = 1;
}

static void plan_confirmed(struct tui *t, bool ok, const char *input, void *ud)
{
    struct job_copy *c = ud;
    if (!ok || !c->host || c->phase != JC_PLANNED)
        return;                   /* the plan screen stays; Esc leaves it */
    c->phase = JC_RUNNING;
    if (c->plan && tui_top(t) == c->plan)
        tui_pop(t);
    char target[200];
    snprintf(target, sizeof target, "job %s, %zu file%s", c->job_id, c->n, c->n == 1 ? "" : "s");
    c->progress = dlg_progress_open(t, "Copy to the raw buckets", target, jc_cancel, c);
    c->timer = loop_timer_add(t->loop, JC_TICK_MS, true, tick, c);
    app_busy_begin(t, "copying files to the raw buckets");
    notify(c);
    tui_submit(c->host, run_work, run_done, c);
}

static void ask_confirm(struct plan_view *v)
{
    struct job_copy *c = v->c;
    size_t todo = count_to_copy(c), overwrites = 0;
    long long records = 0;
    for (size_t i = 0; i < c->n; i++) {
        const struct jc_item *it = &c->items[i];
        if (!c->force && it->already)
            continue;
        overwrites += it->csv_now.exists;
        records += it->spec.record_count > 0 ? it->spec.record_count : 0;
    }
    if (!todo) {
        tui_message(c->t, TUI_INFO, "every file is already copied: f forces a new copy");
        return;
    }
    struct buf text = BUF_INIT;
    buf_printf(&text, "Copy %zu file%s (%lld records) to the raw buckets of %s, each followed by its "
               "metadata/<Name>.json.", todo, todo == 1 ? "" : "s", records, app_env(c->t)->name);
    if (overwrites)
        buf_printf(&text, " %zu overwrite%s an existing object.", overwrites, overwrites == 1 ? "s" : "");
    if (c->force)
        buf_puts(&text, " Force: already-copied files are copied again.");
    buf_puts(&text, " Nothing partial is ever visible.\nBatches:");
    for (size_t i = 0; i < c->n; i++)
        if (c->force || !c->items[i].already)
            buf_printf(&text, " %s", c->items[i].batch_id);
    /* The dialog is narrow: the job is the target, its batches are listed
     * in the text (and in full on the plan screen). */
    struct buf target = BUF_INIT;
    buf_printf(&target, "job %s", c->job_id);
    app_confirm(c->t, ACT_COPY, "Copy files", buf_cstr(&text), buf_cstr(&target), plan_still_valid,
                plan_confirmed, c);
    buf_free(&text);
    buf_free(&target);
}

static bool plan_key(struct screen *s, enum action a, int ch)
{
    struct plan_view *v = s->st;
    int page = getmaxy(s->tui->body) > 2 ? getmaxy(s->tui->body) - 1 : 1;
    switch (a) {
    case ACT_COPY:
    case ACT_ENTER:
        ask_confirm(v);
        return true;
    case ACT_MOVE_DOWN:
    case ACT_PAGE_DOWN:
        v->top += a == ACT_MOVE_DOWN ? 1 : (size_t)page;
        if (v->top >= v->n)
            v->top = v->n ? v->n - 1 : 0;
        tui_dirty(s, true);
        return true;
    case ACT_MOVE_UP:
    case ACT_PAGE_UP: {
        size_t by = a == ACT_MOVE_UP ? 1 : (size_t)page;
        v->top = v->top > by ? v->top - by : 0;
        tui_dirty(s, true);
        return true;
    }
    case ACT_FIRST:
        v->top = 0;
        tui_dirty(s, true);
        return true;
    case ACT_NONE:
        if (ch == 'f') {
            v->c->force = !v->c->force;
            build_lines(v);
            tui_dirty(s, true);
            return true;
        }
        return false;
    default:
        return false;
    }
}

static void plan_status(struct screen *s, char *out, size_t out_size)
{
    struct plan_view *v = s->st;
    snprintf(out, out_size, "force %s", v->c->force ? "on" : "off");
}

static const struct screen_ops copy_plan_ops = {
    .name = "copy-plan",
    .title = "Copy",
    .order = 0,
    .flags = 0,
    .open = plan_open,
    .close = plan_close,
    .draw = plan_draw,
    .key = plan_key,
    .status = plan_status,
};
SCREEN_DEFINE(copy_plan_ops);

static void plan_done(struct loop *loop, void *p, bool orphaned)
{
    struct job_copy *c = p;
    if (orphaned || !c->host) {
        finish(c);
        return;
    }
    if (c->plan_status != LK_OK) {
        char *inert = text_inert(c->plan_err);
        tui_message(c->t, TUI_ERROR, "copy: %s", inert);
        free(inert);
        finish(c);
        return;
    }
    c->phase = JC_PLANNED;
    /* The plan screen owns the copy from here until it is confirmed. */
    if (!tui_push(c->t, &copy_plan_ops, NULL, c))
        finish(c);
}

/* ---- the host's side --------------------------------------------------------- */

struct job_copy *job_copy_start(struct screen *s, const struct zuora_job *job,
                                const char *const *batch_ids, size_t n,
                                job_copy_changed_fn changed, void *ud)
{
    struct tui *t = s->tui;
    const struct cfg_env *env = app_env(t);
    struct job_copy *c = xcalloc(1, sizeof *c);
    c->t = t;
    c->host = s;
    c->changed = changed;
    c->ud = ud;
    c->job_id = xstrdup(job->id);
    pthread_mutex_init(&c->mu, NULL);
    c->items = xcalloc(n ? n : 1, sizeof *c->items);
    char skipped[600] = "";
    for (size_t i = 0; i < n; i++) {
        const struct zuora_batch *b = NULL;
        for (size_t k = 0; k < job->n_batches && !b; k++)
            if (strcmp(job->batches[k].batch_id, batch_ids[i]) == 0)
                b = &job->batches[k];
        if (!b)
            continue;
        const struct cfg_object *obj = cfg_object_find(env, b->name);
        if (strcmp(b->status, "completed") != 0 || (!b->file_id && !b->n_segments)) {
            snprintf(skipped, sizeof skipped, "batch %s (%s) is %s without a file: only completed batches "
                     "are copied", b->batch_id, b->name, b->status);
            continue;
        }
        if (!obj || !obj->raw || !obj->raw[0]) {
            snprintf(skipped, sizeof skipped, "object %s has no raw target: add [object \"%s\"] raw = "
                     "s3://BUCKET/%s.csv to the configuration", b->name, b->name, b->name);
            continue;
        }
        char *meta = copy_metadata_url(obj->raw, b->name);
        if (!meta) {
            snprintf(skipped, sizeof skipped, "object %s: raw = '%s' is not an object URL", b->name, obj->raw);
            continue;
        }
        struct jc_item *it = &c->items[c->n++];
        it->batch_id = xstrdup(b->batch_id);
        it->name = xstrdup(b->name);
        it->file_id = b->file_id ? xstrdup(b->file_id) : NULL;
        if (!b->file_id) {
            it->segments = xcalloc(b->n_segments, sizeof *it->segments);
            for (size_t k = 0; k < b->n_segments; k++)
                it->segments[k] = xstrdup(b->segments[k]);
            it->n_segments = b->n_segments;
        }
        it->target = xstrdup(obj->raw);
        it->meta_url = meta;
        it->prev_bytes = -1;
        it->spec = (struct copy_spec){
            .job_id = c->job_id,
            .batch_id = it->batch_id,
            .name = it->name,
            .file_id = it->file_id,
            .segments = (const char *const *)it->segments,
            .n_segments = it->n_segments,
            .record_count = b->record_count,
            .target = it->target,
        };
    }
    if (skipped[0])
        tui_message(t, c->n ? TUI_WARN : TUI_ERROR, "%s", skipped);
    if (!c->n) {
        if (!skipped[0])
            tui_message(t, TUI_WARN, "no batch of job %s to copy", job->id);
        job_copy_free(c);
        return NULL;
    }
    tui_submit(s, plan_work, plan_done, c);
    return c;
}

void job_copy_detach(struct job_copy *c, bool cancel)
{
    c->host = NULL;
    c->changed = NULL;
    if (cancel)
        c->cancel = 1;
}

bool job_copy_running(const struct job_copy *c)
{
    return c->phase == JC_RUNNING;
}

bool job_copy_batch_state(struct job_copy *c, const char *batch_id, char *out, size_t size,
                          enum theme_el *el)
{
    if (c->phase != JC_RUNNING)
        return false;
    for (size_t i = 0; i < c->n; i++) {
        struct jc_item *it = &c->items[i];
        if (strcmp(it->batch_id, batch_id) != 0)
            continue;
        pthread_mutex_lock(&c->mu);
        enum jc_state state = it->state;
        long long done = 0, total = 0;
        if (state == JI_COPYING && c->cur == i) {
            done = c->bytes_total > 0 ? c->bytes : c->records;
            total = c->bytes_total > 0 ? c->bytes_total : c->records_total;
        }
        char when[32];
        jobd_short_time(it->finished_at, when, sizeof when);
        switch (state) {
        case JI_WAITING: snprintf(out, size, "queued"); *el = TH_STATE_QUEUED; break;
        case JI_COPYING:
            snprintf(out, size, "copying %lld%%", total > 0 ? done * 100 / total : 0);
            *el = TH_STATE_RUNNING;
            break;
        case JI_COPIED: case JI_METADATA: snprintf(out, size, "copied %s", when); *el = TH_STATE_SUCCESS; break;
        case JI_ALREADY: snprintf(out, size, "already copied"); *el = TH_STATE_SUCCESS; break;
        case JI_FAILED: snprintf(out, size, "failed: %s", it->reason); *el = TH_STATE_FAILED; break;
        case JI_CANCELLED: snprintf(out, size, "cancelled"); *el = TH_STATUS_WARN; break;
        }
        pthread_mutex_unlock(&c->mu);
        return true;
    }
    return false;
}
