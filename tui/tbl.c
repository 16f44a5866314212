/* The table widget (see tbl.h). */
#include "tbl.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "loop.h"
#include "mem.h"
#include "text.h"

struct trow {
    char *id;
    char **cells;            /* inert */
    int el_col;
    enum theme_el el;
    size_t order;            /* position in source order */
    bool marked, dirty, seen;
};

struct tbl {
    struct tbl_col *cols;
    int n_cols;
    int *widths;             /* as last laid out */
    struct trow **rows;      /* source order */
    size_t n, cap;
    size_t *hash;            /* open addressing: index into rows + 1; 0 empty */
    size_t hcap;
    struct trow **view;      /* filtered and sorted */
    size_t n_view;
    size_t cursor, top;
    char *cursor_id;
    int sort_col;            /* -1: source order */
    bool reverse;
    char filter[256];
    bool filter_open;
    bool batch_replace;
    bool batch_newer;            /* tbl_begin_newer(): the batch goes on top */
    struct trow **batch;     /* rows of a replacing batch, in their new order */
    size_t n_batch, cap_batch;
    bool more, fetching, loading;
    long long loading_since, updated_at;
    char *error;
    bool view_dirty, any_dirty;
    size_t drawn_cursor, drawn_top;
    int height, width;       /* of the last draw */
    tbl_fetch_fn fetch;
    void *fetch_ud;
    tbl_filter_fn on_filter;
    void *filter_ud;
    char filter_told[256];       /* what on_filter was last given */
};

static size_t hash_str(const char *s)
{
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return (size_t)h;
}

static void hash_rebuild(struct tbl *t)
{
    size_t want = 64;
    while (want < t->n * 2 + 16)
        want *= 2;
    if (want != t->hcap) {
        free(t->hash);
        t->hash = xcalloc(want, sizeof *t->hash);
        t->hcap = want;
    } else {
        memset(t->hash, 0, t->hcap * sizeof *t->hash);
    }
    for (size_t i = 0; i < t->n; i++) {
        size_t h = hash_str(t->rows[i]->id) & (t->hcap - 1);
        while (t->hash[h])
            h = (h + 1) & (t->hcap - 1);
        t->hash[h] = i + 1;
        t->rows[i]->order = i;
    }
}

static struct trow *row_find(const struct tbl *t, const char *id)
{
    if (!t->hcap || !id)
        return NULL;
    size_t h = hash_str(id) & (t->hcap - 1);
    while (t->hash[h]) {
        struct trow *r = t->rows[t->hash[h] - 1];
        if (strcmp(r->id, id) == 0)
            return r;
        h = (h + 1) & (t->hcap - 1);
    }
    return NULL;
}

static void row_free(struct trow *r, int n_cols)
{
    for (int c = 0; c < n_cols; c++)
        free(r->cells[c]);
    free(r->cells);
    free(r->id);
    free(r);
}

struct tbl *tbl_new(const struct tbl_col *cols, int n_cols)
{
    struct tbl *t = xcalloc(1, sizeof *t);
    t->cols = xcalloc((size_t)n_cols, sizeof *cols);
    memcpy(t->cols, cols, (size_t)n_cols * sizeof *cols);
    t->n_cols = n_cols;
    t->widths = xcalloc((size_t)n_cols, sizeof *t->widths);
    t->sort_col = -1;
    t->view_dirty = true;
    hash_rebuild(t);
    return t;
}

void tbl_free(struct tbl *t)
{
    if (!t)
        return;
    for (size_t i = 0; i < t->n; i++)
        row_free(t->rows[i], t->n_cols);
    free(t->rows);
    free(t->hash);
    free(t->view);
    free(t->batch);
    free(t->cols);
    free(t->widths);
    free(t->cursor_id);
    free(t->error);
    free(t);
}

void tbl_on_fetch(struct tbl *t, tbl_fetch_fn fn, void *ud)
{
    t->fetch = fn;
    t->fetch_ud = ud;
}

void tbl_on_filter(struct tbl *t, tbl_filter_fn fn, void *ud)
{
    t->on_filter = fn;
    t->filter_ud = ud;
}

