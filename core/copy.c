/* The copy pipeline: a download thread feeding the store writer in the
 * calling thread through a bounded queue (see copy.h). */
#include "copy.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "csvcount.h"
#include "mem.h"
#include "pipe_queue.h"
#include "zuora.h"

#define COPY_DEFAULT_BUFFERS 8
#define COPY_DEFAULT_BUFFER_SIZE ((size_t)1 << 20)
#define CSV_TYPE "text/csv;charset=UTF-8"
#define COPY_ATTEMPTS 4               /* of a single-shot PUT, each a fresh start */
#define COPY_BACKOFF_BASE_MS 500

void copy_result_free(struct copy_result *r)
{
    if (!r)
        return;
    xfree(&r->etag);
    xfree(&r->metadata_url);
    xfree(&r->metadata_etag);
}

/* ---- the source for a Zuora client ------------------------------------ */

static enum lk_status zuora_source_stream(void *ud, const char *file_id, http_sink_fn sink,
                                          void *sink_ud, http_rewind_fn rewind,
                                          long long *content_length_out, struct lk_error *err)
{
    return zuora_file_stream(ud, file_id, sink, sink_ud, rewind, content_length_out, err);
}

struct copy_source copy_source_zuora(struct zuora_client *zc)
{
    return (struct copy_source){ zuora_source_stream, zc };
}

/* ---- the download thread ---------------------------------------------- */

struct download {
    const struct copy_source *src;
    const struct copy_spec *spec;
    struct pipe_queue *q;
    const volatile int *cancel;

    char *cur;                    /* the buffer being filled */
    size_t cur_len;

    size_t seg;                   /* index of the file being downloaded */
    const char *seg_id;
    struct csvcount count;        /* of the current file */
    long long content_length;     /* of the current file, as the source said (-1: none) */
    long long seg_bytes;
    bool header_skipped;          /* files after the first: their header is dropped */
    struct buf hold;              /* a later file's bytes until its header's end is known */
    struct buf first_header;
    bool last_was_nl;             /* the last byte forwarded was '\n' */
    bool forwarded_any;

    /* read by the writer thread for progress */
    atomic_llong bytes_in;
    atomic_llong records;
    /* The size of the whole CSV when known before its first byte (a single
     * file with a Content-Length; a join of segments loses their headers),
     * else -1: set before the first buffer is pushed, so the writer can
     * open with it. */
    atomic_llong size_hint;
    bool hint_given;

    long long records_before;     /* in the files already done */
    long long bytes_out;
    enum lk_status status;
    struct lk_error err;
    bool stopped;                 /* our sink asked the transfer to stop */
};

static bool dl_cancelled(const struct download *d)
{
    return d->cancel && *d->cancel;
}

/* Copies bytes into queue buffers; false when the writer gave up. */
static bool dl_forward(struct download *d, const char *data, size_t len)
{
    size_t cap = pipe_queue_buf_size(d->q);
    if (len) {
        d->last_was_nl = data[len - 1] == '\n';
        d->forwarded_any = true;
    }
    while (len) {
        if (!d->cur) {
            d->cur = pipe_queue_acquire(d->q);
            if (!d->cur)
                return false;
            d->cur_len = 0;
        }
        size_t n = cap - d->cur_len < len ? cap - d->cur_len : len;
        memcpy(d->cur + d->cur_len, data, n);
        d->cur_len += n;
        d->bytes_out += (long long)n;
        data += n;
        len -= n;
        if (d->cur_len == cap) {
            pipe_queue_push(d->q, d->cur, d->cur_len);
            d->cur = NULL;
        }
    }
    return true;
}

static void dl_flush(struct download *d)
{
    if (d->cur && d->cur_len)
        pipe_queue_push(d->q, d->cur, d->cur_len);
    else if (d->cur)
        pipe_queue_unacquire(d->q, d->cur);
    d->cur = NULL;
}

/* A later file's header must be the first file's: otherwise the segments
 * are not one table and concatenating them would corrupt it. */
static bool dl_check_header(struct download *d)
{
    size_t start = d->count.bom_len;
    size_t end = (size_t)d->count.header_end;
    size_t len = end - start;
    size_t want_len = d->first_header.len;
    /* Compare without the line end: one file may end its header in CRLF. */
    while (len && (d->hold.data[start + len - 1] == '\n' || d->hold.data[start + len - 1] == '\r'))
        len--;
    while (want_len && (d->first_header.data[want_len - 1] == '\n' ||
                        d->first_header.data[want_len - 1] == '\r'))
        want_len--;
    if (len != want_len || memcmp(d->hold.data + start, d->first_header.data, len) != 0) {
        err_set(&d->err, LK_FAIL,
                "segment %zu of %zu (file %s) has a different header from the first segment; "
                "the segments cannot be joined",
                d->seg + 1, d->spec->n_segments, d->seg_id);
        return false;
    }
    return true;
}

