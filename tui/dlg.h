/* Dialogs: y/N, confirm (focus on Cancel; typed confirmation), an input
 * line with validation, and a progress dialog in the style of mc.
 *
 * Safety (htop's kill dialog): an action dialog takes the target's id when
 * it opens and shows it; just before reporting "OK" it calls still_valid(),
 * where the caller compares the target again (is the selected row still the
 * same job?  is the load still errored?).  When that says no, the dialog
 * reports not-OK and says why: nothing is done to a target that changed.
 *
 * done() is called exactly once per dialog, also when the console closes
 * (ok = false), so it can always free ud. */
#ifndef LAKEOP_TUI_DLG_H
#define LAKEOP_TUI_DLG_H

#include <stdbool.h>
#include <stddef.h>

struct tui;

typedef void (*dlg_done_fn)(struct tui *t, bool ok, const char *input, void *ud);
/* true when the target is still what the dialog showed; otherwise why. */
typedef bool (*dlg_check_fn)(struct tui *t, void *ud, char *why, size_t why_size);
/* true when input is acceptable; otherwise why (shown under the line). */
typedef bool (*dlg_validate_fn)(const char *input, void *ud, char *why, size_t why_size);

/* The refusal of an action whose target changed: "nothing done: why".
 * The dialog says it when still_valid() says no; a worker that re-reads
 * the target from the database just before acting says it from done(). */
void dlg_nothing_done(struct tui *t, const char *why);

/* "question [y/N]": y is yes; n, Enter and Esc are no. */
void dlg_yesno(struct tui *t, const char *question, dlg_done_fn done, void *ud);

struct dlg_confirm {
    const char *title;           /* "Retry loads" */
    const char *text;            /* what will happen (may hold several lines) */
    const char *target;          /* the id(s) acted on, shown as "target: ..." */
    const char *typed;           /* non-NULL: OK needs this typed (the environment's name) */
    const char *ok_label;        /* default "OK" */
    dlg_check_fn still_valid;    /* may be NULL */
};
/* Focus starts on Cancel: Enter alone does nothing harmful. */
void dlg_confirm(struct tui *t, const struct dlg_confirm *c, dlg_done_fn done, void *ud);

void dlg_input(struct tui *t, const char *title, const char *prompt, const char *initial,
               dlg_validate_fn validate, dlg_done_fn done, void *ud);

/* Progress of a long operation.  The caller owns it until dlg_progress_close().
 * Esc sends it to the background (the status line shows it; :progress
 * brings it back); Cancel asks first, then calls cancel(ud). */
struct dlg_progress;
typedef void (*dlg_cancel_fn)(void *ud);
struct dlg_progress *dlg_progress_open(struct tui *t, const char *title, const char *target,
                                       dlg_cancel_fn cancel, void *ud);
void dlg_progress_update(struct dlg_progress *p, const char *what, long long bytes,
                         long long bytes_total, long long records, long long records_total);
void dlg_progress_close(struct dlg_progress *p);
void dlg_progress_show(struct dlg_progress *p);
/* One line for the status line: "Account.csv 45% 2.1 MB/s". */
void dlg_progress_summary(const struct dlg_progress *p, char *out, size_t out_size);
/* Every progress dialog open (shown or in the background) is an operation
 * that has not ended: its owner closes it when its worker is done.
 * Quitting asks each to stop (cancel(ud), once, as a confirmed Cancel
 * does) and returns how many are still open. */
size_t dlg_progress_cancel_all(struct tui *t);
size_t dlg_progress_count(const struct tui *t);

/* For the frame (tui.c). */
bool dlg_key(struct tui *t, int ch);
void dlg_draw(struct tui *t, bool below_changed);
void dlg_tick(struct tui *t);
void dlg_close_all(struct tui *t);
bool dlg_open(const struct tui *t);

#endif
