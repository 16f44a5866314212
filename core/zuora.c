/* The Zuora AQuA client: token cache, requests, error shapes (ZUORA.md). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "mem.h"
#include "zuora.h"

struct zuora_client {
    const struct cfg_env *env;
    struct http_client *http;
    const volatile int *cancel;
    struct zuora_tokens *tokens;  /* own_tokens or a shared cache */
    struct zuora_tokens *own_tokens;
    char *last_token;            /* the last one used, to redact it on a new http client */
    int tokens_fetched;
    long retry_after_s;
    int max_attempts;            /* of a GET; 0: http_perform's default */
};

struct zuora_client *zuora_client_new(const struct cfg_env *env, struct http_client *http)
{
    struct zuora_client *zc = xcalloc(1, sizeof *zc);
    zc->env = env;
    zc->http = http;
    zc->retry_after_s = -1;
    zc->own_tokens = zuora_tokens_new();
    zc->tokens = zc->own_tokens;
    if (env->zuora_client_secret)
        http_client_add_secret(http, env->zuora_client_secret);
    return zc;
}

void zuora_client_free(struct zuora_client *zc)
{
    if (!zc)
        return;
    if (zc->last_token) {
        memset(zc->last_token, 0, strlen(zc->last_token));
        free(zc->last_token);
    }
    zuora_tokens_free(zc->own_tokens);
    free(zc);
}

void zuora_client_use_tokens(struct zuora_client *zc, struct zuora_tokens *tokens)
{
    zc->tokens = tokens ? tokens : zc->own_tokens;
}

struct zuora_client *zuora_client_for(const struct lk_ctx *ctx)
{
    struct zuora_client *zc = zuora_client_new(ctx->env, ctx->http);
    zuora_client_use_tokens(zc, ctx->zuora_tokens);
    zuora_client_set_cancel(zc, ctx->cancel);
    return zc;
}

void zuora_client_set_cancel(struct zuora_client *zc, const volatile int *cancel)
{
    zc->cancel = cancel;
}

void zuora_client_set_http(struct zuora_client *zc, struct http_client *http)
{
    zc->http = http;
    if (zc->env->zuora_client_secret)
        http_client_add_secret(http, zc->env->zuora_client_secret);
    if (zc->last_token)
        http_client_add_secret(http, zc->last_token);
}

void zuora_client_set_attempts(struct zuora_client *zc, int max_attempts)
{
    zc->max_attempts = max_attempts;
}

long zuora_client_retry_after(const struct zuora_client *zc)
{
    return zc->retry_after_s;
}

int zuora_client_tokens_fetched(const struct zuora_client *zc)
{
    return zc->tokens_fetched;
}

static char *base_url(const char *url)
{
    size_t n = strlen(url);
    while (n && url[n - 1] == '/')
        n--;
    return xstrndup(url, n);
}

static enum lk_status check_configured(const struct cfg_env *env, struct lk_error *err)
{
    if (!env->zuora_url || !*env->zuora_url)
        return err_set(err, LK_USAGE, "Zuora is not configured: set zuora.url in [env \"%s\"] or LAKEOP_ZUORA_URL",
                       env->name ? env->name : "");
    if (!env->zuora_client_id || !env->zuora_client_secret)
        return err_set(err, LK_USAGE,
                       "Zuora credentials are missing: set zuora.client_id and zuora.client_secret "
                       "(or LAKEOP_ZUORA_CLIENT_ID / LAKEOP_ZUORA_CLIENT_SECRET)");
    return LK_OK;
}

/* zuora_token_fetch_fn: POST /oauth/token with this client's http client
 * and cancel flag. */