/* Forwards what follows a later file's header, once its end is known. */
static bool dl_release_hold(struct download *d)
{
    if (!dl_check_header(d))
        return false;
    d->header_skipped = true;
    size_t from = (size_t)d->count.header_end;
    bool ok = true;
    if (from < d->hold.len) {
        if (d->forwarded_any && !d->last_was_nl)
            ok = dl_forward(d, "\n", 1);
        ok = ok && dl_forward(d, d->hold.data + from, d->hold.len - from);
    }
    buf_free(&d->hold);
    return ok;
}

static size_t dl_sink(const char *data, size_t len, void *ud)
{
    struct download *d = ud;
    if (dl_cancelled(d) || d->err.status != LK_OK) {
        d->stopped = true;
        return 0;
    }
    if (!d->hint_given) {
        d->hint_given = true;
        atomic_store(&d->size_hint, d->spec->file_id ? d->content_length : -1);
    }
    csvcount_feed(&d->count, data, len);
    d->seg_bytes += (long long)len;
    atomic_fetch_add(&d->bytes_in, (long long)len);
    bool ok;
    if (d->seg == 0 || d->header_skipped) {
        ok = dl_forward(d, data, len);
    } else {
        buf_append(&d->hold, data, len);
        ok = true;
        if (d->count.header_end >= 0)
            ok = dl_release_hold(d);
        else if (d->hold.len > CSVCOUNT_HEADER_MAX + 65536) {
            err_set(&d->err, LK_FAIL, "segment %zu (file %s): the header row is longer than %d bytes",
                    d->seg + 1, d->seg_id, CSVCOUNT_HEADER_MAX);
            ok = false;
        }
    }
    atomic_store(&d->records, d->records_before + csvcount_records(&d->count));
    if (!ok) {
        d->stopped = true;
        return 0;
    }
    return len;
}

/* The transfer may start over only while nothing of this file has been
 * taken: the bytes already handed on cannot be taken back. */
static bool dl_rewind(void *ud)
{
    const struct download *d = ud;
    return d->seg_bytes == 0;
}

/* Downloads one file: its bytes into the queue, its count checked. */
static enum lk_status dl_one(struct download *d, long long *records_total)
{
    csvcount_init(&d->count, d->seg == 0);
    d->records_before = *records_total;
    d->seg_bytes = 0;
    d->header_skipped = false;
    buf_init(&d->hold);
    d->content_length = -1;
    struct lk_error serr;
    err_clear(&serr);
    enum lk_status st = d->src->stream(d->src->ud, d->seg_id, dl_sink, d, dl_rewind,
                                       &d->content_length, &serr);
    long long content_length = d->content_length;
    long long records = 0;
    if (st == LK_OK && d->err.status == LK_OK && !dl_cancelled(d)) {
        struct lk_error cerr;
        err_clear(&cerr);
        if (csvcount_finish(&d->count, &records, &cerr) != LK_OK) {
            d->err = cerr;
            err_prefix(&d->err, "file %s", d->seg_id);
        } else if (content_length >= 0 && content_length != d->seg_bytes) {
            err_set(&d->err, LK_FAIL,
                    "file %s: Zuora said Content-Length %lld, %lld bytes arrived", d->seg_id,
                    content_length, d->seg_bytes);
        } else if (d->seg > 0 && !d->header_skipped && d->count.header_end >= 0) {
            if (!dl_release_hold(d) && d->err.status == LK_OK)
                err_set(&d->err, LK_FAIL, "the copy was stopped by the writer");
        }
        if (d->seg == 0 && d->err.status == LK_OK) {
            size_t hlen = 0;
            const char *h = csvcount_header(&d->count, &hlen);
            if (h)
                buf_append(&d->first_header, h, hlen);
        }
    }
    buf_free(&d->hold);
    csvcount_free(&d->count);
    if (d->err.status != LK_OK)
        return d->err.status;
    if (dl_cancelled(d))
        return err_set(&d->err, LK_FAIL, "the copy was cancelled");
    if (st != LK_OK) {
        d->err = serr;
        if (d->stopped && pipe_queue_failed(d->q))
            return d->err.status;
        err_prefix(&d->err, "downloading file %s from Zuora", d->seg_id);
        return st;
    }
    *records_total += records;
    atomic_store(&d->records, *records_total);
    return LK_OK;
}

