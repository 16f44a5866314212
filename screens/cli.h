/* What every command-line subcommand shares: global options, the chosen
 * environment, lazily opened connections, confirmation, audit, output.
 *
 * A subcommand is `int cli_NAME(struct cli *cli, int argc, char **argv)`:
 * argv[0] is the command's name, options are parsed with getopt_long, and
 * the return value is the exit code of ARCHITECTURE.md (0 done, 1 failed,
 * 2 usage/config, 3 refused, 4 not found). */
#ifndef LAKEOP_CLI_H
#define LAKEOP_CLI_H

#include <jansson.h>
#include <libpq-fe.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>

#include "config.h"
#include "ctx.h"
#include "err.h"
#include "http.h"

struct cli {
    const char *config_path;      /* --config, or NULL */
    const char *env_name;         /* --env, or NULL */
    bool read_only;               /* --read-only or read_only = true */
    bool json;                    /* --json anywhere on the line */
    bool stdin_tty, stdout_tty, stderr_tty;
    struct cfg *cfg;              /* owned; loaded by cli_load_config() */
    const struct cfg_env *env;    /* points into cfg */
    PGconn *db;                   /* owned; opened by cli_db() */
    struct http_client *http;     /* owned; made by cli_http() */
    const char *operator_name;    /* points into env or the environment */
    FILE *out;                    /* stdout */
    FILE *errf;                   /* stderr */
};

/* Loads the configuration and selects the environment; prints the error and
 * returns its exit code on failure, 0 on success.  Idempotent. */
int cli_load_config(struct cli *cli);

/* The database, opened (and migrated) on first use.  Returns an exit code;
 * *out is valid when it returns 0. */
int cli_db(struct cli *cli, PGconn **out);

/* The HTTP client, made on first use (never fails). */
struct http_client *cli_http(struct cli *cli);

/* Prints "lakeop: MESSAGE" (secrets redacted, text made inert) on stderr and
 * returns err->status (or 1 when it is LK_OK). */
int cli_fail(struct cli *cli, const struct lk_error *err);
/* Same, for a message of our own; returns status. */
int cli_failf(struct cli *cli, int status, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Refuses (returns 3, after printing why and auditing the refusal) when the
 * environment is read-only; 0 otherwise. */
int cli_check_writable(struct cli *cli, const char *action, const char *target);

/* Asks for confirmation of a change.  With yes, confirmed.  Without a
 * terminal, refused ("use --yes").  On a terminal: y/N, or in a protected
 * environment the environment's name typed in full.  The plan has already
 * been printed by the caller.  Returns 0 when confirmed, 3 when refused. */
int cli_confirm(struct cli *cli, bool yes, const char *question);

/* cli_confirm for a change that is audited: a refusal is appended to the
 * audit as refused, "not confirmed", with action, target and params. */
int cli_confirm_change(struct cli *cli, bool yes, const char *question, const char *action,
                       const char *target, const char *params_json);

/* Appends to the audit log (errors are printed, not fatal to the caller). */
void cli_audit_append(struct cli *cli, const char *action, const char *target, const char *params_json,
                      int result /* enum audit_result */, const char *message);

/* Prints untrusted text made inert (control characters visible). */
void cli_print_inert(struct cli *cli, FILE *f, const char *text);

/* Untrusted text made inert and padded with spaces to width columns, never
 * cut (ids must stay whole for copy and paste); NULL prints as "". */
void cli_cell(FILE *f, const char *text, int width);

/* The one JSON document of --json on cli->out: indented, members in the
 * order they were set.  Takes the reference to doc. */
void cli_print_json(struct cli *cli, json_t *doc);

/* A JSON string, or null for NULL. */
json_t *cli_jstr(const char *s);

/* Prints "usage: TEXT" on stderr; returns 2.  cli_help prints it on stdout
 * (asked for with --help) and returns 0. */
int cli_usage(struct cli *cli, const char *text);
int cli_help(struct cli *cli, const char *text);

/* A whole decimal number from min to max (an option's value, an id). */
bool cli_parse_count(const char *text, long long min, long long max, long long *out);

/* While a long operation runs, SIGINT and SIGTERM go to handler (which sets
 * the operation's cancel flag) instead of ending lakeop at once;
 * cli_signals_restore puts the previous handlers back. */
struct cli_signals {
    struct sigaction old_int, old_term;
};
void cli_signals_catch(struct cli_signals *saved, void (*handler)(int sig));
void cli_signals_restore(const struct cli_signals *saved);

/* Fills a core context for this command (loads the config; opens the
 * database when need_db).  Returns an exit code (0 = ctx usable). */
int cli_ctx(struct cli *cli, bool need_db, struct lk_ctx *ctx);

/* Frees everything cli owns. */
void cli_close(struct cli *cli);

#endif
