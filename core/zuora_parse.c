/* Zuora's answers → structs, checking every field's type (ZUORA.md). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "json.h"
#include "mem.h"
#include "zuora.h"

static void batch_free(struct zuora_batch *b)
{
    free(b->batch_id);
    free(b->name);
    free(b->status);
    free(b->query);
    free(b->message);
    free(b->file_id);
    for (size_t i = 0; i < b->n_segments; i++)
        free(b->segments[i]);
    free(b->segments);
}

void zuora_job_free(struct zuora_job *job)
{
    if (!job)
        return;
    free(job->id);
    free(job->name);
    free(job->status);
    free(job->version);
    free(job->format);
    free(job->partner);
    free(job->project);
    free(job->incremental_time);
    free(job->start_time);
    for (size_t i = 0; i < job->n_batches; i++)
        batch_free(&job->batches[i]);
    free(job->batches);
    free(job->json);
    memset(job, 0, sizeof *job);
}

static long long days_from_civil(long long y, unsigned m, unsigned d)
{
    /* Howard Hinnant's algorithm: no dependence on the process's TZ. */
    y -= m <= 2;
    long long era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (long long)doe - 719468;
}

bool zuora_parse_time(const char *text, long long *unix_out, bool *has_zone)
{
    int y, mo, d, h, mi, s, n = 0;
    *unix_out = 0;
    *has_zone = false;
    if (!text)
        return false;
    char sep;
    if (sscanf(text, "%4d-%2d-%2d%c%2d:%2d:%2d%n", &y, &mo, &d, &sep, &h, &mi, &s, &n) != 7 ||
        (sep != ' ' && sep != 'T'))
        return false;
    if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 60)
        return false;
    long long t = days_from_civil(y, (unsigned)mo, (unsigned)d) * 86400 + h * 3600 + mi * 60 + s;
    const char *rest = text + n;
    if (*rest == '.')   /* fractions of a second */
        while (*++rest >= '0' && *rest <= '9')
            ;
    if (*rest == 'Z') {
        *has_zone = true;
        rest++;
    } else if (*rest == '+' || *rest == '-') {
        int oh, om;
        if (sscanf(rest + 1, "%2d", &oh) != 1)
            return false;
        const char *m = rest + 3;
        if (*m == ':')
            m++;
        if (sscanf(m, "%2d", &om) != 1)
            return false;
        long long off = oh * 3600 + om * 60;
        t -= *rest == '+' ? off : -off;
        *has_zone = true;
        rest = m + 2;
    }
    if (*rest)
        return false;
    *unix_out = t;
    return true;
}

/* A missing field gives NULL; the type is checked by jx_string. */
static enum lk_status dup_string(const json_t *obj, const char *key, bool required, const char *where,
                                 char **out, struct lk_error *err)
{
    const char *v;
    enum lk_status st = jx_string(obj, key, required, where, &v, err);
    *out = st == LK_OK ? xstrdup(v) : NULL;
    return st;
}

static enum lk_status parse_batch(const json_t *jb, size_t index, struct zuora_batch *b,
                                  struct lk_error *err)
{
    char where[64];
    snprintf(where, sizeof where, "batch %zu of the job", index + 1);
    if (!json_is_object(jb))
        return err_set(err, LK_FAIL, "Zuora sent %s as %s, expected an object", where, jx_type_name(jb));
    enum lk_status st;
    if ((st = dup_string(jb, "batchId", true, where, &b->batch_id, err)) ||
        (st = dup_string(jb, "name", true, where, &b->name, err)) ||
        (st = dup_string(jb, "status", true, where, &b->status, err)) ||
        (st = dup_string(jb, "query", false, where, &b->query, err)) ||
        (st = dup_string(jb, "message", false, where, &b->message, err)) ||
        (st = dup_string(jb, "fileId", false, where, &b->file_id, err)) ||
        (st = jx_int(jb, "recordCount", false, where, -1, &b->record_count, err)) ||
        (st = jx_bool(jb, "full", false, where, -1, &b->full, err)))
        return err_prefix(err, "Zuora sent an unexpected job"), st;
    const json_t *segs = json_object_get(jb, "segments");
    if (segs && !json_is_null(segs)) {
        if (!json_is_array(segs)) {
            err_set(err, LK_FAIL, "field 'segments' of %s is %s, expected an array", where, jx_type_name(segs));
            err_prefix(err, "Zuora sent an unexpected job");
            return LK_FAIL;
        }
        size_t n = json_array_size(segs);
        b->segments = xcalloc(n ? n : 1, sizeof *b->segments);
        for (size_t i = 0; i < n; i++) {
            const json_t *s = json_array_get(segs, i);
            if (!json_is_string(s)) {
                err_set(err, LK_FAIL, "segment %zu of %s is %s, expected a string", i + 1, where,
                        jx_type_name(s));
                err_prefix(err, "Zuora sent an unexpected job");
                return LK_FAIL;
            }
            b->segments[b->n_segments++] = xstrdup(json_string_value(s));
        }
    }
    return LK_OK;
}

