/* Time zones without TZ/tzset: the TZif reader against known instants
 * around both DST changes, past the transition table (the footer's rule),
 * and while other threads convert at the same time. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tzfile.h"
#include "zuora.h"

/* "2024-03-10 02:30:00" read as if UTC, as zuora_parse_time gives it. */
static long long naive(int y, int mo, int d, int h, int mi, int s)
{
    struct tm tm = { .tm_year = y - 1900, .tm_mon = mo - 1, .tm_mday = d, .tm_hour = h, .tm_min = mi,
                     .tm_sec = s };
    return (long long)timegm(&tm);
}

static struct tzfile *load(const char *name)
{
    struct tzfile *z = NULL;
    struct lk_error err;
    err_clear(&err);
    assert_int_equal(tzfile_load(name, &z, &err), LK_OK);
    assert_non_null(z);
    return z;
}

static void test_los_angeles_spring_forward(void **state)
{
    struct tzfile *z = load("America/Los_Angeles");
    /* 2024-03-10: 02:00 PST becomes 03:00 PDT at 10:00 UTC. */
    assert_int_equal(tzfile_offset_at(z, naive(2024, 3, 10, 9, 59, 59)), -8 * 3600);
    assert_int_equal(tzfile_offset_at(z, naive(2024, 3, 10, 10, 0, 0)), -7 * 3600);
    assert_int_equal(tzfile_local_to_utc(z, naive(2024, 3, 10, 1, 59, 59)), naive(2024, 3, 10, 9, 59, 59));
    assert_int_equal(tzfile_local_to_utc(z, naive(2024, 3, 10, 3, 0, 0)), naive(2024, 3, 10, 10, 0, 0));
    /* 02:30 never happens that night: read in PST, it is 03:30 PDT. */
    assert_int_equal(tzfile_local_to_utc(z, naive(2024, 3, 10, 2, 30, 0)), naive(2024, 3, 10, 10, 30, 0));
    /* Midnight before, noon after. */
    assert_int_equal(tzfile_local_to_utc(z, naive(2024, 3, 10, 0, 0, 0)), naive(2024, 3, 10, 8, 0, 0));
    assert_int_equal(tzfile_local_to_utc(z, naive(2024, 3, 11, 0, 0, 0)), naive(2024, 3, 11, 7, 0, 0));
    tzfile_free(z);
}

static void test_los_angeles_fall_back(void **state)
{
    struct tzfile *z = load("America/Los_Angeles");
    /* 2024-11-03: 02:00 PDT becomes 01:00 PST at 09:00 UTC. */
    assert_int_equal(tzfile_offset_at(z, naive(2024, 11, 3, 8, 59, 59)), -7 * 3600);
    assert_int_equal(tzfile_offset_at(z, naive(2024, 11, 3, 9, 0, 0)), -8 * 3600);
    assert_int_equal(tzfile_local_to_utc(z, naive(2024, 11, 3, 0, 30, 0)), naive(2024, 11, 3, 7, 30, 0));
    /* 01:30 happens twice: the first (PDT). */
    assert_int_equal(tzfile_local_to_utc(z, naive(2024, 11, 3, 1, 30, 0)), naive(2024, 11, 3, 8, 30, 0));
    assert_int_equal(tzfile_local_to_utc(z, naive(2024, 11, 3, 2, 0, 0)), naive(2024, 11, 3, 10, 0, 0));
    assert_int_equal(tzfile_local_to_utc(z, naive(2024, 11, 4, 0, 0, 0)), naive(2024, 11, 4, 8, 0, 0));
    tzfile_free(z);
}

static void test_past_the_table(void **state)
{
    /* Whatever the file's table holds, 2090 is ruled by its footer. */
    struct tzfile *z = load("America/Los_Angeles");
    /* 2090-03-12 is the second Sunday of March, 2090-11-05 the first of November. */
    assert_int_equal(tzfile_local_to_utc(z, naive(2090, 3, 11, 12, 0, 0)), naive(2090, 3, 11, 20, 0, 0));
    assert_int_equal(tzfile_local_to_utc(z, naive(2090, 3, 12, 12, 0, 0)), naive(2090, 3, 12, 19, 0, 0));
    assert_int_equal(tzfile_local_to_utc(z, naive(2090, 11, 4, 12, 0, 0)), naive(2090, 11, 4, 19, 0, 0));
    assert_int_equal(tzfile_local_to_utc(z, naive(2090, 11, 5, 12, 0, 0)), naive(2090, 11, 5, 20, 0, 0));
    /* Before the first transition: local mean time of the first type. */
    assert_int_equal(tzfile_offset_at(z, naive(1850, 1, 1, 0, 0, 0)), -(7 * 3600 + 52 * 60 + 58));
    tzfile_free(z);
}

