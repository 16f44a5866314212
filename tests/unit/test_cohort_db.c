/* core/cohort.c on real PostgreSQL: the staged upsert (new versus updated,
 * duplicates named by source, a bad value stores nothing), counts by stage
 * in the engine's order, items paged by key and rendered for the file,
 * cohorts listed by name. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cohort.h"
#include "db.h"
#include "testdb.h"

static PGconn *db;

static int setup(void **state)
{
    db = testdb_open("lakeop_unit_cohort");
    return db ? 0 : -1;
}

static int teardown(void **state)
{
    db_close(db);
    return 0;
}

static struct cohort_item item(const char *sub, const char *stage)
{
    struct cohort_item it;
    memset(&it, 0, sizeof it);
    it.v[COHORT_F_SUBSCRIPTION] = sub;
    it.v[COHORT_F_STAGE] = stage;
    return it;
}

/* Upserts n items into cohort name in one transaction. */
static enum lk_status upsert(const char *name, const struct cohort_item *items, int n,
                             struct cohort_upsert_result *res, struct lk_error *err)
{
    long long id;
    assert_int_equal(db_begin(db, err), LK_OK);
    assert_int_equal(cohort_ensure(db, name, NULL, &id, err), LK_OK);
    struct cohort_upsert *u;
    assert_int_equal(cohort_upsert_open(db, id, &u, err), LK_OK);
    for (int i = 0; i < n; i++) {
        if (cohort_upsert_add(u, &items[i], i + 1, err) != LK_OK) {
            cohort_upsert_abort(u);
            db_rollback(db);
            return LK_FAIL;
        }
    }
    enum lk_status st = cohort_upsert_finish(u, "item", res, err);
    if (st == LK_OK)
        st = db_commit(db, err);
    else
        db_rollback(db);
    return st;
}

static void test_upsert(void **state)
{
    struct lk_error err;
    err_clear(&err);
    struct cohort_upsert_result res;
    /* More than one staging batch (200 rows). */
    static char subs[450][16];
    struct cohort_item items[450];
    for (int i = 0; i < 450; i++) {
        snprintf(subs[i], sizeof subs[i], "A-%05d", i);
        items[i] = item(subs[i], i % 3 ? "EstimationComplete" : "Cancelled");
    }
    items[7].v[2] = "2024-05-01";
    items[7].v[4] = "10.50";
    items[7].v[7] = "2024-01-02T03:04:05+01:00";
    assert_int_equal(upsert("Unit", items, 450, &res, &err), LK_OK);
    assert_int_equal(res.inserted, 450);
    assert_int_equal(res.updated, 0);
    assert_int_equal(upsert("Unit", items, 10, &res, &err), LK_OK);
    assert_int_equal(res.inserted, 0);
    assert_int_equal(res.updated, 10);

    /* A duplicate names both sources; nothing is stored. */
    struct cohort_item dup[3] = { item("N-1", "ReadyForEstimation"), item("N-2", "ReadyForEstimation"),
                                  item("N-1", "ReadyForEstimation") };
    assert_int_equal(upsert("Unit", dup, 3, &res, &err), LK_FAIL);
    assert_non_null(strstr(err.message, "item 3: subscription 'N-1' appears again (first on item 1)"));
    /* A bad value: the field named, nothing stored. */
    struct cohort_item bad[2] = { item("N-3", "ReadyForEstimation"), item("N-4", "ReadyForEstimation") };
    bad[1].v[4] = "ten";
    assert_int_equal(upsert("Unit", bad, 2, &res, &err), LK_FAIL);
    assert_non_null(strstr(err.message, "old_price 'ten' is not a decimal number"));
    struct cohort_item missing[1] = { item("N-5", NULL) };
    assert_int_equal(upsert("Unit", missing, 1, &res, &err), LK_FAIL);
    assert_non_null(strstr(err.message, "processing_stage is missing"));

    struct cohort_info ci;
    assert_int_equal(cohort_get(db, "Unit", &ci, &err), LK_OK);
    assert_int_equal(ci.items, 450);
    assert_int_equal(ci.export_count, -1);

    struct cohort_stages st;
    assert_int_equal(cohort_stage_counts(db, ci.id, &st, &err), LK_OK);
    assert_int_equal(st.n, 2);
    assert_int_equal(st.total, 450);
    assert_string_equal(st.items[0].stage, "EstimationComplete");
    assert_int_equal(st.items[0].count, 300);
    assert_false(st.items[0].exceptional);
    assert_string_equal(st.items[1].stage, "Cancelled");
    assert_true(st.items[1].exceptional);
    cohort_stages_free(&st);

    /* Pages by key, rendered as the file has them. */
    struct cohort_rows rows;
    assert_int_equal(cohort_items_page(db, ci.id, NULL, NULL, 5, &rows, &err), LK_OK);
    assert_int_equal(rows.n, 5);
    assert_string_equal(rows.items[0].v[0], "A-00000");
    assert_null(rows.items[0].v[2]);
    cohort_rows_free(&rows);
    assert_int_equal(cohort_items_page(db, ci.id, NULL, "A-00006", 2, &rows, &err), LK_OK);
    assert_int_equal(rows.n, 2);
    assert_string_equal(rows.items[0].v[0], "A-00007");
    assert_string_equal(rows.items[0].v[2], "2024-05-01");
    assert_string_equal(rows.items[0].v[4], "10.50");
    assert_string_equal(rows.items[0].v[7], "2024-01-02T02:04:05Z");
    cohort_rows_free(&rows);
    assert_int_equal(cohort_items_page(db, ci.id, "Cancelled", NULL, 1000, &rows, &err), LK_OK);
    assert_int_equal(rows.n, 150);
    cohort_rows_free(&rows);
    cohort_info_free(&ci);

    assert_int_equal(cohort_get(db, "Nope", &ci, &err), LK_NOTFOUND);
}

static void test_list_and_table_name(void **state)
{
    struct lk_error err;
    err_clear(&err);
    long long id1, id2;
    assert_int_equal(cohort_ensure(db, "B-List", "PriceMigration-X-B-List", &id1, &err), LK_OK);
    /* A later import (no table name) keeps the table the sync recorded. */
    assert_int_equal(cohort_ensure(db, "B-List", NULL, &id2, &err), LK_OK);
    assert_int_equal(id1, id2);
    assert_int_equal(cohort_ensure(db, "C-List", NULL, &id2, &err), LK_OK);
    struct cohort_list l;
    assert_int_equal(cohort_list(db, NULL, 1, &l, &err), LK_OK);
    assert_int_equal(l.n, 1);
    assert_string_equal(l.items[0].name, "B-List");
    assert_string_equal(l.items[0].table_name, "PriceMigration-X-B-List");
    cohort_list_free(&l);
    assert_int_equal(cohort_list(db, "B-List", 10, &l, &err), LK_OK);
    assert_true(l.n >= 1);
    assert_string_equal(l.items[0].name, "C-List");
    assert_null(l.items[0].table_name);
    cohort_list_free(&l);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_upsert),
        cmocka_unit_test(test_list_and_table_name),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
