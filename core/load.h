/* Loads: one landed file each, and the state machine they follow
 * (PRODUCT.md; source document 004).  Every status change goes through
 * load_transition(), the one place the machine is enforced:
 *
 *   ready → ingesting → ready_for_archiving → archiving → archived
 *               └──────→ ready_for_erroring → erroring  → errored
 *   (registered) → ready_for_erroring          an empty file
 *   errored → ready                            retry
 *
 * A change is `UPDATE … WHERE id = $1 AND status = $2`, so a change made by
 * someone else in the meantime is detected (LK_REFUSED), never overwritten;
 * each change is timestamped and appended to lakeop.load_events with the
 * operator, in the same transaction. */
#ifndef LAKEOP_LOAD_H
#define LAKEOP_LOAD_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>

#include "err.h"

enum load_status {
    LOAD_READY,
    LOAD_INGESTING,
    LOAD_READY_FOR_ARCHIVING,
    LOAD_ARCHIVING,
    LOAD_ARCHIVED,
    LOAD_READY_FOR_ERRORING,
    LOAD_ERRORING,
    LOAD_ERRORED,
};
#define LOAD_STATUS_COUNT 8

const char *load_status_name(enum load_status s);
bool load_status_parse(const char *text, enum load_status *out);
bool load_transition_allowed(enum load_status from, enum load_status to);
/* archived and errored: nothing more happens without an operator. */
bool load_status_final(enum load_status s);

struct load {
    long long id;
    long long dataset_id;
    char *dataset;              /* the dataset's name */
    char *key;                  /* the object's key in the incoming bucket */
    long long size;
    long long modified;         /* unix seconds */
    long long file_land_timestamp;
    enum load_status status;
    long long record_count;     /* -1 when not known */
    char *error;                /* NULL when none */
    char *raw_hist_key;         /* URL in raw-hist, once decided */
    char *errored_key;          /* URL in the errored area, once decided */
    long long created_at;
    long long updated_at;
};
void load_free(struct load *l);       /* frees the members */
void load_array_free(struct load *loads, size_t n);

/* What changes together with the status.  NULL / -1: keep; "" clears a text. */
struct load_change {
    const char *error;
    long long record_count;
    const char *raw_hist_key;
    const char *errored_key;
    const char *message;        /* for lakeop.load_events */
    long long size;             /* the object's size when it was replaced before a retry */
};
#define LOAD_CHANGE_NONE { NULL, -1, NULL, NULL, NULL, -1 }

/* Moves load id from `from` to `to`.  LK_REFUSED when the machine does not
 * allow it or the load is no longer in `from` (the message names its status
 * now); LK_NOTFOUND when there is no such load. */
enum lk_status load_transition(PGconn *db, const char *operator_name, long long id,
                               enum load_status from, enum load_status to,
                               const struct load_change *change, struct lk_error *err);

/* Registers an object seen under a dataset's incoming prefix: `ready`, or
 * `ready_for_erroring` when it is empty.  A load is the object landed under
 * a key at a modified time: listing an object again does nothing
 * (*created = false, *id and *status those of its load) when the key's
 * load is unfinished (it is being carried on, or a retry put its file back:
 * on S3 that gives the object a new modified time) or a finished load has
 * the same key and modified time; an object re-landed later under a loaded
 * key is a new load.  ods: the new load joins its snapshot
 * (dataset_snapshot_attach) in the same transaction. */
enum lk_status load_register(PGconn *db, const char *operator_name, long long dataset_id,
                             const char *key, long long size, long long modified, bool ods,
                             long long *id, bool *created, enum load_status *status,
                             struct lk_error *err);

/* The unfinished load of a key (at most one), or *id = 0. */
enum lk_status load_unfinished_of_key(PGconn *db, long long dataset_id, const char *key, long long *id,
                                      struct lk_error *err);

enum lk_status load_get(PGconn *db, long long id, struct load *out, struct lk_error *err);

struct load_filter {
    const char *dataset;        /* name; NULL: all */
    int status;                 /* enum load_status, or -1: all */
    long long before_id;        /* keyset paging: ids below this; 0: from the newest */
    long long after_id;         /* ascending instead (ids above this); 0 with before_id: newest first */
    bool ascending;
    bool unfinished_only;       /* only statuses that are not final */
    long long dataset_id;       /* 0: any */
    int limit;
    /* NULL or "": all.  Otherwise rows whose id, dataset name, key, status
     * or error contains this text, case-insensitively (the console's /
     * filter, which must find rows that are not loaded yet). */
    const char *text;
};

/* A page of loads, newest first (or ascending by id), keyset-paged by id. */
enum lk_status load_list(PGconn *db, const struct load_filter *f, struct load **out, size_t *n,
                         struct lk_error *err);

struct load_event {
    long long at;
    char *from_status;          /* NULL at registration */
    char *to_status;
    char *operator_name;
    char *message;
};
enum lk_status load_events(PGconn *db, long long load_id, struct load_event **out, size_t *n,
                           struct lk_error *err);
void load_events_free(struct load_event *ev, size_t n);

#endif
