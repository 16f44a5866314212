/* The poll() loop, its timers and its worker pool (see loop.h). */
#include "loop.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "mem.h"

struct loop_fd {
    int fd;
    short events;
    loop_fd_fn fn;
    void *ud;
    bool gone;                 /* unwatched during dispatch; swept afterwards */
};

struct loop_timer {
    unsigned id;
    long long due;
    long period;               /* 0: one-shot */
    loop_timer_fn fn;
    void *ud;
};

struct loop_job {
    const void *owner;
    loop_work_fn work;
    loop_done_fn done;
    void *job;
    bool orphaned;             /* guarded by mu */
    struct loop_job *next;
};

struct loop {
    struct loop_fd *fds;
    size_t n_fds, cap_fds;
    struct loop_timer *timers;
    size_t n_timers, cap_timers;
    unsigned next_timer_id;

    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct loop_job *queue, *queue_tail;   /* waiting for a worker */
    struct loop_job *running;              /* list of jobs being worked on */
    struct loop_job *finished;             /* waiting for done() on the UI thread */
    bool stopping;
    int pending;                           /* submitted, done() not yet called */

    pthread_t *threads;
    int n_threads, max_threads, idle_threads;
    loop_ctx_new_fn ctx_new;
    loop_ctx_free_fn ctx_free;
    void *factory_ud;
    int wake[2];                           /* workers → UI thread */
};

long long loop_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void set_nonblock_cloexec(int fd)
{
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    fcntl(fd, F_SETFD, FD_CLOEXEC);
}

static void list_remove(struct loop_job **head, struct loop_job *j)
{
    for (struct loop_job **p = head; *p; p = &(*p)->next) {
        if (*p == j) {
            *p = j->next;
            return;
        }
    }
}

static void *worker_main(void *arg)
{
    struct loop *loop = arg;
    void *wctx = loop->ctx_new ? loop->ctx_new(loop->factory_ud) : NULL;
    pthread_mutex_lock(&loop->mu);
    for (;;) {
        while (!loop->queue && !loop->stopping) {
            loop->idle_threads++;
            pthread_cond_wait(&loop->cv, &loop->mu);
            loop->idle_threads--;
        }
        if (loop->stopping)
            break;
        struct loop_job *j = loop->queue;
        loop->queue = j->next;
        if (!loop->queue)
            loop->queue_tail = NULL;
        j->next = loop->running;
        loop->running = j;
        pthread_mutex_unlock(&loop->mu);

        j->work(wctx, j->job);

        pthread_mutex_lock(&loop->mu);
        list_remove(&loop->running, j);
        j->next = loop->finished;
        loop->finished = j;
        (void)!write(loop->wake[1], "x", 1);
    }
    pthread_mutex_unlock(&loop->mu);
    if (loop->ctx_free)
        loop->ctx_free(wctx, loop->factory_ud);
    return NULL;
}

struct loop *loop_new(int n_workers, loop_ctx_new_fn ctx_new, loop_ctx_free_fn ctx_free,
                      void *factory_ud)
{
    struct loop *loop = xcalloc(1, sizeof *loop);
    pthread_mutex_init(&loop->mu, NULL);
    pthread_cond_init(&loop->cv, NULL);
    loop->max_threads = n_workers > 0 ? n_workers : 1;
    loop->threads = xcalloc((size_t)loop->max_threads, sizeof *loop->threads);
    loop->ctx_new = ctx_new;
    loop->ctx_free = ctx_free;
    loop->factory_ud = factory_ud;
    loop->next_timer_id = 1;
    if (pipe(loop->wake) != 0) {
        loop->wake[0] = loop->wake[1] = -1;
    } else {
        set_nonblock_cloexec(loop->wake[0]);
        set_nonblock_cloexec(loop->wake[1]);
    }
    return loop;
}

static void run_done(struct loop *loop, struct loop_job *list)
{
    /* Oldest first: the list was built by pushing on the front. */
    struct loop_job *rev = NULL;
    while (list) {
        struct loop_job *n = list->next;
        list->next = rev;
        rev = list;
        list = n;
    }
    while (rev) {
        struct loop_job *n = rev->next;
        pthread_mutex_lock(&loop->mu);
        bool orphaned = rev->orphaned;
        pthread_mutex_unlock(&loop->mu);
        loop->pending--;
        if (rev->done)
            rev->done(loop, rev->job, orphaned);
        free(rev);
        rev = n;
    }
}

