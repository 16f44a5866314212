/* Cohorts in the metadata database: the field table, value checks, lists,
 * counts by processing stage, item pages, and the staged upsert that sync
 * and import share (cohort.h). */
#include "cohort.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "db.h"
#include "mem.h"

const struct cohort_field COHORT_FIELDS[COHORT_N_FIELDS] = {
    { "subscription_name", "subscriptionNumber", COHORT_TEXT, true },
    { "processing_stage", "processingStage", COHORT_TEXT, true },
    { "start_date", "startDate", COHORT_DATE, false },
    { "currency", "currency", COHORT_TEXT, false },
    { "old_price", "oldPrice", COHORT_PRICE, false },
    { "estimated_new_price", "estimatedNewPrice", COHORT_PRICE, false },
    { "billing_period", "billingPeriod", COHORT_TEXT, false },
    { "when_estimation_done", "whenEstimationDone", COHORT_INSTANT, false },
    { "salesforce_price_rise_id", "salesforcePriceRiseId", COHORT_TEXT, false },
    { "when_sf_show_estimate", "whenSfShowEstimate", COHORT_INSTANT, false },
    { "new_price", "newPrice", COHORT_PRICE, false },
    { "new_subscription_id", "newSubscriptionId", COHORT_TEXT, false },
    { "when_amendment_done", "whenAmendmentDone", COHORT_INSTANT, false },
    { "when_notification_sent", "whenNotificationSent", COHORT_INSTANT, false },
    { "when_notification_sent_written_to_salesforce", "whenNotificationSentWrittenToSalesforce",
      COHORT_INSTANT, false },
    { "when_amendment_written_to_salesforce", "whenAmendmentWrittenToSalesforce", COHORT_INSTANT,
      false },
    { "cancellation_reason", "cancellationReason", COHORT_TEXT, false },
};

const char *const COHORT_STAGES[] = {
    "ReadyForEstimation",
    "EstimationComplete",
    "SalesforcePriceRiseCreationComplete",
    "NotificationSendComplete",
    "NotificationSendDateWrittenToSalesforce",
    "AmendmentComplete",
    "AmendmentWrittenToSalesforce",
    /* terminal or exceptional from here on */
    "NoPriceIncrease",
    "ZuoraCancellation",
    "EstimationNotPossible",
    "ExcludedFromMigration",
    "UserOptOut",
    "Cancelled",
    "DoNotProcessUntil",
};
const size_t COHORT_N_STAGES = sizeof COHORT_STAGES / sizeof COHORT_STAGES[0];
#define FIRST_EXCEPTIONAL 7

size_t cohort_stage_rank(const char *stage)
{
    for (size_t i = 0; stage && i < COHORT_N_STAGES; i++)
        if (strcmp(stage, COHORT_STAGES[i]) == 0)
            return i;
    return COHORT_N_STAGES;
}

bool cohort_stage_exceptional(const char *stage)
{
    return cohort_stage_rank(stage) >= FIRST_EXCEPTIONAL;
}

bool cohort_name_valid(const char *name, char *why, size_t why_size)
{
    size_t n = name ? strlen(name) : 0;
    if (n == 0) {
        snprintf(why, why_size, "a cohort name is required");
        return false;
    }
    if (n > 200) {
        snprintf(why, why_size, "a cohort name has at most 200 characters");
        return false;
    }
    if (name[0] == '.' || name[0] == '-') {
        snprintf(why, why_size, "a cohort name does not start with '%c'", name[0]);
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        char c = name[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '.' || c == '-')) {
            snprintf(why, why_size,
                     "a cohort name is made of letters, digits, '_', '.' and '-' (it names a "
                     "DynamoDB table and an S3 key)");
            return false;
        }
    }
    return true;
}

/* ---- value checks --------------------------------------------------------- */

static bool digits(const char *p, int n)
{
    for (int i = 0; i < n; i++)
        if (p[i] < '0' || p[i] > '9')
            return false;
    return true;
}

static int num(const char *p, int n)
{
    int v = 0;
    for (int i = 0; i < n; i++)
        v = v * 10 + (p[i] - '0');
    return v;
}

