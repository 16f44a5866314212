/* The screen registry: every SCREEN_DEFINE() lands in one linker section. */
#include "screen.h"

#include <stdlib.h>
#include <string.h>

#include "mem.h"

/* Weak: a build without any screen still links. */
extern const struct screen_ops *const __start_lakeop_screens[] __attribute__((weak));
extern const struct screen_ops *const __stop_lakeop_screens[] __attribute__((weak));

static int by_order(const void *a, const void *b)
{
    const struct screen_ops *x = *(const struct screen_ops *const *)a;
    const struct screen_ops *y = *(const struct screen_ops *const *)b;
    if (x->order != y->order)
        return x->order < y->order ? -1 : 1;
    return strcmp(x->name, y->name);
}

const struct screen_ops **screen_registry(size_t *n)
{
    size_t count = 0;
    if (__start_lakeop_screens && __stop_lakeop_screens)
        count = (size_t)(__stop_lakeop_screens - __start_lakeop_screens);
    const struct screen_ops **list = xcalloc(count ? count : 1, sizeof *list);
    size_t k = 0;
    for (size_t i = 0; i < count; i++)
        if (__start_lakeop_screens[i])
            list[k++] = __start_lakeop_screens[i];
    qsort(list, k, sizeof *list, by_order);
    *n = k;
    return list;
}

const struct screen_ops *screen_find(const char *name)
{
    size_t n;
    const struct screen_ops **list = screen_registry(&n);
    const struct screen_ops *found = NULL;
    for (size_t i = 0; i < n && !found; i++)
        if (strcmp(list[i]->name, name) == 0)
            found = list[i];
    free(list);
    return found;
}
