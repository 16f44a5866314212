#include "ingest.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "buf.h"
#include "csvcheck.h"
#include "dataset.h"
#include "db.h"
#include "mem.h"
#include "store.h"

#define ERRORED_DIR "errored/"
/* pg_try_advisory_lock(INGEST_LOCK_CLASS, dataset id): one ingest per dataset. */
#define INGEST_LOCK_CLASS 0x6c6b
#define PAGE 200

struct run {
    struct lk_ctx *ctx;
    struct store *store;
    ingest_event_fn fn;
    void *ud;
    struct ingest_totals *tot;
    enum lk_status worst;
};

static void worse(struct run *r, enum lk_status st)
{
    /* Configuration errors (2) outrank failures (1) in the exit code: they need a person. */
    if (st == LK_OK)
        return;
    if (r->worst == LK_OK || st == LK_USAGE)
        r->worst = st;
}

static void emit(struct run *r, const char *dataset, const struct load *l, const char *what,
                 long long records, const char *url, const char *message)
{
    if (!r->fn)
        return;
    struct ingest_event ev = {
        .dataset = dataset,
        .load_id = l ? l->id : 0,
        .key = l ? l->key : NULL,
        .what = what,
        .status = l ? l->status : LOAD_READY,
        .records = records,
        .url = url,
        .message = message,
    };
    r->fn(&ev, r->ud);
}

static const char *op(const struct lk_ctx *ctx)
{
    return ctx->operator_name ? ctx->operator_name : "lakeop";
}

char *ingest_errored_url(const char *incoming_prefix, const char *key, struct lk_error *err)
{
    struct store_url u;
    if (store_url_parse(incoming_prefix, &u, err) != LK_OK)
        return NULL;
    free(u.key);
    u.key = xasprintf(ERRORED_DIR "%s", key);
    char *url = store_url_format(&u);
    store_url_free(&u);
    return url;
}

/* The object's path under the incoming prefix: it keeps its name (and any
 * sub-folders) in raw-hist. */
static const char *relative_key(const char *prefix_key, const char *key)
{
    size_t n = strlen(prefix_key);
    if (n > 0 && strncmp(key, prefix_key, n) == 0 && key[n])
        return key + n;
    const char *base = strrchr(key, '/');
    return base ? base + 1 : key;
}

static char *raw_hist_url(const struct dataset *d, const struct store_url *inc, const struct load *l,
                          struct lk_error *err)
{
    struct store_url u;
    if (store_url_parse(d->raw_hist, &u, err) != LK_OK)
        return NULL;
    size_t n = strlen(u.key);
    char *key = xasprintf("%s%sfile_land_timestamp=%lld/%s", u.key, n && u.key[n - 1] != '/' ? "/" : "",
                          l->file_land_timestamp, relative_key(inc->key, l->key));
    free(u.key);
    u.key = key;
    char *url = store_url_format(&u);
    store_url_free(&u);
    return url;
}

/* Copy, verify the size, delete the source: safe to repeat after a crash
 * at any point, and never overwrites a different object (one already at
 * the destination lets the source go only when it holds the same bytes). */
