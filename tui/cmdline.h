/* The `:` command line: editing, Tab completion of the command word, and a
 * history kept in the file the app names.  Where that file lives is the
 * app's decision (screens/app.c gives core's cfg_state_path("history"), the
 * path `lakeop paths` shows), so there is one answer to "where?". */
#ifndef LAKEOP_TUI_CMDLINE_H
#define LAKEOP_TUI_CMDLINE_H

#include <curses.h>
#include <stddef.h>

#include "theme.h"

struct cmdline;

enum cmdline_result { CMDLINE_EDITING, CMDLINE_RUN, CMDLINE_CANCEL };

/* history_path NULL or "": no history file (cmdline_set_history() can
 * give one later). */
struct cmdline *cmdline_new(const char *history_path);
/* Reads the history from path (a missing file is an empty history) and
 * appends every line run from now on to it; NULL or "" keeps none. */
void cmdline_set_history(struct cmdline *c, const char *path);
void cmdline_free(struct cmdline *c);
void cmdline_start(struct cmdline *c);
/* names: what Tab completes the first word from. */
enum cmdline_result cmdline_key(struct cmdline *c, int ch, const char *const *names, size_t n_names,
                                char *hint, size_t hint_size);
const char *cmdline_text(const struct cmdline *c);
/* Remembers a line that was run (and appends it to the history file). */
void cmdline_remember(struct cmdline *c, const char *line);
void cmdline_draw(const struct cmdline *c, WINDOW *win, const struct theme *th);

#endif
