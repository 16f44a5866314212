#include "dataset.h"

#include <ctype.h>
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "db.h"
#include "mem.h"

/* Schema files are small; anything bigger is not a schema file. */
#define SCHEMA_MAX (4 * 1024 * 1024)

void dataset_columns_free(struct dataset_column *cols, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(cols[i].name);
        free(cols[i].type);
    }
    free(cols);
}

static void push_column(struct dataset_column **cols, size_t *n, size_t *cap, const char *name,
                        const char *type, bool nullable)
{
    if (*n == *cap) {
        *cap = *cap ? *cap * 2 : 16;
        *cols = xrealloc(*cols, *cap * sizeof **cols);
    }
    (*cols)[*n].name = xstrdup(name);
    (*cols)[*n].type = xstrdup(type);
    (*cols)[*n].nullable = nullable;
    (*n)++;
}

static enum lk_status parse_json(const char *path, const char *text, size_t len,
                                 struct dataset_column **cols, size_t *n, struct lk_error *err)
{
    json_error_t jerr;
    json_t *root = json_loadb(text, len, 0, &jerr);
    if (!root)
        return err_set(err, LK_USAGE, "schema file %s does not parse: line %d, column %d: %s", path,
                       jerr.line, jerr.column, jerr.text);
    json_t *list = json_is_object(root) ? json_object_get(root, "columns") : root;
    if (!json_is_array(list)) {
        json_decref(root);
        return err_set(err, LK_USAGE, "schema file %s: expected {\"columns\": [...]} or a list of columns",
                       path);
    }
    size_t cap = 0;
    size_t i;
    json_t *item;
    json_array_foreach(list, i, item) {
        const char *name = NULL, *type = NULL;
        bool nullable = true;
        if (json_is_string(item)) {
            name = json_string_value(item);
        } else if (json_is_object(item)) {
            json_t *jn = json_object_get(item, "name");
            json_t *jt = json_object_get(item, "type");
            json_t *jnull = json_object_get(item, "nullable");
            name = json_is_string(jn) ? json_string_value(jn) : NULL;
            type = json_is_string(jt) ? json_string_value(jt) : NULL;
            if (jnull && !json_is_boolean(jnull)) {
                dataset_columns_free(*cols, *n);
                *cols = NULL;
                *n = 0;
                json_decref(root);
                return err_set(err, LK_USAGE, "schema file %s: column %zu: \"nullable\" must be true or false",
                               path, i + 1);
            }
            if (jnull)
                nullable = json_is_true(jnull);
        }
        if (!name || !*name) {
            dataset_columns_free(*cols, *n);
            *cols = NULL;
            *n = 0;
            json_decref(root);
            return err_set(err, LK_USAGE, "schema file %s: column %zu has no \"name\"", path, i + 1);
        }
        push_column(cols, n, &cap, name, type, nullable);
    }
    json_decref(root);
    return LK_OK;
}

static enum lk_status parse_plain(const char *path, char *text, struct dataset_column **cols,
                                  size_t *n, struct lk_error *err)
{
    size_t cap = 0;
    int line_no = 0;
    char *save = NULL;
    for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        line_no++;
        char *p = line;
        while (isspace((unsigned char)*p))
            p++;
        char *e = p + strlen(p);
        while (e > p && isspace((unsigned char)e[-1]))
            *--e = '\0';
        if (*p == '\0' || *p == '#')
            continue;
        char *name = p;
        while (*p && !isspace((unsigned char)*p) && *p != ',')
            p++;
        char *type = NULL;
        if (*p) {
            *p++ = '\0';
            while (isspace((unsigned char)*p) || *p == ',')
                p++;
            type = *p ? p : NULL;
        }
        for (const char *q = name; *q; q++)
            if ((unsigned char)*q < 0x20 || *q == '"' || *q == '{' || *q == '[') {
                dataset_columns_free(*cols, *n);
                *cols = NULL;
                *n = 0;
                return err_set(err, LK_USAGE, "schema file %s does not parse: line %d: '%s' is not a "
                               "column name", path, line_no, name);
            }
        push_column(cols, n, &cap, name, type, true);
    }
    return LK_OK;
}

