/* The table widget: generic rows keyed by a stable id (htop learned the
 * hard way not to hard-code "the process list").
 *
 * Columns have a width, a minimum width and an alignment; a width of 0
 * takes what is left.  Rows are replaced in batches (tbl_begin/tbl_row/
 * tbl_end) from a worker's result: rows keep their place by id, only
 * changed rows are repainted, the cursor stays on the same id and on the
 * same screen line.  A paged source is asked for more (tbl_on_fetch) when
 * the cursor nears the end.  Sorting and the / filter work on the loaded
 * rows; a screen that filters on the server too listens with tbl_on_filter.
 * Cell text is made inert here: callers pass the raw text. */
#ifndef LAKEOP_TUI_TBL_H
#define LAKEOP_TUI_TBL_H

#include <curses.h>
#include <stdbool.h>
#include <stddef.h>

#include "actions.h"
#include "theme.h"

enum tbl_align { TBL_LEFT, TBL_RIGHT };

struct tbl_col {
    const char *title;
    int width;               /* 0: share what is left */
    int min_width;
    enum tbl_align align;
    bool numeric;            /* sorts as a number */
};

struct tbl;
/* Asked for the page after after_id (NULL: the first page). */
typedef void (*tbl_fetch_fn)(struct tbl *t, const char *after_id, void *ud);
typedef void (*tbl_filter_fn)(struct tbl *t, const char *filter, void *ud);

struct tbl *tbl_new(const struct tbl_col *cols, int n_cols);
void tbl_free(struct tbl *t);

void tbl_on_fetch(struct tbl *t, tbl_fetch_fn fn, void *ud);
/* fn is told of the filter once typing pauses: the frame calls
 * tbl_filter_flush() TBL_FILTER_DEBOUNCE_MS after the last key (at once on
 * Enter or Esc), so a query per keystroke never ties up the workers. */
void tbl_on_filter(struct tbl *t, tbl_filter_fn fn, void *ud);
#define TBL_FILTER_DEBOUNCE_MS 150
/* The filter changed since fn was last told. */
bool tbl_filter_due(const struct tbl *t);
void tbl_filter_flush(struct tbl *t);

/* A batch of rows.  replace: rows not given before tbl_end() go away (a
 * refresh of the first page keeps the pages loaded after it only when
 * replace is false).  more: the source has rows after the last one. */
void tbl_begin(struct tbl *t, bool replace);
/* A batch of rows newer than every loaded one (a source whose rows never
 * change, refreshed by what was added): they go above the loaded rows,
 * which all stay, and so does the cursor, however far down it is.
 * tbl_end()'s more is ignored: what lies below is unchanged. */
void tbl_begin_newer(struct tbl *t);
void tbl_row(struct tbl *t, const char *id, const char *const *cells, int el_col,
             enum theme_el el);
void tbl_end(struct tbl *t, bool more);
/* Loading started (status "loading Ns"); a failure ("refresh failed: ..."). */
void tbl_loading(struct tbl *t);
void tbl_fail(struct tbl *t, const char *reason);
bool tbl_is_loading(const struct tbl *t);

/* The row under the cursor (NULL when empty), its cells, the marked rows. */
const char *tbl_cursor_id(const struct tbl *t);
const char *tbl_cell(const struct tbl *t, const char *id, int col);   /* inert text */
size_t tbl_marked(const struct tbl *t, const char ***ids);            /* caller frees *ids */
size_t tbl_count(const struct tbl *t);            /* rows shown (after the filter) */
size_t tbl_loaded(const struct tbl *t);           /* rows loaded */
const char *tbl_last_id(const struct tbl *t);     /* in source order, for keyset paging */
const char *tbl_first_id(const struct tbl *t);    /* in source order: the newest loaded row */
const char *tbl_filter(const struct tbl *t);
bool tbl_filtering(const struct tbl *t);          /* the / prompt is open */
void tbl_set_cursor(struct tbl *t, const char *id);
/* A column's minimum width from now on (e.g. a full id once the terminal
 * is wide enough for it); the next draw lays the columns out again. */
void tbl_set_min_width(struct tbl *t, int col, int min_width);

/* Keys the table handles itself (movement, mark, sort, / filter prompt).
 * Returns true when handled. */
bool tbl_key(struct tbl *t, enum action a, int ch);
/* A click on body line y (0 = the header line), or the wheel. */
void tbl_click(struct tbl *t, int y);
void tbl_wheel(struct tbl *t, int lines);

/* Draws into win; without full only what changed since the last draw.
 * Returns true when it drew anything. */
bool tbl_draw(struct tbl *t, WINDOW *win, const struct theme *th, bool full);
bool tbl_needs_draw(const struct tbl *t);

/* "loading 3s", "updated 12 s ago", "refresh failed: REASON", with the
 * sort, filter and marks. */
void tbl_status(const struct tbl *t, char *out, size_t out_size);

#endif
