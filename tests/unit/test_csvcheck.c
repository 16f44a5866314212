/* The streaming validator: every bad input of issue 6, each fed whole, one
 * byte at a time and in odd-sized chunks (the verdict must not depend on
 * where the network cuts the stream). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include <cmocka.h>

#include "csvcheck.h"

static const char *const COLS[] = { "id", "name", "amount" };

struct outcome {
    enum lk_status status;
    char message[1024];
    struct csvcheck_result res;
};

static struct outcome run_chunked(const char *name, enum csvcheck_dialect d, const char *const *cols,
                                  size_t n_cols, long long min, const void *data, size_t len,
                                  size_t chunk)
{
    struct outcome o;
    memset(&o, 0, sizeof o);
    struct csvcheck_opts opts = { name, d, cols, n_cols, min };
    struct csvcheck *c = NULL;
    struct lk_error err;
    err_clear(&err);
    o.status = csvcheck_open(&opts, &c, &err);
    if (o.status != LK_OK) {
        snprintf(o.message, sizeof o.message, "%s", err.message);
        return o;
    }
    const unsigned char *p = data;
    size_t off = 0;
    while (off < len && o.status == LK_OK) {
        size_t n = len - off < chunk ? len - off : chunk;
        o.status = csvcheck_feed(c, p + off, n, &err);
        off += n;
    }
    if (o.status == LK_OK)
        o.status = csvcheck_finish(c, &o.res, &err);
    else
        assert_true(csvcheck_failed(c));
    if (o.status != LK_OK)
        snprintf(o.message, sizeof o.message, "%s", err.message);
    csvcheck_free(c);
    return o;
}

/* Runs with three chunkings and checks they agree; returns the whole-feed outcome. */
static struct outcome run(const char *name, enum csvcheck_dialect d, long long min, const void *data,
                          size_t len)
{
    struct outcome whole = run_chunked(name, d, COLS, 3, min, data, len, len ? len : 1);
    const size_t chunks[] = { 1, 2, 7 };
    for (size_t i = 0; i < sizeof chunks / sizeof chunks[0]; i++) {
        struct outcome o = run_chunked(name, d, COLS, 3, min, data, len, chunks[i]);
        assert_int_equal(o.status, whole.status);
        assert_string_equal(o.message, whole.message);
        assert_int_equal(o.res.records, whole.res.records);
    }
    return whole;
}

static struct outcome run_csv(const char *text, long long min)
{
    return run("x.csv", CSVCHECK_CSV, min, text, strlen(text));
}

static void expect_fail(struct outcome o, const char *needle)
{
    assert_int_equal(o.status, LK_FAIL);
    if (!strstr(o.message, needle))
        fail_msg("message '%s' does not mention '%s'", o.message, needle);
}

/* Valid, with so many records over so many lines. */
static void expect_ok(const char *text, long long records, long long lines)
{
    struct outcome o = run_csv(text, 1);
    if (o.status != LK_OK)
        fail_msg("refused: %s", o.message);
    assert_int_equal(o.res.records, records);
    assert_int_equal(o.res.lines, lines);
}

static void test_plain_ok(void **state)
{
    expect_ok("id,name,amount\n1,a,2.5\n2,b,3\n", 2, 3);
}

static void test_bom(void **state)
{
    /* The BOM is not part of the first column's name. */
    expect_ok("\xEF\xBB\xBFid,name,amount\n1,a,2\n", 1, 2);
    /* Elsewhere it is data (U+FEFF), not a mark to drop. */
    expect_ok("id,name,amount\n1,\xEF\xBB\xBF,2\n", 1, 2);
    expect_fail(run_csv("id,\xEF\xBB\xBFname,amount\n1,a,2\n", 1), "missing column name");
}

static void test_crlf(void **state)
{
    expect_ok("id,NAME,amount\r\n1,a,2\r\n2,b,3\r\n", 2, 3);
}

