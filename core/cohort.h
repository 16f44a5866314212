/* Price-rise cohorts: the price migration engine's CohortItems, kept in
 * lakeop.cohorts / lakeop.cohort_items, read from the engine's DynamoDB
 * table (cohort_sync.c) or from a cohort file (cohort_import.c), and
 * written to the clean bucket in the lake's format (cohort_export.c).
 *
 * The file format is ZUORA.md's "Cohort export": one column per field, in
 * the order of COHORT_FIELDS, after cohort_name.  Every value crosses this
 * module as text (NULL = missing): dates "yyyy-MM-dd", instants ISO-8601
 * (stored as timestamptz, written back in UTC), prices decimal text kept as
 * written (10.50 stays 10.50). */
#ifndef LAKEOP_COHORT_H
#define LAKEOP_COHORT_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>

#include "ctx.h"
#include "err.h"

enum cohort_kind { COHORT_TEXT, COHORT_DATE, COHORT_INSTANT, COHORT_PRICE };

struct cohort_field {
    const char *column;         /* export column and cohort_items column: start_date */
    const char *attribute;      /* DynamoDB attribute: startDate */
    enum cohort_kind kind;
    bool required;              /* subscription_name, processing_stage */
};

/* subscription_name .. cancellation_reason, in export order. */
#define COHORT_N_FIELDS 17
#define COHORT_F_SUBSCRIPTION 0
#define COHORT_F_STAGE 1
extern const struct cohort_field COHORT_FIELDS[COHORT_N_FIELDS];

/* One item: v[i] is COHORT_FIELDS[i]'s value (NULL when missing).  The
 * strings belong to whoever filled the item. */
struct cohort_item {
    const char *v[COHORT_N_FIELDS];
};

/* The processing stages in the engine's order, then the terminal or
 * exceptional ones (ZUORA.md). */
extern const char *const COHORT_STAGES[];
extern const size_t COHORT_N_STAGES;
/* Position in COHORT_STAGES, or COHORT_N_STAGES for a stage lakeop does not
 * know (kept and shown as it is). */
size_t cohort_stage_rank(const char *stage);
/* Terminal or exceptional (NoPriceIncrease, Cancelled, ...); unknown
 * stages count as exceptional so that they stand out. */
bool cohort_stage_exceptional(const char *stage);

/* Cohort names become an S3 key and a DynamoDB table name: 1-200 of
 * A-Z a-z 0-9 _ . - and not starting with '.' or '-'.  false with a reason
 * in why otherwise. */
bool cohort_name_valid(const char *name, char *why, size_t why_size);

/* Checks one value of the given kind; false with a reason in why (which
 * names neither field nor line: the caller adds those). */
bool cohort_value_valid(enum cohort_kind kind, const char *text, char *why, size_t why_size);

/* A value for a message: at most 60 characters, control characters and
 * bytes that are not UTF-8 written as \xNN (so the message itself stays
 * UTF-8 and can be stored in the audit log). */
void cohort_value_shown(const char *value, char *out, size_t out_size);

/* ---- the database side ------------------------------------------------- */

struct cohort_info {
    long long id;
    char *name;
    char *table_name;           /* NULL until synced */
    long long created_unix;
    long long synced_unix;      /* 0 never */
    long long exported_unix;    /* 0 never */
    char *export_key;           /* the URL of the last export, or NULL */
    long long export_count;     /* -1 never exported */
    long long items;
};

struct cohort_list {
    struct cohort_info *items;
    size_t n;
};

/* Cohorts by name after `after` (NULL: from the first), at most limit. */
enum lk_status cohort_list(PGconn *db, const char *after, int limit, struct cohort_list *out,
                           struct lk_error *err);
void cohort_list_free(struct cohort_list *l);

/* LK_NOTFOUND "cohort 'NAME' is not known" when missing. */
enum lk_status cohort_get(PGconn *db, const char *name, struct cohort_info *out, struct lk_error *err);
void cohort_info_free(struct cohort_info *c);

struct cohort_stage_count {
    char *stage;
    long long count;
    bool exceptional;
};

struct cohort_stages {
    struct cohort_stage_count *items;   /* in COHORT_STAGES order, unknown ones after, by name */
    size_t n;
    long long total;
};

