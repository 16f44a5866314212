/* Allocation wrappers: they never return NULL; out of memory is fatal
 * because no caller in lakeop can do anything sensible about it. */
#ifndef LAKEOP_MEM_H
#define LAKEOP_MEM_H

#include <stddef.h>

void *xmalloc(size_t size);
void *xcalloc(size_t count, size_t size);
void *xrealloc(void *ptr, size_t size);
char *xstrdup(const char *s);              /* NULL in, NULL out */
char *xstrndup(const char *s, size_t n);
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Frees *p and sets it to NULL. */
void xfree(void *pp);

#endif