static void test_quoted_newline(void **state)
{
    expect_ok("id,name,amount\n1,\"multi\r\nline, \"\"quoted\"\"\",2\n2,b,3\n", 2, 4);
}

static void test_no_final_newline(void **state)
{
    expect_ok("id,name,amount\n1,a,2\n2,b,3", 2, 3);
}

static void test_bare_cr_records(void **state)
{
    struct outcome o = run_csv("id,name,amount\r1,a,2\r", 1);
    assert_int_equal(o.status, LK_OK);
    assert_int_equal(o.res.records, 1);
}

static void test_empty(void **state)
{
    expect_fail(run_csv("", 0), "empty file");
}

static void test_header_only(void **state)
{
    expect_fail(run_csv("id,name,amount\n", 1), "0 data records (a header only), expected at least 1");
    assert_int_equal(run_csv("id,name,amount\n", 0).status, LK_OK);
}

static void test_missing_column(void **state)
{
    expect_fail(run_csv("id,amount\n1,2\n", 1), "missing column name");
}

static void test_extra_column(void **state)
{
    expect_fail(run_csv("id,name,amount,colour\n1,a,2,red\n", 1), "extra column colour");
}

static void test_missing_and_extra(void **state)
{
    expect_fail(run_csv("id,nom,amount\n1,a,2\n", 1), "missing column name; extra column nom");
}

static void test_column_order(void **state)
{
    expect_fail(run_csv("name,id,amount\n1,a,2\n", 1), "column 1 is 'name', the schema has 'id'");
}

static void test_duplicate_column(void **state)
{
    expect_fail(run_csv("id,name,amount,id\n", 0), "'id' twice");
}

static void test_short_record(void **state)
{
    expect_fail(run_csv("id,name,amount\n1,a,2\n2,b\n3,c,4\n", 1),
                "record 2 (line 3) has 2 fields, expected 3 (a short record)");
}

static void test_long_record(void **state)
{
    expect_fail(run_csv("id,name,amount\n1,a,2,9\n", 1), "record 1 (line 2) has 4 fields, expected 3 (too many");
}

static void test_short_last_record_without_newline(void **state)
{
    expect_fail(run_csv("id,name,amount\n1,a,2\n2,b", 1), "record 2 (line 3) has 2 fields");
}

static void test_unterminated_quote(void **state)
{
    expect_fail(run_csv("id,name,amount\n1,a,2\n2,\"open,3\n4,d,5\n", 1),
                "unterminated quote: the quoted field that starts in record 2 (line 3) never ends");
}

static void test_junk_after_quote(void **state)
{
    expect_fail(run_csv("id,name,amount\n1,\"a\"b,2\n", 1), "record 1 (line 2): unexpected 'b' after a closing quote");
}

static void test_not_utf8(void **state)
{
    expect_fail(run_csv("id,name,amount\n1,a,2\n2,caf\xE9,3\n", 1), "record 2 (line 3) contains bytes that are not UTF-8 (0xE9");
    expect_fail(run_csv("id,name,amount\n1,\xC3", 1), "ends in the middle of a UTF-8 character");
    /* Overlong encodings and surrogates are not UTF-8 either. */
    expect_fail(run_csv("id,name,amount\n1,\xC0\xAF,2\n", 1), "not UTF-8");
    expect_fail(run_csv("id,name,amount\n1,\xED\xA0\x80,2\n", 1), "not UTF-8");
    assert_int_equal(run_csv("id,name,amount\n1,caf\xC3\xA9 \xF0\x9F\x98\x80,2\n", 1).status, LK_OK);
}

static size_t gzip_bytes(const char *text, unsigned char *out, size_t cap)
{
    z_stream z;
    memset(&z, 0, sizeof z);
    assert_int_equal(deflateInit2(&z, 6, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY), Z_OK);
    z.next_in = (unsigned char *)text;
    z.avail_in = (uInt)strlen(text);
    z.next_out = out;
    z.avail_out = (uInt)cap;
    assert_int_equal(deflate(&z, Z_FINISH), Z_STREAM_END);
    size_t n = cap - z.avail_out;
    deflateEnd(&z);
    return n;
}