enum lk_status dataset_schema_load(const char *path, struct dataset_column **cols, size_t *n,
                                   struct lk_error *err)
{
    *cols = NULL;
    *n = 0;
    FILE *f = fopen(path, "rb");
    if (!f)
        return err_set(err, LK_USAGE, "cannot read schema file %s: %s", path, strerror(errno));
    struct buf b = BUF_INIT;
    char chunk[8192];
    size_t got;
    while ((got = fread(chunk, 1, sizeof chunk, f)) > 0) {
        buf_append(&b, chunk, got);
        if (b.len > SCHEMA_MAX) {
            fclose(f);
            buf_free(&b);
            return err_set(err, LK_USAGE, "schema file %s is larger than %d bytes: not a schema",
                           path, SCHEMA_MAX);
        }
    }
    bool read_failed = ferror(f);
    fclose(f);
    if (read_failed) {
        buf_free(&b);
        return err_set(err, LK_USAGE, "cannot read schema file %s", path);
    }
    const char *text = buf_cstr(&b);
    const char *p = text;
    if ((unsigned char)p[0] == 0xEF && (unsigned char)p[1] == 0xBB && (unsigned char)p[2] == 0xBF)
        p += 3;
    while (isspace((unsigned char)*p))
        p++;
    enum lk_status rc;
    if (*p == '{' || *p == '[')
        rc = parse_json(path, p, b.len - (size_t)(p - text), cols, n, err);
    else
        rc = parse_plain(path, b.data ? b.data + (p - text) : (char *)"", cols, n, err);
    buf_free(&b);
    if (rc == LK_OK && *n == 0)
        rc = err_set(err, LK_USAGE, "schema file %s lists no columns", path);
    return rc;
}

void dataset_free(struct dataset *d)
{
    if (!d)
        return;
    free(d->name);
    free(d->source);
    free(d->incoming);
    free(d->raw_hist);
    free(d->schema_file);
    dataset_columns_free(d->columns, d->n_columns);
    memset(d, 0, sizeof *d);
}

enum lk_status dataset_from_cfg(const struct cfg *cfg, const struct cfg_dataset *cd,
                                struct dataset *out, struct lk_error *err)
{
    memset(out, 0, sizeof *out);
    if (!cd->incoming || !*cd->incoming)
        return err_set(err, LK_USAGE, "dataset %s has no incoming prefix (incoming = s3://BUCKET/PREFIX/)",
                       cd->name);
    if (!cd->raw_hist || !*cd->raw_hist)
        return err_set(err, LK_USAGE, "dataset %s has no raw-hist prefix (raw_hist = s3://BUCKET/PREFIX/)",
                       cd->name);
    enum csvcheck_dialect dialect = CSVCHECK_CSV;
    if (cd->dialect && !csvcheck_dialect_parse(cd->dialect, &dialect))
        return err_set(err, LK_USAGE, "dataset %s: dialect '%s'; expected csv or redshift-unload",
                       cd->name, cd->dialect);
    out->name = xstrdup(cd->name);
    out->source = xstrdup(cd->source);
    out->incoming = xstrdup(cd->incoming);
    out->raw_hist = xstrdup(cd->raw_hist);
    out->dialect = dialect;
    out->freshness_s = cd->freshness_s;
    out->min_records = cd->min_records;
    out->is_ods = cd->ods;
    if (cd->schema && *cd->schema) {
        /* One way to resolve it: `lakeop paths` shows the file ingest reads. */
        out->schema_file = cfg_dataset_schema_path(cfg, cd);
        enum lk_status rc = dataset_schema_load(out->schema_file, &out->columns, &out->n_columns, err);
        if (rc != LK_OK) {
            err_prefix(err, "dataset %s", cd->name);
            dataset_free(out);
            return rc;
        }
    }
    return LK_OK;
}

