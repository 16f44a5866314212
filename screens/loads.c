/* The Loads screen: every landed file of the ingestion pipeline, newest
 * first, over millions of rows.  Keyset paged (load_list with before_id),
 * narrowed by dataset and status (`:loads errored`, `:loads dataset:NAME`,
 * or Enter on the Datasets screen) and by the / text, which the server
 * applies too so that it finds rows that are not loaded yet.  Enter shows a
 * load in full with its history of status changes; R puts errored loads
 * back to ready (ingest_retry, on a worker).
 *
 * Confirmation of a retry: one load, app_confirm (y/N-style with focus on
 * Cancel; the environment's name in a protected one).  Several marked
 * loads: always typed, the environment's name in a protected environment,
 * otherwise the number of loads, so that a bulk retry is never one Enter
 * away.  Just before acting, the dialog re-checks that every target is
 * still shown as errored; ingest_retry refuses a load that is not. */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "app.h"
#include "buf.h"
#include "db.h"
#include "detail.h"
#include "fmt.h"
#include "ingest.h"
#include "load.h"
#include "mem.h"
#include "tbl.h"
#include "text.h"
#include "tui.h"

#define LOADS_PAGE 200
#define LOADS_REFRESH_MAX 5000

enum { COL_ID, COL_DATASET, COL_KEY, COL_STATUS, COL_SIZE, COL_MODIFIED, COL_RECORDS, COL_ERROR, N_COLS };

static const struct tbl_col LOADS_COLS[N_COLS] = {
    { "Id", 7, 4, TBL_RIGHT, true },
    { "Dataset", 24, 8, TBL_LEFT, false },
    { "Key", 0, 18, TBL_LEFT, false },
    { "Status", 19, 7, TBL_LEFT, false },
    { "Size", 9, 5, TBL_RIGHT, false },
    { "Modified", 16, 8, TBL_LEFT, false },
    { "Records", 8, 5, TBL_RIGHT, true },
    { "Error", 0, 8, TBL_LEFT, false },
};

/* The generation of the newest query, shared with the workers, so that a
 * query made stale by more typing before a worker took it is never sent
 * (a / filter that matches nothing reads the whole table: typing a word
 * must not queue one such scan per letter).  Freed by the last owner. */
struct gen_cell {
    atomic_uint gen;
    atomic_int refs;
};

static struct gen_cell *gen_ref(struct gen_cell *c)
{
    atomic_fetch_add(&c->refs, 1);
    return c;
}

static void gen_unref(struct gen_cell *c)
{
    if (atomic_fetch_sub(&c->refs, 1) == 1)
        free(c);
}

struct loads {
    struct screen *s;
    struct tbl *tbl;
    struct gen_cell *gen;        /* answers to an older query are dropped */
    bool painted;
    int status;                  /* enum load_status, or -1: every status */
    char *dataset;               /* NULL: every dataset */
};

static enum theme_el status_el(const char *status)
{
    if (!strcmp(status, "errored") || !strcmp(status, "erroring") || !strcmp(status, "ready_for_erroring"))
        return TH_STATE_FAILED;
    if (!strcmp(status, "archived"))
        return TH_STATE_SUCCESS;
    if (!strcmp(status, "ready"))
        return TH_STATE_QUEUED;
    return TH_STATE_RUNNING;
}

static void fmt_when(long long t, char *out, size_t size)
{
    if (t <= 0)
        snprintf(out, size, "-");
    else
        app_time(t, out, size);
}

/* ---- the list ---- */

struct list_job {
    struct loads *l;             /* touched only in done(), when not orphaned */
    struct gen_cell *gen;
    unsigned generation;
    bool replace;
    long long before;            /* keyset: ids below this; 0: the newest */
    int limit;
    int status;
    char *dataset;
    char *text;
    struct load *rows;
    size_t n;
    enum lk_status st;
    struct lk_error err;
};

