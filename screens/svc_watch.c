/* Service health for the header (see svc_watch.h). */
#include "svc_watch.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "airflow.h"
#include "app.h"
#include "db.h"
#include "mem.h"
#include "store.h"
#include "zuora.h"

static const char *const SVC_NAMES[SVC_COUNT] = { "db", "zuora", "s3", "airflow" };

struct svc_check;

struct svc_watch {
    struct tui *tui;
    const struct cfg *cfg;
    const struct cfg_env *env;
    enum svc_state state[SVC_COUNT];
    struct svc_check *running[SVC_COUNT];   /* the check in flight, if any */
    int pending;
    unsigned timer;
};

struct svc_check {
    struct svc_watch *w;
    enum svc svc;
    volatile int cancel;         /* set by the deadline or svc_watch_stop() */
    unsigned deadline;
    bool timed_out;
    enum svc_state result;
    char why[700];
};

const char *svc_name(enum svc s)
{
    return s < SVC_COUNT ? SVC_NAMES[s] : "?";
}

const char *svc_store_probe_url(const struct cfg_env *env)
{
    if (env->cohorts_bucket && env->cohorts_bucket[0])
        return env->cohorts_bucket;
    for (size_t i = 0; i < env->n_objects; i++)
        if (env->objects[i].raw && env->objects[i].raw[0])
            return env->objects[i].raw;
    for (size_t i = 0; i < env->n_datasets; i++)
        if (env->datasets[i].incoming && env->datasets[i].incoming[0])
            return env->datasets[i].incoming;
    return NULL;
}

static bool configured(const struct cfg_env *env, enum svc s)
{
    switch (s) {
    case SVC_DB: return env->database && env->database[0];
    case SVC_ZUORA: return env->zuora_url && env->zuora_url[0];
    case SVC_S3: return svc_store_probe_url(env) != NULL;
    case SVC_AIRFLOW: return env->airflow_url && env->airflow_url[0];
    default: return false;
    }
}

/* On a worker. */
static void check_work(void *wctx, void *p)
{
    struct svc_check *c = p;
    const struct cfg_env *env = c->w->env;
    struct lk_ctx *ctx = app_ctx(wctx);
    const volatile int *saved_cancel = ctx->cancel;
    ctx->cancel = &c->cancel;
    struct lk_error err;
    err_clear(&err);
    char version[128];
    enum lk_status st = LK_FAIL;
    switch (c->svc) {
    case SVC_DB: {
        PGconn *db = app_db(wctx, &err);
        st = db ? db_exec(db, "SELECT 1", 0, NULL, NULL, &err) : LK_FAIL;
        break;
    }
    case SVC_ZUORA:
        st = zuora_ping(ctx, version, sizeof version, &err);
        break;
    case SVC_S3: {
        const char *url = svc_store_probe_url(env);
        struct store *s = NULL;
        st = store_open(env, ctx->http, &s, &err);
        if (st == LK_OK) {
            store_set_cancel(s, &c->cancel);
            st = store_ping(s, url, &err);
            if (st != LK_OK)
                err_prefix(&err, "%s", url);
        }
        store_free(s);
        break;
    }
    case SVC_AIRFLOW:
        st = airflow_ping(ctx, version, sizeof version, &err);
        break;
    default:
        break;
    }
    ctx->cancel = saved_cancel;
    c->result = st == LK_OK ? SVC_OK : SVC_DOWN;
    if (st != LK_OK)
        err_text(&err, c->why, sizeof c->why);
}

static void set_state(struct svc_watch *w, enum svc s, enum svc_state st, const char *why)
{
    enum svc_state old = w->state[s];
    if (old == st)
        return;
    w->state[s] = st;
    tui_header_dirty(w->tui);
    if (st == SVC_DOWN && why) {
        char text[800];
        snprintf(text, sizeof text, "%s", why);
        cfg_redact(w->cfg, text);
        tui_message(w->tui, TUI_ERROR, "%s DOWN: %s", SVC_NAMES[s], text);
    } else if (st == SVC_OK && old == SVC_DOWN) {
        tui_message(w->tui, TUI_INFO, "%s ok again", SVC_NAMES[s]);
    }
}

static void check_done(struct loop *loop, void *p, bool orphaned)
{
    struct svc_check *c = p;
    struct svc_watch *w = c->w;
    w->pending--;
    w->running[c->svc] = NULL;
    if (c->deadline)
        loop_timer_cancel(loop, c->deadline);
    if (!orphaned) {
        if (c->timed_out && c->result == SVC_DOWN)
            snprintf(c->why, sizeof c->why, "no answer within %d s", SVC_CHECK_DEADLINE_MS / 1000);
        set_state(w, c->svc, c->result, c->why);
    }
    free(c);
}

static void check_deadline(struct loop *loop, void *ud)
{
    struct svc_check *c = ud;
    c->deadline = 0;
    c->timed_out = true;
    c->cancel = 1;
}

void svc_watch_check(struct svc_watch *w)
{
    for (int i = 0; i < SVC_COUNT; i++) {
        enum svc s = (enum svc)i;
        if (!configured(w->env, s)) {
            set_state(w, s, SVC_NOT_CONFIGURED, NULL);
            continue;
        }
        if (w->running[s])
            continue;            /* the last one has not answered yet */
        struct svc_check *c = xcalloc(1, sizeof *c);
        c->w = w;
        c->svc = s;
        c->deadline = loop_timer_add(w->tui->loop, SVC_CHECK_DEADLINE_MS, false, check_deadline, c);
        w->running[s] = c;
        w->pending++;
        loop_submit(w->tui->loop, w, check_work, check_done, c);
    }
}

static void on_interval(struct loop *loop, void *ud)
{
    svc_watch_check(ud);
}

/* LAKEOP_HEALTH_INTERVAL (whole seconds, 1 to a day) lets a test watch many
 * checks without waiting minutes; anything else is the default. */
static long interval_ms(void)
{
    const char *v = getenv("LAKEOP_HEALTH_INTERVAL");
    if (!v || !*v)
        return SVC_CHECK_INTERVAL_MS;
    char *end;
    long s = strtol(v, &end, 10);
    if (*end || s < 1 || s > 86400)
        return SVC_CHECK_INTERVAL_MS;
    return s * 1000;
}

struct svc_watch *svc_watch_start(struct tui *t, const struct cfg *cfg, const struct cfg_env *env)
{
    struct svc_watch *w = xcalloc(1, sizeof *w);
    w->tui = t;
    w->cfg = cfg;
    w->env = env;
    for (int i = 0; i < SVC_COUNT; i++)
        w->state[i] = SVC_UNKNOWN;
    svc_watch_check(w);
    w->timer = loop_timer_add(t->loop, interval_ms(), true, on_interval, w);
    return w;
}

void svc_watch_stop(struct svc_watch *w)
{
    if (!w)
        return;
    loop_timer_cancel(w->tui->loop, w->timer);
    w->timer = 0;
    for (int i = 0; i < SVC_COUNT; i++)
        if (w->running[i])
            w->running[i]->cancel = 1;
}

void svc_watch_free(struct svc_watch *w)
{
    free(w);
}

void svc_watch_set(struct svc_watch *w, enum svc s, enum svc_state st, const char *why)
{
    set_state(w, s, st, why);
}

enum svc_state svc_watch_state(const struct svc_watch *w, enum svc s)
{
    return w->state[s];
}

int svc_watch_pending(const struct svc_watch *w)
{
    return w->pending;
}
