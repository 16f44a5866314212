/* DynamoDB JSON API client (dynamo.h). */
#include "dynamo.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "mem.h"

#define CALL_TIMEOUT_MS 60000

struct dynamo {
    struct http_client *http;
    char *url;
    char *sigv4;           /* aws:amz:REGION:dynamodb */
    char *key;
    char *secret;
    char *token_header;    /* x-amz-security-token: ..., or NULL */
    int page_limit;
    const volatile int *cancel;
};

/* "dynamodb.eu-west-1.amazonaws.com" → "eu-west-1"; NULL otherwise. */
static char *aws_region_of(const char *url)
{
    const char *host = strstr(url, "://");
    host = host ? host + 3 : url;
    static const char pre[] = "dynamodb.";
    if (strncmp(host, pre, sizeof pre - 1) != 0)
        return NULL;
    const char *r = host + sizeof pre - 1;
    const char *dot = strchr(r, '.');
    if (!dot || dot == r || strncmp(dot, ".amazonaws.com", 14) != 0)
        return NULL;
    return xstrndup(r, (size_t)(dot - r));
}

enum lk_status dynamo_open(const struct cfg_env *env, struct http_client *http, struct dynamo **out,
                           struct lk_error *err)
{
    *out = NULL;
    const char *ep = env->dynamodb_endpoint;
    if (!ep || !*ep)
        return err_set(err, LK_USAGE,
                       "dynamodb.endpoint is not set for environment '%s' (there is no default "
                       "beside a non-AWS s3.endpoint; set dynamodb.endpoint or "
                       "LAKEOP_DYNAMODB_ENDPOINT)",
                       env->name ? env->name : "");
    if (strncmp(ep, "http://", 7) != 0 && strncmp(ep, "https://", 8) != 0)
        return err_set(err, LK_USAGE, "dynamodb.endpoint '%s' is not an http:// or https:// URL", ep);
    if (!env->aws_access_key_id || !*env->aws_access_key_id)
        return err_set(err, LK_USAGE,
                       "no AWS credentials for DynamoDB (set AWS_ACCESS_KEY_ID and "
                       "AWS_SECRET_ACCESS_KEY, or the shared credentials file)");
    struct dynamo *d = xcalloc(1, sizeof *d);
    d->http = http;
    size_t n = strlen(ep);
    while (n && ep[n - 1] == '/')
        n--;
    char *base = xstrndup(ep, n);
    d->url = xasprintf("%s/", base);
    free(base);
    char *region = aws_region_of(ep);
    d->sigv4 = xasprintf("aws:amz:%s:dynamodb",
                         region ? region : env->s3_region ? env->s3_region : "us-east-1");
    free(region);
    d->key = xstrdup(env->aws_access_key_id);
    d->secret = xstrdup(env->aws_secret_access_key ? env->aws_secret_access_key : "");
    http_client_add_secret(http, d->secret);
    if (env->aws_session_token && *env->aws_session_token) {
        d->token_header = xasprintf("x-amz-security-token: %s", env->aws_session_token);
        http_client_add_secret(http, env->aws_session_token);
    }
    const char *lim = getenv("LAKEOP_DYNAMODB_SCAN_LIMIT");
    if (lim && *lim)
        d->page_limit = atoi(lim);
    *out = d;
    return LK_OK;
}

void dynamo_free(struct dynamo *d)
{
    if (!d)
        return;
    free(d->url);
    free(d->sigv4);
    free(d->key);
    free(d->secret);
    free(d->token_header);
    free(d);
}

void dynamo_set_page_limit(struct dynamo *d, int limit)
{
    d->page_limit = limit > 0 ? limit : 0;
}

void dynamo_set_cancel(struct dynamo *d, const volatile int *cancel)
{
    d->cancel = cancel;
}

/* DynamoDB's error code: the part of __type after '#'. */
static const char *error_code(const json_t *doc)
{
    const char *type = json_string_value(json_object_get(doc, "__type"));
    if (!type)
        return NULL;
    const char *hash = strrchr(type, '#');
    return hash ? hash + 1 : type;
}

