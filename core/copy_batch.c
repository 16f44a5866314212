/* The copy as an operation: "already copied" detection, the pipeline, and
 * the record of it on the batch, the object's increment and the audit. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "audit.h"
#include "buf.h"
#include "copy.h"
#include "db.h"
#include "jobstore.h"
#include "json.h"
#include "mem.h"

/* What lakeop.copies says about an earlier copy of this file to this
 * target (migration 005). */
struct copy_record {
    bool found;
    char *metadata_key;
    char *etag;
    long long bytes;
};

static void record_free(struct copy_record *r)
{
    xfree(&r->metadata_key);
    xfree(&r->etag);
}

static enum lk_status record_load(PGconn *db, const struct copy_spec *spec, struct copy_record *out,
                                  struct lk_error *err)
{
    memset(out, 0, sizeof *out);
    char *ids = copy_file_ids(spec);
    const char *params[] = { ids, spec->target };
    PGresult *res = NULL;
    enum lk_status st = db_exec(db,
                                "SELECT metadata_key, copied_etag, copied_bytes FROM lakeop.copies "
                                "WHERE file_ids = $1 AND target = $2",
                                2, params, &res, err);
    free(ids);
    if (st != LK_OK)
        return st;
    if (PQntuples(res) == 1) {
        out->found = true;
        out->metadata_key = xstrdup(PQgetvalue(res, 0, 0));
        out->etag = xstrdup(PQgetvalue(res, 0, 1));
        out->bytes = atoll(PQgetvalue(res, 0, 2));
    }
    PQclear(res);
    return LK_OK;
}

enum copy_state { COPY_NEEDED, COPY_ALREADY, COPY_METADATA_MISSING };

/* Already there: this file was recorded as copied to this target, and the
 * object there still has the recorded size and ETag. */
static enum lk_status copy_state_of(struct store *st, const struct copy_spec *spec,
                                    const struct copy_record *rec, const char *meta_url,
                                    enum copy_state *out, struct lk_error *err)
{
    *out = COPY_NEEDED;
    if (!rec->found)
        return LK_OK;
    struct store_object_info info;
    enum lk_status rc = store_head_url(st, spec->target, &info, err);
    if (rc != LK_OK)
        return rc;
    bool same = info.exists && info.size == rec->bytes && info.etag && strcmp(info.etag, rec->etag) == 0;
    store_object_info_free(&info);
    if (!same)
        return LK_OK;
    struct store_object_info minfo;
    rc = store_head_url(st, meta_url, &minfo, err);
    if (rc != LK_OK)
        return rc;
    *out = minfo.exists && strcmp(rec->metadata_key, meta_url) == 0 ? COPY_ALREADY
                                                                    : COPY_METADATA_MISSING;
    store_object_info_free(&minfo);
    return LK_OK;
}

/* The batch's own record and its object's increment say "copied to its
 * raw target": a copy by hand to anywhere else must not move them (the
 * next scheduled copy would take the raw target as not copied, and the
 * lake would take the increment as landed where it never did). */
static bool is_raw_target(const struct lk_ctx *ctx, const struct copy_spec *spec)
{
    if (!ctx->env || !spec->batch_id || !spec->batch_id[0])
        return false;
    const struct cfg_object *obj = cfg_object_find(ctx->env, spec->name);
    return obj && obj->raw && strcmp(obj->raw, spec->target) == 0;
}

static enum lk_status record_save(PGconn *db, const struct copy_spec *spec,
                                  const struct copy_result *res, bool csv_written, bool raw,
                                  struct lk_error *err)
{
    char bytes[32], records[32];
    snprintf(bytes, sizeof bytes, "%lld", res->bytes);
    snprintf(records, sizeof records, "%lld", res->records);
    char *ids = copy_file_ids(spec);
    const char *batch = spec->batch_id && spec->batch_id[0] ? spec->batch_id : NULL;
    const char *params[] = { ids, spec->target, res->metadata_url, spec->job_id ? spec->job_id : "",
                             batch, spec->name, bytes, records, res->etag };
    /* A metadata-only repair keeps what the earlier copy recorded. */
    enum lk_status rc = csv_written
        ? db_exec(db,
                  "INSERT INTO lakeop.copies (file_ids, target, metadata_key, job_id, batch_id, name, "
                  "copied_bytes, copied_records, copied_etag) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) "
                  "ON CONFLICT (file_ids, target) DO UPDATE SET metadata_key = EXCLUDED.metadata_key, "
                  "job_id = EXCLUDED.job_id, batch_id = EXCLUDED.batch_id, name = EXCLUDED.name, "
                  "copied_at = now(), copied_bytes = EXCLUDED.copied_bytes, "
                  "copied_records = EXCLUDED.copied_records, copied_etag = EXCLUDED.copied_etag",
                  9, params, NULL, err)
        : db_exec(db, "UPDATE lakeop.copies SET metadata_key = $3 WHERE file_ids = $1 AND target = $2",
                  3, params, NULL, err);
    free(ids);
    if (rc != LK_OK || !raw)
        return rc;
    const char *bparams[] = { spec->batch_id, spec->target, res->metadata_url, bytes, records,
                              res->etag };
    const char *sql = csv_written
        ? "UPDATE lakeop.zuora_batches SET copied_to = $2, metadata_key = $3, copied_at = now(), "
          "copied_bytes = $4, copied_records = $5, copied_etag = $6, updated_at = now() "
          "WHERE batch_id = $1"
        : "UPDATE lakeop.zuora_batches SET metadata_key = $3, updated_at = now() "
          "WHERE batch_id = $1 AND copied_to = $2";
    return db_exec(db, sql, csv_written ? 6 : 3, bparams, NULL, err);
}

