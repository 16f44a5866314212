/* The object store's front (core/store.h): URLs, choosing the backend for
 * each address, and what the backends share (copy between backends, object
 * info).  The backends are core/store_file.c and core/store_s3.c. */
#include "store.h"

#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "mem.h"
#include "sha256.h"
#include "store_internal.h"

/* S3's own limit on key length, in bytes. */
#define KEY_MAX 1024

struct store {
    char *file_root;          /* s3.endpoint = file://DIR: DIR; NULL otherwise */
    struct stores3 *s3;       /* NULL when s3.endpoint is file:// */
    const volatile int *cancel;
};

struct store_writer {
    struct storef_writer *f;
    struct stores3_writer *s3;
    char *name;               /* for messages */
    long long announced;      /* store_writer_open_sized's total; -1: none */
    long long written;
};

/* ---- URLs --------------------------------------------------------------- */

static bool bucket_name_ok(const char *b)
{
    size_t n = strlen(b);
    if (n == 0 || n > 255 || strcmp(b, ".") == 0 || strcmp(b, "..") == 0)
        return false;
    for (const char *p = b; *p; p++)
        if (!isalnum((unsigned char)*p) && *p != '.' && *p != '-' && *p != '_')
            return false;
    return true;
}

/* Everything after "file://": "/abs/path", "localhost/abs/path" or a
 * relative path (kept as written: relative to the working folder). */
static const char *file_path_part(const char *rest)
{
    if (strncmp(rest, "localhost/", 10) == 0)
        return rest + 9;
    return rest;
}

enum lk_status store_url_parse(const char *url, struct store_url *out, struct lk_error *err)
{
    memset(out, 0, sizeof *out);
    if (!url || !*url)
        return err_set(err, LK_USAGE, "an object URL is missing: expected s3://BUCKET/KEY or file:///FOLDER/KEY");
    if (strncasecmp(url, "s3://", 5) == 0) {
        const char *rest = url + 5;
        const char *slash = strchr(rest, '/');
        char *bucket = slash ? xstrndup(rest, (size_t)(slash - rest)) : xstrdup(rest);
        if (!bucket_name_ok(bucket)) {
            err_set(err, LK_USAGE,
                    "'%s' does not name a bucket: expected s3://BUCKET/KEY with a bucket of letters, "
                    "digits, '.', '-' or '_'", url);
            free(bucket);
            return LK_USAGE;
        }
        const char *key = slash ? slash + 1 : "";
        if (strlen(key) > KEY_MAX) {
            free(bucket);
            return err_set(err, LK_USAGE, "the key of '%.80s…' is longer than S3's %d bytes", url, KEY_MAX);
        }
        out->bucket = bucket;
        out->key = xstrdup(key);
        return LK_OK;
    }
    if (strncasecmp(url, "file://", 7) == 0) {
        const char *path = file_path_part(url + 7);
        if (!*path)
            return err_set(err, LK_USAGE, "'%s' names no folder: expected file:///FOLDER/KEY", url);
        const char *slash = strrchr(path, '/');
        if (!slash) {
            out->bucket = xstrdup(".");
            out->key = xstrdup(path);
        } else {
            out->bucket = slash == path ? xstrdup("/") : xstrndup(path, (size_t)(slash - path));
            out->key = xstrdup(slash + 1);
        }
        out->is_file = true;
        return LK_OK;
    }
    return err_set(err, LK_USAGE, "'%s' is not an object URL: expected s3://BUCKET/KEY or file:///FOLDER/KEY", url);
}

void store_url_free(struct store_url *u)
{
    if (!u)
        return;
    xfree(&u->bucket);
    xfree(&u->key);
    u->is_file = false;
}

char *store_url_format(const struct store_url *u)
{
    const char *key = u->key ? u->key : "";
    if (!u->is_file)
        return xasprintf("s3://%s/%s", u->bucket ? u->bucket : "", key);
    if (u->bucket && strcmp(u->bucket, "/") == 0)
        return xasprintf("file:///%s", key);
    return xasprintf("file://%s/%s", u->bucket ? u->bucket : ".", key);
}

