/* When to poll a remote job: a pure state machine, so that the CLI and the
 * console share it and tests drive it with a fake clock (every function
 * takes "now" in milliseconds from any monotonic clock).
 *
 *  - polls every interval (default 5 s, never below the 2 s floor);
 *  - a poll asked for while one is in flight is dropped (and counted);
 *  - errors back off: interval * 2^failures, at most 60 s, and never sooner
 *    than the server's Retry-After;
 *  - after max_failures errors in a row the watch gives up;
 *  - a terminal answer ends the watch;
 *  - past its ceiling (when one is set) the watch is over: timed_out. */
#ifndef LAKEOP_WATCH_H
#define LAKEOP_WATCH_H

#include <stdbool.h>

#define WATCH_DEFAULT_INTERVAL_MS 5000
#define WATCH_FLOOR_MS 2000
#define WATCH_MAX_BACKOFF_MS 60000
#define WATCH_MAX_FAILURES 10
/* Zuora ends a job after 8 hours at most (older guidance; a query runs at
 * most 3), marking it error (90029); one more hour for its queue.  A job
 * still running after that is stuck, not slow. */
#define WATCH_DEFAULT_CEILING_S (9 * 3600)

struct watch {
    long long interval_ms;
    long long next_due_ms;
    bool in_flight;
    bool done;
    bool gave_up;
    bool timed_out;        /* the ceiling passed */
    long long deadline_ms; /* 0: none */
    int failures;          /* in a row */
    int max_failures;
    long long polls;       /* begun */
    long long dropped;     /* asked for while one was in flight */
};

/* interval_ms <= 0: the default; below the floor: the floor.  The first
 * poll is due at once. */
void watch_init(struct watch *w, long long interval_ms, long long now_ms);
/* Ends the watch ceiling_ms after now (<= 0: never). */
void watch_set_ceiling(struct watch *w, long long ceiling_ms, long long now_ms);
/* Milliseconds until the next poll is due: 0 when due now, -1 when the
 * watch is over or a poll is in flight. */
long long watch_wait_ms(const struct watch *w, long long now_ms);
/* Starts a poll if one is due; false when not due, over (timed_out is set
 * once the ceiling has passed), or dropped because another is in flight. */
bool watch_begin(struct watch *w, long long now_ms);
/* The poll answered; terminal ends the watch. */
void watch_end_ok(struct watch *w, long long now_ms, bool terminal);
/* The poll failed; retry_after_s < 0 when the server gave none. */
void watch_end_error(struct watch *w, long long now_ms, long retry_after_s);
/* The poll failed in a way no retry can mend (bad credentials, not
 * authorised): the watch gives up at once. */
void watch_end_fatal(struct watch *w);
/* A poll answered but the server asked for a pause (Retry-After, e.g. for
 * one job of several): the next poll waits at least that long. */
void watch_defer(struct watch *w, long long now_ms, long retry_after_s);
bool watch_over(const struct watch *w);

#endif