/* yyyy-MM-dd with a real day of a real month; returns the length used. */
static size_t date_prefix(const char *t)
{
    if (!digits(t, 4) || t[4] != '-' || !digits(t + 5, 2) || t[7] != '-' || !digits(t + 8, 2))
        return 0;
    int y = num(t, 4), m = num(t + 5, 2), d = num(t + 8, 2);
    static const int mdays[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
    if (m < 1 || m > 12 || d < 1)
        return 0;
    int max = mdays[m - 1];
    if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
        max = 29;
    return d <= max ? 10 : 0;
}

static bool instant_valid(const char *t)
{
    size_t n = date_prefix(t);
    if (!n || (t[n] != 'T' && t[n] != ' '))
        return false;
    const char *p = t + n + 1;
    if (!digits(p, 2) || p[2] != ':' || !digits(p + 3, 2) || p[5] != ':' || !digits(p + 6, 2))
        return false;
    if (num(p, 2) > 23 || num(p + 3, 2) > 59 || num(p + 6, 2) > 60)
        return false;
    p += 8;
    if (*p == '.') {
        int k = 0;
        for (p++; *p >= '0' && *p <= '9'; p++)
            k++;
        if (k == 0 || k > 9)
            return false;
    }
    if (strcmp(p, "Z") == 0)
        return true;
    if (*p != '+' && *p != '-')
        return false;
    p++;
    if (!digits(p, 2) || num(p, 2) > 18)
        return false;
    p += 2;
    if (*p == ':')
        p++;
    if (*p == '\0')
        return true;
    return digits(p, 2) && num(p, 2) < 60 && p[2] == '\0';
}

static bool price_valid(const char *t)
{
    const char *p = t;
    if (*p == '-')
        p++;
    int before = 0, after = 0;
    while (*p >= '0' && *p <= '9') {
        p++;
        before++;
    }
    if (*p == '.')
        for (p++; *p >= '0' && *p <= '9'; p++)
            after++;
    if (!before && !after)
        return false;
    if (*p == 'e' || *p == 'E') {
        p++;
        if (*p == '+' || *p == '-')
            p++;
        int e = 0;
        for (; *p >= '0' && *p <= '9'; p++)
            e++;
        if (!e || e > 3)
            return false;
    }
    return *p == '\0' && p - t <= 100;
}

static bool utf8_valid(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        if (*p < 0x80) {
            p++;
            continue;
        }
        int n;
        unsigned min;
        unsigned cp;
        if ((*p & 0xE0) == 0xC0) {
            n = 1, min = 0x80, cp = *p & 0x1F;
        } else if ((*p & 0xF0) == 0xE0) {
            n = 2, min = 0x800, cp = *p & 0x0F;
        } else if ((*p & 0xF8) == 0xF0) {
            n = 3, min = 0x10000, cp = *p & 0x07;
        } else {
            return false;
        }
        p++;
        for (int i = 0; i < n; i++, p++) {
            if ((*p & 0xC0) != 0x80)
                return false;
            cp = (cp << 6) | (*p & 0x3F);
        }
        if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
            return false;
    }
    return true;
}

bool cohort_value_valid(enum cohort_kind kind, const char *text, char *why, size_t why_size)
{
    if (!utf8_valid(text)) {
        snprintf(why, why_size, "is not UTF-8");
        return false;
    }
    switch (kind) {
    case COHORT_TEXT:
        return true;
    case COHORT_DATE:
        if (date_prefix(text) == 10 && text[10] == '\0')
            return true;
        snprintf(why, why_size, "is not a date (yyyy-MM-dd)");
        return false;
    case COHORT_INSTANT:
        if (instant_valid(text))
            return true;
        snprintf(why, why_size, "is not an ISO-8601 instant with a zone (2020-01-01T01:01:01Z)");
        return false;
    case COHORT_PRICE:
        if (price_valid(text))
            return true;
        snprintf(why, why_size, "is not a decimal number");
        return false;
    }
    return true;
}

void cohort_value_shown(const char *v, char *out, size_t size)
{
    bool utf8 = utf8_valid(v);
    size_t o = 0, shown = 0;
    const unsigned char *p = (const unsigned char *)v;
    for (; *p && o + 8 < size && shown < 60; p++, shown++) {
        if (*p < 0x20 || *p == 0x7f || (*p >= 0x80 && !utf8))
            o += (size_t)snprintf(out + o, size - o, "\\x%02X", *p);
        else
            out[o++] = (char)*p;
    }
    if (*p && o + 4 < size) {
        /* Never end inside a UTF-8 sequence. */
        while (o && ((unsigned char)out[o - 1] & 0xC0) == 0x80)
            o--;
        if (o && (unsigned char)out[o - 1] >= 0xC0)
            o--;
        memcpy(out + o, "...", 3);
        o += 3;
    }
    out[o] = '\0';
}