void loop_free(struct loop *loop)
{
    if (!loop)
        return;
    pthread_mutex_lock(&loop->mu);
    loop->stopping = true;
    struct loop_job *queued = loop->queue;
    loop->queue = loop->queue_tail = NULL;
    for (struct loop_job *j = queued; j; j = j->next)
        j->orphaned = true;
    for (struct loop_job *j = loop->running; j; j = j->next)
        j->orphaned = true;
    pthread_cond_broadcast(&loop->cv);
    pthread_mutex_unlock(&loop->mu);
    for (int i = 0; i < loop->n_threads; i++)
        pthread_join(loop->threads[i], NULL);
    /* queued was built in submission order; run_done reverses, so flip it first. */
    struct loop_job *rev = NULL;
    while (queued) {
        struct loop_job *n = queued->next;
        queued->next = rev;
        rev = queued;
        queued = n;
    }
    run_done(loop, rev);
    for (struct loop_job *j = loop->finished; j; j = j->next)
        j->orphaned = true;
    run_done(loop, loop->finished);
    loop->finished = NULL;
    if (loop->wake[0] >= 0) {
        close(loop->wake[0]);
        close(loop->wake[1]);
    }
    pthread_cond_destroy(&loop->cv);
    pthread_mutex_destroy(&loop->mu);
    free(loop->threads);
    free(loop->fds);
    free(loop->timers);
    free(loop);
}

void loop_fd_watch(struct loop *loop, int fd, short events, loop_fd_fn fn, void *ud)
{
    for (size_t i = 0; i < loop->n_fds; i++) {
        if (loop->fds[i].fd == fd && !loop->fds[i].gone) {
            loop->fds[i] = (struct loop_fd){ fd, events, fn, ud, false };
            return;
        }
    }
    if (loop->n_fds == loop->cap_fds) {
        loop->cap_fds = loop->cap_fds ? loop->cap_fds * 2 : 8;
        loop->fds = xrealloc(loop->fds, loop->cap_fds * sizeof *loop->fds);
    }
    loop->fds[loop->n_fds++] = (struct loop_fd){ fd, events, fn, ud, false };
}

void loop_fd_unwatch(struct loop *loop, int fd)
{
    for (size_t i = 0; i < loop->n_fds; i++)
        if (loop->fds[i].fd == fd)
            loop->fds[i].gone = true;
}

unsigned loop_timer_add(struct loop *loop, long ms, bool repeat, loop_timer_fn fn, void *ud)
{
    if (loop->n_timers == loop->cap_timers) {
        loop->cap_timers = loop->cap_timers ? loop->cap_timers * 2 : 8;
        loop->timers = xrealloc(loop->timers, loop->cap_timers * sizeof *loop->timers);
    }
    unsigned id = loop->next_timer_id++;
    if (loop->next_timer_id == 0)
        loop->next_timer_id = 1;
    loop->timers[loop->n_timers++] =
        (struct loop_timer){ id, loop_now_ms() + ms, repeat ? (ms > 0 ? ms : 1) : 0, fn, ud };
    return id;
}

void loop_timer_cancel(struct loop *loop, unsigned id)
{
    for (size_t i = 0; i < loop->n_timers; i++) {
        if (loop->timers[i].id == id) {
            loop->timers[i] = loop->timers[--loop->n_timers];
            return;
        }
    }
}

void loop_submit(struct loop *loop, const void *owner, loop_work_fn work, loop_done_fn done,
                 void *job)
{
    struct loop_job *j = xcalloc(1, sizeof *j);
    j->owner = owner;
    j->work = work;
    j->done = done;
    j->job = job;
    loop->pending++;
    pthread_mutex_lock(&loop->mu);
    if (loop->queue_tail)
        loop->queue_tail->next = j;
    else
        loop->queue = j;
    loop->queue_tail = j;
    /* Threads are started on demand, up to the limit. */
    if (loop->idle_threads == 0 && loop->n_threads < loop->max_threads) {
        if (pthread_create(&loop->threads[loop->n_threads], NULL, worker_main, loop) == 0)
            loop->n_threads++;
    }
    pthread_cond_signal(&loop->cv);
    pthread_mutex_unlock(&loop->mu);
}

