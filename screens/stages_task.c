/* A task instance from the Stages screen: tries, start, end, duration,
 * operator, hostname, and its log (one try at a time: [ and ] pick the
 * try), followed every 2.5 s while the instance is unfinished (f turns
 * following off and on).
 *
 * The view is the toolkit's detail view (scrolling, / search, y), wrapped
 * by a screen of our own so that the follow timer lives and dies with it:
 * the detail ops are called with a stand-in screen whose state is the
 * detail. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "buf.h"
#include "detail.h"
#include "fmt.h"
#include "mem.h"
#include "stages.h"
#include "stages_ui.h"
#include "tui.h"

#define TASK_FOLLOW_MS 2500

struct task_view {
    struct screen *s;
    struct detail *d;
    char *dag_id, *run_id, *task_id;
    int try_number;               /* the try whose log is shown; 0: the latest */
    int tries;                    /* tries so far, from the last answer */
    bool follow;                  /* the user wants it (f) */
    bool unfinished;              /* the last answer said the instance may change */
    bool at_end;                  /* the log was scrolled to its end: stay there */
    bool in_flight;
    bool searching;               /* the detail's / prompt is open: keys are text */
    unsigned generation;
    unsigned timer;
};

struct task_req {
    char *dag_id, *run_id, *task_id;
};

struct task_job {
    struct task_view *v;
    unsigned generation;
    char *dag_id, *run_id, *task_id;
    int try_number;
    enum lk_status status;
    struct lk_error err;
    struct airflow_ti ti;
    bool have_ti;
    struct buf log;
    enum lk_status log_status;
    struct lk_error log_err;
};

/* Calls a detail op on the stand-in screen and carries its marks back. */
static struct screen stand_in(struct screen *s, struct task_view *v)
{
    struct screen in = *s;
    in.ops = &detail_screen_ops;
    in.st = v->d;
    return in;
}

static void carry_back(struct screen *s, const struct screen *in)
{
    if (in->dirty)
        tui_dirty(s, in->full);
}

static bool detail_call_key(struct screen *s, struct task_view *v, enum action a, int ch)
{
    struct screen in = stand_in(s, v);
    bool r = detail_screen_ops.key(&in, a, ch);
    carry_back(s, &in);
    return r;
}

static void task_work(void *wctx, void *p)
{
    struct task_job *j = p;
    struct lk_ctx *ctx = app_ctx(wctx);
    err_clear(&j->err);
    err_clear(&j->log_err);
    struct airflow_ti_list tis;
    j->status = airflow_list_task_instances(ctx, j->dag_id, j->run_id, &tis, &j->err);
    if (j->status != LK_OK)
        return;
    const struct airflow_ti *found = stages_ti_find(&tis, j->task_id);
    if (found) {
        j->ti = *found;
        memset((struct airflow_ti *)found, 0, sizeof *found);
        j->have_ti = true;
    }
    airflow_ti_list_free(&tis);
    if (!j->have_ti) {
        j->status = err_set(&j->err, LK_NOTFOUND, "run %s has no instance of task %s", j->run_id,
                            j->task_id);
        return;
    }
    int want = j->try_number > 0 ? j->try_number : j->ti.try_number;
    if (want > j->ti.try_number)
        want = j->ti.try_number;
    j->try_number = want;
    if (want >= 1)
        j->log_status = airflow_task_log(ctx, j->dag_id, j->run_id, j->task_id, want, &j->log,
                                         &j->log_err);
}

static void schedule_follow(struct task_view *v);

