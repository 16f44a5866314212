/* The job history in PostgreSQL (core/jobstore.h). */
#include "jobstore.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "db.h"
#include "json.h"
#include "mem.h"

static const char *origin_name(enum jobstore_origin o)
{
    switch (o) {
    case JOBSTORE_SCHEDULED: return "scheduled";
    case JOBSTORE_LOOKUP: return "lookup";
    default: return "lakeop";
    }
}

/* "2021-01-18 17:13:48+00" for a timestamptz parameter; empty when unknown. */
static void format_utc(long long unix_s, char *out, size_t size)
{
    if (unix_s <= 0) {
        out[0] = '\0';
        return;
    }
    time_t t = (time_t)unix_s;
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, size, "%Y-%m-%d %H:%M:%S+00", &tm);
}

static const char *nz(const char *s)
{
    return s && *s ? s : NULL;
}

static enum lk_status save_batches(PGconn *db, const struct zuora_job *job, struct lk_error *err)
{
    json_t *root = NULL;
    json_error_t je;
    if (job->json)
        root = json_loads(job->json, 0, &je);
    const json_t *jbatches = json_object_get(root, "batches");
    enum lk_status st = LK_OK;
    for (size_t i = 0; i < job->n_batches && st == LK_OK; i++) {
        const struct zuora_batch *b = &job->batches[i];
        char count[32], full[8];
        snprintf(count, sizeof count, "%lld", b->record_count);
        snprintf(full, sizeof full, "%s", b->full == 1 ? "true" : "false");
        char *segments = NULL;
        if (b->segments) {
            json_t *arr = json_array();
            for (size_t k = 0; k < b->n_segments; k++)
                json_array_append_new(arr, json_string(b->segments[k]));
            segments = jx_dump(arr);
            json_decref(arr);
        }
        char *bjson = jx_dump(json_array_get(jbatches, i));
        const char *params[] = {
            job->id, b->batch_id, b->name, b->status, b->record_count >= 0 ? count : NULL, nz(b->file_id),
            segments, b->full >= 0 ? full : NULL, b->message, b->query, strcmp(bjson, "null") ? bjson : NULL,
        };
        st = db_exec(db,
                     "INSERT INTO lakeop.zuora_batches (job_id, batch_id, name, status, record_count, file_id,"
                     " segments, full_load, message, query, last_json, updated_at)"
                     " VALUES ($1, $2, $3, $4, $5::bigint, $6, $7::jsonb, $8::boolean, $9, $10, $11::jsonb, now())"
                     " ON CONFLICT (batch_id) DO UPDATE SET status = EXCLUDED.status,"
                     " record_count = COALESCE(EXCLUDED.record_count, zuora_batches.record_count),"
                     " file_id = COALESCE(EXCLUDED.file_id, zuora_batches.file_id),"
                     " segments = COALESCE(EXCLUDED.segments, zuora_batches.segments),"
                     " full_load = COALESCE(EXCLUDED.full_load, zuora_batches.full_load),"
                     " message = EXCLUDED.message, query = COALESCE(EXCLUDED.query, zuora_batches.query),"
                     " last_json = COALESCE(EXCLUDED.last_json, zuora_batches.last_json), updated_at = now()"
                     " WHERE zuora_batches.job_id = EXCLUDED.job_id",
                     11, params, NULL, err);
        free(bjson);
        free(segments);
    }
    json_decref(root);
    return st;
}

/* A completed job's batches become their objects' last increments, unless
 * a newer job is already recorded there. */
