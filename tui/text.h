/* Untrusted text made inert, and cut by display width.
 *
 * Everything that comes from a server, a file or the database goes through
 * here before it reaches a terminal (the console and the CLI's text output):
 * control characters and escape sequences become visible (ESC as "^[", DEL as
 * "^?", C1 controls as "<U+0085>"), invalid UTF-8 bytes are shown as "\xNN",
 * and widths are counted in terminal columns (wcwidth), never bytes. */
#ifndef LAKEOP_TEXT_H
#define LAKEOP_TEXT_H

#include <stddef.h>

/* A new string: text made inert (caller frees).  NULL in → "". */
char *text_inert(const char *text);

/* Display width in columns of an already inert UTF-8 string. */
int text_width(const char *inert);

/* Copies at most max_cols columns of an inert string into out (NUL-terminated,
 * never splitting a character); returns the columns used.  With ellipsis the
 * last column becomes "…" when the text was cut. */
int text_fit(const char *inert, int max_cols, int ellipsis, char *out, size_t out_size);

#endif
