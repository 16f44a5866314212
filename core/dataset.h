/* Datasets: the [dataset "NAME"] sections of the configuration, their
 * column schema files, and their rows in lakeop.datasets (kept in step with
 * the configuration by dataset_sync before each ingest).
 *
 * A schema file is either JSON,
 *     {"columns": [{"name": "id", "type": "int", "nullable": false}, ...]}
 * (or the bare array, of such objects or of names), or a plain list: one
 * column per line, "NAME [TYPE]", with blank lines and '#' comments ignored.
 * A file that does not parse is an error naming the file (and the line). */
#ifndef LAKEOP_DATASET_H
#define LAKEOP_DATASET_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>

#include "config.h"
#include "csvcheck.h"
#include "err.h"
#include "load.h"

struct dataset_column {
    char *name;
    char *type;                  /* may be NULL */
    bool nullable;               /* default true */
};

struct dataset {
    long long id;                /* 0 until synced */
    char *name;
    char *source;
    char *incoming;              /* prefix URL */
    char *raw_hist;              /* prefix URL */
    char *schema_file;           /* resolved path, or NULL */
    enum csvcheck_dialect dialect;
    struct dataset_column *columns;
    size_t n_columns;
    long long freshness_s;       /* 0: no freshness check */
    long long min_records;
    bool is_ods;
};

enum lk_status dataset_schema_load(const char *path, struct dataset_column **cols, size_t *n,
                                   struct lk_error *err);
void dataset_columns_free(struct dataset_column *cols, size_t n);

/* The dataset as configured (schema file read from where
 * cfg_dataset_schema_path() says: "~/" from the home folder, relative paths
 * from the configuration file's folder; cfg may be NULL).  LK_USAGE on
 * configuration errors. */
enum lk_status dataset_from_cfg(const struct cfg *cfg, const struct cfg_dataset *cd,
                                struct dataset *out, struct lk_error *err);

/* Upserts the row by name; fills d->id. */
enum lk_status dataset_sync(PGconn *db, struct dataset *d, struct lk_error *err);

void dataset_free(struct dataset *d);    /* frees the members */

/* Freshness and counts for `datasets`, `status` and the Datasets screen. */
struct dataset_stats {
    long long id;                        /* 0: never synced (no loads yet) */
    long long counts[LOAD_STATUS_COUNT];
    long long total;
    long long newest_archived;           /* file_land_timestamp of the newest archived load; 0: none */
    bool stale;                          /* freshness set and newest_archived older (or none) */
    char *snapshot_key;                  /* the current ODS snapshot, or NULL */
    long long snapshot_started;
    long long snapshot_loads;
};

/* now: unix seconds (injected, for tests). */
enum lk_status dataset_stats_get(PGconn *db, const char *name, long long freshness_s, long long now,
                                 struct dataset_stats *out, struct lk_error *err);
void dataset_stats_free(struct dataset_stats *s);

/* ODS snapshots: a key whose file name starts with LOAD and numbers 1
 * (LOAD00000001.csv.gz: Qlik starting or restarting a full load), or the
 * first LOAD file a dataset ever sees, starts a snapshot at the object's
 * time; every load registered afterwards belongs to the newest snapshot. */
bool dataset_key_starts_snapshot(const char *key, bool have_snapshot);
enum lk_status dataset_snapshot_attach(PGconn *db, long long dataset_id, long long load_id,
                                       const char *key, long long modified, struct lk_error *err);

#endif
