/* Dialogs (see dlg.h). */
#include "dlg.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "loop.h"
#include "mem.h"
#include "text.h"
#include "tui.h"

enum dlg_kind { DLG_YESNO, DLG_CONFIRM, DLG_INPUT, DLG_PROGRESS };

struct dlg {
    enum dlg_kind kind;
    char *title, *text, *target, *typed, *ok_label;
    char input[256];
    char why[256];
    int focus;                   /* 0 Cancel (or No), 1 OK */
    dlg_check_fn still_valid;
    dlg_validate_fn validate;
    dlg_done_fn done;
    void *ud;
    struct dlg_progress *progress;
    WINDOW *win;
    struct dlg *below;
};

struct dlg_progress {
    struct tui *tui;
    char *title, *target, *what;
    long long bytes, bytes_total, records, records_total;
    long long started, last_change, sample_at, sample_bytes;
    double rate;                 /* bytes/s, recomputed every 2 s */
    dlg_cancel_fn cancel;
    void *ud;
    bool shown;                  /* on the dialog stack */
    bool cancelling;
    struct dlg_progress *next_open;   /* t->progress_open: every one not closed */
};

static void dlg_push(struct tui *t, struct dlg *d)
{
    d->below = t->dlg;
    t->dlg = d;
    struct screen *s = tui_top(t);
    if (s)
        tui_dirty(s, true);
}

static void dlg_destroy(struct dlg *d)
{
    if (d->win)
        delwin(d->win);
    free(d->title);
    free(d->text);
    free(d->target);
    free(d->typed);
    free(d->ok_label);
    free(d);
}

/* Takes d off the stack (wherever it is), then reports. */
static void dlg_finish(struct tui *t, struct dlg *d, bool ok)
{
    for (struct dlg **p = &t->dlg; *p; p = &(*p)->below) {
        if (*p == d) {
            *p = d->below;
            break;
        }
    }
    struct screen *s = tui_top(t);
    if (s)
        tui_dirty(s, true);
    t->stl_dirty = true;
    t->hdr_dirty = true;
    dlg_done_fn done = d->done;
    void *ud = d->ud;
    char input[sizeof d->input];
    memcpy(input, d->input, sizeof input);
    if (d->progress)
        d->progress->shown = false;
    dlg_destroy(d);
    if (done)
        done(t, ok, input, ud);
}

static struct dlg *dlg_alloc(enum dlg_kind kind, const char *title, dlg_done_fn done, void *ud)
{
    struct dlg *d = xcalloc(1, sizeof *d);
    d->kind = kind;
    d->title = text_inert(title);
    d->done = done;
    d->ud = ud;
    return d;
}

void dlg_yesno(struct tui *t, const char *question, dlg_done_fn done, void *ud)
{
    struct dlg *d = dlg_alloc(DLG_YESNO, "Confirm", done, ud);
    d->text = text_inert(question);
    dlg_push(t, d);
}

/* Text for a dialog body: lines kept, each line made inert on its own. */
static char *inert_lines(const char *text)
{
    char *copy = xstrdup(text ? text : "");
    char *out = NULL;
    size_t len = 0;
    char *save = NULL;
    for (char *line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        char *in = text_inert(line);
        size_t n = strlen(in);
        out = xrealloc(out, len + n + 2);
        memcpy(out + len, in, n);
        len += n;
        out[len++] = '\n';
        out[len] = '\0';
        free(in);
    }
    free(copy);
    return out ? out : xstrdup("");
}

void dlg_confirm(struct tui *t, const struct dlg_confirm *c, dlg_done_fn done, void *ud)
{
    struct dlg *d = dlg_alloc(DLG_CONFIRM, c->title ? c->title : "Confirm", done, ud);
    d->text = inert_lines(c->text);
    d->target = c->target ? text_inert(c->target) : NULL;
    d->typed = c->typed ? xstrdup(c->typed) : NULL;
    d->ok_label = xstrdup(c->ok_label ? c->ok_label : "OK");
    d->still_valid = c->still_valid;
    d->focus = 0;
    dlg_push(t, d);
}

void dlg_input(struct tui *t, const char *title, const char *prompt, const char *initial,
               dlg_validate_fn validate, dlg_done_fn done, void *ud)
{
    struct dlg *d = dlg_alloc(DLG_INPUT, title ? title : "Input", done, ud);
    d->text = inert_lines(prompt);
    snprintf(d->input, sizeof d->input, "%s", initial ? initial : "");
    d->validate = validate;
    d->focus = 1;
    dlg_push(t, d);
}

