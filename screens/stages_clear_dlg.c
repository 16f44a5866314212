/* Clear (re-run) a task from the Stages screen, as the runbook says: the
 * Airflow UI's toggles, the dry-run list of the task instances that will
 * re-run (reviewed in a scrollable table, asked again whenever a toggle
 * changes), confirmation (typed environment name when protected; the run
 * and task re-checked), the clear with reset_dag_runs, its audit record,
 * then the Stages screen follows the touched instances.
 *
 * A screen of its own rather than a dialog: the list can be long and the
 * operator scrolls it before deciding.  The clear itself runs as a job of
 * the Stages screen, so it reports back after this screen is gone. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "audit.h"
#include "mem.h"
#include "stages.h"
#include "stages_ui.h"
#include "tbl.h"
#include "text.h"
#include "tui.h"

#define CLEAR_HEADER_LINES 4

enum { COL_DAG, COL_TASK, COL_RUN, COL_STATE, N_COLS };

static const struct tbl_col CLEAR_COLS[N_COLS] = {
    { "DAG", 0, 8, TBL_LEFT, false },
    { "Task", 0, 10, TBL_LEFT, false },
    { "Run", 0, 12, TBL_LEFT, false },
    { "Current state", 15, 8, TBL_LEFT, false },
};

/* The toggles, in the order and with the names of Airflow's Clear dialog;
 * the key is the mnemonic shown beside each. */
enum { OPT_DOWNSTREAM, OPT_UPSTREAM, OPT_RECURSIVE, OPT_ONLY_FAILED, OPT_PAST, OPT_FUTURE, N_OPTS };
static const struct {
    int key;
    const char *label;
} OPTS[N_OPTS] = {
    { 'd', "downstream" }, { 'u', "upstream" }, { 'x', "recursive" },
    { 'o', "only failed" }, { 'p', "past" },     { 'f', "future" },
};

struct clear {
    struct screen *s;
    struct screen *stages;        /* below this screen on the stack: outlives it */
    struct tbl *tbl;
    WINDOW *sub;
    char *dag_id, *run_id, *task_id;
    bool opt[N_OPTS];
    unsigned generation;
    bool loading;
    bool have_preview;            /* the preview matches the toggles shown */
    struct airflow_ti_list preview;
    char error[1400];
};

struct clear_open_req {
    struct screen *stages;
    char *dag_id, *run_id, *task_id;
};

/* Options with storage for the one task id they point at. */
struct opts_store {
    struct airflow_clear_opts o;
    const char *ids[1];
};

static void opts_fill(struct opts_store *os, const bool opt[N_OPTS], const char *run_id,
                      const char *task_id)
{
    memset(os, 0, sizeof *os);
    os->ids[0] = task_id;
    os->o.dag_run_id = run_id;
    os->o.task_ids = os->ids;
    os->o.n_task_ids = 1;
    os->o.include_downstream = opt[OPT_DOWNSTREAM];
    os->o.include_upstream = opt[OPT_UPSTREAM];
    os->o.recursive = opt[OPT_RECURSIVE];
    os->o.only_failed = opt[OPT_ONLY_FAILED];
    os->o.include_past = opt[OPT_PAST];
    os->o.include_future = opt[OPT_FUTURE];
    os->o.reset_dag_runs = true;
}

/* ---- the dry run ------------------------------------------------------ */

struct preview_job {
    struct clear *c;
    unsigned generation;
    char *dag_id, *run_id, *task_id;
    bool opt[N_OPTS];
    enum lk_status status;
    struct lk_error err;
    struct airflow_ti_list list;
};

static void preview_work(void *wctx, void *p)
{
    struct preview_job *j = p;
    err_clear(&j->err);
    struct opts_store os;
    opts_fill(&os, j->opt, j->run_id, j->task_id);
    j->status = stages_clear_preview(app_ctx(wctx), j->dag_id, &os.o, &j->list, &j->err);
}

static void preview_done(struct loop *loop, void *p, bool orphaned)
{
    struct preview_job *j = p;
    if (!orphaned && j->generation == j->c->generation) {
        struct clear *c = j->c;
        c->loading = false;
        airflow_ti_list_free(&c->preview);
        if (j->status != LK_OK) {
            err_text(&j->err, c->error, sizeof c->error);
            tbl_fail(c->tbl, c->error);
            c->have_preview = false;
        } else {
            c->error[0] = '\0';
            c->preview = j->list;
            memset(&j->list, 0, sizeof j->list);
            c->have_preview = true;
            tbl_begin(c->tbl, true);
            for (size_t i = 0; i < c->preview.n; i++) {
                const struct airflow_ti *ti = &c->preview.items[i];
                char id[32];
                snprintf(id, sizeof id, "%zu", i);
                const char *cells[N_COLS] = { ti->dag_id, ti->task_id, ti->dag_run_id,
                                              ti->state ? ti->state : "no state" };
                tbl_row(c->tbl, id, cells, COL_STATE, stages_state_el(ti->state));
            }
            tbl_end(c->tbl, false);
        }
        tui_dirty(c->s, true);
    }
    airflow_ti_list_free(&j->list);
    free(j->dag_id);
    free(j->run_id);
    free(j->task_id);
    free(j);
}

