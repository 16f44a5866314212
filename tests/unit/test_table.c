/* The table widget without a terminal: rows by id, cursor that stays put,
 * paging, filter, sort, marks, status text, and drawing into a pad. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <curses.h>

#include "tbl.h"

static const struct tbl_col TEST_COLS[] = {
    { "Id", 4, 2, TBL_RIGHT, true },
    { "Name", 0, 4, TBL_LEFT, false },
};

static void add(struct tbl *t, int from, int to)
{
    for (int i = from; i <= to; i++) {
        char id[16], name[32];
        snprintf(id, sizeof id, "%d", i);
        snprintf(name, sizeof name, "row %c%d", 'a' + i % 3, i);
        const char *cells[] = { id, name };
        tbl_row(t, id, cells, -1, TH_NORMAL);
    }
}

static int fetches;
static char last_after[16];
static void on_fetch(struct tbl *t, const char *after, void *ud)
{
    fetches++;
    snprintf(last_after, sizeof last_after, "%s", after ? after : "");
}

static void test_cursor_follows_id(void **state)
{
    (void)state;
    struct tbl *t = tbl_new(TEST_COLS, 2);
    tbl_begin(t, true);
    add(t, 10, 20);
    tbl_end(t, false);
    tbl_key(t, ACT_MOVE_DOWN, 0);
    tbl_key(t, ACT_MOVE_DOWN, 0);
    assert_string_equal(tbl_cursor_id(t), "12");
    /* A refresh with a new row on top: the cursor stays on row 12. */
    tbl_begin(t, true);
    add(t, 9, 20);
    tbl_end(t, false);
    assert_string_equal(tbl_cursor_id(t), "12");
    /* Row 12 goes away: the cursor stays at the same position. */
    tbl_begin(t, true);
    add(t, 9, 11);
    add(t, 13, 20);
    tbl_end(t, false);
    assert_non_null(tbl_cursor_id(t));
    assert_int_equal(tbl_count(t), 11);
    tbl_free(t);
}

static void test_paging_asks_for_more(void **state)
{
    (void)state;
    struct tbl *t = tbl_new(TEST_COLS, 2);
    fetches = 0;
    tbl_on_fetch(t, on_fetch, NULL);
    tbl_begin(t, true);
    add(t, 1, 100);
    tbl_end(t, true);
    assert_int_equal(fetches, 0);
    tbl_key(t, ACT_LAST, 0);
    assert_int_equal(fetches, 1);
    assert_string_equal(last_after, "100");
    tbl_key(t, ACT_MOVE_UP, 0);
    assert_int_equal(fetches, 1);          /* one request at a time */
    tbl_begin(t, false);
    add(t, 101, 150);
    tbl_end(t, false);
    assert_int_equal(tbl_loaded(t), 150);
    assert_string_equal(tbl_cursor_id(t), "99");
    tbl_key(t, ACT_LAST, 0);
    assert_int_equal(fetches, 1);          /* no more pages */
    tbl_free(t);
}

static void test_filter_sort_mark(void **state)
{
    (void)state;
    struct tbl *t = tbl_new(TEST_COLS, 2);
    tbl_begin(t, true);
    add(t, 1, 9);
    tbl_end(t, false);
    tbl_key(t, ACT_FILTER, 0);
    assert_true(tbl_filtering(t));
    tbl_key(t, ACT_NONE, 'B');           /* case-insensitive */
    tbl_key(t, ACT_NONE, '\r');
    assert_false(tbl_filtering(t));
    assert_int_equal(tbl_count(t), 3);   /* rows b1 b4 b7 */
    assert_string_equal(tbl_filter(t), "B");
    tbl_key(t, ACT_BACK, 0);             /* Esc drops the filter first */
    assert_int_equal(tbl_count(t), 9);
    tbl_key(t, ACT_SORT_NEXT, 0);        /* by Id, numeric */
    tbl_key(t, ACT_SORT_REVERSE, 0);
    tbl_key(t, ACT_FIRST, 0);
    assert_string_equal(tbl_cursor_id(t), "9");
    tbl_key(t, ACT_MARK, 0);
    tbl_key(t, ACT_MARK, 0);
    const char **ids;
    size_t n = tbl_marked(t, &ids);
    assert_int_equal(n, 2);
    free(ids);
    char status[256];
    tbl_status(t, status, sizeof status);
    assert_non_null(strstr(status, "9 rows"));
    assert_non_null(strstr(status, "sort Id desc"));
    assert_non_null(strstr(status, "2 marked"));
    tbl_fail(t, "connection refused\x1b[2J");
    tbl_status(t, status, sizeof status);
    assert_non_null(strstr(status, "refresh failed: connection refused^[[2J"));
    tbl_free(t);
}

/* Lines a and b of the pad were drawn since untouchwin(), and no other. */
static void only_touched(WINDOW *w, int a, int b)
{
    for (int y = 0; y < getmaxy(w); y++) {
        if (y == a || y == b)
            assert_true(is_linetouched(w, y));
        else
            assert_false(is_linetouched(w, y));
    }
}