static const char *reasons_text(const json_t *root, const char **code)
{
    const json_t *reasons = json_object_get(root, "reasons");
    const json_t *first = json_is_array(reasons) ? json_array_get(reasons, 0) : NULL;
    if (!json_is_object(first))
        return NULL;
    const json_t *c = json_object_get(first, "code");
    *code = json_is_string(c) ? json_string_value(c) : NULL;
    const json_t *m = json_object_get(first, "message");
    return json_is_string(m) ? json_string_value(m) : "";
}

/* The error shapes of a parsed body; LK_OK when it is not an error. */
static enum lk_status error_shape(const json_t *root, long http_status, struct lk_error *err)
{
    const json_t *jc = json_object_get(root, "errorCode");
    const json_t *jm = json_object_get(root, "message");
    const char *message = json_is_string(jm) ? json_string_value(jm) : "";
    char code[32] = "";
    if (json_is_string(jc))
        snprintf(code, sizeof code, "%s", json_string_value(jc));
    else if (json_is_integer(jc))
        snprintf(code, sizeof code, "%lld", (long long)json_integer_value(jc));
    const json_t *status = json_object_get(root, "status");
    bool status_error = json_is_string(status) && strcmp(json_string_value(status), "error") == 0 &&
                        !json_object_get(root, "id");
    if (code[0] || status_error) {
        enum lk_status st = LK_FAIL;
        if (strcmp(code, "90001") == 0 || strcmp(code, "90002") == 0)
            st = LK_NOTFOUND;
        err_set(err, st, "Zuora refused the request%s%s", code[0] ? ": error " : "", code);
        if (strcmp(code, "90002") == 0)
            err_set(err, st, "Zuora does not know this job (error 90002: invalid job id)");
        else if (strcmp(code, "90003") == 0)
            err_set(err, st, "Zuora cannot cancel this job (error 90003: it has already finished or does not exist)");
        else if (strcmp(code, "90005") == 0)
            err_set(err, st, "Zuora found a syntax error in a query (error 90005)");
        else if (strcmp(code, "90028") == 0)
            err_set(err, st, "Zuora runs too many jobs at once (error 90028); wait for one to finish");
        err_remote(err, http_status, code[0] ? code : NULL, message, NULL);
        /* Zuora's own trouble may pass; a refusal (90009 not authorised,
         * 90019 partner unknown, 90002 ...) says the same when asked again. */
        err->retryable = strcmp(code, "90006") == 0 || strcmp(code, "90008") == 0 ||
                         strcmp(code, "90010") == 0 || strcmp(code, "90022") == 0;
        return st;
    }
    const char *rcode = NULL;
    const char *rmsg = reasons_text(root, &rcode);
    const json_t *success = json_object_get(root, "success");
    if (rmsg && (json_is_false(success) || http_status >= 400 || !json_object_get(root, "id"))) {
        enum lk_status st = http_status == 404 ? LK_NOTFOUND : LK_FAIL;
        err_set(err, st, "Zuora refused the request");
        err_remote(err, http_status, rcode, rmsg, NULL);
        return st;
    }
    return LK_OK;
}

enum lk_status zuora_parse_error(long http_status, const char *text, size_t len, struct lk_error *err)
{
    json_error_t je;
    err_clear(err);
    json_t *root = text && len ? json_loadb(text, len, 0, &je) : NULL;
    enum lk_status st = LK_OK;
    if (json_is_object(root))
        st = error_shape(root, http_status, err);
    json_decref(root);
    if (st == LK_OK) {
        /* No JSON we understand: keep the start of the body as the remote's words. */
        char snippet[256];
        snprintf(snippet, sizeof snippet, "%.*s", (int)(len < 200 ? len : 200), text ? text : "");
        err_remote(err, http_status, NULL, snippet, NULL);
        st = http_status == 404 ? LK_NOTFOUND : LK_FAIL;
    }
    /* Our words by status, where they say more than the code did. */
    if (http_status == 401)
        err_set(err, LK_FAIL, "Zuora refused the credentials (check zuora.client_id and zuora.client_secret)");
    else if (http_status == 403)
        err_set(err, LK_FAIL, "Zuora says this client may not do that (HTTP 403)");
    else if (http_status == 429)
        err_set(err, LK_FAIL, "Zuora is throttling requests (HTTP 429); try again later");
    else if (http_status >= 500)
        err_set(err, LK_FAIL, "Zuora failed (HTTP %ld); try again later", http_status);
    else if (http_status == 404 && st != LK_NOTFOUND)
        err_set(err, LK_NOTFOUND, "Zuora does not know it (HTTP 404)");
    else if (!err->message[0])
        err_set(err, st, "Zuora answered HTTP %ld", http_status);
    err->status = http_status == 404 || st == LK_NOTFOUND ? LK_NOTFOUND : LK_FAIL;
    err->http_status = http_status;
    err->retryable = http_status == 429 || http_status >= 500;
    return err->status;
}