static enum lk_status move_object(struct store *s, const char *from_url, const char *to_url,
                                  long long size, struct lk_error *err)
{
    struct store_url from, to;
    enum lk_status rc = store_url_parse(from_url, &from, err);
    if (rc != LK_OK)
        return rc;
    rc = store_url_parse(to_url, &to, err);
    if (rc != LK_OK) {
        store_url_free(&from);
        return rc;
    }
    struct store_object_info info = { 0 };
    rc = store_head(s, &to, &info, err);
    if (rc != LK_OK)
        goto out;
    if (info.exists) {
        if (info.size != size) {
            rc = err_set(err, LK_FAIL, "refusing to overwrite %s: it exists with %lld bytes, the file "
                         "to move has %lld", to_url, info.size, size);
            goto out;
        }
        /* The same size is not the same file: only a copy an earlier run
         * made lets the source go.  No source: that run deleted it too. */
        store_object_info_free(&info);
        rc = store_head(s, &from, &info, err);
        if (rc != LK_OK)
            goto out;
        if (!info.exists)
            goto delete;
        bool same = false;
        rc = store_same_content(s, &from, &to, &same, err);
        if (rc != LK_OK) {
            err_prefix(err, "comparing %s with %s, which is already there", from_url, to_url);
            goto out;
        }
        if (!same) {
            rc = err_set(err, LK_FAIL, "refusing to overwrite %s: a different object of the same size "
                         "(%lld bytes) is there; %s was kept", to_url, size, from_url);
            goto out;
        }
    } else {
        store_object_info_free(&info);
        rc = store_head(s, &from, &info, err);
        if (rc != LK_OK)
            goto out;
        if (!info.exists) {
            rc = err_set(err, LK_FAIL, "the file is neither at %s nor at %s", from_url, to_url);
            goto out;
        }
        if (info.size != size) {
            rc = err_set(err, LK_FAIL, "%s has %lld bytes now, %lld when it was registered: it "
                         "changed; not moved", from_url, info.size, size);
            goto out;
        }
        rc = store_copy(s, &from, &to, err);
        if (rc != LK_OK) {
            err_prefix(err, "copying %s to %s", from_url, to_url);
            goto out;
        }
        store_object_info_free(&info);
        rc = store_head(s, &to, &info, err);
        if (rc != LK_OK)
            goto out;
        if (!info.exists || info.size != size) {
            rc = err_set(err, LK_FAIL, "the copy at %s has %lld bytes, expected %lld: the source was "
                         "kept", to_url, info.exists ? info.size : 0, size);
            goto out;
        }
    }
delete:
    rc = store_delete(s, &from, err);
    if (rc != LK_OK)
        err_prefix(err, "deleting %s after copying it", from_url);
out:
    store_object_info_free(&info);
    store_url_free(&from);
    store_url_free(&to);
    return rc;
}

struct validation {
    struct csvcheck *chk;
    struct lk_error verr;
    bool invalid;
    const struct lk_ctx *ctx;
    struct lk_progress progress;
};

static size_t validate_sink(const char *data, size_t len, void *ud)
{
    struct validation *v = ud;
    if (v->ctx->cancel && *v->ctx->cancel)
        return 0;
    if (csvcheck_feed(v->chk, data, len, &v->verr) != LK_OK) {
        v->invalid = true;
        return 0;   /* the verdict is in: stop the transfer */
    }
    v->progress.bytes_done += (long long)len;
    if (v->ctx->progress)
        v->ctx->progress(&v->progress, v->ctx->progress_ud);
    return len;
}

enum verdict { VALID, INVALID, UNKNOWN };

/* UNKNOWN: the file could not be read to the end (err says why). */
static enum verdict validate(struct run *r, const struct dataset *d, const char *src_url,
                             const struct load *l, long long *records, char *why, size_t why_size,
                             struct lk_error *err)
{
    const char **names = NULL;
    if (d->n_columns) {
        names = xcalloc(d->n_columns, sizeof *names);
        for (size_t i = 0; i < d->n_columns; i++)
            names[i] = d->columns[i].name;
    }
    struct csvcheck_opts opts = { l->key, d->dialect, names, d->n_columns, d->min_records };
    struct validation v = { 0 };
    v.ctx = r->ctx;
    v.progress.what = l->key;
    v.progress.bytes_total = l->size;
    v.progress.records_total = -1;
    enum verdict out = UNKNOWN;
    if (csvcheck_open(&opts, &v.chk, &v.verr) != LK_OK) {
        snprintf(why, why_size, "%s", v.verr.message);
        free(names);
        return INVALID;
    }
    struct store_url src;
    if (store_url_parse(src_url, &src, err) == LK_OK) {
        enum lk_status rc = store_get(r->store, &src, 0, -1, validate_sink, &v, err);
        if (v.invalid) {
            snprintf(why, why_size, "%s", v.verr.message);
            out = INVALID;
        } else if (rc != LK_OK) {
            if (r->ctx->cancel && *r->ctx->cancel)
                err_set(err, LK_FAIL, "cancelled while validating %s", src_url);
            out = UNKNOWN;
        } else {
            struct csvcheck_result res;
            if (csvcheck_finish(v.chk, &res, &v.verr) != LK_OK) {
                snprintf(why, why_size, "%s", v.verr.message);
                out = INVALID;
            } else {
                *records = res.records;
                out = VALID;
            }
        }
        store_url_free(&src);
    }
    csvcheck_free(v.chk);
    free(names);
    return out;
}

static enum lk_status step(struct run *r, struct load *l, enum load_status to,
                           const struct load_change *ch, struct lk_error *err)
{
    enum lk_status rc = load_transition(r->ctx->db, op(r->ctx), l->id, l->status, to, ch, err);
    if (rc == LK_OK)
        l->status = to;
    return rc;
}

