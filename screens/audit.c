/* The Audit screen: lakeop.audit, newest first, keyset paged, filtered on
 * the server as you type, details on Enter.  The worked example of
 * tui/README.md: a table screen in one file. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "db.h"
#include "detail.h"
#include "mem.h"
#include "tbl.h"
#include "tui.h"

#define AUDIT_PAGE 200
/* More new rows than this since the last refresh: start again from the top. */
#define AUDIT_REFRESH_MAX 5000

enum { COL_TIME, COL_OPERATOR, COL_ENV, COL_ACTION, COL_TARGET, COL_RESULT, COL_MESSAGE, N_COLS };

static const struct tbl_col AUDIT_COLS[N_COLS] = {
    { "Time", 19, 10, TBL_LEFT, false },
    { "Operator", 8, 5, TBL_LEFT, false },
    { "Env", 5, 3, TBL_LEFT, false },
    { "Action", 12, 6, TBL_LEFT, false },
    { "Target", 0, 8, TBL_LEFT, false },
    { "Result", 7, 6, TBL_LEFT, false },
    { "Message", 0, 8, TBL_LEFT, false },
};

struct audit {
    struct screen *s;
    struct tbl *tbl;
    unsigned generation;         /* answers to an older query are dropped */
    bool first_paint_logged;
};

/* One query on a worker: its inputs, then its answer. */
struct audit_job {
    struct audit *a;             /* touched only in done(), when not orphaned */
    unsigned generation;
    bool replace;
    bool newer;                  /* a refresh: only rows after the newest loaded */
    char before[32];             /* keyset: rows with id < before; "" = newest */
    char after[32];              /* rows with id > after; "" = any */
    char filter[256];
    int limit;
    PGresult *res;
    struct lk_error err;
};

/* The filter matches any column, case-insensitively, on the server, so
 * that it finds rows that are not loaded yet. */
static const char AUDIT_SQL[] =
    "SELECT id, extract(epoch FROM at)::bigint, operator, env, action, coalesce(target, ''),"
    "       result, coalesce(message, '')"
    "  FROM lakeop.audit"
    " WHERE ($1 = '' OR id < $1::bigint)"
    "   AND ($4 = '' OR id > $4::bigint)"
    "   AND ($2 = '' OR concat_ws(' ', operator, env, action, target, result, message) ILIKE"
    "                   '%' || replace(replace(replace($2, '\\', '\\\\'), '%', '\\%'), '_', '\\_') || '%')"
    " ORDER BY id DESC LIMIT $3::int";

static void audit_work(void *wctx, void *p)
{
    struct audit_job *j = p;
    err_clear(&j->err);
    PGconn *db = app_db(wctx, &j->err);
    if (!db)
        return;
    char limit[16];
    snprintf(limit, sizeof limit, "%d", j->limit);
    const char *params[] = { j->before, j->filter, limit, j->after };
    db_exec(db, AUDIT_SQL, 4, params, &j->res, &j->err);
}

static enum theme_el result_el(const char *result)
{
    if (strcmp(result, "ok") == 0)
        return TH_STATE_SUCCESS;
    if (strcmp(result, "refused") == 0)
        return TH_STATE_QUEUED;
    return TH_STATE_FAILED;
}

static void audit_query(struct audit *a, const char *before, const char *after, bool replace, int limit);

static void audit_done(struct loop *loop, void *p, bool orphaned)
{
    struct audit_job *j = p;
    if (!orphaned && j->generation == j->a->generation && j->newer && j->res &&
        PQntuples(j->res) >= j->limit) {
        /* Too much is new to put on top: a gap would hide rows. */
        j->a->generation++;
        audit_query(j->a, NULL, NULL, true, AUDIT_PAGE);
    } else if (!orphaned && j->generation == j->a->generation) {
        struct audit *a = j->a;
        if (!j->res) {
            char text[1024];
            tbl_fail(a->tbl, err_text(&j->err, text, sizeof text));
        } else {
            int n = PQntuples(j->res);
            if (j->newer)
                tbl_begin_newer(a->tbl);
            else
                tbl_begin(a->tbl, j->replace);
            for (int i = 0; i < n; i++) {
                char when[32];
                app_time(atoll(PQgetvalue(j->res, i, 1)), when, sizeof when);
                const char *cells[N_COLS] = {
                    when,
                    PQgetvalue(j->res, i, 2), PQgetvalue(j->res, i, 3),
                    PQgetvalue(j->res, i, 4), PQgetvalue(j->res, i, 5),
                    PQgetvalue(j->res, i, 6), PQgetvalue(j->res, i, 7),
                };
                tbl_row(a->tbl, PQgetvalue(j->res, i, 0), cells, COL_RESULT,
                        result_el(PQgetvalue(j->res, i, 6)));
            }
            tbl_end(a->tbl, n == j->limit);
            if (!a->first_paint_logged) {
                a->first_paint_logged = true;
                tui_timing(a->s->tui, "data audit");
                tui_mark_paint(a->s->tui, "paint audit");
            }
        }
        tui_dirty(a->s, false);
    }
    if (j->res)
        PQclear(j->res);
    free(j);
}

/* after: only rows newer than that id, put above the loaded ones. */
static void audit_query(struct audit *a, const char *before, const char *after, bool replace, int limit)
{
    struct audit_job *j = xcalloc(1, sizeof *j);
    j->a = a;
    j->generation = a->generation;
    j->replace = replace;
    j->newer = after != NULL;
    j->limit = limit;
    snprintf(j->before, sizeof j->before, "%s", before ? before : "");
    snprintf(j->after, sizeof j->after, "%s", after ? after : "");
    snprintf(j->filter, sizeof j->filter, "%s", tbl_filter(a->tbl));
    tbl_loading(a->tbl);
    tui_submit(a->s, audit_work, audit_done, j);
}

