/* The object store on S3 (and S3-compatible servers) through the HTTP
 * layer, signed by libcurl's SigV4.  The rules measured with libcurl 7.88
 * are in ../shared/design/S3.md; in short: we always send
 * x-amz-content-sha256 (libcurl does not), write paths and queries exactly
 * as they are signed (encoded, parameters sorted), give PUTs a known length,
 * and never follow redirects.
 *
 * Streaming writes keep one part buffer: a single PUT when the whole object
 * fits in it, a multipart upload otherwise.  A part stays in the buffer
 * until S3 accepted it, so a retry resends the same bytes; any failure
 * aborts the upload so that no invisible parts are left behind (they cost
 * money until a lifecycle rule removes them).
 *
 * When the size is announced up front (stores3_writer_open_sized) and is
 * above one part but within a single PUT's limit, the object goes as ONE
 * streaming PUT through an upload pipe (upload_pipe.h) on its own thread
 * and HTTP client: no part buffer, no reassembly on Complete (s3rver
 * rewrites the whole object there), a single request's speed.  The pipe
 * holds the last byte back until the commit, so an abort still leaves the
 * previous object.  Such a PUT cannot be retried once bytes were sent:
 * the store's caller starts it over (stores3_writer_single_shot). */
#include "store_internal.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "mem.h"
#include "s3_xml.h"
#include "upload_pipe.h"

#define MAX_PARTS 10000
#define LIST_PAGE_MAX 1000
#define SMALL_TIMEOUT_MS 120000L    /* one request without a streamed body */
#define MAX_RESUMES 5               /* GETs picked up where a dropped connection left them */
#define MAX_HEADERS 8
#define MAX_SINGLE_PUT ((long long)5 << 30)   /* S3's limit on one PUT */
#define STREAM_STALL_S 120L         /* a streamed body waits on its source too */

struct stores3 {
    struct http_client *http;
    char *ca_bundle;        /* for the streaming PUT's own HTTP client */
    char *env_name;
    char *scheme;           /* "http" or "https" */
    char *host;             /* host[:port] */
    char *base_path;        /* any path of the endpoint itself, normally "" */
    bool aws;               /* *.amazonaws.com: virtual-host style */
    char *region;
    char *sigv4;
    char *access_key;
    char *secret_key;
    char *token_header;     /* "x-amz-security-token: …" or NULL */
    size_t part_size;
    int list_page;
    const volatile int *cancel;
};

struct stores3_writer {
    struct stores3 *s;
    char *bucket;
    char *key;
    char *content_type;
    char *part;             /* the one part buffer */
    size_t part_len;
    size_t part_cap;        /* the part size when the writer opened */
    char *upload_id;        /* NULL until the object outgrows one part */
    struct upload_pipe *pipe;   /* a streaming single PUT; then part is NULL */
    struct http_client *pipe_http;
    char *pipe_etag;        /* written by the pipe's thread, read after it ended */
    int n_parts;
    struct buf parts_xml;   /* <Part> elements of the parts S3 accepted */
    long long total;
    bool failed;
    struct lk_error failure;
};

/* ---- addressing ----------------------------------------------------------- */

void stores3_encode(struct buf *out, const char *text, bool keep_slash)
{
    static const char hex[] = "0123456789ABCDEF";
    for (const unsigned char *p = (const unsigned char *)(text ? text : ""); *p; p++) {
        if (isalnum(*p) || *p == '-' || *p == '.' || *p == '_' || *p == '~' || (keep_slash && *p == '/')) {
            buf_putc(out, (char)*p);
        } else {
            char enc[3] = { '%', hex[*p >> 4], hex[*p & 15] };
            buf_append(out, enc, 3);
        }
    }
}

static bool virtual_host(const struct stores3 *s, const char *bucket)
{
    /* Dotted names do not match the *.s3 wildcard certificate. */
    return s->aws && bucket && *bucket && !strchr(bucket, '.');
}

char *stores3_object_url(const struct stores3 *s, const char *bucket, const char *key)
{
    struct buf b = BUF_INIT;
    if (!bucket || !*bucket) {
        buf_printf(&b, "%s://%s%s/", s->scheme, s->host, s->base_path);
    } else if (virtual_host(s, bucket)) {
        buf_printf(&b, "%s://%s.%s%s/", s->scheme, bucket, s->host, s->base_path);
        stores3_encode(&b, key, true);
    } else {
        buf_printf(&b, "%s://%s%s/", s->scheme, s->host, s->base_path);
        stores3_encode(&b, bucket, false);
        if (key && *key) {
            buf_putc(&b, '/');
            stores3_encode(&b, key, true);
        }
    }
    return buf_detach(&b);
}

/* For messages: s3://BUCKET/KEY as people write it. */
static char *s3_name(const char *bucket, const char *key)
{
    return xasprintf("s3://%s/%s", bucket ? bucket : "", key ? key : "");
}

/* ---- opening -------------------------------------------------------------- */

