/* The copy pipeline against the file:// store and scripted in-memory
 * sources: byte-identical output, exact metadata, segments joined with one
 * header, and every failure leaving the previous objects untouched. */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "buf.h"
#include "config.h"
#include "copy.h"
#include "mem.h"
#include "store.h"

/* A file the scripted source serves. */
struct fake_file {
    const char *id;
    const char *data;
    size_t len;
    long long claimed_length;  /* Content-Length sent; -1: none; -2: the real one */
    long long fail_after;      /* serve this many bytes, then fail (-1: never) */
    bool fail_first;           /* fail once before any byte (a retried 503) */
};

struct fake_source {
    struct fake_file *files;
    size_t n_files;
    size_t chunk;
    int streams;               /* calls made */
    volatile int *cancel_at_half;
};

static enum lk_status fake_stream(void *ud, const char *file_id, http_sink_fn sink, void *sink_ud,
                                  http_rewind_fn rewind, long long *content_length_out,
                                  struct lk_error *err)
{
    struct fake_source *fs = ud;
    fs->streams++;
    struct fake_file *f = NULL;
    for (size_t i = 0; i < fs->n_files; i++)
        if (strcmp(fs->files[i].id, file_id) == 0)
            f = &fs->files[i];
    if (!f)
        return err_set(err, LK_NOTFOUND, "no file %s", file_id);
    if (f->fail_first) {
        f->fail_first = false;
        if (!rewind(sink_ud))
            return err_set(err, LK_FAIL, "could not rewind");
    }
    *content_length_out = f->claimed_length == -2 ? (long long)f->len : f->claimed_length;
    size_t off = 0;
    while (off < f->len) {
        size_t n = f->len - off < fs->chunk ? f->len - off : fs->chunk;
        if (f->fail_after >= 0 && (long long)(off + n) > f->fail_after) {
            err_remote(err, 500, NULL, "Internal Server Error", NULL);
            return err_set(err, LK_FAIL, "HTTP 500 halfway");
        }
        if (fs->cancel_at_half && off >= f->len / 2)
            *fs->cancel_at_half = 1;
        if (sink(f->data + off, n, sink_ud) != n)
            return err_set(err, LK_FAIL, "the transfer was stopped by the sink");
        off += n;
    }
    return LK_OK;
}

struct fixture {
    char root[256];
    struct cfg_env env;
    struct store *store;
};