static char *audit_params(const struct copy_spec *spec, const struct copy_result *res, bool force)
{
    struct buf b = BUF_INIT;
    buf_puts(&b, "{\"jobId\":");
    jx_buf_string(&b, spec->job_id ? spec->job_id : "");
    buf_puts(&b, ",\"batchId\":");
    jx_buf_string(&b, spec->batch_id ? spec->batch_id : "");
    buf_puts(&b, ",\"name\":");
    jx_buf_string(&b, spec->name);
    buf_puts(&b, ",\"fileIds\":[");
    size_t n = spec->file_id ? 1 : spec->n_segments;
    for (size_t i = 0; i < n; i++) {
        if (i)
            buf_putc(&b, ',');
        jx_buf_string(&b, spec->file_id ? spec->file_id : spec->segments[i]);
    }
    buf_puts(&b, "],\"to\":");
    jx_buf_string(&b, spec->target);
    buf_printf(&b, ",\"recordCount\":%lld,\"bytes\":%lld,\"records\":%lld,\"force\":%s",
               spec->record_count, res->bytes, res->records, force ? "true" : "false");
    if (res->etag) {
        buf_puts(&b, ",\"etag\":");
        jx_buf_string(&b, res->etag);
    }
    buf_putc(&b, '}');
    return buf_detach(&b);
}

static void audit(struct lk_ctx *ctx, const struct copy_spec *spec, const struct copy_result *res,
                  bool force, enum audit_result result, const char *message)
{
    if (!ctx->db)
        return;
    char *params = audit_params(spec, res, force);
    const char *target = spec->file_id ? spec->file_id : spec->segments[0];
    struct audit_entry e = {
        .operator_name = ctx->operator_name ? ctx->operator_name : "unknown",
        .env = ctx->env && ctx->env->name ? ctx->env->name : "",
        .action = "copy",
        .target = target,
        .params_json = params,
        .result = result,
        .message = message,
    };
    struct lk_error aerr;
    err_clear(&aerr);
    if (audit_append(ctx->db, &e, &aerr) != LK_OK && ctx->log) {
        char text[1500];
        char *msg = xasprintf("could not append to the audit: %s", err_text(&aerr, text, sizeof text));
        ctx->log(1, msg, ctx->log_ud);
        free(msg);
    }
    free(params);
}

/* Records a finished copy; the objects are already in place, so a failure
 * here says so and how to repair it. */
static enum lk_status record_done(struct lk_ctx *ctx, const struct copy_spec *spec,
                                  const struct copy_result *res, bool csv_written,
                                  struct lk_error *err)
{
    if (!ctx->db)
        return LK_OK;
    bool raw = is_raw_target(ctx, spec);
    enum lk_status rc = record_save(ctx->db, spec, res, csv_written, raw, err);
    if (rc == LK_OK && csv_written && raw)
        rc = jobstore_mark_copied(ctx->db, ctx->env ? ctx->env->name : "", spec->name, spec->job_id,
                                  spec->batch_id, (long long)time(NULL), err);
    if (rc != LK_OK)
        err_prefix(err, "%s and its metadata were written, but recording the copy in the database "
                        "failed (run the copy again to record it)", spec->target);
    return rc;
}

enum lk_status copy_batch(struct lk_ctx *ctx, const struct copy_source *src, struct store *st,
                          const struct copy_spec *spec, bool force, struct copy_result *res,
                          struct lk_error *err)
{
    memset(res, 0, sizeof *res);
    if (ctx->read_only)
        return err_set(err, LK_REFUSED, "read-only: copying %s to %s refused", spec->name, spec->target);
    char *meta_url = copy_metadata_url(spec->target, spec->name);
    if (!meta_url)
        return err_set(err, LK_USAGE, "'%s' is not an object URL (s3://BUCKET/KEY or file:///DIR/KEY)",
                       spec->target);

    struct copy_record rec = { 0 };
    enum copy_state state = COPY_NEEDED;
    /* Here too, not only in the plan: on file:// the writer would create
     * the folder, so a typo in a bucket's name would "succeed". */
    enum lk_status rc = copy_check_bucket(st, spec->target, err);
    if (rc != LK_OK) {
        char text[2400];
        audit(ctx, spec, res, force, AUDIT_FAILED, err_text(err, text, sizeof text));
        goto out;
    }
    if (ctx->db && !force) {
        rc = record_load(ctx->db, spec, &rec, err);
        if (rc == LK_OK)
            rc = copy_state_of(st, spec, &rec, meta_url, &state, err);
        if (rc != LK_OK) {
            err_prefix(err, "checking whether %s was already copied", spec->target);
            goto out;
        }
    }