static enum lk_status fetch_token(void *ud, char **token_out, long long *expires_in_out, struct lk_error *err)
{
    struct zuora_client *zc = ud;
    enum lk_status st = check_configured(zc->env, err);
    if (st)
        return st;
    char *id = http_escape(zc->env->zuora_client_id, false);
    char *secret = http_escape(zc->env->zuora_client_secret, false);
    char *body = xasprintf("client_id=%s&client_secret=%s&grant_type=client_credentials", id, secret);
    http_client_add_secret(zc->http, secret);
    char *base = base_url(zc->env->zuora_url);
    char *url = xasprintf("%s/oauth/token", base);
    const char *headers[] = { "Content-Type: application/x-www-form-urlencoded", "Accept: application/json", NULL };
    struct http_request req = { .method = "POST", .url = url, .headers = headers, .body = body,
                                .body_len = strlen(body), .timeout_ms = 30000, .cancel = zc->cancel };
    struct http_response resp;
    http_response_init(&resp);
    st = http_perform(zc->http, &req, &resp, err);
    zc->retry_after_s = resp.retry_after_s;
    if (st == LK_OK && resp.status != 200) {
        st = zuora_parse_error(resp.status, resp.body.data, resp.body.len, err);
        err_prefix(err, "getting a Zuora token");
    } else if (st == LK_OK) {
        json_t *root;
        st = jx_parse(resp.body.data, resp.body.len, "Zuora", &root, err);
        const char *token = NULL;
        long long expires = 3599;
        if (st == LK_OK) {
            if (!json_is_object(root))
                st = err_set(err, LK_FAIL, "Zuora sent %s as its token answer", jx_type_name(root));
            else if ((st = jx_string(root, "access_token", true, "the token answer", &token, err)) == LK_OK)
                st = jx_int(root, "expires_in", false, "the token answer", 3599, &expires, err);
        }
        if (st == LK_OK) {
            *token_out = xstrdup(token);
            *expires_in_out = expires;
            http_client_add_secret(zc->http, token);
            zc->tokens_fetched++;
        } else {
            err_prefix(err, "getting a Zuora token");
        }
        json_decref(root);
    } else {
        err_prefix(err, "getting a Zuora token");
    }
    http_response_free(&resp);
    free(url);
    free(base);
    free(body);
    free(secret);
    free(id);
    return st;
}

/* The cache's token (fetched by this client when none is valid), in
 * *token_out (caller frees), registered with this client's http client so
 * that it is redacted from whatever this thread reports. */
static enum lk_status get_token(struct zuora_client *zc, char **token_out, unsigned long *gen_out,
                                struct lk_error *err)
{
    enum lk_status st = check_configured(zc->env, err);
    if (st)
        return st;
    st = zuora_tokens_get(zc->tokens, zc->cancel, fetch_token, zc, token_out, gen_out, err);
    if (st != LK_OK)
        return st;
    http_client_add_secret(zc->http, *token_out);
    if (!zc->last_token || strcmp(zc->last_token, *token_out) != 0) {
        free(zc->last_token);
        zc->last_token = xstrdup(*token_out);
    }
    return LK_OK;
}

static void free_token(char *token)
{
    if (token) {
        memset(token, 0, strlen(token));
        free(token);
    }
}

/* One API call with the token; a 401 drops the token (unless another
 * thread has already replaced it) and tries once more.  On LK_OK resp
 * holds a 2xx answer.  Zuora's only calls that are not GETs (submit,
 * cancel) change its state, so they are never resent once they may have
 * arrived (http.h not_idempotent); resp->attempts stays 0 when nothing was
 * sent at all. */
static enum lk_status call(struct zuora_client *zc, const char *method, const char *base,
                           const char *path, const char *body, http_sink_fn sink, void *sink_ud,
                           http_rewind_fn rewind, struct http_response *resp, struct lk_error *err)
{
    enum lk_status st = check_configured(zc->env, err);
    if (st)
        return st;
    char *root = base_url(base && *base ? base : zc->env->zuora_url);
    char *url = xasprintf("%s%s", root, path);
    free(root);
    for (int round = 0; round < 2; round++) {
        char *token = NULL;
        unsigned long gen = 0;
        if ((st = get_token(zc, &token, &gen, err)) != LK_OK)
            break;
        char *auth = xasprintf("Authorization: Bearer %s", token);
        free_token(token);
        const char *headers[] = { auth, "Accept: application/json",
                                  body ? "Content-Type: application/json" : NULL, NULL };
        struct http_request req = {
            .method = method, .url = url, .headers = headers, .body = body,
            .body_len = body ? strlen(body) : 0, .sink = sink, .sink_ud = sink_ud, .sink_rewind = rewind,
            .timeout_ms = sink ? 0 : 60000, .cancel = zc->cancel,
            .not_idempotent = strcmp(method, "GET") != 0,
            .max_attempts = strcmp(method, "GET") != 0 ? 0 : zc->max_attempts,
        };
        http_response_free(resp);
        http_response_init(resp);
        st = http_perform(zc->http, &req, resp, err);
        free_token(auth);
        zc->retry_after_s = resp->retry_after_s;
        if (st != LK_OK)
            break;
        if (resp->status == 401 && round == 0) {
            /* Expired or revoked early: one fresh token, then give up. */
            zuora_tokens_refused(zc->tokens, gen);
            continue;
        }
        if (resp->status < 200 || resp->status >= 300)
            st = zuora_parse_error(resp->status, resp->body.data, resp->body.len, err);
        break;
    }
    if (st != LK_OK && err && !err->request_id[0] && resp->request_id)
        snprintf(err->request_id, sizeof err->request_id, "%s", resp->request_id);
    free(url);
    return st;
}

/* A failed submit or cancel that Zuora may nonetheless have acted on:
 * sent, and neither refused in words (4xx, an AQuA error) nor certainly
 * undelivered (a connection never made). */
