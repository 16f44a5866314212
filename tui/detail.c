/* The detail view (see detail.h). */
#include "detail.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "mem.h"
#include "text.h"
#include "tui.h"

struct dline {
    char *key;               /* inert, or NULL */
    char *text;              /* inert */
    enum theme_el el;
};

struct detail {
    char *title;
    char *id;
    struct dline *lines;
    size_t n, cap;
    size_t top, cursor;
    int key_width;
    bool loading;
    char *error;
    char search[128];
    bool search_open;
    int height;
};

struct detail *detail_new(const char *title)
{
    struct detail *d = xcalloc(1, sizeof *d);
    d->title = text_inert(title);
    return d;
}

void detail_clear(struct detail *d)
{
    for (size_t i = 0; i < d->n; i++) {
        free(d->lines[i].key);
        free(d->lines[i].text);
    }
    d->n = 0;
    d->top = d->cursor = 0;
    d->key_width = 0;
}

void detail_free(struct detail *d)
{
    if (!d)
        return;
    detail_clear(d);
    free(d->lines);
    free(d->title);
    free(d->id);
    free(d->error);
    free(d);
}

static void add_line(struct detail *d, const char *key, const char *raw, size_t len,
                     enum theme_el el)
{
    if (d->n == d->cap) {
        d->cap = d->cap ? d->cap * 2 : 32;
        d->lines = xrealloc(d->lines, d->cap * sizeof *d->lines);
    }
    char *tmp = xstrndup(raw, len);
    d->lines[d->n].key = key ? text_inert(key) : NULL;
    d->lines[d->n].text = text_inert(tmp);
    d->lines[d->n].el = el;
    free(tmp);
    if (key) {
        int w = text_width(d->lines[d->n].key);
        if (w > d->key_width)
            d->key_width = w > 24 ? 24 : w;
    }
    d->n++;
}

static void add_lines(struct detail *d, const char *key, const char *text, enum theme_el el)
{
    if (!text)
        text = "";
    const char *p = text;
    for (;;) {
        const char *nl = strchr(p, '\n');
        size_t len = nl ? (size_t)(nl - p) : strlen(p);
        add_line(d, p == text ? key : (key ? "" : NULL), p, len, el);
        if (!nl)
            break;
        p = nl + 1;
    }
}

void detail_kv(struct detail *d, const char *key, const char *value)
{
    add_lines(d, key, value, TH_NORMAL);
}

void detail_kv_el(struct detail *d, const char *key, const char *value, enum theme_el el)
{
    add_lines(d, key, value, el);
}

void detail_text(struct detail *d, const char *text, enum theme_el el)
{
    add_lines(d, NULL, text, el);
}

void detail_heading(struct detail *d, const char *text)
{
    add_lines(d, NULL, "", TH_NORMAL);
    add_lines(d, NULL, text, TH_TABLE_HEADER);
}

static void indent(struct buf *b, int level)
{
    buf_putc(b, '\n');
    for (int i = 0; i < level; i++)
        buf_puts(b, "  ");
}

char *detail_json_pretty(const char *json)
{
    struct buf b = BUF_INIT;
    int level = 0;
    const char *p = json ? json : "";
    while (*p) {
        char c = *p;
        if (c == '"') {
            const char *s = p++;
            while (*p && *p != '"') {
                if (*p == '\\' && p[1])
                    p++;
                p++;
            }
            if (*p)
                p++;
            buf_append(&b, s, (size_t)(p - s));
            continue;
        }
        if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
            p++;
            continue;
        }
        if (c == '{' || c == '[') {
            const char *q = p + 1;
            while (*q == ' ' || *q == '\t' || *q == '\n' || *q == '\r')
                q++;
            if (*q == (c == '{' ? '}' : ']')) {
                buf_putc(&b, c);
                buf_putc(&b, *q);
                p = q + 1;
                continue;
            }
            buf_putc(&b, c);
            indent(&b, ++level);
        } else if (c == '}' || c == ']') {
            if (level > 0)
                level--;
            indent(&b, level);
            buf_putc(&b, c);
        } else if (c == ',') {
            buf_putc(&b, c);
            indent(&b, level);
        } else if (c == ':') {
            buf_puts(&b, ": ");
        } else {
            buf_putc(&b, c);
        }
        p++;
    }
    return buf_detach(&b);
}

