/* core/export.c's rules that need no server: --from parsing, the exact
 * incrementalTime and its UTC equivalent, the query hash. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "export.h"
#include "sha256.h"

/* 2024-03-15 12:00:00 UTC */
#define NOW 1710504000LL

static enum lk_status from(const char *text, const char *tz, struct export_plan *plan, struct lk_error *err)
{
    err_clear(err);
    return export_parse_from(text, NOW, tz, plan, err);
}

static void test_date_sends_day_before(void **state)
{
    struct export_plan p;
    struct lk_error err;
    assert_int_equal(from("2024-03-01", "UTC", &p, &err), LK_OK);
    assert_int_equal(p.from, EXPORT_FROM_DATE);
    assert_string_equal(p.incremental_time, "2024-02-29 00:00:00");
    assert_int_equal(p.incremental_utc, 1709164800LL);
    assert_int_equal(p.days_back, 14);
    assert_false(p.needs_second_confirmation);
    assert_int_equal(from("2024-01-01", "UTC", &p, &err), LK_OK);
    assert_string_equal(p.incremental_time, "2023-12-31 00:00:00");
    assert_true(p.needs_second_confirmation);
    assert_int_equal(from("2024-03-15", "UTC", &p, &err), LK_OK);
    assert_int_equal(p.days_back, 0);
}

static void test_pacific_offsets(void **state)
{
    struct export_plan p;
    struct lk_error err;
    /* Winter: PST = UTC-8. */
    assert_int_equal(from("2024-01-20", "America/Los_Angeles", &p, &err), LK_OK);
    assert_string_equal(p.incremental_time, "2024-01-19 00:00:00");
    assert_int_equal(p.incremental_utc, 1705622400LL + 8 * 3600);
    /* Summer: PDT = UTC-7. */
    struct export_plan q;
    err_clear(&err);
    assert_int_equal(export_parse_from("2023-07-02", NOW, "America/Los_Angeles", &q, &err), LK_OK);
    assert_int_equal(q.incremental_utc, 1688169600LL + 7 * 3600);
    /* The process's own zone is left as it was. */
    const char *tz = getenv("TZ");
    assert_int_equal(from("2024-01-20", "Europe/London", &p, &err), LK_OK);
    assert_int_equal(p.incremental_utc, 1705622400LL);
    const char *after = getenv("TZ");
    if (tz)
        assert_string_equal(after, tz);
    else
        assert_null(after);
    assert_int_equal(from("2024-01-20", "Mars/Olympus", &p, &err), LK_USAGE);
    assert_non_null(strstr(err.message, "unknown time zone"));
}

static void test_bad_dates(void **state)
{
    struct export_plan p;
    struct lk_error err;
    const char *bad[] = { "2024-02-30", "2023-02-29", "2024-13-01", "2024-00-10", "2024-1-01", "24-01-01",
                          "2024-01-01x", "garbage", "2024/01/01", "" };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(from(bad[i], "UTC", &p, &err), LK_USAGE);
        assert_true(err.message[0] != '\0');
    }
    assert_int_equal(from("2024-03-16", "UTC", &p, &err), LK_USAGE);
    assert_non_null(strstr(err.message, "in the future"));
    assert_int_equal(from("2024-02-29", "UTC", &p, &err), LK_OK);
}

static void test_refusals_and_last_increment(void **state)
{
    struct export_plan p;
    struct lk_error err;
    assert_int_equal(from("beginning", "UTC", &p, &err), LK_REFUSED);
    assert_non_null(strstr(err.message, "time limit"));
    assert_int_equal(from("afterLastIncrement", "UTC", &p, &err), LK_OK);
    assert_int_equal(p.from, EXPORT_FROM_LAST_INCREMENT);
    assert_string_equal(p.incremental_time, "");
}

static void test_query_hash(void **state)
{
    char a[65], b[65], c[65];
    export_query_hash("SELECT Account.Id FROM Account", a);
    export_query_hash("SELECT Account.Id FROM Account", b);
    export_query_hash("SELECT Account.Id, Account.Name FROM Account", c);
    assert_string_equal(a, b);
    assert_string_not_equal(a, c);
    assert_int_equal(strlen(a), 64);
    char h[65];
    sha256_hex("abc", 3, h);
    assert_string_equal(h, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    sha256_hex("", 0, h);
    assert_string_equal(h, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    const char *long_text = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    sha256_hex(long_text, strlen(long_text), h);
    assert_string_equal(h, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

static void test_plan_text(void **state)
{
    struct cfg_object obj = { .name = "Account", .zoql = "SELECT Account.Id FROM Account", .stage = "zuora_account" };
    struct export_object o = { .object = &obj, .full = true, .checked = true, .safe = false };
    snprintf(o.why, sizeof o.why, "full load: new object in this session");
    snprintf(o.problem, sizeof o.problem, "its last increment (job J1) was never copied to the raw bucket");
    struct export_plan p;
    struct lk_error err;
    assert_int_equal(from("2024-01-20", "America/Los_Angeles", &p, &err), LK_OK);
    p.objects = &o;
    p.n_objects = 1;
    struct buf b = BUF_INIT;
    export_plan_describe(&p, &b);
    assert_non_null(strstr(buf_cstr(&b), "incrementalTime = \"2024-01-19 00:00:00\" (America/Los_Angeles, = 2024-01-19 08:00:00 UTC)"));
    assert_non_null(strstr(buf_cstr(&b), "Account"));
    buf_reset(&b);
    export_refusal_text(&p, &b);
    assert_non_null(strstr(buf_cstr(&b), "Account (its last increment (job J1) was never copied"));
    assert_non_null(strstr(buf_cstr(&b), "--from YYYY-MM-DD"));
    buf_free(&b);
    char *json = export_plan_json(&p);
    assert_non_null(strstr(json, "\"incrementalTimeUtc\":\"2024-01-19T08:00:00Z\""));
    assert_non_null(strstr(json, "\"full\":true"));
    free(json);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_date_sends_day_before),
        cmocka_unit_test(test_pacific_offsets),
        cmocka_unit_test(test_bad_dates),
        cmocka_unit_test(test_refusals_and_last_increment),
        cmocka_unit_test(test_query_hash),
        cmocka_unit_test(test_plan_text),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
