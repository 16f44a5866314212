/* What a core operation needs to act for an operator: the environment, the
 * database, an HTTP client, who is acting, and a way to report progress and
 * to be cancelled.  The caller (a CLI command or a console worker) owns all
 * of it; core only borrows.  One ctx per thread: libpq connections and curl
 * handles are not shared between threads. */
#ifndef LAKEOP_CTX_H
#define LAKEOP_CTX_H

#include <libpq-fe.h>
#include <stdbool.h>

#include "config.h"
#include "http.h"

struct zuora_tokens;

/* Progress of a long operation (copy, export, ingest, cohort export). */
struct lk_progress {
    const char *what;            /* "Account.csv" */
    long long bytes_done;
    long long bytes_total;       /* -1 when unknown */
    long long records_done;
    long long records_total;     /* -1 when unknown */
};

typedef void (*lk_progress_fn)(const struct lk_progress *p, void *ud);
typedef void (*lk_log_fn)(int level /* 0 info, 1 warn, 2 error */, const char *msg, void *ud);

struct lk_ctx {
    const struct cfg *cfg;
    const struct cfg_env *env;
    PGconn *db;
    struct http_client *http;
    const char *operator_name;
    bool read_only;
    lk_progress_fn progress;     /* may be NULL */
    void *progress_ud;
    lk_log_fn log;               /* may be NULL */
    void *log_ud;
    const volatile int *cancel;  /* may be NULL; non-zero asks to stop */
    /* The console's one Zuora token for every worker (core/zuora.h); NULL:
     * each Zuora client keeps its own. */
    struct zuora_tokens *zuora_tokens;
};

#endif