/* ---- cohorts ------------------------------------------------------------- */

static char *opt_str(const PGresult *r, int row, int col)
{
    return PQgetisnull(r, row, col) ? NULL : xstrdup(PQgetvalue(r, row, col));
}

static long long ll(const PGresult *r, int row, int col)
{
    return PQgetisnull(r, row, col) ? 0 : strtoll(PQgetvalue(r, row, col), NULL, 10);
}

#define COHORT_COLUMNS \
    "c.id, c.name, c.table_name, extract(epoch FROM c.created_at)::bigint, " \
    "coalesce(extract(epoch FROM c.synced_at)::bigint, 0), " \
    "coalesce(extract(epoch FROM c.exported_at)::bigint, 0), c.export_key, " \
    "coalesce(c.export_count, -1), " \
    "(SELECT count(*) FROM lakeop.cohort_items i WHERE i.cohort_id = c.id)"

static void info_from_row(const PGresult *r, int row, struct cohort_info *c)
{
    c->id = ll(r, row, 0);
    c->name = xstrdup(PQgetvalue(r, row, 1));
    c->table_name = opt_str(r, row, 2);
    c->created_unix = ll(r, row, 3);
    c->synced_unix = ll(r, row, 4);
    c->exported_unix = ll(r, row, 5);
    c->export_key = opt_str(r, row, 6);
    c->export_count = PQgetisnull(r, row, 7) ? -1 : ll(r, row, 7);
    c->items = ll(r, row, 8);
}

enum lk_status cohort_list(PGconn *db, const char *after, int limit, struct cohort_list *out,
                           struct lk_error *err)
{
    memset(out, 0, sizeof *out);
    char lim[16];
    snprintf(lim, sizeof lim, "%d", limit > 0 ? limit : 100);
    const char *params[] = { after, lim };
    PGresult *r;
    if (db_exec(db,
                "SELECT " COHORT_COLUMNS " FROM lakeop.cohorts c "
                "WHERE $1::text IS NULL OR c.name > $1 ORDER BY c.name LIMIT $2::int",
                2, params, &r, err) != LK_OK) {
        err_prefix(err, "listing cohorts");
        return LK_FAIL;
    }
    int n = PQntuples(r);
    out->items = xcalloc((size_t)n + 1, sizeof *out->items);
    for (int i = 0; i < n; i++)
        info_from_row(r, i, &out->items[i]);
    out->n = (size_t)n;
    PQclear(r);
    return LK_OK;
}

void cohort_info_free(struct cohort_info *c)
{
    if (!c)
        return;
    free(c->name);
    free(c->table_name);
    free(c->export_key);
    memset(c, 0, sizeof *c);
}

void cohort_list_free(struct cohort_list *l)
{
    for (size_t i = 0; i < l->n; i++)
        cohort_info_free(&l->items[i]);
    free(l->items);
    memset(l, 0, sizeof *l);
}

enum lk_status cohort_get(PGconn *db, const char *name, struct cohort_info *out, struct lk_error *err)
{
    memset(out, 0, sizeof *out);
    const char *params[] = { name };
    PGresult *r;
    if (db_exec(db, "SELECT " COHORT_COLUMNS " FROM lakeop.cohorts c WHERE c.name = $1", 1, params,
                &r, err) != LK_OK) {
        err_prefix(err, "reading cohort '%s'", name);
        return LK_FAIL;
    }
    if (PQntuples(r) == 0) {
        PQclear(r);
        return err_set(err, LK_NOTFOUND,
                       "cohort '%s' is not known (lakeop cohorts lists them; cohort-sync or "
                       "cohort-import brings one in)",
                       name);
    }
    info_from_row(r, 0, out);
    PQclear(r);
    return LK_OK;
}

static int stage_cmp(const void *a, const void *b)
{
    const struct cohort_stage_count *x = a, *y = b;
    size_t rx = cohort_stage_rank(x->stage), ry = cohort_stage_rank(y->stage);
    if (rx != ry)
        return rx < ry ? -1 : 1;
    return strcmp(x->stage, y->stage);
}