void detail_json(struct detail *d, const char *json)
{
    char *pretty = detail_json_pretty(json);
    add_lines(d, NULL, pretty, TH_NORMAL);
    free(pretty);
}

void detail_set_id(struct detail *d, const char *id)
{
    free(d->id);
    d->id = id ? xstrdup(id) : NULL;
}

void detail_set_loading(struct detail *d, bool loading)
{
    d->loading = loading;
}

void detail_fail(struct detail *d, const char *reason)
{
    free(d->error);
    d->error = text_inert(reason);
    d->loading = false;
}

struct detail *detail_of(struct screen *s)
{
    return s->st;
}

/* The screen. */

static void *detail_open(struct screen *s, const char *arg, void *data)
{
    return data ? data : detail_new(arg ? arg : "");
}

static void detail_close(struct screen *s)
{
    detail_free(s->st);
}

static bool line_matches(const struct detail *d, size_t i)
{
    if (!d->search[0])
        return false;
    const struct dline *l = &d->lines[i];
    return strcasestr(l->text, d->search) || (l->key && strcasestr(l->key, d->search));
}

static void detail_draw(struct screen *s, WINDOW *win, bool full)
{
    struct detail *d = s->st;
    const struct theme *th = &s->tui->th;
    int h = getmaxy(win), w = getmaxx(win);
    d->height = h;
    /* A move made before the first draw (the log opens on its last line)
     * did not know the height: fill the window rather than show one line. */
    size_t rows = h > 1 ? (size_t)h - 1 : 1;
    if (d->top + rows > d->n)
        d->top = d->n > rows ? d->n - rows : 0;
    werase(win);
    wattrset(win, theme_attr(th, TH_TITLE));
    char buf[1024];
    text_fit(d->title, w, 1, buf, sizeof buf);
    mvwaddstr(win, 0, 0, buf);
    for (int x = text_width(buf); x < w; x++)
        waddch(win, ' ');
    if (d->n == 0 && h > 1) {
        wattrset(win, theme_attr(th, d->error ? TH_STATUS_ERROR : TH_DIM));
        text_fit(d->error ? d->error : d->loading ? "loading…" : "nothing to show", w - 1, 1, buf,
                 sizeof buf);
        mvwaddstr(win, 1, 1, buf);
    }
    for (int y = 1; y < h; y++) {
        size_t i = d->top + (size_t)(y - 1);
        if (i >= d->n)
            break;
        const struct dline *l = &d->lines[i];
        bool sel = i == d->cursor;
        attr_t a = sel ? theme_attr(th, TH_SELECTION)
                       : line_matches(d, i) ? theme_attr(th, TH_SEARCH_MATCH) : theme_attr(th, l->el);
        wmove(win, y, 0);
        int x = 0;
        if (l->key) {
            wattrset(win, sel ? a : theme_attr(th, TH_KEY));
            int kw = d->key_width < w ? d->key_width : w;
            int used = text_fit(l->key, kw, 1, buf, sizeof buf);
            waddch(win, ' ');
            waddstr(win, buf);
            for (int k = used; k < kw + 1 && 1 + k < w; k++)
                waddch(win, ' ');
            x = 1 + kw + 1;
        } else {
            wattrset(win, a);
            waddch(win, ' ');
            x = 1;
        }
        wattrset(win, a);
        if (x < w) {
            int used = text_fit(l->text, w - x, 1, buf, sizeof buf);
            waddstr(win, buf);
            x += used;
        }
        for (; x < w; x++)
            waddch(win, ' ');
    }
}

