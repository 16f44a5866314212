/* The console: the frame every screen lives in (header, status line, live
 * updates, service health) and app_run(), its entry point.
 *
 * Threads: curses and everything in struct app belong to the UI thread,
 * except the migration gate (mu/cv/db_state), which workers wait on. */
#include "app.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "cli.h"
#include "cmdline.h"
#include "db.h"
#include "http.h"
#include "mem.h"
#include "svc_watch.h"
#include "text.h"
#include "zuora.h"

enum db_state { DBS_WAITING, DBS_READY, DBS_FAILED };

/* An outage (down at start, or the LISTEN connection lost) is retried with
 * backoff; meanwhile workers fail fast with the reason instead of each
 * waiting on a connect of its own. */
#define RECONNECT_FIRST_MS 500
#define RECONNECT_MAX_MS 10000

struct app {
    struct cli *cli;
    struct tui *tui;
    const struct cfg_env *env;
    bool read_only;
    char *next_env;              /* :env NAME: the console restarts on it */

    pthread_mutex_t mu;          /* guards db_state, db_error, db_epoch (workers read them) */
    pthread_cond_t cv;
    enum db_state db_state;
    char db_error[1024];
    unsigned db_epoch;           /* one more per reconnect: older worker connections are dropped */
    bool startup_pending;
    bool connecting;             /* a connect job is on a worker */
    bool was_down;               /* a connect that succeeds reloads every screen */
    long reconnect_ms;           /* the next wait of the backoff */

    PGconn *listen;              /* LISTEN connection, UI thread */
    bool listen_pending;
    unsigned notify_timer;
    unsigned reconnect_timer;
    char notified[8][32];        /* tables changed since the last delivery */
    int n_notified;
    long long last_delivery;

    struct svc_watch *health;     /* the header's marks */
    /* The session's one Zuora token, lent to every worker context: a
     * token per screen or per health check would be 60 an hour. */
    struct zuora_tokens *zuora_tokens;

    int busy;
    char busy_what[128];
    int script_line;             /* where a restarted session resumes its script */
};

struct app_wctx {
    struct app *app;
    PGconn *db;
    unsigned db_epoch;           /* app->db_epoch when db was opened */
    struct http_client *http;
    struct lk_ctx ctx;
};

/* Workers. */

static void *wctx_new(void *ud)
{
    struct app *app = ud;
    struct app_wctx *w = xcalloc(1, sizeof *w);
    w->app = app;
    w->ctx.cfg = app->cli->cfg;
    w->ctx.env = app->env;
    w->ctx.operator_name = app->cli->operator_name;
    w->ctx.read_only = app->read_only;
    w->ctx.zuora_tokens = app->zuora_tokens;
    return w;
}

static void wctx_free(void *p, void *ud)
{
    struct app_wctx *w = p;
    if (w->db)
        db_close(w->db);
    if (w->http)
        http_client_free(w->http);
    free(w);
}

PGconn *app_db(void *wctx, struct lk_error *err)
{
    struct app_wctx *w = wctx;
    struct app *app = w->app;
    pthread_mutex_lock(&app->mu);
    while (app->db_state == DBS_WAITING)
        pthread_cond_wait(&app->cv, &app->mu);
    enum db_state st = app->db_state;
    unsigned epoch = app->db_epoch;
    char why[sizeof app->db_error];
    memcpy(why, app->db_error, sizeof why);
    pthread_mutex_unlock(&app->mu);
    if (st == DBS_FAILED) {
        err_set(err, LK_FAIL, "%s", why);
        return NULL;
    }
    /* A connection from before an outage looks fine until its next query. */
    if (w->db && (PQstatus(w->db) != CONNECTION_OK || w->db_epoch != epoch)) {
        db_close(w->db);
        w->db = NULL;
    }
    if (!w->db && db_connect(app->env->database, &w->db, err) != LK_OK) {
        w->db = NULL;
        return NULL;
    }
    w->db_epoch = epoch;
    w->ctx.db = w->db;
    return w->db;
}

struct lk_ctx *app_ctx(void *wctx)
{
    struct app_wctx *w = wctx;
    if (!w->http) {
        w->http = http_client_new(w->app->env->ca_bundle, "lakeop/" LAKEOP_VERSION);
        for (size_t i = 0; i < w->app->cli->cfg->n_secrets; i++)
            http_client_add_secret(w->http, w->app->cli->cfg->secrets[i]);
    }
    w->ctx.http = w->http;
    w->ctx.db = w->db;
    return &w->ctx;
}

/* Small helpers for screens. */