static bool maybe_received(const struct http_response *resp, const struct lk_error *err)
{
    if (resp->attempts == 0)
        return false;
    if (resp->status == 0)
        return !err->retryable;
    if (resp->status >= 500)
        return true;
    if (resp->status >= 200 && resp->status < 300)
        return !err->remote_code[0] && !err->remote_message[0];
    return false;
}

/* *unsure_out (may be NULL): the request failed but may have arrived. */
static enum lk_status call_job(struct zuora_client *zc, const char *method, const char *path,
                               const char *body, struct zuora_job *out, bool *unsure_out,
                               struct lk_error *err)
{
    struct http_response resp;
    http_response_init(&resp);
    memset(out, 0, sizeof *out);
    enum lk_status st = call(zc, method, NULL, path, body, NULL, NULL, NULL, &resp, err);
    if (st == LK_OK)
        st = zuora_parse_job(resp.body.data, resp.body.len, out, err);
    if (st != LK_OK && resp.request_id && !err->request_id[0])
        snprintf(err->request_id, sizeof err->request_id, "%s", resp.request_id);
    if (unsure_out)
        *unsure_out = st != LK_OK && maybe_received(&resp, err);
    http_response_free(&resp);
    return st;
}

static void append_message(struct lk_error *err, const char *text)
{
    size_t n = strlen(err->message);
    snprintf(err->message + n, sizeof err->message - n, "%s", text);
}

char *zuora_submit_body(const struct cfg_env *env, const struct zuora_submit *s)
{
    json_t *root = json_object();
    json_object_set_new(root, "format", json_string("csv"));
    json_object_set_new(root, "version", json_string("1.1"));
    json_object_set_new(root, "name", json_string(s->name ? s->name : "lakeop-export"));
    json_object_set_new(root, "encrypted", json_string("none"));
    json_object_set_new(root, "useQueryLabels", json_string("true"));
    json_object_set_new(root, "dateTimeUtc", json_string("true"));
    if (env->zuora_partner)
        json_object_set_new(root, "partner", json_string(env->zuora_partner));
    if (env->zuora_project)
        json_object_set_new(root, "project", json_string(env->zuora_project));
    if (s->incremental_time)
        json_object_set_new(root, "incrementalTime", json_string(s->incremental_time));
    json_t *queries = json_array();
    for (size_t i = 0; i < s->n_queries; i++) {
        json_t *q = json_object();
        json_object_set_new(q, "name", json_string(s->queries[i].name));
        json_object_set_new(q, "query", json_string(s->queries[i].query));
        json_object_set_new(q, "type", json_string("zoqlexport"));
        json_t *del = json_object();
        json_object_set_new(del, "column", json_string("IsDeleted"));
        json_object_set_new(del, "format", json_string("Boolean"));
        json_object_set_new(q, "deleted", del);
        json_array_append_new(queries, q);
    }
    json_object_set_new(root, "queries", queries);
    char *text = jx_dump(root);
    json_decref(root);
    return text;
}

enum lk_status zuora_submit(struct zuora_client *zc, const struct zuora_submit *s,
                            struct zuora_job *out, struct lk_error *err)
{
    memset(out, 0, sizeof *out);
    if (s->n_queries == 0)
        return err_set(err, LK_USAGE, "nothing to export: no [object] sections selected");
    if (s->n_queries > 50)
        return err_set(err, LK_USAGE, "Zuora takes at most 50 queries per job; %zu were selected", s->n_queries);
    if (!zc->env->zuora_partner || !zc->env->zuora_project)
        return err_set(err, LK_USAGE,
                       "zuora.partner and zuora.project must be set: without them Zuora runs a stateless "
                       "(full) export and refuses deleted columns");
    char *body = zuora_submit_body(zc->env, s);
    bool unsure = false;
    enum lk_status st = call_job(zc, "POST", "/v1/batch-query/", body, out, &unsure, err);
    free(body);
    if (st != LK_OK)
        err_prefix(err, "submitting the export");
    if (unsure)
        append_message(err, "; Zuora may have received the export, so lakeop did not send it again (a second "
                            "job would move the session and lose an increment): look for the job in Zuora, or "
                            "in lakeop jobs once it completes, before submitting again");
    return st;
}

static char *job_path(const char *job_id)
{
    char *id = http_escape(job_id, false);
    char *path = xasprintf("/v1/batch-query/jobs/%s", id);
    free(id);
    return path;
}

enum lk_status zuora_job_get(struct zuora_client *zc, const char *job_id, struct zuora_job *out,
                             struct lk_error *err)
{
    char *path = job_path(job_id);
    enum lk_status st = call_job(zc, "GET", path, NULL, out, NULL, err);
    free(path);
    if (st == LK_NOTFOUND)
        err_set(err, LK_NOTFOUND, "Zuora does not know job %s (error 90002: invalid job id)", job_id);
    return st;
}

