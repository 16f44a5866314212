/* Between core/store.c (dispatch) and its two backends: the local-folder
 * backend (core/store_file.c, prefix storef_) and S3 (core/store_s3.c,
 * prefix stores3_).  Not for use outside the object store, except by its
 * unit tests. */
#ifndef LAKEOP_STORE_INTERNAL_H
#define LAKEOP_STORE_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"
#include "err.h"
#include "http.h"
#include "store.h"

/* ---- local folders ---------------------------------------------------- */

struct storef_writer;

/* True when name is one of our temporary files (never listed, never a key). */
bool storef_is_temp_name(const char *name);

enum lk_status storef_ping(const char *dir, struct lk_error *err);
enum lk_status storef_head(const char *path, struct store_object_info *info, struct lk_error *err);
enum lk_status storef_get(const char *path, long long offset, long long length, http_sink_fn sink,
                          void *ud, const volatile int *cancel, struct lk_error *err);
/* Lists the files under dir whose key (path relative to dir) starts with
 * prefix, in key order (byte order, as S3 does). */
enum lk_status storef_list(const char *dir, const char *prefix, store_list_fn fn, void *ud,
                           struct lk_error *err);
enum lk_status storef_copy(const char *from, const char *to, const volatile int *cancel,
                           struct lk_error *err);
enum lk_status storef_delete(const char *path, struct lk_error *err);

enum lk_status storef_writer_open(const char *path, struct storef_writer **out, struct lk_error *err);
enum lk_status storef_writer_write(struct storef_writer *w, const void *data, size_t len,
                                   struct lk_error *err);
enum lk_status storef_writer_commit(struct storef_writer *w, struct store_object_info *info,
                                    struct lk_error *err);
void storef_writer_abort(struct storef_writer *w);

/* ---- S3 ---------------------------------------------------------------- */

struct stores3;
struct stores3_writer;

struct stores3_config {
    const char *env_name;       /* for messages: "check AWS credentials for environment X" */
    const char *endpoint;       /* NULL: https://s3.REGION.amazonaws.com */
    const char *region;         /* NULL: us-east-1 */
    const char *access_key;     /* NULL: requests are sent unsigned */
    const char *secret_key;
    const char *session_token;
    const char *ca_bundle;      /* NULL: the system's */
};

/* Smallest part S3 accepts (except for the last one), and our default. */
#define STORES3_MIN_PART ((size_t)5 << 20)
#define STORES3_DEFAULT_PART ((size_t)16 << 20)

enum lk_status stores3_new(const struct stores3_config *cfg, struct http_client *http,
                           struct stores3 **out, struct lk_error *err);
void stores3_free(struct stores3 *s);
void stores3_set_part_size(struct stores3 *s, size_t bytes);
void stores3_set_list_page(struct stores3 *s, int max_keys);
void stores3_set_cancel(struct stores3 *s, const volatile int *cancel);

enum lk_status stores3_ping(struct stores3 *s, const char *bucket, struct lk_error *err);
enum lk_status stores3_head(struct stores3 *s, const char *bucket, const char *key,
                            struct store_object_info *info, struct lk_error *err);
enum lk_status stores3_get(struct stores3 *s, const char *bucket, const char *key, long long offset,
                           long long length, http_sink_fn sink, void *ud, struct lk_error *err);
enum lk_status stores3_list(struct stores3 *s, const char *bucket, const char *prefix,
                            store_list_fn fn, void *ud, struct lk_error *err);
enum lk_status stores3_copy(struct stores3 *s, const char *from_bucket, const char *from_key,
                            const char *to_bucket, const char *to_key, struct lk_error *err);
enum lk_status stores3_delete(struct stores3 *s, const char *bucket, const char *key,
                              struct lk_error *err);
enum lk_status stores3_put(struct stores3 *s, const char *bucket, const char *key, const void *data,
                           size_t len, const char *content_type, struct store_object_info *info,
                           struct lk_error *err);

enum lk_status stores3_writer_open(struct stores3 *s, const char *bucket, const char *key,
                                   const char *content_type, struct stores3_writer **out,
                                   struct lk_error *err);
/* One streaming PUT when total_size is above the part size and within a
 * single PUT's limit (5 GiB); otherwise as stores3_writer_open. */
enum lk_status stores3_writer_open_sized(struct stores3 *s, const char *bucket, const char *key,
                                         const char *content_type, long long total_size,
                                         struct stores3_writer **out, struct lk_error *err);
bool stores3_writer_single_shot(const struct stores3_writer *w);
enum lk_status stores3_writer_write(struct stores3_writer *w, const void *data, size_t len,
                                    struct lk_error *err);
enum lk_status stores3_writer_commit(struct stores3_writer *w, struct store_object_info *info,
                                     struct lk_error *err);
void stores3_writer_abort(struct stores3_writer *w);

/* The retry decision for S3 answers (an http_retry_fn): the HTTP layer's
 * statuses, plus RequestTimeout (a 400) and InternalError / SlowDown /
 * ServiceUnavailable / RequestTimeout inside a 200 (CopyObject and
 * CompleteMultipartUpload).  Never credentials, missing buckets or uploads. */
bool stores3_retry(const struct http_response *resp, void *ud);

/* Appends text percent-encoded the way SigV4 signs it: A-Za-z0-9-._~ kept
 * (and '/' when keep_slash), everything else %XX in upper case. */
void stores3_encode(struct buf *out, const char *text, bool keep_slash);

/* The URL of an object (key may be "" for the bucket itself) without the
 * query: path style for custom endpoints, virtual-host style for AWS
 * (except bucket names with dots, which TLS certificates do not cover). */
char *stores3_object_url(const struct stores3 *s, const char *bucket, const char *key);

#endif