static void preview_ask(struct clear *c)
{
    struct preview_job *j = xcalloc(1, sizeof *j);
    j->c = c;
    j->generation = ++c->generation;
    j->dag_id = xstrdup(c->dag_id);
    j->run_id = xstrdup(c->run_id);
    j->task_id = xstrdup(c->task_id);
    memcpy(j->opt, c->opt, sizeof j->opt);
    c->loading = true;
    c->have_preview = false;
    tbl_loading(c->tbl);
    tui_submit(c->s, preview_work, preview_done, j);
    tui_dirty(c->s, true);
}

/* ---- the clear -------------------------------------------------------- */

struct apply_job {
    struct tui *t;
    struct screen *stages;        /* valid unless orphaned */
    char *dag_id, *run_id, *task_id;
    bool opt[N_OPTS];
    char *operator_name, *env_name;
    bool needs_db;
    struct airflow_ti_list preview;
    struct airflow_ti_list done;
    bool from_preview;
    enum lk_status status;
    struct lk_error err;
};

static void apply_job_free(struct apply_job *j)
{
    airflow_ti_list_free(&j->preview);
    airflow_ti_list_free(&j->done);
    free(j->dag_id);
    free(j->run_id);
    free(j->task_id);
    free(j->operator_name);
    free(j->env_name);
    free(j);
}

static void apply_work(void *wctx, void *p)
{
    struct apply_job *j = p;
    err_clear(&j->err);
    /* The database first: a clear never happens without its audit record
     * when the environment has one. */
    PGconn *db = NULL;
    if (j->needs_db) {
        db = app_db(wctx, &j->err);
        if (!db) {
            err_prefix(&j->err, "nothing cleared: the audit cannot be recorded");
            j->status = LK_FAIL;
            return;
        }
    }
    struct opts_store os;
    opts_fill(&os, j->opt, j->run_id, j->task_id);
    j->status = stages_clear_apply(app_ctx(wctx), j->dag_id, &os.o, &j->preview, &j->done,
                                   &j->from_preview, &j->err);
    if (!db)
        return;
    char msg[1400];
    if (j->status == LK_OK)
        snprintf(msg, sizeof msg, "cleared %zu task instance%s from the console%s", j->done.n,
                 j->done.n == 1 ? "" : "s",
                 j->from_preview ? " (Airflow listed none; the list is the dry run's)" : "");
    else
        err_text(&j->err, msg, sizeof msg);
    /* The dry run's list: it has the states before the clear (the server's
     * answer has none, and may be empty). */
    char *params = stages_clear_params_json(j->dag_id, &os.o, &j->preview);
    char *target = xasprintf("%s/%s/%s", j->dag_id, j->run_id, j->task_id);
    const struct audit_entry e = {
        .operator_name = j->operator_name, .env = j->env_name, .action = "stage.clear",
        .target = target, .params_json = params,
        .result = j->status == LK_OK ? AUDIT_OK : AUDIT_FAILED, .message = msg,
    };
    struct lk_error aerr;
    err_clear(&aerr);
    if (audit_append(db, &e, &aerr) != LK_OK && j->status == LK_OK) {
        j->status = LK_FAIL;
        j->err = aerr;
        err_prefix(&j->err, "cleared, but the audit record failed");
    }
    free(target);
    free(params);
}

static void apply_done(struct loop *loop, void *p, bool orphaned)
{
    struct apply_job *j = p;
    app_busy_end(j->t);
    char text[1400];
    if (j->status != LK_OK) {
        err_text(&j->err, text, sizeof text);
        tui_message(j->t, TUI_ERROR, "clear %s: %s", j->task_id, text);
        if (!orphaned) {
            /* The message line cuts a long error: the screen shows it whole. */
            char note[1500];
            snprintf(note, sizeof note, "clear %s failed, nothing cleared: %s", j->task_id, text);
            stages_note_error(j->stages, note);
        }
    } else {
        tui_message(j->t, TUI_INFO, "cleared %zu task instance%s of %s; watching them", j->done.n,
                    j->done.n == 1 ? "" : "s", j->dag_id);
        if (!orphaned)
            stages_watch(j->stages, j->run_id, &j->done);
    }
    apply_job_free(j);
}