enum lk_status stores3_new(const struct stores3_config *cfg, struct http_client *http,
                           struct stores3 **out, struct lk_error *err)
{
    *out = NULL;
    const char *region = cfg->region && *cfg->region ? cfg->region : "us-east-1";
    char *endpoint = cfg->endpoint && *cfg->endpoint ? xstrdup(cfg->endpoint)
                                                     : xasprintf("https://s3.%s.amazonaws.com", region);
    const char *rest;
    const char *scheme;
    if (strncasecmp(endpoint, "https://", 8) == 0) {
        scheme = "https";
        rest = endpoint + 8;
    } else if (strncasecmp(endpoint, "http://", 7) == 0) {
        scheme = "http";
        rest = endpoint + 7;
    } else {
        err_set(err, LK_USAGE, "s3.endpoint = %s: expected https://HOST, http://HOST:PORT or file:///FOLDER",
                endpoint);
        free(endpoint);
        return LK_USAGE;
    }
    size_t hlen = strcspn(rest, "/?#");
    if (hlen == 0 || rest[hlen] == '?' || rest[hlen] == '#' || memchr(rest, '@', hlen)) {
        err_set(err, LK_USAGE, "s3.endpoint = %s: expected https://HOST, http://HOST:PORT or file:///FOLDER",
                endpoint);
        free(endpoint);
        return LK_USAGE;
    }
    struct stores3 *s = xcalloc(1, sizeof *s);
    s->http = http;
    s->ca_bundle = cfg->ca_bundle && *cfg->ca_bundle ? xstrdup(cfg->ca_bundle) : NULL;
    s->env_name = xstrdup(cfg->env_name ? cfg->env_name : "default");
    s->scheme = xstrdup(scheme);
    s->host = xstrndup(rest, hlen);
    const char *path = rest + hlen;
    size_t plen = strlen(path);
    while (plen && path[plen - 1] == '/')
        plen--;
    s->base_path = xstrndup(path, plen);
    char *hostname = xstrndup(s->host, strcspn(s->host, ":"));
    size_t hn = strlen(hostname);
    static const char aws_suffix[] = ".amazonaws.com";
    s->aws = hn > sizeof aws_suffix - 1 &&
             strcasecmp(hostname + hn - (sizeof aws_suffix - 1), aws_suffix) == 0;
    free(hostname);
    s->region = xstrdup(region);
    s->sigv4 = xasprintf("aws:amz:%s:s3", region);
    if (cfg->access_key && *cfg->access_key) {
        s->access_key = xstrdup(cfg->access_key);
        s->secret_key = xstrdup(cfg->secret_key ? cfg->secret_key : "");
        http_client_add_secret(http, s->secret_key);
    }
    if (cfg->session_token && *cfg->session_token) {
        s->token_header = xasprintf("x-amz-security-token: %s", cfg->session_token);
        http_client_add_secret(http, cfg->session_token);
    }
    s->part_size = STORES3_DEFAULT_PART;
    s->list_page = LIST_PAGE_MAX;
    free(endpoint);
    *out = s;
    return LK_OK;
}

void stores3_free(struct stores3 *s)
{
    if (!s)
        return;
    free(s->ca_bundle);
    free(s->env_name);
    free(s->scheme);
    free(s->host);
    free(s->base_path);
    free(s->region);
    free(s->sigv4);
    free(s->access_key);
    free(s->secret_key);
    free(s->token_header);
    free(s);
}

void stores3_set_part_size(struct stores3 *s, size_t bytes)
{
    s->part_size = bytes < STORES3_MIN_PART ? STORES3_MIN_PART : bytes;
}

void stores3_set_list_page(struct stores3 *s, int max_keys)
{
    s->list_page = max_keys < 1 ? 1 : max_keys > LIST_PAGE_MAX ? LIST_PAGE_MAX : max_keys;
}

void stores3_set_cancel(struct stores3 *s, const volatile int *cancel)
{
    s->cancel = cancel;
}

/* ---- requests ------------------------------------------------------------- */

struct headers {
    const char *list[MAX_HEADERS + 1];
    char *owned[MAX_HEADERS];
    int n, n_owned;
};

static void headers_init(struct headers *h, const struct stores3 *s)
{
    memset(h, 0, sizeof *h);
    /* libcurl 7.88 neither computes nor sends it, and S3 requires it. */
    h->list[h->n++] = "x-amz-content-sha256: UNSIGNED-PAYLOAD";
    if (s->token_header)
        h->list[h->n++] = s->token_header;
}

static void headers_add(struct headers *h, char *owned_header)
{
    if (h->n >= MAX_HEADERS) {
        free(owned_header);
        return;
    }
    h->owned[h->n_owned++] = owned_header;
    h->list[h->n++] = owned_header;
}

static void headers_free(struct headers *h)
{
    for (int i = 0; i < h->n_owned; i++)
        free(h->owned[i]);
}

static bool code_retryable(const char *code)
{
    return code && (strcmp(code, "InternalError") == 0 || strcmp(code, "SlowDown") == 0 ||
                    strcmp(code, "ServiceUnavailable") == 0 || strcmp(code, "RequestTimeout") == 0);
}

/* An <Error> document starts the body (after at most an XML declaration). */
static bool body_has_error(const struct http_response *resp)
{
    size_t n = resp->body.len < 512 ? resp->body.len : 512;
    return n && memmem(resp->body.data, n, "<Error>", 7) != NULL;
}

/* S3's retry rules on top of the HTTP layer's: RequestTimeout comes as a
 * 400, and CopyObject / CompleteMultipartUpload may put an error in a 200. */