void tbl_begin_newer(struct tbl *t)
{
    tbl_begin(t, false);
    t->batch_newer = true;
}

void tbl_begin(struct tbl *t, bool replace)
{
    t->batch_newer = false;
    t->batch_replace = replace;
    t->n_batch = 0;
    for (size_t i = 0; i < t->n; i++)
        t->rows[i]->seen = false;
}

static void batch_push(struct tbl *t, struct trow *r)
{
    if (t->n_batch == t->cap_batch) {
        t->cap_batch = t->cap_batch ? t->cap_batch * 2 : 64;
        t->batch = xrealloc(t->batch, t->cap_batch * sizeof *t->batch);
    }
    t->batch[t->n_batch++] = r;
}

void tbl_row(struct tbl *t, const char *id, const char *const *cells, int el_col,
             enum theme_el el)
{
    struct trow *r = row_find(t, id);
    if (r && r->seen)
        return;              /* the same id twice in one batch: keep the first */
    if (!r) {
        r = xcalloc(1, sizeof *r);
        r->id = xstrdup(id);
        r->cells = xcalloc((size_t)t->n_cols, sizeof *r->cells);
        for (int c = 0; c < t->n_cols; c++)
            r->cells[c] = text_inert(cells[c]);
        r->dirty = true;
        if (t->n == t->cap) {
            t->cap = t->cap ? t->cap * 2 : 64;
            t->rows = xrealloc(t->rows, t->cap * sizeof *t->rows);
        }
        t->rows[t->n++] = r;
        if (t->n * 2 + 16 > t->hcap)
            hash_rebuild(t);
        else {
            size_t h = hash_str(r->id) & (t->hcap - 1);
            while (t->hash[h])
                h = (h + 1) & (t->hcap - 1);
            t->hash[h] = t->n;
            r->order = t->n - 1;
        }
    } else {
        for (int c = 0; c < t->n_cols; c++) {
            char *in = text_inert(cells[c]);
            if (strcmp(in, r->cells[c]) != 0) {
                free(r->cells[c]);
                r->cells[c] = in;
                r->dirty = true;
            } else {
                free(in);
            }
        }
        if (r->el_col != el_col || r->el != el)
            r->dirty = true;
    }
    r->el_col = el_col;
    r->el = el;
    r->seen = true;
    if (r->dirty)
        t->any_dirty = true;
    if (t->batch_replace || t->batch_newer)
        batch_push(t, r);
}

static int cmp_rows(const void *a, const void *b, void *ud)
{
    const struct tbl *t = ud;
    const struct trow *x = *(struct trow *const *)a, *y = *(struct trow *const *)b;
    int c = 0;
    if (t->sort_col >= 0) {
        const char *p = x->cells[t->sort_col], *q = y->cells[t->sort_col];
        if (t->cols[t->sort_col].numeric) {
            double dp = strtod(p, NULL), dq = strtod(q, NULL);
            c = dp < dq ? -1 : dp > dq;
        } else {
            c = strcoll(p, q);
        }
        if (t->reverse)
            c = -c;
    }
    if (c == 0)
        c = x->order < y->order ? -1 : x->order > y->order;
    return c;
}

static bool row_matches(const struct tbl *t, const struct trow *r)
{
    if (!t->filter[0])
        return true;
    for (int c = 0; c < t->n_cols; c++)
        if (strcasestr(r->cells[c], t->filter))
            return true;
    return false;
}

static void ensure_visible(struct tbl *t)
{
    int h = t->height > 1 ? t->height - 1 : 20;
    if (t->cursor < t->top)
        t->top = t->cursor;
    if (t->cursor >= t->top + (size_t)h)
        t->top = t->cursor - (size_t)h + 1;
    size_t max_top = t->n_view > (size_t)h ? t->n_view - (size_t)h : 0;
    if (t->top > max_top)
        t->top = max_top;
}

static void remember_cursor(struct tbl *t)
{
    free(t->cursor_id);
    t->cursor_id = t->n_view ? xstrdup(t->view[t->cursor]->id) : NULL;
}