static void list_work(void *wctx, void *p)
{
    struct list_job *j = p;
    err_clear(&j->err);
    j->st = LK_OK;
    if (atomic_load(&j->gen->gen) != j->generation)
        return;                  /* superseded while queued */
    PGconn *db = app_db(wctx, &j->err);
    if (!db) {
        j->st = LK_FAIL;
        return;
    }
    struct load_filter f = {
        .dataset = j->dataset, .status = j->status, .before_id = j->before,
        .limit = j->limit, .text = j->text,
    };
    j->st = load_list(db, &f, &j->rows, &j->n, &j->err);
}

static void add_row(struct tbl *t, const struct load *ld)
{
    char id[32], size[32], modified[32], records[32];
    snprintf(id, sizeof id, "%lld", ld->id);
    fmt_size(ld->size, size, sizeof size);
    fmt_local_time(ld->modified, false, "-", modified, sizeof modified);
    if (ld->record_count >= 0)
        snprintf(records, sizeof records, "%lld", ld->record_count);
    else
        snprintf(records, sizeof records, "-");
    const char *status = load_status_name(ld->status);
    const char *cells[N_COLS] = {
        id, ld->dataset, ld->key, status, size, modified, records, ld->error ? ld->error : "",
    };
    tbl_row(t, id, cells, COL_STATUS, status_el(status));
}

static void list_done(struct loop *loop, void *p, bool orphaned)
{
    struct list_job *j = p;
    if (!orphaned && j->generation == atomic_load(&j->gen->gen)) {
        struct loads *l = j->l;
        if (j->st != LK_OK) {
            char text[1024];
            tbl_fail(l->tbl, err_text(&j->err, text, sizeof text));
        } else {
            tbl_begin(l->tbl, j->replace);
            for (size_t i = 0; i < j->n; i++)
                add_row(l->tbl, &j->rows[i]);
            tbl_end(l->tbl, j->n == (size_t)j->limit);
            if (!l->painted) {
                l->painted = true;
                tui_timing(l->s->tui, "data loads");
                tui_mark_paint(l->s->tui, "paint loads");
            }
        }
        tui_dirty(l->s, false);
    }
    load_array_free(j->rows, j->n);
    gen_unref(j->gen);
    free(j->dataset);
    free(j->text);
    free(j);
}

static void list_query(struct loads *l, const char *before, bool replace, int limit)
{
    struct list_job *j = xcalloc(1, sizeof *j);
    j->l = l;
    j->gen = gen_ref(l->gen);
    j->generation = atomic_load(&l->gen->gen);
    j->replace = replace;
    j->limit = limit;
    j->before = before ? atoll(before) : 0;
    j->status = l->status;
    j->dataset = l->dataset ? xstrdup(l->dataset) : NULL;
    j->text = xstrdup(tbl_filter(l->tbl));
    tbl_loading(l->tbl);
    tui_submit(l->s, list_work, list_done, j);
}

static void loads_fetch(struct tbl *t, const char *after_id, void *ud)
{
    list_query(ud, after_id, false, LOADS_PAGE);
}

/* Reloads what is shown: as many rows as are loaded, within reason. */
static void loads_reload(struct screen *s)
{
    struct loads *l = s->st;
    size_t loaded = tbl_loaded(l->tbl);
    int limit = loaded > LOADS_PAGE ? (int)(loaded < LOADS_REFRESH_MAX ? loaded : LOADS_REFRESH_MAX)
                                    : LOADS_PAGE;
    atomic_fetch_add(&l->gen->gen, 1);
    list_query(l, NULL, true, limit);
}

static void loads_filter(struct tbl *t, const char *filter, void *ud)
{
    struct loads *l = ud;
    atomic_fetch_add(&l->gen->gen, 1);
    list_query(l, NULL, true, LOADS_PAGE);
}

/* ---- opening: `:loads [STATUS] [dataset:NAME | NAME]` ---- */

static bool dataset_configured(const struct tui *t, const char *name)
{
    const struct cfg_env *env = app_env(t);
    for (size_t i = 0; env && i < env->n_datasets; i++)
        if (!strcmp(env->datasets[i].name, name))
            return true;
    return false;
}