static enum lk_status record_increments(PGconn *db, const char *env, const struct zuora_job *job,
                                        const char *incremental_time, struct lk_error *err)
{
    enum lk_status st = LK_OK;
    for (size_t i = 0; i < job->n_batches && st == LK_OK; i++) {
        const struct zuora_batch *b = &job->batches[i];
        if (strcmp(b->status, "completed") != 0)
            continue;
        const char *params[] = { env, b->name, job->partner, job->project, job->id, b->batch_id, incremental_time };
        st = db_exec(db,
                     "INSERT INTO lakeop.increments AS i (env, object_name, partner, project, last_job_id,"
                     " last_batch_id, incremental_time, completed_at)"
                     " VALUES ($1, $2, $3, $4, $5, $6, $7, now())"
                     " ON CONFLICT (env, object_name) DO UPDATE SET last_job_id = EXCLUDED.last_job_id,"
                     " last_batch_id = EXCLUDED.last_batch_id, incremental_time = EXCLUDED.incremental_time,"
                     " completed_at = EXCLUDED.completed_at, copied_at = NULL, ingested = false, ingested_at = NULL"
                     " WHERE i.last_job_id IS DISTINCT FROM EXCLUDED.last_job_id AND (i.last_job_id IS NULL OR"
                     "  COALESCE((SELECT id FROM lakeop.zuora_jobs WHERE job_id = i.last_job_id), 0) <"
                     "  (SELECT id FROM lakeop.zuora_jobs WHERE job_id = EXCLUDED.last_job_id))",
                     7, params, NULL, err);
    }
    return st;
}

/* Zuora's endings (zuora_status_terminal), for SQL. */
#define TERMINAL_STATUSES "('completed', 'error', 'aborted', 'cancelled')"

/* Everything of jobstore_save_job inside the caller's transaction.
 * ended_at is set by the first save that sees the job ended and kept by
 * every later one: updated_at moves with each look, a duration must not. */
static enum lk_status save_job_in_tx(PGconn *db, const char *env, const struct zuora_job *job,
                                     enum jobstore_origin origin, const char *incremental_time,
                                     const char *tz, struct lk_error *err)
{
    long long start = job->start_unix;
    if (start && !job->start_has_zone) {
        long long utc;
        if (zuora_tenant_to_utc(tz, start, &utc, NULL) == LK_OK)
            start = utc;
    }
    char start_text[40];
    format_utc(start, start_text, sizeof start_text);
    const char *sent = incremental_time ? incremental_time : job->incremental_time;
    const char *params[] = {
        job->id, env, job->name, job->partner, job->project, sent, job->status, origin_name(origin),
        start_text[0] ? start_text : NULL, job->json,
    };
    PGresult *res = NULL;
    enum lk_status st = db_exec(db,
                                "INSERT INTO lakeop.zuora_jobs (job_id, env, name, partner, project, incremental_time,"
                                " status, origin, start_time, last_json, updated_at, ended_at, submitted_at)"
                                " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9::timestamptz, $10::jsonb, now(),"
                                "  CASE WHEN $7::text IN " TERMINAL_STATUSES " THEN now() END,"
                                /* The scheduled exporter's job was submitted long before lakeop
                                 * heard of it: its start keeps the history in order. */
                                "  CASE WHEN $8 = 'scheduled' THEN COALESCE($9::timestamptz, now()) ELSE now() END)"
                                " ON CONFLICT (job_id) DO UPDATE SET"
                                /* Looked up by id, then found to be the session's last
                                 * completed job: it moved the session after all. */
                                " origin = CASE WHEN zuora_jobs.origin = 'lookup' AND EXCLUDED.origin = 'scheduled'"
                                "  THEN 'scheduled' ELSE zuora_jobs.origin END,"
                                " name = COALESCE(EXCLUDED.name, zuora_jobs.name),"
                                " partner = COALESCE(EXCLUDED.partner, zuora_jobs.partner),"
                                " project = COALESCE(EXCLUDED.project, zuora_jobs.project),"
                                " incremental_time = COALESCE(zuora_jobs.incremental_time, EXCLUDED.incremental_time),"
                                " status = EXCLUDED.status,"
                                " start_time = COALESCE(EXCLUDED.start_time, zuora_jobs.start_time),"
                                " last_json = COALESCE(EXCLUDED.last_json, zuora_jobs.last_json), updated_at = now(),"
                                " ended_at = COALESCE(zuora_jobs.ended_at, EXCLUDED.ended_at)"
                                " RETURNING origin, incremental_time",
                                10, params, &res, err);
    if (st != LK_OK)
        return st;
    bool lookup = strcmp(PQgetvalue(res, 0, 0), "lookup") == 0;
    char *stored_incremental = PQgetisnull(res, 0, 1) ? NULL : xstrdup(PQgetvalue(res, 0, 1));
    PQclear(res);
    st = save_batches(db, job, err);
    if (st == LK_OK && !lookup && strcmp(job->status, "completed") == 0)
        st = record_increments(db, env, job, stored_incremental, err);
    free(stored_incremental);
    return st;
}

