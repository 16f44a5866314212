/* Screens: one file per screen in screens/, each registered through one
 * operations struct (tig's view_ops + DEFINE_VIEW).
 *
 *   static const struct screen_ops audit_ops = { .name = "audit", ... };
 *   SCREEN_DEFINE(audit_ops);
 *
 * The registry is a linker section, so a screen exists in a build exactly
 * when its file is compiled in: `:jobs` and the Overview's links to jobs
 * work as soon as screens/jobs.c exists.  See tui/README.md. */
#ifndef LAKEOP_TUI_SCREEN_H
#define LAKEOP_TUI_SCREEN_H

#include <curses.h>
#include <stdbool.h>
#include <stddef.h>

#include "actions.h"

struct tui;
struct tbl;
struct screen;

enum screen_flags {
    SCREEN_TOP = 1,          /* reachable with 1-9 and Tab, in `order` */
    SCREEN_SORTABLE = 2,     /* its table can be sorted by column */
    SCREEN_FILTERABLE = 4,   /* its table takes a / filter */
};

struct screen_ops {
    const char *name;        /* "audit": used by :audit and `bind audit KEY ACTION` */
    const char *title;       /* "Audit": shown in the header */
    int order;               /* place among top-level screens (overview 1, jobs 2, ...) */
    int flags;
    /* Makes the screen's state (returned, stored in s->st).  arg: the text
     * after `:name ` (may be NULL); data: what the pushing screen passed
     * (ownership as the pair of screens agree; NULL from :commands).
     * Return NULL to refuse (after tui_message() saying why). */
    void *(*open)(struct screen *s, const char *arg, void *data);
    void (*close)(struct screen *s);                    /* frees s->st */
    /* Draws into win (the body).  full: the window was cleared, draw all. */
    void (*draw)(struct screen *s, WINDOW *win, bool full);
    /* An action (from the keymap) or, with ACT_NONE, an unbound key ch.
     * Return true when handled. */
    bool (*key)(struct screen *s, enum action action, int ch);
    void (*reload)(struct screen *s);                   /* `r`: reload now (named so because curses has a refresh macro) */
    void (*on_notify)(struct screen *s, const char *table);  /* a table changed */
    /* Optional: the screen's main table; the frame then does movement,
     * marking, sorting, filtering, mouse and status text for it. */
    struct tbl *(*table)(struct screen *s);
    /* Optional: a status text of its own (right side of the status line). */
    void (*status)(struct screen *s, char *out, size_t out_size);
};

struct screen {
    const struct screen_ops *ops;
    struct tui *tui;
    void *st;                /* the screen's own state */
    bool dirty;              /* draw on the next frame */
    bool full;               /* ... all of it */
    bool text_entry;         /* the screen is reading text: every key goes to key() */
};

#define SCREEN_DEFINE(ops)                                                                    \
    static const struct screen_ops *const screen_registry_##ops                              \
        __attribute__((used, section("lakeop_screens"), aligned(sizeof(void *)))) = &(ops)

/* The registered screens, sorted by order then name (caller frees the
 * array, not the entries). */
const struct screen_ops **screen_registry(size_t *n);
const struct screen_ops *screen_find(const char *name);

#endif