void app_age(long long s, char *out, size_t out_size)
{
    if (s < 0)
        s = 0;
    if (s < 60)
        snprintf(out, out_size, "%lld s", s);
    else if (s < 3600)
        snprintf(out, out_size, "%lldm", s / 60);
    else if (s < 86400)
        snprintf(out, out_size, "%lldh %lldm", s / 3600, s / 60 % 60);
    else
        snprintf(out, out_size, "%lldd %lldh", s / 86400, s / 3600 % 24);
}

void app_time(long long unix_seconds, char *out, size_t out_size)
{
    time_t tt = (time_t)unix_seconds;
    struct tm tm;
    localtime_r(&tt, &tm);
    strftime(out, out_size, "%Y-%m-%d %H:%M:%S", &tm);
}

const struct cfg_env *app_env(const struct tui *t)
{
    return ((const struct app *)t->app)->env;
}

struct zuora_tokens *app_zuora_tokens(const struct tui *t)
{
    return ((const struct app *)t->app)->zuora_tokens;
}

const char *app_operator(const struct tui *t)
{
    const struct app *app = t->app;
    return app->cli->operator_name ? app->cli->operator_name : "unknown";
}

void app_confirm(struct tui *t, enum action a, const char *title, const char *text,
                 const char *target, dlg_check_fn still_valid, dlg_done_fn done, void *ud)
{
    struct app *app = t->app;
    if (tui_refuse_read_only(t, a)) {
        done(t, false, "", ud);
        return;
    }
    struct dlg_confirm c = {
        .title = title,
        .text = text,
        .target = target,
        .typed = app->env->protected_env ? app->env->name : NULL,
        .still_valid = still_valid,
    };
    dlg_confirm(t, &c, done, ud);
}

void app_busy_begin(struct tui *t, const char *what)
{
    struct app *app = t->app;
    app->busy++;
    snprintf(app->busy_what, sizeof app->busy_what, "%s", what);
}

void app_busy_end(struct tui *t)
{
    struct app *app = t->app;
    if (app->busy > 0)
        app->busy--;
}

/* Start-up and every reconnect: migrate, then open the LISTEN connection
 * (both on a worker). */

struct startup_job {
    struct app *app;
    PGconn *listen;
    struct lk_error err;
    enum lk_status st;
};

static void startup_work(void *wctx, void *p)
{
    struct startup_job *j = p;
    struct app *app = j->app;
    PGconn *conn = NULL;
    err_clear(&j->err);
    if (!app->env->database || !*app->env->database) {
        j->st = err_set(&j->err, LK_USAGE, "no database configured (database = ... in the "
                                           "environment, or LAKEOP_DATABASE_URL)");
    } else {
        j->st = db_open(app->env->database, &conn, &j->err);
    }
    if (j->st == LK_OK) {
        j->st = db_exec(conn, "LISTEN " DB_NOTIFY_CHANNEL, 0, NULL, NULL, &j->err);
        if (j->st == LK_OK)
            j->listen = conn;
        else
            db_close(conn);
    }
    pthread_mutex_lock(&app->mu);
    app->db_state = j->st == LK_OK ? DBS_READY : DBS_FAILED;
    if (j->st == LK_OK) {
        app->db_epoch++;
    } else {
        char text[900];
        err_text(&j->err, text, sizeof text);
        cfg_redact(app->cli->cfg, text);
        snprintf(app->db_error, sizeof app->db_error, "database: %s", text);
    }
    pthread_cond_broadcast(&app->cv);
    pthread_mutex_unlock(&app->mu);
}

static void deliver_notifications(struct loop *loop, void *ud);
static void reconnect_later(struct app *app);

static void on_listen(struct loop *loop, int fd, short revents, void *ud)
{
    struct app *app = ud;
    if (!app->listen)
        return;
    if (!PQconsumeInput(app->listen) || PQstatus(app->listen) != CONNECTION_OK) {
        char text[900];
        snprintf(text, sizeof text, "%s", PQerrorMessage(app->listen));
        text[strcspn(text, "\n")] = '\0';
        cfg_redact(app->cli->cfg, text);
        tui_message(app->tui, TUI_ERROR, "database connection lost (%s); reconnecting", text);
        loop_fd_unwatch(loop, fd);
        db_close(app->listen);
        app->listen = NULL;
        pthread_mutex_lock(&app->mu);
        app->db_state = DBS_FAILED;
        snprintf(app->db_error, sizeof app->db_error, "database: connection lost (%s); reconnecting", text);
        pthread_mutex_unlock(&app->mu);
        svc_watch_set(app->health, SVC_DB, SVC_DOWN, NULL);
        app->was_down = true;
        reconnect_later(app);
        return;
    }
    PGnotify *n;
    while ((n = PQnotifies(app->listen)) != NULL) {
        bool seen = false;
        for (int i = 0; i < app->n_notified; i++)
            seen |= strcmp(app->notified[i], n->extra) == 0;
        if (!seen && app->n_notified < 8)
            snprintf(app->notified[app->n_notified++], sizeof app->notified[0], "%s", n->extra);
        PQfreemem(n);
    }
    /* Debounce: screens reload at most once a second however busy the lake is. */
    if (app->n_notified && !app->notify_timer) {
        long long since = loop_now_ms() - app->last_delivery;
        long wait = since >= 1000 ? 50 : (long)(1000 - since);
        app->notify_timer = loop_timer_add(loop, wait, false, deliver_notifications, app);
    }
}