enum lk_status jobstore_save_job(PGconn *db, const char *env, const struct zuora_job *job,
                                 enum jobstore_origin origin, const char *incremental_time,
                                 const char *tz, struct lk_error *err)
{
    enum lk_status st = db_begin(db, err);
    if (st != LK_OK)
        return st;
    st = save_job_in_tx(db, env, job, origin, incremental_time, tz, err);
    if (st == LK_OK)
        st = db_commit(db, err);
    else
        db_rollback(db);
    if (st != LK_OK)
        err_prefix(err, "storing job %s", job->id);
    return st;
}

enum lk_status jobstore_save_submitted(PGconn *db, const char *env, const struct zuora_job *job,
                                       const char *incremental_time, const char *tz,
                                       const char *partner, const char *project,
                                       const struct jobstore_sent_query *sent, size_t n_sent,
                                       struct lk_error *err)
{
    enum lk_status st = db_begin(db, err);
    if (st != LK_OK)
        return st;
    st = save_job_in_tx(db, env, job, JOBSTORE_LAKEOP, incremental_time, tz, err);
    for (size_t i = 0; i < n_sent && st == LK_OK; i++) {
        const char *params[] = { env, sent[i].object_name, partner, project, sent[i].query_hash };
        st = db_exec(db,
                     "INSERT INTO lakeop.increments (env, object_name, partner, project, query_hash)"
                     " VALUES ($1, $2, $3, $4, $5)"
                     " ON CONFLICT (env, object_name) DO UPDATE SET partner = EXCLUDED.partner,"
                     " project = EXCLUDED.project, query_hash = EXCLUDED.query_hash",
                     5, params, NULL, err);
    }
    if (st == LK_OK)
        st = db_commit(db, err);
    else
        db_rollback(db);
    if (st != LK_OK)
        err_prefix(err, "storing submitted job %s", job->id);
    return st;
}

/* The object's increment moves to this batch, copied at when (NULL: now);
 * then batch_sql updates the batch itself ($1 batch id, $2 when, $3.. extra). */
static enum lk_status mark_copied(PGconn *db, const char *env, const char *object_name, const char *job_id,
                                  const char *batch_id, long long copied_unix, const char *batch_sql,
                                  const char *extra1, const char *extra2, struct lk_error *err)
{
    char when[40];
    format_utc(copied_unix, when, sizeof when);
    enum lk_status st = db_begin(db, err);
    if (st != LK_OK)
        return st;
    const char *params[] = { env, object_name, job_id, batch_id, when[0] ? when : NULL };
    st = db_exec(db,
                 "INSERT INTO lakeop.increments (env, object_name, last_job_id, last_batch_id, copied_at)"
                 " VALUES ($1, $2, $3, $4, COALESCE($5::timestamptz, now()))"
                 " ON CONFLICT (env, object_name) DO UPDATE SET last_job_id = EXCLUDED.last_job_id,"
                 " last_batch_id = EXCLUDED.last_batch_id, copied_at = EXCLUDED.copied_at,"
                 " ingested = false, ingested_at = NULL",
                 5, params, NULL, err);
    if (st == LK_OK) {
        const char *bparams[] = { batch_id, when[0] ? when : NULL, extra1, extra2 };
        st = db_exec(db, batch_sql, extra1 ? 4 : 2, bparams, NULL, err);
    }
    if (st == LK_OK)
        st = db_commit(db, err);
    else
        db_rollback(db);
    if (st != LK_OK)
        err_prefix(err, "recording the copy of %s (job %s)", object_name, job_id);
    return st;
}

