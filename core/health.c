#include "health.h"

#include <stdio.h>
#include <stdlib.h>

#include "db.h"
#include "mem.h"

enum lk_status health_running_jobs(PGconn *db, const char *env, int limit, struct health_job **out,
                                   size_t *n, struct lk_error *err)
{
    *out = NULL;
    *n = 0;
    char lim[16];
    snprintf(lim, sizeof lim, "%d", limit > 0 ? limit : 50);
    const char *params[] = { env, lim };
    PGresult *res = NULL;
    enum lk_status rc = db_exec(db,
        "SELECT job_id, env, name, status, extract(epoch FROM submitted_at)::bigint,"
        " extract(epoch FROM updated_at)::bigint FROM lakeop.zuora_jobs"
        " WHERE status NOT IN ('completed', 'error', 'aborted', 'cancelled')"
        " AND ($1::text IS NULL OR env = $1) ORDER BY id DESC LIMIT $2::int",
        2, params, &res, err);
    if (rc != LK_OK)
        return rc;
    int rows = PQntuples(res);
    if (rows > 0) {
        *out = xcalloc((size_t)rows, sizeof **out);
        for (int i = 0; i < rows; i++) {
            struct health_job *j = &(*out)[i];
            j->job_id = xstrdup(PQgetvalue(res, i, 0));
            j->env = xstrdup(PQgetvalue(res, i, 1));
            j->name = PQgetisnull(res, i, 2) ? NULL : xstrdup(PQgetvalue(res, i, 2));
            j->status = xstrdup(PQgetvalue(res, i, 3));
            j->submitted_at = strtoll(PQgetvalue(res, i, 4), NULL, 10);
            j->updated_at = strtoll(PQgetvalue(res, i, 5), NULL, 10);
        }
    }
    *n = (size_t)rows;
    PQclear(res);
    return LK_OK;
}

void health_jobs_free(struct health_job *jobs, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(jobs[i].job_id);
        free(jobs[i].env);
        free(jobs[i].name);
        free(jobs[i].status);
    }
    free(jobs);
}

enum lk_status health_count_loads(PGconn *db, const char *status, long long *count,
                                  struct lk_error *err)
{
    const char *params[] = { status };
    PGresult *res = NULL;
    enum lk_status rc = db_exec(db, "SELECT count(*) FROM lakeop.loads WHERE status = $1", 1, params,
                                &res, err);
    if (rc != LK_OK)
        return rc;
    *count = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
    PQclear(res);
    return LK_OK;
}
