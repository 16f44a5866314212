/* The Cohorts screen: the price-rise cohorts on top; below them, for the
 * selected cohort, its items by processing stage as a horizontal bar chart
 * (bars scaled to the widest, the engine's stages in order, the terminal or
 * exceptional ones after a rule and in their own colours).  Enter opens the
 * cohort's items (screen "cohort": keyset paged, detail on Enter).  e
 * exports the cohort to the clean bucket and S syncs it from DynamoDB, each
 * confirmed (typed in a protected environment), run on a worker behind a
 * progress dialog, and audited; U imports a cohort file (the export's
 * format) into the selected cohort or a new one, confirmed and audited. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "app.h"
#include "audit.h"
#include "buf.h"
#include "cohort.h"
#include "detail.h"
#include "json.h"
#include "mem.h"
#include "tbl.h"
#include "text.h"
#include "tui.h"

#define COHORT_LIST_PAGE 200
#define ITEMS_PAGE 200
#define PROGRESS_TICK_MS 250

/* ---- stage colours, shared by the chart and the items table ------------- */

static enum theme_el stage_el(const char *stage)
{
    size_t r = cohort_stage_rank(stage);
    if (r < COHORT_N_STAGES && !cohort_stage_exceptional(stage))
        return strcmp(stage, "AmendmentWrittenToSalesforce") == 0 ? TH_STATE_SUCCESS : TH_STATE_RUNNING;
    /* Stopped on purpose (yellow) versus stopped by a failure (red). */
    if (stage && (!strcmp(stage, "NoPriceIncrease") || !strcmp(stage, "ExcludedFromMigration") ||
                  !strcmp(stage, "UserOptOut") || !strcmp(stage, "DoNotProcessUntil")))
        return TH_STATE_QUEUED;
    return TH_STATE_FAILED;
}

/* ---- the cohorts screen ---------------------------------------------------- */

enum { C_NAME, C_ITEMS, C_SYNCED, C_EXPORTED, C_COUNT, C_TABLE, N_CCOLS };

static const struct tbl_col COHORT_COLS[N_CCOLS] = {
    { "Cohort", 0, 10, TBL_LEFT, false },
    { "Items", 9, 5, TBL_RIGHT, true },
    { "Synced", 19, 6, TBL_LEFT, false },
    { "Exported", 19, 8, TBL_LEFT, false },
    { "Records", 9, 5, TBL_RIGHT, true },
    { "DynamoDB table", 0, 8, TBL_LEFT, false },
};

struct cohorts {
    struct screen *s;
    struct tbl *tbl;
    unsigned generation;
    /* The chart: whose it is, what is being fetched, the answer. */
    char *chart_for;
    char *chart_wanted;
    unsigned chart_generation;
    struct cohort_stages stages;
    bool chart_loaded;
    char chart_error[512];
    bool painted;
};

struct list_job {
    struct cohorts *c;
    unsigned generation;
    bool replace;
    char *after;
    struct cohort_list list;
    enum lk_status st;
    struct lk_error err;
};

static void list_work(void *wctx, void *p)
{
    struct list_job *j = p;
    err_clear(&j->err);
    PGconn *db = app_db(wctx, &j->err);
    j->st = db ? cohort_list(db, j->after, COHORT_LIST_PAGE, &j->list, &j->err) : LK_FAIL;
}

static void fmt_when(long long t, char *out, size_t size)
{
    if (t <= 0)
        snprintf(out, size, "never");
    else
        app_time(t, out, size);
}

static void list_done(struct loop *loop, void *p, bool orphaned)
{
    struct list_job *j = p;
    if (!orphaned && j->generation == j->c->generation) {
        struct cohorts *c = j->c;
        if (j->st != LK_OK) {
            char text[1024];
            tbl_fail(c->tbl, err_text(&j->err, text, sizeof text));
        } else {
            tbl_begin(c->tbl, j->replace);
            for (size_t i = 0; i < j->list.n; i++) {
                const struct cohort_info *ci = &j->list.items[i];
                char items[24], synced[32], exported[32], count[24];
                snprintf(items, sizeof items, "%lld", ci->items);
                fmt_when(ci->synced_unix, synced, sizeof synced);
                fmt_when(ci->exported_unix, exported, sizeof exported);
                if (ci->export_count >= 0)
                    snprintf(count, sizeof count, "%lld", ci->export_count);
                else
                    snprintf(count, sizeof count, "-");
                const char *cells[N_CCOLS] = { ci->name, items, synced, exported, count,
                                               ci->table_name ? ci->table_name : "-" };
                tbl_row(c->tbl, ci->name, cells, C_EXPORTED,
                        ci->exported_unix > 0 ? TH_STATE_SUCCESS : TH_DIM);
            }
            tbl_end(c->tbl, j->list.n == COHORT_LIST_PAGE);
            if (!c->painted) {
                c->painted = true;
                tui_timing(c->s->tui, "data cohorts");
                tui_mark_paint(c->s->tui, "paint cohorts");
            }
        }
        tui_dirty(c->s, true);
    }
    cohort_list_free(&j->list);
    free(j->after);
    free(j);
}

