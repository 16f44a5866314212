/* The object store's URLs and its file:// backend (core/store.h): never a
 * partial object under the final name, listings in S3's key order, keys that
 * cannot climb out of the store. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "buf.h"
#include "mem.h"
#include "store.h"
#include "store_internal.h"

struct fixture {
    char *root;                 /* the folder behind s3.endpoint = file://ROOT */
    struct http_client *http;
    struct store *store;
};

static int setup(void **state)
{
    struct fixture *f = xcalloc(1, sizeof *f);
    char tmpl[] = "/tmp/lakeop-store-test.XXXXXX";
    assert_non_null(mkdtemp(tmpl));
    f->root = xstrdup(tmpl);
    f->http = http_client_new(NULL, "t");
    struct cfg_env env = { 0 };
    env.name = "test";
    char *endpoint = xasprintf("file://%s", f->root);
    env.s3_endpoint = endpoint;
    struct lk_error err;
    err_clear(&err);
    assert_int_equal(store_open(&env, f->http, &f->store, &err), LK_OK);
    free(endpoint);
    char *bucket = xasprintf("%s/raw", f->root);
    assert_int_equal(mkdir(bucket, 0755), 0);
    free(bucket);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    char *cmd = xasprintf("rm -rf '%s'", f->root);
    assert_int_equal(system(cmd), 0);
    free(cmd);
    store_free(f->store);
    http_client_free(f->http);
    free(f->root);
    free(f);
    return 0;
}

static struct store_url url(const char *text)
{
    struct store_url u;
    struct lk_error err;
    err_clear(&err);
    if (store_url_parse(text, &u, &err) != LK_OK)
        fail_msg("cannot parse %s: %s", text, err.message);
    return u;
}

static void put_text(struct fixture *f, const char *where, const char *text)
{
    struct store_url u = url(where);
    struct lk_error err;
    err_clear(&err);
    struct store_object_info info;
    if (store_put(f->store, &u, text, strlen(text), "text/plain", &info, &err) != LK_OK)
        fail_msg("put %s: %s", where, err.message);
    assert_true(info.exists);
    assert_int_equal(info.size, (long long)strlen(text));
    store_object_info_free(&info);
    store_url_free(&u);
}

static size_t buf_sink(const char *data, size_t len, void *ud)
{
    buf_append(ud, data, len);
    return len;
}

/* The object's bytes, or NULL when reading fails. */
static char *get_text(struct fixture *f, const char *where, long long off, long long len,
                      enum lk_status *st)
{
    struct store_url u = url(where);
    struct lk_error err;
    err_clear(&err);
    struct buf b = BUF_INIT;
    *st = store_get(f->store, &u, off, len, buf_sink, &b, &err);
    store_url_free(&u);
    if (*st != LK_OK) {
        buf_free(&b);
        return NULL;
    }
    return b.data ? buf_detach(&b) : xstrdup("");
}

static void assert_content(struct fixture *f, const char *where, const char *want)
{
    enum lk_status st;
    char *got = get_text(f, where, 0, -1, &st);
    assert_int_equal(st, LK_OK);
    assert_string_equal(got, want);
    free(got);
}

/* ---- URLs ------------------------------------------------------------------ */

static void parses_as(const char *text, const char *bucket, const char *key, bool is_file)
{
    struct store_url u = url(text);
    assert_string_equal(u.bucket, bucket);
    assert_string_equal(u.key, key);
    assert_int_equal(u.is_file, is_file);
    char *again = store_url_format(&u);
    struct store_url v = url(again);
    assert_string_equal(v.bucket, bucket);
    assert_string_equal(v.key, key);
    free(again);
    store_url_free(&u);
    store_url_free(&v);
}

static void refused(const char *text, const char *words)
{
    struct store_url u;
    struct lk_error err;
    err_clear(&err);
    assert_int_equal(store_url_parse(text, &u, &err), LK_USAGE);
    if (!strstr(err.message, words))
        fail_msg("message '%s' does not say '%s'", err.message, words);
    assert_null(u.bucket);
}

