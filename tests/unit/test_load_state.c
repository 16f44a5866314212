/* The load state machine: the table of allowed changes, and its enforcement
 * on a real database (a change made by someone else is detected, each change
 * leaves a timestamped event, registration is idempotent: a load is an
 * object landed under a key at a modified time). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "dataset.h"
#include "db.h"
#include "load.h"
#include "testdb.h"

static void test_names_round_trip(void **state)
{
    for (int i = 0; i < LOAD_STATUS_COUNT; i++) {
        enum load_status s;
        assert_true(load_status_parse(load_status_name((enum load_status)i), &s));
        assert_int_equal(s, i);
    }
    enum load_status s;
    assert_false(load_status_parse("done", &s));
    assert_false(load_status_parse(NULL, &s));
}

static void test_allowed_table(void **state)
{
    /* Exactly the transitions of PRODUCT.md and document 004, nothing else. */
    const int allowed[][2] = {
        { LOAD_READY, LOAD_INGESTING },
        { LOAD_INGESTING, LOAD_READY_FOR_ARCHIVING },
        { LOAD_READY_FOR_ARCHIVING, LOAD_ARCHIVING },
        { LOAD_ARCHIVING, LOAD_ARCHIVED },
        { LOAD_INGESTING, LOAD_READY_FOR_ERRORING },
        { LOAD_READY_FOR_ERRORING, LOAD_ERRORING },
        { LOAD_ERRORING, LOAD_ERRORED },
        { LOAD_ERRORED, LOAD_READY },
    };
    int n_allowed = 0;
    for (int from = 0; from < LOAD_STATUS_COUNT; from++)
        for (int to = 0; to < LOAD_STATUS_COUNT; to++) {
            bool expect = false;
            for (size_t k = 0; k < sizeof allowed / sizeof allowed[0]; k++)
                if (allowed[k][0] == from && allowed[k][1] == to)
                    expect = true;
            if (load_transition_allowed((enum load_status)from, (enum load_status)to) != expect)
                fail_msg("%s -> %s: expected %s", load_status_name((enum load_status)from),
                         load_status_name((enum load_status)to), expect ? "allowed" : "refused");
            n_allowed += expect;
        }
    assert_int_equal(n_allowed, 8);
    assert_false(load_transition_allowed(LOAD_ARCHIVED, LOAD_READY));
    assert_false(load_transition_allowed((enum load_status)99, LOAD_READY));
    assert_true(load_status_final(LOAD_ARCHIVED));
    assert_true(load_status_final(LOAD_ERRORED));
    assert_false(load_status_final(LOAD_ARCHIVING));
}

static void test_snapshot_keys(void **state)
{
    assert_true(dataset_key_starts_snapshot("cubic/ods_qlik/EDW.SAMPLE/LOAD00000001.csv.gz", true));
    assert_true(dataset_key_starts_snapshot("LOAD001.csv", true));
    assert_false(dataset_key_starts_snapshot("cubic/ods_qlik/EDW.SAMPLE/LOAD00000002.csv", true));
    assert_true(dataset_key_starts_snapshot("x/LOAD00000002.csv", false));
    assert_false(dataset_key_starts_snapshot("x/20220304-134556444.csv.gz", false));
    assert_false(dataset_key_starts_snapshot("x/LOADING.csv", false));
}

struct fixture {
    PGconn *db;
    PGconn *other;
    long long dataset_id;
};

