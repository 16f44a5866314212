/* cohort-export: data/<cohort>.csv in the clean bucket, in the format of
 * ZUORA.md's "Cohort export", then data/<cohort>.manifest.json beside it.
 *
 * Rows come from a server-side cursor, FETCHed 10,000 at a time inside a
 * read-only repeatable-read transaction (one snapshot: the count in the
 * manifest is the rows in the file), and go through the store's streaming
 * writer, so memory stays flat whatever the cohort's size.  The CSV is
 * committed before the manifest: a manifest never announces a file that is
 * not there, and a failure before the CSV's commit leaves the previous
 * export untouched. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "buf.h"
#include "cohort.h"
#include "db.h"
#include "mem.h"
#include "store.h"

#define FETCH_ROWS "10000"
/* Bytes collected before a write to the store: few calls, little memory. */
#define WRITE_CHUNK (1 << 20)

const char COHORT_CSV_HEADER[] =
    "\"cohort_name\",\"subscription_name\",\"processing_stage\",\"start_date\",\"currency\","
    "\"old_price\",\"estimated_new_price\",\"billing_period\",\"when_estimation_done\","
    "\"salesforce_price_rise_id\",\"when_sf_show_estimate\",\"new_price\",\"new_subscription_id\","
    "\"when_amendment_done\",\"when_notification_sent\","
    "\"when_notification_sent_written_to_salesforce\",\"when_amendment_written_to_salesforce\","
    "\"cancellation_reason\"\n";

/* Appends "text" with inner quotes doubled; NULL is the empty string. */
static void put_quoted(struct buf *b, const char *text, size_t len)
{
    buf_putc(b, '"');
    while (len) {
        const char *q = memchr(text, '"', len);
        if (!q) {
            buf_append(b, text, len);
            break;
        }
        size_t n = (size_t)(q - text) + 1;
        buf_append(b, text, n);
        buf_putc(b, '"');
        text += n;
        len -= n;
    }
    buf_putc(b, '"');
}

enum lk_status cohort_export_urls(const struct cfg_env *env, const char *name, char **csv_url,
                                  char **manifest_url, struct lk_error *err)
{
    *csv_url = *manifest_url = NULL;
    char why[200];
    if (!cohort_name_valid(name, why, sizeof why))
        return err_set(err, LK_USAGE, "cohort name '%.80s': %s", name ? name : "", why);
    if (!env->cohorts_bucket || !env->cohorts_bucket[0])
        return err_set(err, LK_USAGE,
                       "cohorts.bucket is not set for environment '%s' (the clean bucket, e.g. "
                       "s3://ophan-clean-price-migration-engine-cohort-items)",
                       env->name ? env->name : "");
    struct store_url u;
    if (store_url_parse(env->cohorts_bucket, &u, err) != LK_OK) {
        err_prefix(err, "cohorts.bucket");
        err->status = LK_USAGE;
        return LK_USAGE;
    }
    /* A bucket URL with a path keeps its objects under that prefix. */
    const char *sep = u.key[0] && u.key[strlen(u.key) - 1] != '/' ? "/" : "";
    char *prefix = xasprintf("%s%sdata/%s", u.key, sep, name);
    free(u.key);
    u.key = xasprintf("%s.csv", prefix);
    *csv_url = store_url_format(&u);
    free(u.key);
    u.key = xasprintf("%s.manifest.json", prefix);
    *manifest_url = store_url_format(&u);
    free(prefix);
    store_url_free(&u);
    return LK_OK;
}

void cohort_export_result_free(struct cohort_export_result *r)
{
    free(r->csv_url);
    free(r->manifest_url);
    memset(r, 0, sizeof *r);
}

static void report(const struct lk_ctx *ctx, const char *what, long long records, long long total,
                   long long bytes)
{
    if (!ctx->progress)
        return;
    struct lk_progress p = { what, bytes, -1, records, total };
    ctx->progress(&p, ctx->progress_ud);
}

static bool cancelled(const struct lk_ctx *ctx)
{
    return ctx->cancel && *ctx->cancel;
}

/* The part of an s3:// or file:// URL after the bucket: the manifest's
 * "file", valid wherever the bucket is mirrored. */
static const char *key_of(const char *url)
{
    /* The last one: the bucket's own path may hold a "/data/" too. */
    const char *hit = NULL;
    for (const char *p = strstr(url, "/data/"); p; p = strstr(p + 1, "/data/"))
        hit = p;
    return hit ? hit + 1 : url;
}