bool dlg_open(const struct tui *t)
{
    return t->dlg != NULL;
}

static void input_key(char *buf, size_t size, int ch)
{
    size_t len = strlen(buf);
    if (ch == KEY_BACKSPACE || ch == 127 || ch == 8) {
        while (len > 0 && ((unsigned char)buf[len - 1] & 0xc0) == 0x80)
            len--;
        if (len > 0)
            len--;
        buf[len] = '\0';
    } else if (ch == 21) {                 /* C-u */
        buf[0] = '\0';
    } else if (ch >= 32 && ch < 256 && ch != 127 && len + 1 < size) {
        buf[len] = (char)ch;
        buf[len + 1] = '\0';
    }
}

void dlg_nothing_done(struct tui *t, const char *why)
{
    tui_message(t, TUI_WARN, "nothing done: %s", why && why[0] ? why : "the target changed");
}

static void confirm_ok(struct tui *t, struct dlg *d)
{
    if (d->typed && strcmp(d->input, d->typed) != 0) {
        char *in = text_inert(d->typed);
        snprintf(d->why, sizeof d->why, "type %s to confirm", in);
        free(in);
        return;
    }
    if (d->still_valid) {
        char why[256] = "";
        if (!d->still_valid(t, d->ud, why, sizeof why)) {
            dlg_nothing_done(t, why);
            dlg_finish(t, d, false);
            return;
        }
    }
    dlg_finish(t, d, true);
}

static void progress_cancel_answer(struct tui *t, bool ok, const char *input, void *ud)
{
    struct dlg_progress *p = ud;
    if (ok && p->cancel && !p->cancelling) {
        p->cancelling = true;
        p->cancel(p->ud);
        tui_message(t, TUI_WARN, "cancelling %s", p->title);
    }
}

bool dlg_key(struct tui *t, int ch)
{
    struct dlg *d = t->dlg;
    if (!d)
        return false;
    bool enter = ch == '\n' || ch == '\r' || ch == KEY_ENTER;
    switch (d->kind) {
    case DLG_YESNO:
        if (ch == 'y' || ch == 'Y')
            dlg_finish(t, d, true);
        else if (ch == 'n' || ch == 'N' || ch == 27 || enter || ch == 'q')
            dlg_finish(t, d, false);
        return true;
    case DLG_CONFIRM:
        if (ch == 27) {
            dlg_finish(t, d, false);
        } else if (ch == '\t' || ch == KEY_BTAB || ch == KEY_LEFT || ch == KEY_RIGHT) {
            d->focus = !d->focus;
        } else if (enter) {
            if (d->focus == 1)
                confirm_ok(t, d);
            else
                dlg_finish(t, d, false);
        } else if (d->typed) {
            input_key(d->input, sizeof d->input, ch);
            d->why[0] = '\0';
        }
        return true;
    case DLG_INPUT:
        if (ch == 27) {
            dlg_finish(t, d, false);
        } else if (enter) {
            if (!d->validate || d->validate(d->input, d->ud, d->why, sizeof d->why))
                dlg_finish(t, d, true);
        } else {
            input_key(d->input, sizeof d->input, ch);
            d->why[0] = '\0';
            if (d->validate)
                d->validate(d->input, d->ud, d->why, sizeof d->why);
        }
        return true;
    case DLG_PROGRESS:
        if (ch == 27 || ch == 'b') {            /* continue in the background */
            t->bg_progress = d->progress;
            dlg_finish(t, d, false);
        } else if (ch == 'c' || (enter && d->focus == 0)) {
            struct dlg_progress *p = d->progress;
            char q[300];
            snprintf(q, sizeof q, "Cancel %s? Nothing partial is kept.", p->title);
            dlg_yesno(t, q, progress_cancel_answer, p);
        } else if (ch == '\t' || ch == KEY_LEFT || ch == KEY_RIGHT) {
            d->focus = !d->focus;
        } else if (enter && d->focus == 1) {
            t->bg_progress = d->progress;
            dlg_finish(t, d, false);
        }
        return true;
    }
    return true;
}

static void human_bytes(long long n, char *out, size_t size)
{
    const char *unit[] = { "B", "KB", "MB", "GB", "TB" };
    double v = (double)n;
    int u = 0;
    while (v >= 1000 && u < 4) {
        v /= 1000;
        u++;
    }
    if (u == 0)
        snprintf(out, size, "%lld B", n);
    else
        snprintf(out, size, "%.1f %s", v, unit[u]);
}

