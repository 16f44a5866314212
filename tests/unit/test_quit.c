/* Quitting while operations run behind progress dialogs (tui/tui.c,
 * tui/dlg.c), on a headless console: the y/N answer (or a signal, or :q!)
 * cancels every one of them, once, the loop runs on saying it is stopping
 * them until their workers are done and have closed their dialogs, and
 * nothing new starts meanwhile; with nothing running, q quits at once. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "dlg.h"
#include "loop.h"
#include "tui.h"

/* One operation: a worker that runs until cancelled, then takes a moment
 * to wind down (as a copy removing its temporary file does). */
struct op {
    struct tui *t;
    struct dlg_progress *p;
    volatile int cancel;
    int cancel_calls;
    long wind_down_ms;
    bool closed;
};

static void sleep_ms(long ms)
{
    struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
    nanosleep(&ts, NULL);
}

static void op_cancel(void *ud)
{
    struct op *o = ud;
    o->cancel_calls++;
    o->cancel = 1;
}

static void op_work(void *wctx, void *job)
{
    struct op *o = job;
    /* Bounded, so that a broken test cannot hang the run. */
    for (int i = 0; i < 300 && !o->cancel; i++)
        sleep_ms(10);
    sleep_ms(o->wind_down_ms);
}

static void op_done(struct loop *loop, void *job, bool orphaned)
{
    struct op *o = job;
    dlg_progress_close(o->p);
    o->p = NULL;
    o->closed = true;
}

static void op_start(struct tui *t, struct op *o, const char *title, long wind_down_ms)
{
    memset(o, 0, sizeof *o);
    o->t = t;
    o->wind_down_ms = wind_down_ms;
    o->p = dlg_progress_open(t, title, "target", op_cancel, o);
    loop_submit(t->loop, t, op_work, op_done, o);
}

static bool busy(struct tui *t, char *out, size_t out_size, void *app)
{
    snprintf(out, out_size, "test work");
    return dlg_progress_count(t) > 0;
}

static struct tui *headless(void)
{
    setenv("LINES", "30", 1);
    setenv("COLUMNS", "100", 1);
    struct tui_options opt = { .headless = true, .workers = 3 };
    char err[256];
    struct tui *t = tui_new(&opt, NULL, NULL, NULL, err, sizeof err);
    if (!t)
        fail_msg("tui_new: %s", err);
    t->hooks.busy = busy;
    return t;
}

static long long now_ms(void)
{
    return loop_now_ms();
}

static void test_quit_cancels_and_waits(void **state)
{
    struct tui *t = headless();
    struct op a, b;
    op_start(t, &a, "Copy", 400);
    op_start(t, &b, "Ingest", 0);
    /* Esc sends the top dialog to the background; the other stays listed. */
    dlg_key(t, 27);
    assert_int_equal(dlg_progress_count(t), 2);

    tui_command(t, "q");
    assert_non_null(t->dlg);                       /* asks first */
    assert_false(t->quit);
    assert_int_equal(a.cancel_calls + b.cancel_calls, 0);
    dlg_key(t, 'n');                               /* no: nothing happens */
    assert_int_equal(a.cancel_calls + b.cancel_calls, 0);
    assert_int_equal(t->stopping_since, 0);

    tui_command(t, "q");
    long long t0 = now_ms();
    dlg_key(t, 'y');
    assert_int_equal(a.cancel_calls, 1);
    assert_int_equal(b.cancel_calls, 1);
    assert_false(t->quit);                         /* not before they have stopped */
    assert_true(t->stopping_since > 0);
    assert_non_null(strstr(t->msg, "stopping 2 operations"));
    assert_null(t->dlg);                           /* nothing left to answer */

    /* Asking again changes nothing and cancels nothing twice. */
    tui_command(t, "q!");
    assert_false(t->quit);
    assert_int_equal(dlg_progress_cancel_all(t), 2);
    assert_int_equal(a.cancel_calls, 1);

    assert_int_equal(tui_run(t), 0);
    long long took = now_ms() - t0;
    assert_true(a.closed && b.closed);
    assert_int_equal(dlg_progress_count(t), 0);
    assert_true(took >= 350);                      /* waited for the slower one */
    assert_true(took < 3000);
    tui_free(t);
}

static void test_quit_at_once_when_idle(void **state)
{
    struct tui *t = headless();
    tui_command(t, "q");
    assert_null(t->dlg);
    assert_true(t->quit);
    assert_int_equal(t->stopping_since, 0);
    assert_int_equal(tui_run(t), 0);
    tui_free(t);
}

static void test_force_quit_cancels_too(void **state)
{
    struct tui *t = headless();
    struct op a;
    op_start(t, &a, "Export cohort", 100);
    tui_command(t, "q!");                          /* does not ask, still cancels */
    assert_null(t->dlg);
    assert_int_equal(a.cancel_calls, 1);
    assert_false(t->quit);
    assert_int_equal(tui_run(t), 0);
    assert_true(a.closed);
    tui_free(t);
}

static void test_signal_cancels(void **state)
{
    struct tui *t = headless();
    struct op a;
    op_start(t, &a, "Copy", 200);
    unsigned char sig = 15;
    assert_int_equal(write(t->sig_pipe[1], &sig, 1), 1);
    long long t0 = now_ms();
    assert_int_equal(tui_run(t), 130);
    assert_int_equal(a.cancel_calls, 1);
    assert_true(a.closed);
    assert_true(now_ms() - t0 < 3000);
    tui_free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_quit_cancels_and_waits),
        cmocka_unit_test(test_quit_at_once_when_idle),
        cmocka_unit_test(test_force_quit_cancels_too),
        cmocka_unit_test(test_signal_cancels),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
