/* The libcurl layer (core/http.h): one easy handle per client, reused so
 * that connections stay alive between requests; the retry policy; streamed
 * bodies; error records with secrets redacted. */
#include "http.h"

#include <ctype.h>
#include <curl/curl.h>
#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "mem.h"

/* Receive and send buffer of every transfer (see setup). */
#define HTTP_BULK_BUFFER (1L << 20)

struct http_client {
    CURL *easy;
    char *ca_bundle;
    char *user_agent;
    char **secrets;
    size_t n_secrets;
    uint64_t rng;        /* full jitter; per client so no global state */
};

/* What one attempt saw; reset before every attempt. */
struct attempt {
    const struct http_request *req;
    struct http_response *resp;
    long status;                  /* from the status line, so the body callback can route */
    long long sink_bytes;         /* bytes handed to the caller's sink over all attempts */
    long long body_bytes;         /* body bytes of this attempt */
    bool sink_refused;            /* the sink consumed less than offered */
    bool cancelled;
};

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static uint64_t rng_next(struct http_client *c)
{
    /* xorshift64*: enough for jitter, and needs no shared state. */
    uint64_t x = c->rng;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    c->rng = x;
    return x * 2685821657736338717ULL;
}

struct http_client *http_client_new(const char *ca_bundle, const char *user_agent)
{
    /* Reference-counted and thread-safe since curl 7.84; paired in http_client_free. */
    curl_global_init(CURL_GLOBAL_DEFAULT);
    struct http_client *c = xcalloc(1, sizeof *c);
    c->easy = curl_easy_init();
    c->ca_bundle = xstrdup(ca_bundle && *ca_bundle ? ca_bundle : NULL);
    c->user_agent = xstrdup(user_agent ? user_agent : "lakeop");
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    c->rng = ((uint64_t)ts.tv_nsec << 20) ^ (uint64_t)ts.tv_sec ^ ((uint64_t)getpid() << 40) ^
             (uint64_t)(uintptr_t)c;
    if (!c->rng)
        c->rng = 0x9E3779B97F4A7C15ULL;
    return c;
}

void http_client_free(struct http_client *c)
{
    if (!c)
        return;
    if (c->easy)
        curl_easy_cleanup(c->easy);
    free(c->ca_bundle);
    free(c->user_agent);
    for (size_t i = 0; i < c->n_secrets; i++)
        free(c->secrets[i]);
    free(c->secrets);
    free(c);
    curl_global_cleanup();
}

void http_client_add_secret(struct http_client *c, const char *secret)
{
    /* Very short "secrets" would blank out ordinary words in messages. */
    if (!c || !secret || strlen(secret) < 4)
        return;
    for (size_t i = 0; i < c->n_secrets; i++)
        if (strcmp(c->secrets[i], secret) == 0)
            return;
    c->secrets = xrealloc(c->secrets, (c->n_secrets + 1) * sizeof *c->secrets);
    c->secrets[c->n_secrets++] = xstrdup(secret);
}

static void redact_one(char *text, const char *secret)
{
    size_t n = strlen(secret);
    if (n < 4)
        return;
    char *p;
    while ((p = strstr(text, secret)) != NULL) {
        memcpy(p, "****", 4);
        memmove(p + 4, p + n, strlen(p + n) + 1);
    }
}

/* Hides registered secrets, this request's own credentials and any
 * user:password@ in URLs. */
static void redact(const struct http_client *c, const struct http_request *req, char *text)
{
    for (size_t i = 0; i < c->n_secrets; i++)
        redact_one(text, c->secrets[i]);
    if (req) {
        if (req->basic_password)
            redact_one(text, req->basic_password);
        if (req->aws_secret)
            redact_one(text, req->aws_secret);
    }
    /* user:password@ in a URL: the password becomes stars (same length, in place). */
    char *p = text;
    while ((p = strstr(p, "://")) != NULL) {
        p += 3;
        char *end = p + strcspn(p, "/ \t\r\n");
        char *at = NULL;
        for (char *q = p; q < end; q++)
            if (*q == '@')
                at = q;
        char *colon = at ? memchr(p, ':', (size_t)(at - p)) : NULL;
        if (colon)
            memset(colon + 1, '*', (size_t)(at - colon - 1));
    }
}

