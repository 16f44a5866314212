/* The shared Zuora token cache (core/zuora_tokens.c): many threads, one
 * token; a refused token replaced once however many threads were refused;
 * a failed fetch shared by its waiters; a waiter that is cancelled.  Then
 * the real client (core/zuora.c) through HTTP: clients on several threads
 * sharing a cache against a small OAuth + AQuA server running in this
 * test, which can expire every token it issued (like the Zuora double's
 * /_control/expire_tokens). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "ctx.h"
#include "http.h"
#include "mem.h"
#include "zuora.h"

#define THREADS 8

static void sleep_ms(long ms)
{
    struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
    nanosleep(&ts, NULL);
}

/* ---- the cache alone, with a fetch function of the test's ---- */

struct fake {
    pthread_mutex_t mu;
    int calls;
    int entered;                 /* threads about to ask the cache */
    long delay_ms;
    long long expires_in;
    enum lk_status answer;
    volatile int release;        /* a hanging fetch ends when set */
    bool hang;
};

static enum lk_status fake_fetch(void *ud, char **token_out, long long *expires_in_out, struct lk_error *err)
{
    struct fake *f = ud;
    pthread_mutex_lock(&f->mu);
    int n = ++f->calls;
    pthread_mutex_unlock(&f->mu);
    /* Let every other thread reach the cache (and wait) first. */
    for (int i = 0; i < 200; i++) {
        pthread_mutex_lock(&f->mu);
        int in = f->entered;
        pthread_mutex_unlock(&f->mu);
        if (in >= THREADS)
            break;
        sleep_ms(5);
    }
    sleep_ms(f->delay_ms);
    while (f->hang && !f->release)
        sleep_ms(5);
    if (f->answer != LK_OK)
        return err_set(err, f->answer, "getting a Zuora token: Zuora refused the credentials");
    *token_out = xasprintf("token-number-%d", n);
    *expires_in_out = f->expires_in;
    return LK_OK;
}

struct asker {
    struct zuora_tokens *cache;
    struct fake *fake;
    unsigned long refuse_gen;    /* non-zero: refuse this token first */
    volatile int cancel;
    enum lk_status st;
    char *token;
    unsigned long gen;
    struct lk_error err;
};

static void *ask(void *ud)
{
    struct asker *a = ud;
    if (a->refuse_gen)
        zuora_tokens_refused(a->cache, a->refuse_gen);
    pthread_mutex_lock(&a->fake->mu);
    a->fake->entered++;
    pthread_mutex_unlock(&a->fake->mu);
    err_clear(&a->err);
    a->st = zuora_tokens_get(a->cache, &a->cancel, fake_fetch, a->fake, &a->token, &a->gen, &a->err);
    return NULL;
}

static void fake_init(struct fake *f)
{
    memset(f, 0, sizeof *f);
    pthread_mutex_init(&f->mu, NULL);
    f->delay_ms = 50;
    f->expires_in = 3599;
    f->answer = LK_OK;
}

/* THREADS threads ask at once; returns after all have answered. */
static void ask_all(struct zuora_tokens *cache, struct fake *f, struct asker *a, unsigned long refuse_gen)
{
    pthread_t th[THREADS];
    f->entered = 0;
    for (int i = 0; i < THREADS; i++) {
        memset(&a[i], 0, sizeof a[i]);
        a[i].cache = cache;
        a[i].fake = f;
        a[i].refuse_gen = refuse_gen;
        pthread_create(&th[i], NULL, ask, &a[i]);
    }
    for (int i = 0; i < THREADS; i++)
        pthread_join(th[i], NULL);
}

static void free_answers(struct asker *a)
{
    for (int i = 0; i < THREADS; i++)
        free(a[i].token);
}

static void test_one_fetch_for_many_threads(void **state)
{
    struct zuora_tokens *cache = zuora_tokens_new();
    struct fake f;
    fake_init(&f);
    struct asker a[THREADS];
    ask_all(cache, &f, a, 0);
    assert_int_equal(f.calls, 1);
    assert_int_equal(zuora_tokens_fetched(cache), 1);
    for (int i = 0; i < THREADS; i++) {
        assert_int_equal(a[i].st, LK_OK);
        assert_string_equal(a[i].token, "token-number-1");
        assert_int_equal(a[i].gen, a[0].gen);
    }
    unsigned long gen1 = a[0].gen;
    free_answers(a);

    /* Later callers take the cached token without asking. */
    ask_all(cache, &f, a, 0);
    assert_int_equal(f.calls, 1);
    free_answers(a);

    /* Every thread was refused token 1: one new token, not one each. */
    ask_all(cache, &f, a, gen1);
    assert_int_equal(f.calls, 2);
    for (int i = 0; i < THREADS; i++) {
        assert_int_equal(a[i].st, LK_OK);
        assert_string_equal(a[i].token, "token-number-2");
        assert_true(a[i].gen != gen1);
    }
    unsigned long gen2 = a[0].gen;
    free_answers(a);

    /* A late 401 for the old token leaves the new one alone. */
    zuora_tokens_refused(cache, gen1);
    ask_all(cache, &f, a, 0);
    assert_int_equal(f.calls, 2);
    assert_int_equal(a[0].gen, gen2);
    free_answers(a);
    assert_int_equal(zuora_tokens_fetched(cache), 2);
    zuora_tokens_free(cache);
    pthread_mutex_destroy(&f.mu);
}

