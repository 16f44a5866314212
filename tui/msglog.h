/* The message log: every status-line message, kept (the last few hundred)
 * so that one that flashed by can be read again with `L`. */
#ifndef LAKEOP_TUI_MSGLOG_H
#define LAKEOP_TUI_MSGLOG_H

#include <stddef.h>
#include <time.h>

struct msglog;

struct msglog_entry {
    time_t at;
    int level;               /* enum tui_level */
    const char *text;        /* inert */
};

struct msglog *msglog_new(size_t capacity);
void msglog_free(struct msglog *log);
void msglog_add(struct msglog *log, int level, const char *text);
size_t msglog_count(const struct msglog *log);
/* i = 0 is the oldest kept. */
struct msglog_entry msglog_get(const struct msglog *log, size_t i);

#endif