/* Greedy word wrap of inert text into lines of at most width columns. */
static int wrap(const char *text, int width, char lines[][256], int max_lines)
{
    int n = 0;
    char *copy = xstrdup(text ? text : "");
    char *save = NULL;
    for (char *para = strtok_r(copy, "\n", &save); para && n < max_lines;
         para = strtok_r(NULL, "\n", &save)) {
        char cur[256] = "";
        char *s2 = NULL;
        for (char *w = strtok_r(para, " ", &s2); w; w = strtok_r(NULL, " ", &s2)) {
            char trial[512];
            snprintf(trial, sizeof trial, "%s%s%s", cur, cur[0] ? " " : "", w);
            if (text_width(trial) <= width && strlen(trial) < sizeof cur) {
                memcpy(cur, trial, strlen(trial) + 1);
                continue;
            }
            if (cur[0] && n < max_lines)
                snprintf(lines[n++], 256, "%s", cur);
            text_fit(w, width, 1, cur, sizeof cur);
        }
        if (n < max_lines)
            snprintf(lines[n++], 256, "%s", cur);
    }
    free(copy);
    return n;
}

static void put_fit(WINDOW *w, int y, int x, const char *text, int width)
{
    char buf[512];
    if (width <= 0)
        return;
    text_fit(text, width, 1, buf, sizeof buf);
    mvwaddstr(w, y, x, buf);
}

/* A piece of the button row, cut at column limit: a row wider than the
 * dialog would wrap over its border (a 20-column terminal). */
static void row_put(WINDOW *w, const char *text, int limit)
{
    int y, x;
    getyx(w, y, x);
    put_fit(w, y, x, text, limit - x);
}

static void button(WINDOW *w, const struct theme *th, const char *label, bool focus, int limit)
{
    char b[300];
    snprintf(b, sizeof b, "[ %s ]", label);
    wattrset(w, focus ? theme_attr(th, TH_DIALOG_FOCUS) : theme_attr(th, TH_DIALOG));
    row_put(w, b, limit);
    wattrset(w, theme_attr(th, TH_DIALOG));
}

static void progress_lines(const struct dlg_progress *p, char lines[4][256])
{
    char done[32], total[32];
    human_bytes(p->bytes, done, sizeof done);
    human_bytes(p->bytes_total, total, sizeof total);
    if (p->bytes_total > 0)
        snprintf(lines[0], 256, "%s of %s", done, total);
    else
        snprintf(lines[0], 256, "%s", done);
    if (p->records_total > 0)
        snprintf(lines[1], 256, "%lld of %lld records", p->records, p->records_total);
    else
        snprintf(lines[1], 256, "%lld records", p->records);
    long long now = loop_now_ms();
    bool stalled = now - p->last_change > 4000;
    char rate[32] = "-";
    if (p->rate > 0) {
        human_bytes((long long)p->rate, rate, sizeof rate);
        strcat(rate, "/s");
    }
    char eta[32] = "-";
    if (p->rate > 0 && p->bytes_total > p->bytes) {
        long long s = (long long)((double)(p->bytes_total - p->bytes) / p->rate);
        snprintf(eta, sizeof eta, "%lld:%02lld:%02lld", s / 3600, s / 60 % 60, s % 60);
    }
    snprintf(lines[2], 256, "%s, ETA %s%s", rate, eta, stalled ? "  (stalled)" : "");
    lines[3][0] = '\0';
}