static bool parse_arg(struct screen *s, struct loads *l, const char *arg)
{
    if (!arg)
        return true;
    char *copy = xstrdup(arg);
    char *save = NULL;
    bool ok = true;
    for (char *w = strtok_r(copy, " \t", &save); w && ok; w = strtok_r(NULL, " \t", &save)) {
        enum load_status st;
        const char *name = NULL;
        if (!strncmp(w, "dataset:", 8) && w[8])
            name = w + 8;
        else if (load_status_parse(w, &st))
            l->status = (int)st;
        else if (dataset_configured(s->tui, w))
            name = w;
        else {
            tui_message(s->tui, TUI_WARN, "loads: '%s' is neither a status (ready, ingesting, "
                        "ready_for_archiving, archiving, archived, ready_for_erroring, erroring, "
                        "errored) nor a configured dataset (dataset:NAME for any other)", w);
            ok = false;
        }
        if (name) {
            free(l->dataset);
            l->dataset = xstrdup(name);
        }
    }
    free(copy);
    return ok;
}

static void *loads_open(struct screen *s, const char *arg, void *data)
{
    struct loads *l = xcalloc(1, sizeof *l);
    l->s = s;
    l->status = -1;
    if (!parse_arg(s, l, arg)) {
        free(l->dataset);
        free(l);
        return NULL;
    }
    l->gen = xcalloc(1, sizeof *l->gen);
    atomic_init(&l->gen->gen, 0);
    atomic_init(&l->gen->refs, 1);
    l->tbl = tbl_new(LOADS_COLS, N_COLS);
    tbl_on_fetch(l->tbl, loads_fetch, l);
    tbl_on_filter(l->tbl, loads_filter, l);
    s->st = l;
    if (l->status >= 0 || l->dataset) {
        char *inert = text_inert(l->dataset ? l->dataset : "");
        tui_message(s->tui, TUI_INFO, "loads%s%s%s%s (:loads for all)", l->status >= 0 ? " " : "",
                    l->status >= 0 ? load_status_name((enum load_status)l->status) : "",
                    l->dataset ? " of " : "", inert);
        free(inert);
    }
    list_query(l, NULL, true, LOADS_PAGE);
    return l;
}

static void loads_close(struct screen *s)
{
    struct loads *l = s->st;
    tbl_free(l->tbl);
    gen_unref(l->gen);
    free(l->dataset);
    free(l);
}

static void loads_draw(struct screen *s, WINDOW *win, bool full)
{
    struct loads *l = s->st;
    tbl_draw(l->tbl, win, &s->tui->th, full);
}

static void loads_notify(struct screen *s, const char *table)
{
    if (!strcmp(table, "loads"))
        loads_reload(s);
}

/* ---- detail: the load in full and its history ---- */

struct detail_req {
    struct screen *ds;           /* the detail screen; valid unless orphaned */
    long long id;
    struct load ld;
    struct load_event *ev;
    size_t n_ev;
    char *errored_area;          /* where an errored load's file is when errored_key is not kept */
    enum lk_status st;
    struct lk_error err;
};

static void detail_work(void *wctx, void *p)
{
    struct detail_req *r = p;
    err_clear(&r->err);
    PGconn *db = app_db(wctx, &r->err);
    if (!db) {
        r->st = LK_FAIL;
        return;
    }
    r->st = load_get(db, r->id, &r->ld, &r->err);
    if (r->st == LK_OK)
        r->st = load_events(db, r->id, &r->ev, &r->n_ev, &r->err);
    const struct cfg_dataset *cd = r->st == LK_OK ? cfg_dataset_find(app_ctx(wctx)->env, r->ld.dataset) : NULL;
    if (cd && cd->incoming && !r->ld.errored_key && r->ld.status == LOAD_ERRORED) {
        struct lk_error ignored;
        err_clear(&ignored);
        r->errored_area = ingest_errored_url(cd->incoming, r->ld.key, &ignored);
    }
}