void http_response_init(struct http_response *resp)
{
    memset(resp, 0, sizeof *resp);
    buf_init(&resp->body);
    resp->content_length = -1;
    resp->retry_after_s = -1;
}

static void response_reset_headers(struct http_response *resp)
{
    xfree(&resp->content_type);
    xfree(&resp->etag);
    xfree(&resp->last_modified);
    xfree(&resp->request_id);
    resp->content_length = -1;
    resp->retry_after_s = -1;
    buf_reset(&resp->body);
    resp->bytes_received = 0;
}

void http_response_free(struct http_response *resp)
{
    if (!resp)
        return;
    response_reset_headers(resp);
    buf_free(&resp->body);
}

bool http_status_retryable(long status)
{
    return status == 429 || status == 500 || status == 502 || status == 503 || status == 504;
}

char *http_escape(const char *text, bool keep_slash)
{
    static const char hex[] = "0123456789ABCDEF";
    struct buf b = BUF_INIT;
    buf_reserve(&b, strlen(text ? text : "") + 1);
    for (const unsigned char *p = (const unsigned char *)(text ? text : ""); *p; p++) {
        if (isalnum(*p) || *p == '-' || *p == '.' || *p == '_' || *p == '~' ||
            (keep_slash && *p == '/')) {
            buf_putc(&b, (char)*p);
        } else {
            char enc[3] = { '%', hex[*p >> 4], hex[*p & 15] };
            buf_append(&b, enc, 3);
        }
    }
    if (!b.data)
        return xstrdup("");
    return buf_detach(&b);
}

static char *trimmed_dup(const char *value, size_t len)
{
    while (len && isspace((unsigned char)*value)) {
        value++;
        len--;
    }
    while (len && isspace((unsigned char)value[len - 1]))
        len--;
    return xstrndup(value, len);
}

static long parse_retry_after(const char *value)
{
    char *end;
    errno = 0;
    long s = strtol(value, &end, 10);
    if (end != value && *end == '\0' && errno == 0)
        return s < 0 ? 0 : s;
    /* An HTTP-date. */
    time_t when = curl_getdate(value, NULL);
    if (when == (time_t)-1)
        return -1;
    time_t now = time(NULL);
    return when > now ? (long)(when - now) : 0;
}

static size_t on_header(char *data, size_t size, size_t nmemb, void *ud)
{
    struct attempt *a = ud;
    size_t len = size * nmemb;
    if (len >= 5 && strncmp(data, "HTTP/", 5) == 0) {
        /* A new response (after 100 Continue or a redirect): forget the last one's headers. */
        response_reset_headers(a->resp);
        a->body_bytes = 0;
        const char *sp = memchr(data, ' ', len);
        a->status = sp ? strtol(sp + 1, NULL, 10) : 0;
        return len;
    }
    const char *colon = memchr(data, ':', len);
    if (!colon)
        return len;
    size_t nlen = (size_t)(colon - data);
    char *value = trimmed_dup(colon + 1, len - nlen - 1);
    struct http_response *r = a->resp;
#define IS(name) (nlen == sizeof(name) - 1 && strncasecmp(data, name, nlen) == 0)
    if (IS("content-length")) {
        char *end;
        long long v = strtoll(value, &end, 10);
        r->content_length = (end != value && *end == '\0' && v >= 0) ? v : -1;
    } else if (IS("content-type")) {
        free(r->content_type);
        r->content_type = value;
        value = NULL;
    } else if (IS("etag")) {
        free(r->etag);
        r->etag = value;
        value = NULL;
    } else if (IS("last-modified")) {
        free(r->last_modified);
        r->last_modified = value;
        value = NULL;
    } else if (IS("x-amz-request-id") || IS("x-request-id") || IS("zuora-request-id")) {
        free(r->request_id);
        r->request_id = value;
        value = NULL;
    } else if (IS("retry-after")) {
        r->retry_after_s = parse_retry_after(value);
    }
#undef IS
    free(value);
    return len;
}

static bool status_is_success(long status)
{
    return status >= 200 && status < 300;
}

/* Success bodies go to the caller's sink when there is one; error bodies
 * always land in resp->body, so the caller can read its API's error shape
 * and a retried error never touches the sink. */