/* Rebuilds the view; the cursor stays on its id, on the same screen line. */
static void view_rebuild(struct tbl *t)
{
    size_t line = t->cursor >= t->top ? t->cursor - t->top : 0;
    struct trow **old = t->view;
    size_t n_old = t->n_view;
    t->view = xcalloc(t->n ? t->n : 1, sizeof *t->view);
    t->n_view = 0;
    for (size_t i = 0; i < t->n; i++)
        if (row_matches(t, t->rows[i]))
            t->view[t->n_view++] = t->rows[i];
    if (t->sort_col >= 0)
        qsort_r(t->view, t->n_view, sizeof *t->view, cmp_rows, t);
    if (n_old != t->n_view || (n_old && memcmp(old, t->view, n_old * sizeof *old) != 0))
        t->view_dirty = true;
    free(old);
    size_t cur = t->cursor < t->n_view ? t->cursor : (t->n_view ? t->n_view - 1 : 0);
    if (t->cursor_id) {
        for (size_t i = 0; i < t->n_view; i++) {
            if (strcmp(t->view[i]->id, t->cursor_id) == 0) {
                cur = i;
                break;
            }
        }
    }
    t->cursor = cur;
    t->top = t->cursor >= line ? t->cursor - line : 0;
    ensure_visible(t);
    remember_cursor(t);
}

static void maybe_fetch(struct tbl *t)
{
    int h = t->height > 1 ? t->height - 1 : 20;
    if (!t->more || t->fetching || !t->fetch || t->n == 0)
        return;
    if (t->cursor + (size_t)h * 2 < t->n_view)
        return;
    t->fetching = true;
    t->fetch(t, t->rows[t->n - 1]->id, t->fetch_ud);
}

void tbl_end(struct tbl *t, bool more)
{
    if (t->batch_replace) {
        size_t kept = 0;
        for (size_t i = 0; i < t->n; i++) {
            if (!t->rows[i]->seen) {
                row_free(t->rows[i], t->n_cols);
                t->view_dirty = true;
            }
        }
        for (size_t i = 0; i < t->n_batch; i++)
            t->rows[kept++] = t->batch[i];
        t->n = kept;
        hash_rebuild(t);
    } else if (t->batch_newer) {
        struct trow **rows = xcalloc(t->cap ? t->cap : 1, sizeof *rows);
        size_t k = 0;
        for (size_t i = 0; i < t->n_batch; i++)
            rows[k++] = t->batch[i];
        for (size_t i = 0; i < t->n; i++)
            if (!t->rows[i]->seen)
                rows[k++] = t->rows[i];
        free(t->rows);
        t->rows = rows;
        hash_rebuild(t);
        more = t->more;
        t->batch_newer = false;
    }
    t->n_batch = 0;
    t->more = more;
    t->fetching = false;
    t->loading = false;
    t->updated_at = loop_now_ms();
    xfree(&t->error);
    view_rebuild(t);
    if (t->n_view == 0)
        t->view_dirty = true;        /* "loading…" becomes "no rows" */
    maybe_fetch(t);
}

void tbl_loading(struct tbl *t)
{
    if (!t->loading)
        t->loading_since = loop_now_ms();
    t->loading = true;
    if (t->n_view == 0)
        t->view_dirty = true;
}

void tbl_fail(struct tbl *t, const char *reason)
{
    t->loading = false;
    t->fetching = false;
    free(t->error);
    t->error = text_inert(reason);
    if (!t->n_view)
        t->view_dirty = true;
}

bool tbl_is_loading(const struct tbl *t)
{
    return t->loading || t->fetching;
}

const char *tbl_cursor_id(const struct tbl *t)
{
    return t->n_view ? t->view[t->cursor]->id : NULL;
}

const char *tbl_cell(const struct tbl *t, const char *id, int col)
{
    const struct trow *r = row_find(t, id);
    return r && col >= 0 && col < t->n_cols ? r->cells[col] : NULL;
}

size_t tbl_marked(const struct tbl *t, const char ***ids)
{
    size_t n = 0;
    for (size_t i = 0; i < t->n; i++)
        n += t->rows[i]->marked;
    *ids = xcalloc(n ? n : 1, sizeof **ids);
    n = 0;
    for (size_t i = 0; i < t->n; i++)
        if (t->rows[i]->marked)
            (*ids)[n++] = t->rows[i]->id;
    return n;
}