bool stores3_retry(const struct http_response *resp, void *ud)
{
    if (http_status_retryable(resp->status))
        return true;
    if ((resp->status == 400 || resp->status == 200) && body_has_error(resp)) {
        struct s3_xml_error e;
        bool retry = false;
        if (s3_xml_error_parse(resp->body.data, resp->body.len, &e))
            retry = code_retryable(e.code);
        s3_xml_error_free(&e);
        return retry;
    }
    return false;
}

static void request_init(const struct stores3 *s, struct http_request *req, const char *method,
                         const char *url, const struct headers *h)
{
    memset(req, 0, sizeof *req);
    req->method = method;
    req->url = url;
    req->headers = h->list;
    if (s->access_key) {
        req->aws_sigv4 = s->sigv4;
        req->aws_key = s->access_key;
        req->aws_secret = s->secret_key;
    }
    req->timeout_ms = SMALL_TIMEOUT_MS;
    req->retry = stores3_retry;
    req->cancel = s->cancel;
}

/* Turns an S3 answer that is not a success into our words plus S3's own. */
static enum lk_status s3_fail(const struct stores3 *s, const char *verb, const char *bucket,
                              const char *key, const struct http_response *resp, struct lk_error *err)
{
    struct s3_xml_error x;
    bool has_xml = s3_xml_error_parse(resp->body.data, resp->body.len, &x);
    const char *code = has_xml ? x.code : NULL;
    long status = resp->status;
    char *what = key ? s3_name(bucket, key) : xasprintf("bucket '%s'", bucket ? bucket : "");
    char reason[600];
    enum lk_status st = LK_FAIL;
#define CODE(c) (code && strcmp(code, c) == 0)
    if (CODE("NoSuchBucket") || (!code && status == 404 && !key)) {
        snprintf(reason, sizeof reason, "bucket '%s' does not exist", bucket ? bucket : "");
        st = LK_NOTFOUND;
    } else if (CODE("NoSuchKey") || (!code && status == 404)) {
        snprintf(reason, sizeof reason, "it does not exist");
        st = LK_NOTFOUND;
    } else if (CODE("InvalidAccessKeyId")) {
        snprintf(reason, sizeof reason,
                 "the S3 server does not know the access key id: check AWS credentials for environment '%s'",
                 s->env_name);
    } else if (CODE("SignatureDoesNotMatch")) {
        snprintf(reason, sizeof reason,
                 "the request signature does not match: check the AWS secret access key for environment '%s'",
                 s->env_name);
    } else if (CODE("AccessDenied") || CODE("AllAccessDisabled") || (!code && status == 403)) {
        snprintf(reason, sizeof reason, "access denied: check AWS credentials for environment '%s'%s",
                 s->env_name, s->access_key ? "" : " (none are configured)");
    } else if (CODE("ExpiredToken") || CODE("TokenRefreshRequired")) {
        snprintf(reason, sizeof reason, "the AWS session token has expired: renew the credentials for environment '%s'",
                 s->env_name);
    } else if (CODE("InvalidToken")) {
        snprintf(reason, sizeof reason, "the AWS session token is not valid: renew the credentials for environment '%s'",
                 s->env_name);
    } else if (CODE("RequestTimeTooSkewed")) {
        snprintf(reason, sizeof reason, "this machine's clock is too far from the S3 server's: fix the clock");
    } else if (CODE("NoSuchUpload")) {
        snprintf(reason, sizeof reason, "the multipart upload no longer exists (aborted or expired)");
    } else if (CODE("InvalidPart") || CODE("InvalidPartOrder") || CODE("EntityTooSmall")) {
        snprintf(reason, sizeof reason, "S3 refused the uploaded parts");
    } else if (CODE("EntityTooLarge")) {
        snprintf(reason, sizeof reason, "the object is larger than S3 accepts in one request");
    } else if (CODE("InvalidRange") || status == 416) {
        snprintf(reason, sizeof reason, "the requested byte range is past the end of the object");
    } else if (CODE("PermanentRedirect") || CODE("AuthorizationHeaderMalformed") || status == 301) {
        snprintf(reason, sizeof reason, "bucket '%s' is not in region %s (s3.region)", bucket ? bucket : "",
                 s->region);
    } else if (!code && status == 400 && !resp->body.len) {
        /* HEAD answers carry no body; a bare 400 there is most often a bad
         * session token or a region the bucket is not in. */
        snprintf(reason, sizeof reason,
                 "the S3 server refused the request without a reason: check AWS credentials "
                 "(session token) and s3.region for environment '%s'", s->env_name);
    } else if (code_retryable(code) || http_status_retryable(status)) {
        if (resp->attempts > 1)
            snprintf(reason, sizeof reason, "the S3 server kept failing (retries exhausted)");
        else
            snprintf(reason, sizeof reason, "the S3 server failed (it asks to try again)");
    } else {
        snprintf(reason, sizeof reason, "the S3 server refused (HTTP %ld)", status);
    }
#undef CODE
    err_set(err, st, "cannot %s %s: %s", verb, what, reason);
    err_remote(err, status, code, has_xml ? x.message : NULL,
               has_xml && x.request_id ? x.request_id : resp->request_id);
    if (err)
        err->retryable = code_retryable(code) || http_status_retryable(status);
    s3_xml_error_free(&x);
    free(what);
    return st;
}