static void list_query(struct cohorts *c, const char *after, bool replace)
{
    struct list_job *j = xcalloc(1, sizeof *j);
    j->c = c;
    j->generation = c->generation;
    j->replace = replace;
    j->after = xstrdup(after);
    tbl_loading(c->tbl);
    tui_submit(c->s, list_work, list_done, j);
}

static void list_fetch(struct tbl *t, const char *after_id, void *ud)
{
    list_query(ud, after_id, false);
}

/* The chart of one cohort, fetched on a worker. */
struct chart_job {
    struct cohorts *c;
    unsigned generation;
    char *name;
    struct cohort_stages stages;
    enum lk_status st;
    struct lk_error err;
};

static void chart_work(void *wctx, void *p)
{
    struct chart_job *j = p;
    err_clear(&j->err);
    PGconn *db = app_db(wctx, &j->err);
    if (!db) {
        j->st = LK_FAIL;
        return;
    }
    struct cohort_info info;
    j->st = cohort_get(db, j->name, &info, &j->err);
    if (j->st == LK_OK) {
        j->st = cohort_stage_counts(db, info.id, &j->stages, &j->err);
        cohort_info_free(&info);
    }
}

static void chart_done(struct loop *loop, void *p, bool orphaned)
{
    struct chart_job *j = p;
    if (!orphaned && j->generation == j->c->chart_generation) {
        struct cohorts *c = j->c;
        cohort_stages_free(&c->stages);
        free(c->chart_for);
        c->chart_for = xstrdup(j->name);
        c->chart_loaded = true;
        c->chart_error[0] = '\0';
        if (j->st == LK_OK) {
            c->stages = j->stages;
            memset(&j->stages, 0, sizeof j->stages);
        } else {
            err_text(&j->err, c->chart_error, sizeof c->chart_error);
        }
        tui_dirty(c->s, true);
    }
    cohort_stages_free(&j->stages);
    free(j->name);
    free(j);
}

static void chart_query(struct cohorts *c, const char *name)
{
    free(c->chart_wanted);
    c->chart_wanted = xstrdup(name);
    c->chart_generation++;
    struct chart_job *j = xcalloc(1, sizeof *j);
    j->c = c;
    j->generation = c->chart_generation;
    j->name = xstrdup(name);
    tui_submit(c->s, chart_work, chart_done, j);
}

static void cohorts_reload(struct screen *s)
{
    struct cohorts *c = s->st;
    c->generation++;
    list_query(c, NULL, true);
    const char *cur = tbl_cursor_id(c->tbl);
    if (cur)
        chart_query(c, cur);
}

static void *cohorts_open(struct screen *s, const char *arg, void *data)
{
    struct cohorts *c = xcalloc(1, sizeof *c);
    c->s = s;
    c->tbl = tbl_new(COHORT_COLS, N_CCOLS);
    tbl_on_fetch(c->tbl, list_fetch, c);
    s->st = c;
    list_query(c, NULL, true);
    return c;
}

static void cohorts_close(struct screen *s)
{
    struct cohorts *c = s->st;
    tbl_free(c->tbl);
    cohort_stages_free(&c->stages);
    free(c->chart_for);
    free(c->chart_wanted);
    free(c);
}

/* Writes untrusted text made inert, cut to cols columns. */
static void put_text(WINDOW *win, int y, int x, const char *raw, int cols, attr_t attr)
{
    if (cols <= 0)
        return;
    char *inert = text_inert(raw);
    size_t size = strlen(inert) * 4 + 8;
    char *fit = xmalloc(size);
    text_fit(inert, cols, 1, fit, size);
    wattrset(win, attr);
    mvwaddstr(win, y, x, fit);
    wattrset(win, A_NORMAL);
    free(fit);
    free(inert);
}