static void test_draw_only_what_changed(void **state)
{
    (void)state;
    SCREEN *scr = newterm("xterm", fopen("/dev/null", "w"), fopen("/dev/null", "r"));
    assert_non_null(scr);
    struct theme th;
    theme_init(&th, false);
    WINDOW *w = newpad(10, 30);
    struct tbl *t = tbl_new(TEST_COLS, 2);
    tbl_begin(t, true);
    const char *evil[] = { "1", "\x1b]52;c;x\x07name" };
    tbl_row(t, "1", evil, -1, TH_NORMAL);
    add(t, 2, 30);
    tbl_end(t, false);
    assert_true(tbl_draw(t, w, &th, true));
    assert_false(tbl_needs_draw(t));
    assert_false(tbl_draw(t, w, &th, false));   /* nothing changed: nothing drawn */
    char line[64];
    mvwinnstr(w, 1, 0, line, 29);
    assert_non_null(strstr(line, "^[]52;c;x^Gname"));
    /* One step down repaints the row the cursor left and the one it is
     * on (pad lines 1 and 2 under the header); no other line is touched. */
    untouchwin(w);
    tbl_key(t, ACT_MOVE_DOWN, 0);
    assert_true(tbl_needs_draw(t));
    assert_true(tbl_draw(t, w, &th, false));
    only_touched(w, 1, 2);
    /* A refresh that changes one row's cells repaints that row (and the
     * cursor's, line 2), not the rows that stayed the same. */
    untouchwin(w);
    tbl_begin(t, true);
    tbl_row(t, "1", evil, -1, TH_NORMAL);
    add(t, 2, 4);
    const char *changed[] = { "5", "renamed" };
    tbl_row(t, "5", changed, -1, TH_NORMAL);
    add(t, 6, 30);
    tbl_end(t, false);
    assert_true(tbl_draw(t, w, &th, false));
    only_touched(w, 2, 5);
    tbl_free(t);
    delwin(w);
    endwin();
    delscreen(scr);
}

static int filter_calls;
static char filter_seen[64];
static void on_filter(struct tbl *t, const char *filter, void *ud)
{
    filter_calls++;
    snprintf(filter_seen, sizeof filter_seen, "%s", filter);
}

/* Typing a server-side filter filters the loaded rows at each key but
 * tells the server only when flushed (the frame does after a pause) or on
 * Enter; a flush with nothing new asks nothing. */
static void test_filter_debounced(void **state)
{
    (void)state;
    struct tbl *t = tbl_new(TEST_COLS, 2);
    tbl_on_filter(t, on_filter, NULL);
    tbl_begin(t, true);
    add(t, 1, 30);
    tbl_end(t, false);
    filter_calls = 0;
    tbl_key(t, ACT_FILTER, '/');
    const char *typed = "row b1";
    for (const char *p = typed; *p; p++)
        tbl_key(t, ACT_NONE, (unsigned char)*p);
    assert_int_equal(filter_calls, 0);
    assert_true(tbl_filter_due(t));
    assert_int_equal(tbl_count(t), 5);             /* row b1, b10, b13, b16, b19 */
    tbl_filter_flush(t);
    assert_int_equal(filter_calls, 1);
    assert_string_equal(filter_seen, "row b1");
    tbl_filter_flush(t);
    assert_int_equal(filter_calls, 1);
    tbl_key(t, ACT_NONE, '0');
    assert_int_equal(filter_calls, 1);
    tbl_key(t, ACT_NONE, '\n');                    /* Enter: at once */
    assert_int_equal(filter_calls, 2);
    assert_string_equal(filter_seen, "row b10");
    assert_false(tbl_filter_due(t));
    tbl_free(t);
}

/* Rows newer than every loaded one go on top; all loaded rows and the
 * cursor stay, however far down; a row given twice is kept once. */
static void test_newer_rows_on_top(void **state)
{
    (void)state;
    struct tbl *t = tbl_new(TEST_COLS, 2);
    tbl_begin(t, true);
    for (int i = 600; i >= 1; i--)
        add(t, i, i);
    tbl_end(t, true);
    tbl_key(t, ACT_LAST, 0);
    assert_string_equal(tbl_cursor_id(t), "1");
    tbl_begin_newer(t);
    add(t, 602, 602);
    add(t, 601, 601);
    add(t, 601, 601);
    tbl_end(t, false);
    assert_int_equal(tbl_loaded(t), 602);
    assert_string_equal(tbl_first_id(t), "602");
    assert_string_equal(tbl_last_id(t), "1");
    assert_string_equal(tbl_cursor_id(t), "1");
    tbl_key(t, ACT_FIRST, 0);
    assert_string_equal(tbl_cursor_id(t), "602");
    tbl_key(t, ACT_MOVE_DOWN, 0);
    tbl_key(t, ACT_MOVE_DOWN, 0);
    assert_string_equal(tbl_cursor_id(t), "600");
    tbl_free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cursor_follows_id),
        cmocka_unit_test(test_paging_asks_for_more),
        cmocka_unit_test(test_filter_sort_mark),
        cmocka_unit_test(test_draw_only_what_changed),
        cmocka_unit_test(test_filter_debounced),
        cmocka_unit_test(test_newer_rows_on_top),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
