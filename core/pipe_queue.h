/* A bounded queue of fixed-size buffers between one producer thread and
 * one consumer thread: the producer fills a free buffer and pushes it, the
 * consumer pops, uses and releases it.  Memory is n_bufs * buf_size, fixed
 * at creation, so a slow consumer slows the producer down instead of
 * letting memory grow.  Either side can stop the other: the producer by
 * closing, the consumer by failing (then the producer's next wait returns
 * NULL at once). */
#ifndef LAKEOP_PIPE_QUEUE_H
#define LAKEOP_PIPE_QUEUE_H

#include <stdbool.h>
#include <stddef.h>

struct pipe_queue;

struct pipe_queue *pipe_queue_new(size_t n_bufs, size_t buf_size);
/* Only when neither thread uses the queue any more. */
void pipe_queue_free(struct pipe_queue *q);
size_t pipe_queue_buf_size(const struct pipe_queue *q);

/* Producer: a free buffer (waits for one); NULL once the consumer failed. */
char *pipe_queue_acquire(struct pipe_queue *q);
/* Producer: hands a filled buffer (len bytes) to the consumer. */
void pipe_queue_push(struct pipe_queue *q, char *data, size_t len);
/* Producer: gives back an acquired buffer without pushing it. */
void pipe_queue_unacquire(struct pipe_queue *q, char *data);
/* Producer: no more buffers will be pushed. */
void pipe_queue_close(struct pipe_queue *q);

/* Consumer: the next filled buffer (waits); false when closed and empty. */
bool pipe_queue_pop(struct pipe_queue *q, char **data, size_t *len);
/* Consumer: returns a popped buffer to the free list. */
void pipe_queue_release(struct pipe_queue *q, char *data);
/* Consumer: stop the producer (its waits return NULL from now on). */
void pipe_queue_fail(struct pipe_queue *q);
bool pipe_queue_failed(struct pipe_queue *q);

#endif