static void test_url_parsing(void **state)
{
    (void)state;
    parses_as("s3://ophan-raw/Account.csv", "ophan-raw", "Account.csv", false);
    parses_as("s3://b/cubic/ods_qlik/EDW.SAMPLE/LOAD001.csv.gz", "b", "cubic/ods_qlik/EDW.SAMPLE/LOAD001.csv.gz",
              false);
    parses_as("s3://b", "b", "", false);
    parses_as("s3://b/", "b", "", false);
    parses_as("s3://b/a b/c+d=e.csv", "b", "a b/c+d=e.csv", false);
    parses_as("S3://b/k", "b", "k", false);
    parses_as("file:///data/lake/Account.csv", "/data/lake", "Account.csv", true);
    parses_as("file:///data/lake/", "/data/lake", "", true);
    parses_as("file:///Account.csv", "/", "Account.csv", true);
    parses_as("file://localhost/data/x", "/data", "x", true);

    char *s = store_url_format(&(struct store_url){ .bucket = "b", .key = "dir/k v", .is_file = false });
    assert_string_equal(s, "s3://b/dir/k v");
    free(s);
    s = store_url_format(&(struct store_url){ .bucket = "/", .key = "x", .is_file = true });
    assert_string_equal(s, "file:///x");
    free(s);

    refused("http://host/b/k", "not an object URL");
    refused("", "missing");
    refused(NULL, "missing");
    refused("s3://", "does not name a bucket");
    refused("s3:///key", "does not name a bucket");
    refused("s3://my bucket/key", "does not name a bucket");
    refused("s3://../key", "does not name a bucket");
    refused("file://", "names no folder");
    char *long_key = xmalloc(1100 + 8);
    memcpy(long_key, "s3://b/", 7);
    memset(long_key + 7, 'k', 1100);
    long_key[1107] = '\0';
    refused(long_key, "longer than");
    free(long_key);
}

/* ---- the file backend ----------------------------------------------------------- */

static void test_put_head_get(void **state)
{
    struct fixture *f = *state;
    put_text(f, "s3://raw/dir/sub/Account.csv", "Id,Name\n1,caf\xc3\xa9\n");
    assert_content(f, "s3://raw/dir/sub/Account.csv", "Id,Name\n1,caf\xc3\xa9\n");

    struct store_url u = url("s3://raw/dir/sub/Account.csv");
    struct store_object_info info;
    struct lk_error err;
    err_clear(&err);
    assert_int_equal(store_head(f->store, &u, &info, &err), LK_OK);
    assert_true(info.exists);
    assert_int_equal(info.size, 16);
    assert_true(info.mtime > 1600000000);
    /* "size-mtime_ns": changes whenever the object is rewritten. */
    assert_true(strncmp(info.etag, "16-", 3) == 0);
    assert_true(strlen(info.etag) > 12);
    store_object_info_free(&info);
    store_url_free(&u);

    enum lk_status st;
    char *part = get_text(f, "s3://raw/dir/sub/Account.csv", 3, 4, &st);
    assert_int_equal(st, LK_OK);
    assert_string_equal(part, "Name");
    free(part);
    part = get_text(f, "s3://raw/dir/sub/Account.csv", 10, -1, &st);
    assert_string_equal(part, "caf\xc3\xa9\n");
    free(part);
    part = get_text(f, "s3://raw/dir/sub/Account.csv", 16, -1, &st);
    assert_string_equal(part, "");
    free(part);
    assert_null(get_text(f, "s3://raw/dir/sub/Account.csv", 17, -1, &st));
    assert_int_equal(st, LK_FAIL);
    assert_null(get_text(f, "s3://raw/dir/missing.csv", 0, -1, &st));
    assert_int_equal(st, LK_NOTFOUND);

    /* Missing objects: exists = false, not an error. */
    u = url("s3://raw/nothing/here.csv");
    assert_int_equal(store_head(f->store, &u, &info, &err), LK_OK);
    assert_false(info.exists);
    store_object_info_free(&info);
    store_url_free(&u);
    /* A folder is not an object. */
    u = url("s3://raw/dir/sub");
    assert_int_equal(store_head(f->store, &u, &info, &err), LK_OK);
    assert_false(info.exists);
    store_url_free(&u);

    /* The empty object. */
    put_text(f, "s3://raw/empty", "");
    assert_content(f, "s3://raw/empty", "");
}

