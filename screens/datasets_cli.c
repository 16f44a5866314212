/* lakeop datasets / status: each configured dataset with its freshness,
 * loads by status and current ODS snapshot; and the on-call summary (stale
 * datasets, errored loads, running Zuora jobs) whose exit status is 1 when
 * anything is stale or errored, for cron and alerting. */
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "commands.h"
#include "dataset.h"
#include "fmt.h"
#include "health.h"
#include "load.h"
#include "text.h"

#define STATUS_ERRORED_SHOWN 20

static void fmt_age(long long secs, char *out, size_t size)
{
    if (secs < 0)
        secs = 0;
    if (secs < 120)
        snprintf(out, size, "%llds", secs);
    else if (secs < 7200)
        snprintf(out, size, "%lldm", secs / 60);
    else if (secs < 172800)
        snprintf(out, size, "%lldh", secs / 3600);
    else
        snprintf(out, size, "%lldd", secs / 86400);
}

static long long in_progress(const struct dataset_stats *s)
{
    return s->counts[LOAD_INGESTING] + s->counts[LOAD_READY_FOR_ARCHIVING] + s->counts[LOAD_ARCHIVING] +
           s->counts[LOAD_READY_FOR_ERRORING] + s->counts[LOAD_ERRORING];
}

static const char *freshness_word(const struct cfg_dataset *d, const struct dataset_stats *s)
{
    if (d->freshness_s <= 0)
        return "-";
    return s->stale ? "STALE" : "fresh";
}

static json_t *stats_json(const struct cfg_dataset *d, const struct dataset_stats *s, long long now)
{
    json_t *counts = json_object();
    for (int i = 0; i < LOAD_STATUS_COUNT; i++)
        json_object_set_new(counts, load_status_name((enum load_status)i), json_integer(s->counts[i]));
    json_t *o = json_object();
    json_object_set_new(o, "name", json_string(d->name));
    json_object_set_new(o, "incoming", cli_jstr(d->incoming));
    json_object_set_new(o, "raw_hist", cli_jstr(d->raw_hist));
    json_object_set_new(o, "dialect", cli_jstr(d->dialect));
    json_object_set_new(o, "freshness_seconds", d->freshness_s > 0 ? json_integer(d->freshness_s) : json_null());
    json_object_set_new(o, "newest_archived", s->newest_archived ? json_integer(s->newest_archived) : json_null());
    json_object_set_new(o, "age_seconds", s->newest_archived ? json_integer(now - s->newest_archived) : json_null());
    json_object_set_new(o, "stale", json_boolean(s->stale));
    json_object_set_new(o, "loads", counts);
    if (s->snapshot_key)
        json_object_set_new(o, "snapshot", json_pack("{s:s,s:I,s:I}", "key", s->snapshot_key, "started",
                                                     (json_int_t)s->snapshot_started, "loads",
                                                     (json_int_t)s->snapshot_loads));
    else
        json_object_set_new(o, "snapshot", json_null());
    return o;
}

static void stats_line(struct cli *cli, const struct cfg_dataset *d, const struct dataset_stats *s,
                       long long now)
{
    FILE *f = cli->out;
    char newest[32], age[32] = "";
    fmt_local_time(s->newest_archived, true, "never", newest, sizeof newest);
    if (s->newest_archived)
        fmt_age(now - s->newest_archived, age, sizeof age);
    cli_cell(f, d->name, 36);
    fprintf(f, " %-6s %-19s %6s %7lld %7lld %9lld %8lld  ", freshness_word(d, s), newest, age,
            s->counts[LOAD_READY], in_progress(s), s->counts[LOAD_ARCHIVED], s->counts[LOAD_ERRORED]);
    if (s->snapshot_key) {
        char started[32];
        fmt_local_time(s->snapshot_started, true, "never", started, sizeof started);
        cli_print_inert(cli, f, s->snapshot_key);
        fprintf(f, " (%s, %lld loads)", started, s->snapshot_loads);
    } else {
        fputs("-", f);
    }
    fputc('\n', f);
}

static void stats_header(FILE *f)
{
    fprintf(f, "%-36s %-6s %-19s %6s %7s %7s %9s %8s  %s\n", "DATASET", "FRESH", "NEWEST ARCHIVED", "AGE",
            "READY", "ACTIVE", "ARCHIVED", "ERRORED", "SNAPSHOT");
}

static int simple_options(struct cli *cli, int argc, char **argv, const char *usage)
{
    static const struct option opts[] = {
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    int c;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (c == 'h') {
            cli_help(cli, usage);
            return -1;
        }
        return cli_usage(cli, usage);
    }
    if (optind < argc)
        return cli_failf(cli, 2, "unexpected argument '%s'; usage: %s", argv[optind], usage);
    return 0;
}

int cli_datasets(struct cli *cli, int argc, char **argv)
{
    int rc = simple_options(cli, argc, argv, "lakeop datasets [--json]");
    if (rc)
        return rc < 0 ? 0 : rc;
    struct lk_ctx ctx;
    if ((rc = cli_ctx(cli, true, &ctx)))
        return rc;
    long long now = (long long)time(NULL);
    json_t *arr = cli->json ? json_array() : NULL;
    if (!arr) {
        stats_header(cli->out);
        if (cli->env->n_datasets == 0)
            fprintf(cli->out, "(no [dataset] sections in the configuration)\n");
    }
    for (size_t i = 0; i < cli->env->n_datasets; i++) {
        const struct cfg_dataset *d = &cli->env->datasets[i];
        struct dataset_stats s;
        struct lk_error err;
        err_clear(&err);
        if (dataset_stats_get(ctx.db, d->name, d->freshness_s, now, &s, &err) != LK_OK) {
            json_decref(arr);
            return cli_fail(cli, &err);
        }
        if (arr)
            json_array_append_new(arr, stats_json(d, &s, now));
        else
            stats_line(cli, d, &s, now);
        dataset_stats_free(&s);
    }
    if (arr) {
        json_t *doc = json_object();
        json_object_set_new(doc, "datasets", arr);
        cli_print_json(cli, doc);
    }
    return 0;
}