/* The bar chart in rows [top, top+height) of win. */
static void draw_chart(struct cohorts *c, WINDOW *win, const struct theme *th, int top, int height)
{
    int cols = getmaxx(win);
    int y = top;
    int bottom = top + height;
    if (height <= 0)
        return;
    const char *cur = tbl_cursor_id(c->tbl);
    if (!cur) {
        put_text(win, y, 1, "no cohort selected (U imports a cohort file; lakeop cohort-sync NAME reads one from DynamoDB)",
                 cols - 2, theme_attr(th, TH_DIM));
        return;
    }
    if (!c->chart_loaded || !c->chart_for || strcmp(c->chart_for, cur) != 0) {
        put_text(win, y, 1, "loading the processing stages...", cols - 2, theme_attr(th, TH_DIM));
        return;
    }
    if (c->chart_error[0]) {
        put_text(win, y, 1, c->chart_error, cols - 2, theme_attr(th, TH_STATUS_ERROR));
        return;
    }
    const struct cohort_stages *st = &c->stages;
    char title[600];
    char *inert = text_inert(cur);
    snprintf(title, sizeof title, "%s: %lld item%s by processing stage", inert, st->total,
             st->total == 1 ? "" : "s");
    free(inert);
    put_text(win, y++, 1, title, cols - 2, theme_attr(th, TH_TABLE_HEADER));
    if (!st->n) {
        if (y < bottom)
            put_text(win, y, 3, "(no items)", cols - 4, theme_attr(th, TH_DIM));
        return;
    }
    int name_w = 10;
    long long max = 1;
    for (size_t i = 0; i < st->n; i++) {
        char *in = text_inert(st->items[i].stage);
        int w = text_width(in);
        free(in);
        if (w > name_w)
            name_w = w;
        if (st->items[i].count > max)
            max = st->items[i].count;
    }
    if (name_w > cols / 2)
        name_w = cols / 2;
    int bar_x = 1 + name_w + 1 + 9 + 2;
    int bar_w = cols - bar_x - 1;
    bool rule_drawn = false;
    for (size_t i = 0; i < st->n && y < bottom; i++) {
        const struct cohort_stage_count *sc = &st->items[i];
        if (sc->exceptional && !rule_drawn) {
            rule_drawn = true;
            put_text(win, y++, 1, "-- terminal or exceptional --", cols - 2, theme_attr(th, TH_DIM));
            if (y >= bottom)
                break;
        }
        if (i + 1 < st->n && y == bottom - 1 && bottom - y < (int)(st->n - i)) {
            put_text(win, y, 1, "... (taller terminal shows every stage; lakeop cohort NAME lists them)",
                     cols - 2, theme_attr(th, TH_DIM));
            break;
        }
        enum theme_el el = stage_el(sc->stage);
        put_text(win, y, 1, sc->stage, name_w, theme_attr(th, el));
        char num[24];
        snprintf(num, sizeof num, "%9lld", sc->count);
        put_text(win, y, 1 + name_w + 1, num, 9, theme_attr(th, TH_NORMAL));
        if (bar_w > 0) {
            /* Round up: a stage with items never gets an empty bar. */
            int n = (int)((sc->count * bar_w + max - 1) / max);
            wattrset(win, theme_attr(th, el) | (th->color ? A_NORMAL : A_BOLD));
            wmove(win, y, bar_x);
            for (int k = 0; k < n; k++)
                waddstr(win, "\xe2\x96\x88");   /* U+2588 FULL BLOCK */
            wattrset(win, A_NORMAL);
        }
        y++;
    }
}

static void cohorts_draw(struct screen *s, WINDOW *win, bool full)
{
    struct cohorts *c = s->st;
    const char *cur = tbl_cursor_id(c->tbl);
    /* The cursor moved (keys, mouse, a reload): the chart follows it. */
    if (cur && (!c->chart_wanted || strcmp(c->chart_wanted, cur) != 0))
        chart_query(c, cur);
    int rows = getmaxy(win), cols = getmaxx(win);
    int list_h = (int)tbl_count(c->tbl) + 2;
    int max_list = rows * 2 / 5;
    if (max_list < 4)
        max_list = 4;
    if (list_h > max_list)
        list_h = max_list;
    if (list_h < 3)
        list_h = 3;
    if (list_h > rows)
        list_h = rows;
    WINDOW *top = derwin(win, list_h, cols, 0, 0);
    if (top) {
        tbl_draw(c->tbl, top, &s->tui->th, true);
        delwin(top);
    }
    for (int y = list_h; y < rows; y++) {
        wmove(win, y, 0);
        wclrtoeol(win);
    }
    if (rows - list_h > 1)
        draw_chart(c, win, &s->tui->th, list_h + 1, rows - list_h - 1);
}

static void cohorts_notify(struct screen *s, const char *table)
{
    if (!strcmp(table, "cohorts") || !strcmp(table, "cohort_items"))
        cohorts_reload(s);
}

static struct tbl *cohorts_table(struct screen *s)
{
    return ((struct cohorts *)s->st)->tbl;
}

/* ---- export and sync: confirmed, on a worker, with progress ------------- */

enum op { OP_EXPORT, OP_SYNC };

struct op_job {
    struct tui *t;
    struct screen *owner;        /* the screen the worker runs for */
    enum op op;
    char *name;
    char *env_name;
    char *operator_name;
    volatile int cancel;
    struct dlg_progress *progress;
    unsigned timer;

    pthread_mutex_t mu;          /* the worker writes progress, the timer reads it */
    long long records, records_total, bytes;

    enum lk_status st;
    char message[1400];
};

