/* cohort-sync: the price migration engine's own store, its DynamoDB table
 * PriceMigration-<STAGE>-<cohort>, scanned page by page and upserted into
 * cohort_items in one transaction (a failure half-way stores nothing). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cohort.h"
#include "db.h"
#include "dynamo.h"
#include "mem.h"

enum lk_status cohort_table_name(const struct cfg_env *env, const char *name, char **out,
                                 struct lk_error *err)
{
    *out = NULL;
    char why[200];
    if (!cohort_name_valid(name, why, sizeof why))
        return err_set(err, LK_USAGE, "cohort name '%.80s': %s", name ? name : "", why);
    if (!env->cohorts_table_stage || !env->cohorts_table_stage[0])
        return err_set(err, LK_USAGE,
                       "cohorts.table_stage is not set for environment '%s' (the engine's stage: "
                       "PROD reads PriceMigration-PROD-<cohort>)",
                       env->name ? env->name : "");
    *out = xasprintf("PriceMigration-%s-%s", env->cohorts_table_stage, name);
    return LK_OK;
}

struct sync_state {
    struct cohort_upsert *up;
    long long n;
};

static enum lk_status on_item(const json_t *item, void *ud, struct lk_error *err)
{
    struct sync_state *s = ud;
    struct cohort_item it;
    s->n++;
    for (int f = 0; f < COHORT_N_FIELDS; f++) {
        if (dynamo_attr_text(item, COHORT_FIELDS[f].attribute, &it.v[f], err) != LK_OK) {
            err_prefix(err, "item %lld", s->n);
            return LK_FAIL;
        }
    }
    if (cohort_upsert_add(s->up, &it, s->n, err) != LK_OK) {
        /* Name the item by its key when it has one. */
        if (it.v[COHORT_F_SUBSCRIPTION] && *it.v[COHORT_F_SUBSCRIPTION]) {
            char shown[200];
            cohort_value_shown(it.v[COHORT_F_SUBSCRIPTION], shown, sizeof shown);
            err_prefix(err, "item %lld (subscriptionNumber %s)", s->n, shown);
        } else
            err_prefix(err, "item %lld", s->n);
        return LK_FAIL;
    }
    return LK_OK;
}

enum lk_status cohort_sync(const struct lk_ctx *ctx, const char *name,
                           struct cohort_upsert_result *res, struct lk_error *err)
{
    memset(res, 0, sizeof *res);
    char *table = NULL;
    enum lk_status st = cohort_table_name(ctx->env, name, &table, err);
    if (st != LK_OK)
        return st;
    struct dynamo *d = NULL;
    if ((st = dynamo_open(ctx->env, ctx->http, &d, err)) != LK_OK) {
        free(table);
        return st;
    }
    dynamo_set_cancel(d, ctx->cancel);
    long long id = 0;
    struct sync_state s = { NULL, 0 };
    st = db_begin(ctx->db, err);
    if (st == LK_OK)
        st = cohort_ensure(ctx->db, name, table, &id, err);
    if (st == LK_OK)
        st = cohort_upsert_open(ctx->db, id, &s.up, err);
    if (st == LK_OK) {
        st = dynamo_scan(d, table, on_item, &s, NULL, err);
        if (st == LK_OK) {
            st = cohort_upsert_finish(s.up, "item", res, err);
        } else {
            cohort_upsert_abort(s.up);
        }
    }
    if (st == LK_OK) {
        const char *params[] = { name };
        st = db_exec(ctx->db, "UPDATE lakeop.cohorts SET synced_at = now() WHERE name = $1", 1,
                     params, NULL, err);
    }
    if (st == LK_OK)
        st = db_commit(ctx->db, err);
    else
        db_rollback(ctx->db);
    dynamo_free(d);
    free(table);
    return st;
}