enum lk_status zuora_parse_job(const char *text, size_t len, struct zuora_job *out, struct lk_error *err)
{
    memset(out, 0, sizeof *out);
    json_t *root;
    enum lk_status st = jx_parse(text, len, "Zuora", &root, err);
    if (st) {
        if (err)
            err->retryable = true;   /* garbled on the way: asking again may do */
        return st;
    }
    if (!json_is_object(root)) {
        err_set(err, LK_FAIL, "Zuora sent %s where a job was expected", jx_type_name(root));
        json_decref(root);
        return LK_FAIL;
    }
    if ((st = error_shape(root, 200, err)) != LK_OK) {
        json_decref(root);
        return st;
    }
    const char *where = "the job";
    const json_t *batches = json_object_get(root, "batches");
    if ((st = dup_string(root, "id", true, where, &out->id, err)) ||
        (st = dup_string(root, "status", true, where, &out->status, err)) ||
        (st = dup_string(root, "name", false, where, &out->name, err)) ||
        (st = dup_string(root, "version", false, where, &out->version, err)) ||
        (st = dup_string(root, "format", false, where, &out->format, err)) ||
        (st = dup_string(root, "partner", false, where, &out->partner, err)) ||
        (st = dup_string(root, "project", false, where, &out->project, err)) ||
        (st = dup_string(root, "incrementalTime", false, where, &out->incremental_time, err)) ||
        (st = dup_string(root, "startTime", false, where, &out->start_time, err))) {
        err_prefix(err, "Zuora sent an unexpected job");
        goto fail;
    }
    if (batches && !json_is_null(batches) && !json_is_array(batches)) {
        st = err_set(err, LK_FAIL, "Zuora sent an unexpected job: field 'batches' of the job is %s, expected an array",
                     jx_type_name(batches));
        goto fail;
    }
    if (out->start_time)
        zuora_parse_time(out->start_time, &out->start_unix, &out->start_has_zone);
    size_t n = json_array_size(batches);
    out->batches = xcalloc(n ? n : 1, sizeof *out->batches);
    for (size_t i = 0; i < n; i++) {
        out->n_batches = i + 1;
        if ((st = parse_batch(json_array_get(batches, i), i, &out->batches[i], err)) != LK_OK)
            goto fail;
    }
    out->n_batches = n;
    out->json = jx_dump(root);
    json_decref(root);
    return LK_OK;
fail:
    json_decref(root);
    zuora_job_free(out);
    return st;
}

bool zuora_status_terminal(const char *s)
{
    return s && (strcmp(s, "completed") == 0 || strcmp(s, "error") == 0 || strcmp(s, "aborted") == 0 ||
                 strcmp(s, "cancelled") == 0);
}

static bool batch_failed(const struct zuora_batch *b)
{
    return strcmp(b->status, "aborted") == 0 || strcmp(b->status, "cancelled") == 0;
}

enum zuora_outcome zuora_job_outcome(const struct zuora_job *job)
{
    const char *s = job->status;
    if (strcmp(s, "error") == 0 || strcmp(s, "aborted") == 0 || strcmp(s, "cancelled") == 0)
        return ZUORA_FAILED;
    bool done = strcmp(s, "completed") == 0;
    for (size_t i = 0; i < job->n_batches; i++)
        if (batch_failed(&job->batches[i]) && done)
            return ZUORA_FAILED;
    return done ? ZUORA_COMPLETED : ZUORA_RUNNING;
}

const char *zuora_job_reason(const struct zuora_job *job, char *out, size_t size)
{
    const struct zuora_batch *bad = NULL;
    for (size_t i = 0; i < job->n_batches && !bad; i++)
        if (batch_failed(&job->batches[i]))
            bad = &job->batches[i];
    if (bad)
        snprintf(out, size, "job %s; batch %s %s%s%s", job->status, bad->name, bad->status,
                 bad->message && *bad->message ? ": " : "", bad->message ? bad->message : "");
    else if (strcmp(job->status, "completed") == 0)
        snprintf(out, size, "job completed");
    else
        snprintf(out, size, "job %s and no batch says why (Zuora gave no reason)", job->status);
    return out;
}