size_t tbl_count(const struct tbl *t) { return t->n_view; }
size_t tbl_loaded(const struct tbl *t) { return t->n; }
const char *tbl_last_id(const struct tbl *t) { return t->n ? t->rows[t->n - 1]->id : NULL; }
const char *tbl_first_id(const struct tbl *t) { return t->n ? t->rows[0]->id : NULL; }
const char *tbl_filter(const struct tbl *t) { return t->filter; }
bool tbl_filtering(const struct tbl *t) { return t->filter_open; }

void tbl_set_cursor(struct tbl *t, const char *id)
{
    for (size_t i = 0; i < t->n_view; i++) {
        if (strcmp(t->view[i]->id, id) == 0) {
            t->cursor = i;
            ensure_visible(t);
            remember_cursor(t);
            return;
        }
    }
}

static void move_to(struct tbl *t, long long pos)
{
    if (!t->n_view)
        return;
    if (pos < 0)
        pos = 0;
    if (pos >= (long long)t->n_view)
        pos = (long long)t->n_view - 1;
    t->cursor = (size_t)pos;
    ensure_visible(t);
    remember_cursor(t);
    maybe_fetch(t);
}

bool tbl_filter_due(const struct tbl *t)
{
    return t->on_filter && strcmp(t->filter, t->filter_told) != 0;
}

void tbl_filter_flush(struct tbl *t)
{
    if (!tbl_filter_due(t))
        return;
    snprintf(t->filter_told, sizeof t->filter_told, "%s", t->filter);
    t->on_filter(t, t->filter, t->filter_ud);
}

/* The loaded rows are filtered at once; the server is told later. */
static void filter_changed(struct tbl *t)
{
    view_rebuild(t);
    t->view_dirty = true;
}

static bool filter_key(struct tbl *t, int ch)
{
    size_t len = strlen(t->filter);
    if (ch == 27) {                       /* Esc: no filter */
        t->filter[0] = '\0';
        t->filter_open = false;
        filter_changed(t);
        tbl_filter_flush(t);
    } else if (ch == '\n' || ch == '\r' || ch == KEY_ENTER) {
        t->filter_open = false;
        tbl_filter_flush(t);
    } else if (ch == KEY_BACKSPACE || ch == 127 || ch == 8) {
        while (len > 0 && ((unsigned char)t->filter[len - 1] & 0xc0) == 0x80)
            len--;        /* drop a whole UTF-8 character */
        if (len > 0)
            len--;
        t->filter[len] = '\0';
        filter_changed(t);
    } else if (ch >= 32 && ch < 256 && ch != 127 && len + 1 < sizeof t->filter) {
        t->filter[len] = (char)ch;
        t->filter[len + 1] = '\0';
        /* Wait for the rest of a UTF-8 character before filtering. */
        if (ch < 0x80 || (ch & 0xc0) == 0x80)
            filter_changed(t);
    }
    return true;
}

bool tbl_key(struct tbl *t, enum action a, int ch)
{
    if (t->filter_open)
        return filter_key(t, ch);
    int page = t->height > 2 ? t->height - 2 : 1;
    switch (a) {
    case ACT_MOVE_UP: move_to(t, (long long)t->cursor - 1); return true;
    case ACT_MOVE_DOWN: move_to(t, (long long)t->cursor + 1); return true;
    case ACT_PAGE_UP: move_to(t, (long long)t->cursor - page); return true;
    case ACT_PAGE_DOWN: move_to(t, (long long)t->cursor + page); return true;
    case ACT_FIRST: move_to(t, 0); return true;
    case ACT_LAST: move_to(t, (long long)t->n_view - 1); return true;
    case ACT_MARK:
        if (t->n_view) {
            t->view[t->cursor]->marked = !t->view[t->cursor]->marked;
            t->view[t->cursor]->dirty = true;
            t->any_dirty = true;
            move_to(t, (long long)t->cursor + 1);
        }
        return true;
    case ACT_SORT_NEXT:
    case ACT_SORT_PREV:
        if (a == ACT_SORT_NEXT)
            t->sort_col = t->sort_col + 1 >= t->n_cols ? -1 : t->sort_col + 1;
        else
            t->sort_col = t->sort_col < 0 ? t->n_cols - 1 : t->sort_col - 1;
        view_rebuild(t);
        t->view_dirty = true;
        return true;
    case ACT_SORT_REVERSE:
        if (t->sort_col < 0)
            t->sort_col = 0;
        t->reverse = !t->reverse;
        view_rebuild(t);
        t->view_dirty = true;
        return true;
    case ACT_FILTER:
        t->filter_open = true;
        return true;
    case ACT_BACK:
        if (t->filter[0]) {                   /* Esc first drops the filter */
            t->filter[0] = '\0';
            filter_changed(t);
            tbl_filter_flush(t);
            return true;
        }
        return false;
    default:
        return false;
    }
}

