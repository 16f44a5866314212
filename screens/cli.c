/* What every subcommand shares (cli.h): configuration, connections made on
 * first use, confirmation, the audit, and output that never passes an
 * escape sequence from a server to the terminal. */
#include "cli.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "audit.h"
#include "db.h"
#include "mem.h"
#include "text.h"

/* Prints "lakeop: TEXT" with secrets hidden and control characters made
 * visible. */
static void print_error_line(struct cli *cli, const char *text)
{
    char *copy = xstrdup(text);
    cfg_redact(cli->cfg, copy);
    char *inert = text_inert(copy);
    fprintf(cli->errf ? cli->errf : stderr, "lakeop: %s\n", inert);
    free(inert);
    free(copy);
}

int cli_fail(struct cli *cli, const struct lk_error *err)
{
    char text[sizeof err->message + sizeof err->remote_message + sizeof err->remote_code + 256];
    err_text(err, text, sizeof text);
    print_error_line(cli, text);
    return err->status == LK_OK ? 1 : (int)err->status;
}

int cli_failf(struct cli *cli, int status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char text[2048];
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    print_error_line(cli, text);
    return status;
}

int cli_load_config(struct cli *cli)
{
    if (cli->env)
        return 0;
    if (!cli->out)
        cli->out = stdout;
    if (!cli->errf)
        cli->errf = stderr;
    struct lk_error err;
    err_clear(&err);
    if (!cli->cfg) {
        /* A file named by LAKEOP_CONFIG is as explicit as --config: its
         * absence is a mistake worth saying, not a reason for defaults. */
        const char *from_env = getenv("LAKEOP_CONFIG");
        bool explicit_path = cli->config_path || (from_env && *from_env);
        if (cfg_load(cli->config_path, explicit_path, &cli->cfg, &err) != LK_OK)
            return cli_fail(cli, &err);
    }
    if (cfg_env_select(cli->cfg, cli->env_name, &cli->env, &err) != LK_OK)
        return cli_fail(cli, &err);
    if (cli->env->read_only)
        cli->read_only = true;
    cli->operator_name = cli->env->operator_name;
    return 0;
}

int cli_db(struct cli *cli, PGconn **out)
{
    *out = NULL;
    int rc = cli_load_config(cli);
    if (rc)
        return rc;
    if (!cli->db) {
        struct lk_error err;
        err_clear(&err);
        if (db_open(cli->env->database, &cli->db, &err) != LK_OK)
            return cli_fail(cli, &err);
    }
    *out = cli->db;
    return 0;
}

struct http_client *cli_http(struct cli *cli)
{
    if (cli->http)
        return cli->http;
    cli->http = http_client_new(cli->env ? cli->env->ca_bundle : NULL, "lakeop/" LAKEOP_VERSION);
    if (cli->cfg)
        for (size_t i = 0; i < cli->cfg->n_secrets; i++)
            http_client_add_secret(cli->http, cli->cfg->secrets[i]);
    return cli->http;
}

void cli_audit_append(struct cli *cli, const char *action, const char *target, const char *params_json,
                      int result, const char *message)
{
    if (cli_load_config(cli))
        return;
    if (!cli->env->database) {
        cli_failf(cli, 1, "warning: '%s' is not recorded in the audit log: no database is configured", action);
        return;
    }
    PGconn *db = NULL;
    if (cli_db(cli, &db))
        return;
    const struct audit_entry entry = {
        .operator_name = cli->operator_name,
        .env = cli->env->name,
        .action = action,
        .target = target,
        .params_json = params_json,
        .result = (enum audit_result)result,
        .message = message,
    };
    struct lk_error err;
    err_clear(&err);
    if (audit_append(db, &entry, &err) != LK_OK)
        cli_fail(cli, &err);
}

int cli_check_writable(struct cli *cli, const char *action, const char *target)
{
    int rc = cli_load_config(cli);
    if (rc)
        return rc;
    if (!cli->read_only)
        return 0;
    char why[512];
    if (cli->env->read_only)
        snprintf(why, sizeof why, "environment %s is read_only", cli->env->name);
    else
        snprintf(why, sizeof why, "--read-only");
    char message[768];
    snprintf(message, sizeof message, "read-only: %s refused (%s)", action, why);
    print_error_line(cli, message);
    cli_audit_append(cli, action, target, NULL, AUDIT_REFUSED, message);
    return LK_REFUSED;
}

