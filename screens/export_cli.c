/* `lakeop export --from afterLastIncrement|YYYY-MM-DD [--object NAME]...
 * [--yes] [--wait] [--force]`: plan, check, confirm, submit, audit. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "audit.h"
#include "cli.h"
#include "commands.h"
#include "export.h"
#include "jobs_cli.h"
#include "json.h"
#include "mem.h"
#include "watch.h"

#define EXPORT_USAGE \
    "usage: lakeop export --from afterLastIncrement|YYYY-MM-DD [--object NAME]... [--yes] [--wait]\n" \
    "                     [--force] [--interval SECONDS] [--json]"

/* Multi-line text of ours around untrusted names: each line made inert. */
static void print_lines(struct cli *cli, FILE *f, const char *text)
{
    while (*text) {
        size_t n = strcspn(text, "\n");
        char *line = xstrndup(text, n);
        cli_print_inert(cli, f, line);
        fputc('\n', f);
        free(line);
        text += n;
        if (*text == '\n')
            text++;
    }
}

/* Under --json a refusal is the one document on stdout too, with the plan. */
static void refusal_json(struct cli *cli, const struct export_plan *plan, const char *message)
{
    json_t *root = json_object();
    json_object_set_new(root, "plan", plan && plan->n_objects ? export_plan_value(plan) : json_null());
    json_object_set_new(root, "refused", json_string(message));
    char *text = jx_dump(root);
    fprintf(cli->out, "%s\n", text);
    free(text);
    json_decref(root);
}

static int refuse(struct cli *cli, const char *from, const struct export_plan *plan, bool force,
                  const char *message)
{
    if (cli->json)
        refusal_json(cli, plan, message);
    fflush(cli->out);
    fprintf(cli->errf, "lakeop: ");
    cli_print_inert(cli, cli->errf, message);
    fputc('\n', cli->errf);
    char *params = export_audit_params(from, plan, force);
    cli_audit_append(cli, "export.submit", NULL, params, AUDIT_REFUSED, message);
    free(params);
    return LK_REFUSED;
}