static size_t refusing_sink(const char *data, size_t len, void *ud)
{
    return 0;
}

static void test_sink_stops_read(void **state)
{
    struct fixture *f = *state;
    put_text(f, "s3://raw/a", "abc");
    struct store_url u = url("s3://raw/a");
    struct lk_error err;
    err_clear(&err);
    assert_int_equal(store_get(f->store, &u, 0, -1, refusing_sink, NULL, &err), LK_FAIL);
    assert_non_null(strstr(err.message, "receiver stopped"));
    store_url_free(&u);
}

struct collected {
    struct buf keys;
    int stop_after;
    int seen;
};

static bool collect(const struct store_list_entry *e, void *ud)
{
    struct collected *c = ud;
    buf_printf(&c->keys, "%s=%lld;", e->key, e->size);
    assert_non_null(e->etag);
    c->seen++;
    return c->stop_after == 0 || c->seen < c->stop_after;
}

static char *list_keys(struct fixture *f, const char *where, int stop_after, enum lk_status *st)
{
    struct store_url u = url(where);
    struct collected c = { .stop_after = stop_after };
    buf_init(&c.keys);
    struct lk_error err;
    err_clear(&err);
    *st = store_list(f->store, &u, collect, &c, &err);
    store_url_free(&u);
    return c.keys.data ? buf_detach(&c.keys) : xstrdup("");
}

static void test_list_in_key_order(void **state)
{
    struct fixture *f = *state;
    /* '-' (0x2D) < '.' (0x2E) < '/' (0x2F) < '0': a folder "a" sorts as "a/". */
    put_text(f, "s3://raw/a/b", "1");
    put_text(f, "s3://raw/a-c", "22");
    put_text(f, "s3://raw/a.x", "333");
    put_text(f, "s3://raw/a0", "4444");
    put_text(f, "s3://raw/a/a/deep", "55555");
    put_text(f, "s3://raw/B", "6");
    put_text(f, "s3://raw/na\xc3\xafve", "7");
    put_text(f, "s3://raw/nb", "8");

    enum lk_status st;
    char *keys = list_keys(f, "s3://raw/", 0, &st);
    assert_int_equal(st, LK_OK);
    assert_string_equal(keys, "B=1;a-c=2;a.x=3;a/a/deep=5;a/b=1;a0=4;na\xc3\xafve=1;nb=1;");
    free(keys);

    keys = list_keys(f, "s3://raw/a/", 0, &st);
    assert_string_equal(keys, "a/a/deep=5;a/b=1;");
    free(keys);
    keys = list_keys(f, "s3://raw/a", 0, &st);
    assert_string_equal(keys, "a-c=2;a.x=3;a/a/deep=5;a/b=1;a0=4;");
    free(keys);
    keys = list_keys(f, "s3://raw/a/a/de", 0, &st);
    assert_string_equal(keys, "a/a/deep=5;");
    free(keys);
    keys = list_keys(f, "s3://raw/zzz", 0, &st);
    assert_int_equal(st, LK_OK);
    assert_string_equal(keys, "");
    free(keys);
    /* The callback can stop the listing. */
    keys = list_keys(f, "s3://raw/", 2, &st);
    assert_int_equal(st, LK_OK);
    assert_string_equal(keys, "B=1;a-c=2;");
    free(keys);

    /* A bucket that is not there. */
    struct store_url u = url("s3://nobucket/");
    struct collected c = { 0 };
    buf_init(&c.keys);
    struct lk_error err;
    err_clear(&err);
    assert_int_equal(store_list(f->store, &u, collect, &c, &err), LK_NOTFOUND);
    assert_non_null(strstr(err.message, "bucket 'nobucket' does not exist"));
    store_url_free(&u);
    buf_free(&c.keys);
}

