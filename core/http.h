/* The one libcurl layer every remote call goes through (Zuora, Airflow,
 * S3, DynamoDB): timeouts, the retry policy, streamed bodies, and an error
 * record with the remote's own words, secrets redacted.
 *
 * Retry policy: connection failures, 429 (honouring Retry-After), 500, 502,
 * 503 and 504 are retried with exponential backoff and full jitter, within
 * max_attempts and retry_budget_ms; other 4xx never are.  TLS verification is
 * always on; ca_bundle only adds a CA file. */
#ifndef LAKEOP_HTTP_H
#define LAKEOP_HTTP_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"
#include "err.h"

struct http_client;   /* opaque; one per thread (it owns a curl easy handle) */

/* Streams: return the number of bytes consumed (short = abort the transfer). */
typedef size_t (*http_sink_fn)(const char *data, size_t len, void *ud);
/* Upload source: fill dst with up to max bytes; return count, 0 at the end. */
typedef size_t (*http_source_fn)(char *dst, size_t max, void *ud);
/* Called before a retry of a streamed request; return false when the stream
 * cannot start over (then the failure is final). */
typedef bool (*http_rewind_fn)(void *ud);

struct http_response;
/* Optional: overrides the default retry decision for an answer (S3 uses it
 * for 400 RequestTimeout and a 200 carrying <Error>). */
typedef bool (*http_retry_fn)(const struct http_response *resp, void *ud);

struct http_request {
    const char *method;                 /* "GET" when NULL */
    const char *url;
    const char *const *headers;         /* "Name: value", NULL-terminated; may be NULL */
    const char *body;                   /* in-memory body (copied by curl) */
    size_t body_len;
    http_source_fn source;              /* or a streamed body of known length */
    void *source_ud;
    long long source_len;
    http_rewind_fn source_rewind;
    http_sink_fn sink;                  /* streamed response; NULL: into response->body */
    void *sink_ud;
    http_rewind_fn sink_rewind;
    const char *basic_user;             /* basic auth */
    const char *basic_password;
    const char *aws_sigv4;              /* e.g. "aws:amz:eu-west-1:s3"; key/secret below */
    const char *aws_key;
    const char *aws_secret;
    long connect_timeout_ms;            /* 0: 5000 */
    long timeout_ms;                    /* whole attempt; 0: none (use for streams) */
    long stall_timeout_s;               /* abort when < 1 byte/s for this long; 0: 30 */
    int max_attempts;                   /* 0: 4; 1: no retry */
    /* Must not reach the server twice (a stateful submit, a cancel): only
     * what cannot have been received is retried, a connection never made
     * and a 429 (throttled before any work), unless retry says otherwise.
     * err->retryable then means "certainly not received". */
    bool not_idempotent;
    long retry_budget_ms;               /* 0: 60000; never sleeps past it */
    long backoff_base_ms;               /* 0: 200 */
    bool head;                          /* HEAD: no body */
    http_retry_fn retry;
    void *retry_ud;
    const volatile int *cancel;         /* non-zero: abort as soon as possible */
};

struct http_response {
    long status;                        /* 0 when no answer at all */
    struct buf body;                    /* when the request had no sink */
    char *content_type;
    long long content_length;           /* -1 when not sent */
    char *etag;                         /* quotes kept */
    char *last_modified;
    char *request_id;                   /* x-amz-request-id / x-request-id / zuora-request-id */
    long retry_after_s;                 /* -1 when absent */
    long long bytes_received;
    int attempts;
    long total_ms;
};

struct http_client *http_client_new(const char *ca_bundle, const char *user_agent);
void http_client_free(struct http_client *c);

/* Registers a secret the layer must never echo (URLs, bodies, messages). */
void http_client_add_secret(struct http_client *c, const char *secret);

/* Performs the request with the retry policy.  Returns LK_OK whenever the
 * server answered (whatever the status: the caller reads its own API's error
 * shape); LK_FAIL when no answer came (err says why: refused, timed out,
 * resolve failed, cut short), and when a body was cut short
 * (Content-Length not reached). */
enum lk_status http_perform(struct http_client *c, const struct http_request *req,
                            struct http_response *resp, struct lk_error *err);

void http_response_init(struct http_response *resp);
void http_response_free(struct http_response *resp);

/* Percent-encodes for a URL path segment (RFC 3986 unreserved kept; with
 * keep_slash, '/' is kept too).  Upper-case hex.  Caller frees. */
char *http_escape(const char *text, bool keep_slash);

/* Sleeps ms in slices so that a cancel is noticed quickly (a backoff
 * between attempts); false when cancelled. */
bool http_nap(long long ms, const volatile int *cancel);

/* Default retry decision for a status (429, 500, 502, 503, 504). */
bool http_status_retryable(long status);

#endif