/* A key becomes a path below a folder only if it cannot climb out of it or
 * collide with our temporary files.  For prefixes the last part may be empty. */
static enum lk_status key_path_ok(const char *key, bool is_prefix, struct lk_error *err)
{
    const char *p = key;
    if (!*key && is_prefix)
        return LK_OK;
    for (;;) {
        const char *slash = strchr(p, '/');
        size_t n = slash ? (size_t)(slash - p) : strlen(p);
        bool last = !slash;
        if ((n == 0 && !(last && is_prefix)) || (n == 1 && p[0] == '.') ||
            (n == 2 && p[0] == '.' && p[1] == '.'))
            return err_set(err, LK_USAGE,
                           "the key '%s' cannot be stored as files: it has an empty, '.' or '..' part", key);
        if (last)
            break;
        p = slash + 1;
    }
    const char *base = strrchr(key, '/');
    base = base ? base + 1 : key;
    if (storef_is_temp_name(base))
        return err_set(err, LK_USAGE, "the key '%s' looks like one of lakeop's temporary files", key);
    return LK_OK;
}

/* The local path of an address on the file backend; NULL when it is on S3. */
static char *file_path(const struct store *s, const struct store_url *u)
{
    if (u->is_file) {
        if (strcmp(u->bucket, "/") == 0)
            return xasprintf("/%s", u->key);
        return xasprintf("%s/%s", u->bucket, u->key);
    }
    if (s->file_root)
        return xasprintf("%s/%s/%s", s->file_root, u->bucket, u->key);
    return NULL;
}

/* The folder a listing starts from on the file backend. */
static char *file_bucket_dir(const struct store *s, const struct store_url *u)
{
    if (u->is_file)
        return xstrdup(u->bucket);
    return xasprintf("%s/%s", s->file_root, u->bucket);
}

static bool on_file(const struct store *s, const struct store_url *u)
{
    return u->is_file || s->file_root;
}

static enum lk_status need_s3(const struct store *s, struct lk_error *err)
{
    if (!s->s3)
        return err_set(err, LK_USAGE, "no S3 endpoint is configured (s3.endpoint)");
    return LK_OK;
}

static enum lk_status check_url(const struct store_url *u, struct lk_error *err)
{
    if (!u || !u->bucket || !u->key)
        return err_set(err, LK_USAGE, "an object address is incomplete");
    return LK_OK;
}

/* ---- opening ------------------------------------------------------------ */

/* "16777216", "16M", "16MiB", "512K", "1G" → bytes; 0 when malformed. */
static size_t parse_size(const char *text)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(text, &end, 10);
    if (end == text || errno)
        return 0;
    unsigned long long mult = 1;
    if (*end == 'K' || *end == 'k')
        mult = 1ULL << 10;
    else if (*end == 'M' || *end == 'm')
        mult = 1ULL << 20;
    else if (*end == 'G' || *end == 'g')
        mult = 1ULL << 30;
    if (mult != 1) {
        end++;
        if (strcmp(end, "iB") == 0 || strcmp(end, "B") == 0)
            end += strlen(end);
    }
    if (*end || v > (unsigned long long)SIZE_MAX / mult)
        return 0;
    return (size_t)(v * mult);
}

/* The tuning and test knobs of the environment (store.h). */
static enum lk_status s3_knobs_from_env(struct stores3 *s3, struct lk_error *err)
{
    const char *part = getenv("LAKEOP_S3_PART_SIZE");
    if (part && *part) {
        size_t bytes = parse_size(part);
        if (bytes < STORES3_MIN_PART || bytes > ((size_t)5 << 30))
            return err_set(err, LK_USAGE,
                           "LAKEOP_S3_PART_SIZE = %s: expected a size from 5M (S3's smallest part) to 5G", part);
        stores3_set_part_size(s3, bytes);
    }
    const char *keys = getenv("LAKEOP_S3_LIST_MAX_KEYS");
    if (keys && *keys) {
        char *end = NULL;
        long n = strtol(keys, &end, 10);
        if (*end || n < 1 || n > 1000)
            return err_set(err, LK_USAGE, "LAKEOP_S3_LIST_MAX_KEYS = %s: expected keys per listing page, "
                           "from 1 to 1000", keys);
        stores3_set_list_page(s3, (int)n);
    }
    return LK_OK;
}

