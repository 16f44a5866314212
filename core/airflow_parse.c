/* Airflow JSON bodies → the structs of airflow.h.  Pure: no network, so the
 * unit tests feed it strings.  The server is untrusted: a wrong type is
 * treated as absent, a missing identifier is an error, nothing aborts. */
#include "airflow.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mem.h"

/* A string member, copied; NULL when absent, null or not a string. */
static char *dup_str(const json_t *obj, const char *key)
{
    const json_t *v = json_object_get(obj, key);
    return json_is_string(v) ? xstrdup(json_string_value(v)) : NULL;
}

static bool get_bool(const json_t *obj, const char *key)
{
    const json_t *v = json_object_get(obj, key);
    return json_is_true(v);
}

static long long get_int(const json_t *obj, const char *key, long long absent)
{
    const json_t *v = json_object_get(obj, key);
    if (json_is_integer(v))
        return (long long)json_integer_value(v);
    if (json_is_real(v))
        return (long long)json_real_value(v);
    return absent;
}

static double get_number(const json_t *obj, const char *key, double absent)
{
    const json_t *v = json_object_get(obj, key);
    return json_is_number(v) ? json_number_value(v) : absent;
}

static json_t *load(const char *json, struct lk_error *err)
{
    json_error_t jerr;
    json_t *root = json_loads(json ? json : "", JSON_DECODE_ANY, &jerr);
    if (!root) {
        err_set(err, LK_FAIL, "Airflow answered with malformed JSON (line %d: %s)", jerr.line,
                jerr.text);
        return NULL;
    }
    if (!json_is_object(root)) {
        json_decref(root);
        err_set(err, LK_FAIL, "Airflow answered with JSON that is not an object");
        return NULL;
    }
    return root;
}

/* The array under key; an error naming it when missing. */
static const json_t *get_array(const json_t *root, const char *key, struct lk_error *err)
{
    const json_t *arr = json_object_get(root, key);
    if (!json_is_array(arr)) {
        err_set(err, LK_FAIL, "Airflow's answer has no \"%s\" list", key);
        return NULL;
    }
    return arr;
}

static long long total_of(const json_t *root)
{
    return get_int(root, "total_entries", -1);
}

/* What differs between Airflow's list pages: the array's member and how one
 * item is read and freed.  Items go through void * so that one loop
 * (parse_list) and one free (list_items_free) serve every list. */
struct list_kind {
    const char *key;
    size_t size;
    enum lk_status (*from)(const json_t *o, void *item, struct lk_error *err);
    void (*free_item)(void *item);
};

/* Appends the items of root[kind->key] to *items (n of them already there,
 * one spare slot kept); stops at the first bad item, which is freed. */
static enum lk_status parse_list(const char *json, const struct list_kind *kind, void **items,
                                 size_t *n, long long *total_entries, struct lk_error *err)
{
    json_t *root = load(json, err);
    if (!root)
        return LK_FAIL;
    const json_t *arr = get_array(root, kind->key, err);
    if (!arr) {
        json_decref(root);
        return LK_FAIL;
    }
    if (total_entries)
        *total_entries = total_of(root);
    size_t count = json_array_size(arr);
    *items = xrealloc(*items, (*n + count + 1) * kind->size);
    enum lk_status st = LK_OK;
    for (size_t i = 0; i < count && st == LK_OK; i++) {
        void *item = (char *)*items + *n * kind->size;
        st = kind->from(json_array_get(arr, i), item, err);
        if (st == LK_OK)
            (*n)++;
        else
            kind->free_item(item);
    }
    json_decref(root);
    return st;
}

static void list_items_free(void *items, size_t n, const struct list_kind *kind)
{
    for (size_t i = 0; i < n; i++)
        kind->free_item((char *)items + i * kind->size);
    free(items);
}

/* schedule_interval is null, a string, or a tagged object
 * ({"__type":"CronExpression","value":"0 9 * * *"}, {"__type":"TimeDelta",...}). */
static char *schedule_text(const json_t *obj)
{
    const json_t *v = json_object_get(obj, "schedule_interval");
    if (json_is_string(v))
        return xstrdup(json_string_value(v));
    if (json_is_object(v)) {
        const json_t *value = json_object_get(v, "value");
        if (json_is_string(value))
            return xstrdup(json_string_value(value));
        if (json_is_object(value) || json_object_get(v, "days")) {
            long long days = get_int(v, "days", 0);
            long long secs = get_int(v, "seconds", 0);
            return xasprintf("every %lldd %02lld:%02lld:%02lld", days, secs / 3600,
                             secs / 60 % 60, secs % 60);
        }
        char *dumped = json_dumps(v, JSON_COMPACT);
        char *out = xstrdup(dumped ? dumped : "");
        free(dumped);
        return out;
    }
    return NULL;
}

