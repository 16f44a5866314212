/* The console toolkit's context: the terminal, the loop, the screen stack,
 * the status line and message log, dialogs, the command line, headless and
 * scripted runs.  One struct tui per console, owned by screens/app.c; the
 * app fills in hooks for what the toolkit must not know (the header's
 * contents, app commands such as :env, whether work is running). */
#ifndef LAKEOP_TUI_TUI_H
#define LAKEOP_TUI_TUI_H

#include <curses.h>
#include <stdbool.h>
#include <stdio.h>

#include "actions.h"
#include "keymap.h"
#include "loop.h"
#include "screen.h"
#include "theme.h"

#define TUI_MAX_DEPTH 16

struct dlg;
struct cmdline;
struct msglog;

enum tui_level { TUI_INFO, TUI_WARN, TUI_ERROR };

struct tui_hooks {
    /* Draws the header line (row 0, the full width). */
    void (*draw_header)(struct tui *t, WINDOW *win, void *app);
    /* An app command (`:env PROD`); return false when unknown. */
    bool (*command)(struct tui *t, const char *name, const char *arg, void *app);
    /* Extra command names for completion (NULL-terminated), may be NULL. */
    const char *const *commands;
    /* true when background work that quitting would interrupt is running;
     * writes what into out. */
    bool (*busy)(struct tui *t, char *out, size_t out_size, void *app);
    /* true while the app itself has loading pending (scripts wait). */
    bool (*loading)(struct tui *t, void *app);
};

struct tui_options {
    bool headless;           /* LAKEOP_HEADLESS: size from LINES/COLUMNS, output to /dev/null */
    bool mouse;
    bool read_only;
    const char *script;      /* LAKEOP_SCRIPT: one step per line */
    int script_skip;         /* lines a previous session already ran (:env restarts) */
    const char *timings;     /* LAKEOP_TIMINGS: a file for key→paint timings */
    int workers;
};

struct tui {
    struct loop *loop;
    struct keymap *km;
    struct theme th;
    struct msglog *log;
    struct screen *stack[TUI_MAX_DEPTH];
    int depth;
    unsigned long stack_changes; /* bumped by every push and pop (see screen_key) */
    struct dlg *dlg;             /* the top modal dialog, or NULL */
    struct cmdline *cmd;         /* the command line (history, completion) */
    bool cmd_open;
    char cmd_hint[256];          /* Tab's candidates, shown beside the open : line */
    struct dlg_progress *bg_progress;  /* a progress dialog sent to the background */
    struct dlg_progress *progress_open; /* every progress dialog not yet closed (dlg.c) */
    long long stopping_since;    /* quitting: running operations were cancelled at this
                                  * time (loop_now_ms) and are being waited for; 0 not */
    bool signalled;              /* ended by SIGINT/SIGTERM/SIGHUP: exit status 130 */
    void (*quit_declined)(struct tui *t, void *ud);  /* tui_quit()'s, while its question is open */
    void *quit_declined_ud;
    WINDOW *hdr, *body, *stl;    /* header, body, status line */
    int rows, cols;
    bool headless, read_only, mouse, quit, too_small;
    bool hdr_dirty, stl_dirty;
    char msg[512];
    enum tui_level msg_level;
    struct tui_hooks hooks;
    void *app;
    long long started_ms;
    /* Internal state of scripts, timings and the terminal. */
    FILE *script;
    int script_line;
    FILE *timings;
    long long key_at;            /* when the key being answered was read */
    char *paint_mark;            /* label logged at the next paint */
    SCREEN *term;
    FILE *term_out, *term_in;
    unsigned tick_timer;
    unsigned filter_timer;       /* the / filter's pause before the server is asked */
    int sig_pipe[2];
};

/* Sets up the terminal (or the headless one), the loop with its worker
 * context factory, signals, keymap (defaults), theme.  Returns NULL and
 * writes why into err when there is no usable terminal. */
struct tui *tui_new(const struct tui_options *opt, loop_ctx_new_fn ctx_new,
                    loop_ctx_free_fn ctx_free, void *factory_ud, char *err, size_t err_size);
/* Closes every screen, joins the workers, restores the terminal. */
void tui_free(struct tui *t);

/* Runs until quit.  Returns 0, or 130 when ended by a signal. */
int tui_run(struct tui *t);
/* Ends the run as q does: while work is running it asks first ("Work is
 * running (...). VERB anyway?"), then cancels that work and waits for it.
 * declined (may be NULL) is called when the operator answers no. */
void tui_quit(struct tui *t, const char *verb, void (*declined)(struct tui *t, void *ud), void *ud);

/* Screens. */
struct screen *tui_push(struct tui *t, const struct screen_ops *ops, const char *arg, void *data);
/* By name (`:jobs`, an Overview link); false (and a message) when that
 * screen is not part of this build. */
bool tui_open(struct tui *t, const char *name, const char *arg);
void tui_pop(struct tui *t);
/* Replaces the stack with a top-level screen. */
void tui_switch(struct tui *t, const struct screen_ops *ops, const char *arg);
void tui_close_all(struct tui *t);
struct screen *tui_top(const struct tui *t);

/* Marks a screen for drawing (full: everything). */
void tui_dirty(struct screen *s, bool full);
void tui_header_dirty(struct tui *t);

/* Runs work on a worker thread for this screen; done() runs on the UI
 * thread, with orphaned=true when the screen has closed meanwhile. */
void tui_submit(struct screen *s, loop_work_fn work, loop_done_fn done, void *job);
bool tui_loading(const struct screen *s);

/* The status line (and the message log). */
void tui_message(struct tui *t, enum tui_level level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* true (after a message saying so) when action changes something and the
 * console is read-only. */
bool tui_refuse_read_only(struct tui *t, enum action a);

/* Copies text to the clipboard with OSC 52 (works over SSH). */
void tui_clipboard(struct tui *t, const char *text);

/* Writes the screen as text (one line per row, trailing blanks cut). */
bool tui_save_display(struct tui *t, const char *path, char *err, size_t err_size);

/* Runs a command line (without the ':'). */
void tui_command(struct tui *t, const char *line);

/* Performance log (LAKEOP_TIMINGS): "label milliseconds-since-start";
 * tui_mark_paint() logs label at the end of the next frame. */
void tui_timing(struct tui *t, const char *label);
void tui_mark_paint(struct tui *t, const char *label);

/* The help and message-log screens (built from the action table and log). */
void tui_show_help(struct tui *t);
void tui_show_log(struct tui *t);

#endif