/* A transport failure (no answer): name the object, keep the HTTP layer's words. */
static enum lk_status s3_transport_fail(const char *verb, const char *bucket, const char *key,
                                        struct lk_error *err)
{
    char *what = key ? s3_name(bucket, key) : xasprintf("bucket '%s'", bucket ? bucket : "");
    err_prefix(err, "cannot %s %s", verb, what);
    free(what);
    return err ? err->status : LK_FAIL;
}

/* ---- reading -------------------------------------------------------------- */

enum lk_status stores3_ping(struct stores3 *s, const char *bucket, struct lk_error *err)
{
    char *url = stores3_object_url(s, bucket, "");
    struct headers h;
    headers_init(&h, s);
    struct http_request req;
    request_init(s, &req, bucket ? "HEAD" : "GET", url, &h);
    req.head = bucket != NULL;
    struct http_response resp;
    http_response_init(&resp);
    enum lk_status rc = http_perform(s->http, &req, &resp, err);
    if (rc != LK_OK)
        rc = s3_transport_fail("reach", bucket, NULL, err);
    else if (resp.status != 200)
        rc = s3_fail(s, "reach", bucket, NULL, &resp, err);
    http_response_free(&resp);
    headers_free(&h);
    free(url);
    return rc;
}

enum lk_status stores3_head(struct stores3 *s, const char *bucket, const char *key,
                            struct store_object_info *info, struct lk_error *err)
{
    memset(info, 0, sizeof *info);
    char *url = stores3_object_url(s, bucket, key);
    struct headers h;
    headers_init(&h, s);
    struct http_request req;
    request_init(s, &req, "HEAD", url, &h);
    req.head = true;
    struct http_response resp;
    http_response_init(&resp);
    enum lk_status rc = http_perform(s->http, &req, &resp, err);
    if (rc != LK_OK) {
        rc = s3_transport_fail("look at", bucket, key, err);
    } else if (resp.status == 200) {
        info->exists = true;
        info->size = resp.content_length;
        info->etag = xstrdup(resp.etag);
        info->mtime = s3_time_http(resp.last_modified);
    } else if (resp.status != 404) {
        /* HEAD answers carry no body: the status is all there is. */
        rc = s3_fail(s, "look at", bucket, key, &resp, err);
    }
    http_response_free(&resp);
    headers_free(&h);
    free(url);
    return rc;
}

struct get_sink {
    http_sink_fn sink;
    void *ud;
    long long delivered;     /* over every request of this read */
};

static size_t get_sink_cb(const char *data, size_t len, void *ud)
{
    struct get_sink *g = ud;
    size_t used = g->sink(data, len, g->ud);
    g->delivered += (long long)used;
    return used;
}

enum lk_status stores3_get(struct stores3 *s, const char *bucket, const char *key, long long offset,
                           long long length, http_sink_fn sink, void *ud, struct lk_error *err)
{
    if (length == 0)
        return LK_OK;
    char *url = stores3_object_url(s, bucket, key);
    struct get_sink g = { .sink = sink, .ud = ud };
    char *etag = NULL;
    enum lk_status rc = LK_FAIL;
    /* A connection dropped mid-body is picked up where it stopped, pinned to
     * the same version with If-Match, instead of starting over. */
    for (int resume = 0;; resume++) {
        long long from = offset + g.delivered;
        struct headers h;
        headers_init(&h, s);
        bool ranged = from > 0 || length > 0;
        if (ranged) {
            if (length > 0)
                headers_add(&h, xasprintf("Range: bytes=%lld-%lld", from, offset + length - 1));
            else
                headers_add(&h, xasprintf("Range: bytes=%lld-", from));
        }
        if (etag)
            headers_add(&h, xasprintf("If-Match: %s", etag));
        struct http_request req;
        request_init(s, &req, "GET", url, &h);
        req.timeout_ms = 0;
        req.sink = get_sink_cb;
        req.sink_ud = &g;
        struct http_response resp;
        http_response_init(&resp);
        long long before = g.delivered;
        struct lk_error e;
        err_clear(&e);
        rc = http_perform(s->http, &req, &resp, &e);
        if (rc == LK_OK) {
            if (resp.status == 412) {
                char *name = s3_name(bucket, key);
                rc = err_set(err, LK_FAIL, "cannot read %s: it changed while it was read", name);
                free(name);
            } else if (resp.status != 200 && resp.status != 206) {
                rc = s3_fail(s, "read", bucket, key, &resp, err);
            } else if (ranged && from > 0 && resp.status == 200) {
                char *name = s3_name(bucket, key);
                rc = err_set(err, LK_FAIL, "cannot read %s from byte %lld: the S3 server ignored the range",
                             name, from);
                free(name);
            }
        } else {
            if (!etag && resp.etag)
                etag = xstrdup(resp.etag);
            bool progressed = g.delivered > before;
            if (e.retryable && progressed && etag && resume < MAX_RESUMES) {
                http_response_free(&resp);
                headers_free(&h);
                continue;
            }
            if (err)
                *err = e;
            rc = s3_transport_fail("read", bucket, key, err);
        }
        http_response_free(&resp);
        headers_free(&h);
        break;
    }
    free(etag);
    free(url);
    return rc;
}