static void test_writer_is_atomic(void **state)
{
    struct fixture *f = *state;
    put_text(f, "s3://raw/Account.csv", "old\n");
    struct store_url u = url("s3://raw/Account.csv");
    struct lk_error err;
    err_clear(&err);

    /* While a new version is written, the old one is what readers get. */
    struct store_writer *w;
    assert_int_equal(store_writer_open(f->store, &u, "text/csv", &w, &err), LK_OK);
    assert_int_equal(store_writer_write(w, "new ", 4, &err), LK_OK);
    assert_content(f, "s3://raw/Account.csv", "old\n");
    assert_int_equal(store_writer_write(w, "content\n", 8, &err), LK_OK);
    assert_content(f, "s3://raw/Account.csv", "old\n");
    enum lk_status st;
    char *keys = list_keys(f, "s3://raw/", 0, &st);
    assert_string_equal(keys, "Account.csv=4;");   /* the temporary file is never listed */
    free(keys);

    /* Aborted: the old object stays, and no temporary file is left. */
    store_writer_abort(w);
    assert_content(f, "s3://raw/Account.csv", "old\n");
    char *cmd = xasprintf("test $(ls -A '%s/raw' | wc -l) -eq 1", f->root);
    assert_int_equal(system(cmd), 0);
    free(cmd);

    /* Committed: the new one replaces it whole. */
    assert_int_equal(store_writer_open(f->store, &u, "text/csv", &w, &err), LK_OK);
    assert_int_equal(store_writer_write(w, "new content\n", 12, &err), LK_OK);
    struct store_object_info info;
    assert_int_equal(store_writer_commit(w, &info, &err), LK_OK);
    assert_int_equal(info.size, 12);
    assert_content(f, "s3://raw/Account.csv", "new content\n");
    /* head agrees with what commit said. */
    struct store_object_info again;
    assert_int_equal(store_head(f->store, &u, &again, &err), LK_OK);
    assert_string_equal(again.etag, info.etag);
    store_object_info_free(&again);
    store_object_info_free(&info);
    store_url_free(&u);
}

static void test_crash_before_commit(void **state)
{
    struct fixture *f = *state;
    put_text(f, "s3://raw/kept.csv", "previous\n");
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        /* A writer that dies before commit (as under kill -9). */
        struct store_url u = url("s3://raw/new.csv");
        struct store_url k = url("s3://raw/kept.csv");
        struct lk_error err;
        struct store_writer *w, *w2;
        if (store_writer_open(f->store, &u, NULL, &w, &err) != LK_OK ||
            store_writer_write(w, "partial", 7, &err) != LK_OK ||
            store_writer_open(f->store, &k, NULL, &w2, &err) != LK_OK ||
            store_writer_write(w2, "half", 4, &err) != LK_OK)
            _exit(2);
        _exit(0);
    }
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);

    struct store_url u = url("s3://raw/new.csv");
    struct store_object_info info;
    struct lk_error err;
    err_clear(&err);
    assert_int_equal(store_head(f->store, &u, &info, &err), LK_OK);
    assert_false(info.exists);
    store_url_free(&u);
    assert_content(f, "s3://raw/kept.csv", "previous\n");
    enum lk_status st;
    char *keys = list_keys(f, "s3://raw/", 0, &st);
    assert_string_equal(keys, "kept.csv=9;");
    free(keys);
    /* The leftovers are there, under temporary names only. */
    char *cmd = xasprintf("test $(ls -A '%s/raw' | grep -c '^\\..*\\.lakeop-tmp\\.') -eq 2", f->root);
    assert_int_equal(system(cmd), 0);
    free(cmd);
}

/* A file under the bucket folder, its change time set seconds_ago. */
static char *make_file(const struct fixture *f, const char *rel, long seconds_ago)
{
    char *path = xasprintf("%s/%s", f->root, rel);
    FILE *fp = fopen(path, "w");
    assert_non_null(fp);
    fputs("left over", fp);
    fclose(fp);
    struct timespec when[2];
    when[0].tv_sec = when[1].tv_sec = time(NULL) - seconds_ago;
    when[0].tv_nsec = when[1].tv_nsec = 0;
    assert_int_equal(utimensat(AT_FDCWD, path, when, 0), 0);
    return path;
}

static bool gone(const char *path)
{
    struct stat st;
    return stat(path, &st) != 0;
}

static void backdate(const char *path, long seconds)
{
    struct timespec when[2];
    when[0].tv_sec = when[1].tv_sec = time(NULL) - seconds;
    when[0].tv_nsec = when[1].tv_nsec = 0;
    assert_int_equal(utimensat(AT_FDCWD, path, when, 0), 0);
}