static void op_job_free(struct op_job *j)
{
    free(j->name);
    free(j->env_name);
    free(j->operator_name);
    pthread_mutex_destroy(&j->mu);
    free(j);
}

static void op_progress(const struct lk_progress *p, void *ud)
{
    struct op_job *j = ud;
    pthread_mutex_lock(&j->mu);
    j->records = p->records_done;
    j->records_total = p->records_total;
    j->bytes = p->bytes_done;
    pthread_mutex_unlock(&j->mu);
}

static void op_work(void *wctx, void *p)
{
    struct op_job *j = p;
    struct lk_error err;
    err_clear(&err);
    PGconn *db = app_db(wctx, &err);
    if (!db) {
        j->st = LK_FAIL;
        err_text(&err, j->message, sizeof j->message);
        return;
    }
    struct lk_ctx *ctx = app_ctx(wctx);
    /* The context belongs to this worker thread and outlives the job. */
    lk_progress_fn old_progress = ctx->progress;
    void *old_ud = ctx->progress_ud;
    const volatile int *old_cancel = ctx->cancel;
    ctx->progress = op_progress;
    ctx->progress_ud = j;
    ctx->cancel = &j->cancel;
    const char *action;
    char *params = NULL;
    if (j->op == OP_EXPORT) {
        action = "cohort.export";
        struct cohort_export_result res;
        j->st = cohort_export(ctx, j->name, &res, &err);
        if (j->st == LK_OK)
            snprintf(j->message, sizeof j->message, "exported %lld records (%lld bytes) to %s",
                     res.records, res.bytes, res.csv_url);
        char *csv = NULL, *manifest = NULL;
        struct lk_error ignored;
        if (cohort_export_urls(ctx->env, j->name, &csv, &manifest, &ignored) == LK_OK) {
            json_t *o = json_pack("{s:s,s:s}", "csv", csv, "manifest", manifest);
            params = jx_dump(o);
            json_decref(o);
        }
        free(csv);
        free(manifest);
        cohort_export_result_free(&res);
    } else {
        action = "cohort.sync";
        struct cohort_upsert_result res;
        j->st = cohort_sync(ctx, j->name, &res, &err);
        if (j->st == LK_OK)
            snprintf(j->message, sizeof j->message, "%lld new, %lld updated", res.inserted, res.updated);
    }
    if (j->st != LK_OK)
        err_text(&err, j->message, sizeof j->message);
    ctx->progress = old_progress;
    ctx->progress_ud = old_ud;
    ctx->cancel = old_cancel;
    struct audit_entry e = {
        .operator_name = j->operator_name,
        .env = j->env_name,
        .action = action,
        .target = j->name,
        .params_json = params,
        .result = j->st == LK_OK ? AUDIT_OK : AUDIT_FAILED,
        .message = j->message,
    };
    struct lk_error aerr;
    err_clear(&aerr);
    if (audit_append(db, &e, &aerr) != LK_OK && j->st == LK_OK) {
        j->st = LK_FAIL;
        char text[600];
        snprintf(j->message + strlen(j->message), sizeof j->message - strlen(j->message),
                 "; but the audit log could not record it: %s", err_text(&aerr, text, sizeof text));
    }
    free(params);
}

static void op_tick(struct loop *loop, void *ud)
{
    struct op_job *j = ud;
    long long records, total, bytes;
    pthread_mutex_lock(&j->mu);
    records = j->records;
    total = j->records_total;
    bytes = j->bytes;
    pthread_mutex_unlock(&j->mu);
    dlg_progress_update(j->progress, j->op == OP_EXPORT ? "writing the cohort file" : "reading DynamoDB",
                        bytes, -1, records, total);
}

static void op_cancel(void *ud)
{
    struct op_job *j = ud;
    j->cancel = 1;
}

static void op_done(struct loop *loop, void *p, bool orphaned)
{
    struct op_job *j = p;
    loop_timer_cancel(loop, j->timer);
    dlg_progress_close(j->progress);
    app_busy_end(j->t);
    tui_message(j->t, j->st == LK_OK ? TUI_INFO : TUI_ERROR, "%s of cohort %s %s: %s",
                j->op == OP_EXPORT ? "export" : "sync", j->name, j->st == LK_OK ? "done" : "failed",
                j->message);
    if (!orphaned && j->owner->ops->reload)
        j->owner->ops->reload(j->owner);
    op_job_free(j);
}

static void op_confirmed(struct tui *t, bool ok, const char *input, void *ud)
{
    struct op_job *j = ud;
    if (!ok) {
        tui_message(t, TUI_INFO, "%s: nothing was changed", j->op == OP_EXPORT ? "export" : "sync");
        op_job_free(j);
        return;
    }
    j->progress = dlg_progress_open(t, j->op == OP_EXPORT ? "Export cohort" : "Sync cohort", j->name,
                                    op_cancel, j);
    j->timer = loop_timer_add(t->loop, PROGRESS_TICK_MS, true, op_tick, j);
    app_busy_begin(t, j->op == OP_EXPORT ? "exporting a cohort" : "syncing a cohort");
    tui_submit(j->owner, op_work, op_done, j);
}

