/* The console's frame (screens/app.c): what screens need from the app
 * beyond the toolkit: the environment, the per-worker database connection
 * and core context, confirmations that follow the environment's rules. */
#ifndef LAKEOP_APP_H
#define LAKEOP_APP_H

#include <libpq-fe.h>
#include <stdbool.h>

#include "config.h"
#include "ctx.h"
#include "dlg.h"
#include "err.h"
#include "tui.h"

struct cli;

/* In a worker function (wctx is its first argument): this thread's
 * database connection, opened on first use, after the schema is migrated.
 * NULL (err says why) when there is no database or it cannot be reached. */
PGconn *app_db(void *wctx, struct lk_error *err);
/* A core context for this worker thread (database opened on demand by
 * the caller through app_db; http client made on first use). */
struct lk_ctx *app_ctx(void *wctx);

/* On the UI thread. */
const struct cfg_env *app_env(const struct tui *t);
const char *app_operator(const struct tui *t);
/* The session's shared Zuora token cache (core/zuora.h), for a screen's
 * own client: zuora_client_use_tokens(zc, app_zuora_tokens(t)).  Worker
 * contexts carry it already (zuora_client_for(app_ctx(wctx))). */
struct zuora_tokens *app_zuora_tokens(const struct tui *t);

/* The confirmation every changing action goes through: refused in
 * read-only mode; in a protected environment the operator types the
 * environment's name; otherwise a confirm dialog with focus on Cancel.
 * target is shown and still_valid() is called just before done(ok=true). */
void app_confirm(struct tui *t, enum action a, const char *title, const char *text,
                 const char *target, dlg_check_fn still_valid, dlg_done_fn done, void *ud);

/* Long work that quitting would interrupt (q asks first while any runs). */
void app_busy_begin(struct tui *t, const char *what);
void app_busy_end(struct tui *t);

/* "3h 12m", "45 s", for ages and durations in seconds. */
void app_age(long long seconds, char *out, size_t out_size);
/* Local time of a unix time: "2026-11-22 10:03:04". */
void app_time(long long unix_seconds, char *out, size_t out_size);

int app_run(struct cli *cli);

#endif
