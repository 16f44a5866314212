/* DynamoDB's JSON API (version 20120810) over the HTTP layer: POST / with
 * X-Amz-Target and application/x-amz-json-1.0, signed by libcurl's SigV4
 * for service "dynamodb".  Only what lakeop needs: Scan with paging.
 *
 * Errors come back as {"__type":"...#ResourceNotFoundException",
 * "message":"..."}: the code after '#' and the message land in the error
 * record's remote fields; throttling and 5xx are retried by the HTTP
 * layer's policy. */
#ifndef LAKEOP_DYNAMO_H
#define LAKEOP_DYNAMO_H

#include <jansson.h>

#include "config.h"
#include "err.h"
#include "http.h"

struct dynamo;   /* one per thread (borrows an http_client) */

/* Endpoint from dynamodb.endpoint (LAKEOP_DYNAMODB_ENDPOINT); the region
 * from an AWS host name (dynamodb.REGION.amazonaws.com), else s3.region;
 * credentials from the environment's AWS keys.  LK_USAGE when there is no
 * endpoint or no key.  $LAKEOP_DYNAMODB_SCAN_LIMIT (items per Scan page)
 * is read here: tests use it to force paging. */
enum lk_status dynamo_open(const struct cfg_env *env, struct http_client *http, struct dynamo **out,
                           struct lk_error *err);
void dynamo_free(struct dynamo *d);

/* Items per Scan page (0: DynamoDB's own 1 MB pages). */
void dynamo_set_page_limit(struct dynamo *d, int limit);
void dynamo_set_cancel(struct dynamo *d, const volatile int *cancel);

/* One call: body is the request's JSON; *out the answer's (caller
 * json_decref()s).  A non-2xx answer is an error with DynamoDB's own code
 * and words; ResourceNotFoundException is LK_NOTFOUND. */
enum lk_status dynamo_call(struct dynamo *d, const char *operation, const char *body, json_t **out,
                           struct lk_error *err);

/* Called once per item (borrowed; valid during the call).  Returning other
 * than LK_OK stops the scan with that status. */
typedef enum lk_status (*dynamo_item_fn)(const json_t *item, void *ud, struct lk_error *err);

/* Every item of table, page by page (LastEvaluatedKey → ExclusiveStartKey),
 * consistent reads.  A missing table: LK_NOTFOUND "table T does not exist".
 * pages may be NULL. */
enum lk_status dynamo_scan(struct dynamo *d, const char *table, dynamo_item_fn fn, void *ud,
                           long *pages, struct lk_error *err);

/* The text of a typed attribute value: {"S":"x"} and {"N":"1.5"} as
 * written; {"NULL":true} and an absent attribute give *out = NULL.  Any
 * other type is an error naming the attribute.  *out is borrowed from
 * item. */
enum lk_status dynamo_attr_text(const json_t *item, const char *name, const char **out,
                                struct lk_error *err);

#endif
