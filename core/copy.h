/* Copying a Zuora batch's file to its raw target, the lake's side of
 * ZUORA.md ("The lake's side of a copy").
 *
 * copy_stream() is the pipeline: the file (or its segments, in order, one
 * header kept) is downloaded in one thread and handed through a bounded
 * queue of fixed buffers to the store writer in the calling thread, so
 * memory stays constant whatever the size.  Bytes and records are counted
 * on the way (csvcount.h); only when the records equal the batch's
 * recordCount and every segment's bytes equal its Content-Length is the CSV
 * committed, and then metadata/<Name>.json written beside it.  Any failure,
 * a mismatch or a cancel aborts the writer: nothing new becomes visible.
 *
 * The lake's pre-condition check reads the metadata, so it must never sit
 * beside a CSV it does not describe: the previous metadata is deleted just
 * before the CSV is committed (and put back if the commit fails), so a
 * metadata write that fails afterwards, or a kill in between, leaves no
 * metadata at all, which the lake treats as "not ready", never the previous
 * file's metadata beside the new CSV.  Running the copy again repairs it.
 *
 * A single file whose size Zuora announces goes to S3 as one streaming PUT
 * (store_writer_single_shot), which S3 cannot be asked to take again once
 * bytes were sent.  When it fails for a reason S3.md says to retry (500,
 * 503 SlowDown, a dropped connection), the whole copy starts over: a fresh
 * download and a new PUT, with backoff, up to 4 attempts; nothing was
 * committed meanwhile, so the previous CSV and metadata stay.
 *
 * copy_batch() is the operation: it checks whether the same file was already
 * copied there (lakeop.copies, by file and target, and the object's size
 * and ETag), runs the pipeline, records the copy there, on the batch when
 * the target is its raw one, and in the audit. */
#ifndef LAKEOP_COPY_H
#define LAKEOP_COPY_H

#include <stdbool.h>
#include <stddef.h>

#include <libpq-fe.h>

#include "buf.h"
#include "ctx.h"
#include "err.h"
#include "http.h"
#include "store.h"

struct zuora_client;

/* Where the bytes come from: zuora_file_stream()'s shape, so that tests and
 * benchmarks can put any source behind the pipeline.  A source that sets
 * *content_length_out before the first byte reaches the sink lets a single
 * file go to S3 as one streaming PUT (store_writer_open_sized); otherwise
 * it is written as a multipart upload. */
typedef enum lk_status (*copy_stream_fn)(void *ud, const char *file_id, http_sink_fn sink,
                                         void *sink_ud, http_rewind_fn rewind,
                                         long long *content_length_out, struct lk_error *err);

struct copy_source {
    copy_stream_fn stream;
    void *ud;
};

/* The source for a Zuora client (borrowed; used from the download thread
 * only while a copy runs). */
struct copy_source copy_source_zuora(struct zuora_client *zc);

/* One batch's file and where it goes. */
struct copy_spec {
    const char *job_id;
    const char *batch_id;        /* "" when the file belongs to no known batch */
    const char *name;            /* the object: "InvoiceItem" (metadata name and file) */
    const char *file_id;         /* NULL when segments are given */
    const char *const *segments; /* file ids, in order */
    size_t n_segments;
    long long record_count;      /* the batch's recordCount */
    const char *target;          /* the CSV's URL: s3://BUCKET/Obj.csv, file:///dir/Obj.csv */
};

struct copy_stream_opts {
    lk_progress_fn progress;     /* may be NULL; called from the calling thread */
    void *progress_ud;
    const volatile int *cancel;  /* may be NULL */
    size_t queue_buffers;        /* 0: 8 */
    size_t buffer_size;          /* 0: 1 MiB */
};

