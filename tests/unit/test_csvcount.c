/* Exact RFC 4180 record counting, fed in arbitrary chunks, checked against
 * a plain byte-by-byte reference on hand-written and random inputs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "csvcount.h"

/* The reference: a byte state machine with the same rules as csvcount.h. */
static int reference_count(const char *s, size_t len, long long *records)
{
    size_t i = 0;
    if (len >= 3 && memcmp(s, "\xEF\xBB\xBF", 3) == 0)
        i = 3;
    int inq = 0;
    long long rows = 0;
    size_t row_len = 0;   /* bytes in the current row */
    int only_cr = 0;
    for (; i < len; i++) {
        char ch = s[i];
        if (ch == '"')
            inq = !inq;
        if (ch == '\n' && !inq) {
            if (row_len > 0 && !(row_len == 1 && only_cr))
                rows++;
            row_len = 0;
            continue;
        }
        only_cr = row_len == 0 && ch == '\r';
        row_len++;
    }
    if (row_len > 0 && !(row_len == 1 && only_cr))
        rows++;
    *records = rows > 0 ? rows - 1 : 0;
    return inq ? -1 : 0;
}

/* Counts text fed in pieces of `step` bytes (0: one piece). */
static enum lk_status count_chunked(const char *s, size_t len, size_t step, long long *records)
{
    struct csvcount c;
    struct lk_error err;
    err_clear(&err);
    csvcount_init(&c, true);
    if (!step)
        step = len ? len : 1;
    for (size_t off = 0; off < len; off += step)
        csvcount_feed(&c, s + off, len - off < step ? len - off : step);
    enum lk_status st = csvcount_finish(&c, records, &err);
    assert_int_equal(c.bytes, (long long)len);
    csvcount_free(&c);
    return st;
}

static void count_is(const char *s, long long want)
{
    size_t len = strlen(s);
    static const size_t steps[] = { 0, 1, 2, 3, 5, 7, 63, 64, 65, 128 };
    for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
        long long got = -1;
        assert_int_equal(count_chunked(s, len, steps[i], &got), LK_OK);
        if (got != want)
            fail_msg("%lld records, expected %lld (step %zu) in \"%s\"", got, want, steps[i], s);
    }
}

static void test_basics(void **state)
{
    (void)state;
    count_is("", 0);
    count_is("a,b\n", 0);
    count_is("a,b", 0);
    count_is("a,b\n1,2\n", 1);
    count_is("a,b\n1,2", 1);
    count_is("a,b\r\n1,2\r\n3,4\r\n", 2);
    count_is("a,b\r\n1,2\r\n3,4", 2);
}

static void test_quotes(void **state)
{
    (void)state;
    count_is("a,b\n\"x\ny\",2\n", 1);
    count_is("a,b\n\"x\r\ny\",2\r\n\"p\"\"q\",\"\"\"\"\n", 2);
    count_is("a,b\n\"\"\"\n\"\"\",1\n", 1);
    count_is("a,b\n\"\n\n\n\",1\n2,\"\n\"", 2);
    count_is("\"multi\nline header\",b\n1,2\n", 1);
}

static void test_bom_and_empty_lines(void **state)
{
    (void)state;
    count_is("\xEF\xBB\xBF" "a,b\n1,2\n", 1);
    count_is("\xEF\xBB\xBF", 0);
    count_is("\xEF\xBB\xBF" "a", 0);
    count_is("\xEF\xBB" "a,b\n1,2\n", 1);   /* not a BOM: data */
    count_is("a,b\n1,2\n\n", 1);
    count_is("a,b\n1,2\n\r\n\r\n", 1);
    count_is("\n\na,b\n\n1,2\n\n3,4", 2);
    count_is("a,b\n\r", 0);
    count_is("a,b\n\r\r\n", 1);   /* "\r" then "\r\n": a row holding one '\r' */
}

static void test_unterminated_quote(void **state)
{
    (void)state;
    const char *s = "a,b\n1,2\n\"open,3\n4,5\n";
    long long got = -1;
    struct csvcount c;
    struct lk_error err;
    err_clear(&err);
    csvcount_init(&c, false);
    csvcount_feed(&c, s, strlen(s));
    assert_int_equal(csvcount_finish(&c, &got, &err), LK_FAIL);
    assert_non_null(strstr(err.message, "quote"));
    assert_int_equal(got, 1);
    csvcount_free(&c);
}

