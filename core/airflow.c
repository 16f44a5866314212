/* The Airflow REST client: URLs, auth, paging and error mapping over
 * core/http.h.  Bodies are parsed in airflow_parse.c. */
#include "airflow.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mem.h"
#include "stages.h"

#define AIRFLOW_PAGE 100

/* One call's settings, resolved from the context. */
struct call {
    struct lk_ctx *ctx;
    const char *method;
    char *url;                 /* owned */
    const char *body;
    const char *accept;        /* NULL: application/json */
    const char *what;          /* for messages: "DAG x", "DAG run y of DAG x" */
    int max_attempts;          /* 0: the HTTP layer's default */
    long timeout_ms;
};

static enum lk_status base_url(const struct lk_ctx *ctx, const char **out, struct lk_error *err)
{
    const char *url = ctx->env ? ctx->env->airflow_url : NULL;
    if (!url || !url[0])
        return err_set(err, LK_USAGE,
                       "no Airflow URL: set airflow.url in the environment's section or "
                       "LAKEOP_AIRFLOW_URL");
    *out = url;
    return LK_OK;
}

/* base + "/api/v1" + path, without a doubled slash. */
static char *api_url(const char *base, const char *path)
{
    size_t len = strlen(base);
    while (len && base[len - 1] == '/')
        len--;
    return xasprintf("%.*s/api/v1%s", (int)len, base, path);
}

static const char *user_of(const struct lk_ctx *ctx)
{
    return ctx->env && ctx->env->airflow_user ? ctx->env->airflow_user : "";
}

/* Performs the call; on a 2xx answer LK_OK with the body in resp.  Any other
 * answer becomes an error in our words plus the server's own. */
static enum lk_status perform(struct call *c, struct http_response *resp, struct lk_error *err)
{
    const struct cfg_env *env = c->ctx->env;
    char accept[64];
    snprintf(accept, sizeof accept, "Accept: %s", c->accept ? c->accept : "application/json");
    const char *headers[] = { accept, "Content-Type: application/json", NULL };
    struct http_request req = { 0 };
    req.method = c->method;
    req.url = c->url;
    req.headers = headers;
    req.body = c->body;
    req.body_len = c->body ? strlen(c->body) : 0;
    /* Whatever the server echoes (a URL, a body) never shows the password. */
    http_client_add_secret(c->ctx->http, env->airflow_password);
    if (env->airflow_user && env->airflow_user[0]) {
        req.basic_user = env->airflow_user;
        req.basic_password = env->airflow_password ? env->airflow_password : "";
    }
    req.timeout_ms = c->timeout_ms ? c->timeout_ms : 30000;
    req.max_attempts = c->max_attempts;
    req.retry_budget_ms = 15000;
    req.cancel = c->ctx->cancel;
    http_response_init(resp);
    enum lk_status st = http_perform(c->ctx->http, &req, resp, err);
    if (st != LK_OK) {
        err_prefix(err, "Airflow at %s did not answer about %s", env->airflow_url,
                   c->what ? c->what : "request");
        return st;
    }
    if (resp->status >= 200 && resp->status < 300)
        return LK_OK;
    st = airflow_error_from_response(resp->status, buf_cstr(&resp->body), c->what, user_of(c->ctx),
                                     err);
    if (resp->request_id && err)
        err_remote(err, err->http_status, err->remote_code, err->remote_message,
                   resp->request_id);
    return st;
}

/* A GET (or other) call whose URL is base + path. */
static enum lk_status call_json(struct lk_ctx *ctx, const char *method, const char *path,
                                const char *body, const char *what, int max_attempts,
                                struct http_response *resp, struct lk_error *err)
{
    const char *base = NULL;
    enum lk_status st = base_url(ctx, &base, err);
    if (st != LK_OK) {
        http_response_init(resp);
        return st;
    }
    struct call c = { .ctx = ctx, .method = method, .url = api_url(base, path), .body = body,
                      .what = what, .max_attempts = max_attempts };
    st = perform(&c, resp, err);
    free(c.url);
    return st;
}