static bool clear_still_valid(struct tui *t, void *ud, char *why, size_t why_size)
{
    struct clear *c = ud;
    if (tui_top(t) != c->s) {
        snprintf(why, why_size, "the clear screen is no longer shown");
        return false;
    }
    if (!c->have_preview || c->loading) {
        snprintf(why, why_size, "the dry-run list changed");
        return false;
    }
    return stages_target_is(c->stages, c->run_id, c->task_id, why, why_size);
}

static void clear_confirmed(struct tui *t, bool ok, const char *input, void *ud)
{
    struct clear *c = ud;
    if (!ok) {
        tui_message(t, TUI_INFO, "nothing cleared");
        return;
    }
    struct apply_job *j = xcalloc(1, sizeof *j);
    j->t = t;
    j->stages = c->stages;
    j->dag_id = xstrdup(c->dag_id);
    j->run_id = xstrdup(c->run_id);
    j->task_id = xstrdup(c->task_id);
    memcpy(j->opt, c->opt, sizeof j->opt);
    j->operator_name = xstrdup(app_operator(t));
    j->env_name = xstrdup(app_env(t)->name);
    j->needs_db = app_env(t)->database && app_env(t)->database[0];
    j->preview = c->preview;
    memset(&c->preview, 0, sizeof c->preview);
    c->have_preview = false;
    app_busy_begin(t, "clearing task instances");
    tui_message(t, TUI_INFO, "clearing %zu task instance%s...", j->preview.n, j->preview.n == 1 ? "" : "s");
    tui_submit(c->stages, apply_work, apply_done, j);
    tui_pop(t);                   /* this screen; the Stages screen shows what follows */
}

static void clear_ask(struct clear *c)
{
    struct tui *t = c->s->tui;
    if (c->loading) {
        tui_message(t, TUI_INFO, "the dry run is still loading");
        return;
    }
    if (!c->have_preview) {
        tui_message(t, TUI_WARN, "no dry-run list: %s (r asks again)", c->error[0] ? c->error : "none yet");
        return;
    }
    if (c->preview.n == 0) {
        tui_message(t, TUI_WARN, "nothing to clear: no task instance matches these options");
        return;
    }
    struct buf text = BUF_INIT;
    buf_printf(&text, "Clear these %zu task instance%s of DAG %s in environment %s?\n",
               c->preview.n, c->preview.n == 1 ? "" : "s", c->dag_id, app_env(t)->name);
    buf_puts(&text, "They run again, and finished runs holding them are queued again.");
    for (size_t i = 0; i < c->preview.n && i < 6; i++) {
        const struct airflow_ti *ti = &c->preview.items[i];
        buf_printf(&text, "\n  %s  %s", ti->task_id, ti->state ? ti->state : "no state");
    }
    if (c->preview.n > 6)
        buf_printf(&text, "\n  ... and %zu more (the list behind this dialog)", c->preview.n - 6);
    /* The dialog makes both inert, line by line. */
    char *target = xasprintf("%s / %s / %s", c->dag_id, c->run_id, c->task_id);
    app_confirm(t, ACT_CLEAR, "Clear task instances", buf_cstr(&text), target, clear_still_valid,
                clear_confirmed, c);
    free(target);
    buf_free(&text);
}

/* ---- the screen ------------------------------------------------------- */

static void *clear_open(struct screen *s, const char *arg, void *data)
{
    struct clear_open_req *q = data;
    if (!q) {
        tui_message(s->tui, TUI_INFO, "clear opens from the Stages screen (C on a task)");
        return NULL;
    }
    struct clear *c = xcalloc(1, sizeof *c);
    c->s = s;
    c->stages = q->stages;
    c->dag_id = q->dag_id;
    c->run_id = q->run_id;
    c->task_id = q->task_id;
    free(q);
    c->opt[OPT_DOWNSTREAM] = true;   /* the runbook: this stage and what follows */
    c->tbl = tbl_new(CLEAR_COLS, N_COLS);
    s->st = c;
    preview_ask(c);
    return c;
}

static void clear_close(struct screen *s)
{
    struct clear *c = s->st;
    if (c->sub)
        delwin(c->sub);
    tbl_free(c->tbl);
    airflow_ti_list_free(&c->preview);
    free(c->dag_id);
    free(c->run_id);
    free(c->task_id);
    free(c);
}

