/* The error record every core function fills on failure.
 *
 * Core code never prints: it returns an lk_status and leaves the details
 * here, in the caller's record.  The status doubles as the process exit code
 * of the command line (ARCHITECTURE.md). */
#ifndef LAKEOP_ERR_H
#define LAKEOP_ERR_H

#include <stdbool.h>
#include <stddef.h>

enum lk_status {
    LK_OK = 0,
    LK_FAIL = 1,       /* the operation failed: remote error, verification failed */
    LK_USAGE = 2,      /* usage or configuration error */
    LK_REFUSED = 3,    /* refused: not confirmed, read-only, unsafe */
    LK_NOTFOUND = 4,
};

struct lk_error {
    enum lk_status status;
    char message[1024];        /* our words: what failed and, where we know, how to fix it */
    long http_status;          /* 0 when not an HTTP failure */
    char remote_code[96];      /* Zuora errorCode, S3 <Code>, Airflow title, SQLSTATE */
    char remote_message[1024]; /* the remote's own words, secrets redacted */
    char request_id[128];
    bool retryable;            /* set by the transport layers for their retry policies */
};

void err_clear(struct lk_error *err);

/* Sets status and message; returns status so that callers can write
 * `return err_set(err, LK_FAIL, "...")`.  err may be NULL. */
enum lk_status err_set(struct lk_error *err, enum lk_status status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Records what the remote said (any argument may be NULL). */
void err_remote(struct lk_error *err, long http_status, const char *code,
                const char *message, const char *request_id);

/* Puts "CONTEXT: " in front of the message (for callers adding where it happened). */
void err_prefix(struct lk_error *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* One line for people: "message (HTTP 404 NoSuchKey: remote words; request id X)".
 * Writes into out (always NUL-terminated) and returns out. */
const char *err_text(const struct lk_error *err, char *out, size_t out_size);

/* Hides every occurrence of secret in text, in place, as "****"; a secret
 * shorter than that is masked byte for byte (it cannot shrink).  For
 * messages that quote a setting or a server. */
void err_hide_secret(char *text, const char *secret);

#endif