static void task_fill(struct task_view *v, struct task_job *j)
{
    struct detail *d = v->d;
    detail_clear(d);
    const struct airflow_ti *ti = &j->ti;
    char text[1400], a[48], b[48];
    detail_kv(d, "DAG", j->dag_id);
    detail_kv(d, "run", j->run_id);
    detail_kv(d, "task", j->task_id);
    detail_kv_el(d, "state", ti->state ? ti->state : "no state", stages_state_el(ti->state));
    /* max_tries counts the retries: one more try than that in all. */
    snprintf(text, sizeof text, "%d of at most %d", ti->try_number, ti->max_tries + 1);
    detail_kv(d, "tries", text);
    stages_fmt_time(ti->start_date, a, sizeof a);
    detail_kv(d, "start", a);
    stages_fmt_time(ti->end_date, b, sizeof b);
    detail_kv(d, "end", b);
    fmt_duration(ti->duration, a, sizeof a);
    detail_kv(d, "duration", a);
    detail_kv(d, "operator", ti->operator_name ? ti->operator_name : "-");
    detail_kv(d, "hostname", ti->hostname && ti->hostname[0] ? ti->hostname : "-");
    stages_fmt_time(ti->queued_when, a, sizeof a);
    detail_kv(d, "queued", a);
    if (j->try_number < 1) {
        detail_heading(d, "Log");
        detail_text(d, "no try yet: nothing has run", TH_DIM);
    } else {
        snprintf(text, sizeof text, "Log of try %d of %d   [ ] other tries   f follow %s", j->try_number,
                 ti->try_number, v->follow ? "on" : "off");
        detail_heading(d, text);
        if (j->log_status != LK_OK)
            detail_text(d, err_text(&j->log_err, text, sizeof text), TH_STATUS_ERROR);
        else if (j->log.len == 0)
            detail_text(d, "(empty)", TH_DIM);
        else
            detail_text(d, buf_cstr(&j->log), TH_NORMAL);
    }
    if (v->at_end)
        detail_call_key(v->s, v, ACT_LAST, 0);
}

static void task_job_free(struct task_job *j)
{
    airflow_ti_free(&j->ti);
    buf_free(&j->log);
    free(j->dag_id);
    free(j->run_id);
    free(j->task_id);
    free(j);
}

static void task_done(struct loop *loop, void *p, bool orphaned)
{
    struct task_job *j = p;
    if (!orphaned) {
        struct task_view *v = j->v;
        v->in_flight = false;
        if (j->generation == v->generation) {
            detail_set_loading(v->d, false);
            if (j->status != LK_OK) {
                char text[1400];
                /* A failed refresh keeps what was shown; a first load says why. */
                if (v->tries == 0 && !v->unfinished)
                    detail_fail(v->d, err_text(&j->err, text, sizeof text));
                else
                    tui_message(v->s->tui, TUI_WARN, "refresh failed: %s",
                                err_text(&j->err, text, sizeof text));
            } else {
                v->tries = j->ti.try_number;
                v->unfinished = !airflow_state_finished(j->ti.state);
                if (v->try_number == 0 || v->try_number > v->tries)
                    v->try_number = 0;   /* keep showing the latest as tries come */
                task_fill(v, j);
            }
            if (v->follow && v->unfinished)
                schedule_follow(v);
            tui_dirty(v->s, true);
        }
    }
    task_job_free(j);
}

static void task_fetch(struct task_view *v)
{
    if (v->in_flight)
        return;
    struct task_job *j = xcalloc(1, sizeof *j);
    j->v = v;
    j->generation = v->generation;
    j->dag_id = xstrdup(v->dag_id);
    j->run_id = xstrdup(v->run_id);
    j->task_id = xstrdup(v->task_id);
    j->try_number = v->try_number;
    v->in_flight = true;
    tui_submit(v->s, task_work, task_done, j);
}

static void follow_tick(struct loop *loop, void *ud)
{
    struct task_view *v = ud;
    v->timer = 0;
    task_fetch(v);
}

static void schedule_follow(struct task_view *v)
{
    if (v->timer)
        loop_timer_cancel(v->s->tui->loop, v->timer);
    v->timer = loop_timer_add(v->s->tui->loop, TASK_FOLLOW_MS, false, follow_tick, v);
}