/* Percent-encoded path segments, owned by the caller. */
static char *esc(const char *s)
{
    return http_escape(s ? s : "", false);
}

enum lk_status airflow_ping(struct lk_ctx *ctx, char *version, size_t version_size,
                            struct lk_error *err)
{
    if (version_size)
        version[0] = '\0';
    struct http_response resp;
    /* /version answers without credentials on a real server, so a second
     * call proves them; a server without /version (404) is still fine. */
    enum lk_status st = call_json(ctx, "GET", "/version", NULL, "the version endpoint", 2, &resp,
                                  err);
    if (st == LK_OK) {
        json_error_t jerr;
        json_t *root = json_loads(buf_cstr(&resp.body), 0, &jerr);
        const json_t *v = json_object_get(root, "version");
        if (json_is_string(v) && version_size)
            snprintf(version, version_size, "%s", json_string_value(v));
        json_decref(root);
    } else if (resp.status == 0 || resp.status == 401 || resp.status == 403) {
        http_response_free(&resp);
        return st;
    }
    http_response_free(&resp);
    err_clear(err);
    st = call_json(ctx, "GET", "/dags?limit=1", NULL, "the list of DAGs", 2, &resp, err);
    http_response_free(&resp);
    return st;
}

enum lk_status airflow_list_dags(struct lk_ctx *ctx, struct airflow_dag_list *out,
                                 struct lk_error *err)
{
    memset(out, 0, sizeof *out);
    for (;;) {
        char path[96];
        snprintf(path, sizeof path, "/dags?limit=%d&offset=%zu", AIRFLOW_PAGE, out->n);
        struct http_response resp;
        enum lk_status st = call_json(ctx, "GET", path, NULL, "the list of DAGs", 0, &resp, err);
        long long total = -1;
        size_t before = out->n;
        if (st == LK_OK)
            st = airflow_parse_dags(buf_cstr(&resp.body), out, &total, err);
        http_response_free(&resp);
        if (st != LK_OK) {
            airflow_dag_list_free(out);
            return st;
        }
        /* An empty page ends it even when total_entries says otherwise
         * (DAGs removed while paging). */
        if (out->n == before || total < 0 || (long long)out->n >= total)
            return LK_OK;
    }
}

enum lk_status airflow_get_dag(struct lk_ctx *ctx, const char *dag_id, struct airflow_dag *out,
                               struct lk_error *err)
{
    memset(out, 0, sizeof *out);
    char *e = esc(dag_id);
    char *path = xasprintf("/dags/%s", e);
    char *what = xasprintf("DAG %s", dag_id);
    struct http_response resp;
    enum lk_status st = call_json(ctx, "GET", path, NULL, what, 0, &resp, err);
    if (st == LK_OK)
        st = airflow_parse_dag(buf_cstr(&resp.body), out, err);
    http_response_free(&resp);
    free(what);
    free(path);
    free(e);
    return st;
}

enum lk_status airflow_set_paused(struct lk_ctx *ctx, const char *dag_id, bool paused,
                                  struct airflow_dag *out, struct lk_error *err)
{
    if (out)
        memset(out, 0, sizeof *out);
    char *e = esc(dag_id);
    char *path = xasprintf("/dags/%s?update_mask=is_paused", e);
    char *what = xasprintf("DAG %s", dag_id);
    struct http_response resp;
    enum lk_status st = call_json(ctx, "PATCH", path, paused ? "{\"is_paused\":true}"
                                                             : "{\"is_paused\":false}",
                                  what, 0, &resp, err);
    if (st == LK_OK && out)
        st = airflow_parse_dag(buf_cstr(&resp.body), out, err);
    http_response_free(&resp);
    free(what);
    free(path);
    free(e);
    return st;
}

