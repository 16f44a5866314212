/* core/cohort.c and core/dynamo.c without servers: value checks (dates,
 * instants with zones, decimals, UTF-8), cohort names, stage order, how a
 * bad value is shown, DynamoDB typed attribute values. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <jansson.h>
#include <string.h>

#include "cohort.h"
#include "dynamo.h"

static bool ok(enum cohort_kind k, const char *v)
{
    char why[160];
    return cohort_value_valid(k, v, why, sizeof why);
}

static void test_dates(void **state)
{
    assert_true(ok(COHORT_DATE, "2024-02-29"));
    assert_true(ok(COHORT_DATE, "2000-02-29"));
    assert_false(ok(COHORT_DATE, "1900-02-29"));
    assert_false(ok(COHORT_DATE, "2023-02-29"));
    assert_false(ok(COHORT_DATE, "2024-04-31"));
    assert_false(ok(COHORT_DATE, "2024-13-01"));
    assert_false(ok(COHORT_DATE, "2024-1-01"));
    assert_false(ok(COHORT_DATE, "01/02/2024"));
    assert_false(ok(COHORT_DATE, "2024-01-01T00:00:00Z"));
    assert_false(ok(COHORT_DATE, ""));
}

static void test_instants(void **state)
{
    assert_true(ok(COHORT_INSTANT, "2020-01-01T01:01:01Z"));
    assert_true(ok(COHORT_INSTANT, "2020-01-01 01:01:01Z"));
    assert_true(ok(COHORT_INSTANT, "2020-01-01T01:01:01.123456Z"));
    assert_true(ok(COHORT_INSTANT, "2020-01-01T01:01:01+05:30"));
    assert_true(ok(COHORT_INSTANT, "2020-01-01T01:01:01-0800"));
    assert_true(ok(COHORT_INSTANT, "2020-01-01T01:01:01+01"));
    /* Without a zone an instant is ambiguous: refused. */
    assert_false(ok(COHORT_INSTANT, "2020-01-01T01:01:01"));
    assert_false(ok(COHORT_INSTANT, "2020-01-01T25:01:01Z"));
    assert_false(ok(COHORT_INSTANT, "2020-01-01T01:01Z"));
    assert_false(ok(COHORT_INSTANT, "2020-01-01T01:01:01.Z"));
    assert_false(ok(COHORT_INSTANT, "2020-01-01T01:01:01+5:30"));
    assert_false(ok(COHORT_INSTANT, "2020-01-01"));
}

static void test_prices(void **state)
{
    assert_true(ok(COHORT_PRICE, "10.50"));
    assert_true(ok(COHORT_PRICE, "0"));
    assert_true(ok(COHORT_PRICE, "-1.5"));
    assert_true(ok(COHORT_PRICE, ".5"));
    assert_true(ok(COHORT_PRICE, "1E+2"));
    assert_false(ok(COHORT_PRICE, "abc"));
    assert_false(ok(COHORT_PRICE, "1,50"));
    assert_false(ok(COHORT_PRICE, "£10"));
    assert_false(ok(COHORT_PRICE, "1e"));
    assert_false(ok(COHORT_PRICE, "-"));
    assert_false(ok(COHORT_PRICE, "1e99999"));
}

static void test_text_utf8(void **state)
{
    assert_true(ok(COHORT_TEXT, "Customer said \"no\", then left"));
    assert_true(ok(COHORT_TEXT, "caf\xc3\xa9 \xf0\x9f\x98\x80"));
    assert_false(ok(COHORT_TEXT, "A-\xff"));
    assert_false(ok(COHORT_TEXT, "\xc0\xaf"));          /* overlong '/' */
    assert_false(ok(COHORT_TEXT, "\xed\xa0\x80"));      /* a surrogate */
    assert_false(ok(COHORT_TEXT, "\xe2\x82"));          /* cut short */
}

static void test_names(void **state)
{
    char why[200];
    assert_true(cohort_name_valid("Membership2023_Batch1", why, sizeof why));
    assert_true(cohort_name_valid("SupporterPlus2024.v2-a", why, sizeof why));
    assert_false(cohort_name_valid("", why, sizeof why));
    assert_false(cohort_name_valid("a/b", why, sizeof why));
    assert_false(cohort_name_valid("..", why, sizeof why));
    assert_false(cohort_name_valid("-x", why, sizeof why));
    assert_false(cohort_name_valid("with space", why, sizeof why));
    char long_name[260];
    memset(long_name, 'a', sizeof long_name - 1);
    long_name[sizeof long_name - 1] = '\0';
    assert_false(cohort_name_valid(long_name, why, sizeof why));
}