/* The one temporary file in folder rel, or NULL. */
static char *temp_in(const struct fixture *f, const char *rel)
{
    char *cmd = xasprintf("ls -A '%s/%s' | grep '\\.lakeop-tmp\\.'", f->root, rel);
    FILE *p = popen(cmd, "r");
    free(cmd);
    char line[512] = "";
    char *got = fgets(line, sizeof line, p);
    pclose(p);
    if (!got)
        return NULL;
    line[strcspn(line, "\n")] = '\0';
    return xasprintf("%s/%s/%s", f->root, rel, line);
}

static void test_stale_temps_swept(void **state)
{
    struct fixture *f = *state;
    char *other = xasprintf("%s/other", f->root);
    assert_int_equal(mkdir(other, 0755), 0);
    free(other);
    /* What a killed copy leaves: nobody holds it. */
    char *dead_old = make_file(f, "raw/.Account.csv.lakeop-tmp.a1B2c3", 2 * 3600);
    char *dead_2min = make_file(f, "raw/.Invoice.csv.lakeop-tmp.d4E5f6", 120);
    /* Too fresh to judge: a writer may be between creating and locking it. */
    char *fresh = make_file(f, "raw/.Fresh.csv.lakeop-tmp.g7H8i9", 5);
    /* A live writer's (held by another open file, as another process would). */
    char *held = make_file(f, "raw/.Held.csv.lakeop-tmp.j1K2l3", 2 * 3600);
    int held_fd = open(held, O_RDONLY);
    assert_true(held_fd >= 0);
    assert_int_equal(flock(held_fd, LOCK_EX | LOCK_NB), 0);
    /* Not ours: other names, other folders. */
    char *object = make_file(f, "raw/old.csv", 2 * 3600);
    char *lookalike = make_file(f, "raw/.Account.csv.lakeop-tmp.toolong", 2 * 3600);
    char *elsewhere = make_file(f, "other/.Account.csv.lakeop-tmp.m4N5o6", 2 * 3600);

    put_text(f, "s3://raw/new.csv", "new\n");
    assert_true(gone(dead_old));
    assert_true(gone(dead_2min));
    assert_false(gone(fresh));
    assert_false(gone(held));
    assert_false(gone(object));
    assert_false(gone(lookalike));
    assert_false(gone(elsewhere));
    assert_content(f, "s3://raw/new.csv", "new\n");

    /* Once its writer is gone, the held one goes too. */
    close(held_fd);
    put_text(f, "s3://raw/new.csv", "newer\n");
    assert_true(gone(held));
    assert_false(gone(fresh));

    char *all[] = { dead_old, dead_2min, fresh, held, object, lookalike, elsewhere };
    for (size_t i = 0; i < sizeof all / sizeof *all; i++)
        free(all[i]);
}

/* A writer of this process keeps its own temporary file from any sweep,
 * however long it takes, until it commits. */
static void test_live_writer_not_swept(void **state)
{
    struct fixture *f = *state;
    struct store_url u = url("s3://raw/slow.csv");
    struct lk_error err;
    err_clear(&err);
    struct store_writer *w;
    assert_int_equal(store_writer_open(f->store, &u, NULL, &w, &err), LK_OK);
    assert_int_equal(store_writer_write(w, "first half,", 11, &err), LK_OK);
    char *tmp = temp_in(f, "raw");
    assert_non_null(tmp);
    backdate(tmp, 2 * 3600);
    put_text(f, "s3://raw/other.csv", "x\n");
    assert_false(gone(tmp));
    assert_int_equal(store_writer_write(w, "second half\n", 12, &err), LK_OK);
    assert_int_equal(store_writer_commit(w, NULL, &err), LK_OK);
    assert_content(f, "s3://raw/slow.csv", "first half,second half\n");
    assert_true(gone(tmp));
    free(tmp);
    store_url_free(&u);
}