enum lk_status cohort_stage_counts(PGconn *db, long long cohort_id, struct cohort_stages *out,
                                   struct lk_error *err);
void cohort_stages_free(struct cohort_stages *s);

/* A page of items in export format (values as cohort-export writes them),
 * ordered by subscription_name after `after` (NULL: from the first);
 * stage non-NULL keeps only that processing stage. */
struct cohort_row {
    char *v[COHORT_N_FIELDS];
};
struct cohort_rows {
    struct cohort_row *items;
    size_t n;
};
enum lk_status cohort_items_page(PGconn *db, long long cohort_id, const char *stage,
                                 const char *after, int limit, struct cohort_rows *out,
                                 struct lk_error *err);
void cohort_rows_free(struct cohort_rows *r);

/* The SELECT of every field rendered for the file, for one cohort ($1 its
 * id), unordered and without the cohort name: what cohort-export and
 * cohort_items_page() read.  Caller frees. */
char *cohort_export_select_sql(void);

/* ---- upserting items ----------------------------------------------------
 * Inside a transaction the caller opened: items are staged (in batches, in
 * constant memory), then merged into cohort_items at finish.  The same
 * subscription twice is an error naming both sources (lines of a file). */
struct cohort_upsert;

/* Finds or makes the cohort (table_name may be NULL: kept as it was). */
enum lk_status cohort_ensure(PGconn *db, const char *name, const char *table_name, long long *id,
                             struct lk_error *err);

enum lk_status cohort_upsert_open(PGconn *db, long long cohort_id, struct cohort_upsert **out,
                                  struct lk_error *err);
/* source: a number the duplicate message uses (a line number, an item's
 * position); the values are checked here: a bad one fails naming the field. */
enum lk_status cohort_upsert_add(struct cohort_upsert *u, const struct cohort_item *item,
                                 long long source, struct lk_error *err);

struct cohort_upsert_result {
    long long inserted;
    long long updated;
};
/* Merges what was staged; frees u whatever happens.  where names the
 * sources for the duplicate message ("line", "item"). */
enum lk_status cohort_upsert_finish(struct cohort_upsert *u, const char *where,
                                    struct cohort_upsert_result *res, struct lk_error *err);
void cohort_upsert_abort(struct cohort_upsert *u);

/* ---- operations (cohort_sync.c, cohort_import.c, cohort_export.c) ------ */

/* cohort-sync: scans PriceMigration-<cohorts.table_stage>-<name> and
 * upserts every item in one transaction (the cohort is made if new). */
enum lk_status cohort_sync(const struct lk_ctx *ctx, const char *name,
                           struct cohort_upsert_result *res, struct lk_error *err);
/* The table cohort_sync reads (caller frees); LK_USAGE when
 * cohorts.table_stage is not set. */
enum lk_status cohort_table_name(const struct cfg_env *env, const char *name, char **out,
                                 struct lk_error *err);

/* cohort-import: a file in the export format; the header must be exactly
 * the export's, every cohort_name must be name; one transaction: a bad row
 * stores nothing. */
enum lk_status cohort_import(const struct lk_ctx *ctx, const char *name, const char *path,
                             struct cohort_upsert_result *res, struct lk_error *err);

/* The header line of the file, with its newline. */
extern const char COHORT_CSV_HEADER[];

struct cohort_export_result {
    char *csv_url;              /* s3://BUCKET/data/NAME.csv (or file://...) */
    char *manifest_url;
    long long records;
    long long bytes;
    char exported_at[32];       /* 2020-01-01T01:01:01Z */
};
/* Where cohort-export writes (without writing anything). */
enum lk_status cohort_export_urls(const struct cfg_env *env, const char *name, char **csv_url,
                                  char **manifest_url, struct lk_error *err);
/* cohort-export: data/NAME.csv streamed from a server-side cursor, then
 * data/NAME.manifest.json; a failure leaves the previous files as they
 * were.  The cohort must exist (LK_NOTFOUND); it may be empty. */
enum lk_status cohort_export(const struct lk_ctx *ctx, const char *name,
                             struct cohort_export_result *res, struct lk_error *err);
void cohort_export_result_free(struct cohort_export_result *r);

#endif