static size_t on_body(char *data, size_t size, size_t nmemb, void *ud)
{
    struct attempt *a = ud;
    size_t len = size * nmemb;
    a->body_bytes += (long long)len;
    a->resp->bytes_received += (long long)len;
    if (a->req->sink && status_is_success(a->status)) {
        size_t used = a->req->sink(data, len, a->req->sink_ud);
        a->sink_bytes += (long long)(used < len ? used : len);
        if (used != len)
            a->sink_refused = true;
        return used;
    }
    buf_append(&a->resp->body, data, len);
    return len;
}

static int on_progress(void *ud, curl_off_t dt, curl_off_t dn, curl_off_t ut, curl_off_t un)
{
    struct attempt *a = ud;
    if (a->req->cancel && *a->req->cancel) {
        a->cancelled = true;
        return 1;
    }
    return 0;
}

static size_t on_upload(char *dst, size_t size, size_t nmemb, void *ud)
{
    const struct http_request *req = ud;
    return req->source(dst, size * nmemb, req->source_ud);
}

static bool has_header(const char *const *headers, const char *name)
{
    size_t n = strlen(name);
    for (const char *const *h = headers; h && *h; h++)
        if (strncasecmp(*h, name, n) == 0 && (*h)[n] == ':')
            return true;
    return false;
}

static void setup(struct http_client *c, const struct http_request *req, struct attempt *a,
                  struct curl_slist *headers, char *errbuf)
{
    CURL *e = c->easy;
    /* Reset keeps the connection cache, so keep-alive survives between requests. */
    curl_easy_reset(e);
    curl_easy_setopt(e, CURLOPT_URL, req->url);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(e, CURLOPT_USERAGENT, c->user_agent);
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 2L);
    if (c->ca_bundle)
        curl_easy_setopt(e, CURLOPT_CAINFO, c->ca_bundle);
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, req->connect_timeout_ms > 0 ? req->connect_timeout_ms : 5000L);
    if (req->timeout_ms > 0)
        curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, req->timeout_ms);
    curl_easy_setopt(e, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(e, CURLOPT_LOW_SPEED_TIME, req->stall_timeout_s > 0 ? req->stall_timeout_s : 30L);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, a);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, a);
    curl_easy_setopt(e, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(e, CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_easy_setopt(e, CURLOPT_XFERINFODATA, a);
    /* libcurl's defaults (16 KiB in, 64 KiB out) cost a copy of gigabytes
     * one wake-up, poll and syscall per few pages; 1 MiB each way halves
     * its system time and keeps pace with curl -T on s3rver (make bench).
     * A libcurl that refuses the size keeps its default, which still works. */
    curl_easy_setopt(e, CURLOPT_BUFFERSIZE, HTTP_BULK_BUFFER);
    curl_easy_setopt(e, CURLOPT_UPLOAD_BUFFERSIZE, HTTP_BULK_BUFFER);
    /* libcurl silently resends a request whose reused connection died
     * before any answer: never one that must not arrive twice.  Its own
     * connection is closed after it, so that none lingers. */
    if (req->not_idempotent) {
        curl_easy_setopt(e, CURLOPT_FRESH_CONNECT, 1L);
        curl_easy_setopt(e, CURLOPT_FORBID_REUSE, 1L);
    }
    if (headers)
        curl_easy_setopt(e, CURLOPT_HTTPHEADER, headers);

    if (req->aws_sigv4) {
        /* A redirect would carry a signature made for another URL. */
        curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
        curl_easy_setopt(e, CURLOPT_AWS_SIGV4, req->aws_sigv4);
        curl_easy_setopt(e, CURLOPT_USERNAME, req->aws_key ? req->aws_key : "");
        curl_easy_setopt(e, CURLOPT_PASSWORD, req->aws_secret ? req->aws_secret : "");
    } else {
        curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 1L);
        curl_easy_setopt(e, CURLOPT_MAXREDIRS, 5L);
        curl_easy_setopt(e, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
        if (req->basic_user) {
            curl_easy_setopt(e, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
            curl_easy_setopt(e, CURLOPT_USERNAME, req->basic_user);
            curl_easy_setopt(e, CURLOPT_PASSWORD, req->basic_password ? req->basic_password : "");
        }
    }

    const char *method = req->method ? req->method : "GET";
    if (req->head || strcmp(method, "HEAD") == 0) {
        curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
    } else if (req->source) {
        curl_easy_setopt(e, CURLOPT_READFUNCTION, on_upload);
        curl_easy_setopt(e, CURLOPT_READDATA, req);
        if (strcmp(method, "PUT") == 0) {
            curl_easy_setopt(e, CURLOPT_UPLOAD, 1L);
            curl_easy_setopt(e, CURLOPT_INFILESIZE_LARGE, (curl_off_t)req->source_len);
        } else {
            curl_easy_setopt(e, CURLOPT_POST, 1L);
            curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->source_len);
            if (strcmp(method, "POST") != 0)
                curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, method);
        }
    } else if (req->body || strcmp(method, "POST") == 0 || strcmp(method, "PUT") == 0) {
        curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_len);
        curl_easy_setopt(e, CURLOPT_COPYPOSTFIELDS, req->body ? req->body : "");
        if (strcmp(method, "POST") != 0)
            curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, method);
    } else if (strcmp(method, "GET") != 0) {
        curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, method);
    }
}