static void fill_detail(struct detail *d, const struct load *ld, const struct load_event *ev, size_t n_ev,
                        const char *errored_area)
{
    char text[256], when[40];
    detail_kv(d, "id", (snprintf(text, sizeof text, "%lld", ld->id), text));
    detail_set_id(d, ld->key);   /* y copies the load key */
    detail_kv(d, "dataset", ld->dataset);
    detail_kv_el(d, "status", load_status_name(ld->status), status_el(load_status_name(ld->status)));
    detail_heading(d, "Error");
    if (ld->error && *ld->error)
        detail_text(d, ld->error, TH_STATE_FAILED);
    else
        detail_text(d, "(none)", TH_DIM);
    detail_heading(d, "Keys");
    detail_kv(d, "incoming", ld->key);
    detail_kv(d, "raw-hist", ld->raw_hist_key ? ld->raw_hist_key : "-");
    detail_kv(d, "errored", ld->errored_key ? ld->errored_key : errored_area ? errored_area : "-");
    detail_heading(d, "Size and times");
    char size[32];
    fmt_size(ld->size, size, sizeof size);
    snprintf(text, sizeof text, "%s (%lld bytes)", size, ld->size);
    detail_kv(d, "size", text);
    if (ld->record_count >= 0)
        snprintf(text, sizeof text, "%lld", ld->record_count);
    else
        snprintf(text, sizeof text, "not counted yet");
    detail_kv(d, "records", text);
    fmt_when(ld->modified, when, sizeof when);
    detail_kv(d, "modified", when);
    fmt_when(ld->file_land_timestamp, when, sizeof when);
    snprintf(text, sizeof text, "%lld (%s)", ld->file_land_timestamp, when);
    detail_kv(d, "file_land_timestamp", ld->file_land_timestamp > 0 ? text : "-");
    fmt_when(ld->created_at, when, sizeof when);
    detail_kv(d, "registered", when);
    fmt_when(ld->updated_at, when, sizeof when);
    detail_kv(d, "updated", when);
    detail_heading(d, "History");
    if (n_ev == 0)
        detail_text(d, "(no status changes recorded)", TH_DIM);
    for (size_t i = 0; i < n_ev; i++) {
        const struct load_event *e = &ev[i];
        fmt_when(e->at, when, sizeof when);
        char *line = xasprintf("%s  %s → %s  by %s%s%s", when, e->from_status ? e->from_status : "(new)",
                               e->to_status, e->operator_name ? e->operator_name : "?",
                               e->message && *e->message ? ": " : "", e->message ? e->message : "");
        detail_text(d, line, status_el(e->to_status));
        free(line);
    }
}

static void detail_done(struct loop *loop, void *p, bool orphaned)
{
    struct detail_req *r = p;
    if (!orphaned) {
        struct detail *d = detail_of(r->ds);
        detail_set_loading(d, false);
        if (r->st != LK_OK) {
            char text[1024];
            detail_fail(d, err_text(&r->err, text, sizeof text));
        } else {
            fill_detail(d, &r->ld, r->ev, r->n_ev, r->errored_area);
        }
        tui_dirty(r->ds, true);
    }
    load_free(&r->ld);
    load_events_free(r->ev, r->n_ev);
    free(r->errored_area);
    free(r);
}

static void loads_enter(struct screen *s)
{
    struct loads *l = s->st;
    const char *id = tbl_cursor_id(l->tbl);
    if (!id)
        return;
    char title[64];
    snprintf(title, sizeof title, "Load %s", id);
    struct detail *d = detail_new(title);
    detail_set_id(d, id);
    detail_set_loading(d, true);
    struct detail_req *r = xcalloc(1, sizeof *r);
    r->id = atoll(id);
    r->ds = tui_push(s->tui, &detail_screen_ops, NULL, d);
    if (!r->ds) {
        free(r);
        return;
    }
    tui_submit(r->ds, detail_work, detail_done, r);
}

/* ---- retry ---- */

struct retry_req {
    struct tui *t;
    struct loads *l;             /* touched only in done(), when not orphaned */
    char **ids;
    size_t n;
    char typed[32];              /* the bulk confirmation's word, when not the environment's name */
    size_t n_failed;
    bool changed;                /* the database's re-read refused: nothing was done */
    struct buf why;              /* the failures, one per line */
};

static void retry_free(struct retry_req *r)
{
    for (size_t i = 0; i < r->n; i++)
        free(r->ids[i]);
    free(r->ids);
    buf_free(&r->why);
    free(r);
}