/* An announced size is kept to: fewer or more bytes fail and leave nothing. */
static void test_sized_writer(void **state)
{
    struct fixture *f = *state;
    put_text(f, "s3://raw/sized.csv", "previous\n");
    struct store_url u = url("s3://raw/sized.csv");
    struct lk_error err;
    err_clear(&err);
    struct store_writer *w;
    assert_int_equal(store_writer_open_sized(f->store, &u, NULL, 6, &w, &err), LK_OK);
    assert_int_equal(store_writer_write(w, "short", 5, &err), LK_OK);
    assert_int_equal(store_writer_commit(w, NULL, &err), LK_FAIL);
    assert_non_null(strstr(err.message, "5 bytes came where 6 were announced"));
    assert_int_equal(store_writer_open_sized(f->store, &u, NULL, 6, &w, &err), LK_OK);
    assert_int_equal(store_writer_write(w, "toolong", 7, &err), LK_FAIL);
    store_writer_abort(w);
    assert_content(f, "s3://raw/sized.csv", "previous\n");
    assert_null(temp_in(f, "raw"));
    assert_int_equal(store_writer_open_sized(f->store, &u, NULL, 6, &w, &err), LK_OK);
    assert_int_equal(store_writer_write(w, "exact\n", 6, &err), LK_OK);
    assert_int_equal(store_writer_commit(w, NULL, &err), LK_OK);
    assert_content(f, "s3://raw/sized.csv", "exact\n");
    store_url_free(&u);
}

static void test_copy_and_delete(void **state)
{
    struct fixture *f = *state;
    put_text(f, "s3://raw/src.csv", "a,b\n");
    struct store_url from = url("s3://raw/src.csv");
    struct store_url to = url("s3://other/deeper/dst.csv");
    struct lk_error err;
    err_clear(&err);
    assert_int_equal(store_copy(f->store, &from, &to, &err), LK_OK);
    assert_content(f, "s3://other/deeper/dst.csv", "a,b\n");
    assert_content(f, "s3://raw/src.csv", "a,b\n");
    /* Onto itself: nothing to do, nothing lost. */
    assert_int_equal(store_copy(f->store, &from, &from, &err), LK_OK);
    assert_content(f, "s3://raw/src.csv", "a,b\n");

    struct store_url missing = url("s3://raw/none.csv");
    assert_int_equal(store_copy(f->store, &missing, &to, &err), LK_NOTFOUND);
    assert_content(f, "s3://other/deeper/dst.csv", "a,b\n");

    assert_int_equal(store_delete(f->store, &to, &err), LK_OK);
    struct store_object_info info;
    assert_int_equal(store_head(f->store, &to, &info, &err), LK_OK);
    assert_false(info.exists);
    /* Deleting what is not there is not an error. */
    assert_int_equal(store_delete(f->store, &to, &err), LK_OK);
    assert_int_equal(store_delete(f->store, &missing, &err), LK_OK);
    store_url_free(&from);
    store_url_free(&to);
    store_url_free(&missing);
}

static void test_direct_file_urls(void **state)
{
    struct fixture *f = *state;
    char *where = xasprintf("file://%s/direct/in/Obj.csv", f->root);
    put_text(f, where, "x\n");
    assert_content(f, where, "x\n");
    char *prefix = xasprintf("file://%s/direct/", f->root);
    enum lk_status st;
    char *keys = list_keys(f, prefix, 0, &st);
    assert_int_equal(st, LK_OK);
    assert_string_equal(keys, "in/Obj.csv=2;");
    free(keys);

    /* Between a file:// URL and the endpoint's buckets: streamed copy. */
    struct store_url from = url(where);
    struct store_url to = url("s3://raw/from-direct.csv");
    struct lk_error err;
    err_clear(&err);
    assert_int_equal(store_copy(f->store, &from, &to, &err), LK_OK);
    assert_content(f, "s3://raw/from-direct.csv", "x\n");
    store_url_free(&from);
    store_url_free(&to);
    free(prefix);
    free(where);
}

static void key_refused(struct fixture *f, const char *where)
{
    struct store_url u = url(where);
    struct lk_error err;
    err_clear(&err);
    struct store_writer *w = NULL;
    assert_int_equal(store_writer_open(f->store, &u, NULL, &w, &err), LK_USAGE);
    assert_null(w);
    struct store_object_info info;
    assert_int_equal(store_head(f->store, &u, &info, &err), LK_USAGE);
    assert_int_equal(store_delete(f->store, &u, &err), LK_USAGE);
    store_url_free(&u);
}

