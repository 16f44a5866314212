/* The audit log (audit.h).  The table refuses UPDATE and DELETE itself
 * (001_initial.sql), so appending is the only thing this file can do. */
#include "audit.h"

#include "db.h"

const char *audit_result_name(enum audit_result result)
{
    switch (result) {
    case AUDIT_OK: return "ok";
    case AUDIT_FAILED: return "failed";
    case AUDIT_REFUSED: return "refused";
    }
    return "failed";
}

enum lk_status audit_append(PGconn *conn, const struct audit_entry *entry, struct lk_error *err)
{
    if (!entry->action || !*entry->action)
        return err_set(err, LK_USAGE, "an audit entry needs an action");
    const char *params[] = {
        entry->operator_name && *entry->operator_name ? entry->operator_name : "unknown",
        entry->env && *entry->env ? entry->env : "unknown",
        entry->action,
        entry->target,
        entry->params_json,
        audit_result_name(entry->result),
        entry->message,
    };
    enum lk_status st = db_exec(conn,
                                "INSERT INTO lakeop.audit (operator, env, action, target, params, result, message)"
                                " VALUES ($1, $2, $3, $4, $5::jsonb, $6, $7)",
                                7, params, NULL, err);
    if (st != LK_OK)
        err_prefix(err, "recording '%s' in the audit log", entry->action);
    return st;
}