void dlg_draw(struct tui *t, bool below_changed)
{
    /* Draw bottom-up so that a question over a progress dialog shows on top. */
    struct dlg *stack[16];
    int n = 0;
    for (struct dlg *d = t->dlg; d && n < 16; d = d->below)
        stack[n++] = d;
    const struct theme *th = &t->th;
    for (int i = n - 1; i >= 0; i--) {
        struct dlg *d = stack[i];
        int maxw = t->cols - 2 < 70 ? t->cols - 2 : 70;
        if (maxw < 10)
            maxw = t->cols;
        int inner = maxw - 4;
        char lines[12][256];
        int nl = 0;
        if (d->kind == DLG_PROGRESS) {
            struct dlg_progress *p = d->progress;
            char *what = text_inert(p->what ? p->what : "");
            text_fit(what, 255, 1, lines[nl++], 256);
            free(what);
            char pl[4][256];
            progress_lines(p, pl);
            for (int k = 0; k < 3; k++)
                memcpy(lines[nl++], pl[k], 256);
        } else {
            nl = wrap(d->text, inner, lines, 8);
        }
        int extra = 2;                                  /* blank + buttons */
        if (d->target)
            extra++;
        if (d->kind == DLG_PROGRESS)
            extra += 2;                                 /* target + bar */
        if (d->typed || d->kind == DLG_INPUT)
            extra += 2;                                 /* input + why */
        int h = nl + extra + 2;
        if (h > t->rows)
            h = t->rows;
        int w = maxw;
        int y0 = (t->rows - h) / 2, x0 = (t->cols - w) / 2;
        if (y0 < 0)
            y0 = 0;
        if (x0 < 0)
            x0 = 0;
        if (!d->win || getmaxy(d->win) != h || getmaxx(d->win) != w) {
            if (d->win)
                delwin(d->win);
            d->win = newwin(h, w, y0, x0);
            if (!d->win)
                continue;
        } else {
            mvwin(d->win, y0, x0);
        }
        WINDOW *win = d->win;
        wbkgdset(win, ' ' | theme_attr(th, TH_DIALOG));
        werase(win);
        wattrset(win, theme_attr(th, TH_DIALOG));
        box(win, 0, 0);
        put_fit(win, 0, 2, d->title, w - 4);
        int y = 1;
        if (d->target && y < h - 1) {
            char tl[300];
            snprintf(tl, sizeof tl, "target: %s", d->target);
            wattrset(win, theme_attr(th, TH_DIALOG) | A_BOLD);
            put_fit(win, y++, 2, tl, inner);
            wattrset(win, theme_attr(th, TH_DIALOG));
        }
        for (int k = 0; k < nl && y < h - 1; k++)
            put_fit(win, y++, 2, lines[k], inner);
        if (d->kind == DLG_PROGRESS && y < h - 1) {
            struct dlg_progress *p = d->progress;
            int barw = inner - 7;
            int pct = p->bytes_total > 0 ? (int)(p->bytes * 100 / p->bytes_total) : 0;
            if (pct > 100)
                pct = 100;
            wmove(win, y++, 2);
            waddch(win, '[');
            for (int k = 0; k < barw; k++)
                waddch(win, k < barw * pct / 100 ? '#' : '.');
            wprintw(win, "] %3d%%", pct);
        }
        if ((d->typed || d->kind == DLG_INPUT) && y < h - 1) {
            if (d->typed) {
                char prompt[300];
                char *in = text_inert(d->typed);
                snprintf(prompt, sizeof prompt, "type %s to confirm:", in);
                free(in);
                put_fit(win, y++, 2, prompt, inner);
            }
            if (y < h - 1) {
                wattrset(win, theme_attr(th, TH_DIALOG_FOCUS));
                char *in = text_inert(d->input);
                wmove(win, y, 2);
                for (int k = 0; k < inner; k++)
                    waddch(win, ' ');
                put_fit(win, y++, 2, in, inner - 1);
                waddch(win, '_');
                free(in);
                wattrset(win, theme_attr(th, TH_DIALOG));
            }
        }
        if (d->why[0] && y < h - 1) {
            wattrset(win, theme_attr(th, TH_STATUS_ERROR));
            put_fit(win, y++, 2, d->why, inner);
            wattrset(win, theme_attr(th, TH_DIALOG));
        }
        if (h >= 3) {
            int limit = w - 2;
            wmove(win, h - 2, 2);
            switch (d->kind) {
            case DLG_YESNO:
                row_put(win, "[y/N] ", limit);
                button(win, th, "No", true, limit);
                break;
            case DLG_CONFIRM:
                button(win, th, "Cancel", d->focus == 0, limit);
                row_put(win, "  ", limit);
                button(win, th, d->ok_label, d->focus == 1, limit);
                break;
            case DLG_INPUT:
                row_put(win, "Enter: OK   Esc: cancel", limit);
                break;
            case DLG_PROGRESS:
                button(win, th, "Cancel", d->focus == 0, limit);
                row_put(win, "  ", limit);
                button(win, th, "Background (Esc)", d->focus == 1, limit);
                break;
            }
        }
        if (below_changed || i < n - 1)
            touchwin(win);
        wnoutrefresh(win);
    }
}

void dlg_close_all(struct tui *t)
{
    while (t->dlg)
        dlg_finish(t, t->dlg, false);
}

/* Progress. */