enum lk_status jobstore_mark_copied(PGconn *db, const char *env, const char *object_name,
                                    const char *job_id, const char *batch_id, long long copied_unix,
                                    struct lk_error *err)
{
    return mark_copied(db, env, object_name, job_id, batch_id, copied_unix,
                       "UPDATE lakeop.zuora_batches SET copied_at = COALESCE($2::timestamptz, now()),"
                       " updated_at = now() WHERE batch_id = $1",
                       NULL, NULL, err);
}

enum lk_status jobstore_mark_found_in_lake(PGconn *db, const char *env, const char *object_name,
                                           const char *job_id, const char *batch_id, const char *target,
                                           const char *metadata_url, long long copied_unix,
                                           struct lk_error *err)
{
    /* No bytes, no ETag, nothing in lakeop.copies: lakeop copy trusts only
     * its own copies, and a copy lakeop made is never overwritten here. */
    return mark_copied(db, env, object_name, job_id, batch_id, copied_unix,
                       "UPDATE lakeop.zuora_batches SET copied_to = $3, metadata_key = $4,"
                       " copied_at = $2::timestamptz, copied_bytes = NULL, copied_etag = NULL, updated_at = now()"
                       " WHERE batch_id = $1 AND copied_at IS NULL",
                       target, metadata_url, err);
}

static char *get_or_null(const PGresult *res, int row, int col)
{
    return PQgetisnull(res, row, col) ? NULL : xstrdup(PQgetvalue(res, row, col));
}

static long long get_ll(const PGresult *res, int row, int col)
{
    return PQgetisnull(res, row, col) ? 0 : strtoll(PQgetvalue(res, row, col), NULL, 10);
}

enum lk_status jobstore_list(PGconn *db, const char *env, long long before_id, int limit,
                             struct jobstore_row **rows, size_t *n_rows, struct lk_error *err)
{
    *rows = NULL;
    *n_rows = 0;
    char before[32], lim[16];
    snprintf(before, sizeof before, "%lld", before_id > 0 ? before_id : 0);
    snprintf(lim, sizeof lim, "%d", limit > 0 ? limit : 50);
    const char *params[] = { env, before, lim };
    PGresult *res;
    enum lk_status st = db_exec(
        db,
        "SELECT j.id, j.job_id, j.name, j.status, j.origin, j.partner, j.project, j.incremental_time,"
        " floor(extract(epoch FROM j.submitted_at))::bigint, floor(extract(epoch FROM j.updated_at))::bigint,"
        " floor(extract(epoch FROM j.start_time))::bigint, floor(extract(epoch FROM j.ended_at))::bigint,"
        " (SELECT count(*) FROM lakeop.zuora_batches b WHERE b.job_id = j.job_id),"
        " (SELECT count(*) FROM lakeop.zuora_batches b WHERE b.job_id = j.job_id AND b.status = 'completed'),"
        " (SELECT count(*) FROM lakeop.zuora_batches b WHERE b.job_id = j.job_id"
        "   AND b.status IN ('aborted', 'cancelled')),"
        " (SELECT COALESCE(sum(b.record_count), 0) FROM lakeop.zuora_batches b WHERE b.job_id = j.job_id)"
        " FROM lakeop.zuora_jobs j WHERE j.env = $1 AND ($2::bigint = 0 OR j.id < $2::bigint)"
        " ORDER BY j.id DESC LIMIT $3::int",
        3, params, &res, err);
    if (st != LK_OK)
        return st;
    int n = PQntuples(res);
    *rows = xcalloc(n ? (size_t)n : 1, sizeof **rows);
    for (int i = 0; i < n; i++) {
        struct jobstore_row *r = &(*rows)[i];
        r->id = get_ll(res, i, 0);
        r->job_id = get_or_null(res, i, 1);
        r->name = get_or_null(res, i, 2);
        r->status = get_or_null(res, i, 3);
        r->origin = get_or_null(res, i, 4);
        r->partner = get_or_null(res, i, 5);
        r->project = get_or_null(res, i, 6);
        r->incremental_time = get_or_null(res, i, 7);
        r->submitted_unix = get_ll(res, i, 8);
        r->updated_unix = get_ll(res, i, 9);
        r->start_unix = get_ll(res, i, 10);
        r->ended_unix = get_ll(res, i, 11);
        r->n_batches = (int)get_ll(res, i, 12);
        r->n_completed = (int)get_ll(res, i, 13);
        r->n_failed = (int)get_ll(res, i, 14);
        r->records = get_ll(res, i, 15);
    }
    *n_rows = (size_t)n;
    PQclear(res);
    return LK_OK;
}