static void test_gzip(void **state)
{
    unsigned char gz[512];
    size_t n = gzip_bytes("id,name,amount\n1,a,2\n2,b,3\n", gz, sizeof gz);
    struct outcome o = run("LOAD00000001.csv.gz", CSVCHECK_CSV, 1, gz, n);
    assert_int_equal(o.status, LK_OK);
    assert_int_equal(o.res.records, 2);
    assert_true(o.res.gzip);
    assert_int_equal(o.res.bytes_in, (long long)n);

    /* Two members, as `cat a.gz b.gz` makes: one file. */
    unsigned char two[1024];
    size_t n1 = gzip_bytes("id,name,amount\n1,a,2\n", two, sizeof two);
    size_t n2 = gzip_bytes("2,b,3\n", two + n1, sizeof two - n1);
    o = run("x.csv.gz", CSVCHECK_CSV, 1, two, n1 + n2);
    assert_int_equal(o.status, LK_OK);
    assert_int_equal(o.res.records, 2);
}

static void test_gzip_truncated(void **state)
{
    unsigned char gz[512];
    size_t n = gzip_bytes("id,name,amount\n1,a,2\n2,b,3\n", gz, sizeof gz);
    expect_fail(run("x.csv.gz", CSVCHECK_CSV, 1, gz, n - 6), "gzip data truncated");
    expect_fail(run("x.csv.gz", CSVCHECK_CSV, 1, "id,name,amount\n", 15), "not valid gzip data");
}

static void test_redshift_unload(void **state)
{
    const char *text = "1|\"plain\"|2.5\n"
                       "2|\"pipe \\| inside, quote \\\" and newline \\\nhere\"|\\N\n"
                       "3|unquoted \\| escaped|7\n";
    struct outcome o = run("dim_company_0000_part_00", CSVCHECK_REDSHIFT, 1, text, strlen(text));
    assert_int_equal(o.status, LK_OK);
    assert_int_equal(o.res.records, 3);
    /* No header: a header-looking first row is just a record. */
    o = run("x.txt", CSVCHECK_REDSHIFT, 1, "1|a\n", 4);
    expect_fail(o, "record 1 (line 1) has 2 fields, expected 3");
    expect_fail(run("x.txt", CSVCHECK_REDSHIFT, 1, "1|a|2\\", 6), "backslash that escapes nothing");
    expect_fail(run("x.txt", CSVCHECK_REDSHIFT, 1, "1|\"a|2\n", 7), "unterminated quote");
}

static void test_redshift_unload_invalid(void **state)
{
    const char *s = "1|a|2\n2|b\n";
    expect_fail(run("u_0000_part_00", CSVCHECK_REDSHIFT, 1, s, strlen(s)),
                "record 2 (line 2) has 2 fields, expected 3 (a short record)");
    s = "1|\"say \"hi\" to acme\"|2\n";
    expect_fail(run("u_0000_part_00", CSVCHECK_REDSHIFT, 1, s, strlen(s)),
                "record 1 (line 1): unexpected 'h' after a closing quote (a quote inside a quoted field must be escaped)");
    s = "1|a|2\n2|\"open \\| never closed|7\n3|c|7\n";
    expect_fail(run("u_0000_part_00", CSVCHECK_REDSHIFT, 1, s, strlen(s)),
                "unterminated quote: the quoted field that starts in record 2 (line 2) never ends");
}

static void test_redshift_unload_gzip_part(void **state)
{
    unsigned char gz[512];
    size_t n = gzip_bytes("1|a|2.5\n2|\\N|\\N\n", gz, sizeof gz);
    struct outcome o = run("dim_company_0000_part_00.gz", CSVCHECK_REDSHIFT, 1, gz, n);
    assert_int_equal(o.status, LK_OK);
    assert_int_equal(o.res.records, 2);
    assert_true(o.res.gzip);
}

/* UNLOAD output in a csv dataset: refused by its name, or by its first
 * record, which is no header. */