void tbl_click(struct tbl *t, int y)
{
    if (y >= 1)
        move_to(t, (long long)t->top + y - 1);
}

void tbl_wheel(struct tbl *t, int lines)
{
    move_to(t, (long long)t->cursor + lines);
}

static void layout(struct tbl *t, int width)
{
    int avail = width - 1;                   /* the mark gutter */
    int fixed = 0, flex = 0;
    for (int c = 0; c < t->n_cols; c++) {
        t->widths[c] = t->cols[c].width;
        fixed += t->widths[c] + (c ? 1 : 0);
        flex += t->cols[c].width == 0;
    }
    int left = avail - fixed;
    for (int c = 0; c < t->n_cols && flex; c++) {
        if (t->cols[c].width == 0) {
            int w = left > 0 ? left / flex : 0;
            if (w < t->cols[c].min_width)
                w = t->cols[c].min_width;
            t->widths[c] = w;
            left -= w;
            flex--;
            fixed += w;
        }
    }
    /* Too wide: shrink the widest columns towards their minimum. */
    while (fixed > avail) {
        int widest = -1;
        for (int c = 0; c < t->n_cols; c++)
            if (t->widths[c] > t->cols[c].min_width &&
                (widest < 0 || t->widths[c] > t->widths[widest]))
                widest = c;
        if (widest < 0)
            break;
        t->widths[widest]--;
        fixed--;
    }
}

void tbl_set_min_width(struct tbl *t, int col, int min_width)
{
    if (col < 0 || col >= t->n_cols || t->cols[col].min_width == min_width)
        return;
    t->cols[col].min_width = min_width;
    t->width = -1;                /* lay out again at the next draw */
}

static void put_cell(WINDOW *win, const char *text, int width, enum tbl_align align)
{
    char buf[1024];
    int used = text_fit(text, width, 1, buf, sizeof buf);
    if (align == TBL_RIGHT)
        for (int i = used; i < width; i++)
            waddch(win, ' ');
    waddstr(win, buf);
    if (align == TBL_LEFT)
        for (int i = used; i < width; i++)
            waddch(win, ' ');
}

static void draw_line(struct tbl *t, WINDOW *win, const struct theme *th, size_t vi, int y)
{
    int w = getmaxx(win);
    wmove(win, y, 0);
    if (vi >= t->n_view) {
        wattrset(win, theme_attr(th, TH_NORMAL));
        wclrtoeol(win);
        return;
    }
    struct trow *r = t->view[vi];
    bool sel = vi == t->cursor;
    attr_t base = sel ? theme_attr(th, TH_SELECTION)
                      : r->marked ? theme_attr(th, TH_MARKED) : theme_attr(th, TH_NORMAL);
    wattrset(win, base);
    waddch(win, r->marked ? '*' : ' ');
    int x = 1;
    for (int c = 0; c < t->n_cols && x < w; c++) {
        if (c) {
            waddch(win, ' ');
            x++;
        }
        int cw = t->widths[c] < w - x ? t->widths[c] : w - x;
        if (cw <= 0)
            break;
        if (!sel && c == r->el_col)
            wattrset(win, theme_attr(th, r->el));
        put_cell(win, r->cells[c], cw, t->cols[c].align);
        wattrset(win, base);
        x += cw;
    }
    /* Count columns ourselves: after the last column curses has already
     * moved to the next line, and padding there would blank it. */
    for (; x < w; x++)
        waddch(win, ' ');
    r->dirty = false;
}

