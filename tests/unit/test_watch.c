/* core/watch.c driven by a fake clock. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "watch.h"

static void test_interval_and_floor(void **state)
{
    struct watch w;
    watch_init(&w, 0, 1000);
    assert_int_equal(w.interval_ms, 5000);
    watch_init(&w, 500, 1000);
    assert_int_equal(w.interval_ms, 2000);
    watch_init(&w, 7000, 1000);
    assert_int_equal(watch_wait_ms(&w, 1000), 0);
    assert_true(watch_begin(&w, 1000));
    watch_end_ok(&w, 1200, false);
    assert_int_equal(watch_wait_ms(&w, 1200), 7000);
    assert_false(watch_begin(&w, 5000));
    assert_true(watch_begin(&w, 8200));
}

static void test_overlapping_poll_dropped(void **state)
{
    struct watch w;
    watch_init(&w, 2000, 0);
    assert_true(watch_begin(&w, 0));
    assert_false(watch_begin(&w, 2500));
    assert_false(watch_begin(&w, 4500));
    assert_int_equal(w.dropped, 2);
    assert_int_equal(watch_wait_ms(&w, 4500), -1);
    watch_end_ok(&w, 5000, false);
    assert_true(watch_begin(&w, 7000));
    assert_int_equal(w.polls, 2);
}

static void test_backoff_and_retry_after(void **state)
{
    struct watch w;
    watch_init(&w, 5000, 0);
    assert_true(watch_begin(&w, 0));
    watch_end_error(&w, 0, -1);
    assert_int_equal(watch_wait_ms(&w, 0), 10000);
    assert_true(watch_begin(&w, 10000));
    watch_end_error(&w, 10000, -1);
    assert_int_equal(watch_wait_ms(&w, 10000), 20000);
    assert_true(watch_begin(&w, 30000));
    watch_end_error(&w, 30000, 120);
    assert_int_equal(watch_wait_ms(&w, 30000), 120000);
    assert_true(watch_begin(&w, 150000));
    watch_end_ok(&w, 150000, false);
    assert_int_equal(w.failures, 0);
    assert_int_equal(watch_wait_ms(&w, 150000), 5000);
    for (int i = 0; i < 8; i++) {
        long long now = 200000 + i * 100000LL;
        assert_true(watch_begin(&w, now));
        watch_end_error(&w, now, -1);
        if (i >= 4)
            assert_int_equal(watch_wait_ms(&w, now), 60000);
    }
}

static void test_gives_up_and_terminal(void **state)
{
    struct watch w;
    watch_init(&w, 2000, 0);
    long long now = 0;
    for (int i = 0; i < WATCH_MAX_FAILURES; i++) {
        assert_true(watch_begin(&w, now));
        watch_end_error(&w, now, -1);
        now += 100000;
    }
    assert_true(w.gave_up);
    assert_true(watch_over(&w));
    assert_false(watch_begin(&w, now));

    watch_init(&w, 2000, 0);
    assert_true(watch_begin(&w, 0));
    watch_end_ok(&w, 10, true);
    assert_true(watch_over(&w));
    assert_int_equal(watch_wait_ms(&w, 99999), -1);
}

static void test_ceiling(void **state)
{
    struct watch w;
    watch_init(&w, 5000, 0);
    watch_set_ceiling(&w, 12000, 0);
    assert_true(watch_begin(&w, 0));
    watch_end_ok(&w, 100, false);
    assert_int_equal(watch_wait_ms(&w, 100), 5000);
    assert_true(watch_begin(&w, 5100));
    watch_end_ok(&w, 5200, false);
    /* The next poll would be due at 10200, the ceiling at 12000. */
    assert_true(watch_begin(&w, 10200));
    watch_end_ok(&w, 10300, false);
    assert_int_equal(watch_wait_ms(&w, 10300), 1700);
    assert_false(watch_begin(&w, 12000));
    assert_true(w.timed_out);
    assert_true(watch_over(&w));
    assert_false(w.gave_up);
    watch_init(&w, 5000, 0);
    watch_set_ceiling(&w, 0, 0);
    assert_true(watch_begin(&w, 0));
    watch_end_ok(&w, 1000000000, false);
    assert_true(watch_begin(&w, 2000000000));
}

static void test_fatal_and_defer(void **state)
{
    struct watch w;
    watch_init(&w, 2000, 0);
    assert_true(watch_begin(&w, 0));
    watch_end_fatal(&w);
    assert_true(w.gave_up);
    assert_false(watch_begin(&w, 100000));
    watch_init(&w, 2000, 0);
    assert_true(watch_begin(&w, 0));
    watch_end_ok(&w, 0, false);
    watch_defer(&w, 0, 30);
    assert_int_equal(watch_wait_ms(&w, 0), 30000);
    watch_defer(&w, 0, 1);   /* never sooner than already due */
    assert_int_equal(watch_wait_ms(&w, 0), 30000);
    watch_defer(&w, 0, -1);
    assert_int_equal(watch_wait_ms(&w, 0), 30000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_interval_and_floor),
        cmocka_unit_test(test_overlapping_poll_dropped),
        cmocka_unit_test(test_backoff_and_retry_after),
        cmocka_unit_test(test_gives_up_and_terminal),
        cmocka_unit_test(test_ceiling),
        cmocka_unit_test(test_fatal_and_defer),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
