/* A Zuora export, planned before it is submitted (issue #4, ZUORA.md):
 *
 *  - --from YYYY-MM-DD: a real date, not in the future; sends
 *    incrementalTime "<D-1> 00:00:00" (read by Zuora in zuora.timezone; the
 *    plan shows its UTC equivalent); more than 30 days back needs a second
 *    confirmation;
 *  - --from afterLastIncrement: omits incrementalTime, which moves the
 *    session, so each object's previous increment must have been copied and
 *    then ingested (its Airflow stage succeeded after the copy); a copy
 *    lakeop has no record of is looked for in the lake, by the metadata
 *    file beside the object's raw target (core/lake_copy.h);
 *  - --from beginning: refused (full exports of big objects exceed Zuora's
 *    time limit).
 * Per object the plan says whether Zuora will send a full load: a new object
 * in this (partner, project) session, a query changed since the session's
 * last job, or a different project. */
#ifndef LAKEOP_EXPORT_H
#define LAKEOP_EXPORT_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"
#include "config.h"
#include "ctx.h"
#include "err.h"
#include "json.h"
#include "zuora.h"

#define EXPORT_LONG_RANGE_DAYS 30

enum export_from { EXPORT_FROM_LAST_INCREMENT, EXPORT_FROM_DATE };

struct export_object {
    const struct cfg_object *object;   /* borrowed from the environment */
    char query_hash[65];
    bool full;
    char why[256];                     /* "new object in this session", "query changed since job X", ... */
    /* The afterLastIncrement check. */
    bool checked;
    bool safe;
    char *increment_job_id;            /* the last increment; NULL when none */
    long long copied_unix;             /* 0: never copied */
    /* Copied by the scheduled exporter or another tool: lakeop found it by
     * the metadata file in the lake (core/lake_copy.h), this one. */
    char lake_metadata[512];           /* "" when lakeop made the copy (or none) */
    long long stage_success_unix;      /* 0: never succeeded (or not asked) */
    char problem[1024];                /* why it is not safe */
};

struct export_plan {
    enum export_from from;
    char from_text[32];
    char incremental_time[24];         /* "" for afterLastIncrement */
    long long incremental_utc;         /* the UTC instant of incremental_time */
    char timezone[64];
    int days_back;
    bool needs_second_confirmation;
    bool unsafe;                       /* an object failed the afterLastIncrement check */
    bool forced;                       /* --force: the check's verdict is overridden */
    struct export_object *objects;
    size_t n_objects;
};

/* Parses --from.  now_unix: the current time.  "beginning" → LK_REFUSED
 * with the reason; anything but afterLastIncrement or a valid past date →
 * LK_USAGE with what is expected. */
enum lk_status export_parse_from(const char *text, long long now_unix, const char *tz,
                                 struct export_plan *plan, struct lk_error *err);

/* sha256 of the query text and its deleted column (increments.query_hash). */
void export_query_hash(const char *zoql, char out[65]);

/* The whole plan: objects (names, or every configured [object] when
 * n_names is 0; an unknown name → LK_USAGE), full or incremental, and for
 * afterLastIncrement the safety check (which asks Airflow).  First the
 * session's last completed job is fetched from Zuora into the history
 * (export_note_last_completed), so that a job of the scheduled exporter
 * counts.  With force, a failing check is recorded but not fatal. */
enum lk_status export_plan_build(struct lk_ctx *ctx, const char *from, const char *const *names,
                                 size_t n_names, bool force, long long now_unix,
                                 struct export_plan *plan, struct lk_error *err);
void export_plan_free(struct export_plan *plan);

/* The plan for people, one line per object. */
void export_plan_describe(const struct export_plan *plan, struct buf *out);
/* Why afterLastIncrement is refused: the objects, when their increment was
 * copied, when their stage last succeeded, and the two ways out. */
void export_refusal_text(const struct export_plan *plan, struct buf *out);
/* The plan as a JSON object (for --json and the audit); caller frees. */
char *export_plan_json(const struct export_plan *plan);
/* The same, as a value to place in a larger document (no text round
 * trip); the caller owns the reference. */
json_t *export_plan_value(const struct export_plan *plan);

/* The audit's parameters of a submit (or its refusal): from,
 * incrementalTime, the objects' names, force, the plan (export_plan_json:
 * per object full or incremental, and why) and, with force, the problems
 * it overrode ("overridden").  plan may be NULL.  Caller frees. */
char *export_audit_params(const char *from, const struct export_plan *plan, bool force);

/* Asks Zuora for the session's last completed job and stores it (origin
 * scheduled when lakeop did not submit it), so that the scheduled
 * exporter's jobs count in the plan, the ingestion check and the job
 * history.  LK_OK when the session has none yet (90002) or when
 * zuora.partner/zuora.project are not set.  job_id_out (may be NULL): the
 * job's id, "" when none. */
enum lk_status export_note_last_completed(struct lk_ctx *ctx, struct zuora_client *zc, char *job_id_out,
                                          size_t job_id_size, struct lk_error *err);

/* Submits the plan and stores the job (one transaction, with each object's
 * query hash).  A job submitted but not stored is still returned in
 * job_out, with the storage error in err. */
enum lk_status export_submit(struct lk_ctx *ctx, struct zuora_client *zc,
                             const struct export_plan *plan, struct zuora_job *job_out,
                             struct lk_error *err);

#endif