static const char *selected_cohort(struct screen *s);

/* The target the dialog showed must still be the one selected. */
static bool still_selected(struct tui *t, void *ud, char *why, size_t why_size)
{
    struct op_job *j = ud;
    const char *now = selected_cohort(j->owner);
    if (now && strcmp(now, j->name) == 0)
        return true;
    snprintf(why, why_size, "the selection changed while the dialog was open");
    return false;
}

static void start_op(struct screen *s, enum op op)
{
    const char *name = selected_cohort(s);
    if (!name) {
        tui_message(s->tui, TUI_INFO, "no cohort selected");
        return;
    }
    const struct cfg_env *env = app_env(s->tui);
    struct op_job *j = xcalloc(1, sizeof *j);
    j->t = s->tui;
    j->owner = s;
    j->op = op;
    j->name = xstrdup(name);
    j->env_name = xstrdup(env && env->name ? env->name : "");
    j->operator_name = xstrdup(app_operator(s->tui));
    j->records_total = -1;
    pthread_mutex_init(&j->mu, NULL);
    struct lk_error err;
    err_clear(&err);
    char *text = NULL;
    if (op == OP_EXPORT) {
        char *csv = NULL, *manifest = NULL;
        if (!env || cohort_export_urls(env, name, &csv, &manifest, &err) != LK_OK) {
            char why[1200];
            tui_message(s->tui, TUI_ERROR, "export: %s", err_text(&err, why, sizeof why));
            op_job_free(j);
            return;
        }
        text = xasprintf("Write every item of cohort %s to\n%s\nthen its manifest to\n%s\n"
                         "replacing the previous export's files.",
                         name, csv, manifest);
        free(csv);
        free(manifest);
    } else {
        char *table = NULL;
        if (!env || cohort_table_name(env, name, &table, &err) != LK_OK) {
            char why[1200];
            tui_message(s->tui, TUI_ERROR, "sync: %s", err_text(&err, why, sizeof why));
            op_job_free(j);
            return;
        }
        text = xasprintf("Read every item of DynamoDB table %s into cohort %s, adding new items "
                         "and updating known ones (all or nothing).",
                         table, name);
        free(table);
    }
    app_confirm(s->tui, op == OP_EXPORT ? ACT_EXPORT : ACT_SYNC,
                op == OP_EXPORT ? "Export cohort" : "Sync cohort", text, name, still_selected,
                op_confirmed, j);
    free(text);
}

/* ---- import: a cohort file, named in two input lines, then confirmed ----- */

/* U: the cohort (the selected one offered; a new name makes a new cohort),
 * then the file, checked as it is typed; then the confirmation every change
 * goes through (typed in a protected environment; the frame has already
 * refused it in a read-only one); then cohort_import() on a worker, audited
 * as the command line's cohort-import is. */
struct import_job {
    struct tui *t;
    struct screen *owner;
    char *name;
    char *path;                  /* as opened: ~/ expanded, made absolute */
    char *env_name;
    char *operator_name;
    enum lk_status st;
    char message[1400];
};

static void import_job_free(struct import_job *j)
{
    free(j->name);
    free(j->path);
    free(j->env_name);
    free(j->operator_name);
    free(j);
}

/* "~/x" from the home folder, then absolute (the audit and the dialog name
 * the file that is read, whatever the console's folder).  Caller frees. */
static char *import_path(const char *typed)
{
    const char *home = getenv("HOME");
    char *path = typed[0] == '~' && typed[1] == '/' && home && *home ? xasprintf("%s/%s", home, typed + 2)
                                                                     : xstrdup(typed);
    char *abs = realpath(path, NULL);
    if (abs) {
        free(path);
        path = xstrdup(abs);
        free(abs);
    }
    return path;
}

/* A file that exists, is a regular file and can be read. */
static bool import_readable(const char *path, char *why, size_t why_size)
{
    struct stat sb;
    if (stat(path, &sb) != 0) {
        snprintf(why, why_size, "%s", strerror(errno));
        return false;
    }
    if (!S_ISREG(sb.st_mode)) {
        snprintf(why, why_size, "not a file");
        return false;
    }
    if (access(path, R_OK) != 0) {
        snprintf(why, why_size, "cannot read it: %s", strerror(errno));
        return false;
    }
    return true;
}

static bool import_validate_file(const char *input, void *ud, char *why, size_t why_size)
{
    if (!*input) {
        snprintf(why, why_size, "the path of a cohort file in the export's format");
        return false;
    }
    char *path = import_path(input);
    bool ok = import_readable(path, why, why_size);
    free(path);
    return ok;
}