static void deliver_notifications(struct loop *loop, void *ud)
{
    struct app *app = ud;
    struct tui *t = app->tui;
    app->notify_timer = 0;
    app->last_delivery = loop_now_ms();
    for (int i = 0; i < app->n_notified; i++)
        for (int d = 0; d < t->depth; d++) {
            struct screen *s = t->stack[d];
            if (s->ops->on_notify)
                s->ops->on_notify(s, app->notified[i]);
        }
    app->n_notified = 0;
}

static void open_first_screen(struct app *app);

static void connect_now(struct app *app);

static void on_reconnect_timer(struct loop *loop, void *ud)
{
    struct app *app = ud;
    app->reconnect_timer = 0;
    connect_now(app);
}

static void reconnect_later(struct app *app)
{
    if (app->reconnect_timer || app->connecting)
        return;
    if (!app->reconnect_ms)
        app->reconnect_ms = RECONNECT_FIRST_MS;
    app->reconnect_timer = loop_timer_add(app->tui->loop, app->reconnect_ms, false, on_reconnect_timer, app);
    app->reconnect_ms = app->reconnect_ms * 2 > RECONNECT_MAX_MS ? RECONNECT_MAX_MS : app->reconnect_ms * 2;
}

static void startup_done(struct loop *loop, void *p, bool orphaned)
{
    struct startup_job *j = p;
    struct app *app = j->app;
    app->startup_pending = false;
    app->connecting = false;
    if (orphaned) {
        if (j->listen)
            db_close(j->listen);
        free(j);
        return;
    }
    if (j->st == LK_OK) {
        app->listen = j->listen;
        PQsetnonblocking(app->listen, 1);
        loop_fd_watch(loop, PQsocket(app->listen), POLLIN, on_listen, app);
        svc_watch_set(app->health, SVC_DB, SVC_OK, NULL);
        app->reconnect_ms = 0;
        if (app->was_down) {
            /* What changed during the outage sent no NOTIFY we heard. */
            app->was_down = false;
            struct tui *t = app->tui;
            for (int d = 0; d < t->depth; d++)
                if (t->stack[d]->ops->reload)
                    t->stack[d]->ops->reload(t->stack[d]);
        }
    } else {
        bool first = !app->was_down;
        svc_watch_set(app->health, SVC_DB, app->env->database ? SVC_DOWN : SVC_NOT_CONFIGURED, NULL);
        if (first)
            tui_message(app->tui, TUI_ERROR, "%s%s", app->db_error,
                        j->st == LK_USAGE ? "" : " (retrying)");
        /* A configuration problem does not mend itself: no retry. */
        if (j->st != LK_USAGE) {
            app->was_down = true;
            reconnect_later(app);
        }
    }
    free(j);
}

static void connect_now(struct app *app)
{
    struct startup_job *j = xcalloc(1, sizeof *j);
    j->app = app;
    app->connecting = true;
    loop_submit(app->tui->loop, app, startup_work, startup_done, j);
}

/* Header. */