enum lk_status stores3_list(struct stores3 *s, const char *bucket, const char *prefix,
                            store_list_fn fn, void *ud, struct lk_error *err)
{
    char *base = stores3_object_url(s, bucket, "");
    char *token = NULL;
    enum lk_status rc = LK_OK;
    bool stop = false;
    while (!stop) {
        /* Parameters in name order, values fully encoded: signed as written. */
        struct buf url = BUF_INIT;
        buf_puts(&url, base);
        buf_putc(&url, '?');
        if (token) {
            buf_puts(&url, "continuation-token=");
            stores3_encode(&url, token, false);
            buf_putc(&url, '&');
        }
        buf_printf(&url, "list-type=2&max-keys=%d&prefix=", s->list_page);
        stores3_encode(&url, prefix, false);
        struct headers h;
        headers_init(&h, s);
        struct http_request req;
        request_init(s, &req, "GET", buf_cstr(&url), &h);
        struct http_response resp;
        http_response_init(&resp);
        rc = http_perform(s->http, &req, &resp, err);
        if (rc != LK_OK) {
            rc = s3_transport_fail("list", bucket, prefix, err);
        } else if (resp.status != 200 || body_has_error(&resp)) {
            rc = s3_fail(s, "list", bucket, prefix, &resp, err);
        } else {
            struct s3_xml_list page;
            rc = s3_xml_list_parse(resp.body.data, resp.body.len, &page, err);
            if (rc == LK_OK) {
                for (size_t i = 0; i < page.n_objects && !stop; i++) {
                    const struct s3_xml_object *o = &page.objects[i];
                    struct store_list_entry e = { .key = o->key, .size = o->size, .mtime = o->mtime,
                                                  .etag = o->etag };
                    if (!fn(&e, ud))
                        stop = true;
                }
                if (!page.truncated) {
                    stop = true;
                } else if (!page.next_token || (token && strcmp(token, page.next_token) == 0)) {
                    rc = err_set(err, LK_FAIL,
                                 "cannot list %s: the S3 server said more keys follow but gave no new "
                                 "continuation token", bucket);
                } else {
                    free(token);
                    token = page.next_token;
                    page.next_token = NULL;
                }
                s3_xml_list_free(&page);
            } else {
                err_prefix(err, "cannot list s3://%s/%s", bucket, prefix);
            }
        }
        http_response_free(&resp);
        headers_free(&h);
        buf_free(&url);
        if (rc != LK_OK)
            break;
    }
    free(token);
    free(base);
    return rc;
}

/* ---- small writes ------------------------------------------------------------ */

struct mem_source {
    const char *data;
    size_t len;
    size_t pos;
};

static size_t mem_source_read(char *dst, size_t max, void *ud)
{
    struct mem_source *m = ud;
    size_t n = m->len - m->pos < max ? m->len - m->pos : max;
    memcpy(dst, m->data + m->pos, n);
    m->pos += n;
    return n;
}

static bool mem_source_rewind(void *ud)
{
    struct mem_source *m = ud;
    m->pos = 0;
    return true;
}

/* Where a PUT's body comes from. */
struct put_body {
    http_source_fn read;
    void *ud;
    long long len;
    http_rewind_fn rewind;
    long stall_timeout_s;     /* 0: the HTTP layer's default */
};

/* A PUT through the given client; the ETag of the answer in *etag_out. */
static enum lk_status put_request(struct stores3 *s, struct http_client *http, const char *verb,
                                  const char *bucket, const char *key, const char *url,
                                  const struct put_body *body, const char *content_type,
                                  char **etag_out, struct lk_error *err)
{
    *etag_out = NULL;
    struct headers h;
    headers_init(&h, s);
    if (content_type && *content_type)
        headers_add(&h, xasprintf("Content-Type: %s", content_type));
    struct http_request req;
    request_init(s, &req, "PUT", url, &h);
    req.timeout_ms = 0;
    req.stall_timeout_s = body->stall_timeout_s;
    req.source = body->read;
    req.source_ud = body->ud;
    req.source_len = body->len;
    req.source_rewind = body->rewind;
    struct http_response resp;
    http_response_init(&resp);
    enum lk_status rc = http_perform(http, &req, &resp, err);
    if (rc != LK_OK) {
        rc = s3_transport_fail(verb, bucket, key, err);
    } else if (resp.status != 200) {
        rc = s3_fail(s, verb, bucket, key, &resp, err);
    } else if (!resp.etag) {
        char *name = s3_name(bucket, key);
        rc = err_set(err, LK_FAIL, "cannot %s %s: the S3 server sent no ETag", verb, name);
        free(name);
    } else {
        *etag_out = xstrdup(resp.etag);
    }
    http_response_free(&resp);
    headers_free(&h);
    return rc;
}

/* PUT of bytes in memory (a whole small object or one part). */
static enum lk_status put_bytes(struct stores3 *s, const char *verb, const char *bucket,
                                const char *key, const char *url, const char *data, size_t len,
                                const char *content_type, char **etag_out, struct lk_error *err)
{
    struct mem_source src = { .data = data ? data : "", .len = len };
    struct put_body body = { mem_source_read, &src, (long long)len, mem_source_rewind, 0 };
    return put_request(s, s->http, verb, bucket, key, url, &body, content_type, etag_out, err);
}

static void info_fill(struct store_object_info *info, long long size, char *etag)
{
    if (!info) {
        free(etag);
        return;
    }
    info->exists = true;
    info->size = size;
    info->etag = etag;
    /* S3 does not say when in a PUT's answer; a HEAD would, at another request's cost. */
    info->mtime = (long long)time(NULL);
}