static const char *error_message(const json_t *doc)
{
    const char *m = json_string_value(json_object_get(doc, "message"));
    return m ? m : json_string_value(json_object_get(doc, "Message"));
}

static bool code_is(const char *code, const char *want)
{
    return code && strcmp(code, want) == 0;
}

/* Throttling comes as a 400 with a code saying so. */
static bool dynamo_retry(const struct http_response *resp, void *ud)
{
    (void)ud;
    if (http_status_retryable(resp->status))
        return true;
    if (resp->status != 400 || !resp->body.len)
        return false;
    json_t *doc = json_loadb(resp->body.data, resp->body.len, 0, NULL);
    const char *code = error_code(doc);
    bool retry = code_is(code, "ProvisionedThroughputExceededException") ||
                 code_is(code, "ThrottlingException") || code_is(code, "RequestLimitExceeded") ||
                 code_is(code, "InternalServerError");
    json_decref(doc);
    return retry;
}

static enum lk_status answer_error(const char *operation, const struct http_response *resp,
                                   struct lk_error *err)
{
    json_t *doc = resp->body.len ? json_loadb(resp->body.data, resp->body.len, 0, NULL) : NULL;
    const char *code = error_code(doc);
    const char *msg = error_message(doc);
    enum lk_status st = LK_FAIL;
    if (code_is(code, "ResourceNotFoundException")) {
        st = err_set(err, LK_NOTFOUND, "DynamoDB %s: the table does not exist", operation);
    } else if (code_is(code, "UnrecognizedClientException") ||
               code_is(code, "InvalidSignatureException") ||
               code_is(code, "MissingAuthenticationTokenException") ||
               code_is(code, "ExpiredTokenException") || code_is(code, "AccessDeniedException") ||
               resp->status == 403) {
        err_set(err, LK_FAIL,
                "DynamoDB refused the credentials for %s (check AWS_ACCESS_KEY_ID, "
                "AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN)",
                operation);
    } else {
        err_set(err, LK_FAIL, "DynamoDB %s failed", operation);
    }
    char body_text[300] = "";
    if (!msg && !doc && resp->body.len) {
        /* Not DynamoDB's JSON (a proxy's page): keep its first words. */
        snprintf(body_text, sizeof body_text, "%.*s",
                 (int)(resp->body.len < 200 ? resp->body.len : 200), resp->body.data);
        msg = body_text;
    }
    err_remote(err, resp->status, code, msg, resp->request_id);
    json_decref(doc);
    return st;
}

enum lk_status dynamo_call(struct dynamo *d, const char *operation, const char *body, json_t **out,
                           struct lk_error *err)
{
    *out = NULL;
    char target[96];
    snprintf(target, sizeof target, "X-Amz-Target: DynamoDB_20120810.%s", operation);
    const char *headers[4] = { "Content-Type: application/x-amz-json-1.0", target, NULL, NULL };
    if (d->token_header)
        headers[2] = d->token_header;
    struct http_request req;
    memset(&req, 0, sizeof req);
    req.method = "POST";
    req.url = d->url;
    req.headers = headers;
    req.body = body;
    req.body_len = strlen(body);
    req.aws_sigv4 = d->sigv4;
    req.aws_key = d->key;
    req.aws_secret = d->secret;
    req.timeout_ms = CALL_TIMEOUT_MS;
    req.retry = dynamo_retry;
    req.cancel = d->cancel;
    struct http_response resp;
    http_response_init(&resp);
    enum lk_status st = http_perform(d->http, &req, &resp, err);
    if (st != LK_OK) {
        err_prefix(err, "DynamoDB %s at %s", operation, d->url);
    } else if (resp.status < 200 || resp.status > 299) {
        st = answer_error(operation, &resp, err);
    } else {
        char who[64];
        snprintf(who, sizeof who, "DynamoDB %s", operation);
        st = jx_parse(resp.body.data ? resp.body.data : "", resp.body.len, who, out, err);
        if (st == LK_OK && !json_is_object(*out)) {
            st = err_set(err, LK_FAIL, "DynamoDB %s answered %s, expected an object", operation,
                         jx_type_name(*out));
            json_decref(*out);
            *out = NULL;
        }
    }
    http_response_free(&resp);
    return st;
}

