#include "load.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dataset.h"
#include "db.h"
#include "mem.h"

static const char *const STATUS_NAMES[LOAD_STATUS_COUNT] = {
    "ready", "ingesting", "ready_for_archiving", "archiving", "archived",
    "ready_for_erroring", "erroring", "errored",
};

/* The machine, as one table: ALLOWED[from] is the set of statuses it may go to. */
#define BIT(s) (1u << (s))
static const unsigned ALLOWED[LOAD_STATUS_COUNT] = {
    [LOAD_READY] = BIT(LOAD_INGESTING),
    [LOAD_INGESTING] = BIT(LOAD_READY_FOR_ARCHIVING) | BIT(LOAD_READY_FOR_ERRORING),
    [LOAD_READY_FOR_ARCHIVING] = BIT(LOAD_ARCHIVING),
    [LOAD_ARCHIVING] = BIT(LOAD_ARCHIVED),
    [LOAD_ARCHIVED] = 0,
    [LOAD_READY_FOR_ERRORING] = BIT(LOAD_ERRORING),
    [LOAD_ERRORING] = BIT(LOAD_ERRORED),
    [LOAD_ERRORED] = BIT(LOAD_READY),
};

const char *load_status_name(enum load_status s)
{
    return (unsigned)s < LOAD_STATUS_COUNT ? STATUS_NAMES[s] : "?";
}

bool load_status_parse(const char *text, enum load_status *out)
{
    for (int i = 0; text && i < LOAD_STATUS_COUNT; i++)
        if (strcmp(text, STATUS_NAMES[i]) == 0) {
            *out = (enum load_status)i;
            return true;
        }
    return false;
}

bool load_transition_allowed(enum load_status from, enum load_status to)
{
    if ((unsigned)from >= LOAD_STATUS_COUNT || (unsigned)to >= LOAD_STATUS_COUNT)
        return false;
    return (ALLOWED[from] & BIT(to)) != 0;
}

bool load_status_final(enum load_status s)
{
    return s == LOAD_ARCHIVED || s == LOAD_ERRORED;
}

void load_free(struct load *l)
{
    if (!l)
        return;
    free(l->dataset);
    free(l->key);
    free(l->error);
    free(l->raw_hist_key);
    free(l->errored_key);
    memset(l, 0, sizeof *l);
}

void load_array_free(struct load *loads, size_t n)
{
    for (size_t i = 0; i < n; i++)
        load_free(&loads[i]);
    free(loads);
}

static char *num(char *out, size_t size, long long v)
{
    snprintf(out, size, "%lld", v);
    return out;
}

static enum lk_status current_status(PGconn *db, long long id, enum load_status *st,
                                     struct lk_error *err)
{
    char ids[32];
    const char *params[] = { num(ids, sizeof ids, id) };
    PGresult *res = NULL;
    enum lk_status rc = db_exec(db, "SELECT status FROM lakeop.loads WHERE id = $1", 1, params,
                                &res, err);
    if (rc != LK_OK)
        return rc;
    if (PQntuples(res) == 0) {
        PQclear(res);
        return err_set(err, LK_NOTFOUND, "there is no load %lld", id);
    }
    if (!load_status_parse(PQgetvalue(res, 0, 0), st)) {
        PQclear(res);
        return err_set(err, LK_FAIL, "load %lld has an unknown status", id);
    }
    PQclear(res);
    return LK_OK;
}

static enum lk_status add_event(PGconn *db, long long id, const char *from, const char *to,
                                const char *operator_name, const char *message,
                                struct lk_error *err)
{
    char ids[32];
    const char *params[] = { num(ids, sizeof ids, id), from, to, operator_name, message };
    return db_exec(db,
                   "INSERT INTO lakeop.load_events (load_id, from_status, to_status, operator, message) "
                   "VALUES ($1, $2, $3, $4, $5)",
                   5, params, NULL, err);
}