/* One line from stdin without its newline; false at the end of input. */
static bool read_answer(char *buf, size_t size)
{
    if (!fgets(buf, (int)size, stdin))
        return false;
    buf[strcspn(buf, "\r\n")] = '\0';
    return true;
}

int cli_confirm(struct cli *cli, bool yes, const char *question)
{
    if (yes)
        return 0;
    FILE *ef = cli->errf ? cli->errf : stderr;
    if (!cli->stdin_tty) {
        fprintf(ef, "lakeop: refusing to change anything without a terminal: add --yes\n");
        return LK_REFUSED;
    }
    if (question && *question)
        fprintf(ef, "%s\n", question);
    char answer[256];
    bool confirmed;
    if (cli->env && cli->env->protected_env) {
        char *name = text_inert(cli->env->name);
        fprintf(ef, "Type the environment name (%s) to proceed: ", name);
        free(name);
        fflush(ef);
        confirmed = read_answer(answer, sizeof answer) && strcmp(answer, cli->env->name) == 0;
    } else {
        fprintf(ef, "Proceed? [y/N] ");
        fflush(ef);
        confirmed = read_answer(answer, sizeof answer)
                    && (strcasecmp(answer, "y") == 0 || strcasecmp(answer, "yes") == 0);
    }
    if (!confirmed) {
        fprintf(ef, "lakeop: not confirmed; nothing was changed\n");
        return LK_REFUSED;
    }
    return 0;
}

int cli_confirm_change(struct cli *cli, bool yes, const char *question, const char *action,
                       const char *target, const char *params_json)
{
    int rc = cli_confirm(cli, yes, question);
    if (rc)
        cli_audit_append(cli, action, target, params_json, AUDIT_REFUSED, "not confirmed");
    return rc;
}

void cli_print_inert(struct cli *cli, FILE *f, const char *text)
{
    char *inert = text_inert(text);
    fputs(inert, f ? f : cli->out ? cli->out : stdout);
    free(inert);
}

void cli_cell(FILE *f, const char *text, int width)
{
    char *inert = text_inert(text ? text : "");
    int w = text_width(inert);
    fputs(inert, f);
    for (; w < width; w++)
        fputc(' ', f);
    free(inert);
}

void cli_print_json(struct cli *cli, json_t *doc)
{
    char *text = json_dumps(doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    if (text) {
        fputs(text, cli->out);
        fputc('\n', cli->out);
    }
    free(text);
    json_decref(doc);
}

json_t *cli_jstr(const char *s)
{
    return s ? json_string(s) : json_null();
}

int cli_usage(struct cli *cli, const char *text)
{
    fprintf(cli->errf, "usage: %s\n", text);
    return LK_USAGE;
}

int cli_help(struct cli *cli, const char *text)
{
    fprintf(cli->out, "usage: %s\n", text);
    return 0;
}

bool cli_parse_count(const char *text, long long min, long long max, long long *out)
{
    char *end = NULL;
    long long v = strtoll(text, &end, 10);
    if (!text[0] || *end || v < min || v > max)
        return false;
    *out = v;
    return true;
}

void cli_signals_catch(struct cli_signals *saved, void (*handler)(int sig))
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = handler;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, &saved->old_int);
    sigaction(SIGTERM, &sa, &saved->old_term);
}

void cli_signals_restore(const struct cli_signals *saved)
{
    sigaction(SIGINT, &saved->old_int, NULL);
    sigaction(SIGTERM, &saved->old_term, NULL);
}

int cli_ctx(struct cli *cli, bool need_db, struct lk_ctx *ctx)
{
    memset(ctx, 0, sizeof *ctx);
    int rc = cli_load_config(cli);
    if (rc)
        return rc;
    if (need_db) {
        PGconn *db = NULL;
        rc = cli_db(cli, &db);
        if (rc)
            return rc;
    }
    ctx->cfg = cli->cfg;
    ctx->env = cli->env;
    ctx->db = cli->db;
    ctx->http = cli_http(cli);
    ctx->operator_name = cli->operator_name;
    ctx->read_only = cli->read_only;
    return 0;
}

void cli_close(struct cli *cli)
{
    if (cli->http)
        http_client_free(cli->http);
    cli->http = NULL;
    db_close(cli->db);
    cli->db = NULL;
    cfg_free(cli->cfg);
    cli->cfg = NULL;
    cli->env = NULL;
    cli->operator_name = NULL;
}