static enum lk_status dag_from(const json_t *o, void *item, struct lk_error *err)
{
    struct airflow_dag *d = item;
    memset(d, 0, sizeof *d);
    d->dag_id = dup_str(o, "dag_id");
    if (!d->dag_id)
        return err_set(err, LK_FAIL, "Airflow listed a DAG without a dag_id");
    d->description = dup_str(o, "description");
    d->schedule = schedule_text(o);
    d->next_dagrun = dup_str(o, "next_dagrun");
    d->is_paused = get_bool(o, "is_paused");
    d->is_active = json_object_get(o, "is_active") ? get_bool(o, "is_active") : true;
    return LK_OK;
}

enum lk_status airflow_parse_dag(const char *json, struct airflow_dag *out, struct lk_error *err)
{
    json_t *root = load(json, err);
    if (!root)
        return LK_FAIL;
    enum lk_status st = dag_from(root, out, err);
    if (st != LK_OK)
        airflow_dag_free(out);
    json_decref(root);
    return st;
}

static void dag_free_item(void *item)
{
    airflow_dag_free(item);
}

static const struct list_kind dag_kind = { "dags", sizeof(struct airflow_dag), dag_from,
                                           dag_free_item };

enum lk_status airflow_parse_dags(const char *json, struct airflow_dag_list *out,
                                  long long *total_entries, struct lk_error *err)
{
    void *items = out->items;
    enum lk_status st = parse_list(json, &dag_kind, &items, &out->n, total_entries, err);
    out->items = items;
    return st;
}

static int cmp_task(const void *a, const void *b)
{
    const struct airflow_task *x = a, *y = b;
    return strcmp(x->task_id, y->task_id);
}

static void task_free(struct airflow_task *t)
{
    free(t->task_id);
    free(t->operator_name);
    free(t->trigger_rule);
    free(t->owner);
    for (size_t i = 0; i < t->n_downstream; i++)
        free(t->downstream[i]);
    free(t->downstream);
    memset(t, 0, sizeof *t);
}

static enum lk_status task_from(const json_t *o, void *item, struct lk_error *err)
{
    struct airflow_task *t = item;
    memset(t, 0, sizeof *t);
    t->task_id = dup_str(o, "task_id");
    if (!t->task_id)
        return err_set(err, LK_FAIL, "Airflow listed a task without a task_id");
    t->operator_name = dup_str(o, "operator_name");
    t->trigger_rule = dup_str(o, "trigger_rule");
    t->owner = dup_str(o, "owner");
    t->retries = (int)get_int(o, "retries", 0);
    const json_t *down = json_object_get(o, "downstream_task_ids");
    size_t n = json_is_array(down) ? json_array_size(down) : 0;
    t->downstream = xcalloc(n + 1, sizeof *t->downstream);
    for (size_t i = 0; i < n; i++) {
        const json_t *id = json_array_get(down, i);
        if (json_is_string(id))
            t->downstream[t->n_downstream++] = xstrdup(json_string_value(id));
    }
    return LK_OK;
}

static void task_free_item(void *item)
{
    task_free(item);
}

static const struct list_kind task_kind = { "tasks", sizeof(struct airflow_task), task_from,
                                            task_free_item };

enum lk_status airflow_parse_tasks(const char *json, struct airflow_task_list *out,
                                   struct lk_error *err)
{
    void *items = out->items;
    enum lk_status st = parse_list(json, &task_kind, &items, &out->n, NULL, err);
    out->items = items;
    if (st == LK_OK && out->n > 1)
        qsort(out->items, out->n, sizeof *out->items, cmp_task);
    return st;
}

static enum lk_status run_from(const json_t *o, void *item, struct lk_error *err)
{
    struct airflow_run *r = item;
    memset(r, 0, sizeof *r);
    r->dag_run_id = dup_str(o, "dag_run_id");
    if (!r->dag_run_id)
        return err_set(err, LK_FAIL, "Airflow listed a DAG run without a dag_run_id");
    r->dag_id = dup_str(o, "dag_id");
    r->logical_date = dup_str(o, "logical_date");
    r->execution_date = dup_str(o, "execution_date");
    if (!r->execution_date && r->logical_date)
        r->execution_date = xstrdup(r->logical_date);
    r->start_date = dup_str(o, "start_date");
    r->end_date = dup_str(o, "end_date");
    r->run_type = dup_str(o, "run_type");
    r->state = dup_str(o, "state");
    r->note = dup_str(o, "note");
    r->external_trigger = get_bool(o, "external_trigger");
    return LK_OK;
}

