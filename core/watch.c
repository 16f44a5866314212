#include "watch.h"

#include <string.h>

void watch_init(struct watch *w, long long interval_ms, long long now_ms)
{
    memset(w, 0, sizeof *w);
    if (interval_ms <= 0)
        interval_ms = WATCH_DEFAULT_INTERVAL_MS;
    w->interval_ms = interval_ms < WATCH_FLOOR_MS ? WATCH_FLOOR_MS : interval_ms;
    w->next_due_ms = now_ms;
    w->max_failures = WATCH_MAX_FAILURES;
}

void watch_set_ceiling(struct watch *w, long long ceiling_ms, long long now_ms)
{
    w->deadline_ms = ceiling_ms > 0 ? now_ms + ceiling_ms : 0;
}

bool watch_over(const struct watch *w)
{
    return w->done || w->gave_up || w->timed_out;
}

long long watch_wait_ms(const struct watch *w, long long now_ms)
{
    if (watch_over(w) || w->in_flight)
        return -1;
    long long due = w->next_due_ms;
    if (w->deadline_ms && w->deadline_ms < due)
        due = w->deadline_ms;
    return due > now_ms ? due - now_ms : 0;
}

bool watch_begin(struct watch *w, long long now_ms)
{
    if (watch_over(w))
        return false;
    if (w->deadline_ms && now_ms >= w->deadline_ms && !w->in_flight) {
        w->timed_out = true;
        return false;
    }
    if (w->in_flight) {
        w->dropped++;
        return false;
    }
    if (now_ms < w->next_due_ms)
        return false;
    w->in_flight = true;
    w->polls++;
    return true;
}

void watch_end_ok(struct watch *w, long long now_ms, bool terminal)
{
    w->in_flight = false;
    w->failures = 0;
    w->done = terminal;
    w->next_due_ms = now_ms + w->interval_ms;
}

void watch_end_error(struct watch *w, long long now_ms, long retry_after_s)
{
    w->in_flight = false;
    w->failures++;
    if (w->failures >= w->max_failures) {
        w->gave_up = true;
        return;
    }
    long long delay = w->interval_ms;
    for (int i = 0; i < w->failures && delay < WATCH_MAX_BACKOFF_MS; i++)
        delay *= 2;
    if (delay > WATCH_MAX_BACKOFF_MS)
        delay = WATCH_MAX_BACKOFF_MS;
    if (retry_after_s >= 0 && (long long)retry_after_s * 1000 > delay)
        delay = (long long)retry_after_s * 1000;
    w->next_due_ms = now_ms + delay;
}

void watch_defer(struct watch *w, long long now_ms, long retry_after_s)
{
    if (retry_after_s >= 0 && now_ms + (long long)retry_after_s * 1000 > w->next_due_ms)
        w->next_due_ms = now_ms + (long long)retry_after_s * 1000;
}

void watch_end_fatal(struct watch *w)
{
    w->in_flight = false;
    w->failures++;
    w->gave_up = true;
}