int cli_status(struct cli *cli, int argc, char **argv)
{
    int rc = simple_options(cli, argc, argv, "lakeop status [--json]");
    if (rc)
        return rc < 0 ? 0 : rc;
    struct lk_ctx ctx;
    if ((rc = cli_ctx(cli, true, &ctx)))
        return rc;
    long long now = (long long)time(NULL);
    struct lk_error err;
    err_clear(&err);

    json_t *stale = json_array();
    size_t n_stale = 0;
    FILE *f = cli->out;
    for (size_t i = 0; i < cli->env->n_datasets; i++) {
        const struct cfg_dataset *d = &cli->env->datasets[i];
        struct dataset_stats s;
        if (dataset_stats_get(ctx.db, d->name, d->freshness_s, now, &s, &err) != LK_OK) {
            json_decref(stale);
            return cli_fail(cli, &err);
        }
        if (s.stale) {
            if (n_stale++ == 0 && !cli->json) {
                fprintf(f, "stale datasets:\n  ");
                stats_header(f);
            }
            if (cli->json) {
                json_array_append_new(stale, stats_json(d, &s, now));
            } else {
                fputs("  ", f);
                stats_line(cli, d, &s, now);
            }
        }
        dataset_stats_free(&s);
    }
    if (!cli->json && n_stale == 0)
        fprintf(f, "stale datasets: none\n");

    long long n_errored = 0;
    struct load *errored = NULL;
    size_t n_shown = 0;
    struct load_filter lf = { .status = LOAD_ERRORED, .limit = STATUS_ERRORED_SHOWN };
    if (health_count_loads(ctx.db, "errored", &n_errored, &err) != LK_OK ||
        (n_errored > 0 && load_list(ctx.db, &lf, &errored, &n_shown, &err) != LK_OK)) {
        json_decref(stale);
        return cli_fail(cli, &err);
    }
    json_t *errored_arr = json_array();
    if (!cli->json)
        fprintf(f, "errored loads: %lld%s\n", n_errored,
                (long long)n_shown < n_errored ? " (newest shown; lakeop loads --status errored lists all)" : "");
    for (size_t i = 0; i < n_shown; i++) {
        const struct load *l = &errored[i];
        if (cli->json) {
            json_array_append_new(errored_arr,
                                  json_pack("{s:I,s:s,s:s,s:o}", "id", (json_int_t)l->id, "dataset", l->dataset,
                                            "key", l->key, "error", cli_jstr(l->error)));
            continue;
        }
        fprintf(f, "  load %-8lld ", l->id);
        cli_print_inert(cli, f, l->dataset);
        fputc(' ', f);
        cli_print_inert(cli, f, l->key);
        if (l->error) {
            fputs(": ", f);
            cli_print_inert(cli, f, l->error);
        }
        fputc('\n', f);
    }
    load_array_free(errored, n_shown);

    struct health_job *jobs = NULL;
    size_t n_jobs = 0;
    if (health_running_jobs(ctx.db, cli->env->name, 50, &jobs, &n_jobs, &err) != LK_OK) {
        json_decref(stale);
        json_decref(errored_arr);
        return cli_fail(cli, &err);
    }
    json_t *jobs_arr = json_array();
    if (!cli->json)
        fprintf(f, "running Zuora jobs: %zu\n", n_jobs);
    for (size_t i = 0; i < n_jobs; i++) {
        const struct health_job *j = &jobs[i];
        if (cli->json) {
            json_array_append_new(jobs_arr, json_pack("{s:s,s:s,s:o,s:I}", "job_id", j->job_id, "status",
                                                      j->status, "name", cli_jstr(j->name), "submitted_at",
                                                      (json_int_t)j->submitted_at));
            continue;
        }
        char when[32], age[32];
        fmt_local_time(j->submitted_at, true, "never", when, sizeof when);
        fmt_age(now - j->submitted_at, age, sizeof age);
        fputs("  ", f);
        cli_cell(f, j->job_id, 34);
        fputc(' ', f);
        cli_cell(f, j->status, 10);
        fprintf(f, " submitted %s (%s ago) ", when, age);
        cli_print_inert(cli, f, j->name ? j->name : "");
        fputc('\n', f);
    }
    health_jobs_free(jobs, n_jobs);

    bool bad = n_stale > 0 || n_errored > 0;
    if (cli->json) {
        json_t *doc = json_object();
        json_object_set_new(doc, "ok", json_boolean(!bad));
        json_object_set_new(doc, "stale_datasets", stale);
        json_object_set_new(doc, "errored_loads", json_integer(n_errored));
        json_object_set_new(doc, "errored", errored_arr);
        json_object_set_new(doc, "running_jobs", jobs_arr);
        cli_print_json(cli, doc);
    } else {
        json_decref(stale);
        json_decref(errored_arr);
        json_decref(jobs_arr);
        fprintf(f, "%s\n", bad ? "NOT OK: stale datasets or errored loads" : "ok");
    }
    return bad ? 1 : 0;
}