static int setup(void **state)
{
    char *conninfo = testdb_create("lk_unit_load_state");
    if (!conninfo)
        return -1;
    struct fixture *fx = calloc(1, sizeof *fx);
    struct lk_error err;
    err_clear(&err);
    if (db_open(conninfo, &fx->db, &err) != LK_OK || db_connect(conninfo, &fx->other, &err) != LK_OK) {
        fprintf(stderr, "database: %s\n", err.message);
        free(conninfo);
        free(fx);
        return -1;
    }
    free(conninfo);
    struct dataset d = { 0 };
    d.name = "unit_ds";
    d.incoming = "s3://incoming/unit/";
    d.raw_hist = "s3://raw-hist/unit/";
    d.min_records = 1;
    if (dataset_sync(fx->db, &d, &err) != LK_OK) {
        fprintf(stderr, "dataset_sync: %s\n", err.message);
        return -1;
    }
    fx->dataset_id = d.id;
    /* Synced twice, unchanged: same row. */
    long long first = d.id;
    assert_int_equal(dataset_sync(fx->db, &d, &err), LK_OK);
    assert_int_equal(d.id, first);
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *fx = *state;
    if (fx) {
        db_close(fx->db);
        db_close(fx->other);
        free(fx);
    }
    return 0;
}

static long long count_events(PGconn *db, long long id)
{
    char ids[32];
    snprintf(ids, sizeof ids, "%lld", id);
    const char *p[] = { ids };
    PGresult *res = NULL;
    struct lk_error err;
    assert_int_equal(db_exec(db, "SELECT count(*) FROM lakeop.load_events WHERE load_id = $1", 1, p, &res, &err),
                     LK_OK);
    long long n = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
    PQclear(res);
    return n;
}

static void test_register_and_walk(void **state)
{
    struct fixture *fx = *state;
    struct lk_error err;
    err_clear(&err);
    long long id = 0;
    bool created = false;
    enum load_status st;
    assert_int_equal(load_register(fx->db, "tester", fx->dataset_id, "unit/a.csv", 10, 1700000000, false, &id,
                                   &created, &st, &err), LK_OK);
    assert_true(created);
    assert_int_equal(st, LOAD_READY);
    long long again = 0;
    assert_int_equal(load_register(fx->db, "tester", fx->dataset_id, "unit/a.csv", 10, 1700000000, false, &again,
                                   &created, &st, &err), LK_OK);
    assert_false(created);
    assert_int_equal(again, id);

    /* Not allowed by the machine: refused before touching the database. */
    assert_int_equal(load_transition(fx->db, "tester", id, LOAD_READY, LOAD_ARCHIVED, NULL, &err), LK_REFUSED);
    assert_non_null(strstr(err.message, "may not go from ready to archived"));

    struct load_change ch = LOAD_CHANGE_NONE;
    assert_int_equal(load_transition(fx->db, "tester", id, LOAD_READY, LOAD_INGESTING, NULL, &err), LK_OK);
    /* Someone else moves it on: our stale view is refused, their change kept. */
    assert_int_equal(load_transition(fx->other, "other", id, LOAD_INGESTING, LOAD_READY_FOR_ERRORING, NULL, &err),
                     LK_OK);
    ch.record_count = 5;
    ch.raw_hist_key = "s3://raw-hist/unit/file_land_timestamp=1700000000/a.csv";
    assert_int_equal(load_transition(fx->db, "tester", id, LOAD_INGESTING, LOAD_READY_FOR_ARCHIVING, &ch, &err),
                     LK_REFUSED);
    assert_non_null(strstr(err.message, "is ready_for_erroring, not ingesting"));

    struct load l;
    assert_int_equal(load_get(fx->db, id, &l, &err), LK_OK);
    assert_int_equal(l.status, LOAD_READY_FOR_ERRORING);
    assert_int_equal(l.record_count, -1);
    assert_null(l.raw_hist_key);
    assert_int_equal(l.file_land_timestamp, 1700000000);
    assert_string_equal(l.dataset, "unit_ds");
    load_free(&l);

    struct load_change bad = LOAD_CHANGE_NONE;
    bad.error = "short record";
    bad.errored_key = "s3://incoming/errored/unit/a.csv";
    assert_int_equal(load_transition(fx->db, "tester", id, LOAD_READY_FOR_ERRORING, LOAD_ERRORING, &bad, &err),
                     LK_OK);
    assert_int_equal(load_transition(fx->db, "tester", id, LOAD_ERRORING, LOAD_ERRORED, NULL, &err), LK_OK);
    assert_int_equal(load_get(fx->db, id, &l, &err), LK_OK);
    assert_string_equal(l.error, "short record");
    assert_string_equal(l.errored_key, "s3://incoming/errored/unit/a.csv");
    load_free(&l);

    /* Retry clears the error and the errored location. */
    struct load_change retry = LOAD_CHANGE_NONE;
    retry.error = "";
    retry.errored_key = "";
    assert_int_equal(load_transition(fx->db, "tester", id, LOAD_ERRORED, LOAD_READY, &retry, &err), LK_OK);
    assert_int_equal(load_get(fx->db, id, &l, &err), LK_OK);
    assert_int_equal(l.status, LOAD_READY);
    assert_null(l.error);
    assert_null(l.errored_key);
    load_free(&l);

    /* registration + 5 changes, in order, with who did them. */
    assert_int_equal(count_events(fx->db, id), 6);
    struct load_event *ev = NULL;
    size_t n = 0;
    assert_int_equal(load_events(fx->db, id, &ev, &n, &err), LK_OK);
    assert_int_equal(n, 6);
    assert_null(ev[0].from_status);
    assert_string_equal(ev[0].to_status, "ready");
    assert_string_equal(ev[2].operator_name, "other");
    assert_string_equal(ev[5].to_status, "ready");
    assert_true(ev[5].at > 0);
    load_events_free(ev, n);

    assert_int_equal(load_transition(fx->db, "tester", 999999, LOAD_READY, LOAD_INGESTING, NULL, &err), LK_NOTFOUND);
    assert_int_equal(load_get(fx->db, 999999, &l, &err), LK_NOTFOUND);
}