static void test_stages(void **state)
{
    assert_int_equal(cohort_stage_rank("ReadyForEstimation"), 0);
    assert_true(cohort_stage_rank("AmendmentWrittenToSalesforce") < cohort_stage_rank("NoPriceIncrease"));
    assert_int_equal(cohort_stage_rank("SomethingNew"), COHORT_N_STAGES);
    assert_false(cohort_stage_exceptional("AmendmentComplete"));
    assert_true(cohort_stage_exceptional("Cancelled"));
    assert_true(cohort_stage_exceptional("DoNotProcessUntil"));
    assert_true(cohort_stage_exceptional("SomethingNew"));
    assert_int_equal(COHORT_N_STAGES, 14);
}

static void test_value_shown(void **state)
{
    char out[200];
    cohort_value_shown("A-\xff\x1b[2J", out, sizeof out);
    assert_string_equal(out, "A-\\xFF\\x1B[2J");
    cohort_value_shown("caf\xc3\xa9", out, sizeof out);
    assert_string_equal(out, "caf\xc3\xa9");
    char long_v[100];
    memset(long_v, 'x', sizeof long_v - 1);
    long_v[sizeof long_v - 1] = '\0';
    cohort_value_shown(long_v, out, sizeof out);
    assert_int_equal(strlen(out), 63);
    assert_string_equal(out + 60, "...");
}

static void test_fields(void **state)
{
    /* Export columns after cohort_name, and the header spells them. */
    assert_string_equal(COHORT_FIELDS[0].column, "subscription_name");
    assert_string_equal(COHORT_FIELDS[0].attribute, "subscriptionNumber");
    assert_string_equal(COHORT_FIELDS[COHORT_N_FIELDS - 1].column, "cancellation_reason");
    for (int i = 0; i < COHORT_N_FIELDS; i++) {
        char quoted[80];
        snprintf(quoted, sizeof quoted, ",\"%s\"", COHORT_FIELDS[i].column);
        assert_non_null(strstr(COHORT_CSV_HEADER, quoted));
    }
    assert_int_equal(COHORT_CSV_HEADER[strlen(COHORT_CSV_HEADER) - 1], '\n');
}

static void test_dynamo_attrs(void **state)
{
    json_t *item = json_loads("{\"a\":{\"S\":\"x\"},\"n\":{\"N\":\"10.50\"},\"z\":{\"NULL\":true},"
                              "\"b\":{\"BOOL\":true},\"bad\":{\"S\":1},\"two\":{\"S\":\"a\",\"N\":\"1\"}}",
                              0, NULL);
    assert_non_null(item);
    struct lk_error err;
    err_clear(&err);
    const char *v;
    assert_int_equal(dynamo_attr_text(item, "a", &v, &err), LK_OK);
    assert_string_equal(v, "x");
    assert_int_equal(dynamo_attr_text(item, "n", &v, &err), LK_OK);
    assert_string_equal(v, "10.50");
    assert_int_equal(dynamo_attr_text(item, "z", &v, &err), LK_OK);
    assert_null(v);
    assert_int_equal(dynamo_attr_text(item, "absent", &v, &err), LK_OK);
    assert_null(v);
    assert_int_equal(dynamo_attr_text(item, "b", &v, &err), LK_FAIL);
    assert_non_null(strstr(err.message, "attribute 'b' has DynamoDB type BOOL"));
    assert_int_equal(dynamo_attr_text(item, "bad", &v, &err), LK_FAIL);
    assert_int_equal(dynamo_attr_text(item, "two", &v, &err), LK_FAIL);
    json_decref(item);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dates),        cmocka_unit_test(test_instants),
        cmocka_unit_test(test_prices),       cmocka_unit_test(test_text_utf8),
        cmocka_unit_test(test_names),        cmocka_unit_test(test_stages),
        cmocka_unit_test(test_value_shown),  cmocka_unit_test(test_fields),
        cmocka_unit_test(test_dynamo_attrs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