enum lk_status store_open(const struct cfg_env *env, struct http_client *http,
                          struct store **out, struct lk_error *err)
{
    *out = NULL;
    const char *endpoint = env && env->s3_endpoint && *env->s3_endpoint ? env->s3_endpoint : NULL;
    struct store *s = xcalloc(1, sizeof *s);
    if (endpoint && strncasecmp(endpoint, "file://", 7) == 0) {
        const char *dir = file_path_part(endpoint + 7);
        if (!*dir) {
            free(s);
            return err_set(err, LK_USAGE, "s3.endpoint = %s names no folder: expected file:///FOLDER", endpoint);
        }
        size_t n = strlen(dir);
        while (n > 1 && dir[n - 1] == '/')
            n--;
        s->file_root = xstrndup(dir, n);
        *out = s;
        return LK_OK;
    }
    struct stores3_config c = {
        .env_name = env ? env->name : NULL,
        .endpoint = endpoint,
        .region = env ? env->s3_region : NULL,
        .access_key = env ? env->aws_access_key_id : NULL,
        .secret_key = env ? env->aws_secret_access_key : NULL,
        .session_token = env ? env->aws_session_token : NULL,
        .ca_bundle = env ? env->ca_bundle : NULL,
    };
    enum lk_status rc = stores3_new(&c, http, &s->s3, err);
    if (rc != LK_OK) {
        free(s);
        return rc;
    }
    if ((rc = s3_knobs_from_env(s->s3, err)) != LK_OK) {
        store_free(s);
        return rc;
    }
    *out = s;
    return LK_OK;
}

void store_free(struct store *s)
{
    if (!s)
        return;
    stores3_free(s->s3);
    free(s->file_root);
    free(s);
}

enum lk_status store_set_part_size(struct store *s, size_t bytes, struct lk_error *err)
{
    if (bytes < STORES3_MIN_PART)
        return err_set(err, LK_USAGE, "a part size of %zu bytes is below S3's smallest part (5 MiB)", bytes);
    if (s->s3)
        stores3_set_part_size(s->s3, bytes);
    return LK_OK;
}

void store_set_list_page(struct store *s, int max_keys)
{
    if (s->s3)
        stores3_set_list_page(s->s3, max_keys);
}

void store_set_cancel(struct store *s, const volatile int *cancel)
{
    s->cancel = cancel;
    if (s->s3)
        stores3_set_cancel(s->s3, cancel);
}

/* ---- operations --------------------------------------------------------- */

enum lk_status store_ping(struct store *s, const char *bucket, struct lk_error *err)
{
    struct store_url u = { 0 };
    if (bucket && strstr(bucket, "://")) {
        enum lk_status rc = store_url_parse(bucket, &u, err);
        if (rc != LK_OK)
            return rc;
    } else {
        u.bucket = xstrdup(bucket && *bucket ? bucket : NULL);
        u.key = xstrdup("");
    }
    enum lk_status rc;
    if (u.is_file) {
        rc = storef_ping(u.bucket, err);
    } else if (s->file_root) {
        char *dir = u.bucket ? xasprintf("%s/%s", s->file_root, u.bucket) : xstrdup(s->file_root);
        rc = storef_ping(dir, err);
        free(dir);
    } else {
        rc = stores3_ping(s->s3, u.bucket, err);
    }
    store_url_free(&u);
    return rc;
}

