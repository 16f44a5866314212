/* The Export dialog (screens/export_dlg.h): the same rules as
 * `lakeop export` (core/export.h), asked step by step. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "app.h"
#include "audit.h"
#include "dlg.h"
#include "export.h"
#include "export_dlg.h"
#include "json.h"
#include "mem.h"
#include "tui.h"
#include "zuora.h"

struct exp {
    struct screen *s;
    const struct cfg_env *env;
    char from[40];
    char operator_name[128];
    struct export_plan plan;
    bool have_plan;
    enum lk_status st;
    struct lk_error err;
    char *refusal;               /* afterLastIncrement not ingested: why */
    char changed[1200];          /* the re-check just before submitting refused: why */
    struct zuora_job job;
};

static void exp_free(struct exp *e)
{
    if (e->have_plan)
        export_plan_free(&e->plan);
    zuora_job_free(&e->job);
    free(e->refusal);
    free(e);
}

static void audit(PGconn *db, const struct exp *e, const char *target, enum audit_result result, const char *message)
{
    char *params = export_audit_params(e->from, e->have_plan ? &e->plan : NULL, false);
    const struct audit_entry entry = {
        .operator_name = e->operator_name, .env = e->env->name, .action = "export.submit",
        .target = target, .params_json = params, .result = result, .message = message,
    };
    struct lk_error err;
    err_clear(&err);
    audit_append(db, &entry, &err);
    free(params);
}

/* ---- step 4: submit ---- */

/* The objects that fail the afterLastIncrement check now, and why: the
 * operator confirmed a plan that passed it. */
static void unsafe_now(const struct export_plan *now, char *out, size_t size)
{
    struct buf why = BUF_INIT;
    for (size_t i = 0; i < now->n_objects; i++) {
        const struct export_object *o = &now->objects[i];
        if (o->checked && !o->safe)
            buf_printf(&why, "%s%s: %s", why.len ? "; " : "", o->object->name, o->problem);
    }
    snprintf(out, size, "the afterLastIncrement check fails now: %s", buf_cstr(&why));
    buf_free(&why);
}

/* The first object whose full-or-incremental verdict moved since the
 * confirmation (a session job completed meanwhile, say): the operator agreed
 * to what Zuora would send, so a full load that became incremental (or the
 * reverse) is a different export.  out is left as it is when none moved. */
static void verdict_changed(const struct export_plan *confirmed, const struct export_plan *now, char *out,
                            size_t size)
{
    for (size_t i = 0; i < now->n_objects; i++) {
        const struct export_object *was = &confirmed->objects[i], *is = &now->objects[i];
        if (strcmp(was->object->name, is->object->name) != 0) {
            snprintf(out, size, "the export plan is different now (%s instead of %s)", is->object->name,
                     was->object->name);
            return;
        }
        if (was->full != is->full) {
            snprintf(out, size, "the export plan is different now: %s was %s and is %s now%s%s",
                     is->object->name, was->full ? "a full load" : "incremental",
                     is->full ? "a full load" : "incremental", is->full ? ": " : "", is->full ? is->why : "");
            return;
        }
    }
}

/* Just before submitting, on the worker: the plan made again from the
 * database (and Airflow) as it is now must still be the one confirmed; an
 * increment ingested or a stage failed meanwhile changes the verdict. */
static bool plan_still_same(struct lk_ctx *ctx, struct exp *e)
{
    struct export_plan now;
    struct lk_error err;
    err_clear(&err);
    enum lk_status st = export_plan_build(ctx, e->from, NULL, 0, false, (long long)time(NULL), &now, &err);
    if (st != LK_OK)
        snprintf(e->changed, sizeof e->changed, "the export plan fails now: %s", err.message);
    else if (now.unsafe)
        unsafe_now(&now, e->changed, sizeof e->changed);
    else if (now.n_objects != e->plan.n_objects || strcmp(now.incremental_time, e->plan.incremental_time))
        snprintf(e->changed, sizeof e->changed, "the export plan is different now (%zu objects, from %s)",
                 now.n_objects, now.incremental_time[0] ? now.incremental_time : "afterLastIncrement");
    else
        verdict_changed(&e->plan, &now, e->changed, sizeof e->changed);
    export_plan_free(&now);
    return !e->changed[0];
}

static void submit_work(void *wctx, void *p)
{
    struct exp *e = p;
    err_clear(&e->err);
    PGconn *db = app_db(wctx, &e->err);
    if (!db) {
        e->st = LK_FAIL;
        return;
    }
    struct lk_ctx *ctx = app_ctx(wctx);
    if (!plan_still_same(ctx, e)) {
        audit(db, e, NULL, AUDIT_REFUSED, e->changed);
        return;
    }
    struct zuora_client *zc = zuora_client_for(ctx);
    e->st = export_submit(ctx, zc, &e->plan, &e->job, &e->err);
    zuora_client_free(zc);
    char text[1400], message[64];
    snprintf(message, sizeof message, "submitted %zu quer%s from the console", e->plan.n_objects,
             e->plan.n_objects == 1 ? "y" : "ies");
    audit(db, e, e->job.id, e->st == LK_OK ? AUDIT_OK : AUDIT_FAILED,
          e->st == LK_OK ? message : err_text(&e->err, text, sizeof text));
}

