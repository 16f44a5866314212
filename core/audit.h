/* The audit log: every change lakeop makes is appended (never updated). */
#ifndef LAKEOP_AUDIT_H
#define LAKEOP_AUDIT_H

#include <libpq-fe.h>

#include "err.h"

enum audit_result { AUDIT_OK, AUDIT_FAILED, AUDIT_REFUSED };

struct audit_entry {
    const char *operator_name;
    const char *env;
    const char *action;        /* "export.submit", "copy", "load.retry", "stage.clear", ... */
    const char *target;        /* job id, file id, load id, task id ... */
    const char *params_json;   /* a JSON object as text, or NULL */
    enum audit_result result;
    const char *message;       /* what happened, for people */
};

enum lk_status audit_append(PGconn *conn, const struct audit_entry *entry, struct lk_error *err);
const char *audit_result_name(enum audit_result result);

#endif
