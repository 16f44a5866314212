/* The `:` command line (see cmdline.h). */
#include "cmdline.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "mem.h"
#include "text.h"

#define CMDLINE_HISTORY 200

struct cmdline {
    char buf[512];
    char *path;                  /* NULL: no history file */
    char *hist[CMDLINE_HISTORY];
    int n_hist;
    int pos;                     /* browsing: index into hist, n_hist = the new line */
};

static void hist_push(struct cmdline *c, const char *line)
{
    if (c->n_hist && strcmp(c->hist[c->n_hist - 1], line) == 0)
        return;
    if (c->n_hist == CMDLINE_HISTORY) {
        free(c->hist[0]);
        memmove(c->hist, c->hist + 1, (CMDLINE_HISTORY - 1) * sizeof *c->hist);
        c->n_hist--;
    }
    c->hist[c->n_hist++] = xstrdup(line);
}

static void hist_clear(struct cmdline *c)
{
    for (int i = 0; i < c->n_hist; i++)
        free(c->hist[i]);
    c->n_hist = 0;
    c->pos = 0;
}

void cmdline_set_history(struct cmdline *c, const char *path)
{
    hist_clear(c);
    free(c->path);
    c->path = path && *path ? xstrdup(path) : NULL;
    if (!c->path)
        return;
    FILE *f = fopen(c->path, "r");
    if (!f)
        return;                  /* none yet: the first line run makes it */
    char line[512];
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\r\n")] = '\0';
        if (line[0])
            hist_push(c, line);
    }
    fclose(f);
    c->pos = c->n_hist;
}

struct cmdline *cmdline_new(const char *history_path)
{
    struct cmdline *c = xcalloc(1, sizeof *c);
    cmdline_set_history(c, history_path);
    return c;
}

void cmdline_free(struct cmdline *c)
{
    if (!c)
        return;
    hist_clear(c);
    free(c->path);
    free(c);
}

void cmdline_start(struct cmdline *c)
{
    c->buf[0] = '\0';
    c->pos = c->n_hist;
}

const char *cmdline_text(const struct cmdline *c)
{
    return c->buf;
}

static void mkdirs_for(const char *path)
{
    char *dir = xstrdup(path);
    for (char *p = dir + 1; *p; p++) {
        if (*p == '/') {
            *p = '\0';
            if (mkdir(dir, 0700) != 0 && errno != EEXIST)
                break;
            *p = '/';
        }
    }
    free(dir);
}

void cmdline_remember(struct cmdline *c, const char *line)
{
    if (!line[0])
        return;
    hist_push(c, line);
    if (!c->path)
        return;
    mkdirs_for(c->path);
    /* A history that cannot be written is not worth interrupting anyone. */
    FILE *f = fopen(c->path, "a");
    if (f) {
        fprintf(f, "%s\n", line);
        fclose(f);
    }
}

static void complete(struct cmdline *c, const char *const *names, size_t n, char *hint,
                     size_t hint_size)
{
    if (strchr(c->buf, ' '))
        return;                  /* only the command word */
    size_t len = strlen(c->buf);
    const char *first = NULL;
    size_t common = 0, matches = 0;
    hint[0] = '\0';
    size_t used = 0;
    for (size_t i = 0; i < n; i++) {
        if (strncmp(names[i], c->buf, len) != 0)
            continue;
        matches++;
        if (!first) {
            first = names[i];
            common = strlen(first);
        } else {
            size_t k = 0;
            while (k < common && first[k] == names[i][k])
                k++;
            common = k;
        }
        int w = snprintf(hint + used, hint_size - used, "%s%s", used ? " " : "", names[i]);
        if (w > 0 && (size_t)w < hint_size - used)
            used += (size_t)w;
    }
    if (!first)
        return;
    if (matches == 1) {
        snprintf(c->buf, sizeof c->buf, "%s ", first);
        hint[0] = '\0';
    } else if (common > len && common < sizeof c->buf) {
        memcpy(c->buf, first, common);
        c->buf[common] = '\0';
    }
}

enum cmdline_result cmdline_key(struct cmdline *c, int ch, const char *const *names, size_t n_names,
                                char *hint, size_t hint_size)
{
    hint[0] = '\0';
    size_t len = strlen(c->buf);
    switch (ch) {
    case 27:
        return CMDLINE_CANCEL;
    case '\n':
    case '\r':
    case KEY_ENTER:
        return CMDLINE_RUN;
    case '\t':
        complete(c, names, n_names, hint, hint_size);
        return CMDLINE_EDITING;
    case KEY_UP:
    case KEY_DOWN:
        if (ch == KEY_UP && c->pos > 0)
            c->pos--;
        else if (ch == KEY_DOWN && c->pos < c->n_hist)
            c->pos++;
        snprintf(c->buf, sizeof c->buf, "%s", c->pos < c->n_hist ? c->hist[c->pos] : "");
        return CMDLINE_EDITING;
    case KEY_BACKSPACE:
    case 127:
    case 8:
        if (len == 0)
            return CMDLINE_CANCEL;
        while (len > 0 && ((unsigned char)c->buf[len - 1] & 0xc0) == 0x80)
            len--;
        if (len > 0)
            len--;
        c->buf[len] = '\0';
        return CMDLINE_EDITING;
    case 21:                     /* C-u */
        c->buf[0] = '\0';
        return CMDLINE_EDITING;
    default:
        if (ch >= 32 && ch < 256 && len + 1 < sizeof c->buf) {
            c->buf[len] = (char)ch;
            c->buf[len + 1] = '\0';
        }
        return CMDLINE_EDITING;
    }
}

void cmdline_draw(const struct cmdline *c, WINDOW *win, const struct theme *th)
{
    int w = getmaxx(win);
    char *in = text_inert(c->buf);
    int tw = text_width(in);
    /* Keep the end of a long line in view. */
    const char *show = in;
    while (tw > w - 3 && *show) {
        show++;
        while ((*show & 0xc0) == 0x80)
            show++;
        tw = text_width(show);
    }
    wattrset(win, theme_attr(th, TH_NORMAL));
    wmove(win, 0, 0);
    waddch(win, ':');
    char buf[1024];
    text_fit(show, w - 2, 0, buf, sizeof buf);
    waddstr(win, buf);
    waddch(win, '_');
    wclrtoeol(win);
    free(in);
}
