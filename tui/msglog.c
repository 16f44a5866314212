/* The message log: a ring of the last messages (see msglog.h). */
#include "msglog.h"

#include <stdlib.h>

#include "mem.h"
#include "text.h"

struct msglog {
    struct {
        time_t at;
        int level;
        char *text;
    } *e;
    size_t cap, start, n;
};

struct msglog *msglog_new(size_t capacity)
{
    struct msglog *log = xcalloc(1, sizeof *log);
    log->cap = capacity ? capacity : 1;
    log->e = xcalloc(log->cap, sizeof *log->e);
    return log;
}

void msglog_free(struct msglog *log)
{
    if (!log)
        return;
    for (size_t i = 0; i < log->cap; i++)
        free(log->e[i].text);
    free(log->e);
    free(log);
}

void msglog_add(struct msglog *log, int level, const char *text)
{
    size_t slot = (log->start + log->n) % log->cap;
    if (log->n == log->cap) {
        log->start = (log->start + 1) % log->cap;
    } else {
        log->n++;
    }
    free(log->e[slot].text);
    log->e[slot].at = time(NULL);
    log->e[slot].level = level;
    log->e[slot].text = text_inert(text);
}

size_t msglog_count(const struct msglog *log)
{
    return log->n;
}

struct msglog_entry msglog_get(const struct msglog *log, size_t i)
{
    size_t slot = (log->start + i) % log->cap;
    return (struct msglog_entry){ log->e[slot].at, log->e[slot].level, log->e[slot].text };
}