static void *dl_main(void *arg)
{
    struct download *d = arg;
    const struct copy_spec *spec = d->spec;
    size_t n = spec->file_id ? 1 : spec->n_segments;
    long long records_total = 0;
    d->status = LK_OK;
    for (d->seg = 0; d->seg < n && d->status == LK_OK; d->seg++) {
        d->seg_id = spec->file_id ? spec->file_id : spec->segments[d->seg];
        d->status = dl_one(d, &records_total);
    }
    if (d->status == LK_OK) {
        dl_flush(d);
        atomic_store(&d->records, records_total);
    } else if (d->cur) {
        pipe_queue_unacquire(d->q, d->cur);
        d->cur = NULL;
    }
    pipe_queue_close(d->q);
    return NULL;
}

/* ---- the writer side (calling thread) --------------------------------- */

static void report(const struct copy_stream_opts *o, const struct copy_spec *spec,
                   struct download *d, long long bytes_written)
{
    if (!o || !o->progress)
        return;
    struct lk_progress p = {
        .what = spec->target,
        .bytes_done = bytes_written,
        .bytes_total = atomic_load(&d->size_hint),
        .records_done = atomic_load(&d->records),
        .records_total = spec->record_count,
    };
    o->progress(&p, o->progress_ud);
}

static enum lk_status check_spec(const struct copy_spec *spec, struct lk_error *err)
{
    if (!spec->file_id && spec->n_segments == 0)
        return err_set(err, LK_USAGE, "batch %s (%s) has neither a fileId nor segments: nothing to copy",
                       spec->batch_id ? spec->batch_id : "", spec->name ? spec->name : "");
    if (!spec->name || !spec->name[0])
        return err_set(err, LK_USAGE, "the copy needs the object's name for its metadata file");
    if (spec->record_count < 0)
        return err_set(err, LK_USAGE, "batch %s has no recordCount: the copy cannot be verified",
                       spec->batch_id ? spec->batch_id : "");
    return LK_OK;
}

/* ---- the previous metadata, set aside while the CSV is committed ------- */

struct meta_read {
    struct buf *text;
    bool too_big;
};

static size_t meta_sink(const char *data, size_t len, void *ud)
{
    struct meta_read *r = ud;
    if (r->text->len + len > COPY_METADATA_MAX) {
        r->too_big = true;
        return 0;
    }
    buf_append(r->text, data, len);
    return len;
}

enum lk_status copy_metadata_get(struct store *st, const struct store_url *mu, struct buf *out, bool *too_big,
                                 struct lk_error *err)
{
    struct meta_read r = { out, false };
    enum lk_status rc = store_get(st, mu, 0, -1, meta_sink, &r, err);
    if (too_big)
        *too_big = r.too_big;
    return rc;
}

/* The lake's check must never find a new CSV beside the previous file's
 * metadata: that one is deleted just before the commit, kept in memory,
 * and put back when the commit fails.  (Anything bigger than
 * COPY_METADATA_MAX is not ours.) */
struct meta_hold {
    bool had;
    struct buf text;
};

static enum lk_status meta_set_aside(struct store *st, const struct store_url *mu,
                                     struct meta_hold *h, struct lk_error *err)
{
    h->had = false;
    buf_init(&h->text);
    struct store_object_info info = { 0 };
    enum lk_status rc = store_head(st, mu, &info, err);
    bool exists = info.exists;
    store_object_info_free(&info);
    if (rc != LK_OK || !exists)
        return rc;
    rc = copy_metadata_get(st, mu, &h->text, NULL, err);
    if (rc == LK_OK)
        rc = store_delete(st, mu, err);
    if (rc != LK_OK) {
        buf_free(&h->text);
        return rc;
    }
    h->had = true;
    return LK_OK;
}