enum lk_status airflow_list_tasks(struct lk_ctx *ctx, const char *dag_id,
                                  struct airflow_task_list *out, struct lk_error *err)
{
    memset(out, 0, sizeof *out);
    char *e = esc(dag_id);
    char *path = xasprintf("/dags/%s/tasks", e);
    char *what = xasprintf("DAG %s", dag_id);
    struct http_response resp;
    enum lk_status st = call_json(ctx, "GET", path, NULL, what, 0, &resp, err);
    if (st == LK_OK)
        st = airflow_parse_tasks(buf_cstr(&resp.body), out, err);
    if (st != LK_OK)
        airflow_task_list_free(out);
    http_response_free(&resp);
    free(what);
    free(path);
    free(e);
    return st;
}

/* One page of runs, newest first, appended to out. */
static enum lk_status runs_page(struct lk_ctx *ctx, const char *dag_id, size_t offset,
                                size_t limit, struct airflow_run_list *out, long long *total,
                                struct lk_error *err)
{
    char *e = esc(dag_id);
    char *path = xasprintf("/dags/%s/dagRuns?limit=%zu&offset=%zu&order_by=-execution_date", e,
                           limit, offset);
    char *what = xasprintf("DAG %s", dag_id);
    struct http_response resp;
    enum lk_status st = call_json(ctx, "GET", path, NULL, what, 0, &resp, err);
    if (st == LK_OK)
        st = airflow_parse_runs(buf_cstr(&resp.body), out, total, err);
    http_response_free(&resp);
    free(what);
    free(path);
    free(e);
    return st;
}

enum lk_status airflow_list_runs(struct lk_ctx *ctx, const char *dag_id, size_t max,
                                 struct airflow_run_list *out, struct lk_error *err)
{
    memset(out, 0, sizeof *out);
    for (;;) {
        size_t limit = AIRFLOW_PAGE;
        if (max && max - out->n < limit)
            limit = max - out->n;
        long long total = -1;
        size_t before = out->n;
        enum lk_status st = runs_page(ctx, dag_id, out->n, limit, out, &total, err);
        if (st != LK_OK) {
            airflow_run_list_free(out);
            return st;
        }
        if (out->n == before || total < 0 || (long long)out->n >= total || (max && out->n >= max))
            return LK_OK;
    }
}

enum lk_status airflow_latest_run(struct lk_ctx *ctx, const char *dag_id,
                                  struct airflow_run *out, struct lk_error *err)
{
    memset(out, 0, sizeof *out);
    struct airflow_run_list l = { 0 };
    long long total = -1;
    enum lk_status st = runs_page(ctx, dag_id, 0, 1, &l, &total, err);
    if (st == LK_OK && l.n == 0)
        st = err_set(err, LK_NOTFOUND, "DAG %s has no runs yet", dag_id);
    if (st == LK_OK) {
        *out = l.items[0];
        memset(&l.items[0], 0, sizeof l.items[0]);
    }
    airflow_run_list_free(&l);
    return st;
}

enum lk_status airflow_get_run(struct lk_ctx *ctx, const char *dag_id, const char *run_id,
                               struct airflow_run *out, struct lk_error *err)
{
    memset(out, 0, sizeof *out);
    char *e = esc(dag_id), *r = esc(run_id);
    char *path = xasprintf("/dags/%s/dagRuns/%s", e, r);
    char *what = xasprintf("DAG run %s of DAG %s", run_id, dag_id);
    struct http_response resp;
    enum lk_status st = call_json(ctx, "GET", path, NULL, what, 0, &resp, err);
    if (st == LK_OK)
        st = airflow_parse_run(buf_cstr(&resp.body), out, err);
    http_response_free(&resp);
    free(what);
    free(path);
    free(r);
    free(e);
    return st;
}

