/* core/http.c against a scripted HTTP server running in a thread of this
 * test: retries, Retry-After, the time budget, cut-short bodies, streams,
 * cancel, keep-alive and redaction. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <sys/time.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "http.h"
#include "mem.h"

struct reply {
    int status;
    const char *headers;     /* extra "Name: value\r\n" lines */
    const char *body;
    long declared_len;       /* -1: the body's length; larger: the body is cut short */
};

struct server {
    int fd;
    int port;
    pthread_t thread;
    pthread_mutex_t lock;
    const struct reply *replies;
    size_t n_replies;
    size_t next;
    int connections;
    int requests;
    char last_request[8192];
    volatile int stop;
};

static long long ms_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* read() that gives up when the server is stopping (the socket has a
 * short receive timeout), so a client that keeps its connection open
 * never blocks server_stop(). */
static ssize_t read_or_stop(struct server *s, int fd, char *buf, size_t len)
{
    for (;;) {
        ssize_t n = read(fd, buf, len);
        if (n >= 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR))
            return n;
        if (s->stop)
            return -1;
    }
}

/* Reads one request (headers and a Content-Length body); false at EOF. */
static bool read_request(struct server *s, int fd, char *out, size_t size)
{
    size_t len = 0;
    char *end = NULL;
    while (!end) {
        if (len + 1 >= size)
            return false;
        ssize_t n = read_or_stop(s, fd, out + len, size - len - 1);
        if (n <= 0)
            return false;
        len += (size_t)n;
        out[len] = '\0';
        end = strstr(out, "\r\n\r\n");
    }
    const char *cl = strcasestr(out, "content-length:");
    size_t want = (size_t)(end + 4 - out) + (cl ? strtoul(cl + 15, NULL, 10) : 0);
    while (len < want && len + 1 < size) {
        ssize_t n = read_or_stop(s, fd, out + len, size - len - 1);
        if (n <= 0)
            return false;
        len += (size_t)n;
        out[len] = '\0';
    }
    return true;
}