enum lk_status zuora_last_completed(struct zuora_client *zc, struct zuora_job *out,
                                    struct lk_error *err)
{
    memset(out, 0, sizeof *out);
    if (!zc->env->zuora_partner || !zc->env->zuora_project)
        return err_set(err, LK_USAGE, "zuora.partner and zuora.project must be set to find the session's last job");
    char *p = http_escape(zc->env->zuora_partner, false);
    char *q = http_escape(zc->env->zuora_project, false);
    char *path = xasprintf("/v1/batch-query/jobs/partner/%s/project/%s", p, q);
    enum lk_status st = call_job(zc, "GET", path, NULL, out, NULL, err);
    free(path);
    free(q);
    free(p);
    return st;
}

enum lk_status zuora_cancel(struct zuora_client *zc, const char *job_id, struct zuora_job *out,
                            struct lk_error *err)
{
    char *path = job_path(job_id);
    bool unsure = false;
    enum lk_status st = call_job(zc, "DELETE", path, NULL, out, &unsure, err);
    free(path);
    if (st != LK_OK)
        err_prefix(err, "cancelling job %s", job_id);
    if (unsure)
        append_message(err, "; Zuora may have received the cancel, so lakeop did not send it again: look at the "
                            "job's status before cancelling again");
    return st;
}

/* Passes the answer's Content-Length on before its first byte. */
struct length_sink {
    http_sink_fn sink;
    void *ud;
    http_rewind_fn rewind;
    const struct http_response *resp;
    long long *content_length_out;
};

static size_t length_sink(const char *data, size_t len, void *ud)
{
    struct length_sink *l = ud;
    *l->content_length_out = l->resp->content_length;
    return l->sink(data, len, l->ud);
}

static bool length_rewind(void *ud)
{
    const struct length_sink *l = ud;
    return l->rewind && l->rewind(l->ud);
}

enum lk_status zuora_file_stream(struct zuora_client *zc, const char *file_id, http_sink_fn sink,
                                 void *sink_ud, http_rewind_fn rewind,
                                 long long *content_length_out, struct lk_error *err)
{
    if (content_length_out)
        *content_length_out = -1;
    char *id = http_escape(file_id, false);
    char *path = xasprintf("/v1/file/%s", id);
    free(id);
    struct http_response resp;
    http_response_init(&resp);
    const char *base = zc->env->zuora_file_url && *zc->env->zuora_file_url ? zc->env->zuora_file_url
                                                                          : zc->env->zuora_url;
    struct length_sink ls = { sink, sink_ud, rewind, &resp, content_length_out };
    enum lk_status st = content_length_out
        ? call(zc, "GET", base, path, NULL, length_sink, &ls, rewind ? length_rewind : NULL, &resp, err)
        : call(zc, "GET", base, path, NULL, sink, sink_ud, rewind, &resp, err);
    if (content_length_out)
        *content_length_out = resp.content_length;
    if (st == LK_NOTFOUND)
        err_set(err, LK_NOTFOUND, "Zuora has no file %s (files are purged after 3 days)", file_id);
    if (st != LK_OK)
        err_prefix(err, "downloading file %s", file_id);
    http_response_free(&resp);
    free(path);
    return st;
}

/* What counts as ok: the last-completed-job request answered 200 with a
 * job, or with AQuA's 90002 (this session has no completed job yet: a new
 * project).  Both prove that Zuora answers and took our token.  A 401
 * after a fresh token is "credentials refused"; any other AQuA code
 * (90009 not authorised, 90019 partner not recognised, 90008/90010/90022
 * Zuora's own trouble) is DOWN with Zuora's words: exports would fail
 * the same way, which is what an operator looks at the mark to learn. */
enum lk_status zuora_ping(struct lk_ctx *ctx, char *version, size_t version_size, struct lk_error *err)
{
    if (version && version_size)
        version[0] = '\0';
    struct zuora_client *zc = zuora_client_for(ctx);
    char *token = NULL;
    unsigned long gen;
    enum lk_status st = get_token(zc, &token, &gen, err);
    free_token(token);
    const struct cfg_env *env = ctx->env;
    if (st == LK_OK && env->zuora_partner && *env->zuora_partner && env->zuora_project && *env->zuora_project) {
        struct zuora_job job;
        st = zuora_last_completed(zc, &job, err);
        zuora_job_free(&job);
        if (st == LK_NOTFOUND) {
            err_clear(err);
            st = LK_OK;
        } else if (st != LK_OK) {
            err_prefix(err, "asking Zuora for the last job of %s/%s", env->zuora_partner, env->zuora_project);
        }
    }
    zuora_client_free(zc);
    return st;
}