enum lk_status store_head(struct store *s, const struct store_url *u,
                          struct store_object_info *info, struct lk_error *err)
{
    memset(info, 0, sizeof *info);
    enum lk_status rc = check_url(u, err);
    if (rc != LK_OK)
        return rc;
    if (on_file(s, u)) {
        if ((rc = key_path_ok(u->key, false, err)) != LK_OK)
            return rc;
        char *path = file_path(s, u);
        rc = storef_head(path, info, err);
        free(path);
        return rc;
    }
    if ((rc = need_s3(s, err)) != LK_OK)
        return rc;
    return stores3_head(s->s3, u->bucket, u->key, info, err);
}

enum lk_status store_head_url(struct store *s, const char *url, struct store_object_info *info,
                              struct lk_error *err)
{
    struct store_url u = { 0 };
    memset(info, 0, sizeof *info);
    enum lk_status rc = store_url_parse(url, &u, err);
    if (rc == LK_OK)
        rc = store_head(s, &u, info, err);
    store_url_free(&u);
    return rc;
}

void store_object_info_free(struct store_object_info *info)
{
    if (!info)
        return;
    free(info->etag);
    memset(info, 0, sizeof *info);
}

enum lk_status store_get(struct store *s, const struct store_url *u, long long offset,
                         long long length, http_sink_fn sink, void *ud, struct lk_error *err)
{
    enum lk_status rc = check_url(u, err);
    if (rc != LK_OK)
        return rc;
    if (offset < 0)
        return err_set(err, LK_USAGE, "a read cannot start at byte %lld", offset);
    if (on_file(s, u)) {
        if ((rc = key_path_ok(u->key, false, err)) != LK_OK)
            return rc;
        char *path = file_path(s, u);
        rc = storef_get(path, offset, length, sink, ud, s->cancel, err);
        free(path);
        return rc;
    }
    if ((rc = need_s3(s, err)) != LK_OK)
        return rc;
    return stores3_get(s->s3, u->bucket, u->key, offset, length, sink, ud, err);
}

enum lk_status store_list(struct store *s, const struct store_url *prefix, store_list_fn fn,
                          void *ud, struct lk_error *err)
{
    enum lk_status rc = check_url(prefix, err);
    if (rc != LK_OK)
        return rc;
    if (on_file(s, prefix)) {
        if ((rc = key_path_ok(prefix->key, true, err)) != LK_OK)
            return rc;
        char *dir = file_bucket_dir(s, prefix);
        rc = storef_list(dir, prefix->key, fn, ud, err);
        if (rc == LK_NOTFOUND && !prefix->is_file)
            err_set(err, LK_NOTFOUND, "bucket '%s' does not exist (no folder %s)", prefix->bucket, dir);
        free(dir);
        return rc;
    }
    if ((rc = need_s3(s, err)) != LK_OK)
        return rc;
    return stores3_list(s->s3, prefix->bucket, prefix->key, fn, ud, err);
}

struct copy_sink {
    struct store_writer *w;
    struct lk_error err;      /* the writer's own failure, which says more than "stopped" */
    bool failed;
};

static size_t writer_sink(const char *data, size_t len, void *ud)
{
    struct copy_sink *c = ud;
    if (store_writer_write(c->w, data, len, &c->err) != LK_OK) {
        c->failed = true;
        return 0;
    }
    return len;
}

/* Between backends (a local file to S3 or back): read and write in
 * constant memory through the streaming writer. */
static enum lk_status copy_streamed(struct store *s, const struct store_url *from,
                                    const struct store_url *to, struct lk_error *err)
{
    struct store_object_info info;
    enum lk_status rc = store_head(s, from, &info, err);
    if (rc != LK_OK)
        return rc;
    bool exists = info.exists;
    store_object_info_free(&info);
    if (!exists) {
        char *url = store_url_format(from);
        err_set(err, LK_NOTFOUND, "cannot copy %s: it does not exist", url);
        free(url);
        return LK_NOTFOUND;
    }
    struct copy_sink c = { 0 };
    rc = store_writer_open(s, to, NULL, &c.w, err);
    if (rc != LK_OK)
        return rc;
    rc = store_get(s, from, 0, -1, writer_sink, &c, err);
    if (rc != LK_OK) {
        if (c.failed && err)
            *err = c.err;
        store_writer_abort(c.w);
        return c.failed ? c.err.status : rc;
    }
    return store_writer_commit(c.w, NULL, err);
}