static void test_short_lived_token_is_not_kept(void **state)
{
    struct zuora_tokens *cache = zuora_tokens_new();
    struct fake f;
    fake_init(&f);
    f.delay_ms = 0;
    f.entered = THREADS;
    /* Valid for 1 s: less than the 60 s margin, so every ask fetches. */
    f.expires_in = 1;
    char *tok;
    unsigned long gen;
    struct lk_error err;
    for (int i = 1; i <= 3; i++) {
        assert_int_equal(zuora_tokens_get(cache, NULL, fake_fetch, &f, &tok, &gen, &err), LK_OK);
        free(tok);
        assert_int_equal(f.calls, i);
    }
    /* An hour's token is kept. */
    f.expires_in = 3599;
    for (int i = 0; i < 3; i++) {
        assert_int_equal(zuora_tokens_get(cache, NULL, fake_fetch, &f, &tok, &gen, &err), LK_OK);
        assert_string_equal(tok, "token-number-4");
        free(tok);
    }
    assert_int_equal(f.calls, 4);
    zuora_tokens_free(cache);
    pthread_mutex_destroy(&f.mu);
}

static void test_failure_shared_by_waiters(void **state)
{
    struct zuora_tokens *cache = zuora_tokens_new();
    struct fake f;
    fake_init(&f);
    f.answer = LK_FAIL;
    f.delay_ms = 100;
    struct asker a[THREADS];
    ask_all(cache, &f, a, 0);
    /* The refusal is everyone's answer: Zuora was asked once. */
    assert_int_equal(f.calls, 1);
    for (int i = 0; i < THREADS; i++) {
        assert_int_equal(a[i].st, LK_FAIL);
        assert_non_null(strstr(a[i].err.message, "refused the credentials"));
        assert_null(a[i].token);
    }
    free_answers(a);
    /* The next ask tries again (the secret may have been fixed). */
    f.answer = LK_OK;
    f.delay_ms = 0;
    ask_all(cache, &f, a, 0);
    assert_int_equal(f.calls, 2);
    assert_int_equal(a[0].st, LK_OK);
    free_answers(a);
    zuora_tokens_free(cache);
    pthread_mutex_destroy(&f.mu);
}

