/* A copy found in the lake by its metadata file (core/lake_copy.h). */
#include "lake_copy.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "copy.h"
#include "json.h"

static bool same(const char *a, const char *b)
{
    return a && b && *a && strcmp(a, b) == 0;
}

enum lakecopy_verdict lakecopy_judge(const char *text, size_t len, const struct lakecopy_want *want,
                                     char *what, size_t what_size)
{
    struct lk_error err;
    err_clear(&err);
    json_error_t je;
    json_t *root = len ? json_loadb(text, len, JSON_REJECT_DUPLICATES, &je) : NULL;
    if (!root) {
        if (len)
            snprintf(what, what_size, "is not valid metadata: not JSON (%s, line %d column %d)", je.text, je.line,
                     je.column);
        else
            snprintf(what, what_size, "is not valid metadata: it is empty");
        return LAKECOPY_MALFORMED;
    }
    enum lakecopy_verdict v = LAKECOPY_MALFORMED;
    const char *job = NULL, *batch = NULL, *file = NULL, *status = NULL;
    if (!json_is_object(root)) {
        snprintf(what, what_size, "is not valid metadata: it is %s, expected an object with jobId, batchId, fileId",
                 jx_type_name(root));
    } else if (jx_string(root, "jobId", true, "the metadata", &job, &err) != LK_OK ||
               jx_string(root, "batchId", false, "the metadata", &batch, &err) != LK_OK ||
               jx_string(root, "fileId", false, "the metadata", &file, &err) != LK_OK ||
               jx_string(root, "status", false, "the metadata", &status, &err) != LK_OK) {
        snprintf(what, what_size, "is not valid metadata: %s", err.message);
    } else if (!(batch && *batch) && !(file && *file)) {
        snprintf(what, what_size, "is not valid metadata: it names no batchId and no fileId");
    } else if (!same(job, want->job_id) || !(same(batch, want->batch_id) || same(file, want->file_ids))) {
        v = LAKECOPY_OTHER;
        snprintf(what, what_size, "is for job %.40s (batch %.40s, file %.120s), not for job %.40s (batch %.40s)",
                 job, batch ? batch : "none", file ? file : "none", want->job_id,
                 want->batch_id ? want->batch_id : "unknown");
    } else if (status && strcmp(status, "completed") != 0) {
        v = LAKECOPY_OTHER;
        snprintf(what, what_size, "names job %.40s but says status \"%.40s\", not \"completed\"", job, status);
    } else {
        v = LAKECOPY_FOUND;
        what[0] = '\0';
    }
    json_decref(root);
    return v;
}

static enum lk_status get(struct store *st, const char *url, struct buf *text, bool *too_big,
                          struct lk_error *err)
{
    struct store_url u = { 0 };
    enum lk_status rc = store_url_parse(url, &u, err);
    if (rc == LK_OK)
        rc = copy_metadata_get(st, &u, text, too_big, err);
    store_url_free(&u);
    return rc;
}

void lakecopy_find(struct store *st, const char *raw_target, const char *name,
                   const struct lakecopy_want *want, struct lakecopy_found *out)
{
    memset(out, 0, sizeof *out);
    out->verdict = LAKECOPY_UNREADABLE;
    char *meta = copy_metadata_url(raw_target, name);
    if (!meta) {
        snprintf(out->what, sizeof out->what, "its raw target %.300s is not an object URL", raw_target);
        return;
    }
    snprintf(out->metadata_url, sizeof out->metadata_url, "%s", meta);
    free(meta);
    struct lk_error err;
    err_clear(&err);
    struct store_object_info info;
    char reason[400];
    if (store_head_url(st, out->metadata_url, &info, &err) != LK_OK) {
        snprintf(out->what, sizeof out->what, "%.300s could not be read: %.300s", out->metadata_url,
                 err_text(&err, reason, sizeof reason));
        return;
    }
    long long mtime = info.mtime;
    bool exists = info.exists;
    store_object_info_free(&info);
    if (!exists) {
        out->verdict = LAKECOPY_MISSING;
        snprintf(out->what, sizeof out->what, "%.400s does not exist", out->metadata_url);
        return;
    }
    struct buf text = BUF_INIT;
    bool too_big = false;
    if (get(st, out->metadata_url, &text, &too_big, &err) != LK_OK) {
        if (too_big) {
            out->verdict = LAKECOPY_MALFORMED;
            snprintf(out->what, sizeof out->what, "%.400s is not valid metadata: larger than %d bytes",
                     out->metadata_url, COPY_METADATA_MAX);
        } else {
            snprintf(out->what, sizeof out->what, "%.300s could not be read: %.300s", out->metadata_url,
                     err_text(&err, reason, sizeof reason));
        }
        buf_free(&text);
        return;
    }
    char verdict[480];
    out->verdict = lakecopy_judge(text.data ? text.data : "", text.len, want, verdict, sizeof verdict);
    buf_free(&text);
    if (out->verdict != LAKECOPY_FOUND) {
        snprintf(out->what, sizeof out->what, "%.150s %s", out->metadata_url, verdict);
        return;
    }
    /* The metadata promises the CSV; a CSV deleted since is no copy. */
    if (store_head_url(st, raw_target, &info, &err) != LK_OK) {
        out->verdict = LAKECOPY_UNREADABLE;
        snprintf(out->what, sizeof out->what, "%.300s could not be read: %.300s", raw_target,
                 err_text(&err, reason, sizeof reason));
        return;
    }
    exists = info.exists;
    store_object_info_free(&info);
    if (!exists) {
        out->verdict = LAKECOPY_MISSING;
        snprintf(out->what, sizeof out->what, "%.250s names it, but %.250s does not exist", out->metadata_url,
                 raw_target);
        return;
    }
    out->copied_unix = mtime;
}