static void set_text(char **field, const char *value)
{
    free(*field);
    *field = xstrdup(value);
}

/* Carries one load on from its status to archived or errored. */
static void process_load(struct run *r, const struct dataset *d, const struct store_url *inc,
                         struct load *l)
{
    struct lk_error err;
    err_clear(&err);
    struct store_url su = { inc->bucket, l->key, inc->is_file };
    char *src = store_url_format(&su);
    long long records = l->record_count;
    enum lk_status rc = LK_OK;
    while (rc == LK_OK && !load_status_final(l->status)) {
        struct load_change ch = LOAD_CHANGE_NONE;
        switch (l->status) {
        case LOAD_READY: {
            /* A retried file may have been replaced by a corrected one: the
             * size checked when it is moved is the size validated now. */
            struct store_object_info info = { 0 };
            if (store_head(r->store, &su, &info, &err) == LK_OK && info.exists && info.size != l->size) {
                ch.size = info.size;
                l->size = info.size;
            }
            store_object_info_free(&info);
            err_clear(&err);
            ch.message = "validating";
            rc = step(r, l, LOAD_INGESTING, &ch, &err);
            break;
        }
        case LOAD_INGESTING: {
            char why[1024] = "";
            enum verdict v = validate(r, d, src, l, &records, why, sizeof why, &err);
            if (v == UNKNOWN) {
                err_prefix(&err, "could not read %s to validate it (left ingesting for the next run)", src);
                rc = err.status ? err.status : LK_FAIL;
                break;
            }
            if (v == VALID) {
                char *dest = raw_hist_url(d, inc, l, &err);
                if (!dest) {
                    rc = err.status;
                    break;
                }
                ch.record_count = records;
                ch.raw_hist_key = dest;
                ch.message = "valid";
                rc = step(r, l, LOAD_READY_FOR_ARCHIVING, &ch, &err);
                if (rc == LK_OK)
                    set_text(&l->raw_hist_key, dest);
                free(dest);
            } else {
                char *dest = ingest_errored_url(d->incoming, l->key, &err);
                if (!dest) {
                    rc = err.status;
                    break;
                }
                ch.error = why;
                ch.errored_key = dest;
                ch.message = why;
                rc = step(r, l, LOAD_READY_FOR_ERRORING, &ch, &err);
                if (rc == LK_OK) {
                    set_text(&l->errored_key, dest);
                    set_text(&l->error, why);
                }
                free(dest);
            }
            break;
        }
        case LOAD_READY_FOR_ARCHIVING:
            rc = step(r, l, LOAD_ARCHIVING, &ch, &err);
            break;
        case LOAD_ARCHIVING:
            if (!l->raw_hist_key) {
                l->raw_hist_key = raw_hist_url(d, inc, l, &err);
                if (!l->raw_hist_key) {
                    rc = err.status;
                    break;
                }
            }
            rc = move_object(r->store, src, l->raw_hist_key, l->size, &err);
            if (rc == LK_OK) {
                ch.raw_hist_key = l->raw_hist_key;
                ch.message = "moved to raw-hist";
                rc = step(r, l, LOAD_ARCHIVED, &ch, &err);
            }
            break;
        case LOAD_READY_FOR_ERRORING:
            if (!l->errored_key) {
                l->errored_key = ingest_errored_url(d->incoming, l->key, &err);
                if (!l->errored_key) {
                    rc = err.status;
                    break;
                }
            }
            ch.errored_key = l->errored_key;
            rc = step(r, l, LOAD_ERRORING, &ch, &err);
            break;
        case LOAD_ERRORING:
            if (!l->errored_key) {
                l->errored_key = ingest_errored_url(d->incoming, l->key, &err);
                if (!l->errored_key) {
                    rc = err.status;
                    break;
                }
            }
            rc = move_object(r->store, src, l->errored_key, l->size, &err);
            if (rc == LK_OK) {
                ch.errored_key = l->errored_key;
                ch.message = "moved to the errored area";
                rc = step(r, l, LOAD_ERRORED, &ch, &err);
            }
            break;
        case LOAD_ARCHIVED:
        case LOAD_ERRORED:
            break;
        }
    }
    if (rc == LK_OK && l->status == LOAD_ARCHIVED) {
        r->tot->archived++;
        emit(r, d->name, l, "archived", records, l->raw_hist_key, NULL);
    } else if (rc == LK_OK) {
        r->tot->errored++;
        emit(r, d->name, l, "errored", -1, l->errored_key, l->error);
    } else if (rc == LK_REFUSED) {
        r->tot->skipped++;
        emit(r, d->name, l, "skipped", -1, NULL, err.message);
    } else {
        r->tot->failed++;
        worse(r, LK_FAIL);
        char text[2600];
        emit(r, d->name, l, "failed", -1, NULL, err_text(&err, text, sizeof text));
    }
    free(src);
}

