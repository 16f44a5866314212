/* The Zuora OAuth token cache (see zuora.h): one token for every client
 * and thread of a console.
 *
 * The fetch runs outside the mutex so that a waiter can still notice its
 * own cancel flag (quitting never waits for a token request that hangs);
 * `fetching` makes sure there is only one at a time, and `attempt` lets
 * the waiters of a failed fetch share its error instead of each asking
 * Zuora again (a refused secret or a 429 would only be refused again). */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mem.h"
#include "zuora.h"

/* A token is reused until this long before Zuora says it expires. */
#define TOKEN_MARGIN_S 60
/* How often a waiter looks at its cancel flag. */
#define WAIT_SLICE_MS 100

struct zuora_tokens {
    pthread_mutex_t mu;
    pthread_cond_t cv;           /* a fetch ended */
    char *token;                 /* NULL: none, or dropped after a 401 */
    long long valid_until;       /* monotonic seconds */
    unsigned long gen;           /* names the current token; 0 = none yet */
    bool fetching;
    unsigned long attempt;       /* fetches started */
    unsigned long failed_attempt; /* the last fetch that failed, and why */
    struct lk_error failure;
    int fetched;
};

static long long mono_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec;
}

struct zuora_tokens *zuora_tokens_new(void)
{
    struct zuora_tokens *t = xcalloc(1, sizeof *t);
    pthread_mutex_init(&t->mu, NULL);
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&t->cv, &attr);
    pthread_condattr_destroy(&attr);
    return t;
}

void zuora_tokens_free(struct zuora_tokens *t)
{
    if (!t)
        return;
    if (t->token) {
        /* Do not leave the credential in freed memory. */
        memset(t->token, 0, strlen(t->token));
        free(t->token);
    }
    pthread_cond_destroy(&t->cv);
    pthread_mutex_destroy(&t->mu);
    free(t);
}

int zuora_tokens_fetched(const struct zuora_tokens *t)
{
    struct zuora_tokens *m = (struct zuora_tokens *)t;   /* the mutex only */
    pthread_mutex_lock(&m->mu);
    int n = m->fetched;
    pthread_mutex_unlock(&m->mu);
    return n;
}

static void wait_slice(struct zuora_tokens *t)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    ts.tv_nsec += WAIT_SLICE_MS * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    int rc = pthread_cond_timedwait(&t->cv, &t->mu, &ts);
    (void)rc;                    /* ETIMEDOUT or a wake-up: the caller looks again */
}

enum lk_status zuora_tokens_get(struct zuora_tokens *t, const volatile int *cancel, zuora_token_fetch_fn fetch,
                                void *fetch_ud, char **token_out, unsigned long *gen_out, struct lk_error *err)
{
    *token_out = NULL;
    *gen_out = 0;
    pthread_mutex_lock(&t->mu);
    unsigned long waited_for = 0;
    for (;;) {
        if (t->token && mono_s() < t->valid_until) {
            *token_out = xstrdup(t->token);
            *gen_out = t->gen;
            pthread_mutex_unlock(&t->mu);
            return LK_OK;
        }
        if (waited_for && t->failed_attempt == waited_for) {
            /* The fetch this thread waited for failed: its answer is ours. */
            if (err)
                *err = t->failure;
            enum lk_status st = t->failure.status ? t->failure.status : LK_FAIL;
            pthread_mutex_unlock(&t->mu);
            return st;
        }
        if (!t->fetching)
            break;
        if (cancel && *cancel) {
            pthread_mutex_unlock(&t->mu);
            return err_set(err, LK_FAIL, "cancelled while waiting for a Zuora token");
        }
        waited_for = t->attempt;
        wait_slice(t);
    }
    t->fetching = true;
    unsigned long attempt = ++t->attempt;
    pthread_mutex_unlock(&t->mu);

    char *token = NULL;
    long long expires_in = 0;
    struct lk_error ferr;
    err_clear(&ferr);
    enum lk_status st = fetch(fetch_ud, &token, &expires_in, &ferr);
    if (st == LK_OK && (!token || !*token)) {
        free(token);
        token = NULL;
        st = err_set(&ferr, LK_FAIL, "Zuora sent an empty token");
    }

    pthread_mutex_lock(&t->mu);
    t->fetching = false;
    if (st == LK_OK) {
        if (t->token) {
            memset(t->token, 0, strlen(t->token));
            free(t->token);
        }
        t->token = token;
        long long life = expires_in - TOKEN_MARGIN_S;
        if (life < expires_in / 2)
            life = expires_in / 2;
        t->valid_until = mono_s() + life;
        t->gen++;
        t->fetched++;
        *token_out = xstrdup(token);
        *gen_out = t->gen;
    } else {
        t->failed_attempt = attempt;
        t->failure = ferr;
        if (err)
            *err = ferr;
    }
    pthread_cond_broadcast(&t->cv);
    pthread_mutex_unlock(&t->mu);
    return st;
}

void zuora_tokens_refused(struct zuora_tokens *t, unsigned long gen)
{
    pthread_mutex_lock(&t->mu);
    if (t->token && t->gen == gen) {
        memset(t->token, 0, strlen(t->token));
        xfree(&t->token);
    }
    pthread_mutex_unlock(&t->mu);
}