enum lk_status cohort_stage_counts(PGconn *db, long long cohort_id, struct cohort_stages *out,
                                   struct lk_error *err)
{
    memset(out, 0, sizeof *out);
    char id[24];
    snprintf(id, sizeof id, "%lld", cohort_id);
    const char *params[] = { id };
    PGresult *r;
    if (db_exec(db,
                "SELECT processing_stage, count(*) FROM lakeop.cohort_items "
                "WHERE cohort_id = $1::bigint GROUP BY processing_stage",
                1, params, &r, err) != LK_OK) {
        err_prefix(err, "counting cohort items by stage");
        return LK_FAIL;
    }
    int n = PQntuples(r);
    out->items = xcalloc((size_t)n + 1, sizeof *out->items);
    for (int i = 0; i < n; i++) {
        struct cohort_stage_count *s = &out->items[i];
        s->stage = xstrdup(PQgetvalue(r, i, 0));
        s->count = ll(r, i, 1);
        s->exceptional = cohort_stage_exceptional(s->stage);
        out->total += s->count;
    }
    out->n = (size_t)n;
    PQclear(r);
    qsort(out->items, out->n, sizeof *out->items, stage_cmp);
    return LK_OK;
}

void cohort_stages_free(struct cohort_stages *s)
{
    for (size_t i = 0; i < s->n; i++)
        free(s->items[i].stage);
    free(s->items);
    memset(s, 0, sizeof *s);
}

/* The select list that renders each field the way the file wants it:
 * instants in UTC to the second, 2020-01-01T01:01:01Z (a fraction only when
 * there is one, in milli- or microseconds like Java's Instant.toString, so
 * nothing stored is lost), dates yyyy-MM-dd, numerics as stored. */
static void export_select_list(struct buf *b)
{
    for (size_t i = 0; i < COHORT_N_FIELDS; i++) {
        const char *c = COHORT_FIELDS[i].column;
        if (i)
            buf_puts(b, ", ");
        switch (COHORT_FIELDS[i].kind) {
        case COHORT_TEXT:
            buf_puts(b, c);
            break;
        case COHORT_DATE:
            buf_printf(b, "to_char(%s, 'YYYY-MM-DD')", c);
            break;
        case COHORT_PRICE:
            buf_printf(b, "%s::text", c);
            break;
        case COHORT_INSTANT:
            buf_printf(b,
                       "to_char(%s AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS') || "
                       "CASE WHEN extract(microseconds FROM %s)::bigint %% 1000000 = 0 THEN '' "
                       "WHEN extract(microseconds FROM %s)::bigint %% 1000 = 0 "
                       "THEN to_char(%s, '.MS') ELSE to_char(%s, '.US') END || 'Z'",
                       c, c, c, c, c);
            break;
        }
    }
}

char *cohort_export_select_sql(void)
{
    struct buf b = BUF_INIT;
    buf_puts(&b, "SELECT ");
    export_select_list(&b);
    buf_puts(&b, " FROM lakeop.cohort_items WHERE cohort_id = $1::bigint");
    return buf_detach(&b);
}

enum lk_status cohort_items_page(PGconn *db, long long cohort_id, const char *stage,
                                 const char *after, int limit, struct cohort_rows *out,
                                 struct lk_error *err)
{
    memset(out, 0, sizeof *out);
    char *base = cohort_export_select_sql();
    char *sql = xasprintf("%s AND ($2::text IS NULL OR processing_stage = $2) "
                          "AND ($3::text IS NULL OR subscription_name > $3) "
                          "ORDER BY subscription_name LIMIT $4::int",
                          base);
    free(base);
    char id[24], lim[16];
    snprintf(id, sizeof id, "%lld", cohort_id);
    snprintf(lim, sizeof lim, "%d", limit > 0 ? limit : 100);
    const char *params[] = { id, stage, after, lim };
    PGresult *r;
    enum lk_status st = db_exec(db, sql, 4, params, &r, err);
    free(sql);
    if (st != LK_OK) {
        err_prefix(err, "reading cohort items");
        return LK_FAIL;
    }
    int n = PQntuples(r);
    out->items = xcalloc((size_t)n + 1, sizeof *out->items);
    for (int i = 0; i < n; i++)
        for (int f = 0; f < COHORT_N_FIELDS; f++)
            out->items[i].v[f] = opt_str(r, i, f);
    out->n = (size_t)n;
    PQclear(r);
    return LK_OK;
}