static void serve_connection(struct server *s, int cfd)
{
    char req[8192];
    struct timeval tv = { 0, 100000 };
    setsockopt(cfd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    while (!s->stop && read_request(s, cfd, req, sizeof req)) {
        pthread_mutex_lock(&s->lock);
        const struct reply *r = &s->replies[s->next < s->n_replies ? s->next : s->n_replies - 1];
        s->next++;
        s->requests++;
        snprintf(s->last_request, sizeof s->last_request, "%s", req);
        pthread_mutex_unlock(&s->lock);
        size_t blen = strlen(r->body ? r->body : "");
        long declared = r->declared_len >= 0 ? r->declared_len : (long)blen;
        char head[1024];
        int hl = snprintf(head, sizeof head, "HTTP/1.1 %d X\r\nContent-Length: %ld\r\n%s\r\n", r->status,
                          declared, r->headers ? r->headers : "");
        if (write(cfd, head, (size_t)hl) < 0 || (blen && write(cfd, r->body, blen) < 0))
            break;
        if (declared != (long)blen)
            break;   /* cut short: hang up */
    }
    close(cfd);
}

static void *server_main(void *ud)
{
    struct server *s = ud;
    while (!s->stop) {
        struct pollfd p = { .fd = s->fd, .events = POLLIN };
        if (poll(&p, 1, 50) <= 0)
            continue;
        int cfd = accept(s->fd, NULL, NULL);
        if (cfd < 0)
            continue;
        pthread_mutex_lock(&s->lock);
        s->connections++;
        pthread_mutex_unlock(&s->lock);
        serve_connection(s, cfd);
    }
    return NULL;
}

static struct server *server_start(const struct reply *replies, size_t n)
{
    struct server *s = xcalloc(1, sizeof *s);
    s->replies = replies;
    s->n_replies = n;
    pthread_mutex_init(&s->lock, NULL);
    s->fd = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(s->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    assert_int_equal(bind(s->fd, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(listen(s->fd, 16), 0);
    socklen_t alen = sizeof a;
    getsockname(s->fd, (struct sockaddr *)&a, &alen);
    s->port = ntohs(a.sin_port);
    pthread_create(&s->thread, NULL, server_main, s);
    return s;
}

static void server_stop(struct server *s)
{
    s->stop = 1;
    pthread_join(s->thread, NULL);
    close(s->fd);
    pthread_mutex_destroy(&s->lock);
    free(s);
}

static int unused_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    bind(fd, (struct sockaddr *)&a, sizeof a);
    socklen_t alen = sizeof a;
    getsockname(fd, (struct sockaddr *)&a, &alen);
    close(fd);
    return ntohs(a.sin_port);
}

#define N(a) (sizeof(a) / sizeof((a)[0]))

/* What nearly every test sets up and tears down alike: a server with its
 * replies, a client, the URL of path on that server, a response and an
 * error record. */
struct fx {
    struct server *s;
    struct http_client *c;
    char *url;
    struct http_response resp;
    struct lk_error err;
};

static void fx_start(struct fx *f, const struct reply *r, size_t n, const char *path,
                     const char *user_agent)
{
    f->s = server_start(r, n);
    f->c = http_client_new(NULL, user_agent);
    f->url = xasprintf("http://127.0.0.1:%d%s", f->s->port, path);
    http_response_init(&f->resp);
    err_clear(&f->err);
}

/* The client hangs up before the server stops: it serves one connection at
 * a time. */
static void fx_stop(struct fx *f)
{
    http_response_free(&f->resp);
    free(f->url);
    http_client_free(f->c);
    server_stop(f->s);
}

static void test_get_and_headers(void **state)
{
    static const struct reply r[] = {
        { 200, "Content-Type: text/plain\r\nETag: \"abc\"\r\nZuora-Request-Id: rq-1\r\n", "hello", -1 },
    };
    struct fx f;
    fx_start(&f, r, N(r), "/x", "lakeop-test");
    struct http_request req = { .url = f.url };
    assert_int_equal(http_perform(f.c, &req, &f.resp, &f.err), LK_OK);
    assert_int_equal(f.resp.status, 200);
    assert_string_equal(buf_cstr(&f.resp.body), "hello");
    assert_string_equal(f.resp.content_type, "text/plain");
    assert_string_equal(f.resp.etag, "\"abc\"");
    assert_string_equal(f.resp.request_id, "rq-1");
    assert_int_equal(f.resp.content_length, 5);
    assert_int_equal(f.resp.attempts, 1);
    assert_non_null(strstr(f.s->last_request, "User-Agent: lakeop-test"));
    fx_stop(&f);
}

static void test_keep_alive(void **state)
{
    static const struct reply r[] = { { 200, NULL, "ok", -1 } };
    struct fx f;
    fx_start(&f, r, N(r), "/x", NULL);
    for (int i = 0; i < 3; i++) {
        struct http_request req = { .url = f.url };
        assert_int_equal(http_perform(f.c, &req, &f.resp, &f.err), LK_OK);
        http_response_free(&f.resp);
        http_response_init(&f.resp);
    }
    assert_int_equal(f.s->requests, 3);
    assert_int_equal(f.s->connections, 1);
    fx_stop(&f);
}

static void test_503_retried(void **state)
{
    static const struct reply r[] = {
        { 503, NULL, "busy", -1 }, { 502, NULL, "", -1 }, { 200, NULL, "done", -1 },
    };
    struct fx f;
    fx_start(&f, r, N(r), "/x", NULL);
    struct http_request req = { .url = f.url, .backoff_base_ms = 10 };
    assert_int_equal(http_perform(f.c, &req, &f.resp, &f.err), LK_OK);
    assert_int_equal(f.resp.status, 200);
    assert_int_equal(f.resp.attempts, 3);
    assert_string_equal(buf_cstr(&f.resp.body), "done");
    fx_stop(&f);
}

/* A stateful submit: a 5xx may come after the server acted, so it is
 * final; a 429 (refused before any work) is retried. */
static void test_not_idempotent(void **state)
{
    static const struct reply r[] = { { 502, NULL, "bad gateway", -1 }, { 200, NULL, "second", -1 } };
    struct fx f;
    fx_start(&f, r, N(r), "/x", NULL);
    struct http_request req = { .method = "POST", .url = f.url, .body = "{}", .body_len = 2,
                                .backoff_base_ms = 1, .not_idempotent = true };
    assert_int_equal(http_perform(f.c, &req, &f.resp, &f.err), LK_OK);
    assert_int_equal(f.resp.status, 502);
    assert_int_equal(f.resp.attempts, 1);
    assert_int_equal(f.s->requests, 1);
    fx_stop(&f);

    static const struct reply r2[] = { { 429, "Retry-After: 0\r\n", "slow down", -1 }, { 200, NULL, "ok", -1 } };
    fx_start(&f, r2, N(r2), "/x", NULL);
    req.url = f.url;
    assert_int_equal(http_perform(f.c, &req, &f.resp, &f.err), LK_OK);
    assert_int_equal(f.resp.status, 200);
    assert_int_equal(f.resp.attempts, 2);
    fx_stop(&f);
}

static void test_400_not_retried(void **state)
{
    static const struct reply r[] = { { 400, NULL, "{\"bad\":1}", -1 }, { 200, NULL, "no", -1 } };
    struct fx f;
    fx_start(&f, r, N(r), "/x", NULL);
    struct http_request req = { .url = f.url, .backoff_base_ms = 10 };
    assert_int_equal(http_perform(f.c, &req, &f.resp, &f.err), LK_OK);
    assert_int_equal(f.resp.status, 400);
    assert_int_equal(f.resp.attempts, 1);
    assert_int_equal(f.s->requests, 1);
    assert_string_equal(buf_cstr(&f.resp.body), "{\"bad\":1}");
    fx_stop(&f);
}

static void test_retry_after_honoured(void **state)
{
    static const struct reply r[] = { { 429, "Retry-After: 1\r\n", "slow down", -1 }, { 200, NULL, "ok", -1 } };
    struct fx f;
    fx_start(&f, r, N(r), "/x", NULL);
    struct http_request req = { .url = f.url, .backoff_base_ms = 1 };
    long long t0 = ms_now();
    assert_int_equal(http_perform(f.c, &req, &f.resp, &f.err), LK_OK);
    long long took = ms_now() - t0;
    assert_int_equal(f.resp.status, 200);
    assert_int_equal(f.resp.attempts, 2);
    assert_true(took >= 1000);
    assert_true(took < 3000);
    fx_stop(&f);
}

static void test_budget_respected(void **state)
{
    static const struct reply r[] = { { 429, "Retry-After: 30\r\n", "", -1 } };
    struct fx f;
    fx_start(&f, r, N(r), "/x", NULL);
    struct http_request req = { .url = f.url, .retry_budget_ms = 1000 };
    long long t0 = ms_now();
    assert_int_equal(http_perform(f.c, &req, &f.resp, &f.err), LK_OK);
    assert_true(ms_now() - t0 < 1000);
    assert_int_equal(f.resp.status, 429);
    assert_int_equal(f.resp.retry_after_s, 30);
    assert_int_equal(f.resp.attempts, 1);
    fx_stop(&f);
}

static void test_budget_with_backoff(void **state)
{
    static const struct reply r[] = { { 500, NULL, "", -1 } };
    struct fx f;
    fx_start(&f, r, N(r), "/x", NULL);
    struct http_request req = { .url = f.url, .retry_budget_ms = 700, .backoff_base_ms = 300,
                                .max_attempts = 50 };
    long long t0 = ms_now();
    assert_int_equal(http_perform(f.c, &req, &f.resp, &f.err), LK_OK);
    assert_true(ms_now() - t0 < 900);
    assert_int_equal(f.resp.status, 500);
    assert_true(f.resp.attempts >= 1);
    fx_stop(&f);
}

static void test_cut_short(void **state)
{
    static const struct reply r[] = { { 200, NULL, "0123456789", 100 } };
    struct fx f;
    fx_start(&f, r, N(r), "/x", NULL);
    struct http_request req = { .url = f.url, .backoff_base_ms = 5, .max_attempts = 2 };
    assert_int_equal(http_perform(f.c, &req, &f.resp, &f.err), LK_FAIL);
    assert_non_null(strstr(f.err.message, "body cut short: got 10 of 100 bytes"));
    assert_int_equal(f.resp.attempts, 2);
    fx_stop(&f);
}

static void test_refused_and_redacted(void **state)
{
    struct http_client *c = http_client_new(NULL, NULL);
    http_client_add_secret(c, "s3cr3t-token");
    char *url = xasprintf("http://ops:hunter22@127.0.0.1:%d/x?token=s3cr3t-token", unused_port());
    struct http_request req = { .url = url, .backoff_base_ms = 5, .max_attempts = 3 };
    struct http_response resp;
    http_response_init(&resp);
    struct lk_error err;
    err_clear(&err);
    assert_int_equal(http_perform(c, &req, &resp, &err), LK_FAIL);
    assert_int_equal(resp.status, 0);
    assert_int_equal(resp.attempts, 3);
    assert_true(err.retryable);
    assert_null(strstr(err.message, "s3cr3t-token"));
    assert_null(strstr(err.message, "hunter22"));
    assert_non_null(strstr(err.message, "127.0.0.1"));
    http_response_free(&resp);
    free(url);
    http_client_free(c);
}

struct collect {
    struct buf got;
    int rewinds;
    size_t limit;    /* refuse after this many bytes (0: never) */
};

static size_t collect_sink(const char *data, size_t len, void *ud)
{
    struct collect *k = ud;
    if (k->limit && k->got.len + len > k->limit)
        return 0;
    buf_append(&k->got, data, len);
    return len;
}

static bool collect_rewind(void *ud)
{
    struct collect *k = ud;
    buf_reset(&k->got);
    k->rewinds++;
    return true;
}

static void test_sink_gets_success_only(void **state)
{
    static const struct reply r[] = { { 500, NULL, "oops", -1 }, { 200, NULL, "a,b\n1,2\n", -1 } };
    struct fx f;
    fx_start(&f, r, N(r), "/file", NULL);
    struct collect k = { BUF_INIT, 0, 0 };
    struct http_request req = { .url = f.url, .sink = collect_sink, .sink_ud = &k,
                                .sink_rewind = collect_rewind, .backoff_base_ms = 5 };
    assert_int_equal(http_perform(f.c, &req, &f.resp, &f.err), LK_OK);
    assert_int_equal(f.resp.status, 200);
    assert_string_equal(buf_cstr(&k.got), "a,b\n1,2\n");
    assert_int_equal(k.rewinds, 0);
    assert_int_equal(f.resp.body.len, 0);
    buf_free(&k.got);
    fx_stop(&f);
}

static void test_sink_refusal_is_final(void **state)
{
    static const struct reply r[] = { { 200, NULL, "0123456789", -1 } };
    struct fx f;
    fx_start(&f, r, N(r), "/file", NULL);
    struct collect k = { BUF_INIT, 0, 4 };
    struct http_request req = { .url = f.url, .sink = collect_sink, .sink_ud = &k,
                                .sink_rewind = collect_rewind, .backoff_base_ms = 5 };
    assert_int_equal(http_perform(f.c, &req, &f.resp, &f.err), LK_FAIL);
    assert_int_equal(f.resp.attempts, 1);
    assert_non_null(strstr(f.err.message, "receiver stopped"));
    buf_free(&k.got);
    fx_stop(&f);
}

static void test_post_body_and_headers(void **state)
{
    static const struct reply r[] = { { 200, NULL, "{}", -1 } };
    struct fx f;
    fx_start(&f, r, N(r), "/v1/batch-query/", NULL);
    const char *headers[] = { "Content-Type: application/json", "Authorization: Bearer tok-123456", NULL };
    struct http_request req = { .method = "POST", .url = f.url, .headers = headers,
                                .body = "{\"a\":1}", .body_len = 7 };
    assert_int_equal(http_perform(f.c, &req, &f.resp, &f.err), LK_OK);
    assert_non_null(strstr(f.s->last_request, "POST /v1/batch-query/ HTTP/1.1"));
    assert_non_null(strstr(f.s->last_request, "Authorization: Bearer tok-123456"));
    assert_non_null(strstr(f.s->last_request, "\r\n\r\n{\"a\":1}"));
    http_response_free(&f.resp);

    struct http_request del = { .method = "DELETE", .url = f.url };
    http_response_init(&f.resp);
    assert_int_equal(http_perform(f.c, &del, &f.resp, &f.err), LK_OK);
    assert_non_null(strstr(f.s->last_request, "DELETE /v1/batch-query/ HTTP/1.1"));
    fx_stop(&f);
}

static void test_cancel_during_wait(void **state)
{
    static const struct reply r[] = { { 429, "Retry-After: 2\r\n", "", -1 } };
    struct fx f;
    fx_start(&f, r, N(r), "/x", NULL);
    volatile int cancel = 1;   /* already asked: the wait must not happen */
    struct http_request req = { .url = f.url, .cancel = &cancel };
    long long t0 = ms_now();
    assert_int_equal(http_perform(f.c, &req, &f.resp, &f.err), LK_FAIL);
    assert_true(ms_now() - t0 < 1000);
    assert_non_null(strstr(f.err.message, "cancelled"));
    fx_stop(&f);
}

static void test_redirects(void **state)
{
    static const struct reply r[] = { { 302, "Location: /moved\r\n", "", -1 }, { 200, NULL, "here", -1 } };
    struct fx f;
    fx_start(&f, r, N(r), "/x", NULL);
    struct http_request req = { .url = f.url };
    assert_int_equal(http_perform(f.c, &req, &f.resp, &f.err), LK_OK);
    assert_int_equal(f.resp.status, 200);
    assert_string_equal(buf_cstr(&f.resp.body), "here");
    fx_stop(&f);

    /* Signed requests never follow: the signature was made for the first URL. */
    fx_start(&f, r, N(r), "/x", NULL);
    struct http_request signed_req = { .url = f.url, .aws_sigv4 = "aws:amz:us-east-1:s3", .aws_key = "AKIDEXAMPLE",
                                       .aws_secret = "wJalrXUtnFEMI/K7MDENG" };
    assert_int_equal(http_perform(f.c, &signed_req, &f.resp, &f.err), LK_OK);
    assert_int_equal(f.resp.status, 302);
    assert_int_equal(f.s->requests, 1);
    assert_non_null(strstr(f.s->last_request, "AWS4-HMAC-SHA256"));
    fx_stop(&f);
}

static void test_retry_after_date(void **state)
{
    static const struct reply r[] = { { 503, "Retry-After: Wed, 21 Oct 2015 07:28:00 GMT\r\n", "", -1 },
                                      { 200, NULL, "ok", -1 } };
    struct fx f;
    fx_start(&f, r, N(r), "/x", NULL);
    struct http_request req = { .url = f.url };
    long long t0 = ms_now();
    /* A date in the past means "now". */
    assert_int_equal(http_perform(f.c, &req, &f.resp, &f.err), LK_OK);
    assert_int_equal(f.resp.status, 200);
    assert_true(ms_now() - t0 < 1000);
    fx_stop(&f);
}

static void test_escape(void **state)
{
    char *e = http_escape("a b/c~d%é", false);
    assert_string_equal(e, "a%20b%2Fc~d%25%C3%A9");
    free(e);
    e = http_escape("dir/file name.csv", true);
    assert_string_equal(e, "dir/file%20name.csv");
    free(e);
    assert_true(http_status_retryable(429));
    assert_true(http_status_retryable(503));
    assert_false(http_status_retryable(404));
    assert_false(http_status_retryable(501));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_get_and_headers),
        cmocka_unit_test(test_keep_alive),
        cmocka_unit_test(test_503_retried),
        cmocka_unit_test(test_not_idempotent),
        cmocka_unit_test(test_400_not_retried),
        cmocka_unit_test(test_retry_after_honoured),
        cmocka_unit_test(test_budget_respected),
        cmocka_unit_test(test_budget_with_backoff),
        cmocka_unit_test(test_cut_short),
        cmocka_unit_test(test_refused_and_redacted),
        cmocka_unit_test(test_sink_gets_success_only),
        cmocka_unit_test(test_sink_refusal_is_final),
        cmocka_unit_test(test_post_body_and_headers),
        cmocka_unit_test(test_cancel_during_wait),
        cmocka_unit_test(test_redirects),
        cmocka_unit_test(test_retry_after_date),
        cmocka_unit_test(test_escape),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