static void test_waiter_cancelled(void **state)
{
    struct zuora_tokens *cache = zuora_tokens_new();
    struct fake f;
    fake_init(&f);
    f.hang = true;
    f.delay_ms = 0;
    f.entered = THREADS;
    struct asker fetcher = { .cache = cache, .fake = &f };
    pthread_t th;
    pthread_create(&th, NULL, ask, &fetcher);
    while (1) {
        pthread_mutex_lock(&f.mu);
        int calls = f.calls;
        pthread_mutex_unlock(&f.mu);
        if (calls)
            break;
        sleep_ms(5);
    }
    /* A second thread waits for the hanging fetch, then is cancelled. */
    struct asker waiter = { .cache = cache, .fake = &f, .cancel = 1 };
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    ask(&waiter);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    assert_int_equal(waiter.st, LK_FAIL);
    assert_non_null(strstr(waiter.err.message, "cancelled"));
    assert_true((t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000 < 1000);
    f.release = 1;
    pthread_join(th, NULL);
    assert_int_equal(fetcher.st, LK_OK);
    free(fetcher.token);
    assert_int_equal(f.calls, 1);
    zuora_tokens_free(cache);
    pthread_mutex_destroy(&f.mu);
}

/* ---- the client over HTTP ---- */

/* OAuth + two AQuA calls.  Tokens are "tk<epoch>x<n>..."; one of an older
 * epoch (see expire) gets 401, as an expired token does at Zuora. */
struct server {
    int fd;
    int port;
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_t conns[64];
    int n_conns;
    int epoch;
    int issued;
    int api_calls;
    int refused;
    int partner_calls;
    const char *partner_code;    /* the AQuA code of the last-job answer; NULL: 90002 */
    volatile int stop;
};

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

struct conn {
    struct server *s;
    int fd;
};

static void answer(struct server *s, struct conn *c, const char *req, int *status, char *body, size_t size)
{
    if (strncmp(req, "POST /oauth/token ", 18) == 0) {
        /* Slow enough for every thread to pile up behind the fetch. */
        sleep_ms(100);
        pthread_mutex_lock(&s->lock);
        int n = ++s->issued;
        int epoch = s->epoch;
        pthread_mutex_unlock(&s->lock);
        *status = 200;
        snprintf(body, size, "{\"access_token\":\"tk%dx%d0123456789abcdef\",\"token_type\":\"bearer\","
                             "\"expires_in\":3599,\"scope\":\"x\",\"jti\":\"y\"}", epoch, n);
        return;
    }
    const char *auth = strcasestr(req, "authorization: bearer tk");
    pthread_mutex_lock(&s->lock);
    s->api_calls++;
    bool ok = auth && atoi(auth + strlen("authorization: bearer tk")) == s->epoch;
    if (!ok)
        s->refused++;
    if (ok && strstr(req, "/v1/batch-query/jobs/partner/"))
        s->partner_calls++;
    pthread_mutex_unlock(&s->lock);
    if (!ok) {
        *status = 401;
        snprintf(body, size, "{\"reasons\":[{\"code\":\"90000011\",\"message\":\"Authentication error\"}]}");
    } else if (strstr(req, "/v1/batch-query/jobs/partner/")) {
        *status = 200;
        pthread_mutex_lock(&s->lock);
        const char *code = s->partner_code ? s->partner_code : "90002";
        pthread_mutex_unlock(&s->lock);
        snprintf(body, size, "{\"status\":\"error\",\"errorCode\":\"%s\",\"message\":\"said %s\"}", code, code);
    } else {
        *status = 200;
        snprintf(body, size, "{\"id\":\"j1\",\"status\":\"executing\",\"batches\":[]}");
    }
    (void)c;
}

static void *serve_connection(void *ud)
{
    struct conn *c = ud;
    struct server *s = c->s;
    char req[8192], body[512], head[256];
    struct timeval tv = { 0, 100000 };
    setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    while (!s->stop && read_request(s, c->fd, req, sizeof req)) {
        int status;
        answer(s, c, req, &status, body, sizeof body);
        int hl = snprintf(head, sizeof head, "HTTP/1.1 %d X\r\nContent-Type: application/json\r\n"
                                             "Content-Length: %zu\r\n\r\n", status, strlen(body));
        if (write(c->fd, head, (size_t)hl) < 0 || write(c->fd, body, strlen(body)) < 0)
            break;
    }
    close(c->fd);
    free(c);
    return NULL;
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
        if (s->n_conns == (int)(sizeof s->conns / sizeof s->conns[0])) {
            close(cfd);
            continue;
        }
        struct conn *c = xcalloc(1, sizeof *c);
        c->s = s;
        c->fd = cfd;
        pthread_create(&s->conns[s->n_conns++], NULL, serve_connection, c);
    }
    for (int i = 0; i < s->n_conns; i++)
        pthread_join(s->conns[i], NULL);
    return NULL;
}