/* Just before acting, on the worker: every target read again from the
 * database, still there and still errored; otherwise none is touched (all
 * or nothing, as `lakeop retry`).  The table's cells may be a second old. */
static bool retry_recheck(PGconn *db, struct retry_req *r, struct lk_error *err)
{
    struct buf ids = BUF_INIT;
    buf_puts(&ids, "{");
    for (size_t i = 0; i < r->n; i++)
        buf_printf(&ids, "%s%lld", i ? "," : "", atoll(r->ids[i]));
    buf_puts(&ids, "}");
    const char *params[] = { buf_cstr(&ids) };
    PGresult *res = NULL;
    enum lk_status st = db_exec(db, "SELECT id, status FROM lakeop.loads WHERE id = ANY($1::bigint[])",
                                1, params, &res, err);
    buf_free(&ids);
    if (st != LK_OK)
        return false;
    for (size_t i = 0; i < r->n && !r->changed; i++) {
        const char *status = NULL;
        for (int k = 0; k < PQntuples(res) && !status; k++)
            if (atoll(PQgetvalue(res, k, 0)) == atoll(r->ids[i]))
                status = PQgetvalue(res, k, 1);
        if (!status || strcmp(status, "errored") != 0) {
            r->changed = true;
            buf_printf(&r->why, status ? "load %s is %s now, not errored" : "load %s no longer exists",
                       r->ids[i], status);
        }
    }
    PQclear(res);
    return !r->changed;
}

static void retry_work(void *wctx, void *p)
{
    struct retry_req *r = p;
    struct lk_error err;
    err_clear(&err);
    PGconn *db = app_db(wctx, &err);
    if (!db || (!retry_recheck(db, r, &err) && !r->changed)) {
        r->n_failed = r->n;
        char text[1024];
        buf_printf(&r->why, "%s", err_text(&err, text, sizeof text));
        return;
    }
    if (r->changed)
        return;
    struct lk_ctx *ctx = app_ctx(wctx);
    for (size_t i = 0; i < r->n; i++) {
        err_clear(&err);
        if (ingest_retry(ctx, atoll(r->ids[i]), &err) != LK_OK) {
            char text[1024];
            r->n_failed++;
            buf_printf(&r->why, "%sload %s: %s", r->why.len ? "; " : "", r->ids[i],
                       err_text(&err, text, sizeof text));
        }
    }
}

static void retry_done(struct loop *loop, void *p, bool orphaned)
{
    struct retry_req *r = p;
    app_busy_end(r->t);
    if (r->changed)
        dlg_nothing_done(r->t, buf_cstr(&r->why));
    else if (r->n_failed == 0)
        tui_message(r->t, TUI_INFO, "retried %zu load%s: ready again, file%s back under the incoming prefix",
                    r->n, r->n == 1 ? "" : "s", r->n == 1 ? "" : "s");
    else
        tui_message(r->t, TUI_ERROR, "%zu of %zu load%s not retried: %s", r->n_failed, r->n,
                    r->n == 1 ? "" : "s", buf_cstr(&r->why));
    if (!orphaned)
        loads_reload(r->l->s);
    retry_free(r);
}

static void retry_confirmed(struct tui *t, bool ok, const char *input, void *ud)
{
    struct retry_req *r = ud;
    if (!ok) {
        tui_message(t, TUI_INFO, "retry: nothing changed");
        retry_free(r);
        return;
    }
    app_busy_begin(t, "retrying loads");
    tui_message(t, TUI_INFO, "retrying %zu load%s...", r->n, r->n == 1 ? "" : "s");
    tui_submit(r->l->s, retry_work, retry_done, r);
}