enum lk_status stores3_put(struct stores3 *s, const char *bucket, const char *key, const void *data,
                           size_t len, const char *content_type, struct store_object_info *info,
                           struct lk_error *err)
{
    if (info)
        memset(info, 0, sizeof *info);
    char *url = stores3_object_url(s, bucket, key);
    char *etag;
    enum lk_status rc = put_bytes(s, "put", bucket, key, url, data, len, content_type, &etag, err);
    free(url);
    if (rc == LK_OK)
        info_fill(info, (long long)len, etag);
    return rc;
}

static size_t empty_source(char *dst, size_t max, void *ud)
{
    return 0;
}

static bool empty_rewind(void *ud)
{
    return true;
}

enum lk_status stores3_copy(struct stores3 *s, const char *from_bucket, const char *from_key,
                            const char *to_bucket, const char *to_key, struct lk_error *err)
{
    char *url = stores3_object_url(s, to_bucket, to_key);
    struct headers h;
    headers_init(&h, s);
    struct buf src = BUF_INIT;
    buf_puts(&src, "x-amz-copy-source: /");
    stores3_encode(&src, from_bucket, false);
    buf_putc(&src, '/');
    stores3_encode(&src, from_key, true);
    headers_add(&h, buf_detach(&src));
    struct http_request req;
    request_init(s, &req, "PUT", url, &h);
    /* An upload of nothing: no form Content-Type is invented for it. */
    req.source = empty_source;
    req.source_len = 0;
    req.source_rewind = empty_rewind;
    /* S3 copies big objects before it answers. */
    req.timeout_ms = 0;
    req.stall_timeout_s = 600;
    struct http_response resp;
    http_response_init(&resp);
    char *dest = s3_name(to_bucket, to_key);
    char *verb = xasprintf("copy to %s from", dest);
    enum lk_status rc = http_perform(s->http, &req, &resp, err);
    if (rc != LK_OK) {
        rc = s3_transport_fail(verb, from_bucket, from_key, err);
    } else if (resp.status != 200) {
        rc = s3_fail(s, verb, from_bucket, from_key, &resp, err);
    } else {
        char *etag;
        /* A 200 can still carry <Error>: the copy failed after it started. */
        rc = s3_xml_copy_etag(resp.body.data, resp.body.len, &etag, err);
        if (rc == LK_OK)
            free(etag);
        else
            err_prefix(err, "cannot copy s3://%s/%s to %s", from_bucket, from_key, dest);
    }
    free(verb);
    free(dest);
    http_response_free(&resp);
    headers_free(&h);
    free(url);
    return rc;
}

enum lk_status stores3_delete(struct stores3 *s, const char *bucket, const char *key,
                              struct lk_error *err)
{
    char *url = stores3_object_url(s, bucket, key);
    struct headers h;
    headers_init(&h, s);
    struct http_request req;
    request_init(s, &req, "DELETE", url, &h);
    struct http_response resp;
    http_response_init(&resp);
    enum lk_status rc = http_perform(s->http, &req, &resp, err);
    if (rc != LK_OK) {
        rc = s3_transport_fail("delete", bucket, key, err);
    } else if (resp.status == 404) {
        struct s3_xml_error x;
        bool bucket_missing = s3_xml_error_parse(resp.body.data, resp.body.len, &x) && x.code &&
                              strcmp(x.code, "NoSuchBucket") == 0;
        s3_xml_error_free(&x);
        if (bucket_missing)
            rc = s3_fail(s, "delete", bucket, key, &resp, err);
    } else if (resp.status != 204 && resp.status != 200) {
        rc = s3_fail(s, "delete", bucket, key, &resp, err);
    }
    http_response_free(&resp);
    headers_free(&h);
    free(url);
    return rc;
}

/* ---- streaming writes ----------------------------------------------------------- */

static char *upload_url(const struct stores3_writer *w, const char *query_fmt, ...)
    __attribute__((format(printf, 2, 3)));

static char *upload_url(const struct stores3_writer *w, const char *query_fmt, ...)
{
    char *base = stores3_object_url(w->s, w->bucket, w->key);
    struct buf b = BUF_INIT;
    buf_puts(&b, base);
    buf_putc(&b, '?');
    va_list ap;
    va_start(ap, query_fmt);
    char *q;
    if (vasprintf(&q, query_fmt, ap) < 0)
        q = NULL;
    va_end(ap);
    buf_puts(&b, q ? q : "");
    free(q);
    free(base);
    return buf_detach(&b);
}

static char *encoded(const char *text)
{
    struct buf b = BUF_INIT;
    stores3_encode(&b, text, false);
    if (!b.data)
        return xstrdup("");
    return buf_detach(&b);
}

static enum lk_status multipart_start(struct stores3_writer *w, struct lk_error *err)
{
    struct stores3 *s = w->s;
    char *url = upload_url(w, "uploads=");
    struct headers h;
    headers_init(&h, s);
    /* Without it, libcurl labels the empty POST as a form. */
    headers_add(&h, xasprintf("Content-Type: %s", w->content_type));
    struct http_request req;
    request_init(s, &req, "POST", url, &h);
    struct http_response resp;
    http_response_init(&resp);
    enum lk_status rc = http_perform(s->http, &req, &resp, err);
    if (rc != LK_OK) {
        rc = s3_transport_fail("start an upload to", w->bucket, w->key, err);
    } else if (resp.status != 200) {
        rc = s3_fail(s, "start an upload to", w->bucket, w->key, &resp, err);
    } else {
        rc = s3_xml_upload_id(resp.body.data, resp.body.len, &w->upload_id, err);
        if (rc != LK_OK)
            err_prefix(err, "cannot start an upload to s3://%s/%s", w->bucket, w->key);
    }
    http_response_free(&resp);
    headers_free(&h);
    free(url);
    return rc;
}