enum lk_status store_copy(struct store *s, const struct store_url *from,
                          const struct store_url *to, struct lk_error *err)
{
    enum lk_status rc = check_url(from, err);
    if (rc == LK_OK)
        rc = check_url(to, err);
    if (rc != LK_OK)
        return rc;
    bool from_file = on_file(s, from), to_file = on_file(s, to);
    if (from_file && to_file) {
        if ((rc = key_path_ok(from->key, false, err)) != LK_OK ||
            (rc = key_path_ok(to->key, false, err)) != LK_OK)
            return rc;
        char *a = file_path(s, from), *b = file_path(s, to);
        rc = storef_copy(a, b, s->cancel, err);
        free(a);
        free(b);
        return rc;
    }
    if (!from_file && !to_file) {
        if ((rc = need_s3(s, err)) != LK_OK)
            return rc;
        return stores3_copy(s->s3, from->bucket, from->key, to->bucket, to->key, err);
    }
    return copy_streamed(s, from, to, err);
}

struct digest_sink {
    struct sha256 sha;
};

static size_t digest_sink(const char *data, size_t len, void *ud)
{
    sha256_update(&((struct digest_sink *)ud)->sha, data, len);
    return len;
}

static enum lk_status digest(struct store *s, const struct store_url *u, unsigned char out[32],
                             struct lk_error *err)
{
    struct digest_sink d;
    sha256_init(&d.sha);
    enum lk_status rc = store_get(s, u, 0, -1, digest_sink, &d, err);
    if (rc == LK_OK)
        sha256_final(&d.sha, out);
    return rc;
}

enum lk_status store_same_content(struct store *s, const struct store_url *a, const struct store_url *b,
                                  bool *same, struct lk_error *err)
{
    *same = false;
    if (!on_file(s, a) && !on_file(s, b)) {
        struct store_object_info ia, ib;
        enum lk_status rc = store_head(s, a, &ia, err);
        if (rc != LK_OK)
            return rc;
        if ((rc = store_head(s, b, &ib, err)) != LK_OK) {
            store_object_info_free(&ia);
            return rc;
        }
        *same = ia.exists && ib.exists && ia.etag && ib.etag && *ia.etag && strcmp(ia.etag, ib.etag) == 0;
        store_object_info_free(&ia);
        store_object_info_free(&ib);
        if (*same)
            return LK_OK;
    }
    unsigned char da[32], db[32];
    enum lk_status rc = digest(s, a, da, err);
    if (rc == LK_OK)
        rc = digest(s, b, db, err);
    if (rc == LK_OK)
        *same = memcmp(da, db, sizeof da) == 0;
    return rc;
}

enum lk_status store_delete(struct store *s, const struct store_url *u, struct lk_error *err)
{
    enum lk_status rc = check_url(u, err);
    if (rc != LK_OK)
        return rc;
    if (on_file(s, u)) {
        if ((rc = key_path_ok(u->key, false, err)) != LK_OK)
            return rc;
        char *path = file_path(s, u);
        rc = storef_delete(path, err);
        free(path);
        return rc;
    }
    if ((rc = need_s3(s, err)) != LK_OK)
        return rc;
    return stores3_delete(s->s3, u->bucket, u->key, err);
}

