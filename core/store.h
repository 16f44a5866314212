/* Object stores: one interface, two backends.
 *
 *  - S3 (any S3-compatible server) over HTTP with libcurl's own SigV4:
 *    path-style for custom endpoints, virtual-host style for AWS.
 *  - file://DIR: buckets are folders under DIR; writes go to a temporary
 *    name in the same folder, fsync, rename: never a half-written file under
 *    the final name.
 *
 * Which backend: the URL scheme of what is addressed (s3://BUCKET/KEY uses
 * the environment's s3.endpoint, which may itself be file://DIR;
 * file:///abs/dir/KEY addresses a folder directly). */
#ifndef LAKEOP_STORE_H
#define LAKEOP_STORE_H

#include <stdbool.h>
#include <stddef.h>

#include "config.h"
#include "err.h"
#include "http.h"

struct store;           /* opaque; one per thread */
struct store_writer;    /* an object being written; invisible until committed */

struct store_url {
    char *bucket;       /* s3://BUCKET/KEY → BUCKET; file:///a/b/KEY → "/a/b" (the folder) */
    char *key;          /* may be "" (a bucket or prefix) */
    bool is_file;       /* file:// URL */
};

struct store_object_info {
    bool exists;
    long long size;
    char *etag;         /* quotes kept for S3; file://: "size-mtime_ns" */
    long long mtime;    /* unix seconds */
};

struct store_list_entry {
    const char *key;
    long long size;
    long long mtime;
    const char *etag;
};

/* Return false to stop listing early. */
typedef bool (*store_list_fn)(const struct store_list_entry *entry, void *ud);

enum lk_status store_url_parse(const char *url, struct store_url *out, struct lk_error *err);
void store_url_free(struct store_url *u);
/* "s3://BUCKET/KEY" or "file:///dir/KEY"; caller frees. */
char *store_url_format(const struct store_url *u);

/* The store for an environment (http is borrowed and must outlive it). */
enum lk_status store_open(const struct cfg_env *env, struct http_client *http,
                          struct store **out, struct lk_error *err);
void store_free(struct store *s);

/* A cheap request proving the store is reachable and the credentials work. */
enum lk_status store_ping(struct store *s, const char *bucket, struct lk_error *err);

/* info->exists = false (and LK_OK) when the object is not there. */
enum lk_status store_head(struct store *s, const struct store_url *u,
                          struct store_object_info *info, struct lk_error *err);
void store_object_info_free(struct store_object_info *info);
/* store_head of an object named by its URL (s3://BUCKET/KEY, file:///DIR/KEY). */
enum lk_status store_head_url(struct store *s, const char *url, struct store_object_info *info,
                              struct lk_error *err);

/* Streams bytes [offset, offset+length) (length -1: to the end) into sink. */
enum lk_status store_get(struct store *s, const struct store_url *u, long long offset,
                         long long length, http_sink_fn sink, void *ud, struct lk_error *err);

/* ListObjectsV2 with paging (every page, in key order). */
enum lk_status store_list(struct store *s, const struct store_url *prefix, store_list_fn fn,
                          void *ud, struct lk_error *err);

/* Server-side copy (S3 CopyObject; a 200 carrying <Error> is a failure). */
enum lk_status store_copy(struct store *s, const struct store_url *from,
                          const struct store_url *to, struct lk_error *err);

/* Whether two objects hold the same bytes.  On S3 equal ETags say so (the
 * MD5 of the bytes, or for a multipart upload the MD5 of its parts' MD5s:
 * equal either way means equal bytes).  Different ETags prove nothing (a
 * multipart object copied by CopyObject gets a single-part ETag; SSE-KMS
 * ETags are not MD5s), and file:// has no content ETag: then both objects
 * are read and their SHA-256 compared. */
enum lk_status store_same_content(struct store *s, const struct store_url *a, const struct store_url *b,
                                  bool *same, struct lk_error *err);

/* Deleting a missing object is not an error. */
enum lk_status store_delete(struct store *s, const struct store_url *u, struct lk_error *err);

/* Small objects (metadata files, manifests): one PUT. */
enum lk_status store_put(struct store *s, const struct store_url *u, const void *data, size_t len,
                         const char *content_type, struct store_object_info *info,
                         struct lk_error *err);

/* Streaming writes in constant memory: S3 uses a single PUT below the part
 * size and multipart above it with one reused part buffer; file:// a
 * temporary file.  Nothing is visible until store_writer_commit() succeeds;
 * store_writer_abort() (or a failed commit) leaves no trace. */
enum lk_status store_writer_open(struct store *s, const struct store_url *u,
                                 const char *content_type, struct store_writer **out,
                                 struct lk_error *err);
enum lk_status store_writer_write(struct store_writer *w, const void *data, size_t len,
                                  struct lk_error *err);
enum lk_status store_writer_commit(struct store_writer *w, struct store_object_info *info,
                                   struct lk_error *err);   /* frees w */
void store_writer_abort(struct store_writer *w);              /* frees w */

/* As store_writer_open, for an object whose size is known before its first
 * byte (total_size; -1: not known, which is store_writer_open).  Writing
 * more, or committing fewer, bytes than announced fails and leaves no
 * trace.  On S3 a size above the part size and at most 5 GiB goes as ONE
 * streaming PUT (a single request's speed, no part buffer, no reassembly):
 * bytes are sent as they are written and the last one is held back until
 * store_writer_commit(), so an abort still leaves the previous object in
 * place.  Such a PUT cannot be retried once bytes were sent: a failure is
 * final and the caller writes again from the start.  Anything else (file://,
 * small or larger objects) is written as store_writer_open does. */
enum lk_status store_writer_open_sized(struct store *s, const struct store_url *u,
                                       const char *content_type, long long total_size,
                                       struct store_writer **out, struct lk_error *err);
/* True when w is such a streaming PUT: its failures are never retried
 * inside the store, so one marked err->retryable calls for writing the
 * object again from its first byte (copy.h does). */
bool store_writer_single_shot(const struct store_writer *w);

/* Tuning and test knobs (additions to the contract above).
 * Part size of S3 multipart uploads (default 16 MiB, or $LAKEOP_S3_PART_SIZE
 * read by store_open, e.g. "5M"); below 5 MiB is refused.  Memory used by a
 * writer is one part. */
enum lk_status store_set_part_size(struct store *s, size_t bytes, struct lk_error *err);
/* Keys per ListObjectsV2 page (default and maximum 1000, or
 * $LAKEOP_S3_LIST_MAX_KEYS read by store_open); tests use small pages to
 * exercise paging. */
void store_set_list_page(struct store *s, int max_keys);
/* Non-zero *cancel stops transfers as soon as possible (borrowed). */
void store_set_cancel(struct store *s, const volatile int *cancel);

#endif