static void test_header_kept(void **state)
{
    (void)state;
    const char *s = "\xEF\xBB\xBF" "Account.Id,\"Account.\nName\"\r\n1,2\n";
    for (size_t step = 1; step < 70; step++) {
        struct csvcount c;
        struct lk_error err;
        err_clear(&err);
        csvcount_init(&c, true);
        for (size_t off = 0; off < strlen(s); off += step) {
            size_t n = strlen(s) - off < step ? strlen(s) - off : step;
            csvcount_feed(&c, s + off, n);
        }
        long long records = -1;
        assert_int_equal(csvcount_finish(&c, &records, &err), LK_OK);
        assert_int_equal(records, 1);
        size_t len = 0;
        const char *h = csvcount_header(&c, &len);
        assert_non_null(h);
        assert_int_equal(len, strlen("Account.Id,\"Account.\nName\"\r\n"));
        assert_memory_equal(h, "Account.Id,\"Account.\nName\"\r\n", len);
        assert_int_equal(c.header_end, 3 + (long long)len);
        csvcount_free(&c);
    }
    /* A header alone without a newline is still a header. */
    struct csvcount c;
    long long records = -1;
    csvcount_init(&c, true);
    csvcount_feed(&c, "x,y", 3);
    assert_int_equal(csvcount_finish(&c, &records, NULL), LK_OK);
    size_t len = 0;
    assert_non_null(csvcount_header(&c, &len));
    assert_int_equal(len, 3);
    assert_int_equal(records, 0);
    csvcount_free(&c);
}

static void test_header_too_long(void **state)
{
    (void)state;
    size_t n = CSVCOUNT_HEADER_MAX + 100;
    char *s = malloc(n + 10);
    memset(s, 'h', n);
    memcpy(s + n, "\n1\n", 3);
    struct csvcount c;
    struct lk_error err;
    err_clear(&err);
    csvcount_init(&c, true);
    csvcount_feed(&c, s, n + 3);
    long long records = -1;
    assert_int_equal(csvcount_finish(&c, &records, &err), LK_FAIL);
    assert_int_equal(records, 1);
    assert_non_null(strstr(err.message, "header"));
    csvcount_free(&c);
    /* Without keep_header, a long header is just a row. */
    assert_int_equal(csvcount_buffer(s, n + 3, &records, NULL), LK_OK);
    assert_int_equal(records, 1);
    free(s);
}

/* Random CSV-ish text from a tiny alphabet that is dense in the characters
 * that matter, compared with the reference under random chunking. */
static void test_random_against_reference(void **state)
{
    (void)state;
    static const char alphabet[] = "\"\"\n\n\r,ab";
    unsigned seed = 12345;
    for (int round = 0; round < 3000; round++) {
        size_t len = (size_t)(rand_r(&seed) % 400);
        char *s = malloc(len + 1);
        for (size_t i = 0; i < len; i++)
            s[i] = alphabet[rand_r(&seed) % (sizeof alphabet - 1)];
        if (len >= 3 && rand_r(&seed) % 4 == 0)
            memcpy(s, "\xEF\xBB\xBF", 3);
        s[len] = '\0';
        long long want = -1, got = -1;
        int ref = reference_count(s, len, &want);
        struct csvcount c;
        csvcount_init(&c, false);
        size_t off = 0;
        while (off < len) {
            size_t n = (size_t)(rand_r(&seed) % 150) + 1;
            if (n > len - off)
                n = len - off;
            csvcount_feed(&c, s + off, n);
            off += n;
        }
        enum lk_status st = csvcount_finish(&c, &got, NULL);
        csvcount_free(&c);
        if (ref < 0)
            assert_int_equal(st, LK_FAIL);
        else if (st != LK_OK || got != want)
            fail_msg("round %d: got %lld (status %d), reference %lld", round, got, st, want);
        free(s);
    }
}

/* Zuora-style rows, every 50th with a quoted newline, across many blocks. */
static void test_large_zuora_style(void **state)
{
    (void)state;
    struct buf b = BUF_INIT;
    buf_puts(&b, "Account.IsDeleted,Account.Id,Account.Name,Account.Balance\n");
    for (int i = 0; i < 20000; i++) {
        if (i % 50 == 0)
            buf_printf(&b, "false,2c92a0%026d,\"Name with \"\"quotes\"\"\nand a newline\",%d.50\n", i, i);
        else
            buf_printf(&b, "false,2c92a0%026d,Plain name %d,%d.00\n", i, i, i);
    }
    long long got = -1;
    assert_int_equal(count_chunked(b.data, b.len, 0, &got), LK_OK);
    assert_int_equal(got, 20000);
    assert_int_equal(count_chunked(b.data, b.len, 16384, &got), LK_OK);
    assert_int_equal(got, 20000);
    assert_int_equal(count_chunked(b.data, b.len, 1000, &got), LK_OK);
    assert_int_equal(got, 20000);
    buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_basics),
        cmocka_unit_test(test_quotes),
        cmocka_unit_test(test_bom_and_empty_lines),
        cmocka_unit_test(test_unterminated_quote),
        cmocka_unit_test(test_header_kept),
        cmocka_unit_test(test_header_too_long),
        cmocka_unit_test(test_random_against_reference),
        cmocka_unit_test(test_large_zuora_style),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