enum lk_status airflow_parse_run(const char *json, struct airflow_run *out, struct lk_error *err)
{
    json_t *root = load(json, err);
    if (!root)
        return LK_FAIL;
    enum lk_status st = run_from(root, out, err);
    if (st != LK_OK)
        airflow_run_free(out);
    json_decref(root);
    return st;
}

static void run_free_item(void *item)
{
    airflow_run_free(item);
}

static const struct list_kind run_kind = { "dag_runs", sizeof(struct airflow_run), run_from,
                                           run_free_item };

enum lk_status airflow_parse_runs(const char *json, struct airflow_run_list *out,
                                  long long *total_entries, struct lk_error *err)
{
    void *items = out->items;
    enum lk_status st = parse_list(json, &run_kind, &items, &out->n, total_entries, err);
    out->items = items;
    return st;
}

static enum lk_status ti_from(const json_t *o, void *item, struct lk_error *err)
{
    struct airflow_ti *ti = item;
    memset(ti, 0, sizeof *ti);
    ti->task_id = dup_str(o, "task_id");
    if (!ti->task_id)
        return err_set(err, LK_FAIL, "Airflow listed a task instance without a task_id");
    ti->dag_id = dup_str(o, "dag_id");
    ti->dag_run_id = dup_str(o, "dag_run_id");
    ti->execution_date = dup_str(o, "execution_date");
    if (!ti->execution_date)
        ti->execution_date = dup_str(o, "logical_date");
    ti->start_date = dup_str(o, "start_date");
    ti->end_date = dup_str(o, "end_date");
    ti->state = dup_str(o, "state");
    /* "none" is the deprecated spelling of no state. */
    if (ti->state && (ti->state[0] == '\0' || strcmp(ti->state, "none") == 0))
        xfree(&ti->state);
    ti->hostname = dup_str(o, "hostname");
    ti->operator_name = dup_str(o, "operator");
    ti->queued_when = dup_str(o, "queued_when");
    ti->duration = get_number(o, "duration", -1);
    ti->try_number = (int)get_int(o, "try_number", 0);
    ti->max_tries = (int)get_int(o, "max_tries", 0);
    ti->map_index = (int)get_int(o, "map_index", -1);
    return LK_OK;
}

static void ti_free_item(void *item)
{
    airflow_ti_free(item);
}

static const struct list_kind ti_kind = { "task_instances", sizeof(struct airflow_ti), ti_from,
                                          ti_free_item };

enum lk_status airflow_parse_task_instances(const char *json, struct airflow_ti_list *out,
                                            long long *total_entries, struct lk_error *err)
{
    void *items = out->items;
    enum lk_status st = parse_list(json, &ti_kind, &items, &out->n, total_entries, err);
    out->items = items;
    return st;
}

/* Problem JSON's title and detail as the server wrote them; detail may be
 * null, a string, or (validation errors) a Python repr or any JSON value. */
static void problem_words(const char *body, char **title, char **detail)
{
    *title = NULL;
    *detail = NULL;
    json_error_t jerr;
    json_t *root = body ? json_loads(body, JSON_DECODE_ANY, &jerr) : NULL;
    if (json_is_object(root)) {
        *title = dup_str(root, "title");
        const json_t *d = json_object_get(root, "detail");
        if (json_is_string(d)) {
            *detail = xstrdup(json_string_value(d));
        } else if (d && !json_is_null(d)) {
            char *dumped = json_dumps(d, JSON_COMPACT | JSON_ENCODE_ANY);
            *detail = xstrdup(dumped);
            free(dumped);
        }
        /* Airflow 3 and proxies answer {"detail": ...} or {"error": ...} only. */
        if (!*title && !*detail)
            *detail = dup_str(root, "error");
    } else if (body && body[0]) {
        /* A proxy's HTML or plain text: keep its start, for people. */
        *detail = xstrndup(body, 300);
    }
    json_decref(root);
}

enum lk_status airflow_error_from_response(long http_status, const char *body, const char *what,
                                           const char *user, struct lk_error *err)
{
    char *title, *detail;
    problem_words(body, &title, &detail);
    enum lk_status st;
    const char *about = what && what[0] ? what : "the request";
    switch (http_status) {
    case 401:
        st = err_set(err, LK_FAIL,
                     "Airflow refused the credentials for user %s (HTTP 401): check airflow.user "
                     "and airflow.password (or LAKEOP_AIRFLOW_USER / LAKEOP_AIRFLOW_PASSWORD)",
                     user && user[0] ? user : "(none)");
        break;
    case 403:
        st = err_set(err, LK_FAIL,
                     "Airflow user %s lacks the permission for %s (HTTP 403): ask an Airflow "
                     "admin to grant it",
                     user && user[0] ? user : "(none)", about);
        break;
    case 404:
        st = err_set(err, LK_NOTFOUND, "Airflow has no %s", about);
        break;
    case 400:
        st = err_set(err, LK_FAIL, "Airflow rejected %s as invalid", about);
        break;
    case 409:
        st = err_set(err, LK_FAIL, "Airflow refused %s: it conflicts with what exists", about);
        break;
    default:
        st = err_set(err, LK_FAIL, "Airflow failed %s (HTTP %ld)", about, http_status);
        break;
    }
    err_remote(err, http_status, title, detail, NULL);
    free(title);
    free(detail);
    return st;
}

