/* A growable byte buffer, always NUL-terminated after any append so that
 * text can be used as a C string without a copy. */
#ifndef LAKEOP_BUF_H
#define LAKEOP_BUF_H

#include <stddef.h>

struct buf {
    char *data;   /* owned; NULL until the first append */
    size_t len;
    size_t cap;
};

#define BUF_INIT { NULL, 0, 0 }

void buf_init(struct buf *b);
void buf_free(struct buf *b);
void buf_reset(struct buf *b);                 /* len = 0, keeps memory */
void buf_reserve(struct buf *b, size_t extra);
void buf_append(struct buf *b, const void *data, size_t len);
void buf_puts(struct buf *b, const char *s);
void buf_putc(struct buf *b, char c);
void buf_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
const char *buf_cstr(struct buf *b);           /* "" when empty */
char *buf_detach(struct buf *b);               /* caller owns the result; b is reset */

#endif