long long jobstore_duration(long long start_unix, long long submitted_unix, long long ended_unix,
                            bool ended, long long now_unix)
{
    long long start = start_unix > 0 ? start_unix : submitted_unix;
    if (start <= 0)
        return -1;
    if (!ended)
        return now_unix > start ? now_unix - start : 0;
    /* An end at or before the start is a job first seen already over
     * (looked up, or stored by someone else): no duration to show. */
    return ended_unix > start ? ended_unix - start : -1;
}

void jobstore_rows_free(struct jobstore_row *rows, size_t n_rows)
{
    for (size_t i = 0; i < n_rows; i++) {
        free(rows[i].job_id);
        free(rows[i].name);
        free(rows[i].status);
        free(rows[i].origin);
        free(rows[i].partner);
        free(rows[i].project);
        free(rows[i].incremental_time);
    }
    free(rows);
}

/* The batches of a job stored without its JSON, from their columns. */
static enum lk_status load_batches(PGconn *db, const char *job_id, struct zuora_job *out, struct lk_error *err)
{
    const char *params[] = { job_id };
    PGresult *res;
    enum lk_status st = db_exec(db,
                                "SELECT batch_id, name, status, record_count, full_load, message, file_id, query,"
                                " segments::text FROM lakeop.zuora_batches WHERE job_id = $1 ORDER BY id",
                                1, params, &res, err);
    if (st != LK_OK)
        return st;
    int n = PQntuples(res);
    out->batches = xcalloc(n ? (size_t)n : 1, sizeof *out->batches);
    for (int i = 0; i < n; i++) {
        struct zuora_batch *b = &out->batches[i];
        b->batch_id = get_or_null(res, i, 0);
        b->name = get_or_null(res, i, 1);
        b->status = get_or_null(res, i, 2);
        b->record_count = PQgetisnull(res, i, 3) ? -1 : strtoll(PQgetvalue(res, i, 3), NULL, 10);
        b->full = PQgetisnull(res, i, 4) ? -1 : PQgetvalue(res, i, 4)[0] == 't';
        b->message = get_or_null(res, i, 5);
        b->file_id = get_or_null(res, i, 6);
        b->query = get_or_null(res, i, 7);
        if (!PQgetisnull(res, i, 8)) {
            json_error_t je;
            json_t *arr = json_loads(PQgetvalue(res, i, 8), 0, &je);
            size_t k, m = json_array_size(arr);
            b->segments = xcalloc(m ? m : 1, sizeof *b->segments);
            for (k = 0; k < m; k++)
                if (json_is_string(json_array_get(arr, k)))
                    b->segments[b->n_segments++] = xstrdup(json_string_value(json_array_get(arr, k)));
            json_decref(arr);
        }
    }
    out->n_batches = (size_t)n;
    PQclear(res);
    return LK_OK;
}

