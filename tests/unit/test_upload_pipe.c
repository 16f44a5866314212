/* The upload pipe (core/upload_pipe.h) with a scripted request in place of
 * libcurl: the last byte is held back until finish, an abort reaches the
 * request as CURL_READFUNC_ABORT before the body is complete, lengths other
 * than the announced one fail, and a request that ends early stops the
 * writer with its own error. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <curl/curl.h>

#include "buf.h"
#include "mem.h"
#include "upload_pipe.h"

/* What the scripted request saw.  Read only after the pipe's thread ended
 * (finish and abort join it). */
struct fake_request {
    size_t read_max;          /* bytes asked for per read, as libcurl's upload buffer */
    long long stop_after;     /* end with an error after this many bytes (-1: never) */
    bool rewind_before;       /* upload_pipe_rewind before the first read */
    bool rewind_after;        /* ... and after it */
    struct buf body;
    bool saw_abort;
    bool saw_end;
};

static enum lk_status fake_run(struct upload_pipe *pipe, void *ud, struct lk_error *err)
{
    struct fake_request *r = ud;
    r->rewind_before = upload_pipe_rewind(pipe);
    char *chunk = xmalloc(r->read_max);
    enum lk_status st = LK_OK;
    for (;;) {
        if (r->stop_after >= 0 && (long long)r->body.len >= r->stop_after) {
            st = err_set(err, LK_FAIL, "the server said no after %zu bytes", r->body.len);
            break;
        }
        size_t n = upload_pipe_read(chunk, r->read_max, pipe);
        if (n == CURL_READFUNC_ABORT) {
            r->saw_abort = true;
            st = err_set(err, LK_FAIL, "aborted by callback");
            break;
        }
        if (n == 0) {
            r->saw_end = true;
            break;
        }
        buf_append(&r->body, chunk, n);
        r->rewind_after = upload_pipe_rewind(pipe);
    }
    free(chunk);
    return st;
}

static void test_whole_body_after_finish(void **state)
{
    struct fake_request r = { .read_max = 7, .stop_after = -1 };
    buf_init(&r.body);
    struct upload_pipe *p;
    struct lk_error err;
    err_clear(&err);
    const char *text = "0123456789abcdefghijklmnopqrstuvwxyz";
    long long total = (long long)strlen(text);
    assert_int_equal(upload_pipe_start(total, fake_run, &r, &p, &err), LK_OK);
    assert_int_equal(upload_pipe_write(p, text, 10, &err), LK_OK);
    assert_int_equal(upload_pipe_write(p, text + 10, (size_t)total - 10, &err), LK_OK);
    assert_int_equal(upload_pipe_finish(p, &err), LK_OK);
    assert_true(r.saw_end);
    assert_false(r.saw_abort);
    assert_int_equal(r.body.len, (size_t)total);
    assert_memory_equal(r.body.data, text, (size_t)total);
    assert_true(r.rewind_before);
    assert_false(r.rewind_after);
    buf_free(&r.body);
}

static void test_abort_never_completes_the_body(void **state)
{
    struct fake_request r = { .read_max = 4, .stop_after = -1 };
    buf_init(&r.body);
    struct upload_pipe *p;
    struct lk_error err;
    err_clear(&err);
    assert_int_equal(upload_pipe_start(12, fake_run, &r, &p, &err), LK_OK);
    /* Every byte announced is written: only the last is held back. */
    assert_int_equal(upload_pipe_write(p, "abcdefghijkl", 12, &err), LK_OK);
    upload_pipe_abort(p);
    assert_true(r.saw_abort);
    assert_false(r.saw_end);
    assert_int_equal(r.body.len, 11);
    assert_memory_equal(r.body.data, "abcdefghijk", 11);
    buf_free(&r.body);
}

static void test_lengths_other_than_announced(void **state)
{
    struct fake_request r = { .read_max = 64, .stop_after = -1 };
    buf_init(&r.body);
    struct upload_pipe *p;
    struct lk_error err;
    err_clear(&err);
    assert_int_equal(upload_pipe_start(5, fake_run, &r, &p, &err), LK_OK);
    assert_int_equal(upload_pipe_write(p, "abc", 3, &err), LK_OK);
    assert_int_equal(upload_pipe_write(p, "def", 3, &err), LK_FAIL);
    assert_non_null(strstr(err.message, "6 bytes were written where 5 were announced"));
    /* Short: finish refuses and the request is dropped. */
    assert_int_equal(upload_pipe_finish(p, &err), LK_FAIL);
    assert_non_null(strstr(err.message, "after 3 of the 5 bytes"));
    assert_true(r.saw_abort);
    assert_int_equal(r.body.len, 3);
    buf_free(&r.body);

    assert_int_equal(upload_pipe_start(0, fake_run, &r, &p, &err), LK_USAGE);
    assert_null(p);
}

static void test_request_ending_early(void **state)
{
    struct fake_request r = { .read_max = 5, .stop_after = 10 };
    buf_init(&r.body);
    struct upload_pipe *p;
    struct lk_error err;
    err_clear(&err);
    assert_int_equal(upload_pipe_start(100, fake_run, &r, &p, &err), LK_OK);
    char data[100];
    memset(data, 'x', sizeof data);
    enum lk_status st = LK_OK;
    for (int i = 0; i < 10 && st == LK_OK; i++)
        st = upload_pipe_write(p, data + i * 10, 10, &err);
    assert_int_equal(st, LK_FAIL);
    assert_non_null(strstr(err.message, "the server said no after 10 bytes"));
    err_clear(&err);
    assert_int_equal(upload_pipe_finish(p, &err), LK_FAIL);
    assert_non_null(strstr(err.message, "the server said no"));
    buf_free(&r.body);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_whole_body_after_finish),
        cmocka_unit_test(test_abort_never_completes_the_body),
        cmocka_unit_test(test_lengths_other_than_announced),
        cmocka_unit_test(test_request_ending_early),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