static void submit_done(struct loop *loop, void *p, bool orphaned)
{
    struct exp *e = p;
    if (!orphaned) {
        struct tui *t = e->s->tui;
        char text[1400];
        if (e->changed[0]) {
            dlg_nothing_done(t, e->changed);
        } else if (e->st == LK_OK) {
            tui_message(t, TUI_INFO, "submitted export job %s", e->job.id);
            tui_open(t, "job", e->job.id);
        } else {
            tui_message(t, TUI_ERROR, "export failed: %s", err_text(&e->err, text, sizeof text));
        }
    }
    exp_free(e);
}

/* One short request: not registered as busy work, because a screen
 * switch orphans it and nothing would end the busy mark. */
static void submit(struct exp *e)
{
    tui_submit(e->s, submit_work, submit_done, e);
}

/* ---- step 3: confirmations ---- */

static void second_confirmed(struct tui *t, bool ok, const char *input, void *ud)
{
    struct exp *e = ud;
    if (!ok) {
        tui_message(t, TUI_INFO, "export not submitted");
        exp_free(e);
        return;
    }
    submit(e);
}

static void first_confirmed(struct tui *t, bool ok, const char *input, void *ud)
{
    struct exp *e = ud;
    if (!ok) {
        tui_message(t, TUI_INFO, "export not submitted");
        exp_free(e);
        return;
    }
    if (e->plan.needs_second_confirmation) {
        char text[256];
        snprintf(text, sizeof text,
                 "%d days back is more than %d: a large export can exceed Zuora's time limits and fail.",
                 e->plan.days_back, EXPORT_LONG_RANGE_DAYS);
        app_confirm(t, ACT_EXPORT, "Export a long range?", text, e->from, NULL, second_confirmed, e);
        return;
    }
    submit(e);
}

/* ---- step 2: the plan (and the afterLastIncrement check) on a worker ---- */

static void plan_work(void *wctx, void *p)
{
    struct exp *e = p;
    err_clear(&e->err);
    PGconn *db = app_db(wctx, &e->err);
    if (!db) {
        e->st = LK_FAIL;
        return;
    }
    struct lk_ctx *ctx = app_ctx(wctx);
    e->st = export_plan_build(ctx, e->from, NULL, 0, false, (long long)time(NULL), &e->plan, &e->err);
    e->have_plan = true;
    if (e->st == LK_OK && e->plan.unsafe) {
        struct buf why = BUF_INIT;
        export_refusal_text(&e->plan, &why);
        e->refusal = buf_detach(&why);
        audit(db, e, NULL, AUDIT_REFUSED, e->refusal ? e->refusal : "");
    } else if (e->st == LK_REFUSED) {
        audit(db, e, NULL, AUDIT_REFUSED, e->err.message);
    }
}

static void plan_done(struct loop *loop, void *p, bool orphaned)
{
    struct exp *e = p;
    if (orphaned) {
        exp_free(e);
        return;
    }
    struct tui *t = e->s->tui;
    char text[1400];
    if (e->st != LK_OK) {
        tui_message(t, e->st == LK_REFUSED ? TUI_WARN : TUI_ERROR, "export: %s", err_text(&e->err, text, sizeof text));
        exp_free(e);
        return;
    }
    if (e->refusal) {
        /* The command line has --force for this; the console leaves it there. */
        tui_message(t, TUI_ERROR, "%s", e->refusal);
        exp_free(e);
        return;
    }
    struct buf plan = BUF_INIT;
    export_plan_describe(&e->plan, &plan);
    char target[64];
    snprintf(target, sizeof target, "%zu object%s, from %s", e->plan.n_objects, e->plan.n_objects == 1 ? "" : "s",
             e->from);
    app_confirm(t, ACT_EXPORT, "Submit export", buf_cstr(&plan), target, NULL, first_confirmed, e);
    buf_free(&plan);
}

/* ---- step 1: the from-date ---- */

static bool validate_from(const char *input, void *ud, char *why, size_t why_size)
{
    struct exp *e = ud;
    struct export_plan plan;
    struct lk_error err;
    err_clear(&err);
    enum lk_status st = export_parse_from(input, (long long)time(NULL), e->env->zuora_timezone, &plan, &err);
    if (st == LK_OK)
        return true;
    snprintf(why, why_size, "%s", err.message);
    return false;
}

static void got_from(struct tui *t, bool ok, const char *input, void *ud)
{
    struct exp *e = ud;
    if (!ok) {
        exp_free(e);
        return;
    }
    snprintf(e->from, sizeof e->from, "%s", input);
    tui_message(t, TUI_INFO, "planning the export from %s ...", e->from);
    tui_submit(e->s, plan_work, plan_done, e);
}

void export_dlg_open(struct screen *s)
{
    struct tui *t = s->tui;
    if (tui_refuse_read_only(t, ACT_EXPORT))
        return;
    struct exp *e = xcalloc(1, sizeof *e);
    e->s = s;
    e->env = app_env(t);
    snprintf(e->operator_name, sizeof e->operator_name, "%s", app_operator(t));
    dlg_input(t, "Export", "From (afterLastIncrement or YYYY-MM-DD):", "afterLastIncrement", validate_from,
              got_from, e);
}
