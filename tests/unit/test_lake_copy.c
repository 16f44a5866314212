/* core/lake_copy.c: which metadata files vouch for a batch's copy, and
 * what a plan is told about the ones that do not; then the lookup itself
 * on a file:// lake. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lake_copy.h"
#include "mem.h"

static const struct lakecopy_want WANT = { "J1", "B1", "F1" };

static enum lakecopy_verdict judge(const char *text, char *what, size_t size)
{
    return lakecopy_judge(text, strlen(text), &WANT, what, size);
}

static void test_judge(void **state)
{
    char what[640];
    assert_int_equal(judge("{\"jobId\":\"J1\",\"batchId\":\"B1\",\"fileId\":\"F1\",\"status\":\"completed\"}", what,
                           sizeof what), LAKECOPY_FOUND);
    /* batchId or fileId: either names the batch. */
    assert_int_equal(judge("{\"jobId\":\"J1\",\"fileId\":\"F1\"}", what, sizeof what), LAKECOPY_FOUND);
    assert_int_equal(judge("{\"jobId\":\"J1\",\"batchId\":\"B1\",\"fileId\":\"other\"}", what, sizeof what),
                     LAKECOPY_FOUND);
    assert_int_equal(judge("{\"jobId\":\"J2\",\"batchId\":\"B1\",\"fileId\":\"F1\"}", what, sizeof what),
                     LAKECOPY_OTHER);
    assert_string_equal(what, "is for job J2 (batch B1, file F1), not for job J1 (batch B1)");
    assert_int_equal(judge("{\"jobId\":\"J1\",\"batchId\":\"B9\",\"fileId\":\"F9\"}", what, sizeof what),
                     LAKECOPY_OTHER);
    assert_int_equal(judge("{\"jobId\":\"J1\",\"batchId\":\"B1\",\"status\":\"aborted\"}", what, sizeof what),
                     LAKECOPY_OTHER);
    assert_non_null(strstr(what, "status \"aborted\""));
    assert_int_equal(judge("{\"jobId\":\"J1\",\"batchId\":", what, sizeof what), LAKECOPY_MALFORMED);
    assert_non_null(strstr(what, "is not valid metadata: not JSON ("));
    assert_int_equal(judge("", what, sizeof what), LAKECOPY_MALFORMED);
    assert_string_equal(what, "is not valid metadata: it is empty");
    assert_int_equal(judge("[\"J1\"]", what, sizeof what), LAKECOPY_MALFORMED);
    assert_non_null(strstr(what, "it is an array"));
    assert_int_equal(judge("{\"batchId\":\"B1\"}", what, sizeof what), LAKECOPY_MALFORMED);
    assert_non_null(strstr(what, "no field 'jobId'"));
    assert_int_equal(judge("{\"jobId\":\"J1\",\"batchId\":7}", what, sizeof what), LAKECOPY_MALFORMED);
    assert_non_null(strstr(what, "field 'batchId' of the metadata is an integer, expected a string"));
    assert_int_equal(judge("{\"jobId\":\"J1\"}", what, sizeof what), LAKECOPY_MALFORMED);
    assert_string_equal(what, "is not valid metadata: it names no batchId and no fileId");
    /* Empty ids never match an unknown batch id. */
    const struct lakecopy_want unknown = { "J1", NULL, NULL };
    const char *text = "{\"jobId\":\"J1\",\"batchId\":\"\",\"fileId\":\"F1\"}";
    assert_int_equal(lakecopy_judge(text, strlen(text), &unknown, what, sizeof what), LAKECOPY_OTHER);
}

static void put(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void test_find_on_file(void **state)
{
    char dir[] = "/tmp/lakecopy-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char *raw = xasprintf("file://%s/Account.csv", dir);
    char *csv = xasprintf("%s/Account.csv", dir);
    char *mdir = xasprintf("%s/metadata", dir);
    char *meta = xasprintf("%s/metadata/Account.json", dir);
    struct store *st = NULL;
    struct lk_error err;
    err_clear(&err);
    assert_int_equal(store_open(NULL, NULL, &st, &err), LK_OK);
    struct lakecopy_found f;

    lakecopy_find(st, raw, "Account", &WANT, &f);
    assert_int_equal(f.verdict, LAKECOPY_MISSING);
    assert_non_null(strstr(f.what, "metadata/Account.json does not exist"));

    assert_int_equal(mkdir(mdir, 0700), 0);
    put(meta, "{\"jobId\":\"J1\",\"batchId\":\"B1\"}");
    lakecopy_find(st, raw, "Account", &WANT, &f);
    assert_int_equal(f.verdict, LAKECOPY_MISSING);
    assert_non_null(strstr(f.what, "names it, but"));

    put(csv, "Account.Id\nA1\n");
    lakecopy_find(st, raw, "Account", &WANT, &f);
    assert_int_equal(f.verdict, LAKECOPY_FOUND);
    struct stat sb;
    assert_int_equal(stat(meta, &sb), 0);
    assert_int_equal(f.copied_unix, (long long)sb.st_mtime);

    /* Far bigger than any metadata file: refused, not held in memory. */
    FILE *big = fopen(meta, "w");
    assert_non_null(big);
    for (int i = 0; i < 20000; i++)
        fputs("{\"x\":1}", big);
    fclose(big);
    lakecopy_find(st, raw, "Account", &WANT, &f);
    assert_int_equal(f.verdict, LAKECOPY_MALFORMED);
    assert_non_null(strstr(f.what, "larger than"));

    lakecopy_find(st, "s3://bucket-only", "Account", &WANT, &f);
    assert_int_equal(f.verdict, LAKECOPY_UNREADABLE);

    store_free(st);
    unlink(meta);
    unlink(csv);
    rmdir(mdir);
    rmdir(dir);
    free(raw);
    free(csv);
    free(mdir);
    free(meta);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_judge),
        cmocka_unit_test(test_find_on_file),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