enum lk_status jobstore_load_job(PGconn *db, const char *job_id, struct zuora_job *out,
                                 char **origin_out, struct lk_error *err)
{
    memset(out, 0, sizeof *out);
    if (origin_out)
        *origin_out = NULL;
    const char *params[] = { job_id };
    PGresult *res;
    enum lk_status st = db_exec(db,
                                "SELECT last_json::text, origin, status, name, partner, project, incremental_time"
                                " FROM lakeop.zuora_jobs WHERE job_id = $1",
                                1, params, &res, err);
    if (st != LK_OK)
        return st;
    if (PQntuples(res) == 0) {
        PQclear(res);
        return err_set(err, LK_NOTFOUND, "no job %s in the job history", job_id);
    }
    if (!PQgetisnull(res, 0, 0)) {
        const char *text = PQgetvalue(res, 0, 0);
        st = zuora_parse_job(text, strlen(text), out, err);
        if (st != LK_OK)
            err_prefix(err, "the stored copy of job %s", job_id);
    } else {
        /* Rows written by others without JSON: rebuild what the columns say. */
        out->id = xstrdup(job_id);
        out->status = get_or_null(res, 0, 2);
        out->name = get_or_null(res, 0, 3);
        out->partner = get_or_null(res, 0, 4);
        out->project = get_or_null(res, 0, 5);
        out->incremental_time = get_or_null(res, 0, 6);
        st = load_batches(db, job_id, out, err);
    }
    if (st == LK_OK && origin_out)
        *origin_out = get_or_null(res, 0, 1);
    PQclear(res);
    return st;
}

/* The jobs that moved their session: completed, without incrementalTime
 * (which overrides the window without moving the session, ZUORA.md). */
#define SESSION_JOB "j.status = 'completed' AND j.incremental_time IS NULL"