enum lk_status store_put(struct store *s, const struct store_url *u, const void *data, size_t len,
                         const char *content_type, struct store_object_info *info,
                         struct lk_error *err)
{
    if (info)
        memset(info, 0, sizeof *info);
    enum lk_status rc = check_url(u, err);
    if (rc != LK_OK)
        return rc;
    if (on_file(s, u)) {
        struct store_writer *w;
        rc = store_writer_open(s, u, content_type, &w, err);
        if (rc != LK_OK)
            return rc;
        rc = store_writer_write(w, data, len, err);
        if (rc != LK_OK) {
            store_writer_abort(w);
            return rc;
        }
        return store_writer_commit(w, info, err);
    }
    if ((rc = need_s3(s, err)) != LK_OK)
        return rc;
    return stores3_put(s->s3, u->bucket, u->key, data, len, content_type, info, err);
}

static enum lk_status writer_open(struct store *s, const struct store_url *u,
                                  const char *content_type, long long total_size,
                                  struct store_writer **out, struct lk_error *err)
{
    *out = NULL;
    enum lk_status rc = check_url(u, err);
    if (rc != LK_OK)
        return rc;
    struct store_writer *w = xcalloc(1, sizeof *w);
    if (on_file(s, u)) {
        if ((rc = key_path_ok(u->key, false, err)) == LK_OK) {
            char *path = file_path(s, u);
            rc = storef_writer_open(path, &w->f, err);
            free(path);
        }
    } else if ((rc = need_s3(s, err)) == LK_OK) {
        rc = total_size >= 0
            ? stores3_writer_open_sized(s->s3, u->bucket, u->key, content_type, total_size, &w->s3, err)
            : stores3_writer_open(s->s3, u->bucket, u->key, content_type, &w->s3, err);
    }
    if (rc != LK_OK) {
        free(w);
        return rc;
    }
    w->name = store_url_format(u);
    w->announced = total_size;
    *out = w;
    return LK_OK;
}

enum lk_status store_writer_open(struct store *s, const struct store_url *u,
                                 const char *content_type, struct store_writer **out,
                                 struct lk_error *err)
{
    return writer_open(s, u, content_type, -1, out, err);
}

enum lk_status store_writer_open_sized(struct store *s, const struct store_url *u,
                                       const char *content_type, long long total_size,
                                       struct store_writer **out, struct lk_error *err)
{
    if (total_size < -1)
        return err_set(err, LK_USAGE, "an object cannot have %lld bytes", total_size);
    return writer_open(s, u, content_type, total_size, out, err);
}

bool store_writer_single_shot(const struct store_writer *w)
{
    return w && w->s3 && stores3_writer_single_shot(w->s3);
}

enum lk_status store_writer_write(struct store_writer *w, const void *data, size_t len,
                                  struct lk_error *err)
{
    if (w->announced >= 0 && (long long)len > w->announced - w->written)
        return err_set(err, LK_FAIL, "cannot write %s: more than the %lld bytes announced", w->name,
                       w->announced);
    enum lk_status rc = w->f ? storef_writer_write(w->f, data, len, err)
                             : stores3_writer_write(w->s3, data, len, err);
    if (rc == LK_OK)
        w->written += (long long)len;
    return rc;
}

static void writer_free(struct store_writer *w)
{
    free(w->name);
    free(w);
}

enum lk_status store_writer_commit(struct store_writer *w, struct store_object_info *info,
                                   struct lk_error *err)
{
    if (info)
        memset(info, 0, sizeof *info);
    if (w->announced >= 0 && w->written != w->announced) {
        enum lk_status rc = err_set(err, LK_FAIL, "%s was not written: %lld bytes came where %lld were announced",
                                    w->name, w->written, w->announced);
        store_writer_abort(w);
        return rc;
    }
    enum lk_status rc = w->f ? storef_writer_commit(w->f, info, err)
                             : stores3_writer_commit(w->s3, info, err);
    writer_free(w);
    return rc;
}

void store_writer_abort(struct store_writer *w)
{
    if (!w)
        return;
    if (w->f)
        storef_writer_abort(w->f);
    else
        stores3_writer_abort(w->s3);
    writer_free(w);
}