static void loads_retry(struct screen *s)
{
    struct loads *l = s->st;
    const char **marked = NULL;
    size_t n = tbl_marked(l->tbl, &marked);
    const char *cursor = tbl_cursor_id(l->tbl);
    if (n == 0 && !cursor) {
        free(marked);
        tui_message(s->tui, TUI_INFO, "retry: no load selected");
        return;
    }
    struct retry_req *r = xcalloc(1, sizeof *r);
    r->t = s->tui;
    r->l = l;
    r->n = n ? n : 1;
    r->ids = xcalloc(r->n, sizeof *r->ids);
    for (size_t i = 0; i < r->n; i++)
        r->ids[i] = xstrdup(n ? marked[i] : cursor);
    free(marked);

    /* Only errored loads are retried: all or nothing, as `lakeop retry`. */
    struct buf text = BUF_INIT, target = BUF_INIT;
    for (size_t i = 0; i < r->n; i++) {
        const char *status = tbl_cell(l->tbl, r->ids[i], COL_STATUS);
        if (!status || strcmp(status, "errored") != 0) {
            tui_message(s->tui, TUI_WARN, "retry: load %s is %s; only errored loads are retried "
                        "(nothing changed)", r->ids[i], status ? status : "not listed");
            buf_free(&text);
            buf_free(&target);
            retry_free(r);
            return;
        }
        buf_printf(&target, "%s%s", i ? " " : "", r->ids[i]);
        if (i < 8)
            buf_printf(&text, "\n  %s %s: %s", r->ids[i], tbl_cell(l->tbl, r->ids[i], COL_KEY),
                       tbl_cell(l->tbl, r->ids[i], COL_ERROR));
    }
    if (r->n > 8)
        buf_printf(&text, "\n  ... and %zu more", r->n - 8);

    const struct cfg_env *env = app_env(s->tui);
    char *body;
    if (r->n == 1) {
        body = xasprintf("Put load %s back to ready: its file is moved from the errored area back "
                         "under the incoming prefix, and the next ingest validates it again.%s",
                         r->ids[0], buf_cstr(&text));
        app_confirm(s->tui, ACT_RETRY, "Retry load", body, buf_cstr(&target), NULL, retry_confirmed, r);
    } else if (env && env->protected_env) {
        body = xasprintf("Put %zu errored loads back to ready, each file moved back under its "
                         "incoming prefix:%s", r->n, buf_cstr(&text));
        app_confirm(s->tui, ACT_RETRY, "Retry loads", body, buf_cstr(&target), NULL, retry_confirmed, r);
    } else if (!tui_refuse_read_only(s->tui, ACT_RETRY)) {
        snprintf(r->typed, sizeof r->typed, "%zu", r->n);
        body = xasprintf("Put %zu errored loads back to ready, each file moved back under its "
                         "incoming prefix:%s\nType %zu (the number of loads) to confirm.",
                         r->n, buf_cstr(&text), r->n);
        struct dlg_confirm c = {
            .title = "Retry loads",
            .text = body,
            .target = buf_cstr(&target),
            .typed = r->typed,
        };
        dlg_confirm(s->tui, &c, retry_confirmed, r);
    } else {
        body = NULL;
        retry_free(r);
    }
    free(body);
    buf_free(&text);
    buf_free(&target);
}

static bool loads_key(struct screen *s, enum action act, int ch)
{
    switch (act) {
    case ACT_ENTER:
        loads_enter(s);
        return true;
    case ACT_RETRY:
        loads_retry(s);
        return true;
    case ACT_YANK: {              /* the load key, what an operator looks for in the store */
        struct loads *l = s->st;
        const char *id = tbl_cursor_id(l->tbl);
        const char *key = id ? tbl_cell(l->tbl, id, COL_KEY) : NULL;
        if (key && *key)
            tui_clipboard(s->tui, key);
        return true;
    }
    default:
        return false;
    }
}

static struct tbl *loads_table(struct screen *s)
{
    return ((struct loads *)s->st)->tbl;
}

static const struct screen_ops loads_ops = {
    .name = "loads",
    .title = "Loads",
    .order = 4,
    .flags = SCREEN_TOP | SCREEN_SORTABLE | SCREEN_FILTERABLE,
    .open = loads_open,
    .close = loads_close,
    .draw = loads_draw,
    .key = loads_key,
    .reload = loads_reload,
    .on_notify = loads_notify,
    .table = loads_table,
};
SCREEN_DEFINE(loads_ops);