enum lk_status dynamo_scan(struct dynamo *d, const char *table, dynamo_item_fn fn, void *ud,
                           long *pages, struct lk_error *err)
{
    json_t *start = NULL;   /* ExclusiveStartKey of the next page */
    long n_pages = 0;
    enum lk_status st = LK_OK;
    for (;;) {
        json_t *req = json_object();
        json_object_set_new(req, "TableName", json_string(table));
        json_object_set_new(req, "ConsistentRead", json_true());
        if (d->page_limit > 0)
            json_object_set_new(req, "Limit", json_integer(d->page_limit));
        if (start)
            json_object_set(req, "ExclusiveStartKey", start);
        char *body = json_dumps(req, JSON_COMPACT);
        json_decref(req);
        json_t *page = NULL;
        st = dynamo_call(d, "Scan", body, &page, err);
        free(body);
        if (st == LK_NOTFOUND) {
            char remote[sizeof err->remote_message];
            snprintf(remote, sizeof remote, "%s", err->remote_message);
            err_set(err, LK_NOTFOUND, "table %s does not exist", table);
            snprintf(err->remote_message, sizeof err->remote_message, "%s", remote);
        }
        if (st != LK_OK)
            break;
        n_pages++;
        json_t *items = json_object_get(page, "Items");
        if (items && !json_is_array(items)) {
            st = err_set(err, LK_FAIL, "field 'Items' of DynamoDB Scan is %s, expected an array",
                         jx_type_name(items));
            json_decref(page);
            break;
        }
        size_t i;
        json_t *item;
        json_array_foreach(items, i, item) {
            if (!json_is_object(item)) {
                st = err_set(err, LK_FAIL, "item %zu of DynamoDB Scan is %s, expected an object",
                             i + 1, jx_type_name(item));
                break;
            }
            if ((st = fn(item, ud, err)) != LK_OK)
                break;
        }
        json_decref(start);
        start = json_object_get(page, "LastEvaluatedKey");
        if (start && !json_is_object(start)) {
            if (st == LK_OK)
                st = err_set(err, LK_FAIL, "field 'LastEvaluatedKey' of DynamoDB Scan is %s",
                             jx_type_name(start));
            start = NULL;
        }
        if (start && json_object_size(start) == 0)
            start = NULL;
        json_incref(start);
        json_decref(page);
        if (st != LK_OK || !start)
            break;
        if (d->cancel && *d->cancel) {
            st = err_set(err, LK_FAIL, "cancelled");
            break;
        }
    }
    json_decref(start);
    if (pages)
        *pages = n_pages;
    return st;
}

enum lk_status dynamo_attr_text(const json_t *item, const char *name, const char **out,
                                struct lk_error *err)
{
    *out = NULL;
    const json_t *v = json_object_get(item, name);
    if (!v || json_is_null(v))
        return LK_OK;
    if (!json_is_object(v) || json_object_size(v) != 1)
        return err_set(err, LK_FAIL, "attribute '%s' is not a typed DynamoDB value", name);
    const char *type = json_object_iter_key(json_object_iter((json_t *)v));
    const json_t *val = json_object_iter_value(json_object_iter((json_t *)v));
    if (strcmp(type, "S") == 0 || strcmp(type, "N") == 0) {
        if (!json_is_string(val))
            return err_set(err, LK_FAIL, "attribute '%s' of type %s holds %s, expected a string",
                           name, type, jx_type_name(val));
        *out = json_string_value(val);
        return LK_OK;
    }
    if (strcmp(type, "NULL") == 0)
        return LK_OK;
    return err_set(err, LK_FAIL, "attribute '%s' has DynamoDB type %s, expected S, N or NULL", name,
                   type);
}