/* Best effort: the upload is already failing; what matters is the first error. */
static void multipart_abort(struct stores3_writer *w)
{
    if (!w->upload_id)
        return;
    struct stores3 *s = w->s;
    char *id = encoded(w->upload_id);
    char *url = upload_url(w, "uploadId=%s", id);
    struct headers h;
    headers_init(&h, s);
    struct http_request req;
    request_init(s, &req, "DELETE", url, &h);
    /* An abort must happen even when the transfer was cancelled. */
    req.cancel = NULL;
    req.retry_budget_ms = 20000;
    struct http_response resp;
    http_response_init(&resp);
    struct lk_error e;
    err_clear(&e);
    http_perform(s->http, &req, &resp, &e);
    http_response_free(&resp);
    headers_free(&h);
    free(url);
    free(id);
    xfree(&w->upload_id);
}

static enum lk_status upload_part(struct stores3_writer *w, struct lk_error *err)
{
    if (w->n_parts >= MAX_PARTS) {
        char *name = s3_name(w->bucket, w->key);
        err_set(err, LK_FAIL, "cannot write %s: it is larger than %d parts of %zu MiB; raise "
                "LAKEOP_S3_PART_SIZE", name, MAX_PARTS, w->part_cap >> 20);
        free(name);
        return LK_FAIL;
    }
    int number = w->n_parts + 1;
    char *id = encoded(w->upload_id);
    char *url = upload_url(w, "partNumber=%d&uploadId=%s", number, id);
    char *verb = xasprintf("upload part %d of", number);
    char *etag;
    enum lk_status rc = put_bytes(w->s, verb, w->bucket, w->key, url, w->part, w->part_len, NULL,
                                  &etag, err);
    if (rc == LK_OK) {
        char *x = s3_xml_escape(etag);
        buf_printf(&w->parts_xml, "<Part><PartNumber>%d</PartNumber><ETag>%s</ETag></Part>", number, x);
        free(x);
        free(etag);
        w->n_parts = number;
        w->part_len = 0;
    }
    free(verb);
    free(url);
    free(id);
    return rc;
}

static enum lk_status multipart_complete(struct stores3_writer *w, char **etag_out,
                                         struct lk_error *err)
{
    *etag_out = NULL;
    struct stores3 *s = w->s;
    char *id = encoded(w->upload_id);
    char *url = upload_url(w, "uploadId=%s", id);
    struct buf body = BUF_INIT;
    buf_printf(&body, "<CompleteMultipartUpload>%s</CompleteMultipartUpload>", buf_cstr(&w->parts_xml));
    struct headers h;
    headers_init(&h, s);
    headers_add(&h, xstrdup("Content-Type: application/xml"));
    struct http_request req;
    request_init(s, &req, "POST", url, &h);
    req.body = body.data;
    req.body_len = body.len;
    /* S3 assembles big objects before it answers, sending spaces meanwhile. */
    req.timeout_ms = 0;
    req.stall_timeout_s = 600;
    struct http_response resp;
    http_response_init(&resp);
    enum lk_status rc = http_perform(s->http, &req, &resp, err);
    if (rc != LK_OK) {
        rc = s3_transport_fail("complete the upload of", w->bucket, w->key, err);
    } else if (resp.status != 200) {
        rc = s3_fail(s, "complete the upload of", w->bucket, w->key, &resp, err);
    } else {
        /* A 200 carrying <Error> is a failure. */
        rc = s3_xml_complete_etag(resp.body.data, resp.body.len, etag_out, err);
        if (rc != LK_OK)
            err_prefix(err, "cannot complete the upload of s3://%s/%s", w->bucket, w->key);
    }
    http_response_free(&resp);
    headers_free(&h);
    buf_free(&body);
    free(url);
    free(id);
    return rc;
}

static void writer_free(struct stores3_writer *w)
{
    /* Before the client goes: the pipe's thread may still be using it. */
    upload_pipe_abort(w->pipe);
    http_client_free(w->pipe_http);
    free(w->pipe_etag);
    free(w->bucket);
    free(w->key);
    free(w->content_type);
    free(w->part);
    free(w->upload_id);
    buf_free(&w->parts_xml);
    free(w);
}

static struct stores3_writer *writer_new(struct stores3 *s, const char *bucket, const char *key,
                                         const char *content_type)
{
    struct stores3_writer *w = xcalloc(1, sizeof *w);
    w->s = s;
    w->bucket = xstrdup(bucket);
    w->key = xstrdup(key);
    w->content_type = xstrdup(content_type && *content_type ? content_type : "application/octet-stream");
    w->part_cap = s->part_size;
    buf_init(&w->parts_xml);
    return w;
}

enum lk_status stores3_writer_open(struct stores3 *s, const char *bucket, const char *key,
                                   const char *content_type, struct stores3_writer **out,
                                   struct lk_error *err)
{
    *out = NULL;
    if (!key || !*key)
        return err_set(err, LK_USAGE, "cannot write s3://%s/: an object needs a key", bucket);
    struct stores3_writer *w = writer_new(s, bucket, key, content_type);
    /* Allocated now so that a too-large part size fails here, not mid-stream. */
    w->part = xmalloc(w->part_cap);
    *out = w;
    return LK_OK;
}