static void detail_move(struct detail *d, long long to)
{
    if (d->n == 0)
        return;
    if (to < 0)
        to = 0;
    if (to >= (long long)d->n)
        to = (long long)d->n - 1;
    d->cursor = (size_t)to;
    size_t rows = d->height > 1 ? (size_t)d->height - 1 : 1;
    if (d->cursor < d->top)
        d->top = d->cursor;
    if (d->cursor >= d->top + rows)
        d->top = d->cursor - rows + 1;
}

static bool search_step(struct detail *d, int dir)
{
    if (!d->search[0] || d->n == 0)
        return false;
    for (size_t k = 1; k <= d->n; k++) {
        size_t i = (d->cursor + d->n + (size_t)dir * k) % d->n;
        if (line_matches(d, i)) {
            detail_move(d, (long long)i);
            return true;
        }
    }
    return false;
}

static bool detail_key(struct screen *s, enum action a, int ch)
{
    struct detail *d = s->st;
    int page = d->height > 2 ? d->height - 2 : 1;
    if (d->search_open) {
        size_t len = strlen(d->search);
        if (ch == 27) {
            d->search[0] = '\0';
            d->search_open = false;
        } else if (ch == '\n' || ch == '\r' || ch == KEY_ENTER) {
            d->search_open = false;
            if (!line_matches(d, d->cursor) && !search_step(d, 1))
                tui_message(s->tui, TUI_WARN, "not found: %s", d->search);
        } else if (ch == KEY_BACKSPACE || ch == 127 || ch == 8) {
            while (len > 0 && ((unsigned char)d->search[len - 1] & 0xc0) == 0x80)
                len--;
            if (len > 0)
                len--;
            d->search[len] = '\0';
        } else if (ch >= 32 && ch < 256 && len + 1 < sizeof d->search) {
            d->search[len] = (char)ch;
            d->search[len + 1] = '\0';
        }
        tui_dirty(s, true);
        return true;
    }
    switch (a) {
    case ACT_MOVE_UP: detail_move(d, (long long)d->cursor - 1); break;
    case ACT_MOVE_DOWN: detail_move(d, (long long)d->cursor + 1); break;
    case ACT_PAGE_UP: detail_move(d, (long long)d->cursor - page); break;
    case ACT_PAGE_DOWN: detail_move(d, (long long)d->cursor + page); break;
    case ACT_FIRST: detail_move(d, 0); break;
    case ACT_LAST: detail_move(d, (long long)d->n - 1); break;
    case ACT_FILTER:
        d->search_open = true;
        d->search[0] = '\0';
        break;
    case ACT_SEARCH_NEXT:
    case ACT_SEARCH_PREV:
        if (!search_step(d, a == ACT_SEARCH_NEXT ? 1 : -1))
            tui_message(s->tui, TUI_WARN, "%s", d->search[0] ? "no more matches" : "no search: press /");
        break;
    case ACT_YANK:
        if (d->id) {
            tui_clipboard(s->tui, d->id);
        } else if (d->n) {
            tui_clipboard(s->tui, d->lines[d->cursor].text);
        }
        break;
    default:
        return false;
    }
    tui_dirty(s, true);
    return true;
}

static void detail_status(struct screen *s, char *out, size_t out_size)
{
    struct detail *d = s->st;
    if (d->search_open)
        snprintf(out, out_size, "search: %s", d->search);
    else if (d->loading)
        snprintf(out, out_size, "loading");
    else
        snprintf(out, out_size, "line %zu of %zu%s%s", d->n ? d->cursor + 1 : 0, d->n,
                 d->search[0] ? ", search " : "", d->search);
}

const struct screen_ops detail_screen_ops = {
    .name = "detail",
    .title = "Detail",
    .open = detail_open,
    .close = detail_close,
    .draw = detail_draw,
    .key = detail_key,
    .status = detail_status,
};