static void test_empty_file_registers_for_erroring(void **state)
{
    struct fixture *fx = *state;
    struct lk_error err;
    long long id = 0;
    bool created = false;
    enum load_status st;
    assert_int_equal(load_register(fx->db, "tester", fx->dataset_id, "unit/empty.csv", 0, 1700000100, false, &id,
                                   &created, &st, &err), LK_OK);
    assert_int_equal(st, LOAD_READY_FOR_ERRORING);
    struct load l;
    assert_int_equal(load_get(fx->db, id, &l, &err), LK_OK);
    assert_string_equal(l.error, "empty file (0 bytes)");
    load_free(&l);
}

static void test_keyset_paging(void **state)
{
    struct fixture *fx = *state;
    struct lk_error err;
    for (int i = 0; i < 7; i++) {
        char key[32];
        snprintf(key, sizeof key, "unit/page%d.csv", i);
        long long id;
        bool created;
        enum load_status st;
        assert_int_equal(load_register(fx->db, "tester", fx->dataset_id, key, 5, 1700000200 + i, false, &id,
                                       &created, &st, &err), LK_OK);
    }
    struct load_filter f = { .dataset = "unit_ds", .status = LOAD_READY, .limit = 3 };
    long long seen = 0, last = 0;
    for (;;) {
        struct load *page = NULL;
        size_t n = 0;
        assert_int_equal(load_list(fx->db, &f, &page, &n, &err), LK_OK);
        for (size_t i = 0; i < n; i++) {
            if (last)
                assert_true(page[i].id < last);
            last = page[i].id;
            assert_int_equal(page[i].status, LOAD_READY);
        }
        seen += (long long)n;
        if (n > 0)
            f.before_id = page[n - 1].id;
        load_array_free(page, n);
        if (n < 3)
            break;
    }
    assert_int_equal(seen, 8);   /* seven pages' worth plus a.csv put back to ready */
}

static long long count_rows(PGconn *db, const char *sql, long long id)
{
    char ids[32];
    snprintf(ids, sizeof ids, "%lld", id);
    const char *p[] = { ids };
    PGresult *res = NULL;
    struct lk_error err;
    assert_int_equal(db_exec(db, sql, 1, p, &res, &err), LK_OK);
    long long n = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
    PQclear(res);
    return n;
}