static void clear_draw(struct screen *s, WINDOW *win, bool full)
{
    struct clear *c = s->st;
    const struct theme *th = &s->tui->th;
    int h = getmaxy(win), w = getmaxx(win);
    char line[1600];
    snprintf(line, sizeof line, "Clear %s in run %s of DAG %s", c->task_id, c->run_id, c->dag_id);
    stages_put_line(win, 0, th, TH_TITLE, line);
    if (h > 1) {
        struct buf b = BUF_INIT;
        for (int i = 0; i < N_OPTS; i++)
            buf_printf(&b, "%s[%c] %c %s", i ? "  " : "", c->opt[i] ? 'x' : ' ', OPTS[i].key, OPTS[i].label);
        stages_put_line(win, 1, th, TH_NORMAL, buf_cstr(&b));
        buf_free(&b);
    }
    if (h > 2) {
        enum theme_el el = TH_NORMAL;
        if (c->loading) {
            snprintf(line, sizeof line, "asking Airflow for the dry run...");
            el = TH_DIM;
        } else if (!c->have_preview) {
            snprintf(line, sizeof line, "dry run failed: %s", c->error);
            el = TH_STATUS_ERROR;
        } else if (c->preview.n == 0) {
            snprintf(line, sizeof line, "nothing to clear: no task instance matches these options");
            el = TH_STATUS_WARN;
        } else {
            snprintf(line, sizeof line, "%zu task instance%s will re-run (dry run: nothing changed yet)",
                     c->preview.n, c->preview.n == 1 ? "" : "s");
            el = TH_STATUS_WARN;
        }
        stages_put_line(win, 2, th, el, line);
    }
    if (h > 3)
        stages_put_line(win, 3, th, TH_DIM,
                        "letters toggle   Enter or C: clear these (asks first)   Esc: cancel");
    if (h <= CLEAR_HEADER_LINES)
        return;
    if (!c->loading && !c->have_preview && c->error[0]) {
        /* The whole error, wrapped, where the list would be: the server's
         * words come last and one line would cut them. */
        if (c->sub) {
            delwin(c->sub);
            c->sub = NULL;
        }
        for (int y = CLEAR_HEADER_LINES; y < h; y++) {
            wmove(win, y, 0);
            wclrtoeol(win);
        }
        stages_put_wrapped(win, CLEAR_HEADER_LINES + 1, h - CLEAR_HEADER_LINES - 1, th,
                           TH_STATUS_ERROR, c->error);
        return;
    }
    if (c->sub && (getmaxy(c->sub) != h - CLEAR_HEADER_LINES || getmaxx(c->sub) != w)) {
        delwin(c->sub);
        c->sub = NULL;
    }
    if (!c->sub) {
        c->sub = derwin(win, h - CLEAR_HEADER_LINES, w, CLEAR_HEADER_LINES, 0);
        full = true;
    }
    if (c->sub && tbl_draw(c->tbl, c->sub, th, full))
        wsyncup(c->sub);
}

static bool clear_key(struct screen *s, enum action a, int ch)
{
    struct clear *c = s->st;
    for (int i = 0; i < N_OPTS; i++) {
        if (ch == OPTS[i].key) {
            c->opt[i] = !c->opt[i];
            preview_ask(c);
            return true;
        }
    }
    switch (a) {
    case ACT_ENTER:
    case ACT_CLEAR:
        clear_ask(c);
        return true;
    case ACT_REFRESH:
        preview_ask(c);
        return true;
    case ACT_MOVE_UP: case ACT_MOVE_DOWN: case ACT_PAGE_UP: case ACT_PAGE_DOWN:
    case ACT_FIRST: case ACT_LAST:
        tbl_key(c->tbl, a, ch);
        return true;
    default:
        return false;
    }
}

static void clear_status(struct screen *s, char *out, size_t out_size)
{
    tbl_status(((struct clear *)s->st)->tbl, out, out_size);
}

static const struct screen_ops stages_clear_ops = {
    .name = "stage-clear",
    .title = "Clear",
    .order = 0,
    .flags = 0,
    .open = clear_open,
    .close = clear_close,
    .draw = clear_draw,
    .key = clear_key,
    .status = clear_status,
};
SCREEN_DEFINE(stages_clear_ops);

void stages_clear_open(struct screen *s, const char *dag_id, const char *run_id, const char *task_id)
{
    struct clear_open_req *q = xcalloc(1, sizeof *q);
    q->stages = s;
    q->dag_id = xstrdup(dag_id);
    q->run_id = xstrdup(run_id);
    q->task_id = xstrdup(task_id);
    if (!tui_push(s->tui, &stages_clear_ops, NULL, q)) {
        free(q->dag_id);
        free(q->run_id);
        free(q->task_id);
        free(q);
    }
}
