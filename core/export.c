/* The export plan and its safety rules (core/export.h). */
#include "export.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "airflow.h"
#include "copy.h"
#include "jobstore.h"
#include "json.h"
#include "lake_copy.h"
#include "mem.h"
#include "sha256.h"

static bool leap(int y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int days_in_month(int y, int m)
{
    static const int d[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
    return m == 2 && leap(y) ? 29 : d[m - 1];
}

/* Strict YYYY-MM-DD; false unless it is a real calendar date. */
static bool parse_date(const char *s, int *y, int *m, int *d)
{
    if (strlen(s) != 10 || s[4] != '-' || s[7] != '-')
        return false;
    for (int i = 0; i < 10; i++)
        if (i != 4 && i != 7 && (s[i] < '0' || s[i] > '9'))
            return false;
    *y = atoi(s);
    *m = atoi(s + 5);
    *d = atoi(s + 8);
    return *y >= 1900 && *m >= 1 && *m <= 12 && *d >= 1 && *d <= days_in_month(*y, *m);
}

static long long naive_unix(int y, int m, int d)
{
    struct tm tm = { .tm_year = y - 1900, .tm_mon = m - 1, .tm_mday = d };
    return (long long)timegm(&tm);
}

static void format_utc(long long t, char *out, size_t size)
{
    if (t <= 0) {
        snprintf(out, size, "never");
        return;
    }
    time_t tt = (time_t)t;
    struct tm tm;
    gmtime_r(&tt, &tm);
    strftime(out, size, "%Y-%m-%d %H:%M:%S UTC", &tm);
}

enum lk_status export_parse_from(const char *text, long long now_unix, const char *tz,
                                 struct export_plan *plan, struct lk_error *err)
{
    memset(plan, 0, sizeof *plan);
    snprintf(plan->timezone, sizeof plan->timezone, "%s", tz && *tz ? tz : "America/Los_Angeles");
    if (!text || !*text)
        return err_set(err, LK_USAGE, "--from is required: afterLastIncrement or a date YYYY-MM-DD");
    snprintf(plan->from_text, sizeof plan->from_text, "%.31s", text);
    if (strcmp(text, "beginning") == 0)
        return err_set(err, LK_REFUSED,
                       "--from beginning is refused: a full export of a large object exceeds Zuora's time "
                       "limit (a query runs at most 3 hours) and fails; export from a date (--from YYYY-MM-DD), "
                       "or use the manual full-export flow");
    if (strcmp(text, "afterLastIncrement") == 0) {
        plan->from = EXPORT_FROM_LAST_INCREMENT;
        return LK_OK;
    }
    int y, m, d;
    if (!parse_date(text, &y, &m, &d))
        return err_set(err, LK_USAGE,
                       "invalid --from '%.64s': expected afterLastIncrement or a real calendar date YYYY-MM-DD",
                       text);
    long long day = naive_unix(y, m, d);
    long long today = now_unix - now_unix % 86400;
    if (day > today)
        return err_set(err, LK_USAGE, "invalid --from %s: the date is in the future", text);
    plan->from = EXPORT_FROM_DATE;
    plan->days_back = (int)((today - day) / 86400);
    plan->needs_second_confirmation = plan->days_back > EXPORT_LONG_RANGE_DAYS;
    /* The runbook's promise: "--from D" exports the changes since D-1. */
    long long before = day - 86400;
    time_t bt = (time_t)before;
    struct tm tm;
    gmtime_r(&bt, &tm);
    strftime(plan->incremental_time, sizeof plan->incremental_time, "%Y-%m-%d 00:00:00", &tm);
    return zuora_tenant_to_utc(plan->timezone, before, &plan->incremental_utc, err);
}

void export_query_hash(const char *zoql, char out[65])
{
    /* The deleted column is part of what Zuora compares between jobs. */
    char *text = xasprintf("%s\ndeleted:IsDeleted:Boolean", zoql ? zoql : "");
    sha256_hex(text, strlen(text), out);
    free(text);
}

static bool same_query(const char *a, const char *b)
{
    /* Whitespace at the ends is not a change Zuora would notice. */
    while (*a == ' ' || *a == '\n' || *a == '\t')
        a++;
    while (*b == ' ' || *b == '\n' || *b == '\t')
        b++;
    size_t la = strlen(a), lb = strlen(b);
    while (la && (a[la - 1] == ' ' || a[la - 1] == '\n' || a[la - 1] == '\t'))
        la--;
    while (lb && (b[lb - 1] == ' ' || b[lb - 1] == '\n' || b[lb - 1] == '\t'))
        lb--;
    return la == lb && memcmp(a, b, la) == 0;
}

static void decide_full(struct export_object *o, const struct jobstore_object_history *h)
{
    if (!h->last_job_id) {
        o->full = true;
        if (h->other_project)
            snprintf(o->why, sizeof o->why, "full load: a different project (last exported in %.100s)",
                     h->other_project);
        else
            snprintf(o->why, sizeof o->why, "full load: new object in this session");
        return;
    }
    bool changed = false;
    if (h->last_query && o->object->zoql)
        changed = !same_query(h->last_query, o->object->zoql);
    else if (h->sent_query_hash)
        changed = strcmp(h->sent_query_hash, o->query_hash) != 0;
    if (changed) {
        o->full = true;
        snprintf(o->why, sizeof o->why, "full load: query changed since job %.40s", h->last_job_id);
    } else {
        o->full = false;
        snprintf(o->why, sizeof o->why, "incremental");
    }
}

static void never_copied(struct export_object *o, const struct jobstore_object_history *h, const char *found)
{
    snprintf(o->problem, sizeof o->problem,
             "its last increment (job %.40s) was never copied to the raw bucket: lakeop has no record of a copy, "
             "and %.700s", h->increment_job_id, found);
}

/* lakeop has no record of the increment's copy, yet the scheduled exporter
 * (or another tool) may have made it: the lake's own metadata says.  A copy
 * found is recorded (jobstore_mark_found_in_lake) and its time returned in
 * *copied; otherwise o->problem says exactly what was found. */
static enum lk_status find_copy_in_lake(struct lk_ctx *ctx, struct export_object *o,
                                        const struct jobstore_object_history *h, long long *copied,
                                        struct lk_error *err)
{
    *copied = 0;
    const char *raw = o->object->raw;
    if (!raw || !*raw) {
        never_copied(o, h, "no raw target is configured (raw = ...) to look for one in the lake");
        return LK_OK;
    }
    struct store *st = NULL;
    struct lakecopy_found f;
    if (store_open(ctx->env, ctx->http, &st, err) != LK_OK) {
        char why[700];
        snprintf(why, sizeof why, "the lake could not be asked: %.600s", err->message);
        never_copied(o, h, why);
        err_clear(err);
        return LK_OK;
    }
    struct lakecopy_want want = { h->increment_job_id, h->increment_batch_id, h->increment_file_ids };
    lakecopy_find(st, raw, o->object->name, &want, &f);
    store_free(st);
    if (f.verdict != LAKECOPY_FOUND) {
        never_copied(o, h, f.what);
        return LK_OK;
    }
    enum lk_status rc = jobstore_mark_found_in_lake(ctx->db, ctx->env->name, o->object->name, h->increment_job_id,
                                                    h->increment_batch_id, raw, f.metadata_url, f.copied_unix, err);
    if (rc != LK_OK)
        return rc;
    snprintf(o->lake_metadata, sizeof o->lake_metadata, "%s", f.metadata_url);
    *copied = f.copied_unix;
    return LK_OK;
}

static enum lk_status check_ingested(struct lk_ctx *ctx, struct export_object *o,
                                     const struct jobstore_object_history *h, struct lk_error *err)
{
    o->checked = true;
    o->safe = true;
    o->increment_job_id = xstrdup(h->increment_job_id);
    o->copied_unix = h->increment_copied_unix;
    if (o->full)
        return LK_OK;   /* a full load loses nothing */
    if (h->running_job_id) {
        o->safe = false;
        snprintf(o->problem, sizeof o->problem, "job %.40s with this object has not finished", h->running_job_id);
        return LK_OK;
    }
    if (!h->increment_job_id)
        return LK_OK;   /* no increment yet: nothing to lose */
    if (h->increment_found_in_lake) {
        char *meta = copy_metadata_url(o->object->raw, o->object->name);
        snprintf(o->lake_metadata, sizeof o->lake_metadata, "%s", meta ? meta : "its metadata");
        free(meta);
    }
    if (!o->copied_unix) {
        enum lk_status rc = find_copy_in_lake(ctx, o, h, &o->copied_unix, err);
        if (rc != LK_OK || !o->copied_unix) {
            o->safe = false;
            return rc;
        }
    }
    char copied[40], succeeded[40], how[600];
    format_utc(o->copied_unix, copied, sizeof copied);
    if (o->lake_metadata[0])
        snprintf(how, sizeof how, "found in the lake, %.300s written %s (by the scheduled exporter or another tool)",
                 o->lake_metadata, copied);
    else
        snprintf(how, sizeof how, "copied %s", copied);
    if (!o->object->stage || !*o->object->stage) {
        o->safe = false;
        snprintf(o->problem, sizeof o->problem,
                 "increment %s, but no stage is configured for it (stage = ... in [object \"%.60s\"]), "
                 "so lakeop cannot tell whether the lake ingested it", how, o->object->name);
        return LK_OK;
    }
    const char *dag = ctx->env->airflow_dag && *ctx->env->airflow_dag ? ctx->env->airflow_dag : "supporter_experience";
    enum lk_status st = airflow_task_last_success(ctx, dag, o->object->stage, &o->stage_success_unix, err);
    if (st == LK_NOTFOUND) {
        /* A stage missing from the DAG cannot vouch for the increment. */
        o->safe = false;
        snprintf(o->problem, sizeof o->problem, "increment %s, but %.300s", how, err->message);
        err_clear(err);
        return LK_OK;
    }
    if (st != LK_OK) {
        err_prefix(err, "checking that the lake ingested the last increment of %s", o->object->name);
        return st;
    }
    if (o->stage_success_unix <= o->copied_unix) {
        o->safe = false;
        format_utc(o->stage_success_unix, succeeded, sizeof succeeded);
        snprintf(o->problem, sizeof o->problem,
                 "increment (job %.40s) %s; stage %.60s last succeeded %s: not ingested yet", h->increment_job_id, how,
                 o->object->stage, succeeded);
    }
    return LK_OK;
}

enum lk_status export_note_last_completed(struct lk_ctx *ctx, struct zuora_client *zc, char *job_id_out,
                                          size_t job_id_size, struct lk_error *err)
{
    const struct cfg_env *env = ctx->env;
    if (job_id_out && job_id_size)
        job_id_out[0] = '\0';
    if (!env->zuora_partner || !*env->zuora_partner || !env->zuora_project || !*env->zuora_project)
        return LK_OK;
    struct zuora_job job;
    enum lk_status st = zuora_last_completed(zc, &job, err);
    if (st == LK_NOTFOUND) {
        err_clear(err);
        return LK_OK;   /* a new session: nothing completed yet */
    }
    if (st == LK_OK) {
        st = jobstore_save_job(ctx->db, env->name, &job, JOBSTORE_SCHEDULED, NULL, env->zuora_timezone, err);
        if (st == LK_OK && job_id_out)
            snprintf(job_id_out, job_id_size, "%s", job.id);
    }
    zuora_job_free(&job);
    if (st != LK_OK)
        err_prefix(err, "asking Zuora for the last completed job of %s/%s", env->zuora_partner, env->zuora_project);
    return st;
}

enum lk_status export_plan_build(struct lk_ctx *ctx, const char *from, const char *const *names,
                                 size_t n_names, bool force, long long now_unix,
                                 struct export_plan *plan, struct lk_error *err)
{
    const struct cfg_env *env = ctx->env;
    enum lk_status st = export_parse_from(from, now_unix, env->zuora_timezone, plan, err);
    if (st != LK_OK)
        return st;
    plan->forced = force;
    if (env->n_objects == 0)
        return err_set(err, LK_USAGE, "no [object \"NAME\"] sections are configured: nothing to export");
    /* The scheduled exporter moves the session too: its last job must
     * count before anything is decided. */
    struct zuora_client *zc = zuora_client_for(ctx);
    st = export_note_last_completed(ctx, zc, NULL, 0, err);
    zuora_client_free(zc);
    if (st != LK_OK)
        return st;
    size_t n = n_names ? n_names : env->n_objects;
    if (n > 50)
        return err_set(err, LK_USAGE, "Zuora takes at most 50 queries per job; %zu objects were selected", n);
    plan->objects = xcalloc(n, sizeof *plan->objects);
    for (size_t i = 0; i < n; i++) {
        const struct cfg_object *obj = n_names ? cfg_object_find(env, names[i]) : &env->objects[i];
        if (!obj) {
            struct buf known = BUF_INIT;
            for (size_t k = 0; k < env->n_objects; k++)
                buf_printf(&known, "%s%s", k ? ", " : "", env->objects[k].name);
            err_set(err, LK_USAGE, "unknown object '%.80s'; configured objects: %.700s", names[i], buf_cstr(&known));
            buf_free(&known);
            return LK_USAGE;
        }
        for (size_t k = 0; k < plan->n_objects; k++)
            if (plan->objects[k].object == obj)
                return err_set(err, LK_USAGE, "object %.80s is named twice", obj->name);
        if (!obj->zoql || !*obj->zoql)
            return err_set(err, LK_USAGE, "[object \"%.80s\"] has no zoql query", obj->name);
        struct export_object *o = &plan->objects[plan->n_objects++];
        o->object = obj;
        export_query_hash(obj->zoql, o->query_hash);
        struct jobstore_object_history h;
        st = jobstore_object_history(ctx->db, env->name, env->zuora_partner, env->zuora_project, obj->name, &h, err);
        if (st != LK_OK)
            return st;
        decide_full(o, &h);
        if (plan->from == EXPORT_FROM_LAST_INCREMENT) {
            st = check_ingested(ctx, o, &h, err);
            if (st != LK_OK && force) {
                /* --force: an unreachable Airflow does not block, but the plan says so. */
                o->safe = false;
                snprintf(o->problem, sizeof o->problem, "not checked: %.300s", err->message);
                st = LK_OK;
            }
            if (!o->safe)
                plan->unsafe = true;
        }
        jobstore_object_history_free(&h);
        if (st != LK_OK)
            return st;
    }
    return LK_OK;
}

void export_plan_free(struct export_plan *plan)
{
    for (size_t i = 0; i < plan->n_objects; i++)
        free(plan->objects[i].increment_job_id);
    free(plan->objects);
    plan->objects = NULL;
    plan->n_objects = 0;
}

void export_plan_describe(const struct export_plan *plan, struct buf *out)
{
    if (plan->from == EXPORT_FROM_DATE) {
        char utc[40];
        format_utc(plan->incremental_utc, utc, sizeof utc);
        buf_printf(out, "Export from %s: incrementalTime = \"%s\" (%s, = %s), %d day%s back\n", plan->from_text,
                   plan->incremental_time, plan->timezone, utc, plan->days_back, plan->days_back == 1 ? "" : "s");
    } else {
        buf_printf(out, "Export after the last increment: no incrementalTime (each object continues from its last job)\n");
    }
    for (size_t i = 0; i < plan->n_objects; i++) {
        const struct export_object *o = &plan->objects[i];
        buf_printf(out, "  %-24s %s", o->object->name, o->why);
        if (o->checked && !o->safe)
            buf_printf(out, "  NOT INGESTED: %s", o->problem);
        buf_putc(out, '\n');
        if (o->checked && o->safe && o->lake_metadata[0]) {
            char when[40];
            format_utc(o->copied_unix, when, sizeof when);
            buf_printf(out, "  %-24s copy of job %s found in the lake: %s written %s (by the scheduled exporter "
                       "or another tool)\n", "", o->increment_job_id, o->lake_metadata, when);
        }
    }
    if (plan->needs_second_confirmation)
        buf_printf(out, "Warning: %d days back is more than %d: a large export may exceed Zuora's time limits.\n",
                   plan->days_back, EXPORT_LONG_RANGE_DAYS);
}

void export_refusal_text(const struct export_plan *plan, struct buf *out)
{
    buf_puts(out, "refusing to export afterLastIncrement: the lake has not ingested the last increment of ");
    int k = 0;
    for (size_t i = 0; i < plan->n_objects; i++) {
        const struct export_object *o = &plan->objects[i];
        if (!o->checked || o->safe)
            continue;
        buf_printf(out, "%s%s (%s)", k++ ? "; " : "", o->object->name, o->problem);
    }
    buf_puts(out, ". An export without incrementalTime moves the session on, and the next copy would "
                  "overwrite the raw file. Either run the stage (lakeop clear TASK_ID, or in Airflow) and "
                  "try again, or export from a date: lakeop export --from YYYY-MM-DD. --force overrides (audited).");
}

json_t *export_plan_value(const struct export_plan *plan)
{
    json_t *root = json_object();
    json_object_set_new(root, "from", json_string(plan->from_text));
    json_object_set_new(root, "incrementalTime",
                        plan->incremental_time[0] ? json_string(plan->incremental_time) : json_null());
    if (plan->incremental_time[0]) {
        char utc[40];
        time_t t = (time_t)plan->incremental_utc;
        struct tm tm;
        gmtime_r(&t, &tm);
        strftime(utc, sizeof utc, "%Y-%m-%dT%H:%M:%SZ", &tm);
        json_object_set_new(root, "incrementalTimeUtc", json_string(utc));
        json_object_set_new(root, "daysBack", json_integer(plan->days_back));
    }
    json_object_set_new(root, "timezone", json_string(plan->timezone));
    json_object_set_new(root, "force", json_boolean(plan->forced));
    json_t *objs = json_array();
    for (size_t i = 0; i < plan->n_objects; i++) {
        const struct export_object *o = &plan->objects[i];
        json_t *jo = json_object();
        json_object_set_new(jo, "name", json_string(o->object->name));
        json_object_set_new(jo, "full", json_boolean(o->full));
        json_object_set_new(jo, "why", json_string(o->why));
        if (o->checked) {
            json_object_set_new(jo, "ingested", json_boolean(o->safe));
            if (o->lake_metadata[0])
                json_object_set_new(jo, "copyFoundInLake", json_string(o->lake_metadata));
            if (!o->safe)
                json_object_set_new(jo, "problem", json_string(o->problem));
        }
        json_array_append_new(objs, jo);
    }
    json_object_set_new(root, "objects", objs);
    return root;
}

char *export_plan_json(const struct export_plan *plan)
{
    json_t *root = export_plan_value(plan);
    char *text = jx_dump(root);
    json_decref(root);
    return text;
}

char *export_audit_params(const char *from, const struct export_plan *plan, bool force)
{
    json_t *root = json_object();
    json_object_set_new(root, "from", json_string(from ? from : ""));
    json_object_set_new(root, "incrementalTime",
                        plan && plan->incremental_time[0] ? json_string(plan->incremental_time) : json_null());
    json_t *objs = json_array();
    json_t *overridden = json_array();
    for (size_t i = 0; plan && i < plan->n_objects; i++) {
        const struct export_object *o = &plan->objects[i];
        json_array_append_new(objs, json_string(o->object->name));
        if (force && o->checked && !o->safe) {
            char *line = xasprintf("%s: %s", o->object->name, o->problem);
            json_array_append_new(overridden, json_string(line));
            free(line);
        }
    }
    json_object_set_new(root, "objects", objs);
    json_object_set_new(root, "force", json_boolean(force));
    if (json_array_size(overridden))
        json_object_set_new(root, "overridden", overridden);
    else
        json_decref(overridden);
    if (plan && plan->n_objects)
        json_object_set_new(root, "plan", export_plan_value(plan));
    char *text = jx_dump(root);
    json_decref(root);
    return text;
}

enum lk_status export_submit(struct lk_ctx *ctx, struct zuora_client *zc,
                             const struct export_plan *plan, struct zuora_job *job_out,
                             struct lk_error *err)
{
    const struct cfg_env *env = ctx->env;
    struct zuora_query *queries = xcalloc(plan->n_objects ? plan->n_objects : 1, sizeof *queries);
    struct jobstore_sent_query *sent = xcalloc(plan->n_objects ? plan->n_objects : 1, sizeof *sent);
    for (size_t i = 0; i < plan->n_objects; i++) {
        queries[i].name = plan->objects[i].object->name;
        queries[i].query = plan->objects[i].object->zoql;
        sent[i].object_name = plan->objects[i].object->name;
        sent[i].query_hash = plan->objects[i].query_hash;
    }
    const char *incremental = plan->from == EXPORT_FROM_DATE ? plan->incremental_time : NULL;
    struct zuora_submit s = { "lakeop-export", incremental, queries, plan->n_objects };
    enum lk_status st = zuora_submit(zc, &s, job_out, err);
    if (st == LK_OK) {
        st = jobstore_save_submitted(ctx->db, env->name, job_out, incremental, env->zuora_timezone,
                                     env->zuora_partner, env->zuora_project, sent, plan->n_objects, err);
        if (st != LK_OK)
            err_prefix(err, "job %s was submitted but not recorded", job_out->id);
    }
    free(sent);
    free(queries);
    return st;
}