/* After a failed commit; err (the commit's failure) says when it could not. */
static void meta_put_back(struct store *st, const struct store_url *mu, const char *mu_text,
                          struct meta_hold *h, struct lk_error *err)
{
    if (h->had) {
        struct lk_error perr;
        err_clear(&perr);
        if (store_put(st, mu, h->text.data ? h->text.data : "", h->text.len, "application/json",
                      NULL, &perr) != LK_OK) {
            char text[600];
            size_t n = strlen(err->message);
            snprintf(err->message + n, sizeof err->message - n,
                     "; and the previous metadata %s could not be put back (%s): the lake sees the "
                     "previous CSV as not ready until the copy is run again",
                     mu_text, err_text(&perr, text, sizeof text));
        }
    }
    buf_free(&h->text);
    h->had = false;
}

/* ---- one attempt ------------------------------------------------------ */

struct attempt {
    const struct copy_source *src;
    struct store *st;
    const struct copy_spec *spec;
    const struct copy_stream_opts *opts;
    const struct store_url *url, *meta_url;
    const char *meta_url_text;
    /* Set when it failed in a way a fresh start may cure: a single-shot
     * PUT that S3 refused or lost for a reason it says to retry. */
    bool restart;
};

static bool opts_cancelled(const struct copy_stream_opts *o)
{
    return o && o->cancel && *o->cancel;
}

static enum lk_status stream_once(struct attempt *a, struct copy_result *res, struct lk_error *err)
{
    const struct copy_spec *spec = a->spec;
    const struct copy_stream_opts *opts = a->opts;
    struct store *st = a->st;
    enum lk_status status;
    a->restart = false;

    /* Opened when the first bytes arrive: by then the source may have said
     * how many there will be (one streaming PUT instead of a multipart
     * upload on S3). */
    struct store_writer *w = NULL;
    bool single_shot = false;
    size_t nbufs = opts && opts->queue_buffers ? opts->queue_buffers : COPY_DEFAULT_BUFFERS;
    size_t bsize = opts && opts->buffer_size ? opts->buffer_size : COPY_DEFAULT_BUFFER_SIZE;
    struct download d;
    memset(&d, 0, sizeof d);
    d.src = a->src;
    d.spec = spec;
    d.q = pipe_queue_new(nbufs, bsize);
    d.cancel = opts ? opts->cancel : NULL;
    buf_init(&d.first_header);
    atomic_init(&d.bytes_in, 0);
    atomic_init(&d.records, 0);
    atomic_init(&d.size_hint, -1);

    /* A cancel also interrupts an upload in flight; it is lifted again
     * before the abort or the commit, which must run to the end. */
    store_set_cancel(st, d.cancel);
    pthread_t thread;
    if (pthread_create(&thread, NULL, dl_main, &d) != 0) {
        store_set_cancel(st, NULL);
        pipe_queue_free(d.q);
        buf_free(&d.first_header);
        return err_set(err, LK_FAIL, "cannot start the download thread");
    }

    struct lk_error werr;
    err_clear(&werr);
    bool write_failed = false;
    long long written = 0;
    char *data;
    size_t len;
    while (pipe_queue_pop(d.q, &data, &len)) {
        if (!write_failed && opts_cancelled(opts)) {
            write_failed = true;
            err_set(&werr, LK_FAIL, "the copy was cancelled");
            pipe_queue_fail(d.q);
        }
        if (!write_failed && !w) {
            if (store_writer_open_sized(st, a->url, CSV_TYPE, atomic_load(&d.size_hint), &w, &werr) !=
                LK_OK) {
                write_failed = true;
                err_prefix(&werr, "writing %s", spec->target);
                pipe_queue_fail(d.q);
            } else {
                single_shot = store_writer_single_shot(w);
            }
        }
        if (!write_failed) {
            if (store_writer_write(w, data, len, &werr) != LK_OK) {
                write_failed = true;
                err_prefix(&werr, "writing %s", spec->target);
                pipe_queue_fail(d.q);
            } else {
                written += (long long)len;
            }
        }
        pipe_queue_release(d.q, data);
        if (!write_failed)
            report(opts, spec, &d, written);
    }
    pthread_join(thread, NULL);
    store_set_cancel(st, NULL);
    pipe_queue_free(d.q);
    buf_free(&d.first_header);

    if (write_failed) {
        store_writer_abort(w);
        *err = werr;
        a->restart = single_shot && werr.retryable && !opts_cancelled(opts);
        return werr.status ? werr.status : LK_FAIL;
    }
    if (d.status != LK_OK) {
        store_writer_abort(w);
        *err = d.err;
        return d.status;
    }
    long long records = atomic_load(&d.records);
    res->bytes = written;
    res->records = records;
    res->source_bytes = atomic_load(&d.bytes_in);
    if (records != spec->record_count) {
        store_writer_abort(w);
        return err_set(err, LK_FAIL,
                       "Zuora said %lld records, the file has %lld: %s was not written (batch %s, "
                       "file %s)",
                       spec->record_count, records, spec->target, spec->batch_id,
                       spec->file_id ? spec->file_id : spec->segments[0]);
    }
    if (opts_cancelled(opts)) {
        store_writer_abort(w);
        return err_set(err, LK_FAIL, "the copy was cancelled; nothing was written");
    }