    if (state == COPY_ALREADY) {
        res->already_copied = true;
        res->bytes = rec.bytes;
        res->records = spec->record_count;
        res->etag = xstrdup(rec.etag);
        res->metadata_url = xstrdup(meta_url);
        goto out;
    }

    if (state == COPY_METADATA_MISSING) {
        /* The CSV of an earlier run is in place; only its metadata is missing. */
        res->metadata_only = true;
        res->bytes = rec.bytes;
        res->records = spec->record_count;
        res->etag = xstrdup(rec.etag);
        struct store_url mu = { 0 };
        struct store_object_info minfo = { 0 };
        char *json = copy_metadata_json(spec);
        rc = store_url_parse(meta_url, &mu, err);
        if (rc == LK_OK)
            rc = store_put(st, &mu, json, strlen(json), "application/json", &minfo, err);
        free(json);
        store_url_free(&mu);
        if (rc == LK_OK) {
            res->metadata_url = xstrdup(meta_url);
            res->metadata_etag = xstrdup(minfo.etag);
            store_object_info_free(&minfo);
            rc = record_done(ctx, spec, res, false, err);
        } else {
            err_prefix(err, "writing %s", meta_url);
        }
    } else {
        struct copy_stream_opts opts = {
            .progress = ctx->progress,
            .progress_ud = ctx->progress_ud,
            .cancel = ctx->cancel,
        };
        rc = copy_stream(src, st, spec, &opts, res, err);
        if (rc == LK_OK)
            rc = record_done(ctx, spec, res, true, err);
    }

    char text[2400];
    if (rc == LK_OK) {
        char *msg = res->metadata_only
            ? xasprintf("wrote the missing metadata %s for %s", meta_url, spec->target)
            : xasprintf("copied %lld records (%lld bytes) to %s and %s", res->records, res->bytes,
                        spec->target, meta_url);
        audit(ctx, spec, res, force, AUDIT_OK, msg);
        free(msg);
    } else {
        audit(ctx, spec, res, force, AUDIT_FAILED, err_text(err, text, sizeof text));
    }
out:
    record_free(&rec);
    free(meta_url);
    return rc;
}

enum lk_status copy_already_done(struct lk_ctx *ctx, struct store *st, const struct copy_spec *spec,
                                 bool *done, struct lk_error *err)
{
    *done = false;
    if (!ctx->db)
        return LK_OK;
    char *meta_url = copy_metadata_url(spec->target, spec->name);
    if (!meta_url)
        return err_set(err, LK_USAGE, "'%s' is not an object URL (s3://BUCKET/KEY or file:///DIR/KEY)",
                       spec->target);
    struct copy_record rec;
    enum copy_state state = COPY_NEEDED;
    enum lk_status rc = record_load(ctx->db, spec, &rec, err);
    if (rc == LK_OK)
        rc = copy_state_of(st, spec, &rec, meta_url, &state, err);
    *done = state == COPY_ALREADY;
    record_free(&rec);
    free(meta_url);
    return rc;
}

enum lk_status copy_check_bucket(struct store *st, const char *target, struct lk_error *err)
{
    struct store_url u = { 0 };
    enum lk_status rc = store_url_parse(target, &u, err);
    if (rc != LK_OK)
        return rc;
    struct lk_error perr;
    err_clear(&perr);
    if (store_ping(st, target, &perr) == LK_NOTFOUND)
        rc = err_set(err, LK_NOTFOUND, "%s %s does not exist: create it, or fix the target %s",
                     u.is_file ? "folder" : "bucket", u.bucket, target);
    store_url_free(&u);
    return rc;
}

enum lk_status copy_find_file(PGconn *db, const char *file_id, struct copy_known_file *out,
                              struct lk_error *err)
{
    memset(out, 0, sizeof *out);
    const char *params[] = { file_id };
    PGresult *res = NULL;
    enum lk_status rc = db_exec(db,
                                "SELECT job_id, batch_id, name, record_count, file_id IS NULL "
                                "FROM lakeop.zuora_batches "
                                "WHERE file_id = $1 OR segments @> jsonb_build_array($1::text) "
                                "ORDER BY (file_id = $1) DESC, id DESC LIMIT 1",
                                1, params, &res, err);
    if (rc != LK_OK)
        return rc;
    if (PQntuples(res) == 0) {
        PQclear(res);
        return err_set(err, LK_NOTFOUND, "no known batch has file %s", file_id);
    }
    out->job_id = xstrdup(PQgetvalue(res, 0, 0));
    out->batch_id = xstrdup(PQgetvalue(res, 0, 1));
    out->name = xstrdup(PQgetvalue(res, 0, 2));
    out->record_count = PQgetisnull(res, 0, 3) ? -1 : atoll(PQgetvalue(res, 0, 3));
    out->segment_of = strcmp(PQgetvalue(res, 0, 4), "t") == 0;
    PQclear(res);
    return LK_OK;
}

void copy_known_file_free(struct copy_known_file *f)
{
    xfree(&f->job_id);
    xfree(&f->batch_id);
    xfree(&f->name);
}