static char *columns_json(const struct dataset *d)
{
    json_t *arr = json_array();
    for (size_t i = 0; i < d->n_columns; i++) {
        json_t *o = json_object();
        json_object_set_new(o, "name", json_string(d->columns[i].name));
        json_object_set_new(o, "type", d->columns[i].type ? json_string(d->columns[i].type) : json_null());
        json_object_set_new(o, "nullable", json_boolean(d->columns[i].nullable));
        json_array_append_new(arr, o);
    }
    char *text = json_dumps(arr, JSON_COMPACT);
    json_decref(arr);
    char *copy = xstrdup(text ? text : "[]");
    free(text);
    return copy;
}

enum lk_status dataset_sync(PGconn *db, struct dataset *d, struct lk_error *err)
{
    char fresh[32], minr[32];
    snprintf(fresh, sizeof fresh, "%lld", d->freshness_s);
    snprintf(minr, sizeof minr, "%lld", d->min_records);
    char *cols = d->n_columns ? columns_json(d) : NULL;
    const char *params[] = {
        d->name, d->source, d->incoming, d->raw_hist, d->schema_file, cols,
        csvcheck_dialect_name(d->dialect), d->freshness_s > 0 ? fresh : NULL, minr,
        d->is_ods ? "t" : "f",
    };
    PGresult *res = NULL;
    enum lk_status rc = db_exec(db,
        "INSERT INTO lakeop.datasets (name, source, incoming, raw_hist, schema_file, columns, dialect,"
        " freshness_seconds, min_records, is_ods)"
        " VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7, $8::bigint, $9::bigint, $10::boolean)"
        " ON CONFLICT (name) DO UPDATE SET source = EXCLUDED.source, incoming = EXCLUDED.incoming,"
        " raw_hist = EXCLUDED.raw_hist, schema_file = EXCLUDED.schema_file, columns = EXCLUDED.columns,"
        " dialect = EXCLUDED.dialect, freshness_seconds = EXCLUDED.freshness_seconds,"
        " min_records = EXCLUDED.min_records, is_ods = EXCLUDED.is_ods, updated_at = now()"
        " WHERE (lakeop.datasets.source, lakeop.datasets.incoming, lakeop.datasets.raw_hist,"
        "        lakeop.datasets.schema_file, lakeop.datasets.columns, lakeop.datasets.dialect,"
        "        lakeop.datasets.freshness_seconds, lakeop.datasets.min_records, lakeop.datasets.is_ods)"
        "   IS DISTINCT FROM (EXCLUDED.source, EXCLUDED.incoming, EXCLUDED.raw_hist, EXCLUDED.schema_file,"
        "        EXCLUDED.columns, EXCLUDED.dialect, EXCLUDED.freshness_seconds, EXCLUDED.min_records,"
        "        EXCLUDED.is_ods)"
        " RETURNING id",
        10, params, &res, err);
    free(cols);
    if (rc != LK_OK)
        return rc;
    int rows = PQntuples(res);
    if (rows == 1)
        d->id = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
    PQclear(res);
    if (rows == 1)
        return LK_OK;
    /* Unchanged: the upsert wrote nothing (and sent no NOTIFY); look the id up. */
    const char *p1[] = { d->name };
    rc = db_exec(db, "SELECT id FROM lakeop.datasets WHERE name = $1", 1, p1, &res, err);
    if (rc != LK_OK)
        return rc;
    if (PQntuples(res) != 1) {
        PQclear(res);
        return err_set(err, LK_FAIL, "dataset %s was neither stored nor found", d->name);
    }
    d->id = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
    PQclear(res);
    return LK_OK;
}