enum lk_status jobstore_object_history(PGconn *db, const char *env, const char *partner,
                                       const char *project, const char *object_name,
                                       struct jobstore_object_history *out, struct lk_error *err)
{
    memset(out, 0, sizeof *out);
    const char *p4[] = { env, partner, project, object_name };
    PGresult *res;
    enum lk_status st = db_exec(
        db,
        "SELECT j.job_id, b.query FROM lakeop.zuora_batches b JOIN lakeop.zuora_jobs j ON j.job_id = b.job_id"
        " WHERE j.env = $1 AND j.partner IS NOT DISTINCT FROM $2 AND j.project IS NOT DISTINCT FROM $3"
        " AND b.name = $4 AND " SESSION_JOB " ORDER BY j.submitted_at DESC, j.id DESC LIMIT 1",
        4, p4, &res, err);
    if (st != LK_OK)
        return st;
    if (PQntuples(res)) {
        out->last_job_id = get_or_null(res, 0, 0);
        out->last_query = get_or_null(res, 0, 1);
    }
    PQclear(res);
    if (!out->last_job_id) {
        st = db_exec(db,
                     "SELECT j.project FROM lakeop.zuora_batches b JOIN lakeop.zuora_jobs j ON j.job_id = b.job_id"
                     " WHERE j.env = $1 AND j.partner IS NOT DISTINCT FROM $2"
                     " AND j.project IS DISTINCT FROM $3 AND b.name = $4 AND " SESSION_JOB
                     " ORDER BY j.submitted_at DESC, j.id DESC LIMIT 1",
                     4, p4, &res, err);
        if (st != LK_OK)
            goto fail;
        if (PQntuples(res))
            out->other_project = xstrdup(PQgetisnull(res, 0, 0) ? "(none)" : PQgetvalue(res, 0, 0));
        PQclear(res);
    }
    const char *p2[] = { env, object_name };
    st = db_exec(db,
                 "SELECT query_hash, last_job_id, last_batch_id, floor(extract(epoch FROM completed_at))::bigint,"
                 " floor(extract(epoch FROM copied_at))::bigint"
                 " FROM lakeop.increments WHERE env = $1 AND object_name = $2",
                 2, p2, &res, err);
    if (st != LK_OK)
        goto fail;
    char *inc_job = NULL;
    long long inc_copied = 0, inc_completed = 0;
    char *inc_batch = NULL;
    if (PQntuples(res)) {
        out->sent_query_hash = get_or_null(res, 0, 0);
        inc_job = get_or_null(res, 0, 1);
        inc_batch = get_or_null(res, 0, 2);
        inc_completed = get_ll(res, 0, 3);
        inc_copied = get_ll(res, 0, 4);
    }
    PQclear(res);
    st = db_exec(db,
                 "SELECT j.job_id, b.batch_id, floor(extract(epoch FROM j.updated_at))::bigint,"
                 " floor(extract(epoch FROM b.copied_at))::bigint, j.id, COALESCE(b.file_id,"
                 "  (SELECT string_agg(s.id, ',' ORDER BY s.n)"
                 "     FROM jsonb_array_elements_text(b.segments) WITH ORDINALITY AS s(id, n))),"
                 " " JOBSTORE_FOUND_IN_LAKE
                 " FROM lakeop.zuora_batches b JOIN lakeop.zuora_jobs j ON j.job_id = b.job_id"
                 " WHERE j.env = $1 AND j.partner IS NOT DISTINCT FROM $2 AND j.project IS NOT DISTINCT FROM $3"
                 " AND b.name = $4 AND b.status = 'completed' AND j.status = 'completed'"
                 " ORDER BY j.submitted_at DESC, j.id DESC LIMIT 1",
                 4, p4, &res, err);
    if (st != LK_OK) {
        free(inc_job);
        free(inc_batch);
        goto fail;
    }
    char newest_id[32] = "0";
    if (PQntuples(res)) {
        out->increment_job_id = get_or_null(res, 0, 0);
        out->increment_batch_id = get_or_null(res, 0, 1);
        out->increment_completed_unix = get_ll(res, 0, 2);
        out->increment_copied_unix = get_ll(res, 0, 3);
        snprintf(newest_id, sizeof newest_id, "%s", PQgetvalue(res, 0, 4));
        out->increment_file_ids = get_or_null(res, 0, 5);
        out->increment_found_in_lake = out->increment_copied_unix && PQgetvalue(res, 0, 6)[0] == 't';
        if (inc_job && strcmp(inc_job, out->increment_job_id) == 0 && inc_copied)
            out->increment_copied_unix = inc_copied;
        free(inc_job);
        free(inc_batch);
    } else {
        out->increment_job_id = inc_job;
        out->increment_batch_id = inc_batch;
        out->increment_completed_unix = inc_completed;
        out->increment_copied_unix = inc_copied;
    }
    PQclear(res);
    const char *p5[] = { env, partner, project, object_name, newest_id };
    st = db_exec(db,
                 "SELECT j.job_id FROM lakeop.zuora_batches b JOIN lakeop.zuora_jobs j ON j.job_id = b.job_id"
                 " WHERE j.env = $1 AND j.partner IS NOT DISTINCT FROM $2 AND j.project IS NOT DISTINCT FROM $3"
                 " AND b.name = $4 AND j.status NOT IN " TERMINAL_STATUSES
                 " AND j.submitted_at > COALESCE((SELECT submitted_at FROM lakeop.zuora_jobs WHERE id = $5::bigint),"
                 "   '-infinity'::timestamptz)"
                 " ORDER BY j.submitted_at DESC LIMIT 1",
                 5, p5, &res, err);
    if (st != LK_OK)
        goto fail;
    if (PQntuples(res))
        out->running_job_id = get_or_null(res, 0, 0);
    PQclear(res);
    return LK_OK;
fail:
    jobstore_object_history_free(out);
    return st;
}

void jobstore_object_history_free(struct jobstore_object_history *h)
{
    free(h->last_job_id);
    free(h->last_query);
    free(h->sent_query_hash);
    free(h->other_project);
    free(h->increment_job_id);
    free(h->increment_batch_id);
    free(h->increment_file_ids);
    free(h->running_job_id);
    memset(h, 0, sizeof *h);
}
