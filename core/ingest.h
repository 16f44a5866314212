/* Ingestion: land → raw-hist (source document 002), with the loads
 * metadata of document 004.
 *
 * One run, per dataset (one run per dataset at a time: a Postgres advisory
 * lock; a second run skips a dataset that is being ingested):
 *   1. list the incoming prefix and register every object not seen before
 *      as a load: `ready`, or `ready_for_erroring` when it is empty (ODS
 *      datasets: LOAD… keys start snapshots, see dataset.h);
 *   2. take every load that is not finished, oldest first, and carry it on
 *      from whatever status it is in, so a run killed half-way is finished
 *      by the next one:
 *        ready → ingesting: the object is streamed through the validator
 *        (csvcheck.h), nothing is buffered;
 *        valid → ready_for_archiving → archiving: copied to
 *          RAW_HIST_PREFIX/file_land_timestamp=<unix seconds the object
 *          landed>/<its path under the incoming prefix>, the copy's size
 *          verified, then the source deleted → archived;
 *        invalid → ready_for_erroring → erroring: moved the same way to the
 *          errored area → errored, the reason kept in the load's error.
 *
 * The errored area is the incoming bucket's "errored/" folder, followed by
 * the object's full key (s3://incoming/errored/cubic/dmap/x/20220304.csv):
 * outside every dataset's prefix, so it is never listed as new files, and
 * keys that start with "errored/" are never registered.
 *
 * Moves are idempotent and never overwrite: the destination is looked at
 * first; an object with the same bytes there (same ETag on S3, else the
 * same SHA-256 of both) means the copy was already made (only the source is
 * left to delete); any other object there is refused, the source kept.
 * A network failure while validating leaves the load `ingesting` for the
 * next run.  Each run is audited (action "ingest"), each retry too. */
#ifndef LAKEOP_INGEST_H
#define LAKEOP_INGEST_H

#include <stdbool.h>

#include "ctx.h"
#include "err.h"
#include "load.h"

struct ingest_event {
    const char *dataset;
    long long load_id;           /* 0: about the dataset as a whole */
    const char *key;             /* the object's key, or NULL */
    const char *what;            /* "registered", "archived", "errored", "failed", "skipped" */
    enum load_status status;     /* the load's status now */
    long long records;           /* -1 when not known */
    const char *url;             /* where the file is now, or NULL */
    const char *message;         /* why (errored, failed, skipped), or NULL */
};
typedef void (*ingest_event_fn)(const struct ingest_event *ev, void *ud);

struct ingest_totals {
    long long datasets;
    long long registered;
    long long archived;
    long long errored;
    long long failed;            /* loads left unfinished by an error (network, conflict, overwrite) */
    long long skipped;           /* datasets or keys left alone, with a reason */
};

/* dataset NULL: every configured dataset.  Returns LK_OK when every load
 * reached archived or errored; LK_FAIL when some failed (the events say
 * which); LK_USAGE when a dataset's configuration or schema file is wrong
 * (its files are left untouched, other datasets still run); LK_NOTFOUND for
 * an unknown dataset; LK_REFUSED when read-only.  fn may be NULL. */
enum lk_status ingest_run(struct lk_ctx *ctx, const char *dataset, ingest_event_fn fn, void *ud,
                          struct ingest_totals *totals, struct lk_error *err);

/* *busy: another session's ingest of dataset (by name) holds its lock now
 * (the console's re-check just before it starts one). */
enum lk_status ingest_busy(PGconn *db, const char *dataset, bool *busy, struct lk_error *err);

/* Puts an errored load back to `ready`, its file moved back from the errored
 * area to where ingestion looks for it (idempotent, like every move).
 * LK_NOTFOUND: no such load; LK_REFUSED: not errored, read-only, or its key
 * has landed again and that newer load is unfinished.
 * Audited (action "load.retry"). */
enum lk_status ingest_retry(struct lk_ctx *ctx, long long load_id, struct lk_error *err);

/* The errored area's URL for an object of the incoming bucket (caller frees). */
char *ingest_errored_url(const char *incoming_prefix, const char *key, struct lk_error *err);

#endif