struct lister {
    struct run *r;
    const struct dataset *d;
    const struct store_url *inc;
    struct lk_error err;
    bool failed;
};

static bool on_listed(const struct store_list_entry *e, void *ud)
{
    struct lister *ls = ud;
    struct run *r = ls->r;
    if (r->ctx->cancel && *r->ctx->cancel)
        return false;
    size_t klen = strlen(e->key);
    if (klen == 0 || e->key[klen - 1] == '/' || strncmp(e->key, ERRORED_DIR, strlen(ERRORED_DIR)) == 0)
        return true;   /* folder markers and the errored area are not loads */
    long long id = 0;
    bool created = false;
    enum load_status st;
    if (load_register(r->ctx->db, op(r->ctx), ls->d->id, e->key, e->size, e->mtime, ls->d->is_ods, &id,
                      &created, &st, &ls->err) != LK_OK) {
        ls->failed = true;
        return false;
    }
    struct load l = { .id = id, .key = (char *)e->key, .status = st, .size = e->size };
    if (created) {
        r->tot->registered++;
        emit(r, ls->d->name, &l, "registered", -1, NULL, st == LOAD_READY_FOR_ERRORING ? "empty file" : NULL);
    } else if (load_status_final(st)) {
        char msg[400];
        snprintf(msg, sizeof msg, "this object (same key and modified time) was already loaded as load "
                 "%lld (%s); it is left where it is%s", id, load_status_name(st),
                 st == LOAD_ERRORED ? " (lakeop retry puts the load back to ready)" : "");
        r->tot->skipped++;
        emit(r, ls->d->name, &l, "skipped", -1, NULL, msg);
    }
    return true;
}

static enum lk_status lock_dataset(PGconn *db, long long id, bool lock, bool *got, struct lk_error *err)
{
    char cls[16], ids[32];
    snprintf(cls, sizeof cls, "%d", INGEST_LOCK_CLASS);
    snprintf(ids, sizeof ids, "%lld", id);
    const char *params[] = { cls, ids };
    PGresult *res = NULL;
    enum lk_status rc = db_exec(db, lock ? "SELECT pg_try_advisory_lock($1::int, $2::int)"
                                         : "SELECT pg_advisory_unlock($1::int, $2::int)",
                                2, params, &res, err);
    if (rc != LK_OK)
        return rc;
    if (got)
        *got = PQntuples(res) == 1 && strcmp(PQgetvalue(res, 0, 0), "t") == 0;
    PQclear(res);
    return LK_OK;
}

enum lk_status ingest_busy(PGconn *db, const char *dataset, bool *busy, struct lk_error *err)
{
    char cls[16];
    snprintf(cls, sizeof cls, "%d", INGEST_LOCK_CLASS);
    const char *params[] = { cls, dataset };
    PGresult *res = NULL;
    /* A two-key advisory lock is (classid, objid) with objsubid 2. */
    enum lk_status rc = db_exec(db, "SELECT EXISTS (SELECT 1 FROM pg_locks l JOIN lakeop.datasets d"
                                    "  ON l.objid = d.id::oid WHERE l.locktype = 'advisory' AND l.objsubid = 2"
                                    "   AND l.classid = $1::int::oid AND l.granted AND d.name = $2"
                                    "   AND l.pid <> pg_backend_pid())",
                                2, params, &res, err);
    if (rc != LK_OK)
        return rc;
    *busy = PQntuples(res) == 1 && strcmp(PQgetvalue(res, 0, 0), "t") == 0;
    PQclear(res);
    return LK_OK;
}