/* The table asks for the page after its last row. */
static void audit_fetch(struct tbl *t, const char *after_id, void *ud)
{
    audit_query(ud, after_id, NULL, false, AUDIT_PAGE);
}

/* The audit is append-only (a trigger refuses UPDATE and DELETE): a
 * refresh fetches only the rows newer than the newest loaded, so every row
 * loaded stays, and the cursor with it, however far the operator scrolled. */
static void audit_reload(struct screen *s)
{
    struct audit *a = s->st;
    const char *newest = tbl_first_id(a->tbl);
    a->generation++;
    if (newest)
        audit_query(a, NULL, newest, false, AUDIT_REFRESH_MAX);
    else
        audit_query(a, NULL, NULL, true, AUDIT_PAGE);
}

static void audit_filter(struct tbl *t, const char *filter, void *ud)
{
    struct audit *a = ud;
    a->generation++;
    audit_query(a, NULL, NULL, true, AUDIT_PAGE);
}

static void *audit_open(struct screen *s, const char *arg, void *data)
{
    struct audit *a = xcalloc(1, sizeof *a);
    a->s = s;
    a->tbl = tbl_new(AUDIT_COLS, N_COLS);
    tbl_on_fetch(a->tbl, audit_fetch, a);
    tbl_on_filter(a->tbl, audit_filter, a);
    s->st = a;
    audit_query(a, NULL, NULL, true, AUDIT_PAGE);
    return a;
}

static void audit_close(struct screen *s)
{
    struct audit *a = s->st;
    tbl_free(a->tbl);
    free(a);
}

static void audit_draw(struct screen *s, WINDOW *win, bool full)
{
    struct audit *a = s->st;
    tbl_draw(a->tbl, win, &s->tui->th, full);
}

static void audit_notify(struct screen *s, const char *table)
{
    if (strcmp(table, "audit") == 0)
        audit_reload(s);
}

/* Detail: the row as loaded, then the parameters, fetched on a worker. */

struct detail_job {
    char id[32];
    PGresult *res;
    struct lk_error err;
};

static void detail_work(void *wctx, void *p)
{
    struct detail_job *j = p;
    err_clear(&j->err);
    PGconn *db = app_db(wctx, &j->err);
    if (!db)
        return;
    const char *params[] = { j->id };
    db_exec(db, "SELECT params::text, coalesce(message, '') FROM lakeop.audit WHERE id = $1::bigint",
            1, params, &j->res, &j->err);
}

struct detail_req {
    struct detail_job job;
    struct screen *ds;           /* the detail screen; valid unless orphaned */
};

static void detail_req_done(struct loop *loop, void *p, bool orphaned)
{
    struct detail_req *r = p;
    if (!orphaned) {
        struct detail *d = detail_of(r->ds);
        detail_set_loading(d, false);
        if (!r->job.res) {
            char text[1024];
            detail_fail(d, err_text(&r->job.err, text, sizeof text));
        } else if (PQntuples(r->job.res) == 1) {
            detail_heading(d, "Message");
            detail_text(d, PQgetvalue(r->job.res, 0, 1), TH_NORMAL);
            detail_heading(d, "Parameters");
            if (PQgetisnull(r->job.res, 0, 0))
                detail_text(d, "(none)", TH_DIM);
            else
                detail_json(d, PQgetvalue(r->job.res, 0, 0));
        }
        tui_dirty(r->ds, true);
    }
    if (r->job.res)
        PQclear(r->job.res);
    free(r);
}

static void audit_enter(struct screen *s)
{
    struct audit *a = s->st;
    const char *id = tbl_cursor_id(a->tbl);
    if (!id)
        return;
    char title[64];
    snprintf(title, sizeof title, "Audit entry %s", id);
    struct detail *d = detail_new(title);
    detail_set_id(d, id);
    static const char *const keys[N_COLS] = { "time", "operator", "environment", "action",
                                              "target", "result", "message" };
    detail_kv(d, "id", id);
    for (int c = 0; c < N_COLS - 1; c++)
        detail_kv_el(d, keys[c], tbl_cell(a->tbl, id, c),
                     c == COL_RESULT ? result_el(tbl_cell(a->tbl, id, c)) : TH_NORMAL);
    detail_set_loading(d, true);
    struct detail_req *r = xcalloc(1, sizeof *r);
    snprintf(r->job.id, sizeof r->job.id, "%s", id);
    r->ds = tui_push(s->tui, &detail_screen_ops, NULL, d);
    if (!r->ds) {
        free(r);
        return;
    }
    tui_submit(r->ds, detail_work, detail_req_done, r);
}

static bool audit_key(struct screen *s, enum action act, int ch)
{
    if (act == ACT_ENTER) {
        audit_enter(s);
        return true;
    }
    return false;
}

static struct tbl *audit_table(struct screen *s)
{
    return ((struct audit *)s->st)->tbl;
}

static const struct screen_ops audit_ops = {
    .name = "audit",
    .title = "Audit",
    .order = 90,
    .flags = SCREEN_TOP | SCREEN_SORTABLE | SCREEN_FILTERABLE,
    .open = audit_open,
    .close = audit_close,
    .draw = audit_draw,
    .key = audit_key,
    .reload = audit_reload,
    .on_notify = audit_notify,
    .table = audit_table,
};
SCREEN_DEFINE(audit_ops);