enum lk_status load_transition(PGconn *db, const char *operator_name, long long id,
                               enum load_status from, enum load_status to,
                               const struct load_change *change, struct lk_error *err)
{
    if (!load_transition_allowed(from, to))
        return err_set(err, LK_REFUSED, "load %lld: a load may not go from %s to %s", id,
                       load_status_name(from), load_status_name(to));
    static const struct load_change none = LOAD_CHANGE_NONE;
    if (!change)
        change = &none;
    char ids[32], counts[32], sizes[32];
    const char *params[] = {
        num(ids, sizeof ids, id), load_status_name(from), load_status_name(to), change->error,
        change->record_count >= 0 ? num(counts, sizeof counts, change->record_count) : NULL,
        change->raw_hist_key, change->errored_key,
        change->size >= 0 ? num(sizes, sizeof sizes, change->size) : NULL,
    };
    enum lk_status rc = db_begin(db, err);
    if (rc != LK_OK)
        return rc;
    PGresult *res = NULL;
    rc = db_exec(db,
                 "UPDATE lakeop.loads SET status = $3, updated_at = now(),"
                 " error = CASE WHEN $4::text IS NULL THEN error WHEN $4 = '' THEN NULL ELSE $4 END,"
                 " record_count = COALESCE($5::bigint, record_count),"
                 " raw_hist_key = CASE WHEN $6::text IS NULL THEN raw_hist_key"
                 "                     WHEN $6 = '' THEN NULL ELSE $6 END,"
                 " errored_key = CASE WHEN $7::text IS NULL THEN errored_key"
                 "                    WHEN $7 = '' THEN NULL ELSE $7 END,"
                 " size = COALESCE($8::bigint, size) "
                 "WHERE id = $1 AND status = $2 RETURNING id",
                 8, params, &res, err);
    if (rc != LK_OK) {
        db_rollback(db);
        return rc;
    }
    int changed = PQntuples(res);
    PQclear(res);
    if (changed == 0) {
        db_rollback(db);
        enum load_status now = from;
        rc = current_status(db, id, &now, err);
        if (rc != LK_OK)
            return rc;
        return err_set(err, LK_REFUSED,
                       "load %lld is %s, not %s: someone else changed it; nothing was done", id,
                       load_status_name(now), load_status_name(from));
    }
    rc = add_event(db, id, load_status_name(from), load_status_name(to), operator_name,
                   change->message, err);
    if (rc != LK_OK) {
        db_rollback(db);
        return rc;
    }
    return db_commit(db, err);
}

/* The load an object listed under `key` with modified time `mt` already is:
 * the key's unfinished load (its file is being carried on, or a retry put it
 * back, which on S3 gives it a new modified time), else a finished load of
 * the same key and time (that very object again). */
static enum lk_status find_registered(PGconn *db, const char *ds, const char *key, const char *mt,
                                      long long *id, enum load_status *status, bool *found,
                                      struct lk_error *err)
{
    const char *params[] = { ds, key, mt };
    PGresult *res = NULL;
    enum lk_status rc = db_exec(db,
        "SELECT id, status FROM lakeop.loads WHERE dataset_id = $1 AND key = $2"
        " AND (status NOT IN ('archived', 'errored') OR modified_at = to_timestamp($3::bigint))"
        " ORDER BY status NOT IN ('archived', 'errored') DESC, id DESC LIMIT 1",
        3, params, &res, err);
    if (rc != LK_OK)
        return rc;
    *found = PQntuples(res) == 1;
    if (*found) {
        *id = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
        if (!load_status_parse(PQgetvalue(res, 0, 1), status))
            *status = LOAD_READY;
    }
    PQclear(res);
    return LK_OK;
}