/* Transport failures worth another attempt (the server may come back). */
static bool curl_code_retryable(CURLcode rc)
{
    switch (rc) {
    case CURLE_COULDNT_CONNECT:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_RECV_ERROR:
    case CURLE_SEND_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
        return true;
    default:
        return false;
    }
}

/* Failures that happen before a byte of the request was sent. */
static bool curl_code_unsent(CURLcode rc)
{
    return rc == CURLE_COULDNT_CONNECT || rc == CURLE_COULDNT_RESOLVE_HOST || rc == CURLE_COULDNT_RESOLVE_PROXY;
}

static bool transport_retryable(const struct http_request *req, CURLcode rc)
{
    return req->not_idempotent ? curl_code_unsent(rc) : curl_code_retryable(rc);
}

static bool status_retryable(const struct http_request *req, long code)
{
    return req->not_idempotent ? code == 429 : http_status_retryable(code);
}

bool http_nap(long long ms, const volatile int *cancel)
{
    while (ms > 0) {
        if (cancel && *cancel)
            return false;
        long long slice = ms > 50 ? 50 : ms;
        struct timespec ts = { (time_t)(slice / 1000), (long)(slice % 1000) * 1000000L };
        nanosleep(&ts, NULL);
        ms -= slice;
    }
    return !(cancel && *cancel);
}

static enum lk_status transport_error(struct http_client *c, const struct http_request *req,
                                      CURLcode rc, const char *errbuf, const struct attempt *a,
                                      struct lk_error *err)
{
    const char *method = req->head ? "HEAD" : req->method ? req->method : "GET";
    char msg[sizeof err->message];
    if (a->cancelled) {
        snprintf(msg, sizeof msg, "%s %s: cancelled", method, req->url);
    } else if (rc == CURLE_PARTIAL_FILE && a->resp->content_length >= 0) {
        snprintf(msg, sizeof msg, "%s %s: body cut short: got %lld of %lld bytes", method, req->url,
                 a->body_bytes, a->resp->content_length);
    } else if (a->sink_refused) {
        snprintf(msg, sizeof msg, "%s %s: the receiver stopped the transfer after %lld bytes", method,
                 req->url, a->sink_bytes);
    } else if (rc == CURLE_PEER_FAILED_VERIFICATION) {
        /* Verification is never switched off: say the one way to trust a private CA. */
        snprintf(msg, sizeof msg,
                 "%s %s: TLS certificate verification failed (%s); if the server's certificate comes from a "
                 "private CA, point ca_bundle (or LAKEOP_CA_BUNDLE) at that CA's PEM file",
                 method, req->url, errbuf[0] ? errbuf : curl_easy_strerror(rc));
    } else if (rc == CURLE_SSL_CACERT_BADFILE) {
        snprintf(msg, sizeof msg, "%s %s: cannot use the CA bundle %s (ca_bundle or LAKEOP_CA_BUNDLE): %s", method,
                 req->url, c->ca_bundle ? c->ca_bundle : "(the system's)", errbuf[0] ? errbuf : curl_easy_strerror(rc));
    } else {
        const char *detail = errbuf[0] ? errbuf : curl_easy_strerror(rc);
        snprintf(msg, sizeof msg, "%s %s: %s (%s)", method, req->url, curl_easy_strerror(rc), detail);
        /* Drop the repetition when curl has nothing more specific to say. */
        if (!errbuf[0] || strcmp(errbuf, curl_easy_strerror(rc)) == 0)
            snprintf(msg, sizeof msg, "%s %s: %s", method, req->url, curl_easy_strerror(rc));
    }
    redact(c, req, msg);
    err_set(err, LK_FAIL, "%s", msg);
    if (err) {
        err->retryable = !a->cancelled && transport_retryable(req, rc);
        if (a->resp->status)
            err->http_status = a->resp->status;
    }
    return LK_FAIL;
}