enum lk_status airflow_trigger(struct lk_ctx *ctx, const char *dag_id, const char *conf_json,
                               struct airflow_run *out, struct lk_error *err)
{
    memset(out, 0, sizeof *out);
    char *body;
    if (conf_json && conf_json[0]) {
        json_error_t jerr;
        json_t *conf = json_loads(conf_json, 0, &jerr);
        if (!json_is_object(conf)) {
            json_decref(conf);
            return err_set(err, LK_USAGE, "a run's conf must be a JSON object");
        }
        json_t *o = json_pack("{s:o}", "conf", conf);
        char *text = json_dumps(o, JSON_COMPACT);
        body = xstrdup(text);
        free(text);
        json_decref(o);
    } else {
        body = xstrdup("{}");
    }
    char *e = esc(dag_id);
    char *path = xasprintf("/dags/%s/dagRuns", e);
    char *what = xasprintf("a new run of DAG %s", dag_id);
    struct http_response resp;
    /* Not retried: a second POST would start a second run. */
    enum lk_status st = call_json(ctx, "POST", path, body, what, 1, &resp, err);
    if (st == LK_OK)
        st = airflow_parse_run(buf_cstr(&resp.body), out, err);
    http_response_free(&resp);
    free(what);
    free(path);
    free(e);
    free(body);
    return st;
}

static int cmp_ti(const void *a, const void *b)
{
    const struct airflow_ti *x = a, *y = b;
    int c = strcmp(x->task_id, y->task_id);
    if (c)
        return c;
    return (x->map_index > y->map_index) - (x->map_index < y->map_index);
}

enum lk_status airflow_list_task_instances(struct lk_ctx *ctx, const char *dag_id,
                                           const char *run_id, struct airflow_ti_list *out,
                                           struct lk_error *err)
{
    memset(out, 0, sizeof *out);
    char *e = esc(dag_id), *r = esc(run_id);
    char *what = xasprintf("DAG run %s of DAG %s", run_id, dag_id);
    enum lk_status st = LK_OK;
    for (;;) {
        char *path = xasprintf("/dags/%s/dagRuns/%s/taskInstances?limit=%d&offset=%zu", e, r,
                               AIRFLOW_PAGE, out->n);
        struct http_response resp;
        long long total = -1;
        size_t before = out->n;
        st = call_json(ctx, "GET", path, NULL, what, 0, &resp, err);
        if (st == LK_OK)
            st = airflow_parse_task_instances(buf_cstr(&resp.body), out, &total, err);
        http_response_free(&resp);
        free(path);
        if (st != LK_OK || out->n == before || total < 0 || (long long)out->n >= total)
            break;
    }
    if (st != LK_OK)
        airflow_ti_list_free(out);
    else if (out->n > 1)
        qsort(out->items, out->n, sizeof *out->items, cmp_ti);
    free(what);
    free(r);
    free(e);
    return st;
}

enum lk_status airflow_clear(struct lk_ctx *ctx, const char *dag_id,
                             const struct airflow_clear_opts *opts,
                             struct airflow_ti_list *out, struct lk_error *err)
{
    memset(out, 0, sizeof *out);
    char *body;
    enum lk_status st = stages_clear_body(opts, &body, err);
    if (st != LK_OK)
        return st;
    char *e = esc(dag_id);
    char *path = xasprintf("/dags/%s/clearTaskInstances", e);
    char *what = xasprintf("the clear of %s%s in DAG %s (run %s)", opts->task_ids[0],
                           opts->n_task_ids > 1 ? " and more" : "", dag_id, opts->dag_run_id);
    struct http_response resp;
    /* A real clear is not repeated on its own: the operator sees the
     * failure and decides (the dry run is harmless to retry). */
    st = call_json(ctx, "POST", path, body, what, opts->dry_run ? 0 : 1, &resp, err);
    if (st == LK_NOTFOUND && err && err->http_status == 404)
        /* The endpoint's 404 is an unknown DAG or run (the server's words
         * stay beside ours and say which). */
        err_set(err, LK_NOTFOUND, "Airflow has no DAG %s or no run %s in it", dag_id,
                opts->dag_run_id);
    if (st == LK_OK)
        st = airflow_parse_task_instances(buf_cstr(&resp.body), out, NULL, err);
    if (st != LK_OK)
        airflow_ti_list_free(out);
    http_response_free(&resp);
    free(what);
    free(path);
    free(e);
    free(body);
    return st;
}