struct dlg_progress *dlg_progress_open(struct tui *t, const char *title, const char *target,
                                       dlg_cancel_fn cancel, void *ud)
{
    struct dlg_progress *p = xcalloc(1, sizeof *p);
    p->tui = t;
    p->title = text_inert(title);
    p->target = target ? xstrdup(target) : NULL;
    p->cancel = cancel;
    p->ud = ud;
    p->bytes_total = p->records_total = -1;
    p->started = p->last_change = p->sample_at = loop_now_ms();
    p->next_open = t->progress_open;
    t->progress_open = p;
    dlg_progress_show(p);
    return p;
}

size_t dlg_progress_cancel_all(struct tui *t)
{
    size_t n = 0;
    for (struct dlg_progress *p = t->progress_open; p; p = p->next_open) {
        n++;
        if (p->cancel && !p->cancelling) {
            p->cancelling = true;
            p->cancel(p->ud);
        }
    }
    return n;
}

size_t dlg_progress_count(const struct tui *t)
{
    size_t n = 0;
    for (const struct dlg_progress *p = t->progress_open; p; p = p->next_open)
        n++;
    return n;
}

void dlg_progress_show(struct dlg_progress *p)
{
    if (p->shown)
        return;
    struct dlg *d = dlg_alloc(DLG_PROGRESS, p->title, NULL, NULL);
    d->target = p->target ? text_inert(p->target) : NULL;
    d->progress = p;
    d->focus = 1;
    p->shown = true;
    if (p->tui->bg_progress == p)
        p->tui->bg_progress = NULL;
    dlg_push(p->tui, d);
}

void dlg_progress_update(struct dlg_progress *p, const char *what, long long bytes,
                         long long bytes_total, long long records, long long records_total)
{
    if (what && (!p->what || strcmp(p->what, what) != 0)) {
        free(p->what);
        p->what = xstrdup(what);
    }
    if (bytes != p->bytes || records != p->records)
        p->last_change = loop_now_ms();
    p->bytes = bytes;
    p->bytes_total = bytes_total;
    p->records = records;
    p->records_total = records_total;
    p->tui->stl_dirty = true;
}

void dlg_progress_summary(const struct dlg_progress *p, char *out, size_t out_size)
{
    int pct = p->bytes_total > 0 ? (int)(p->bytes * 100 / p->bytes_total) : 0;
    char rate[40] = "";
    if (p->rate > 0) {
        rate[0] = ' ';
        human_bytes((long long)p->rate, rate + 1, sizeof rate - 1);
        strcat(rate, "/s");
    }
    bool stalled = loop_now_ms() - p->last_change > 4000;
    snprintf(out, out_size, "%s %d%%%s%s", p->title, pct, rate, stalled ? " (stalled)" : "");
}

void dlg_tick(struct tui *t)
{
    long long now = loop_now_ms();
    for (struct dlg *d = t->dlg; d; d = d->below) {
        if (d->kind != DLG_PROGRESS)
            continue;
        struct dlg_progress *p = d->progress;
        if (now - p->sample_at >= 2000) {
            p->rate = (double)(p->bytes - p->sample_bytes) * 1000.0 / (double)(now - p->sample_at);
            p->sample_at = now;
            p->sample_bytes = p->bytes;
        }
    }
    struct dlg_progress *bg = t->bg_progress;
    if (bg && now - bg->sample_at >= 2000) {
        bg->rate = (double)(bg->bytes - bg->sample_bytes) * 1000.0 / (double)(now - bg->sample_at);
        bg->sample_at = now;
        bg->sample_bytes = bg->bytes;
    }
}

void dlg_progress_close(struct dlg_progress *p)
{
    if (!p)
        return;
    struct tui *t = p->tui;
    for (struct dlg *d = t->dlg; d; d = d->below) {
        if (d->progress == p) {
            dlg_finish(t, d, true);
            break;
        }
    }
    if (t->bg_progress == p)
        t->bg_progress = NULL;
    for (struct dlg_progress **o = &t->progress_open; *o; o = &(*o)->next_open) {
        if (*o == p) {
            *o = p->next_open;
            break;
        }
    }
    /* A cancel question may still point at p. */
    for (struct dlg *d = t->dlg; d; d = d->below)
        if (d->kind == DLG_YESNO && d->ud == p && d->done == progress_cancel_answer) {
            d->done = NULL;
        }
    free(p->title);
    free(p->target);
    free(p->what);
    free(p);
}