static void orphan_list(struct loop_job *list, const void *owner)
{
    for (struct loop_job *j = list; j; j = j->next)
        if (j->owner == owner)
            j->orphaned = true;
}

void loop_orphan(struct loop *loop, const void *owner)
{
    pthread_mutex_lock(&loop->mu);
    orphan_list(loop->queue, owner);
    orphan_list(loop->running, owner);
    orphan_list(loop->finished, owner);
    pthread_mutex_unlock(&loop->mu);
}

int loop_pending(const struct loop *loop)
{
    return loop->pending;
}

int loop_pending_for(const struct loop *loop, const void *owner)
{
    struct loop *l = (struct loop *)loop;
    int n = 0;
    pthread_mutex_lock(&l->mu);
    for (struct loop_job *j = l->queue; j; j = j->next)
        n += j->owner == owner && !j->orphaned;
    for (struct loop_job *j = l->running; j; j = j->next)
        n += j->owner == owner && !j->orphaned;
    for (struct loop_job *j = l->finished; j; j = j->next)
        n += j->owner == owner && !j->orphaned;
    pthread_mutex_unlock(&l->mu);
    return n;
}

static long next_timeout(const struct loop *loop, long max_wait_ms)
{
    long wait = max_wait_ms;
    long long now = loop_now_ms();
    for (size_t i = 0; i < loop->n_timers; i++) {
        long long left = loop->timers[i].due - now;
        if (left < 0)
            left = 0;
        if (wait < 0 || left < wait)
            wait = (long)left;
    }
    return wait;
}

static int run_timers(struct loop *loop)
{
    int handled = 0;
    long long now = loop_now_ms();
    /* A callback may add or cancel timers: restart the scan after each one. */
    for (bool again = true; again;) {
        again = false;
        for (size_t i = 0; i < loop->n_timers; i++) {
            if (loop->timers[i].due > now)
                continue;
            struct loop_timer t = loop->timers[i];
            if (t.period) {
                loop->timers[i].due = now + t.period;
            } else {
                loop->timers[i] = loop->timers[--loop->n_timers];
            }
            t.fn(loop, t.ud);
            handled++;
            again = true;
            break;
        }
    }
    return handled;
}

int loop_run_once(struct loop *loop, long max_wait_ms)
{
    size_t n = loop->n_fds;
    struct pollfd *pfd = xcalloc(n + 1, sizeof *pfd);
    for (size_t i = 0; i < n; i++) {
        pfd[i].fd = loop->fds[i].gone ? -1 : loop->fds[i].fd;
        pfd[i].events = loop->fds[i].events;
    }
    pfd[n].fd = loop->wake[0];
    pfd[n].events = POLLIN;
    int rc = poll(pfd, n + 1, (int)next_timeout(loop, max_wait_ms));
    if (rc < 0) {
        int e = errno;
        free(pfd);
        errno = e;
        return -1;
    }
    int handled = 0;
    if (pfd[n].revents) {
        char drain[64];
        while (read(loop->wake[0], drain, sizeof drain) > 0)
            ;
        pthread_mutex_lock(&loop->mu);
        struct loop_job *fin = loop->finished;
        loop->finished = NULL;
        pthread_mutex_unlock(&loop->mu);
        if (fin)
            handled++;
        run_done(loop, fin);
    }
    for (size_t i = 0; i < n && i < loop->n_fds; i++) {
        if (!pfd[i].revents || loop->fds[i].gone || loop->fds[i].fd != pfd[i].fd)
            continue;
        loop->fds[i].fn(loop, pfd[i].fd, pfd[i].revents, loop->fds[i].ud);
        handled++;
    }
    free(pfd);
    size_t kept = 0;
    for (size_t i = 0; i < loop->n_fds; i++)
        if (!loop->fds[i].gone)
            loop->fds[kept++] = loop->fds[i];
    loop->n_fds = kept;
    handled += run_timers(loop);
    return handled;
}