enum lk_status airflow_task_log(struct lk_ctx *ctx, const char *dag_id, const char *run_id,
                                const char *task_id, int try_number, struct buf *out,
                                struct lk_error *err)
{
    if (try_number < 1)
        return err_set(err, LK_USAGE, "try numbers start at 1 (got %d)", try_number);
    const char *base = NULL;
    enum lk_status st = base_url(ctx, &base, err);
    if (st != LK_OK)
        return st;
    char *e = esc(dag_id), *r = esc(run_id), *t = esc(task_id);
    char *path = xasprintf("/dags/%s/dagRuns/%s/taskInstances/%s/logs/%d?full_content=true", e, r,
                           t, try_number);
    char *what = xasprintf("the log of try %d of task %s in run %s of DAG %s", try_number,
                           task_id, run_id, dag_id);
    struct call c = { .ctx = ctx, .method = "GET", .url = api_url(base, path),
                      .accept = "text/plain", .what = what, .timeout_ms = 60000 };
    struct http_response resp;
    st = perform(&c, &resp, err);
    if (st == LK_OK)
        buf_append(out, resp.body.data ? resp.body.data : "", resp.body.len);
    http_response_free(&resp);
    free(c.url);
    free(what);
    free(path);
    free(t);
    free(r);
    free(e);
    return st;
}

/* Runs finished no later than best cannot hold a newer success. */
static bool run_may_be_newer(const struct airflow_run *run, long long best)
{
    if (best == 0)
        return true;
    if (!run->state || (strcmp(run->state, "success") != 0 && strcmp(run->state, "failed") != 0))
        return true;
    long long end;
    return !airflow_parse_time(run->end_date, &end) || end > best;
}

enum lk_status airflow_task_last_success(struct lk_ctx *ctx, const char *dag_id,
                                         const char *task_id, long long *when_unix_out,
                                         struct lk_error *err)
{
    *when_unix_out = 0;
    /* A stage name that is not in the DAG is a configuration error, not
     * "never succeeded". */
    struct airflow_task_list tasks;
    enum lk_status st = airflow_list_tasks(ctx, dag_id, &tasks, err);
    if (st != LK_OK)
        return st;
    bool known = false;
    for (size_t i = 0; i < tasks.n && !known; i++)
        known = strcmp(tasks.items[i].task_id, task_id) == 0;
    airflow_task_list_free(&tasks);
    if (!known)
        return err_set(err, LK_NOTFOUND, "Airflow has no task %s in DAG %s", task_id, dag_id);

    long long best = 0;
    size_t offset = 0;
    for (;;) {
        struct airflow_run_list page = { 0 };
        long long total = -1;
        st = runs_page(ctx, dag_id, offset, AIRFLOW_PAGE, &page, &total, err);
        if (st != LK_OK)
            return st;
        for (size_t i = 0; i < page.n && st == LK_OK; i++) {
            if (!run_may_be_newer(&page.items[i], best))
                continue;
            struct airflow_ti_list tis;
            st = airflow_list_task_instances(ctx, dag_id, page.items[i].dag_run_id, &tis, err);
            if (st == LK_NOTFOUND) {
                /* The run was deleted between the two calls. */
                err_clear(err);
                st = LK_OK;
                continue;
            }
            for (size_t k = 0; st == LK_OK && k < tis.n; k++) {
                const struct airflow_ti *ti = &tis.items[k];
                long long end;
                if (strcmp(ti->task_id, task_id) == 0 && ti->state &&
                    strcmp(ti->state, "success") == 0 && airflow_parse_time(ti->end_date, &end) &&
                    end > best)
                    best = end;
            }
            airflow_ti_list_free(&tis);
        }
        size_t got = page.n;
        airflow_run_list_free(&page);
        if (st != LK_OK)
            return st;
        offset += got;
        if (got == 0 || total < 0 || (long long)offset >= total)
            break;
    }
    *when_unix_out = best;
    return LK_OK;
}
