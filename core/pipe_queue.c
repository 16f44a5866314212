#include "pipe_queue.h"

#include <pthread.h>
#include <stdlib.h>

#include "mem.h"

struct pq_item {
    char *data;
    size_t len;
};

struct pipe_queue {
    pthread_mutex_t mu;
    pthread_cond_t changed;
    size_t n_bufs, buf_size;
    char **storage;          /* every buffer, for freeing */
    char **free_list;        /* a stack of free buffers */
    size_t n_free;
    struct pq_item *ring;    /* filled buffers, in order */
    size_t head, count;
    bool closed, failed;
};

struct pipe_queue *pipe_queue_new(size_t n_bufs, size_t buf_size)
{
    struct pipe_queue *q = xcalloc(1, sizeof *q);
    pthread_mutex_init(&q->mu, NULL);
    pthread_cond_init(&q->changed, NULL);
    q->n_bufs = n_bufs;
    q->buf_size = buf_size;
    q->storage = xcalloc(n_bufs, sizeof *q->storage);
    q->free_list = xcalloc(n_bufs, sizeof *q->free_list);
    q->ring = xcalloc(n_bufs, sizeof *q->ring);
    for (size_t i = 0; i < n_bufs; i++) {
        q->storage[i] = xmalloc(buf_size);
        q->free_list[q->n_free++] = q->storage[i];
    }
    return q;
}

void pipe_queue_free(struct pipe_queue *q)
{
    if (!q)
        return;
    for (size_t i = 0; i < q->n_bufs; i++)
        free(q->storage[i]);
    free(q->storage);
    free(q->free_list);
    free(q->ring);
    pthread_cond_destroy(&q->changed);
    pthread_mutex_destroy(&q->mu);
    free(q);
}

size_t pipe_queue_buf_size(const struct pipe_queue *q)
{
    return q->buf_size;
}

char *pipe_queue_acquire(struct pipe_queue *q)
{
    pthread_mutex_lock(&q->mu);
    while (!q->failed && q->n_free == 0)
        pthread_cond_wait(&q->changed, &q->mu);
    char *b = q->failed ? NULL : q->free_list[--q->n_free];
    pthread_mutex_unlock(&q->mu);
    return b;
}

void pipe_queue_push(struct pipe_queue *q, char *data, size_t len)
{
    pthread_mutex_lock(&q->mu);
    q->ring[(q->head + q->count) % q->n_bufs] = (struct pq_item){ data, len };
    q->count++;
    pthread_cond_broadcast(&q->changed);
    pthread_mutex_unlock(&q->mu);
}

void pipe_queue_unacquire(struct pipe_queue *q, char *data)
{
    pipe_queue_release(q, data);
}

void pipe_queue_close(struct pipe_queue *q)
{
    pthread_mutex_lock(&q->mu);
    q->closed = true;
    pthread_cond_broadcast(&q->changed);
    pthread_mutex_unlock(&q->mu);
}

bool pipe_queue_pop(struct pipe_queue *q, char **data, size_t *len)
{
    pthread_mutex_lock(&q->mu);
    while (q->count == 0 && !q->closed)
        pthread_cond_wait(&q->changed, &q->mu);
    bool got = q->count > 0;
    if (got) {
        *data = q->ring[q->head].data;
        *len = q->ring[q->head].len;
        q->head = (q->head + 1) % q->n_bufs;
        q->count--;
    }
    pthread_mutex_unlock(&q->mu);
    return got;
}

void pipe_queue_release(struct pipe_queue *q, char *data)
{
    pthread_mutex_lock(&q->mu);
    q->free_list[q->n_free++] = data;
    pthread_cond_broadcast(&q->changed);
    pthread_mutex_unlock(&q->mu);
}

void pipe_queue_fail(struct pipe_queue *q)
{
    pthread_mutex_lock(&q->mu);
    q->failed = true;
    pthread_cond_broadcast(&q->changed);
    pthread_mutex_unlock(&q->mu);
}

bool pipe_queue_failed(struct pipe_queue *q)
{
    pthread_mutex_lock(&q->mu);
    bool f = q->failed;
    pthread_mutex_unlock(&q->mu);
    return f;
}
