/* The job history: every Zuora job and batch lakeop sees, kept in
 * lakeop.zuora_jobs / zuora_batches with its last JSON, so that job and
 * file ids stay findable after Zuora forgets them; and lakeop.increments,
 * per object, what the last increment was and whether it reached the lake.
 * Each save is one transaction: nothing is ever stored half-way. */
#ifndef LAKEOP_JOBSTORE_H
#define LAKEOP_JOBSTORE_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>

#include "err.h"
#include "zuora.h"

enum jobstore_origin { JOBSTORE_LAKEOP, JOBSTORE_SCHEDULED, JOBSTORE_LOOKUP };

/* Upserts the job and every batch (origin is kept from the first save,
 * except that a job merely looked up becomes scheduled when it is found to
 * be the session's last completed job; a scheduled job's submitted_at is
 * its startTime).
 * incremental_time: as sent (NULL: afterLastIncrement, or not known);
 * tz: the tenant zone for plain startTimes.  When the job has completed and
 * was not merely looked up, each completed batch becomes its object's last
 * increment (unless a newer one is already recorded). */
enum lk_status jobstore_save_job(PGconn *db, const char *env, const struct zuora_job *job,
                                 enum jobstore_origin origin, const char *incremental_time,
                                 const char *tz, struct lk_error *err);

/* What lakeop sent for one object in a submit (the session's memory). */
struct jobstore_sent_query {
    const char *object_name;
    const char *query_hash;
};
/* jobstore_save_job for a job lakeop just submitted, plus, in the same
 * transaction, the partner/project/query hash of each object in increments. */
enum lk_status jobstore_save_submitted(PGconn *db, const char *env, const struct zuora_job *job,
                                       const char *incremental_time, const char *tz,
                                       const char *partner, const char *project,
                                       const struct jobstore_sent_query *sent, size_t n_sent,
                                       struct lk_error *err);

/* The copy engineer calls this after a batch's file reached the raw bucket. */
enum lk_status jobstore_mark_copied(PGconn *db, const char *env, const char *object_name,
                                    const char *job_id, const char *batch_id, long long copied_unix,
                                    struct lk_error *err);

/* A copy lakeop did not make but found in the lake (core/lake_copy.h):
 * recorded on the batch (copied_to, metadata_key, copied_at = when the
 * metadata was written) and as its object's increment, so Job detail's
 * links and later plans see it, but without bytes or ETag and not in
 * lakeop.copies, so lakeop copy still copies the file when asked.  A
 * batch already recorded as copied is left as it is. */
/* SQL: true when the zuora_batches row b holds such a copy (a target and a
 * time, without the bytes and ETag a copy by lakeop records). */
#define JOBSTORE_FOUND_IN_LAKE \
    "(b.copied_at IS NOT NULL AND b.copied_to IS NOT NULL AND b.copied_etag IS NULL AND b.copied_bytes IS NULL)"
enum lk_status jobstore_mark_found_in_lake(PGconn *db, const char *env, const char *object_name,
                                           const char *job_id, const char *batch_id, const char *target,
                                           const char *metadata_url, long long copied_unix,
                                           struct lk_error *err);

struct jobstore_row {
    long long id;               /* paging key */
    char *job_id;
    char *name;
    char *status;
    char *origin;
    char *partner;
    char *project;
    char *incremental_time;     /* NULL: afterLastIncrement */
    long long submitted_unix;
    long long updated_unix;
    long long start_unix;       /* 0 unknown */
    long long ended_unix;       /* when lakeop first saw it ended; 0 running or never seen end */
    int n_batches;
    int n_completed;
    int n_failed;               /* aborted or cancelled */
    long long records;          /* sum of recordCount */
};

/* Newest first; before_id 0 = from the newest, else rows with id < before_id. */
enum lk_status jobstore_list(PGconn *db, const char *env, long long before_id, int limit,
                             struct jobstore_row **rows, size_t *n_rows, struct lk_error *err);
void jobstore_rows_free(struct jobstore_row *rows, size_t n_rows);

/* How long a job ran, in seconds: from its start (startTime, else when it
 * was submitted) to ended_unix (lakeop.zuora_jobs.ended_at), or to now
 * while it runs.  -1 when there is none to show: nothing known of the
 * start, or an ended job whose end lakeop never saw after its start. */
long long jobstore_duration(long long start_unix, long long submitted_unix, long long ended_unix,
                            bool ended, long long now_unix);

/* The stored copy of a job (from its last JSON).  LK_NOTFOUND when unknown.
 * origin_out (may be NULL) gets the origin (caller frees). */
enum lk_status jobstore_load_job(PGconn *db, const char *job_id, struct zuora_job *out,
                                 char **origin_out, struct lk_error *err);

/* Per object, what the export plan and its safety check need. */
struct jobstore_object_history {
    /* The newest job of (partner, project) with this object that moved the
     * session (completed, sent without incrementalTime); NULL: none. */
    char *last_job_id;
    char *last_query;            /* the query that job ran */
    char *sent_query_hash;       /* increments.query_hash (what lakeop last sent), or NULL */
    char *other_project;         /* a project of an older session with this object, or NULL */
    /* The newest completed increment and whether it reached the raw bucket. */
    char *increment_job_id;
    char *increment_batch_id;
    long long increment_completed_unix;  /* 0 unknown */
    char *increment_file_ids;            /* its fileId, or segments joined by ","; NULL unknown */
    long long increment_copied_unix;     /* 0 never copied */
    bool increment_found_in_lake;        /* that copy was found in the lake, not made by lakeop */
    /* A newer job with this object that has not finished (or NULL). */
    char *running_job_id;
};
enum lk_status jobstore_object_history(PGconn *db, const char *env, const char *partner,
                                       const char *project, const char *object_name,
                                       struct jobstore_object_history *out, struct lk_error *err);
void jobstore_object_history_free(struct jobstore_object_history *h);

#endif