static void draw_header(struct tui *t, WINDOW *w, void *ud)
{
    struct app *app = ud;
    const struct theme *th = &t->th;
    int cols = getmaxx(w);
    char buf[512];
    wattrset(w, theme_attr(th, TH_TITLE));
    for (int x = 0; x < cols; x++)
        mvwaddch(w, 0, x, ' ');
    wmove(w, 0, 0);
    waddstr(w, " lakeop ");
    char *env = text_inert(app->env->name);
    wattrset(w, theme_env_attr(th, app->env->name, app->env->protected_env));
    snprintf(buf, sizeof buf, " %s%s ", env, app->env->protected_env ? " (protected)" : "");
    free(env);
    char fit[512];
    text_fit(buf, cols - 8, 1, fit, sizeof fit);
    waddstr(w, fit);
    wattrset(w, theme_attr(th, TH_TITLE));
    if (app->read_only) {
        waddch(w, ' ');
        wattrset(w, theme_attr(th, TH_BADGE));
        waddstr(w, " READ-ONLY ");
        wattrset(w, theme_attr(th, TH_TITLE));
    }
    int y, x;
    getyx(w, y, x);
    (void)y;
    char *op = text_inert(app_operator(t));
    snprintf(buf, sizeof buf, " %s ", op);
    free(op);
    text_fit(buf, cols - x, 1, fit, sizeof fit);
    waddstr(w, fit);
    for (int s = 0; s < SVC_COUNT; s++) {
        getyx(w, y, x);
        static const char *const mark[] = { "-", "?", "ok", "DOWN" };
        enum svc_state st = svc_watch_state(app->health, (enum svc)s);
        snprintf(buf, sizeof buf, " %s:%s", svc_name((enum svc)s), mark[st]);
        if (x + text_width(buf) > cols)
            break;
        enum theme_el el = st == SVC_OK ? TH_STATUS_OK : st == SVC_DOWN ? TH_STATUS_ERROR : TH_DIM;
        wattrset(w, theme_attr(th, TH_TITLE));
        waddch(w, ' ');
        waddstr(w, svc_name((enum svc)s));
        waddch(w, ':');
        wattrset(w, theme_attr(th, el));
        waddstr(w, mark[st]);
    }
    struct screen *top = tui_top(t);
    if (top) {
        getyx(w, y, x);
        snprintf(buf, sizeof buf, "%s ", top->ops->title);
        int tw = text_width(buf);
        if (x + tw + 2 <= cols) {
            wattrset(w, theme_attr(th, TH_TITLE) | A_BOLD);
            mvwaddstr(w, 0, cols - tw, buf);
        }
    }
}

/* Hooks. */

static const char *const APP_COMMANDS[] = { "env", NULL };

static void env_declined(struct tui *t, void *ud)
{
    struct app *app = ud;
    xfree(&app->next_env);
    tui_message(t, TUI_INFO, "staying on %s", app->env->name);
}

static bool app_command(struct tui *t, const char *name, const char *arg, void *ud)
{
    struct app *app = ud;
    if (strcmp(name, "env") != 0)
        return false;
    if (!arg) {
        struct buf names = BUF_INIT;
        for (size_t i = 0; i < app->cli->cfg->n_envs; i++)
            buf_printf(&names, "%s%s", i ? ", " : "", app->cli->cfg->envs[i].name);
        tui_message(t, TUI_INFO, "environments: %s (now %s); :env NAME switches", buf_cstr(&names),
                    app->env->name);
        buf_free(&names);
        return true;
    }
    bool known = false;
    for (size_t i = 0; i < app->cli->cfg->n_envs; i++)
        known |= strcmp(app->cli->cfg->envs[i].name, arg) == 0;
    if (!known) {
        tui_message(t, TUI_WARN, "no environment named %s in %s", arg,
                    app->cli->cfg->path ? app->cli->cfg->path : "the configuration");
        return true;
    }
    if (t->stopping_since || t->quit_declined)
        return true;             /* already quitting, or asked already */
    free(app->next_env);
    app->next_env = xstrdup(arg);
    /* As q: work running is asked about, then cancelled and waited for. */
    char verb[200];
    char *name_inert = text_inert(arg);
    snprintf(verb, sizeof verb, "Switch to %s", name_inert);
    free(name_inert);
    tui_quit(t, verb, env_declined, app);
    return true;
}

static bool app_is_busy(struct tui *t, char *out, size_t out_size, void *ud)
{
    struct app *app = ud;
    if (app->busy) {
        snprintf(out, out_size, "%s", app->busy_what);
        return true;
    }
    if (t->bg_progress) {
        snprintf(out, out_size, "a long operation in the background");
        return true;
    }
    return false;
}

static bool app_loading(struct tui *t, void *ud)
{
    struct app *app = ud;
    return app->startup_pending || app->notify_timer != 0 || svc_watch_pending(app->health) > 0;
}

static void open_first_screen(struct app *app)
{
    const char *first = getenv("LAKEOP_SCREEN");
    if (first && *first && screen_find(first)) {
        tui_open(app->tui, first, NULL);
        return;
    }
    size_t n;
    const struct screen_ops **reg = screen_registry(&n);
    for (size_t i = 0; i < n; i++) {
        if (reg[i]->flags & SCREEN_TOP) {
            tui_push(app->tui, reg[i], NULL, NULL);
            break;
        }
    }
    free(reg);
}