enum lk_status http_perform(struct http_client *c, const struct http_request *req,
                            struct http_response *resp, struct lk_error *err)
{
    const int max_attempts = req->max_attempts > 0 ? req->max_attempts : 4;
    const long long budget = req->retry_budget_ms > 0 ? req->retry_budget_ms : 60000;
    const long long base = req->backoff_base_ms > 0 ? req->backoff_base_ms : 200;
    const long long started = now_ms();

    struct curl_slist *headers = NULL;
    for (const char *const *h = req->headers; h && *h; h++)
        headers = curl_slist_append(headers, *h);
    /* 100-continue costs a round trip (or a second's wait) per upload.  Not
     * under SigV4: libcurl 7.88 signs the removal header but does not send
     * it, so the server rejects every signature (S3.md). */
    if (!req->aws_sigv4 && !has_header(req->headers, "Expect"))
        headers = curl_slist_append(headers, "Expect:");

    struct attempt a = { .req = req, .resp = resp };
    enum lk_status st = LK_FAIL;
    char errbuf[CURL_ERROR_SIZE];
    resp->attempts = 0;
    for (int attempt = 1;; attempt++) {
        errbuf[0] = '\0';
        response_reset_headers(resp);
        resp->status = 0;
        a.status = 0;
        a.body_bytes = 0;
        a.sink_refused = false;
        setup(c, req, &a, headers, errbuf);
        CURLcode rc = curl_easy_perform(c->easy);
        resp->attempts = attempt;
        long code = 0;
        curl_easy_getinfo(c->easy, CURLINFO_RESPONSE_CODE, &code);
        resp->status = code;

        bool retry;
        if (rc == CURLE_OK) {
            st = LK_OK;
            retry = req->retry ? req->retry(resp, req->retry_ud) : status_retryable(req, code);
        } else {
            st = transport_error(c, req, rc, errbuf, &a, err);
            retry = !a.cancelled && !a.sink_refused && transport_retryable(req, rc);
        }
        if (!retry || attempt >= max_attempts)
            break;
        /* A stream that cannot start over makes the failure final. */
        if (req->source && !(req->source_rewind && req->source_rewind(req->source_ud)))
            break;
        if (a.sink_bytes > 0) {
            if (!(req->sink_rewind && req->sink_rewind(req->sink_ud)))
                break;
            a.sink_bytes = 0;
        }
        long long delay;
        if (st == LK_OK && resp->retry_after_s >= 0) {
            delay = (long long)resp->retry_after_s * 1000;
        } else {
            long long cap = base << (attempt - 1 < 16 ? attempt - 1 : 16);
            if (cap > 30000)
                cap = 30000;
            delay = (long long)(rng_next(c) % (uint64_t)(cap + 1));
        }
        if (now_ms() - started + delay > budget)
            break;
        if (!http_nap(delay, req->cancel)) {
            a.cancelled = true;
            st = transport_error(c, req, CURLE_ABORTED_BY_CALLBACK, "", &a, err);
            break;
        }
    }
    resp->total_ms = (long)(now_ms() - started);
    curl_slist_free_all(headers);
    /* Options point at this request's memory; do not leave them dangling. */
    curl_easy_setopt(c->easy, CURLOPT_HTTPHEADER, NULL);
    curl_easy_setopt(c->easy, CURLOPT_READDATA, NULL);
    if (st == LK_OK && err)
        err->retryable = false;
    return st;
}