static void test_london(void **state)
{
    struct tzfile *z = load("Europe/London");
    /* 2024-03-31 01:00 GMT → 02:00 BST; 2024-10-27 02:00 BST → 01:00 GMT. */
    assert_int_equal(tzfile_local_to_utc(z, naive(2024, 3, 31, 0, 30, 0)), naive(2024, 3, 31, 0, 30, 0));
    assert_int_equal(tzfile_local_to_utc(z, naive(2024, 3, 31, 1, 30, 0)), naive(2024, 3, 31, 1, 30, 0));
    assert_int_equal(tzfile_local_to_utc(z, naive(2024, 3, 31, 2, 30, 0)), naive(2024, 3, 31, 1, 30, 0));
    assert_int_equal(tzfile_local_to_utc(z, naive(2024, 7, 1, 12, 0, 0)), naive(2024, 7, 1, 11, 0, 0));
    assert_int_equal(tzfile_local_to_utc(z, naive(2024, 10, 27, 1, 30, 0)), naive(2024, 10, 27, 0, 30, 0));
    assert_int_equal(tzfile_local_to_utc(z, naive(2024, 10, 27, 2, 30, 0)), naive(2024, 10, 27, 2, 30, 0));
    assert_int_equal(tzfile_local_to_utc(z, naive(2024, 12, 25, 9, 0, 0)), naive(2024, 12, 25, 9, 0, 0));
    /* 2100, from the footer (GMT0BST,M3.5.0/1,M10.5.0). */
    assert_int_equal(tzfile_local_to_utc(z, naive(2100, 6, 1, 12, 0, 0)), naive(2100, 6, 1, 11, 0, 0));
    tzfile_free(z);
}

static void test_utc(void **state)
{
    const char *names[] = { "UTC", "Etc/UTC", "GMT" };
    for (size_t i = 0; i < 3; i++) {
        struct tzfile *z = load(names[i]);
        assert_int_equal(tzfile_offset_at(z, naive(2024, 7, 1, 0, 0, 0)), 0);
        assert_int_equal(tzfile_local_to_utc(z, naive(2024, 3, 31, 1, 30, 0)), naive(2024, 3, 31, 1, 30, 0));
        tzfile_free(z);
    }
}

static void test_unknown_and_unsafe_names(void **state)
{
    const char *bad[] = { "Mars/Olympus_Mons", "../../etc/passwd", "/etc/localtime", "America", "" };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct tzfile *z = NULL;
        struct lk_error err;
        err_clear(&err);
        assert_int_equal(tzfile_load(bad[i], &z, &err), LK_USAGE);
        assert_null(z);
    }
    long long utc = 0;
    struct lk_error err;
    err_clear(&err);
    assert_int_equal(zuora_tenant_to_utc("America/Las_Angeles", 0, &utc, &err), LK_USAGE);
    assert_non_null(strstr(err.message, "America/Las_Angeles"));
}

/* The file `lakeop paths` names is the one tzfile_load opens. */
static void test_path(void **state)
{
    (void)state;
    assert_null(tzfile_path("UTC"));
    assert_null(tzfile_path("../etc/passwd"));
    assert_null(tzfile_path("/etc/localtime"));
    assert_null(tzfile_path(""));
    char *p = tzfile_path("America/Los_Angeles");
    assert_string_equal(p, "/usr/share/zoneinfo/America/Los_Angeles");
    free(p);
    setenv("TZDIR", "/nonexistent-zones", 1);
    p = tzfile_path("Europe/London");
    assert_string_equal(p, "/usr/share/zoneinfo/Europe/London");   /* the fallback that exists */
    free(p);
    p = tzfile_path("No/Such_Zone");
    assert_string_equal(p, "/usr/share/zoneinfo/No/Such_Zone");    /* the last tried */
    free(p);
    setenv("TZDIR", "/usr/share/zoneinfo/Europe", 1);
    p = tzfile_path("London");
    assert_string_equal(p, "/usr/share/zoneinfo/Europe/London");
    free(p);
    unsetenv("TZDIR");
}