int cli_export(struct cli *cli, int argc, char **argv)
{
    static const struct option opts[] = {
        { "from", required_argument, NULL, 'f' },
        { "object", required_argument, NULL, 'o' },
        { "yes", no_argument, NULL, 'y' },
        { "wait", no_argument, NULL, 'w' },
        { "force", no_argument, NULL, 'F' },
        { "interval", required_argument, NULL, 'i' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    const char *from = NULL;
    const char **names = xcalloc((size_t)argc + 1, sizeof *names);
    size_t n_names = 0;
    bool yes = false, wait = false, force = false;
    long long interval_ms = WATCH_DEFAULT_INTERVAL_MS;
    int c, rc = 0;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'f': from = optarg; break;
        case 'o': names[n_names++] = optarg; break;
        case 'y': yes = true; break;
        case 'w': wait = true; break;
        case 'F': force = true; break;
        case 'i':
            interval_ms = jobs_cli_parse_interval(optarg);
            if (interval_ms < 0) {
                free(names);
                return cli_failf(cli, 2, "--interval takes seconds (at least 2), not '%s'", optarg);
            }
            break;
        case 'h':
            fprintf(cli->out, "%s\n", EXPORT_USAGE);
            free(names);
            return 0;
        default:
            free(names);
            return cli_failf(cli, 2, "%s", EXPORT_USAGE);
        }
    }
    if (optind != argc || !from) {
        free(names);
        return cli_failf(cli, 2, "%s", optind != argc ? EXPORT_USAGE : "--from is required: afterLastIncrement or a date YYYY-MM-DD");
    }
    if ((rc = cli_load_config(cli)) != 0) {
        free(names);
        return rc;
    }
    struct export_plan plan;
    struct lk_error err;
    err_clear(&err);
    /* Refusals that need nothing else come first (and are audited). */
    if (strcmp(from, "beginning") == 0) {
        export_parse_from(from, (long long)time(NULL), cli->env->zuora_timezone, &plan, &err);
        free(names);
        return refuse(cli, from, NULL, force, err.message);
    }
    if ((rc = cli_check_writable(cli, "export.submit", NULL)) != 0) {
        free(names);
        return rc;
    }
    struct lk_ctx ctx;
    if ((rc = cli_ctx(cli, true, &ctx)) != 0) {
        free(names);
        return rc;
    }
    enum lk_status st = export_plan_build(&ctx, from, names, n_names, force, (long long)time(NULL), &plan, &err);
    free(names);
    if (st == LK_REFUSED) {
        rc = refuse(cli, from, &plan, force, err.message);
        export_plan_free(&plan);
        return rc;
    }
    if (st != LK_OK) {
        export_plan_free(&plan);
        return cli_fail(cli, &err);
    }
    /* The plan goes to stderr under --json, so stdout stays one JSON document. */
    FILE *pf = cli->json ? cli->errf : cli->out;
    struct buf text = BUF_INIT;
    export_plan_describe(&plan, &text);
    print_lines(cli, pf, buf_cstr(&text));
    buf_free(&text);
    fflush(pf);
    if (plan.unsafe) {
        struct buf why = BUF_INIT;
        export_refusal_text(&plan, &why);
        if (!force) {
            rc = refuse(cli, from, &plan, force, buf_cstr(&why));
            buf_free(&why);
            export_plan_free(&plan);
            return rc;
        }
        fprintf(cli->errf, "lakeop: --force: submitting although ");
        cli_print_inert(cli, cli->errf, buf_cstr(&why) + strlen("refusing to export afterLastIncrement: "));
        fputc('\n', cli->errf);
        buf_free(&why);
    }
    fflush(pf);
    if (cli_confirm(cli, yes, "Submit this export to Zuora?") != 0) {
        rc = refuse(cli, from, &plan, force, "export not confirmed");
        export_plan_free(&plan);
        return rc;
    }
    if (plan.needs_second_confirmation) {
        char question[256];
        snprintf(question, sizeof question,
                 "This exports %d days of changes (more than %d): large exports can exceed Zuora's time limits. "
                 "Submit anyway?", plan.days_back, EXPORT_LONG_RANGE_DAYS);
        if (cli_confirm(cli, yes, question) != 0) {
            rc = refuse(cli, from, &plan, force, "export of more than 30 days not confirmed");
            export_plan_free(&plan);
            return rc;
        }
    }

    struct zuora_client *zc = zuora_client_new(ctx.env, ctx.http);
    struct zuora_job job;
    st = export_submit(&ctx, zc, &plan, &job, &err);
    char *params = export_audit_params(from, &plan, force);
    if (st != LK_OK) {
        char line[1400];
        cli_audit_append(cli, "export.submit", job.id, params, AUDIT_FAILED, err_text(&err, line, sizeof line));
        free(params);
        zuora_job_free(&job);
        zuora_client_free(zc);
        export_plan_free(&plan);
        return cli_fail(cli, &err);
    }
    char message[128];
    snprintf(message, sizeof message, "submitted %zu quer%s%s", plan.n_objects, plan.n_objects == 1 ? "y" : "ies",
             force && plan.unsafe ? " (forced past the ingestion check)" : "");
    cli_audit_append(cli, "export.submit", job.id, params, AUDIT_OK, message);
    free(params);
    char *plan_json = export_plan_json(&plan);
    export_plan_free(&plan);

    if (wait) {
        fprintf(cli->errf, "lakeop: submitted job ");
        cli_print_inert(cli, cli->errf, job.id);
        fprintf(cli->errf, "; watching it\n");
        char *id = xstrdup(job.id);
        zuora_job_free(&job);
        rc = jobs_cli_watch(cli, &ctx, zc, id, interval_ms, plan_json);
        free(id);
    } else {
        jobs_cli_print_job(cli, &job, "zuora", plan_json);
        zuora_job_free(&job);
        rc = 0;
    }
    free(plan_json);
    zuora_client_free(zc);
    return rc;
}