/* The streaming PUT, on the upload pipe's thread. */
static enum lk_status stream_put(struct upload_pipe *pipe, void *ud, struct lk_error *err)
{
    struct stores3_writer *w = ud;
    char *url = stores3_object_url(w->s, w->bucket, w->key);
    struct put_body body = { upload_pipe_read, pipe, w->total, upload_pipe_rewind, STREAM_STALL_S };
    enum lk_status rc = put_request(w->s, w->pipe_http, "put", w->bucket, w->key, url, &body,
                                    w->content_type, &w->pipe_etag, err);
    free(url);
    return rc;
}

enum lk_status stores3_writer_open_sized(struct stores3 *s, const char *bucket, const char *key,
                                         const char *content_type, long long total_size,
                                         struct stores3_writer **out, struct lk_error *err)
{
    /* Small objects fit the part buffer and go as one PUT that can be
     * retried; past 5 GiB only multipart can take them. */
    if (total_size <= (long long)s->part_size || total_size > MAX_SINGLE_PUT)
        return stores3_writer_open(s, bucket, key, content_type, out, err);
    *out = NULL;
    if (!key || !*key)
        return err_set(err, LK_USAGE, "cannot write s3://%s/: an object needs a key", bucket);
    struct stores3_writer *w = writer_new(s, bucket, key, content_type);
    /* Its own client: the store's may serve other requests (a GET feeding
     * this very write) while the PUT runs on the pipe's thread. */
    w->pipe_http = http_client_new(s->ca_bundle, "lakeop/" LAKEOP_VERSION);
    if (s->secret_key)
        http_client_add_secret(w->pipe_http, s->secret_key);
    if (s->token_header)
        http_client_add_secret(w->pipe_http, s->token_header + strlen("x-amz-security-token: "));
    w->total = total_size;   /* the announced length, until the pipe has ended */
    enum lk_status rc = upload_pipe_start(total_size, stream_put, w, &w->pipe, err);
    if (rc != LK_OK) {
        http_client_free(w->pipe_http);
        w->pipe_http = NULL;
        writer_free(w);
        return rc;
    }
    *out = w;
    return LK_OK;
}

bool stores3_writer_single_shot(const struct stores3_writer *w)
{
    return w->pipe_http != NULL;
}

static enum lk_status writer_fail(struct stores3_writer *w, struct lk_error *err)
{
    if (w->pipe) {
        upload_pipe_abort(w->pipe);
        w->pipe = NULL;
    }
    w->failed = true;
    if (err)
        w->failure = *err;
    multipart_abort(w);
    return err ? err->status : LK_FAIL;
}

enum lk_status stores3_writer_write(struct stores3_writer *w, const void *data, size_t len,
                                    struct lk_error *err)
{
    if (w->failed) {
        if (err)
            *err = w->failure;
        return w->failure.status ? w->failure.status : LK_FAIL;
    }
    if (w->pipe) {
        if (upload_pipe_write(w->pipe, data, len, err) != LK_OK)
            return writer_fail(w, err);
        return LK_OK;
    }
    const char *p = data;
    while (len > 0) {
        if (w->part_len == w->part_cap) {
            /* A full part is sent only once more bytes come: an object of
             * exactly one part stays a single PUT. */
            if (!w->upload_id && multipart_start(w, err) != LK_OK)
                return writer_fail(w, err);
            if (upload_part(w, err) != LK_OK)
                return writer_fail(w, err);
        }
        size_t n = w->part_cap - w->part_len < len ? w->part_cap - w->part_len : len;
        memcpy(w->part + w->part_len, p, n);
        w->part_len += n;
        w->total += (long long)n;
        p += n;
        len -= n;
    }
    return LK_OK;
}

void stores3_writer_abort(struct stores3_writer *w)
{
    if (!w)
        return;
    multipart_abort(w);
    writer_free(w);
}

enum lk_status stores3_writer_commit(struct stores3_writer *w, struct store_object_info *info,
                                     struct lk_error *err)
{
    if (info)
        memset(info, 0, sizeof *info);
    enum lk_status rc;
    char *etag = NULL;
    if (w->failed) {
        if (err)
            *err = w->failure;
        rc = w->failure.status ? w->failure.status : LK_FAIL;
    } else if (w->pipe) {
        rc = upload_pipe_finish(w->pipe, err);
        w->pipe = NULL;
        if (rc == LK_OK) {
            etag = w->pipe_etag;
            w->pipe_etag = NULL;
        }
    } else if (!w->upload_id) {
        char *url = stores3_object_url(w->s, w->bucket, w->key);
        rc = put_bytes(w->s, "put", w->bucket, w->key, url, w->part, w->part_len, w->content_type,
                       &etag, err);
        free(url);
    } else {
        rc = w->part_len > 0 ? upload_part(w, err) : LK_OK;
        if (rc == LK_OK)
            rc = multipart_complete(w, &etag, err);
        if (rc != LK_OK)
            multipart_abort(w);
    }
    if (rc == LK_OK)
        info_fill(info, w->total, etag);
    else
        free(etag);
    writer_free(w);
    return rc;
}
