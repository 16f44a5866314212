/* The Zuora AQuA batch-query client (design: ZUORA.md).
 *
 * One OAuth token is fetched and reused until 60 s before it expires (and
 * fetched again once on a 401).  The token lives in a struct zuora_tokens:
 * private to a client, or shared by every client of one console (Zuora
 * throttles token requests at 100/min per IP, and a console makes many
 * clients: screens, workers, the header's health check).  Every answer is checked for each shape
 * Zuora uses: HTTP-200 bodies carrying errorCode, generic
 * {"reasons":[{code,message}]}, 429 with Retry-After, malformed JSON,
 * fields of an unexpected type.  Unknown statuses are kept as they are. */
#ifndef LAKEOP_ZUORA_H
#define LAKEOP_ZUORA_H

#include <stdbool.h>
#include <stddef.h>

#include "config.h"
#include "ctx.h"
#include "err.h"
#include "http.h"

struct zuora_batch {
    char *batch_id;
    char *name;              /* the object, e.g. "Account" */
    char *status;            /* as Zuora wrote it */
    char *query;
    long long record_count;  /* -1 when absent */
    int full;                /* 1 full, 0 incremental, -1 not said */
    char *message;           /* reason of an aborted batch; may be NULL */
    char *file_id;           /* NULL when absent (segments instead, or not done) */
    char **segments;         /* file ids of a segmented full load */
    size_t n_segments;
};

struct zuora_job {
    char *id;
    char *name;
    char *status;            /* as Zuora wrote it */
    char *version;
    char *format;
    char *partner;
    char *project;
    char *incremental_time;  /* as sent, when Zuora echoes it */
    char *start_time;        /* as Zuora wrote it */
    long long start_unix;    /* 0 when absent or unreadable */
    bool start_has_zone;     /* the ISO form carries its offset; the plain form is the tenant's zone */
    struct zuora_batch *batches;
    size_t n_batches;
    char *json;              /* the whole answer, compact */
};

/* Where a job stands, for watching and exit codes. */
enum zuora_outcome {
    ZUORA_RUNNING,           /* submitted, executing, or a status we do not know */
    ZUORA_COMPLETED,         /* completed, no batch aborted */
    ZUORA_FAILED,            /* error, aborted, cancelled, or an aborted/cancelled batch */
};

/* ---- parsing (core/zuora_parse.c; pure, testable from strings) ---- */

/* Parses a job answer (submit, get, cancel).  The HTTP-200 error shape
 * gives LK_FAIL with remote_code = errorCode (LK_NOTFOUND for 90001/90002);
 * malformed JSON: "Zuora sent malformed JSON (...)". */
enum lk_status zuora_parse_job(const char *text, size_t len, struct zuora_job *out,
                               struct lk_error *err);
/* Reads an error answer (any HTTP status) into err: errorCode/message or
 * reasons[]; status and our own words are set from http_status. */
enum lk_status zuora_parse_error(long http_status, const char *text, size_t len,
                                 struct lk_error *err);
/* "2014-09-03 08:20:07" (UTC assumed here; the caller may shift it) or
 * "2021-01-18T17:13:48+0000"; false when neither. */
bool zuora_parse_time(const char *text, long long *unix_out, bool *has_zone);

void zuora_job_free(struct zuora_job *job);
enum zuora_outcome zuora_job_outcome(const struct zuora_job *job);
/* Why a failed job failed, for people: the job's status and the first
 * aborted batch's message.  Writes into out. */
const char *zuora_job_reason(const struct zuora_job *job, char *out, size_t size);
bool zuora_status_terminal(const char *job_status);

/* ---- the tenant's time zone (core/zuora_tz.c) ---- */

/* Zuora reads incrementalTime (and writes plain startTimes) in the tenant's
 * zone (zuora.timezone).  naive is "yyyy-MM-dd HH:mm:ss" read as if UTC
 * (zuora_parse_time); *utc_out the real instant.  Unknown zone: LK_USAGE.
 * Reads the TZ database's file itself (core/tzfile.h), never TZ/tzset:
 * safe from any thread. */
enum lk_status zuora_tenant_to_utc(const char *tz, long long naive, long long *utc_out,
                                   struct lk_error *err);

/* ---- the token cache (core/zuora_tokens.c) ---- */

/* One environment's OAuth token, safe to share between threads.  Never
 * holds more than one token; never logs or shows it. */
struct zuora_tokens;

struct zuora_tokens *zuora_tokens_new(void);
/* After every client using it is freed. */
void zuora_tokens_free(struct zuora_tokens *t);
/* Tokens fetched through this cache (for tests and the bench). */
int zuora_tokens_fetched(const struct zuora_tokens *t);

/* Asks Zuora for a token: *token_out (caller frees) and its lifetime in
 * seconds (expires_in). */