static struct server *server_start(void)
{
    struct server *s = xcalloc(1, sizeof *s);
    pthread_mutex_init(&s->lock, NULL);
    s->epoch = 1;
    s->fd = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(s->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    assert_int_equal(bind(s->fd, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(listen(s->fd, 64), 0);
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

static int server_count(struct server *s, const int *field)
{
    pthread_mutex_lock(&s->lock);
    int n = *field;
    pthread_mutex_unlock(&s->lock);
    return n;
}

/* One console worker: its own http client and Zuora client, the shared cache. */
struct worker {
    const struct cfg_env *env;
    struct zuora_tokens *cache;
    pthread_barrier_t *start;
    enum lk_status st[2];
    char why[2][600];
    int fetched;
};

static void *worker_main(void *ud)
{
    struct worker *w = ud;
    struct http_client *http = http_client_new(NULL, "lakeop-test");
    struct lk_ctx ctx = { .env = w->env, .http = http, .zuora_tokens = w->cache };
    struct zuora_client *zc = zuora_client_for(&ctx);
    for (int round = 0; round < 2; round++) {
        pthread_barrier_wait(w->start);    /* everyone asks at once */
        struct zuora_job job;
        struct lk_error err;
        err_clear(&err);
        w->st[round] = zuora_job_get(zc, "j1", &job, &err);
        if (w->st[round] != LK_OK)
            err_text(&err, w->why[round], sizeof w->why[round]);
        zuora_job_free(&job);
        pthread_barrier_wait(w->start);    /* the main thread expires tokens here */
    }
    w->fetched = zuora_client_tokens_fetched(zc);
    zuora_client_free(zc);
    http_client_free(http);
    return NULL;
}

static void test_clients_share_one_token(void **state)
{
    struct server *s = server_start();
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%d", s->port);
    struct cfg_env env = { 0 };
    env.name = "CODE";
    env.zuora_url = url;
    env.zuora_client_id = "lakeop-test";
    env.zuora_client_secret = "s3cret-value";
    env.zuora_partner = "guardian";
    env.zuora_project = "lake";
    struct zuora_tokens *cache = zuora_tokens_new();
    pthread_barrier_t start;
    pthread_barrier_init(&start, NULL, THREADS + 1);
    struct worker w[THREADS];
    pthread_t th[THREADS];
    for (int i = 0; i < THREADS; i++) {
        memset(&w[i], 0, sizeof w[i]);
        w[i].env = &env;
        w[i].cache = cache;
        w[i].start = &start;
        pthread_create(&th[i], NULL, worker_main, &w[i]);
    }
    pthread_barrier_wait(&start);      /* round 1 */
    pthread_barrier_wait(&start);
    assert_int_equal(server_count(s, &s->issued), 1);
    /* Zuora expires every token; the next round meets 401s on every thread. */
    pthread_mutex_lock(&s->lock);
    s->epoch++;
    pthread_mutex_unlock(&s->lock);
    pthread_barrier_wait(&start);      /* round 2 */
    pthread_barrier_wait(&start);
    for (int i = 0; i < THREADS; i++)
        pthread_join(th[i], NULL);
    int fetched = 0;
    for (int i = 0; i < THREADS; i++) {
        for (int r = 0; r < 2; r++)
            if (w[i].st[r] != LK_OK)
                fail_msg("worker %d round %d: %s", i, r + 1, w[i].why[r]);
        fetched += w[i].fetched;
    }
    /* Exactly one new token after the expiry, with every worker active. */
    assert_int_equal(server_count(s, &s->issued), 2);
    assert_int_equal(fetched, 2);
    assert_int_equal(zuora_tokens_fetched(cache), 2);
    assert_true(server_count(s, &s->refused) >= 1);

    /* The health check with the shared cache: no token, one cheap request;
     * "no completed job yet" (90002) is ok. */
    struct http_client *http = http_client_new(NULL, "lakeop-test");
    struct lk_ctx ctx = { .env = &env, .http = http, .zuora_tokens = cache };
    struct lk_error err;
    char version[64];
    for (int i = 0; i < 5; i++) {
        err_clear(&err);
        assert_int_equal(zuora_ping(&ctx, version, sizeof version, &err), LK_OK);
    }
    assert_int_equal(server_count(s, &s->issued), 2);
    assert_int_equal(server_count(s, &s->partner_calls), 5);

    /* Without a shared cache (lakeop doctor): one token of its own, and
     * the same request proving it is accepted. */
    ctx.zuora_tokens = NULL;
    err_clear(&err);
    assert_int_equal(zuora_ping(&ctx, version, sizeof version, &err), LK_OK);
    assert_int_equal(server_count(s, &s->issued), 3);
    assert_int_equal(server_count(s, &s->partner_calls), 6);

    /* Any other AQuA code is trouble, in Zuora's words. */
    ctx.zuora_tokens = cache;
    pthread_mutex_lock(&s->lock);
    s->partner_code = "90019";
    pthread_mutex_unlock(&s->lock);
    err_clear(&err);
    assert_int_equal(zuora_ping(&ctx, version, sizeof version, &err), LK_FAIL);
    char text[1200];
    err_text(&err, text, sizeof text);
    assert_non_null(strstr(text, "asking Zuora for the last job of guardian/lake"));
    assert_non_null(strstr(text, "said 90019"));
    assert_int_equal(server_count(s, &s->issued), 3);
    assert_int_equal(server_count(s, &s->partner_calls), 7);

    /* Without partner and project: the token alone proves the credentials. */
    env.zuora_partner = NULL;
    ctx.zuora_tokens = cache;
    err_clear(&err);
    assert_int_equal(zuora_ping(&ctx, version, sizeof version, &err), LK_OK);
    assert_int_equal(server_count(s, &s->issued), 3);
    assert_int_equal(server_count(s, &s->partner_calls), 7);

    http_client_free(http);
    pthread_barrier_destroy(&start);
    zuora_tokens_free(cache);
    server_stop(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_one_fetch_for_many_threads),
        cmocka_unit_test(test_short_lived_token_is_not_kept),
        cmocka_unit_test(test_failure_shared_by_waiters),
        cmocka_unit_test(test_waiter_cancelled),
        cmocka_unit_test(test_clients_share_one_token),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