static void ingest_dataset(struct run *r, const struct cfg_dataset *cd)
{
    struct lk_ctx *ctx = r->ctx;
    struct lk_error err;
    err_clear(&err);
    struct dataset d;
    char text[2600];
    r->tot->datasets++;
    enum lk_status rc = dataset_from_cfg(ctx->cfg, cd, &d, &err);
    if (rc != LK_OK) {
        worse(r, rc);
        r->tot->skipped++;
        emit(r, cd->name, NULL, "skipped", -1, NULL, err_text(&err, text, sizeof text));
        return;
    }
    struct store_url inc;
    bool locked = false;
    if ((rc = dataset_sync(ctx->db, &d, &err)) != LK_OK ||
        (rc = store_url_parse(d.incoming, &inc, &err)) != LK_OK) {
        worse(r, rc);
        r->tot->skipped++;
        emit(r, d.name, NULL, "skipped", -1, NULL, err_text(&err, text, sizeof text));
        dataset_free(&d);
        return;
    }
    if ((rc = lock_dataset(ctx->db, d.id, true, &locked, &err)) != LK_OK || !locked) {
        worse(r, LK_FAIL);
        r->tot->skipped++;
        emit(r, d.name, NULL, "skipped", -1, NULL,
             rc != LK_OK ? err_text(&err, text, sizeof text)
                         : "another ingest is running for this dataset; try again when it has finished");
        store_url_free(&inc);
        dataset_free(&d);
        return;
    }

    struct lister ls = { .r = r, .d = &d, .inc = &inc };
    err_clear(&ls.err);
    rc = store_list(r->store, &inc, on_listed, &ls, &ls.err);
    if (ls.failed || rc != LK_OK) {
        /* Loads registered before the failure are still processed below. */
        worse(r, LK_FAIL);
        r->tot->failed++;
        err_prefix(&ls.err, "listing %s", d.incoming);
        emit(r, d.name, NULL, "failed", -1, NULL, err_text(&ls.err, text, sizeof text));
    }

    /* Every unfinished load, oldest first, keyset-paged by id. */
    long long after = 0;
    for (;;) {
        if (ctx->cancel && *ctx->cancel)
            break;
        struct load_filter f = { .status = -1, .after_id = after, .ascending = true,
                                 .unfinished_only = true, .dataset_id = d.id, .limit = PAGE };
        struct load *loads = NULL;
        size_t n = 0;
        if ((rc = load_list(ctx->db, &f, &loads, &n, &err)) != LK_OK) {
            worse(r, rc);
            r->tot->failed++;
            emit(r, d.name, NULL, "failed", -1, NULL, err_text(&err, text, sizeof text));
            break;
        }
        for (size_t i = 0; i < n && !(ctx->cancel && *ctx->cancel); i++)
            process_load(r, &d, &inc, &loads[i]);
        if (n > 0)
            after = loads[n - 1].id;
        load_array_free(loads, n);
        if (n < PAGE)
            break;
    }
    lock_dataset(ctx->db, d.id, false, NULL, &err);
    store_url_free(&inc);
    dataset_free(&d);
}

static void audit_run(struct lk_ctx *ctx, const char *action, const char *target, const char *params,
                      enum audit_result result, const char *message)
{
    struct audit_entry e = {
        .operator_name = op(ctx),
        .env = ctx->env && ctx->env->name ? ctx->env->name : "",
        .action = action,
        .target = target,
        .params_json = params,
        .result = result,
        .message = message,
    };
    struct lk_error ignored;
    /* The change itself is done; a failed audit write must not undo it. */
    audit_append(ctx->db, &e, &ignored);
}

enum lk_status ingest_run(struct lk_ctx *ctx, const char *dataset, ingest_event_fn fn, void *ud,
                          struct ingest_totals *totals, struct lk_error *err)
{
    struct ingest_totals local;
    if (!totals)
        totals = &local;
    memset(totals, 0, sizeof *totals);
    const struct cfg_dataset *only = NULL;
    if (dataset) {
        only = cfg_dataset_find(ctx->env, dataset);
        if (!only)
            return err_set(err, LK_NOTFOUND, "no dataset '%s' in the configuration", dataset);
    }
    if (ctx->read_only) {
        audit_run(ctx, "ingest", dataset ? dataset : "all", NULL, AUDIT_REFUSED, "read-only");
        return err_set(err, LK_REFUSED, "read-only: ingest changes loads and moves files");
    }
    struct run r = { .ctx = ctx, .fn = fn, .ud = ud, .tot = totals, .worst = LK_OK };
    enum lk_status rc = store_open(ctx->env, ctx->http, &r.store, err);
    if (rc != LK_OK)
        return rc;
    for (size_t i = 0; i < ctx->env->n_datasets; i++)
        if (!only || &ctx->env->datasets[i] == only)
            ingest_dataset(&r, &ctx->env->datasets[i]);
    store_free(r.store);