void cohort_rows_free(struct cohort_rows *r)
{
    for (size_t i = 0; i < r->n; i++)
        for (int f = 0; f < COHORT_N_FIELDS; f++)
            free(r->items[i].v[f]);
    free(r->items);
    memset(r, 0, sizeof *r);
}

/* ---- upsert ---------------------------------------------------------------- */

enum lk_status cohort_ensure(PGconn *db, const char *name, const char *table_name, long long *id,
                             struct lk_error *err)
{
    const char *params[] = { name, table_name };
    PGresult *r;
    if (db_exec(db,
                "INSERT INTO lakeop.cohorts (name, table_name) VALUES ($1, $2) "
                "ON CONFLICT (name) DO UPDATE SET table_name = "
                "coalesce(EXCLUDED.table_name, lakeop.cohorts.table_name) RETURNING id",
                2, params, &r, err) != LK_OK) {
        err_prefix(err, "recording cohort '%s'", name);
        return LK_FAIL;
    }
    *id = ll(r, 0, 0);
    PQclear(r);
    return LK_OK;
}

/* Rows per staging INSERT: few round trips, well under libpq's 65535
 * parameters. */
#define STAGE_BATCH 200
#define STAGE_COLS (COHORT_N_FIELDS + 1)

struct cohort_upsert {
    PGconn *db;
    long long cohort_id;
    /* The batch being collected: its own copies of the values. */
    char *vals[STAGE_BATCH][STAGE_COLS];
    int n;
    char *insert_sql;   /* for a full batch */
};

static void batch_clear(struct cohort_upsert *u)
{
    for (int i = 0; i < u->n; i++)
        for (int c = 0; c < STAGE_COLS; c++)
            xfree(&u->vals[i][c]);
    u->n = 0;
}

static char *insert_sql(int rows)
{
    struct buf b = BUF_INIT;
    buf_puts(&b, "INSERT INTO pg_temp.lakeop_cohort_stage VALUES ");
    int p = 1;
    for (int i = 0; i < rows; i++) {
        buf_puts(&b, i ? ",(" : "(");
        for (int c = 0; c < STAGE_COLS; c++)
            buf_printf(&b, c ? ",$%d" : "$%d::bigint", p++);
        buf_putc(&b, ')');
    }
    return buf_detach(&b);
}

static enum lk_status flush(struct cohort_upsert *u, struct lk_error *err)
{
    if (!u->n)
        return LK_OK;
    char *sql = u->n == STAGE_BATCH ? u->insert_sql : insert_sql(u->n);
    const char **params = xcalloc((size_t)u->n * STAGE_COLS, sizeof *params);
    for (int i = 0; i < u->n; i++)
        for (int c = 0; c < STAGE_COLS; c++)
            params[i * STAGE_COLS + c] = u->vals[i][c];
    enum lk_status st = db_exec(u->db, sql, u->n * STAGE_COLS, params, NULL, err);
    free(params);
    if (sql != u->insert_sql)
        free(sql);
    batch_clear(u);
    if (st != LK_OK)
        err_prefix(err, "staging cohort items");
    return st;
}

enum lk_status cohort_upsert_open(PGconn *db, long long cohort_id, struct cohort_upsert **out,
                                  struct lk_error *err)
{
    *out = NULL;
    struct buf b = BUF_INIT;
    buf_puts(&b, "CREATE TEMP TABLE lakeop_cohort_stage (src bigint");
    for (int c = 0; c < COHORT_N_FIELDS; c++)
        buf_printf(&b, ", v%d text", c);
    buf_puts(&b, ") ON COMMIT DROP");
    enum lk_status st = db_exec(db, "DROP TABLE IF EXISTS pg_temp.lakeop_cohort_stage", 0, NULL, NULL, err);
    if (st == LK_OK)
        st = db_exec(db, buf_cstr(&b), 0, NULL, NULL, err);
    buf_free(&b);
    if (st != LK_OK) {
        err_prefix(err, "preparing to store cohort items");
        return st;
    }
    struct cohort_upsert *u = xcalloc(1, sizeof *u);
    u->db = db;
    u->cohort_id = cohort_id;
    u->insert_sql = insert_sql(STAGE_BATCH);
    *out = u;
    return LK_OK;
}