    if (!w) {
        /* Nothing came at all: an empty object. */
        status = store_writer_open(st, a->url, CSV_TYPE, &w, err);
        if (status != LK_OK) {
            err_prefix(err, "writing %s", spec->target);
            return status;
        }
    }
    struct meta_hold hold;
    status = meta_set_aside(st, a->meta_url, &hold, err);
    if (status != LK_OK) {
        store_writer_abort(w);
        err_prefix(err, "%s was not written: the previous metadata %s could not be set aside",
                   spec->target, a->meta_url_text);
        return status;
    }
    struct store_object_info info = { 0 };
    status = store_writer_commit(w, &info, err);
    if (status != LK_OK) {
        err_prefix(err, "completing %s", spec->target);
        a->restart = single_shot && err->retryable && !opts_cancelled(opts);
        meta_put_back(st, a->meta_url, a->meta_url_text, &hold, err);
        return status;
    }
    buf_free(&hold.text);
    res->etag = xstrdup(info.etag);
    store_object_info_free(&info);
    report(opts, spec, &d, written);

    char *json = copy_metadata_json(spec);
    struct store_object_info minfo = { 0 };
    status = store_put(st, a->meta_url, json, strlen(json), "application/json", &minfo, err);
    free(json);
    if (status != LK_OK) {
        err_prefix(err, "the CSV %s was written but not its metadata %s, so the lake sees it as not "
                        "ready (run the copy again to write it)", spec->target, a->meta_url_text);
        return status;
    }
    res->metadata_url = xstrdup(a->meta_url_text);
    res->metadata_etag = xstrdup(minfo.etag);
    store_object_info_free(&minfo);
    return LK_OK;
}

/* A full-jitter backoff before attempt n+1, as S3.md asks for SlowDown. */
static long long restart_delay_ms(int n, unsigned *seed)
{
    long long cap = (long long)COPY_BACKOFF_BASE_MS << (n - 1);
    return (long long)rand_r(seed) % (cap + 1);
}

enum lk_status copy_stream(const struct copy_source *src, struct store *st,
                           const struct copy_spec *spec, const struct copy_stream_opts *opts,
                           struct copy_result *res, struct lk_error *err)
{
    memset(res, 0, sizeof *res);
    if (check_spec(spec, err) != LK_OK)
        return err->status;
    char *meta_url_text = copy_metadata_url(spec->target, spec->name);
    if (!meta_url_text)
        return err_set(err, LK_USAGE, "'%s' is not an object URL (s3://BUCKET/KEY or file:///DIR/KEY)",
                       spec->target);
    struct store_url url = { 0 }, meta_url = { 0 };
    enum lk_status status = store_url_parse(spec->target, &url, err);
    if (status == LK_OK)
        status = store_url_parse(meta_url_text, &meta_url, err);
    struct attempt a = { src, st, spec, opts, &url, &meta_url, meta_url_text, false };
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    unsigned seed = (unsigned)now.tv_nsec ^ (unsigned)now.tv_sec;
    /* A single-shot PUT cannot be resent from memory: its retry is the
     * whole copy again, a fresh download included (nothing was committed,
     * so the previous CSV and metadata are still in place). */
    for (int n = 1; status == LK_OK; n++) {
        status = stream_once(&a, res, err);
        res->attempts = n;
        if (status == LK_OK || !a.restart)
            break;
        if (n >= COPY_ATTEMPTS) {
            size_t len = strlen(err->message);
            snprintf(err->message + len, sizeof err->message - len,
                     " (tried %d times, each a fresh download and PUT)", n);
            break;
        }
        if (!http_nap(restart_delay_ms(n, &seed), opts ? opts->cancel : NULL)) {
            status = err_set(err, LK_FAIL, "the copy was cancelled; nothing was written");
            break;
        }
        copy_result_free(res);
        memset(res, 0, sizeof *res);
        err_clear(err);
        status = LK_OK;
    }
    free(meta_url_text);
    store_url_free(&url);
    store_url_free(&meta_url);
    return status;
}