    char params[300];
    snprintf(params, sizeof params,
             "{\"datasets\": %lld, \"registered\": %lld, \"archived\": %lld, \"errored\": %lld,"
             " \"failed\": %lld, \"skipped\": %lld}",
             totals->datasets, totals->registered, totals->archived, totals->errored, totals->failed,
             totals->skipped);
    char summary[300];
    snprintf(summary, sizeof summary, "%lld registered, %lld archived, %lld errored, %lld failed, %lld skipped",
             totals->registered, totals->archived, totals->errored, totals->failed, totals->skipped);
    bool cancelled = ctx->cancel && *ctx->cancel;
    audit_run(ctx, "ingest", dataset ? dataset : "all", params,
              r.worst == LK_OK && !cancelled ? AUDIT_OK : AUDIT_FAILED, summary);
    if (cancelled)
        return err_set(err, LK_FAIL, "cancelled: %s (unfinished loads are finished by the next run)", summary);
    if (r.worst != LK_OK)
        return err_set(err, r.worst, "%s", r.worst == LK_USAGE
                       ? "a dataset's configuration or schema file is wrong; its files were left untouched"
                       : "some loads could not be finished; the next run carries them on");
    return LK_OK;
}

enum lk_status ingest_retry(struct lk_ctx *ctx, long long load_id, struct lk_error *err)
{
    char target[32];
    snprintf(target, sizeof target, "%lld", load_id);
    if (ctx->read_only) {
        audit_run(ctx, "load.retry", target, NULL, AUDIT_REFUSED, "read-only");
        return err_set(err, LK_REFUSED, "read-only: retry changes a load and moves its file");
    }
    struct load l;
    enum lk_status rc = load_get(ctx->db, load_id, &l, err);
    if (rc != LK_OK)
        return rc;
    if (l.status != LOAD_ERRORED) {
        rc = err_set(err, LK_REFUSED, "load %lld is %s: only errored loads are retried", load_id,
                     load_status_name(l.status));
        load_free(&l);
        return rc;
    }
    /* The file landed again under its key and is being loaded: moving
     * this one back would take the other's place. */
    long long other = 0;
    if ((rc = load_unfinished_of_key(ctx->db, l.dataset_id, l.key, &other, err)) != LK_OK) {
        load_free(&l);
        return rc;
    }
    if (other) {
        rc = err_set(err, LK_REFUSED, "load %lld: its key %s landed again and is being loaded as load %lld; "
                     "retry it when that load has finished", load_id, l.key, other);
        audit_run(ctx, "load.retry", target, NULL, AUDIT_REFUSED, err->message);
        load_free(&l);
        return rc;
    }
    const struct cfg_dataset *cd = cfg_dataset_find(ctx->env, l.dataset);
    if (!cd || !cd->incoming) {
        rc = err_set(err, LK_USAGE, "load %lld belongs to dataset %s, which is not in the configuration: "
                     "lakeop does not know where its incoming prefix is", load_id, l.dataset);
        load_free(&l);
        return rc;
    }
    struct store *store = NULL;
    struct store_url inc;
    if ((rc = store_url_parse(cd->incoming, &inc, err)) != LK_OK) {
        load_free(&l);
        return rc;
    }
    struct store_url su = { inc.bucket, l.key, inc.is_file };
    char *home = store_url_format(&su);
    char *errored = l.errored_key ? xstrdup(l.errored_key) : ingest_errored_url(cd->incoming, l.key, err);
    if (!errored)
        rc = err->status;
    if (rc == LK_OK)
        rc = store_open(ctx->env, ctx->http, &store, err);
    if (rc == LK_OK)
        rc = move_object(store, errored, home, l.size, err);
    if (rc == LK_OK) {
        struct load_change ch = LOAD_CHANGE_NONE;
        ch.error = "";
        ch.errored_key = "";
        ch.record_count = -1;
        ch.message = "retry: file moved back to incoming";
        rc = load_transition(ctx->db, op(ctx), load_id, LOAD_ERRORED, LOAD_READY, &ch, err);
    }
    char msg[1200];
    if (rc == LK_OK)
        snprintf(msg, sizeof msg, "%s moved back to %s; load ready", errored ? errored : "?", home);
    else
        snprintf(msg, sizeof msg, "%s", err->message);
    audit_run(ctx, "load.retry", target, NULL, rc == LK_OK ? AUDIT_OK : AUDIT_FAILED, msg);
    store_free(store);
    free(errored);
    free(home);
    store_url_free(&inc);
    load_free(&l);
    return rc;
}
