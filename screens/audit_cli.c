/* `lakeop audit [--limit N]`: the audit log, newest first. */
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "cli.h"
#include "commands.h"
#include "db.h"
#include "mem.h"
#include "text.h"

/* JSON wants valid UTF-8: text that is not (a SQL_ASCII database holds
 * anything) is given in its inert form rather than dropped. */
static json_t *json_text(const char *v)
{
    json_t *s = json_string(v);
    if (!s) {
        char *in = text_inert(v);
        s = json_string(in);
        free(in);
    }
    return s ? s : json_string("");
}

static void print_cell(struct cli *cli, const char *text, int width)
{
    char *in = text_inert(text);
    char buf[1024];
    int used = width > 0 ? text_fit(in, width, 1, buf, sizeof buf) : text_fit(in, 1000, 1, buf, sizeof buf);
    fputs(buf, cli->out);
    for (int i = used; i < width; i++)
        fputc(' ', cli->out);
    free(in);
}

int cli_audit(struct cli *cli, int argc, char **argv)
{
    static const struct option opts[] = {
        { "limit", required_argument, NULL, 'l' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    long limit = 50;
    int c;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (c == 'h') {
            fprintf(cli->out, "usage: lakeop audit [--limit N] [--json]\n");
            return 0;
        } else if (c == 'l') {
            char *end;
            limit = strtol(optarg, &end, 10);
            if (*end || limit < 1 || limit > 1000000)
                return cli_failf(cli, 2, "--limit wants a number from 1 to 1000000, not '%s'", optarg);
        } else {
            return cli_failf(cli, 2, "usage: lakeop audit [--limit N] [--json]");
        }
    }
    if (optind < argc)
        return cli_failf(cli, 2, "usage: lakeop audit [--limit N] [--json]");
    PGconn *db;
    int rc = cli_db(cli, &db);
    if (rc != 0)
        return rc;
    char lim[24];
    snprintf(lim, sizeof lim, "%ld", limit);
    const char *params[] = { lim };
    PGresult *res;
    struct lk_error err;
    err_clear(&err);
    if (db_exec(db,
                "SELECT id, extract(epoch FROM at)::bigint,"
                "       to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'),"
                "       operator, env, action, coalesce(target, ''), params::text, result,"
                "       coalesce(message, '')"
                "  FROM lakeop.audit ORDER BY id DESC LIMIT $1::int",
                1, params, &res, &err) != LK_OK)
        return cli_fail(cli, &err);
    int n = PQntuples(res);
    if (cli->json) {
        json_t *arr = json_array();
        for (int i = 0; i < n; i++) {
            json_t *params_json = NULL;
            if (!PQgetisnull(res, i, 7))
                params_json = json_loads(PQgetvalue(res, i, 7), JSON_DECODE_ANY, NULL);
            json_t *o = json_object();
            json_object_set_new(o, "id", json_integer(atoll(PQgetvalue(res, i, 0))));
            json_object_set_new(o, "at", json_text(PQgetvalue(res, i, 2)));
            static const char *const names[] = { "operator", "env", "action", "target" };
            for (int k = 0; k < 4; k++)
                json_object_set_new(o, names[k], json_text(PQgetvalue(res, i, 3 + k)));
            json_object_set_new(o, "params", params_json ? params_json : json_null());
            json_object_set_new(o, "result", json_text(PQgetvalue(res, i, 8)));
            json_object_set_new(o, "message", json_text(PQgetvalue(res, i, 9)));
            json_array_append_new(arr, o);
        }
        char *text = json_dumps(arr, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        fprintf(cli->out, "%s\n", text ? text : "[]");
        free(text);
        json_decref(arr);
    } else {
        fprintf(cli->out, "%-19s  %-10s  %-6s  %-16s  %-24s  %-7s  %s\n", "TIME", "OPERATOR", "ENV",
                "ACTION", "TARGET", "RESULT", "MESSAGE");
        for (int i = 0; i < n; i++) {
            char when[32];
            app_time(atoll(PQgetvalue(res, i, 1)), when, sizeof when);
            fprintf(cli->out, "%-19s  ", when);
            static const int widths[] = { 10, 6, 16, 24, 7 };
            static const int cols[] = { 3, 4, 5, 6, 8 };
            for (int k = 0; k < 5; k++) {
                print_cell(cli, PQgetvalue(res, i, cols[k]), widths[k]);
                fputs("  ", cli->out);
            }
            print_cell(cli, PQgetvalue(res, i, 9), 0);
            fputc('\n', cli->out);
        }
        if (n == 0)
            fprintf(cli->out, "(the audit log is empty)\n");
    }
    PQclear(res);
    return 0;
}