static bool import_validate_name(const char *input, void *ud, char *why, size_t why_size)
{
    return cohort_name_valid(input, why, why_size);
}

static void import_work(void *wctx, void *p)
{
    struct import_job *j = p;
    struct lk_error err;
    err_clear(&err);
    PGconn *db = app_db(wctx, &err);
    if (!db) {
        j->st = LK_FAIL;
        err_text(&err, j->message, sizeof j->message);
        return;
    }
    struct cohort_upsert_result res;
    j->st = cohort_import(app_ctx(wctx), j->name, j->path, &res, &err);
    if (j->st == LK_OK)
        snprintf(j->message, sizeof j->message, "%lld new, %lld updated", res.inserted, res.updated);
    else
        err_text(&err, j->message, sizeof j->message);
    /* A path need not be UTF-8; its inert form is. */
    json_t *file = json_string(j->path);
    if (!file) {
        char *inert = text_inert(j->path);
        file = json_string(inert);
        free(inert);
    }
    json_t *o = json_object();
    json_object_set_new(o, "file", file ? file : json_null());
    char *params = jx_dump(o);
    json_decref(o);
    struct audit_entry e = {
        .operator_name = j->operator_name,
        .env = j->env_name,
        .action = "cohort.import",
        .target = j->name,
        .params_json = params,
        .result = j->st == LK_OK ? AUDIT_OK : AUDIT_FAILED,
        .message = j->message,
    };
    struct lk_error aerr;
    err_clear(&aerr);
    if (audit_append(db, &e, &aerr) != LK_OK && j->st == LK_OK) {
        j->st = LK_FAIL;
        char text[600];
        snprintf(j->message + strlen(j->message), sizeof j->message - strlen(j->message),
                 "; but the audit log could not record it: %s", err_text(&aerr, text, sizeof text));
    }
    free(params);
}

static void import_done(struct loop *loop, void *p, bool orphaned)
{
    struct import_job *j = p;
    app_busy_end(j->t);
    tui_message(j->t, j->st == LK_OK ? TUI_INFO : TUI_ERROR, "import of cohort %s %s: %s", j->name,
                j->st == LK_OK ? "done" : "failed", j->message);
    if (!orphaned && j->owner->ops->reload)
        j->owner->ops->reload(j->owner);
    import_job_free(j);
}

/* The file is checked again just before the import: it may have gone
 * while the dialog was open. */
static bool import_still_readable(struct tui *t, void *ud, char *why, size_t why_size)
{
    struct import_job *j = ud;
    char reason[256];
    if (import_readable(j->path, reason, sizeof reason))
        return true;
    snprintf(why, why_size, "%.200s: %s", j->path, reason);
    return false;
}

static void import_confirmed(struct tui *t, bool ok, const char *input, void *ud)
{
    struct import_job *j = ud;
    if (!ok) {
        tui_message(t, TUI_INFO, "import: nothing was changed");
        import_job_free(j);
        return;
    }
    app_busy_begin(t, "importing a cohort file");
    tui_message(t, TUI_INFO, "importing %s into cohort %s ...", j->path, j->name);
    tui_submit(j->owner, import_work, import_done, j);
}

static void import_got_file(struct tui *t, bool ok, const char *input, void *ud)
{
    struct import_job *j = ud;
    if (!ok) {
        import_job_free(j);
        return;
    }
    j->path = import_path(input);
    char *text = xasprintf("Load %s into cohort %s, adding new items and updating known ones "
                           "(all or nothing: a bad line stores nothing).",
                           j->path, j->name);
    app_confirm(t, ACT_IMPORT, "Import cohort file", text, j->name, import_still_readable, import_confirmed,
                j);
    free(text);
}

static void import_got_name(struct tui *t, bool ok, const char *input, void *ud)
{
    struct import_job *j = ud;
    if (!ok) {
        import_job_free(j);
        return;
    }
    j->name = xstrdup(input);
    char *prompt = xasprintf("File for cohort %s (the export's format; ~/ is your home):", input);
    dlg_input(t, "Import cohort file", prompt, "", import_validate_file, import_got_file, j);
    free(prompt);
}

static void start_import(struct screen *s)
{
    const struct cfg_env *env = app_env(s->tui);
    const char *selected = selected_cohort(s);
    struct import_job *j = xcalloc(1, sizeof *j);
    j->t = s->tui;
    j->owner = s;
    j->env_name = xstrdup(env && env->name ? env->name : "");
    j->operator_name = xstrdup(app_operator(s->tui));
    dlg_input(s->tui, "Import cohort file", "Cohort (the file's cohort_name; a new name makes a new cohort):",
              selected ? selected : "", import_validate_name, import_got_name, j);
}

/* ---- the items of one cohort (screen "cohort") ------------------------------ */

enum { I_SUB, I_STAGE, I_START, I_CUR, I_OLD, I_EST, I_NEW, I_PERIOD, I_AMENDED, I_REASON, N_ICOLS };