static void test_malformed_files(void **state)
{
    unsigned char data[200];
    memset(data, 0, sizeof data);
    struct tzfile *z = NULL;
    struct lk_error err;
    err_clear(&err);
    assert_int_equal(tzfile_parse("x", data, sizeof data, &z, &err), LK_FAIL);
    memcpy(data, "TZif2", 5);
    data[39] = 1;                 /* one type, but the 6 bytes of it are missing */
    assert_int_equal(tzfile_parse("x", data, 44, &z, &err), LK_FAIL);
    assert_null(z);
}

/* A footer-only zone (a "slim" file): a minimal version 2 file. */
static void test_footer_only(void **state)
{
    unsigned char f[200];
    size_t n = 0;
    for (int part = 0; part < 2; part++) {
        memset(f + n, 0, 44);
        memcpy(f + n, "TZif2", 5);
        f[n + 39] = 1;            /* typecnt 1 */
        f[n + 43] = 4;            /* charcnt 4 */
        n += 44;
        /* ttinfo: -18000 (EST), not dst, designation 0 */
        const unsigned char tt[6] = { 0xff, 0xff, 0xb9, 0xb0, 0, 0 };
        memcpy(f + n, tt, 6);
        n += 6;
        memcpy(f + n, "EST", 4);
        n += 4;
    }
    const char *footer = "\nEST5EDT,M3.2.0,M11.1.0\n";
    memcpy(f + n, footer, strlen(footer));
    n += strlen(footer);
    struct tzfile *z = NULL;
    struct lk_error err;
    err_clear(&err);
    assert_int_equal(tzfile_parse("slim", f, n, &z, &err), LK_OK);
    assert_int_equal(tzfile_offset_at(z, naive(2024, 1, 15, 12, 0, 0)), -5 * 3600);
    assert_int_equal(tzfile_offset_at(z, naive(2024, 7, 15, 12, 0, 0)), -4 * 3600);
    assert_int_equal(tzfile_local_to_utc(z, naive(2024, 3, 10, 3, 0, 0)), naive(2024, 3, 10, 7, 0, 0));
    tzfile_free(z);
}

/* The old code swapped TZ under the other threads' feet; now many threads
 * convert at once and every answer is right. */
static void *convert_many(void *arg)
{
    long bad = 0;
    for (int i = 0; i < 200; i++) {
        long long utc = 0;
        struct lk_error err;
        err_clear(&err);
        const char *tz = i % 2 ? "America/Los_Angeles" : "Europe/London";
        long long want = i % 2 ? naive(2024, 7, 1, 19, 0, 0) : naive(2024, 7, 1, 11, 0, 0);
        if (zuora_tenant_to_utc(tz, naive(2024, 7, 1, 12, 0, 0), &utc, &err) != LK_OK || utc != want)
            bad++;
    }
    return (void *)bad;
}

static void test_threads(void **state)
{
    pthread_t th[4];
    for (int i = 0; i < 4; i++)
        pthread_create(&th[i], NULL, convert_many, NULL);
    for (int i = 0; i < 4; i++) {
        void *bad;
        pthread_join(th[i], &bad);
        assert_int_equal((long)bad, 0);
    }
    assert_null(getenv("TZ"));
}

int main(void)
{
    unsetenv("TZ");
    unsetenv("TZDIR");
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_los_angeles_spring_forward),
        cmocka_unit_test(test_los_angeles_fall_back),
        cmocka_unit_test(test_past_the_table),
        cmocka_unit_test(test_london),
        cmocka_unit_test(test_utc),
        cmocka_unit_test(test_unknown_and_unsafe_names),
        cmocka_unit_test(test_path),
        cmocka_unit_test(test_malformed_files),
        cmocka_unit_test(test_footer_only),
        cmocka_unit_test(test_threads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