bool tbl_needs_draw(const struct tbl *t)
{
    return t->view_dirty || t->any_dirty || t->cursor != t->drawn_cursor || t->top != t->drawn_top;
}

bool tbl_draw(struct tbl *t, WINDOW *win, const struct theme *th, bool full)
{
    int h = getmaxy(win), w = getmaxx(win);
    if (h != t->height || w != t->width) {
        t->height = h;
        t->width = w;
        ensure_visible(t);
        full = true;
    }
    if (!full && !tbl_needs_draw(t))
        return false;
    if (full || t->view_dirty || t->top != t->drawn_top) {
        layout(t, w);
        wattrset(win, theme_attr(th, TH_TABLE_HEADER));
        wmove(win, 0, 0);
        waddch(win, ' ');
        int x = 1;
        for (int c = 0; c < t->n_cols && x < w; c++) {
            if (c) {
                waddch(win, ' ');
                x++;
            }
            int cw = t->widths[c] < w - x ? t->widths[c] : w - x;
            if (cw <= 0)
                break;
            char title[128];
            snprintf(title, sizeof title, "%s%s", t->cols[c].title,
                     c == t->sort_col ? (t->reverse ? "v" : "^") : "");
            put_cell(win, title, cw, t->cols[c].align);
            x += cw;
        }
        for (; x < w; x++)
            waddch(win, ' ');
        for (int y = 1; y < h; y++)
            draw_line(t, win, th, t->top + (size_t)(y - 1), y);
        if (t->n_view == 0 && h > 1) {
            wmove(win, 1, 1);
            const char *what = t->error ? t->error
                             : t->loading || t->fetching ? "loading…"
                             : t->filter[0] ? "no rows match the filter" : "no rows";
            wattrset(win, theme_attr(th, t->error ? TH_STATUS_ERROR : TH_DIM));
            char buf[512];
            text_fit(what, w - 2, 1, buf, sizeof buf);
            waddstr(win, buf);
        }
        for (size_t i = 0; i < t->n; i++)
            t->rows[i]->dirty = false;
    } else {
        for (int y = 1; y < h; y++) {
            size_t vi = t->top + (size_t)(y - 1);
            if (vi >= t->n_view)
                break;
            if (t->view[vi]->dirty || vi == t->cursor || vi == t->drawn_cursor)
                draw_line(t, win, th, vi, y);
        }
    }
    t->view_dirty = false;
    t->any_dirty = false;
    t->drawn_cursor = t->cursor;
    t->drawn_top = t->top;
    return true;
}

void tbl_status(const struct tbl *t, char *out, size_t out_size)
{
    size_t used = 0;
#define ADD(...)                                                                          \
    do {                                                                                  \
        int n_ = snprintf(out + used, out_size - used, __VA_ARGS__);                      \
        if (n_ > 0)                                                                       \
            used += (size_t)n_ < out_size - used ? (size_t)n_ : out_size - used - 1;       \
    } while (0)
    out[0] = '\0';
    if (t->n_view != t->n)
        ADD("%zu of %zu%s rows", t->n_view, t->n, t->more ? "+" : "");
    else
        ADD("%zu%s rows", t->n, t->more ? "+" : "");
    if (t->filter[0] || t->filter_open)
        ADD(", filter '%s'", t->filter);
    if (t->sort_col >= 0)
        ADD(", sort %s%s", t->cols[t->sort_col].title, t->reverse ? " desc" : "");
    size_t marked = 0;
    for (size_t i = 0; i < t->n; i++)
        marked += t->rows[i]->marked;
    if (marked)
        ADD(", %zu marked", marked);
    long long now = loop_now_ms();
    if (t->loading || t->fetching)
        ADD(", loading %llds", (now - (t->loading ? t->loading_since : now)) / 1000);
    else if (t->error)
        ADD(", refresh failed: %s", t->error);
    else if (t->updated_at)
        ADD(", updated %lld s ago", (now - t->updated_at) / 1000);
#undef ADD
}
