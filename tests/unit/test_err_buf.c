/* The error record's one-line text, and the growable buffer. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "err.h"
#include "mem.h"

static void test_err_text_plain(void **state)
{
    (void)state;
    struct lk_error err;
    err_clear(&err);
    char out[256];
    assert_string_equal(err_text(&err, out, sizeof out), "unknown error");
    assert_int_equal(err_set(&err, LK_NOTFOUND, "no job %s", "J1"), LK_NOTFOUND);
    assert_int_equal(err.status, LK_NOTFOUND);
    assert_string_equal(err_text(&err, out, sizeof out), "no job J1");
    err_prefix(&err, "watching %d jobs", 3);
    assert_string_equal(err_text(&err, out, sizeof out), "watching 3 jobs: no job J1");
    assert_int_equal(err_set(NULL, LK_FAIL, "ignored"), LK_FAIL);
    err_remote(NULL, 500, "x", "y", "z");
    err_prefix(NULL, "nothing");
}

static void test_err_text_remote(void **state)
{
    (void)state;
    struct lk_error err;
    err_clear(&err);
    char out[512];
    err_set(&err, LK_FAIL, "cannot read s3://b/k");
    err_remote(&err, 404, "NoSuchKey", "The specified key does not exist.", "REQ1");
    assert_string_equal(err_text(&err, out, sizeof out),
                        "cannot read s3://b/k (HTTP 404 NoSuchKey: The specified key does not exist.; request id REQ1)");

    err_remote(&err, 0, "42P01", NULL, NULL);
    assert_string_equal(err_text(&err, out, sizeof out), "cannot read s3://b/k (42P01)");

    err_remote(&err, 503, NULL, "Slow Down", NULL);
    assert_string_equal(err_text(&err, out, sizeof out), "cannot read s3://b/k (HTTP 503: Slow Down)");

    err_remote(&err, 0, NULL, "just words", NULL);
    assert_string_equal(err_text(&err, out, sizeof out), "cannot read s3://b/k (just words)");
}

static void test_err_text_truncates(void **state)
{
    (void)state;
    struct lk_error err;
    err_clear(&err);
    char big[2000];
    memset(big, 'a', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    err_set(&err, LK_FAIL, "%s", big);
    assert_int_equal(strlen(err.message), sizeof err.message - 1);
    err_remote(&err, 500, big, big, big);
    char out[64];
    err_text(&err, out, sizeof out);
    assert_int_equal(strlen(out), sizeof out - 1);
    char tiny[1] = { 'x' };
    err_text(&err, tiny, sizeof tiny);
    assert_int_equal(tiny[0], '\0');
    err_text(&err, tiny, 0);
}

static void test_buf(void **state)
{
    (void)state;
    struct buf b = BUF_INIT;
    assert_string_equal(buf_cstr(&b), "");
    buf_reset(&b);
    buf_puts(&b, "abc");
    buf_putc(&b, '-');
    buf_printf(&b, "%d/%s", 42, "x");
    buf_append(&b, "\0z", 2);
    assert_int_equal(b.len, 10);
    assert_memory_equal(b.data, "abc-42/x\0z", 10);
    assert_int_equal(b.data[b.len], '\0');
    buf_reset(&b);
    assert_int_equal(b.len, 0);
    assert_string_equal(buf_cstr(&b), "");
    for (int i = 0; i < 10000; i++)
        buf_printf(&b, "%04d", i % 10000);
    assert_int_equal(b.len, 40000);
    assert_memory_equal(b.data + 39996, "9999", 4);
    char *owned = buf_detach(&b);
    assert_null(b.data);
    assert_int_equal(b.len, 0);
    assert_int_equal(strlen(owned), 40000);
    free(owned);
    char *empty = buf_detach(&b);
    assert_string_equal(empty, "");
    free(empty);
    buf_printf(&b, "%s", "");
    buf_free(&b);
    buf_free(&b);
}

static void test_mem(void **state)
{
    (void)state;
    assert_null(xstrdup(NULL));
    assert_null(xstrndup(NULL, 3));
    char *s = xstrndup("abcdef", 3);
    assert_string_equal(s, "abc");
    xfree(&s);
    assert_null(s);
    s = xasprintf("%s=%d", "n", 7);
    assert_string_equal(s, "n=7");
    free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_err_text_plain),
        cmocka_unit_test(test_err_text_remote),
        cmocka_unit_test(test_err_text_truncates),
        cmocka_unit_test(test_buf),
        cmocka_unit_test(test_mem),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