typedef enum lk_status (*zuora_token_fetch_fn)(void *ud, char **token_out, long long *expires_in_out,
                                              struct lk_error *err);

/* The cached token when it stays valid for more than 60 s (or half its
 * lifetime, for short-lived ones); otherwise exactly one caller runs
 * fetch() while the others wait and take its token (or its error: a
 * refusal or a 429 is not asked again by every waiter).  A waiter gives up
 * when *cancel becomes non-zero.  *token_out is a copy (caller frees);
 * *gen_out names it for zuora_tokens_refused(). */
enum lk_status zuora_tokens_get(struct zuora_tokens *t, const volatile int *cancel, zuora_token_fetch_fn fetch,
                                void *fetch_ud, char **token_out, unsigned long *gen_out, struct lk_error *err);
/* Zuora answered 401 to token gen: dropped only if it is still the cached
 * one, so that threads refused the same old token fetch one new token,
 * not one each. */
void zuora_tokens_refused(struct zuora_tokens *t, unsigned long gen);

/* ---- the client (core/zuora.c) ---- */

struct zuora_client;

/* env and http are borrowed and must outlive the client.  The client keeps
 * a private token cache until zuora_client_use_tokens(). */
struct zuora_client *zuora_client_new(const struct cfg_env *env, struct http_client *http);
void zuora_client_free(struct zuora_client *zc);
/* Takes tokens from a shared cache (borrowed; outlives the client; made
 * for this client's environment).  NULL: back to the private one. */
void zuora_client_use_tokens(struct zuora_client *zc, struct zuora_tokens *tokens);
/* A client for ctx's environment, http client, cancel flag and, when the
 * console set one, shared token cache.  Caller frees. */
struct zuora_client *zuora_client_for(const struct lk_ctx *ctx);
void zuora_client_set_cancel(struct zuora_client *zc, const volatile int *cancel);
/* The console keeps one client (one token) for a screen and lends it to
 * whichever worker thread runs its next request: that worker's http client
 * is set here first.  Never used by two threads at once. */
void zuora_client_set_http(struct zuora_client *zc, struct http_client *http);
/* Attempts per GET (0: http_perform's default).  A watcher sets 1: its
 * own back-off (core/watch.h) spaces the retries, so that a 429 storm
 * costs at most one request per job per interval.  A submit or a cancel
 * is never resent once it may have arrived, whatever this says. */
void zuora_client_set_attempts(struct zuora_client *zc, int max_attempts);
/* Retry-After (seconds) of the last answer, -1 when it had none. */
long zuora_client_retry_after(const struct zuora_client *zc);
/* Tokens this client fetched itself (for tests and the bench). */
int zuora_client_tokens_fetched(const struct zuora_client *zc);

struct zuora_query {
    const char *name;        /* the object */
    const char *query;       /* ZOQL */
};

struct zuora_submit {
    const char *name;              /* job name; NULL: "lakeop-export" */
    const char *incremental_time;  /* "yyyy-MM-dd HH:mm:ss"; NULL: omitted (afterLastIncrement) */
    const struct zuora_query *queries;
    size_t n_queries;
};

/* The request body (for tests and the audit); caller frees. */
char *zuora_submit_body(const struct cfg_env *env, const struct zuora_submit *s);

enum lk_status zuora_submit(struct zuora_client *zc, const struct zuora_submit *s,
                            struct zuora_job *out, struct lk_error *err);
/* LK_NOTFOUND when Zuora does not know the job (90002). */
enum lk_status zuora_job_get(struct zuora_client *zc, const char *job_id, struct zuora_job *out,
                             struct lk_error *err);
/* The last completed job of the environment's (partner, project) session. */
enum lk_status zuora_last_completed(struct zuora_client *zc, struct zuora_job *out,
                                    struct lk_error *err);
enum lk_status zuora_cancel(struct zuora_client *zc, const char *job_id, struct zuora_job *out,
                            struct lk_error *err);

/* GET {file_url}/v1/file/{id}: the bytes as served, into sink.  A body cut
 * short is LK_FAIL; an unknown file LK_NOTFOUND.  *content_length_out (-1:
 * none sent) is already set when the sink gets the first byte, so that a
 * copy can announce the whole size to where it writes. */
enum lk_status zuora_file_stream(struct zuora_client *zc, const char *file_id, http_sink_fn sink,
                                 void *sink_ud, http_rewind_fn rewind,
                                 long long *content_length_out, struct lk_error *err);

/* For `lakeop doctor` and the console's health mark: Zuora answers and
 * takes our credentials.  A token (the cached one when ctx shares a cache,
 * so a check every minute costs no token), then, when zuora.partner and
 * zuora.project are set, one cheap authenticated request (the session's
 * last completed job).  version may be left empty. */
enum lk_status zuora_ping(struct lk_ctx *ctx, char *version, size_t version_size,
                          struct lk_error *err);

#endif