struct copy_result {
    long long bytes;             /* bytes written to the CSV */
    long long records;
    long long source_bytes;      /* bytes downloaded (with every segment's header) */
    char *etag;                  /* of the committed CSV */
    char *metadata_url;
    char *metadata_etag;
    bool already_copied;         /* copy_batch(): nothing done, it was there */
    bool metadata_only;          /* copy_batch(): the CSV was there, only its metadata was written */
    int attempts;                /* of the pipeline (more than 1 after a restarted PUT) */
};

void copy_result_free(struct copy_result *r);

/* metadata/<name>.json in the CSV's folder: s3://B/dir/Obj.csv and "Obj"
 * give s3://B/dir/metadata/Obj.json.  Caller frees; NULL when target is
 * not a store URL. */
char *copy_metadata_url(const char *target, const char *name);
/* A metadata file is a few hundred bytes; anything this big is not one. */
#define COPY_METADATA_MAX 65536
/* Appends the metadata file at mu to out; past COPY_METADATA_MAX bytes it
 * fails and *too_big (may be NULL) says that was why. */
enum lk_status copy_metadata_get(struct store *st, const struct store_url *mu, struct buf *out, bool *too_big,
                                 struct lk_error *err);

/* The file's id, or its segments' ids joined by "," (the metadata's
 * fileId, and what a copy is recorded under with its target).  Caller
 * frees. */
char *copy_file_ids(const struct copy_spec *spec);

/* The metadata file's text, laid out exactly as ZUORA.md shows it (no final
 * newline).  A segmented file's fileId lists its segments joined by ",".
 * Caller frees. */
char *copy_metadata_json(const struct copy_spec *spec);

/* The pipeline alone (no database): stream, verify, commit, metadata. */
enum lk_status copy_stream(const struct copy_source *src, struct store *st,
                           const struct copy_spec *spec, const struct copy_stream_opts *opts,
                           struct copy_result *res, struct lk_error *err);

/* The operation: unless force, a no-op when lakeop.copies says this file
 * (its id, or its segments' ids) was copied to this target and the object
 * there still has that size and ETag (and its metadata exists; when only the
 * metadata is missing, it alone is written): known batch or not.  Records
 * the copy in lakeop.copies and the audit; on lakeop.zuora_batches and in
 * lakeop.increments only when the target is the object's configured raw
 * target (ctx->env), so a copy by hand elsewhere leaves the batch's state
 * alone (ctx->db may be NULL for none of it). */
enum lk_status copy_batch(struct lk_ctx *ctx, const struct copy_source *src, struct store *st,
                          const struct copy_spec *spec, bool force, struct copy_result *res,
                          struct lk_error *err);

/* For a plan: whether copy_batch() would find this file already copied
 * to this target (the caller asks only when force does not apply). */
enum lk_status copy_already_done(struct lk_ctx *ctx, struct store *st, const struct copy_spec *spec,
                                 bool *done, struct lk_error *err);

/* For a plan, before anything is downloaded: the target's bucket exists
 * (S3: HEAD bucket; an s3.endpoint of file://DIR: the folder DIR/BUCKET; a
 * file:///DIR/KEY target: DIR).  A missing one is LK_NOTFOUND, "bucket X
 * does not exist": a typo must not create a bucket.  Any other answer (a
 * 403 from credentials that may put objects but not list the bucket) is
 * left to the copy's own requests. */
enum lk_status copy_check_bucket(struct store *st, const char *target, struct lk_error *err);

/* The known batch a Zuora file id belongs to (lakeop.zuora_batches), for a
 * manual upload.  LK_NOTFOUND when no batch has it.  *segment_of is set
 * (and the other fields too) when the id is one segment of a segmented
 * batch rather than its whole file. */
struct copy_known_file {
    char *job_id;
    char *batch_id;
    char *name;
    long long record_count;      /* -1 when the batch has none */
    bool segment_of;
};
enum lk_status copy_find_file(PGconn *db, const char *file_id, struct copy_known_file *out,
                              struct lk_error *err);
void copy_known_file_free(struct copy_known_file *f);

#endif