static void *task_open(struct screen *s, const char *arg, void *data)
{
    struct task_req *q = data;
    if (!q) {
        tui_message(s->tui, TUI_INFO, "a task opens from the Stages screen (Enter on a task)");
        return NULL;
    }
    struct task_view *v = xcalloc(1, sizeof *v);
    v->s = s;
    v->dag_id = q->dag_id;
    v->run_id = q->run_id;
    v->task_id = q->task_id;
    free(q);
    v->follow = true;
    v->at_end = true;
    char *title = xasprintf("Task %s in run %s of %s", v->task_id, v->run_id, v->dag_id);
    v->d = detail_new(title);
    free(title);
    detail_set_id(v->d, v->task_id);
    detail_set_loading(v->d, true);
    s->st = v;
    task_fetch(v);
    return v;
}

static void task_close(struct screen *s)
{
    struct task_view *v = s->st;
    if (v->timer)
        loop_timer_cancel(s->tui->loop, v->timer);
    detail_free(v->d);
    free(v->dag_id);
    free(v->run_id);
    free(v->task_id);
    free(v);
}

static void task_draw(struct screen *s, WINDOW *win, bool full)
{
    struct task_view *v = s->st;
    struct screen in = stand_in(s, v);
    detail_screen_ops.draw(&in, win, full);
}

/* Another try's log: asked now, even while a fetch runs (the newer
 * generation wins). */
static void show_try(struct task_view *v, int try_number)
{
    v->try_number = try_number;
    v->generation++;
    v->in_flight = false;
    v->at_end = true;
    detail_set_loading(v->d, true);
    task_fetch(v);
}

static bool task_key(struct screen *s, enum action a, int ch)
{
    struct task_view *v = s->st;
    if (v->searching) {
        if (ch == 27 || ch == '\n' || ch == '\r' || ch == KEY_ENTER)
            v->searching = false;
        return detail_call_key(s, v, ACT_NONE, ch);
    }
    if (a == ACT_FILTER)
        v->searching = true;
    else {
        int shown = v->try_number ? v->try_number : v->tries;
        if (ch == '[' || ch == ']') {
            int want = shown + (ch == ']' ? 1 : -1);
            if (want < 1 || want > v->tries) {
                tui_message(s->tui, TUI_INFO, "tries 1 to %d", v->tries);
                return true;
            }
            show_try(v, want == v->tries ? 0 : want);
            return true;
        }
        if (ch == 'f') {
            v->follow = !v->follow;
            tui_message(s->tui, TUI_INFO, "follow %s%s", v->follow ? "on" : "off",
                        v->follow && !v->unfinished ? " (the task has finished)" : "");
            if (v->follow && v->unfinished)
                task_fetch(v);
            else if (!v->follow && v->timer) {
                loop_timer_cancel(s->tui->loop, v->timer);
                v->timer = 0;
            }
            return true;
        }
    }
    if (a == ACT_LAST)
        v->at_end = true;
    else if (a == ACT_MOVE_UP || a == ACT_PAGE_UP || a == ACT_FIRST)
        v->at_end = false;
    return detail_call_key(s, v, a, ch);
}

static void task_reload(struct screen *s)
{
    struct task_view *v = s->st;
    show_try(v, v->try_number);
}

static void task_status(struct screen *s, char *out, size_t out_size)
{
    struct task_view *v = s->st;
    struct screen in = stand_in(s, v);
    detail_screen_ops.status(&in, out, out_size);
    if (v->follow && v->unfinished) {
        size_t l = strlen(out);
        snprintf(out + l, out_size - l, "%sfollowing", l ? " | " : "");
    }
}

static const struct screen_ops stages_task_ops = {
    .name = "stage-task",
    .title = "Task",
    .order = 0,
    .flags = 0,
    .open = task_open,
    .close = task_close,
    .draw = task_draw,
    .key = task_key,
    .reload = task_reload,
    .status = task_status,
};
SCREEN_DEFINE(stages_task_ops);

void stages_task_open(struct tui *t, const char *dag_id, const char *run_id, const char *task_id)
{
    if (!run_id) {
        tui_message(t, TUI_INFO, "the DAG has no run yet: no task instance to show");
        return;
    }
    struct task_req *q = xcalloc(1, sizeof *q);
    q->dag_id = xstrdup(dag_id);
    q->run_id = xstrdup(run_id);
    q->task_id = xstrdup(task_id);
    tui_push(t, &stages_task_ops, NULL, q);
}
