/* The health marks of the console's header (db, zuora, s3, airflow): the
 * same checks as `lakeop doctor` (Zuora: the console's shared token and
 * one authenticated request, so a check costs no token; a cheap signed S3
 * request, Airflow's version with our credentials, SELECT 1), run on
 * workers every minute (LAKEOP_HEALTH_INTERVAL=SECONDS for tests).  A change of state is written to the message log
 * once, with the reason when a service goes down (secrets redacted).
 *
 * UI thread only, except the checks themselves.  A check never holds a
 * worker long: it is cancelled after SVC_CHECK_DEADLINE_MS, and
 * svc_watch_stop() cancels every running one so that quitting never waits
 * for a service that does not answer. */
#ifndef LAKEOP_SVC_WATCH_H
#define LAKEOP_SVC_WATCH_H

#include <stdbool.h>

#include "config.h"
#include "tui.h"

#define SVC_CHECK_INTERVAL_MS 60000
#define SVC_CHECK_DEADLINE_MS 15000

enum svc { SVC_DB, SVC_ZUORA, SVC_S3, SVC_AIRFLOW, SVC_COUNT };
enum svc_state { SVC_NOT_CONFIGURED, SVC_UNKNOWN, SVC_OK, SVC_DOWN };

struct svc_watch;

/* Checks every configured service now, then every SVC_CHECK_INTERVAL_MS. */
struct svc_watch *svc_watch_start(struct tui *t, const struct cfg *cfg, const struct cfg_env *env);
/* Cancels running checks (before tui_free(), which waits for workers). */
void svc_watch_stop(struct svc_watch *w);
/* After tui_free(): the checks' done() callbacks have all run. */
void svc_watch_free(struct svc_watch *w);

/* Checks every configured service now (one check per service at a time). */
void svc_watch_check(struct svc_watch *w);
/* A state learnt elsewhere (the LISTEN connection).  why (may be NULL: the
 * caller has said it already) goes to the message log when the state
 * changes to DOWN. */
void svc_watch_set(struct svc_watch *w, enum svc s, enum svc_state st, const char *why);

enum svc_state svc_watch_state(const struct svc_watch *w, enum svc s);
const char *svc_name(enum svc s);
/* Checks submitted whose answer has not arrived (scripts wait for them). */
int svc_watch_pending(const struct svc_watch *w);

/* The bucket or prefix a cheap request proves S3 with: the cohorts bucket,
 * else the first object's raw location, else the first dataset's incoming
 * prefix; NULL when the environment names none. */
const char *svc_store_probe_url(const struct cfg_env *env);

#endif