static long long walk_to_final(PGconn *db, long long id, bool archive)
{
    struct lk_error err;
    const enum load_status path[][4] = {
        { LOAD_READY, LOAD_INGESTING, LOAD_READY_FOR_ARCHIVING, LOAD_ARCHIVING },
        { LOAD_READY, LOAD_INGESTING, LOAD_READY_FOR_ERRORING, LOAD_ERRORING },
    };
    const enum load_status *p = path[archive ? 0 : 1];
    for (int i = 0; i < 4; i++)
        assert_int_equal(load_transition(db, "tester", id, p[i], i < 3 ? p[i + 1] : archive ? LOAD_ARCHIVED
                                         : LOAD_ERRORED, NULL, &err), LK_OK);
    return id;
}

/* An ODS dataset, its prefixes named after it (the texts d points to). */
struct ods_dataset {
    char name[32], incoming[64], raw_hist[64];
    struct dataset d;
};

static void ods_dataset(PGconn *db, const char *name, struct ods_dataset *o)
{
    memset(o, 0, sizeof *o);
    snprintf(o->name, sizeof o->name, "%s", name);
    snprintf(o->incoming, sizeof o->incoming, "s3://incoming/%s/", name);
    snprintf(o->raw_hist, sizeof o->raw_hist, "s3://raw-hist/%s/", name);
    o->d.name = o->name;
    o->d.incoming = o->incoming;
    o->d.raw_hist = o->raw_hist;
    o->d.is_ods = true;
    struct lk_error err;
    assert_int_equal(dataset_sync(db, &o->d, &err), LK_OK);
}

/* A load is (dataset, key, modified time): the same key re-landed later is
 * a new load; the key of an unfinished or retried load is that load, whatever
 * its modified time now; an ODS restart under LOAD…1 is a new snapshot, and
 * a new load's snapshot link is made with it. */
static void test_identity_key_and_time(void **state)
{
    struct fixture *fx = *state;
    struct lk_error err;
    err_clear(&err);
    struct ods_dataset ods;
    ods_dataset(fx->db, "unit_ods", &ods);
    const struct dataset d = ods.d;
    long long id1, id2, again;
    bool created;
    enum load_status st;
    const char *k1 = "ods/LOAD00000001.csv";
    assert_int_equal(load_register(fx->db, "tester", d.id, k1, 5, 1700001000, true, &id1, &created, &st, &err),
                     LK_OK);
    assert_true(created);
    /* Unfinished: listed again with another time (a retry on S3), still the same load. */
    assert_int_equal(load_register(fx->db, "tester", d.id, k1, 5, 1700001500, true, &again, &created, &st, &err),
                     LK_OK);
    assert_false(created);
    assert_int_equal(again, id1);
    walk_to_final(fx->db, id1, true);
    /* Finished, same time: the very object again, left alone. */
    assert_int_equal(load_register(fx->db, "tester", d.id, k1, 5, 1700001000, true, &again, &created, &st, &err),
                     LK_OK);
    assert_false(created);
    assert_int_equal(again, id1);
    assert_int_equal(st, LOAD_ARCHIVED);
    /* Re-landed later: a new load in its own partition, and a new snapshot. */
    assert_int_equal(load_register(fx->db, "tester", d.id, k1, 5, 1700090000, true, &id2, &created, &st, &err),
                     LK_OK);
    assert_true(created);
    assert_true(id2 != id1);
    struct load l;
    assert_int_equal(load_get(fx->db, id2, &l, &err), LK_OK);
    assert_int_equal(l.file_land_timestamp, 1700090000);
    load_free(&l);
    assert_int_equal(count_rows(fx->db, "SELECT count(*) FROM lakeop.dataset_snapshots WHERE dataset_id = $1",
                                d.id), 2);
    assert_int_equal(count_rows(fx->db, "SELECT count(*) FROM lakeop.load_snapshots ls JOIN lakeop.dataset_snapshots s"
                                " ON s.id = ls.snapshot_id WHERE s.started_at = to_timestamp(1700090000)"
                                " AND ls.load_id = $1", id2), 1);
    /* An errored load put back to ready is matched by key alone. */
    walk_to_final(fx->db, id2, false);
    struct load_change retry = LOAD_CHANGE_NONE;
    assert_int_equal(load_transition(fx->db, "tester", id2, LOAD_ERRORED, LOAD_READY, &retry, &err), LK_OK);
    assert_int_equal(load_register(fx->db, "tester", d.id, k1, 5, 1700099999, true, &again, &created, &st, &err),
                     LK_OK);
    assert_false(created);
    assert_int_equal(again, id2);
    assert_int_equal(st, LOAD_READY);
    assert_int_equal(count_rows(fx->db, "SELECT count(*) FROM lakeop.loads WHERE dataset_id = $1", d.id), 2);
}