static bool env_flag(const char *name, bool dflt)
{
    const char *v = getenv(name);
    if (!v || !*v)
        return dflt;
    return !(strcmp(v, "0") == 0 || strcmp(v, "false") == 0 || strcmp(v, "no") == 0);
}

/* One console session on one environment; returns the exit code. */
static int run_session(struct app *app)
{
    struct cli *cli = app->cli;
    struct tui_options opt = {
        .headless = env_flag("LAKEOP_HEADLESS", false),
        .mouse = app->env->mouse && env_flag("LAKEOP_MOUSE", true),
        .read_only = app->read_only,
        .script = getenv("LAKEOP_SCRIPT"),
        .timings = getenv("LAKEOP_TIMINGS"),
        .script_skip = app->script_line,
        .workers = 3,
    };
    char err[512];
    /* Per session: :env restarts it, with other credentials. */
    app->zuora_tokens = zuora_tokens_new();
    struct tui *t = tui_new(&opt, wctx_new, wctx_free, app, err, sizeof err);
    if (!t) {
        fprintf(cli->errf, "lakeop: %s\n", err);
        zuora_tokens_free(app->zuora_tokens);
        app->zuora_tokens = NULL;
        return 2;
    }
    app->tui = t;
    t->app = app;
    /* Core decides where state lives (XDG rules), so `lakeop paths` and the
     * console name the same history file. */
    char *history = cfg_state_path("history");
    cmdline_set_history(t->cmd, history);
    free(history);
    t->hooks.draw_header = draw_header;
    t->hooks.command = app_command;
    t->hooks.commands = APP_COMMANDS;
    t->hooks.busy = app_is_busy;
    t->hooks.loading = app_loading;
    for (size_t i = 0; i < cli->cfg->n_binds; i++) {
        const struct cfg_bind *b = &cli->cfg->binds[i];
        char why[256];
        if (!keymap_bind_user(t->km, b->screen, b->key, b->action, why, sizeof why))
            tui_message(t, TUI_ERROR, "%s: %s (the binding is ignored)", b->where ? b->where : "config", why);
    }
    app->db_state = DBS_WAITING;
    app->db_error[0] = '\0';
    app->health = svc_watch_start(t, cli->cfg, app->env);
    app->startup_pending = true;
    app->was_down = false;
    app->reconnect_ms = 0;
    connect_now(app);
    tui_timing(t, "start");
    open_first_screen(app);
    int rc = tui_run(t);
    app->script_line = t->script_line;
    /* Unblock workers still waiting for the migration, then stop them. */
    pthread_mutex_lock(&app->mu);
    if (app->db_state == DBS_WAITING) {
        app->db_state = DBS_FAILED;
        snprintf(app->db_error, sizeof app->db_error, "the console is closing");
    }
    pthread_cond_broadcast(&app->cv);
    pthread_mutex_unlock(&app->mu);
    svc_watch_stop(app->health);
    tui_free(t);
    app->tui = NULL;
    svc_watch_free(app->health);
    app->health = NULL;
    /* tui_free() has joined the workers and run every done(): no client is left. */
    zuora_tokens_free(app->zuora_tokens);
    app->zuora_tokens = NULL;
    if (app->listen) {
        db_close(app->listen);
        app->listen = NULL;
    }
    app->notify_timer = 0;
    app->reconnect_timer = 0;
    app->n_notified = 0;
    return rc;
}

int app_run(struct cli *cli)
{
    int rc = cli_load_config(cli);
    if (rc != 0)
        return rc;
    struct app app = { 0 };
    app.cli = cli;
    pthread_mutex_init(&app.mu, NULL);
    pthread_cond_init(&app.cv, NULL);
    bool read_only_flag = cli->read_only;
    for (;;) {
        app.env = cli->env;
        app.read_only = read_only_flag || cli->env->read_only;
        cli->read_only = app.read_only;
        rc = run_session(&app);
        if (!app.next_env || rc != 0)
            break;
        const struct cfg_env *next;
        struct lk_error err;
        if (cfg_env_select(cli->cfg, app.next_env, &next, &err) != LK_OK) {
            char text[1024];
            fprintf(cli->errf, "lakeop: %s\n", err_text(&err, text, sizeof text));
            rc = 2;
            break;
        }
        cli->env = next;
        cli->operator_name = next->operator_name;
        if (cli->db) {
            db_close(cli->db);
            cli->db = NULL;
        }
        xfree(&app.next_env);
    }
    free(app.next_env);
    pthread_cond_destroy(&app.cv);
    pthread_mutex_destroy(&app.mu);
    return rc;
}