static char *manifest_json(const char *name, long long records, const char *exported_at,
                           const char *csv_url)
{
    json_t *m = json_object();
    json_object_set_new(m, "cohort", json_string(name));
    json_object_set_new(m, "recordCount", json_integer(records));
    json_object_set_new(m, "exportedAt", json_string(exported_at));
    json_object_set_new(m, "source", json_string("lakeop"));
    json_object_set_new(m, "lakeopVersion", json_string(LAKEOP_VERSION));
    json_object_set_new(m, "file", json_string(key_of(csv_url)));
    char *text = json_dumps(m, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    json_decref(m);
    char *out = xasprintf("%s\n", text);
    free(text);
    return out;
}

/* Streams the rows of the open cursor into w; the transaction is the
 * caller's. */
static enum lk_status stream_rows(const struct lk_ctx *ctx, const char *name, const char *what,
                                  long long total, struct store_writer *w,
                                  struct cohort_export_result *res, struct lk_error *err)
{
    struct buf b = BUF_INIT;
    struct buf quoted_name = BUF_INIT;
    put_quoted(&quoted_name, name, strlen(name));
    buf_puts(&b, COHORT_CSV_HEADER);
    enum lk_status st = LK_OK;
    for (;;) {
        if (cancelled(ctx)) {
            st = err_set(err, LK_FAIL, "cancelled: the previous export was left as it was");
            break;
        }
        PGresult *r;
        st = db_exec(ctx->db, "FETCH " FETCH_ROWS " FROM lakeop_cohort_export", 0, NULL, &r, err);
        if (st != LK_OK) {
            err_prefix(err, "reading cohort items");
            break;
        }
        int n = PQntuples(r);
        for (int i = 0; i < n && st == LK_OK; i++) {
            buf_append(&b, quoted_name.data, quoted_name.len);
            for (int f = 0; f < COHORT_N_FIELDS; f++) {
                buf_putc(&b, ',');
                put_quoted(&b, PQgetvalue(r, i, f), (size_t)PQgetlength(r, i, f));
            }
            buf_putc(&b, '\n');
            res->records++;
            if (b.len >= WRITE_CHUNK) {
                st = store_writer_write(w, b.data, b.len, err);
                res->bytes += (long long)b.len;
                buf_reset(&b);
            }
        }
        PQclear(r);
        if (st != LK_OK)
            break;
        report(ctx, what, res->records, total, res->bytes + (long long)b.len);
        if (n == 0)
            break;
    }
    if (st == LK_OK && b.len) {
        st = store_writer_write(w, b.data, b.len, err);
        res->bytes += (long long)b.len;
    }
    buf_free(&b);
    buf_free(&quoted_name);
    return st;
}

static void now_iso(char *out, size_t size)
{
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, size, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

enum lk_status cohort_export(const struct lk_ctx *ctx, const char *name,
                             struct cohort_export_result *res, struct lk_error *err)
{
    memset(res, 0, sizeof *res);
    enum lk_status st = cohort_export_urls(ctx->env, name, &res->csv_url, &res->manifest_url, err);
    if (st != LK_OK)
        return st;
    struct cohort_info info;
    if ((st = cohort_get(ctx->db, name, &info, err)) != LK_OK)
        return st;
    char id[24];
    snprintf(id, sizeof id, "%lld", info.id);
    cohort_info_free(&info);

    struct store *store = NULL;
    struct store_url csv_u = { 0 }, man_u = { 0 };
    struct store_writer *w = NULL;
    bool in_tx = false;
    char *what = xasprintf("data/%s.csv", name);
    if ((st = store_open(ctx->env, ctx->http, &store, err)) != LK_OK)
        goto out;
    store_set_cancel(store, ctx->cancel);
    if ((st = store_url_parse(res->csv_url, &csv_u, err)) != LK_OK ||
        (st = store_url_parse(res->manifest_url, &man_u, err)) != LK_OK)
        goto out;

    now_iso(res->exported_at, sizeof res->exported_at);
    st = db_exec(ctx->db, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", 0, NULL, NULL, err);
    if (st != LK_OK)
        goto out;
    in_tx = true;
    const char *params[] = { id };
    PGresult *r;
    long long total = -1;
    if ((st = db_exec(ctx->db, "SELECT count(*) FROM lakeop.cohort_items WHERE cohort_id = $1::bigint",
                      1, params, &r, err)) != LK_OK)
        goto out;
    total = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
    PQclear(r);
    char *select = cohort_export_select_sql();
    char *declare = xasprintf("DECLARE lakeop_cohort_export NO SCROLL CURSOR FOR %s "
                              "ORDER BY subscription_name",
                              select);
    free(select);
    st = db_exec(ctx->db, declare, 1, params, NULL, err);
    free(declare);
    if (st != LK_OK) {
        err_prefix(err, "reading cohort items");
        goto out;
    }
    if ((st = store_writer_open(store, &csv_u, "text/csv; charset=utf-8", &w, err)) != LK_OK)
        goto out;
    report(ctx, what, 0, total, 0);
    if ((st = stream_rows(ctx, name, what, total, w, res, err)) != LK_OK)
        goto out;
    db_exec(ctx->db, "CLOSE lakeop_cohort_export", 0, NULL, NULL, NULL);
    db_rollback(ctx->db);   /* read only: nothing to keep */
    in_tx = false;

    st = store_writer_commit(w, NULL, err);
    w = NULL;
    if (st != LK_OK) {
        err_prefix(err, "writing %s", res->csv_url);
        goto out;
    }
    char *manifest = manifest_json(name, res->records, res->exported_at, res->csv_url);
    st = store_put(store, &man_u, manifest, strlen(manifest), "application/json", NULL, err);
    free(manifest);
    if (st != LK_OK) {
        err_prefix(err, "%s was written but its manifest was not", res->csv_url);
        goto out;
    }
    char count[24];
    snprintf(count, sizeof count, "%lld", res->records);
    const char *upd[] = { id, res->exported_at, res->csv_url, count };
    st = db_exec(ctx->db,
                 "UPDATE lakeop.cohorts SET exported_at = $2::timestamptz, export_key = $3, "
                 "export_count = $4::bigint WHERE id = $1::bigint",
                 4, upd, NULL, err);
    if (st != LK_OK)
        err_prefix(err, "the files were written, but recording the export failed");

out:
    if (w)
        store_writer_abort(w);
    if (in_tx)
        db_rollback(ctx->db);
    store_url_free(&csv_u);
    store_url_free(&man_u);
    store_free(store);
    free(what);
    return st;
}