static const struct tbl_col ITEM_COLS[N_ICOLS] = {
    { "Subscription", 12, 12, TBL_LEFT, false },
    { "Stage", 24, 18, TBL_LEFT, false },
    { "Start", 10, 10, TBL_LEFT, false },
    { "Cur", 3, 3, TBL_LEFT, false },
    { "Old", 7, 3, TBL_RIGHT, true },
    { "Est. new", 8, 3, TBL_RIGHT, true },
    { "New", 7, 3, TBL_RIGHT, true },
    { "Period", 7, 3, TBL_LEFT, false },
    { "Amended", 20, 5, TBL_LEFT, false },
    { "Cancellation", 0, 6, TBL_LEFT, false },
};
/* Which field of struct cohort_row each column shows (Enter shows all). */
static const int ITEM_FIELD[N_ICOLS] = { 0, 1, 2, 3, 4, 5, 10, 6, 12, 16 };

struct items {
    struct screen *s;
    struct tbl *tbl;
    struct cohort_rows rows;     /* every loaded row, for the detail */
    char *name;
    unsigned generation;
    bool painted;
};

struct items_job {
    struct items *it;
    unsigned generation;
    bool replace;
    char *name;
    char *after;
    int limit;
    struct cohort_rows rows;
    enum lk_status st;
    struct lk_error err;
};

static void items_work(void *wctx, void *p)
{
    struct items_job *j = p;
    err_clear(&j->err);
    PGconn *db = app_db(wctx, &j->err);
    if (!db) {
        j->st = LK_FAIL;
        return;
    }
    struct cohort_info info;
    j->st = cohort_get(db, j->name, &info, &j->err);
    if (j->st != LK_OK)
        return;
    j->st = cohort_items_page(db, info.id, NULL, j->after, j->limit, &j->rows, &j->err);
    cohort_info_free(&info);
}

static void items_done(struct loop *loop, void *p, bool orphaned)
{
    struct items_job *j = p;
    if (!orphaned && j->generation == j->it->generation) {
        struct items *it = j->it;
        if (j->st != LK_OK) {
            char text[1024];
            tbl_fail(it->tbl, err_text(&j->err, text, sizeof text));
        } else {
            if (j->replace)
                cohort_rows_free(&it->rows);
            tbl_begin(it->tbl, j->replace);
            for (size_t i = 0; i < j->rows.n; i++) {
                const struct cohort_row *r = &j->rows.items[i];
                const char *cells[N_ICOLS];
                for (int c = 0; c < N_ICOLS; c++)
                    cells[c] = r->v[ITEM_FIELD[c]] ? r->v[ITEM_FIELD[c]] : "";
                tbl_row(it->tbl, r->v[COHORT_F_SUBSCRIPTION], cells, I_STAGE,
                        stage_el(r->v[COHORT_F_STAGE]));
            }
            tbl_end(it->tbl, (int)j->rows.n == j->limit);
            /* Keep the rows (the table keeps only what it shows). */
            it->rows.items = xrealloc(it->rows.items, (it->rows.n + j->rows.n + 1) * sizeof *it->rows.items);
            memcpy(it->rows.items + it->rows.n, j->rows.items, j->rows.n * sizeof *j->rows.items);
            it->rows.n += j->rows.n;
            j->rows.n = 0;
            if (!it->painted) {
                it->painted = true;
                tui_timing(it->s->tui, "data cohort");
                tui_mark_paint(it->s->tui, "paint cohort");
            }
        }
        tui_dirty(it->s, false);
    }
    cohort_rows_free(&j->rows);
    free(j->name);
    free(j->after);
    free(j);
}

static void items_query(struct items *it, const char *after, bool replace, int limit)
{
    struct items_job *j = xcalloc(1, sizeof *j);
    j->it = it;
    j->generation = it->generation;
    j->replace = replace;
    j->name = xstrdup(it->name);
    j->after = xstrdup(after);
    j->limit = limit;
    tbl_loading(it->tbl);
    tui_submit(it->s, items_work, items_done, j);
}

static void items_fetch(struct tbl *t, const char *after_id, void *ud)
{
    items_query(ud, after_id, false, ITEMS_PAGE);
}

static void items_reload(struct screen *s)
{
    struct items *it = s->st;
    size_t loaded = tbl_loaded(it->tbl);
    it->generation++;
    items_query(it, NULL, true, loaded > ITEMS_PAGE ? (int)(loaded < 5000 ? loaded : 5000) : ITEMS_PAGE);
}

/* data: the cohort's name (owned by this screen from now on), or the text
 * after `:cohort`. */
