/* The one poll() loop of the console: the terminal and any other file
 * descriptor (the Postgres LISTEN socket), timers, and a pool of worker
 * threads for everything that may block (database, network).
 *
 * Workers: loop_submit() queues work(wctx, job) for a worker thread; when it
 * returns, done(loop, job, orphaned) runs on the UI thread (through a pipe
 * the loop polls).  Each worker thread has its own context (a PGconn, a curl
 * handle...) made by the factory given to loop_new(), because those handles
 * are per thread.  A screen that closes calls loop_orphan(owner): its jobs
 * still finish, but done() is told orphaned=true and must only free job. */
#ifndef LAKEOP_TUI_LOOP_H
#define LAKEOP_TUI_LOOP_H

#include <stdbool.h>

struct loop;

typedef void (*loop_fd_fn)(struct loop *loop, int fd, short revents, void *ud);
typedef void (*loop_timer_fn)(struct loop *loop, void *ud);
typedef void *(*loop_ctx_new_fn)(void *factory_ud);
typedef void (*loop_ctx_free_fn)(void *wctx, void *factory_ud);
typedef void (*loop_work_fn)(void *wctx, void *job);
typedef void (*loop_done_fn)(struct loop *loop, void *job, bool orphaned);

struct loop *loop_new(int n_workers, loop_ctx_new_fn ctx_new, loop_ctx_free_fn ctx_free,
                      void *factory_ud);
/* Waits for running jobs, drops queued ones (their done() is called with
 * orphaned=true so that they free their job), joins the workers. */
void loop_free(struct loop *loop);

void loop_fd_watch(struct loop *loop, int fd, short events, loop_fd_fn fn, void *ud);
void loop_fd_unwatch(struct loop *loop, int fd);

/* Returns an id (> 0) for loop_timer_cancel(). */
unsigned loop_timer_add(struct loop *loop, long ms, bool repeat, loop_timer_fn fn, void *ud);
void loop_timer_cancel(struct loop *loop, unsigned id);

void loop_submit(struct loop *loop, const void *owner, loop_work_fn work, loop_done_fn done,
                 void *job);
void loop_orphan(struct loop *loop, const void *owner);
/* Jobs submitted whose done() has not run yet (all owners / one owner). */
int loop_pending(const struct loop *loop);
int loop_pending_for(const struct loop *loop, const void *owner);

/* One iteration: waits up to max_wait_ms (-1: until something happens or
 * the next timer is due), then dispatches fds, finished jobs and timers.
 * Returns the number of events handled; -1 with errno EINTR when a signal
 * interrupted the wait. */
int loop_run_once(struct loop *loop, long max_wait_ms);

/* Monotonic milliseconds. */
long long loop_now_ms(void);

#endif
