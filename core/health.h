/* What `lakeop status` and the Overview report beside dataset freshness:
 * errored loads and the Zuora jobs that have not finished. */
#ifndef LAKEOP_HEALTH_H
#define LAKEOP_HEALTH_H

#include <libpq-fe.h>
#include <stddef.h>

#include "err.h"

struct health_job {
    char *job_id;
    char *env;
    char *name;                  /* may be NULL */
    char *status;                /* as Zuora wrote it: submitted, executing, ... */
    long long submitted_at;      /* unix seconds */
    long long updated_at;
};

/* Zuora jobs whose status is not terminal (completed, error, aborted,
 * cancelled), newest first, at most limit; env NULL: every environment. */
enum lk_status health_running_jobs(PGconn *db, const char *env, int limit, struct health_job **out,
                                   size_t *n, struct lk_error *err);
void health_jobs_free(struct health_job *jobs, size_t n);

/* How many loads are in this status (all datasets). */
enum lk_status health_count_loads(PGconn *db, const char *status, long long *count,
                                  struct lk_error *err);

#endif