static void *items_open(struct screen *s, const char *arg, void *data)
{
    char *name = data ? data : arg && *arg ? xstrdup(arg) : NULL;
    if (!name) {
        tui_message(s->tui, TUI_INFO, ":cohort NAME shows a cohort's items");
        return NULL;
    }
    struct items *it = xcalloc(1, sizeof *it);
    it->s = s;
    it->name = name;
    it->tbl = tbl_new(ITEM_COLS, N_ICOLS);
    tbl_on_fetch(it->tbl, items_fetch, it);
    s->st = it;
    items_query(it, NULL, true, ITEMS_PAGE);
    return it;
}

static void items_close(struct screen *s)
{
    struct items *it = s->st;
    tbl_free(it->tbl);
    cohort_rows_free(&it->rows);
    free(it->name);
    free(it);
}

static void items_draw(struct screen *s, WINDOW *win, bool full)
{
    struct items *it = s->st;
    tbl_draw(it->tbl, win, &s->tui->th, full);
}

static void items_notify(struct screen *s, const char *table)
{
    if (!strcmp(table, "cohort_items"))
        items_reload(s);
}

static void items_enter(struct screen *s)
{
    struct items *it = s->st;
    const char *id = tbl_cursor_id(it->tbl);
    if (!id)
        return;
    char *title = xasprintf("Cohort %s: %s", it->name, id);
    struct detail *d = detail_new(title);
    free(title);
    detail_set_id(d, id);
    detail_kv(d, "cohort_name", it->name);
    const struct cohort_row *row = NULL;
    for (size_t i = 0; i < it->rows.n && !row; i++)
        if (it->rows.items[i].v[COHORT_F_SUBSCRIPTION] &&
            strcmp(it->rows.items[i].v[COHORT_F_SUBSCRIPTION], id) == 0)
            row = &it->rows.items[i];
    /* Every field as the export writes it, in its order. */
    for (int f = 0; row && f < COHORT_N_FIELDS; f++) {
        const char *v = row->v[f];
        detail_kv_el(d, COHORT_FIELDS[f].column, v && *v ? v : "(empty)",
                     f == COHORT_F_STAGE ? stage_el(v) : TH_NORMAL);
    }
    tui_push(s->tui, &detail_screen_ops, NULL, d);
}

static void items_status(struct screen *s, char *out, size_t size)
{
    struct items *it = s->st;
    char *inert = text_inert(it->name);
    char t[256];
    tbl_status(it->tbl, t, sizeof t);
    snprintf(out, size, "cohort %s  %s", inert, t);
    free(inert);
}

static struct tbl *items_table(struct screen *s)
{
    return ((struct items *)s->st)->tbl;
}

static bool items_key(struct screen *s, enum action act, int ch);

static const struct screen_ops cohort_items_ops = {
    .name = "cohort",
    .title = "Cohort items",
    .order = 51,
    .flags = SCREEN_SORTABLE | SCREEN_FILTERABLE,
    .open = items_open,
    .close = items_close,
    .draw = items_draw,
    .key = items_key,
    .reload = items_reload,
    .on_notify = items_notify,
    .table = items_table,
    .status = items_status,
};
SCREEN_DEFINE(cohort_items_ops);

static bool items_key(struct screen *s, enum action act, int ch)
{
    switch (act) {
    case ACT_ENTER:
        items_enter(s);
        return true;
    case ACT_EXPORT:
        start_op(s, OP_EXPORT);
        return true;
    case ACT_SYNC:
        start_op(s, OP_SYNC);
        return true;
    case ACT_IMPORT:
        start_import(s);
        return true;
    default:
        return false;
    }
}

/* ---- both screens ------------------------------------------------------------ */

static const char *selected_cohort(struct screen *s)
{
    if (s->ops == &cohort_items_ops)
        return ((struct items *)s->st)->name;
    return tbl_cursor_id(((struct cohorts *)s->st)->tbl);
}

static bool cohorts_key(struct screen *s, enum action act, int ch)
{
    struct cohorts *c = s->st;
    switch (act) {
    case ACT_ENTER: {
        const char *cur = tbl_cursor_id(c->tbl);
        if (cur)
            tui_push(s->tui, &cohort_items_ops, NULL, xstrdup(cur));
        return true;
    }
    case ACT_EXPORT:
        start_op(s, OP_EXPORT);
        return true;
    case ACT_SYNC:
        start_op(s, OP_SYNC);
        return true;
    case ACT_IMPORT:
        start_import(s);
        return true;
    default:
        return false;
    }
}

static const struct screen_ops cohorts_ops = {
    .name = "cohorts",
    .title = "Cohorts",
    .order = 5,
    .flags = SCREEN_TOP | SCREEN_SORTABLE | SCREEN_FILTERABLE,
    .open = cohorts_open,
    .close = cohorts_close,
    .draw = cohorts_draw,
    .key = cohorts_key,
    .reload = cohorts_reload,
    .on_notify = cohorts_notify,
    .table = cohorts_table,
};
SCREEN_DEFINE(cohorts_ops);