enum lk_status load_register(PGconn *db, const char *operator_name, long long dataset_id,
                             const char *key, long long size, long long modified, bool ods,
                             long long *id, bool *created, enum load_status *status,
                             struct lk_error *err)
{
    enum load_status st = size == 0 ? LOAD_READY_FOR_ERRORING : LOAD_READY;
    char ds[32], sz[32], mt[32];
    const char *params[] = {
        num(ds, sizeof ds, dataset_id), key, num(sz, sizeof sz, size), num(mt, sizeof mt, modified),
        load_status_name(st), size == 0 ? "empty file (0 bytes)" : NULL,
    };
    *created = false;
    bool found = false;
    enum lk_status rc = find_registered(db, ds, key, mt, id, status, &found, err);
    if (rc != LK_OK || found)
        return rc;
    if ((rc = db_begin(db, err)) != LK_OK)
        return rc;
    PGresult *res = NULL;
    /* The raw-hist partition is the moment the file landed: fixed at
     * registration, so that a resumed run writes to the same place.  A
     * conflict is a load registered since the look above. */
    rc = db_exec(db,
                 "INSERT INTO lakeop.loads (dataset_id, key, size, modified_at, file_land_timestamp,"
                 " status, error) VALUES ($1, $2, $3, to_timestamp($4::bigint), $4::bigint, $5, $6) "
                 "ON CONFLICT DO NOTHING RETURNING id",
                 6, params, &res, err);
    if (rc != LK_OK) {
        db_rollback(db);
        return rc;
    }
    if (PQntuples(res) == 0) {
        PQclear(res);
        db_rollback(db);
        rc = find_registered(db, ds, key, mt, id, status, &found, err);
        if (rc == LK_OK && !found)
            rc = err_set(err, LK_FAIL, "load of '%s' neither registered nor found", key);
        return rc;
    }
    *id = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
    PQclear(res);
    rc = add_event(db, *id, NULL, load_status_name(st), operator_name,
                   size == 0 ? "registered: empty file" : "registered", err);
    /* In the same transaction: a crash cannot leave a load without its snapshot. */
    if (rc == LK_OK && ods)
        rc = dataset_snapshot_attach(db, dataset_id, *id, key, modified, err);
    if (rc != LK_OK) {
        db_rollback(db);
        return rc;
    }
    if ((rc = db_commit(db, err)) != LK_OK)
        return rc;
    *created = true;
    *status = st;
    return LK_OK;
}

enum lk_status load_unfinished_of_key(PGconn *db, long long dataset_id, const char *key, long long *id,
                                      struct lk_error *err)
{
    char ds[32];
    const char *params[] = { num(ds, sizeof ds, dataset_id), key };
    PGresult *res = NULL;
    *id = 0;
    enum lk_status rc = db_exec(db, "SELECT id FROM lakeop.loads WHERE dataset_id = $1 AND key = $2"
                                " AND status NOT IN ('archived', 'errored')", 2, params, &res, err);
    if (rc != LK_OK)
        return rc;
    if (PQntuples(res) > 0)
        *id = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
    PQclear(res);
    return LK_OK;
}

#define LOAD_COLUMNS \
    "l.id, l.dataset_id, d.name, l.key, COALESCE(l.size, 0)," \
    " COALESCE(extract(epoch FROM l.modified_at)::bigint, 0), COALESCE(l.file_land_timestamp, 0)," \
    " l.status, COALESCE(l.record_count, -1), l.error, l.raw_hist_key, l.errored_key," \
    " extract(epoch FROM l.created_at)::bigint, extract(epoch FROM l.updated_at)::bigint"

static char *text_or_null(PGresult *res, int row, int col)
{
    return PQgetisnull(res, row, col) ? NULL : xstrdup(PQgetvalue(res, row, col));
}

static long long ll(PGresult *res, int row, int col)
{
    return strtoll(PQgetvalue(res, row, col), NULL, 10);
}

static void row_to_load(PGresult *res, int row, struct load *l)
{
    memset(l, 0, sizeof *l);
    l->id = ll(res, row, 0);
    l->dataset_id = ll(res, row, 1);
    l->dataset = xstrdup(PQgetvalue(res, row, 2));
    l->key = xstrdup(PQgetvalue(res, row, 3));
    l->size = ll(res, row, 4);
    l->modified = ll(res, row, 5);
    l->file_land_timestamp = ll(res, row, 6);
    if (!load_status_parse(PQgetvalue(res, row, 7), &l->status))
        l->status = LOAD_READY;
    l->record_count = ll(res, row, 8);
    l->error = text_or_null(res, row, 9);
    l->raw_hist_key = text_or_null(res, row, 10);
    l->errored_key = text_or_null(res, row, 11);
    l->created_at = ll(res, row, 12);
    l->updated_at = ll(res, row, 13);
}

enum lk_status load_get(PGconn *db, long long id, struct load *out, struct lk_error *err)
{
    char ids[32];
    const char *params[] = { num(ids, sizeof ids, id) };
    PGresult *res = NULL;
    enum lk_status rc = db_exec(db,
                                "SELECT " LOAD_COLUMNS " FROM lakeop.loads l"
                                " JOIN lakeop.datasets d ON d.id = l.dataset_id WHERE l.id = $1",
                                1, params, &res, err);
    if (rc != LK_OK)
        return rc;
    if (PQntuples(res) == 0) {
        PQclear(res);
        return err_set(err, LK_NOTFOUND, "there is no load %lld", id);
    }
    row_to_load(res, 0, out);
    PQclear(res);
    return LK_OK;
}