/* The snapshot link is made in the registration's transaction: when it
 * cannot be made, the load is not registered either (the next listing
 * registers both), so no crash leaves an ODS load outside its snapshot. */
static void test_snapshot_link_with_registration(void **state)
{
    struct fixture *fx = *state;
    struct lk_error err;
    err_clear(&err);
    struct ods_dataset ods;
    ods_dataset(fx->db, "unit_ods2", &ods);
    const struct dataset d = ods.d;
    assert_int_equal(db_exec(fx->db, "CREATE FUNCTION lakeop.no_link() RETURNS trigger LANGUAGE plpgsql AS"
                             " $$BEGIN RAISE EXCEPTION 'link refused'; END$$", 0, NULL, NULL, &err), LK_OK);
    assert_int_equal(db_exec(fx->db, "CREATE TRIGGER no_link BEFORE INSERT ON lakeop.load_snapshots"
                             " FOR EACH ROW EXECUTE FUNCTION lakeop.no_link()", 0, NULL, NULL, &err), LK_OK);
    long long id = 0;
    bool created = true;
    enum load_status st;
    const char *key = "ods2/LOAD00000001.csv";
    assert_int_not_equal(load_register(fx->db, "tester", d.id, key, 5, 1700002000, true, &id, &created, &st, &err),
                         LK_OK);
    assert_false(created);
    assert_int_equal(count_rows(fx->db, "SELECT count(*) FROM lakeop.loads WHERE dataset_id = $1", d.id), 0);
    assert_int_equal(db_exec(fx->db, "DROP TRIGGER no_link ON lakeop.load_snapshots", 0, NULL, NULL, &err), LK_OK);
    assert_int_equal(db_exec(fx->db, "DROP FUNCTION lakeop.no_link()", 0, NULL, NULL, &err), LK_OK);
    assert_int_equal(load_register(fx->db, "tester", d.id, key, 5, 1700002000, true, &id, &created, &st, &err),
                     LK_OK);
    assert_true(created);
    assert_int_equal(count_rows(fx->db, "SELECT count(*) FROM lakeop.load_snapshots WHERE load_id = $1", id), 1);
}

int main(void)
{
    const struct CMUnitTest pure[] = {
        cmocka_unit_test(test_names_round_trip),
        cmocka_unit_test(test_allowed_table),
        cmocka_unit_test(test_snapshot_keys),
    };
    const struct CMUnitTest with_db[] = {
        cmocka_unit_test(test_register_and_walk),
        cmocka_unit_test(test_empty_file_registers_for_erroring),
        cmocka_unit_test(test_keyset_paging),
        cmocka_unit_test(test_identity_key_and_time),
        cmocka_unit_test(test_snapshot_link_with_registration),
    };
    int failed = cmocka_run_group_tests(pure, NULL, NULL);
    failed += cmocka_run_group_tests(with_db, setup, teardown);
    return failed;
}