enum lk_status dataset_stats_get(PGconn *db, const char *name, long long freshness_s, long long now,
                                 struct dataset_stats *out, struct lk_error *err)
{
    memset(out, 0, sizeof *out);
    const char *params[] = { name };
    PGresult *res = NULL;
    enum lk_status rc = db_exec(db,
        "SELECT d.id, l.status, count(l.id),"
        " COALESCE(max(l.file_land_timestamp) FILTER (WHERE l.status = 'archived'), 0)"
        " FROM lakeop.datasets d LEFT JOIN lakeop.loads l ON l.dataset_id = d.id"
        " WHERE d.name = $1 GROUP BY d.id, l.status",
        1, params, &res, err);
    if (rc != LK_OK)
        return rc;
    for (int i = 0; i < PQntuples(res); i++) {
        out->id = strtoll(PQgetvalue(res, i, 0), NULL, 10);
        enum load_status st;
        if (!PQgetisnull(res, i, 1) && load_status_parse(PQgetvalue(res, i, 1), &st)) {
            long long c = strtoll(PQgetvalue(res, i, 2), NULL, 10);
            out->counts[st] = c;
            out->total += c;
        }
        long long newest = strtoll(PQgetvalue(res, i, 3), NULL, 10);
        if (newest > out->newest_archived)
            out->newest_archived = newest;
    }
    PQclear(res);
    out->stale = freshness_s > 0 && (out->newest_archived == 0 || now - out->newest_archived > freshness_s);
    if (out->id == 0)
        return LK_OK;
    char ids[32];
    snprintf(ids, sizeof ids, "%lld", out->id);
    const char *p2[] = { ids };
    rc = db_exec(db,
        "SELECT s.snapshot_key, extract(epoch FROM s.started_at)::bigint,"
        " (SELECT count(*) FROM lakeop.load_snapshots ls WHERE ls.snapshot_id = s.id)"
        " FROM lakeop.dataset_snapshots s WHERE s.dataset_id = $1"
        " ORDER BY s.started_at DESC, s.id DESC LIMIT 1",
        1, p2, &res, err);
    if (rc != LK_OK)
        return rc;
    if (PQntuples(res) == 1) {
        out->snapshot_key = xstrdup(PQgetvalue(res, 0, 0));
        out->snapshot_started = strtoll(PQgetvalue(res, 0, 1), NULL, 10);
        out->snapshot_loads = strtoll(PQgetvalue(res, 0, 2), NULL, 10);
    }
    PQclear(res);
    return LK_OK;
}

void dataset_stats_free(struct dataset_stats *s)
{
    if (s)
        xfree(&s->snapshot_key);
}

bool dataset_key_starts_snapshot(const char *key, bool have_snapshot)
{
    const char *base = strrchr(key, '/');
    base = base ? base + 1 : key;
    if (strncmp(base, "LOAD", 4) != 0)
        return false;
    const char *p = base + 4;
    if (!isdigit((unsigned char)*p))
        return false;
    long long n = 0;
    while (isdigit((unsigned char)*p) && n < 1000000000LL)
        n = n * 10 + (*p++ - '0');
    return n == 1 || !have_snapshot;
}

enum lk_status dataset_snapshot_attach(PGconn *db, long long dataset_id, long long load_id,
                                       const char *key, long long modified, struct lk_error *err)
{
    char ds[32], ld[32], mt[32];
    snprintf(ds, sizeof ds, "%lld", dataset_id);
    snprintf(ld, sizeof ld, "%lld", load_id);
    snprintf(mt, sizeof mt, "%lld", modified);
    const char *p1[] = { ds };
    PGresult *res = NULL;
    enum lk_status rc = db_exec(db, "SELECT 1 FROM lakeop.dataset_snapshots WHERE dataset_id = $1 LIMIT 1",
                                1, p1, &res, err);
    if (rc != LK_OK)
        return rc;
    bool have = PQntuples(res) > 0;
    PQclear(res);
    if (dataset_key_starts_snapshot(key, have)) {
        const char *p2[] = { ds, key, mt };
        rc = db_exec(db,
                     "INSERT INTO lakeop.dataset_snapshots (dataset_id, snapshot_key, started_at)"
                     " VALUES ($1, $2, to_timestamp($3::bigint)) ON CONFLICT DO NOTHING",
                     3, p2, NULL, err);
        if (rc != LK_OK)
            return rc;
    }
    const char *p3[] = { ld, ds };
    return db_exec(db,
                   "INSERT INTO lakeop.load_snapshots (load_id, snapshot_id)"
                   " SELECT $1, s.id FROM lakeop.dataset_snapshots s WHERE s.dataset_id = $2"
                   " ORDER BY s.started_at DESC, s.id DESC LIMIT 1 ON CONFLICT DO NOTHING",
                   2, p3, NULL, err);
}
