/* A pushed body for one pulled upload (upload_pipe.h). */
#include "upload_pipe.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "mem.h"

struct upload_pipe {
    pthread_mutex_t mu;
    pthread_cond_t changed;
    pthread_t thread;
    upload_pipe_fn run;
    void *run_ud;

    long long total;         /* the declared length */
    long long pushed;        /* bytes given to upload_pipe_write, held byte included */
    long long taken;         /* bytes handed to libcurl */
    const char *data;        /* the caller's bytes not taken yet (borrowed while write waits) */
    size_t len;
    char held;               /* the last byte, until finish */
    bool have_held;
    bool finishing;
    bool aborting;

    bool ended;              /* run returned */
    enum lk_status status;
    struct lk_error err;
};

static void *pipe_main(void *arg)
{
    struct upload_pipe *p = arg;
    struct lk_error err;
    err_clear(&err);
    enum lk_status st = p->run(p, p->run_ud, &err);
    pthread_mutex_lock(&p->mu);
    p->status = st;
    p->err = err;
    p->ended = true;
    pthread_cond_broadcast(&p->changed);
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

enum lk_status upload_pipe_start(long long total, upload_pipe_fn run, void *ud,
                                 struct upload_pipe **out, struct lk_error *err)
{
    *out = NULL;
    /* With nothing to hold back, the server would have a complete body at once. */
    if (total <= 0)
        return err_set(err, LK_USAGE, "a streamed upload needs at least one byte (got a length of %lld)",
                       total);
    struct upload_pipe *p = xcalloc(1, sizeof *p);
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->changed, NULL);
    p->run = run;
    p->run_ud = ud;
    p->total = total;
    err_clear(&p->err);
    if (pthread_create(&p->thread, NULL, pipe_main, p) != 0) {
        pthread_cond_destroy(&p->changed);
        pthread_mutex_destroy(&p->mu);
        free(p);
        return err_set(err, LK_FAIL, "cannot start the upload thread");
    }
    *out = p;
    return LK_OK;
}

size_t upload_pipe_read(char *dst, size_t max, void *ud)
{
    struct upload_pipe *p = ud;
    size_t n = 0;
    pthread_mutex_lock(&p->mu);
    for (;;) {
        if (p->aborting) {
            pthread_mutex_unlock(&p->mu);
            return CURL_READFUNC_ABORT;
        }
        if (p->len > 0) {
            n = p->len < max ? p->len : max;
            memcpy(dst, p->data, n);
            p->data += n;
            p->len -= n;
            if (p->len == 0)
                pthread_cond_broadcast(&p->changed);
            break;
        }
        if (p->finishing) {
            if (p->have_held && max > 0) {
                dst[0] = p->held;
                p->have_held = false;
                n = 1;
            }
            break;
        }
        pthread_cond_wait(&p->changed, &p->mu);
    }
    p->taken += (long long)n;
    pthread_mutex_unlock(&p->mu);
    return n;
}

bool upload_pipe_rewind(void *ud)
{
    struct upload_pipe *p = ud;
    pthread_mutex_lock(&p->mu);
    bool ok = p->taken == 0 && !p->aborting;
    pthread_mutex_unlock(&p->mu);
    return ok;
}

/* With p->mu held. */
static enum lk_status ended_early(struct upload_pipe *p, struct lk_error *err)
{
    if (p->status != LK_OK) {
        if (err)
            *err = p->err;
        return p->status;
    }
    return err_set(err, LK_FAIL, "the server answered before the whole body was sent (%lld of %lld bytes)",
                   p->taken, p->total);
}

enum lk_status upload_pipe_write(struct upload_pipe *p, const void *data, size_t len,
                                 struct lk_error *err)
{
    if (len == 0)
        return LK_OK;
    pthread_mutex_lock(&p->mu);
    enum lk_status st = LK_OK;
    if (p->ended) {
        st = ended_early(p, err);
    } else if ((long long)len > p->total - p->pushed) {
        st = err_set(err, LK_FAIL, "%lld bytes were written where %lld were announced", p->pushed + (long long)len,
                     p->total);
    } else {
        p->pushed += (long long)len;
        if (p->pushed == p->total) {
            p->held = ((const char *)data)[len - 1];
            p->have_held = true;
            len--;
        }
        p->data = data;
        p->len = len;
        pthread_cond_broadcast(&p->changed);
        while (p->len > 0 && !p->ended)
            pthread_cond_wait(&p->changed, &p->mu);
        if (p->len > 0) {
            /* The request ended without taking them; they are the caller's again. */
            p->data = NULL;
            p->len = 0;
            st = ended_early(p, err);
        }
    }
    pthread_mutex_unlock(&p->mu);
    return st;
}

static void pipe_free(struct upload_pipe *p)
{
    pthread_join(p->thread, NULL);
    pthread_cond_destroy(&p->changed);
    pthread_mutex_destroy(&p->mu);
    free(p);
}

void upload_pipe_abort(struct upload_pipe *p)
{
    if (!p)
        return;
    pthread_mutex_lock(&p->mu);
    p->aborting = true;
    pthread_cond_broadcast(&p->changed);
    pthread_mutex_unlock(&p->mu);
    pipe_free(p);
}

enum lk_status upload_pipe_finish(struct upload_pipe *p, struct lk_error *err)
{
    pthread_mutex_lock(&p->mu);
    if (p->pushed != p->total && !p->ended) {
        long long pushed = p->pushed, total = p->total;
        pthread_mutex_unlock(&p->mu);
        upload_pipe_abort(p);
        return err_set(err, LK_FAIL, "the upload was stopped after %lld of the %lld bytes announced", pushed,
                       total);
    }
    p->finishing = true;
    pthread_cond_broadcast(&p->changed);
    while (!p->ended)
        pthread_cond_wait(&p->changed, &p->mu);
    enum lk_status st = p->status;
    if (st != LK_OK) {
        if (err)
            *err = p->err;
    } else if (p->taken != p->total) {
        st = err_set(err, LK_FAIL, "the server answered after %lld of %lld bytes", p->taken, p->total);
    }
    pthread_mutex_unlock(&p->mu);
    pipe_free(p);
    return st;
}