static int setup(void **state)
{
    struct fixture *fx = xcalloc(1, sizeof *fx);
    snprintf(fx->root, sizeof fx->root, "%s/lakeop-copy-XXXXXX",
             getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    assert_non_null(mkdtemp(fx->root));
    char *bucket = xasprintf("%s/raw", fx->root);
    assert_int_equal(mkdir(bucket, 0755), 0);
    free(bucket);
    char *endpoint = xasprintf("file://%s", fx->root);
    fx->env.name = (char *)"test";
    fx->env.s3_endpoint = endpoint;
    struct lk_error err;
    err_clear(&err);
    assert_int_equal(store_open(&fx->env, NULL, &fx->store, &err), LK_OK);
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *fx = *state;
    store_free(fx->store);
    char *cmd = xasprintf("rm -rf '%s'", fx->root);
    assert_int_equal(system(cmd), 0);
    free(cmd);
    free(fx->env.s3_endpoint);
    free(fx);
    return 0;
}

static char *read_all(const struct fixture *fx, const char *rel, size_t *len)
{
    char *path = xasprintf("%s/%s", fx->root, rel);
    FILE *f = fopen(path, "rb");
    free(path);
    if (!f)
        return NULL;
    struct buf b = BUF_INIT;
    char tmp[65536];
    size_t n;
    while ((n = fread(tmp, 1, sizeof tmp, f)) > 0)
        buf_append(&b, tmp, n);
    fclose(f);
    *len = b.len;
    return buf_detach(&b);
}

static void write_file(const struct fixture *fx, const char *rel, const char *text)
{
    char *path = xasprintf("%s/%s", fx->root, rel);
    char *dir = xstrdup(path);
    *strrchr(dir, '/') = '\0';
    mkdir(dir, 0755);
    free(dir);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    free(path);
}

/* Every entry of a folder is one we expect: no temporary leftovers. */
static int count_entries(const struct fixture *fx, const char *rel)
{
    char *path = xasprintf("%s/%s", fx->root, rel);
    DIR *d = opendir(path);
    free(path);
    if (!d)
        return -1;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
            n++;
    closedir(d);
    return n;
}

static const char SAMPLE[] =
    "\xEF\xBB\xBF" "Account.IsDeleted,Account.Id,Account.Name\r\n"
    "false,a1,\"Smith, \"\"Jo\"\"\nsecond line\"\r\n"
    "false,a2,Plain\r\n"
    "true,a3,\"\r\n\"\r\n";

static struct copy_spec spec_for(const char *file_id, long long records, const char *target)
{
    return (struct copy_spec){
        .job_id = "2c92c0f9725046a2017255f7d84e5a48",
        .batch_id = "2c92c0f9725046a2017255f7d8925a55",
        .name = "Account",
        .file_id = file_id,
        .record_count = records,
        .target = target,
    };
}

static void test_copies_bytes_and_metadata(void **state)
{
    struct fixture *fx = *state;
    struct fake_file f = { "f1", SAMPLE, sizeof SAMPLE - 1, -2, -1, false };
    struct fake_source fs = { &f, 1, 7, 0, NULL };
    struct copy_source src = { fake_stream, &fs };
    struct copy_spec spec = spec_for("f1", 3, "s3://raw/Account.csv");
    struct copy_stream_opts opts = { .queue_buffers = 2, .buffer_size = 16 };
    struct copy_result res;
    struct lk_error err;
    err_clear(&err);
    enum lk_status st = copy_stream(&src, fx->store, &spec, &opts, &res, &err);
    if (st != LK_OK)
        fail_msg("copy failed: %s", err.message);
    assert_int_equal(res.records, 3);
    assert_int_equal(res.bytes, sizeof SAMPLE - 1);
    size_t len = 0;
    char *got = read_all(fx, "raw/Account.csv", &len);
    assert_non_null(got);
    assert_int_equal(len, sizeof SAMPLE - 1);
    assert_memory_equal(got, SAMPLE, len);
    free(got);
    char *meta = read_all(fx, "raw/metadata/Account.json", &len);
    assert_non_null(meta);
    assert_string_equal(meta, "{\n"
                              "  \"jobId\" : \"2c92c0f9725046a2017255f7d84e5a48\",\n"
                              "  \"fileId\" : \"f1\",\n"
                              "  \"batchId\" : \"2c92c0f9725046a2017255f7d8925a55\",\n"
                              "  \"status\" : \"completed\",\n"
                              "  \"name\" : \"Account\",\n"
                              "  \"recordCount\" : 3\n"
                              "}");
    free(meta);
    assert_non_null(strstr(res.metadata_url, "s3://raw/metadata/Account.json"));
    copy_result_free(&res);
}

/* A mismatch, a failure halfway, a short body, a cancel: the previous CSV
 * and metadata stay exactly as they were and no temporary file is left. */
static void expect_untouched(struct fixture *fx, struct fake_file *f, long long records,
                             volatile int *cancel, const char *want_in_message)
{
    write_file(fx, "raw/Account.csv", "old,csv\n1,2\n");
    write_file(fx, "raw/metadata/Account.json", "{\"old\":true}");
    struct fake_source fs = { f, 1, 5, 0, cancel };
    struct copy_source src = { fake_stream, &fs };
    struct copy_spec spec = spec_for(f->id, records, "s3://raw/Account.csv");
    struct copy_stream_opts opts = { .queue_buffers = 2, .buffer_size = 8, .cancel = cancel };
    struct copy_result res;
    struct lk_error err;
    err_clear(&err);
    assert_int_not_equal(copy_stream(&src, fx->store, &spec, &opts, &res, &err), LK_OK);
    if (!strstr(err.message, want_in_message))
        fail_msg("message \"%s\" lacks \"%s\"", err.message, want_in_message);
    size_t len;
    char *csv = read_all(fx, "raw/Account.csv", &len);
    assert_string_equal(csv, "old,csv\n1,2\n");
    free(csv);
    char *meta = read_all(fx, "raw/metadata/Account.json", &len);
    assert_string_equal(meta, "{\"old\":true}");
    free(meta);
    assert_int_equal(count_entries(fx, "raw"), 2);        /* Account.csv, metadata/ */
    assert_int_equal(count_entries(fx, "raw/metadata"), 1);
    copy_result_free(&res);
}

static void test_record_mismatch_names_both_counts(void **state)
{
    struct fake_file f = { "f1", SAMPLE, sizeof SAMPLE - 1, -2, -1, false };
    expect_untouched(*state, &f, 4, NULL, "Zuora said 4 records, the file has 3");
}

static void test_failure_halfway(void **state)
{
    struct fake_file f = { "f1", SAMPLE, sizeof SAMPLE - 1, -2, 40, false };
    expect_untouched(*state, &f, 3, NULL, "HTTP 500 halfway");
}

static void test_content_length_mismatch(void **state)
{
    struct fake_file f = { "f1", SAMPLE, sizeof SAMPLE - 1, (long long)sizeof SAMPLE + 100, -1, false };
    expect_untouched(*state, &f, 3, NULL, "Content-Length");
}

static void test_unterminated_quote(void **state)
{
    static const char bad[] = "a,b\n1,\"open\n2,3\n";
    struct fake_file f = { "f1", bad, sizeof bad - 1, -2, -1, false };
    expect_untouched(*state, &f, 1, NULL, "quote");
}

static void test_cancel(void **state)
{
    static volatile int cancel;
    cancel = 0;
    struct fake_file f = { "f1", SAMPLE, sizeof SAMPLE - 1, -2, -1, false };
    expect_untouched(*state, &f, 3, &cancel, "cancelled");
}

/* A retry before any byte arrived may start over; the copy still succeeds. */
static void test_rewind_before_first_byte(void **state)
{
    struct fixture *fx = *state;
    struct fake_file f = { "f1", SAMPLE, sizeof SAMPLE - 1, -2, -1, true };
    struct fake_source fs = { &f, 1, 1000, 0, NULL };
    struct copy_source src = { fake_stream, &fs };
    struct copy_spec spec = spec_for("f1", 3, "s3://raw/dir with space/Ünïcode €.csv");
    struct copy_result res;
    struct lk_error err;
    err_clear(&err);
    enum lk_status st = copy_stream(&src, fx->store, &spec, NULL, &res, &err);
    if (st != LK_OK)
        fail_msg("copy failed: %s", err.message);
    size_t len;
    char *got = read_all(fx, "raw/dir with space/Ünïcode €.csv", &len);
    assert_non_null(got);
    assert_memory_equal(got, SAMPLE, sizeof SAMPLE - 1);
    free(got);
    char *meta = read_all(fx, "raw/dir with space/metadata/Account.json", &len);
    assert_non_null(meta);
    free(meta);
    copy_result_free(&res);
}

/* Segments: one header kept, a segment without a final newline joined
 * cleanly, byte order marks of later segments dropped. */
static void test_segments_joined(void **state)
{
    struct fixture *fx = *state;
    static const char s1[] = "\xEF\xBB\xBF" "Id,Name\n1,\"a\nb\"\n2,b";
    static const char s2[] = "\xEF\xBB\xBF" "Id,Name\n3,c\n";
    static const char s3[] = "Id,Name\r\n";
    static const char s4[] = "Id,Name\n4,\"d\"\"\"\n";
    struct fake_file files[] = {
        { "s1", s1, sizeof s1 - 1, -2, -1, false },
        { "s2", s2, sizeof s2 - 1, -1, -1, false },
        { "s3", s3, sizeof s3 - 1, -2, -1, false },
        { "s4", s4, sizeof s4 - 1, -2, -1, false },
    };
    static const char *const segs[] = { "s1", "s2", "s3", "s4" };
    for (size_t chunk = 1; chunk < 30; chunk += 4) {
        struct fake_source fs = { files, 4, chunk, 0, NULL };
        struct copy_source src = { fake_stream, &fs };
        struct copy_spec spec = spec_for(NULL, 4, "s3://raw/Seg.csv");
        spec.segments = segs;
        spec.n_segments = 4;
        spec.name = "Seg";
        struct copy_stream_opts opts = { .queue_buffers = 3, .buffer_size = 4 };
        struct copy_result res;
        struct lk_error err;
        err_clear(&err);
        enum lk_status st = copy_stream(&src, fx->store, &spec, &opts, &res, &err);
        if (st != LK_OK)
            fail_msg("chunk %zu: copy failed: %s", chunk, err.message);
        size_t len;
        char *got = read_all(fx, "raw/Seg.csv", &len);
        static const char want[] = "\xEF\xBB\xBF" "Id,Name\n1,\"a\nb\"\n2,b\n3,c\n4,\"d\"\"\"\n";
        assert_int_equal(len, sizeof want - 1);
        assert_memory_equal(got, want, len);
        free(got);
        char *meta = read_all(fx, "raw/metadata/Seg.json", &len);
        assert_non_null(strstr(meta, "\"fileId\" : \"s1,s2,s3,s4\""));
        assert_non_null(strstr(meta, "\"recordCount\" : 4\n}"));
        free(meta);
        assert_int_equal(res.source_bytes, (long long)(sizeof s1 + sizeof s2 + sizeof s3 + sizeof s4 - 4));
        copy_result_free(&res);
    }
}

static void test_segments_with_different_headers(void **state)
{
    struct fixture *fx = *state;
    static const char s1[] = "Id,Name\n1,a\n";
    static const char s2[] = "Id,Other\n2,b\n";
    struct fake_file files[] = {
        { "s1", s1, sizeof s1 - 1, -2, -1, false },
        { "s2", s2, sizeof s2 - 1, -2, -1, false },
    };
    static const char *const segs[] = { "s1", "s2" };
    struct fake_source fs = { files, 2, 3, 0, NULL };
    struct copy_source src = { fake_stream, &fs };
    struct copy_spec spec = spec_for(NULL, 2, "s3://raw/Seg.csv");
    spec.segments = segs;
    spec.n_segments = 2;
    struct copy_result res;
    struct lk_error err;
    err_clear(&err);
    assert_int_equal(copy_stream(&src, fx->store, &spec, NULL, &res, &err), LK_FAIL);
    assert_non_null(strstr(err.message, "different header"));
    assert_int_equal(count_entries(fx, "raw"), 0);
    copy_result_free(&res);
}

/* Many records through tiny buffers: back-pressure, exact count, no leak. */
static void test_large_through_small_queue(void **state)
{
    struct fixture *fx = *state;
    struct buf b = BUF_INIT;
    buf_puts(&b, "InvoiceItem.Id,InvoiceItem.ChargeName\n");
    for (int i = 0; i < 50000; i++)
        buf_printf(&b, i % 50 ? "%d,plain\n" : "%d,\"quoted\nnewline\"\n", i);
    struct fake_file f = { "big", b.data, b.len, -2, -1, false };
    struct fake_source fs = { &f, 1, 16384, 0, NULL };
    struct copy_source src = { fake_stream, &fs };
    struct copy_spec spec = spec_for("big", 50000, "s3://raw/InvoiceItem.csv");
    spec.name = "InvoiceItem";
    struct copy_stream_opts opts = { .queue_buffers = 2, .buffer_size = 4096 };
    struct copy_result res;
    struct lk_error err;
    err_clear(&err);
    enum lk_status st = copy_stream(&src, fx->store, &spec, &opts, &res, &err);
    if (st != LK_OK)
        fail_msg("copy failed: %s", err.message);
    size_t len;
    char *got = read_all(fx, "raw/InvoiceItem.csv", &len);
    assert_int_equal(len, b.len);
    assert_memory_equal(got, b.data, len);
    free(got);
    copy_result_free(&res);
    buf_free(&b);
}

static void test_metadata_url(void **state)
{
    (void)state;
    char *u = copy_metadata_url("s3://bucket/Account.csv", "Account");
    assert_string_equal(u, "s3://bucket/metadata/Account.json");
    free(u);
    u = copy_metadata_url("s3://bucket/a/b/InvoiceItem.csv", "InvoiceItem");
    assert_string_equal(u, "s3://bucket/a/b/metadata/InvoiceItem.json");
    free(u);
    u = copy_metadata_url("file:///srv/lake/raw/Account.csv", "Account");
    assert_string_equal(u, "file:///srv/lake/raw/metadata/Account.json");
    free(u);
    assert_null(copy_metadata_url("s3://bucket", "A"));
    assert_null(copy_metadata_url("s3://bucket/dir/", "A"));
    assert_null(copy_metadata_url("http://x/y.csv", "A"));
}

static void test_metadata_escapes(void **state)
{
    (void)state;
    struct copy_spec spec = spec_for("f\"1", 0, "s3://b/k.csv");
    spec.name = "We\\ird";
    char *j = copy_metadata_json(&spec);
    assert_non_null(strstr(j, "\"fileId\" : \"f\\\"1\""));
    assert_non_null(strstr(j, "\"name\" : \"We\\\\ird\""));
    assert_non_null(strstr(j, "\"recordCount\" : 0\n}"));
    free(j);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_copies_bytes_and_metadata, setup, teardown),
        cmocka_unit_test_setup_teardown(test_record_mismatch_names_both_counts, setup, teardown),
        cmocka_unit_test_setup_teardown(test_failure_halfway, setup, teardown),
        cmocka_unit_test_setup_teardown(test_content_length_mismatch, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unterminated_quote, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cancel, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rewind_before_first_byte, setup, teardown),
        cmocka_unit_test_setup_teardown(test_segments_joined, setup, teardown),
        cmocka_unit_test_setup_teardown(test_segments_with_different_headers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_large_through_small_queue, setup, teardown),
        cmocka_unit_test(test_metadata_url),
        cmocka_unit_test(test_metadata_escapes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