static void test_keys_cannot_escape(void **state)
{
    struct fixture *f = *state;
    key_refused(f, "s3://raw/../escape.csv");
    key_refused(f, "s3://raw/a/../../escape.csv");
    key_refused(f, "s3://raw/a//b");
    key_refused(f, "s3://raw/./a");
    key_refused(f, "s3://raw/dir/");
    key_refused(f, "s3://raw/");
    key_refused(f, "s3://raw/.x.lakeop-tmp.Ab3dEf");
    char *cmd = xasprintf("test ! -e '%s/escape.csv'", f->root);
    assert_int_equal(system(cmd), 0);
    free(cmd);
    assert_true(storef_is_temp_name(".Account.csv.lakeop-tmp.x1Y2z3"));
    assert_false(storef_is_temp_name("Account.csv.lakeop-tmp.x1Y2z3"));
    assert_false(storef_is_temp_name(".Account.csv.lakeop-tmp.x1"));
}

static void test_ping(void **state)
{
    struct fixture *f = *state;
    struct lk_error err;
    err_clear(&err);
    assert_int_equal(store_ping(f->store, "raw", &err), LK_OK);
    assert_int_equal(store_ping(f->store, NULL, &err), LK_OK);
    assert_int_equal(store_ping(f->store, "s3://raw", &err), LK_OK);
    assert_int_equal(store_ping(f->store, "missing", &err), LK_NOTFOUND);
    assert_non_null(strstr(err.message, "does not exist"));
}

static void test_open_errors(void **state)
{
    (void)state;
    struct http_client *http = http_client_new(NULL, "t");
    struct cfg_env env = { 0 };
    env.name = "test";
    struct store *s = NULL;
    struct lk_error err;
    err_clear(&err);
    env.s3_endpoint = "ftp://example";
    assert_int_equal(store_open(&env, http, &s, &err), LK_USAGE);
    assert_null(s);
    env.s3_endpoint = "http://127.0.0.1:9";
    setenv("LAKEOP_S3_PART_SIZE", "1M", 1);
    assert_int_equal(store_open(&env, http, &s, &err), LK_USAGE);
    assert_non_null(strstr(err.message, "LAKEOP_S3_PART_SIZE"));
    setenv("LAKEOP_S3_PART_SIZE", "5MiB", 1);
    assert_int_equal(store_open(&env, http, &s, &err), LK_OK);
    assert_int_equal(store_set_part_size(s, 1024, &err), LK_USAGE);
    assert_int_equal(store_set_part_size(s, (size_t)6 << 20, &err), LK_OK);
    store_free(s);
    unsetenv("LAKEOP_S3_PART_SIZE");

    /* Nothing listens there: a transport error naming the object, quickly. */
    assert_int_equal(store_open(&env, http, &s, &err), LK_OK);
    struct store_url u = url("s3://b/k");
    struct store_object_info info;
    err_clear(&err);
    assert_int_equal(store_head(s, &u, &info, &err), LK_FAIL);
    assert_non_null(strstr(err.message, "s3://b/k"));
    store_url_free(&u);
    store_free(s);
    http_client_free(http);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_url_parsing),
        cmocka_unit_test_setup_teardown(test_put_head_get, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sink_stops_read, setup, teardown),
        cmocka_unit_test_setup_teardown(test_list_in_key_order, setup, teardown),
        cmocka_unit_test_setup_teardown(test_writer_is_atomic, setup, teardown),
        cmocka_unit_test_setup_teardown(test_crash_before_commit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stale_temps_swept, setup, teardown),
        cmocka_unit_test_setup_teardown(test_live_writer_not_swept, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sized_writer, setup, teardown),
        cmocka_unit_test_setup_teardown(test_copy_and_delete, setup, teardown),
        cmocka_unit_test_setup_teardown(test_direct_file_urls, setup, teardown),
        cmocka_unit_test_setup_teardown(test_keys_cannot_escape, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ping, setup, teardown),
        cmocka_unit_test(test_open_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