static void test_redshift_unload_in_csv_dataset(void **state)
{
    const char *s = "1|\"acme \\| co\"|2.5\n";
    expect_fail(run("dim_company_0000_part_00", CSVCHECK_CSV, 1, s, strlen(s)),
                "does not have an extension of the csv dialect");
    expect_fail(run("dim_company.csv", CSVCHECK_CSV, 1, s, strlen(s)),
                "the header does not match the schema: missing columns id, name, amount");
}

static void test_names(void **state)
{
    struct lk_error err;
    bool gz = false;
    assert_int_equal(csvcheck_check_name("a/b/LOAD001.CSV.GZ", CSVCHECK_CSV, &gz, &err), LK_OK);
    assert_true(gz);
    assert_int_equal(csvcheck_check_name("20220304.csv", CSVCHECK_CSV, &gz, &err), LK_OK);
    assert_false(gz);
    assert_int_equal(csvcheck_check_name("data with spaces.txt", CSVCHECK_CSV, &gz, &err), LK_OK);
    assert_int_equal(csvcheck_check_name("x/report.json", CSVCHECK_CSV, &gz, &err), LK_FAIL);
    assert_non_null(strstr(err.message, "'report.json'"));
    assert_int_equal(csvcheck_check_name("dim_0001_part_00", CSVCHECK_CSV, &gz, &err), LK_FAIL);
    assert_int_equal(csvcheck_check_name("dim_0001_part_00.gz", CSVCHECK_REDSHIFT, &gz, &err), LK_OK);
    assert_true(gz);
    struct csvcheck *c = NULL;
    struct csvcheck_opts opts = { "x.parquet", CSVCHECK_CSV, NULL, 0, 0 };
    assert_int_equal(csvcheck_open(&opts, &c, &err), LK_FAIL);
    assert_null(c);
}

static void test_no_schema_consistency(void **state)
{
    struct outcome o = run_chunked("x.csv", CSVCHECK_CSV, NULL, 0, 0, "a,b\n1,2\n3\n", 10, 10);
    assert_int_equal(o.status, LK_FAIL);
    assert_non_null(strstr(o.message, "record 2 (line 3) has 1 field, expected 2"));
}

static void test_dialect_names(void **state)
{
    enum csvcheck_dialect d;
    assert_true(csvcheck_dialect_parse("redshift-unload", &d));
    assert_int_equal(d, CSVCHECK_REDSHIFT);
    assert_string_equal(csvcheck_dialect_name(CSVCHECK_CSV), "csv");
    assert_false(csvcheck_dialect_parse("tsv", &d));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plain_ok),
        cmocka_unit_test(test_bom),
        cmocka_unit_test(test_crlf),
        cmocka_unit_test(test_quoted_newline),
        cmocka_unit_test(test_no_final_newline),
        cmocka_unit_test(test_bare_cr_records),
        cmocka_unit_test(test_empty),
        cmocka_unit_test(test_header_only),
        cmocka_unit_test(test_missing_column),
        cmocka_unit_test(test_extra_column),
        cmocka_unit_test(test_missing_and_extra),
        cmocka_unit_test(test_column_order),
        cmocka_unit_test(test_duplicate_column),
        cmocka_unit_test(test_short_record),
        cmocka_unit_test(test_long_record),
        cmocka_unit_test(test_short_last_record_without_newline),
        cmocka_unit_test(test_unterminated_quote),
        cmocka_unit_test(test_junk_after_quote),
        cmocka_unit_test(test_not_utf8),
        cmocka_unit_test(test_gzip),
        cmocka_unit_test(test_gzip_truncated),
        cmocka_unit_test(test_redshift_unload),
        cmocka_unit_test(test_redshift_unload_invalid),
        cmocka_unit_test(test_redshift_unload_gzip_part),
        cmocka_unit_test(test_redshift_unload_in_csv_dataset),
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_no_schema_consistency),
        cmocka_unit_test(test_dialect_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