enum lk_status cohort_upsert_add(struct cohort_upsert *u, const struct cohort_item *item,
                                 long long source, struct lk_error *err)
{
    for (int f = 0; f < COHORT_N_FIELDS; f++) {
        const struct cohort_field *fd = &COHORT_FIELDS[f];
        const char *v = item->v[f];
        char why[160];
        if (!v || !*v) {
            if (fd->required)
                return err_set(err, LK_FAIL, "%s is missing", fd->column);
            continue;
        }
        if (!cohort_value_valid(fd->kind, v, why, sizeof why)) {
            char shown[200];
            cohort_value_shown(v, shown, sizeof shown);
            return err_set(err, LK_FAIL, "%s '%s' %s", fd->column, shown, why);
        }
    }
    char **row = u->vals[u->n++];
    row[0] = xasprintf("%lld", source);
    for (int f = 0; f < COHORT_N_FIELDS; f++)
        row[f + 1] = item->v[f] && *item->v[f] ? xstrdup(item->v[f]) : NULL;
    return u->n == STAGE_BATCH ? flush(u, err) : LK_OK;
}

void cohort_upsert_abort(struct cohort_upsert *u)
{
    if (!u)
        return;
    batch_clear(u);
    free(u->insert_sql);
    free(u);
}

static char *merge_sql(void)
{
    struct buf b = BUF_INIT;
    buf_puts(&b, "WITH m AS (INSERT INTO lakeop.cohort_items (cohort_id");
    for (int f = 0; f < COHORT_N_FIELDS; f++)
        buf_printf(&b, ", %s", COHORT_FIELDS[f].column);
    buf_puts(&b, ", updated_at) SELECT $1::bigint");
    for (int f = 0; f < COHORT_N_FIELDS; f++) {
        static const char *const cast[] = { "", "::date", "::timestamptz", "::numeric" };
        buf_printf(&b, ", v%d%s", f, cast[COHORT_FIELDS[f].kind]);
    }
    buf_puts(&b, ", now() FROM pg_temp.lakeop_cohort_stage "
                 "ON CONFLICT (cohort_id, subscription_name) DO UPDATE SET ");
    for (int f = 1; f < COHORT_N_FIELDS; f++)
        buf_printf(&b, "%s = EXCLUDED.%s, ", COHORT_FIELDS[f].column, COHORT_FIELDS[f].column);
    /* xmax is 0 on a row this statement inserted, set on one it updated. */
    buf_puts(&b, "updated_at = now() RETURNING (xmax = 0) AS ins) "
                 "SELECT count(*) FILTER (WHERE ins), count(*) FILTER (WHERE NOT ins) FROM m");
    return buf_detach(&b);
}

enum lk_status cohort_upsert_finish(struct cohort_upsert *u, const char *where,
                                    struct cohort_upsert_result *res, struct lk_error *err)
{
    memset(res, 0, sizeof *res);
    enum lk_status st = flush(u, err);
    PGresult *r = NULL;
    if (st == LK_OK) {
        st = db_exec(u->db,
                     "SELECT v0, (array_agg(src ORDER BY src))[1], (array_agg(src ORDER BY src))[2] "
                     "FROM pg_temp.lakeop_cohort_stage GROUP BY v0 HAVING count(*) > 1 "
                     "ORDER BY 3 LIMIT 1",
                     0, NULL, &r, err);
        if (st == LK_OK && PQntuples(r) > 0) {
            st = err_set(err, LK_FAIL, "%s %s: subscription '%.100s' appears again (first on %s %s)",
                         where, PQgetvalue(r, 0, 2), PQgetvalue(r, 0, 0), where, PQgetvalue(r, 0, 1));
        }
        PQclear(r);
        r = NULL;
    }
    if (st == LK_OK) {
        char id[24];
        snprintf(id, sizeof id, "%lld", u->cohort_id);
        const char *params[] = { id };
        char *sql = merge_sql();
        st = db_exec(u->db, sql, 1, params, &r, err);
        free(sql);
        if (st == LK_OK) {
            res->inserted = ll(r, 0, 0);
            res->updated = ll(r, 0, 1);
        } else {
            err_prefix(err, "storing cohort items");
        }
        PQclear(r);
    }
    if (st == LK_OK)
        st = db_exec(u->db, "DROP TABLE pg_temp.lakeop_cohort_stage", 0, NULL, NULL, err);
    cohort_upsert_abort(u);
    return st;
}