enum lk_status load_list(PGconn *db, const struct load_filter *f, struct load **out, size_t *n,
                         struct lk_error *err)
{
    *out = NULL;
    *n = 0;
    char before[32], after[32], limit[32], dsid[32];
    const char *status = f->status >= 0 ? load_status_name((enum load_status)f->status) : NULL;
    const char *params[] = {
        f->dataset, status,
        f->before_id > 0 ? num(before, sizeof before, f->before_id) : NULL,
        f->after_id > 0 ? num(after, sizeof after, f->after_id) : NULL,
        num(limit, sizeof limit, f->limit > 0 ? f->limit : 50),
        f->unfinished_only ? "t" : "f",
        f->dataset_id > 0 ? num(dsid, sizeof dsid, f->dataset_id) : NULL,
        f->text && *f->text ? f->text : NULL,
    };
    /* The filters are written so that each absent one is true, and the
     * ORDER BY matches an index: (status, id), (dataset_id, id) or the key. */
    char sql[1800];
    snprintf(sql, sizeof sql,
             "SELECT " LOAD_COLUMNS " FROM lakeop.loads l JOIN lakeop.datasets d ON d.id = l.dataset_id"
             " WHERE ($1::text IS NULL OR d.name = $1)"
             " AND ($2::text IS NULL OR l.status = $2)"
             " AND ($3::bigint IS NULL OR l.id < $3::bigint)"
             " AND ($4::bigint IS NULL OR l.id > $4::bigint)"
             " AND (NOT $6::boolean OR l.status NOT IN ('archived', 'errored'))"
             " AND ($7::bigint IS NULL OR l.dataset_id = $7::bigint)"
             /* LIKE's own characters in the text are taken literally. */
             " AND ($8::text IS NULL OR concat_ws(' ', l.id, d.name, l.key, l.status, l.error) ILIKE"
             "      '%%' || replace(replace(replace($8, '\\', '\\\\'), '%%', '\\%%'), '_', '\\_') || '%%')"
             " ORDER BY l.id %s LIMIT $5::int",
             f->ascending ? "ASC" : "DESC");
    PGresult *res = NULL;
    enum lk_status rc = db_exec(db, sql, 8, params, &res, err);
    if (rc != LK_OK)
        return rc;
    int rows = PQntuples(res);
    if (rows > 0) {
        *out = xcalloc((size_t)rows, sizeof **out);
        for (int i = 0; i < rows; i++)
            row_to_load(res, i, &(*out)[i]);
    }
    *n = (size_t)rows;
    PQclear(res);
    return LK_OK;
}

enum lk_status load_events(PGconn *db, long long load_id, struct load_event **out, size_t *n,
                           struct lk_error *err)
{
    *out = NULL;
    *n = 0;
    char ids[32];
    const char *params[] = { num(ids, sizeof ids, load_id) };
    PGresult *res = NULL;
    enum lk_status rc = db_exec(db,
                                "SELECT extract(epoch FROM at)::bigint, from_status, to_status, operator,"
                                " message FROM lakeop.load_events WHERE load_id = $1 ORDER BY id",
                                1, params, &res, err);
    if (rc != LK_OK)
        return rc;
    int rows = PQntuples(res);
    if (rows > 0) {
        *out = xcalloc((size_t)rows, sizeof **out);
        for (int i = 0; i < rows; i++) {
            struct load_event *e = &(*out)[i];
            e->at = ll(res, i, 0);
            e->from_status = text_or_null(res, i, 1);
            e->to_status = xstrdup(PQgetvalue(res, i, 2));
            e->operator_name = text_or_null(res, i, 3);
            e->message = text_or_null(res, i, 4);
        }
    }
    *n = (size_t)rows;
    PQclear(res);
    return LK_OK;
}

void load_events_free(struct load_event *ev, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(ev[i].from_status);
        free(ev[i].to_status);
        free(ev[i].operator_name);
        free(ev[i].message);
    }
    free(ev);
}