bool airflow_state_finished(const char *state)
{
    static const char *const finished[] = { "success", "failed", "upstream_failed", "skipped",
                                            "removed" };
    if (!state)
        return false;
    for (size_t i = 0; i < sizeof finished / sizeof finished[0]; i++)
        if (strcmp(state, finished[i]) == 0)
            return true;
    return false;
}

static bool digits(const char **p, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if ((*p)[i] < '0' || (*p)[i] > '9')
            return false;
        v = v * 10 + ((*p)[i] - '0');
    }
    *p += n;
    *out = v;
    return true;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's
 * algorithm): timegm() is not in C11 and mktime() depends on TZ. */
static long long days_from_civil(int y, int m, int d)
{
    y -= m <= 2;
    const long long era = (y >= 0 ? y : y - 399) / 400;
    const long long yoe = y - era * 400;
    const long long doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    const long long doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

bool airflow_parse_time(const char *iso, long long *unix_out)
{
    if (!iso)
        return false;
    const char *p = iso;
    int y, mo, d, h = 0, mi = 0, s = 0;
    if (!digits(&p, 4, &y) || *p++ != '-' || !digits(&p, 2, &mo) || *p++ != '-' ||
        !digits(&p, 2, &d))
        return false;
    if (mo < 1 || mo > 12 || d < 1 || d > 31)
        return false;
    if (*p == 'T' || *p == ' ') {
        p++;
        if (!digits(&p, 2, &h) || *p++ != ':' || !digits(&p, 2, &mi))
            return false;
        if (*p == ':') {
            p++;
            if (!digits(&p, 2, &s))
                return false;
        }
        if (*p == '.' || *p == ',') {
            p++;
            while (*p >= '0' && *p <= '9')
                p++;
        }
    }
    if (h > 23 || mi > 59 || s > 60)
        return false;
    long long offset = 0;
    if (*p == 'Z' || *p == 'z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        int sign = *p++ == '-' ? -1 : 1, oh, om = 0;
        if (!digits(&p, 2, &oh))
            return false;
        if (*p == ':')
            p++;
        if (*p && !digits(&p, 2, &om))
            return false;
        offset = sign * (oh * 3600LL + om * 60LL);
    }
    if (*p)
        return false;
    *unix_out = days_from_civil(y, mo, d) * 86400 + h * 3600LL + mi * 60LL + s - offset;
    return true;
}

void airflow_dag_free(struct airflow_dag *d)
{
    if (!d)
        return;
    free(d->dag_id);
    free(d->description);
    free(d->schedule);
    free(d->next_dagrun);
    memset(d, 0, sizeof *d);
}

void airflow_dag_list_free(struct airflow_dag_list *l)
{
    if (!l)
        return;
    list_items_free(l->items, l->n, &dag_kind);
    memset(l, 0, sizeof *l);
}

void airflow_task_list_free(struct airflow_task_list *l)
{
    if (!l)
        return;
    list_items_free(l->items, l->n, &task_kind);
    memset(l, 0, sizeof *l);
}

void airflow_run_free(struct airflow_run *r)
{
    if (!r)
        return;
    free(r->dag_run_id);
    free(r->dag_id);
    free(r->logical_date);
    free(r->execution_date);
    free(r->start_date);
    free(r->end_date);
    free(r->run_type);
    free(r->state);
    free(r->note);
    memset(r, 0, sizeof *r);
}

void airflow_run_list_free(struct airflow_run_list *l)
{
    if (!l)
        return;
    list_items_free(l->items, l->n, &run_kind);
    memset(l, 0, sizeof *l);
}

void airflow_ti_free(struct airflow_ti *ti)
{
    if (!ti)
        return;
    free(ti->task_id);
    free(ti->dag_id);
    free(ti->dag_run_id);
    free(ti->execution_date);
    free(ti->start_date);
    free(ti->end_date);
    free(ti->state);
    free(ti->hostname);
    free(ti->operator_name);
    free(ti->queued_when);
    memset(ti, 0, sizeof *ti);
}

void airflow_ti_list_free(struct airflow_ti_list *l)
{
    if (!l)
        return;
    list_items_free(l->items, l->n, &ti_kind);
    memset(l, 0, sizeof *l);
}
