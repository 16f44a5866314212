/* `lakeop jobs` (the job history, newest first) and `lakeop job JOB_ID
 * [--watch]` (ask Zuora, store, show; fall back to the stored copy when
 * Zuora has forgotten the job). */
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "app.h"
#include "cli.h"
#include "commands.h"
#include "export.h"
#include "jobs_cli.h"
#include "jobstore.h"
#include "json.h"
#include "mem.h"
#include "text.h"
#include "watch.h"

static long long mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(long long ms)
{
    if (ms <= 0)
        return;
    struct timespec ts = { (time_t)(ms / 1000), (long)(ms % 1000) * 1000000L };
    nanosleep(&ts, NULL);
}

static void format_time(long long t, char *out, size_t size)
{
    if (t <= 0) {
        snprintf(out, size, "-");
        return;
    }
    time_t tt = (time_t)t;
    struct tm tm;
    gmtime_r(&tt, &tm);
    strftime(out, size, "%Y-%m-%d %H:%M:%SZ", &tm);
}

long long jobs_cli_parse_interval(const char *text)
{
    char *end;
    double s = strtod(text, &end);
    if (end == text || *end || s <= 0 || s > 86400)
        return -1;
    return (long long)(s * 1000);
}

static const char *outcome_name(enum zuora_outcome o)
{
    return o == ZUORA_COMPLETED ? "completed" : o == ZUORA_FAILED ? "failed" : "running";
}

/* Prints one untrusted field, inert, padded to width columns. */
static void field(FILE *f, const char *text, int width)
{
    char *inert = text_inert(text ? text : "-");
    int w = text_width(inert);
    fputs(inert, f);
    for (; w < width; w++)
        fputc(' ', f);
    free(inert);
}

void jobs_cli_print_job(struct cli *cli, const struct zuora_job *job, const char *source, const char *plan_json)
{
    FILE *f = cli->out;
    if (cli->json) {
        json_error_t je;
        json_t *raw = job->json ? json_loads(job->json, 0, &je) : NULL;
        json_t *root = json_object();
        json_t *plan = plan_json ? json_loads(plan_json, 0, &je) : NULL;
        if (plan)
            json_object_set_new(root, "plan", plan);
        json_object_set_new(root, "source", json_string(source));
        json_object_set_new(root, "outcome", json_string(outcome_name(zuora_job_outcome(job))));
        json_object_set_new(root, "job", raw ? raw : json_null());
        char *text = jx_dump(root);
        fprintf(f, "%s\n", text);
        free(text);
        json_decref(root);
        return;
    }
    fputs("job      ", f);
    field(f, job->id, 0);
    fputs("\nstatus   ", f);
    field(f, job->status, 0);
    fputs("\nname     ", f);
    field(f, job->name, 0);
    fputs("\npartner  ", f);
    field(f, job->partner, 0);
    fputs("  project ", f);
    field(f, job->project, 0);
    if (job->start_time) {
        fputs("\nstarted  ", f);
        field(f, job->start_time, 0);
        /* The plain form is the tenant's wall-clock time (ZUORA.md). */
        if (!job->start_has_zone && job->start_unix) {
            const char *tz = cli->env && cli->env->zuora_timezone && *cli->env->zuora_timezone
                                 ? cli->env->zuora_timezone : "America/Los_Angeles";
            fputs(" (", f);
            field(f, tz, 0);
            fputc(')', f);
        }
    }
    if (job->incremental_time) {
        fputs("\nincrementalTime ", f);
        field(f, job->incremental_time, 0);
    }
    fputs("\n\n", f);
    fprintf(f, "%-34s %-22s %-12s %10s %-11s %s\n", "BATCH_ID", "NAME", "STATUS", "RECORDS", "FULL", "FILE_ID");
    for (size_t i = 0; i < job->n_batches; i++) {
        const struct zuora_batch *b = &job->batches[i];
        field(f, b->batch_id, 34);
        fputc(' ', f);
        field(f, b->name, 22);
        fputc(' ', f);
        field(f, b->status, 12);
        fputc(' ', f);
        if (b->record_count >= 0)
            fprintf(f, "%10lld ", b->record_count);
        else
            fprintf(f, "%10s ", "-");
        fprintf(f, "%-11s ", b->full == 1 ? "full" : b->full == 0 ? "incremental" : "-");
        if (b->file_id) {
            field(f, b->file_id, 0);
        } else if (b->segments) {
            fprintf(f, "%zu segments:", b->n_segments);
            for (size_t k = 0; k < b->n_segments; k++) {
                fputc(' ', f);
                field(f, b->segments[k], 0);
            }
        } else {
            fputc('-', f);
        }
        fputc('\n', f);
        if (b->message && *b->message) {
            fputs("    message: ", f);
            field(f, b->message, 0);
            fputc('\n', f);
        }
    }
    if (zuora_job_outcome(job) == ZUORA_FAILED) {
        char why[512];
        fputs("\nfailed: ", f);
        field(f, zuora_job_reason(job, why, sizeof why), 0);
        fputc('\n', f);
    }
}

static void store_answer(struct cli *cli, struct lk_ctx *ctx, const struct zuora_job *job)
{
    struct lk_error err;
    err_clear(&err);
    if (jobstore_save_job(ctx->db, ctx->env->name, job, JOBSTORE_LOOKUP, NULL, ctx->env->zuora_timezone, &err))
        cli_fail(cli, &err);
}

static void progress_line(struct cli *cli, const struct zuora_job *job)
{
    if (!cli->stderr_tty)
        return;
    size_t done = 0;
    for (size_t i = 0; i < job->n_batches; i++)
        if (strcmp(job->batches[i].status, "completed") == 0)
            done++;
    char *status = text_inert(job->status);
    char when[32];
    format_time((long long)time(NULL), when, sizeof when);
    fprintf(cli->errf, "%s  %s  %zu/%zu batches completed\n", when, status, done, job->n_batches);
    free(status);
}

long long jobs_watch_ceiling_ms(void)
{
    const char *v = getenv("LAKEOP_WATCH_CEILING");
    if (v && *v) {
        char *end;
        long long s = strtoll(v, &end, 10);
        if (!*end && s >= 1 && s <= 7 * 86400)
            return s * 1000;
    }
    return (long long)WATCH_DEFAULT_CEILING_S * 1000;
}

static void poll_failed(struct cli *cli, const struct watch *w, const struct lk_error *err)
{
    char line[1400];
    if (w->gave_up)
        fprintf(cli->errf, "lakeop: poll failed: ");
    else
        fprintf(cli->errf, "lakeop: poll failed, retrying in %lld s: ", watch_wait_ms(w, mono_ms()) / 1000);
    cli_print_inert(cli, cli->errf, err_text(err, line, sizeof line));
    fputc('\n', cli->errf);
}

int jobs_cli_watch(struct cli *cli, struct lk_ctx *ctx, struct zuora_client *zc, const char *job_id,
                   long long interval_ms, const char *plan_json)
{
    struct watch w;
    watch_init(&w, interval_ms, mono_ms());
    const long long ceiling_ms = jobs_watch_ceiling_ms();
    watch_set_ceiling(&w, ceiling_ms, mono_ms());
    /* The watch spaces its own retries: one request per poll. */
    zuora_client_set_attempts(zc, 1);
    struct zuora_job last = { 0 };
    struct lk_error err;
    err_clear(&err);
    char *last_status = NULL;
    while (!watch_over(&w)) {
        sleep_ms(watch_wait_ms(&w, mono_ms()));
        if (!watch_begin(&w, mono_ms()))
            continue;
        struct zuora_job job;
        err_clear(&err);
        enum lk_status st = zuora_job_get(zc, job_id, &job, &err);
        if (st == LK_NOTFOUND) {
            watch_end_ok(&w, mono_ms(), true);
            free(last_status);
            zuora_job_free(&last);
            return cli_fail(cli, &err);
        }
        if (st != LK_OK) {
            if (err.retryable)
                watch_end_error(&w, mono_ms(), zuora_client_retry_after(zc));
            else
                watch_end_fatal(&w);
            poll_failed(cli, &w, &err);
            continue;
        }
        store_answer(cli, ctx, &job);
        bool terminal = zuora_job_outcome(&job) != ZUORA_RUNNING || zuora_status_terminal(job.status);
        if (!last_status || strcmp(last_status, job.status) != 0 || terminal)
            progress_line(cli, &job);
        free(last_status);
        last_status = xstrdup(job.status);
        watch_end_ok(&w, mono_ms(), terminal);
        zuora_job_free(&last);
        last = job;
    }
    free(last_status);
    if (w.gave_up) {
        zuora_job_free(&last);
        if (err.retryable)
            err_prefix(&err, "gave up watching job %s after %d failed polls", job_id, w.failures);
        else
            err_prefix(&err, "stopped watching job %s (asking again would not help)", job_id);
        return cli_fail(cli, &err);
    }
    if (w.timed_out) {
        char *status = last.status ? text_inert(last.status) : xstrdup("not known");
        fprintf(cli->errf, "lakeop: gave up watching job ");
        cli_print_inert(cli, cli->errf, job_id);
        fprintf(cli->errf, " after %lld s: it is still %s, longer than Zuora lets a job run (8 hours); it is "
                "probably stuck: look at it in Zuora, or cancel it in the console (LAKEOP_WATCH_CEILING "
                "sets this limit)\n", ceiling_ms / 1000, status);
        free(status);
        zuora_job_free(&last);
        return LK_FAIL;
    }
    jobs_cli_print_job(cli, &last, "zuora", plan_json);
    fflush(cli->out);
    int rc = zuora_job_outcome(&last) == ZUORA_COMPLETED ? 0 : 1;
    if (rc) {
        char why[512];
        fprintf(cli->errf, "lakeop: job %s ended: ", job_id);
        cli_print_inert(cli, cli->errf, zuora_job_reason(&last, why, sizeof why));
        fputc('\n', cli->errf);
    }
    zuora_job_free(&last);
    return rc;
}

int cli_job(struct cli *cli, int argc, char **argv)
{
    static const struct option opts[] = {
        { "watch", no_argument, NULL, 'w' },
        { "interval", required_argument, NULL, 'i' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    bool watch = false;
    long long interval_ms = WATCH_DEFAULT_INTERVAL_MS;
    int c;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'w': watch = true; break;
        case 'i':
            interval_ms = jobs_cli_parse_interval(optarg);
            if (interval_ms < 0)
                return cli_failf(cli, 2, "--interval takes seconds (at least 2), not '%s'", optarg);
            break;
        case 'h':
            fprintf(cli->out, "usage: lakeop job JOB_ID [--watch] [--interval SECONDS] [--json]\n");
            return 0;
        default:
            return cli_failf(cli, 2, "usage: lakeop job JOB_ID [--watch] [--interval SECONDS] [--json]");
        }
    }
    if (optind != argc - 1)
        return cli_failf(cli, 2, "usage: lakeop job JOB_ID [--watch] [--interval SECONDS] [--json]");
    const char *job_id = argv[optind];
    if (!*job_id || strlen(job_id) > 64)
        return cli_failf(cli, 2, "'%s' is not a Zuora job id", job_id);
    struct lk_ctx ctx;
    int rc = cli_ctx(cli, true, &ctx);
    if (rc)
        return rc;
    struct zuora_client *zc = zuora_client_new(ctx.env, ctx.http);
    if (watch) {
        rc = jobs_cli_watch(cli, &ctx, zc, job_id, interval_ms, NULL);
        zuora_client_free(zc);
        return rc;
    }
    struct zuora_job job;
    struct lk_error err;
    err_clear(&err);
    enum lk_status st = zuora_job_get(zc, job_id, &job, &err);
    zuora_client_free(zc);
    if (st == LK_OK) {
        store_answer(cli, &ctx, &job);
        jobs_cli_print_job(cli, &job, "zuora", NULL);
        zuora_job_free(&job);
        return 0;
    }
    if (st != LK_NOTFOUND)
        return cli_fail(cli, &err);
    struct lk_error err2;
    err_clear(&err2);
    char *origin = NULL;
    st = jobstore_load_job(ctx.db, job_id, &job, &origin, &err2);
    if (st == LK_NOTFOUND)
        return cli_fail(cli, &err);
    if (st != LK_OK)
        return cli_fail(cli, &err2);
    fprintf(cli->errf, "lakeop: note: Zuora no longer knows job ");
    cli_print_inert(cli, cli->errf, job_id);
    fprintf(cli->errf, "; showing the copy stored in the job history (origin %s)\n", origin ? origin : "-");
    free(origin);
    jobs_cli_print_job(cli, &job, "history", NULL);
    zuora_job_free(&job);
    return 0;
}

int cli_jobs(struct cli *cli, int argc, char **argv)
{
    static const struct option opts[] = {
        { "limit", required_argument, NULL, 'l' },
        { "before", required_argument, NULL, 'b' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    long limit = 50;
    long long before = 0;
    int c;
    char *end;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'l':
            limit = strtol(optarg, &end, 10);
            if (end == optarg || *end || limit < 1 || limit > 10000)
                return cli_failf(cli, 2, "--limit takes a number from 1 to 10000, not '%s'", optarg);
            break;
        case 'b':
            before = strtoll(optarg, &end, 10);
            if (end == optarg || *end || before < 1)
                return cli_failf(cli, 2, "--before takes a row id (as printed by --json), not '%s'", optarg);
            break;
        case 'h':
            fprintf(cli->out, "usage: lakeop jobs [--limit N] [--before ID] [--json]\n");
            return 0;
        default:
            return cli_failf(cli, 2, "usage: lakeop jobs [--limit N] [--before ID] [--json]");
        }
    }
    if (optind != argc)
        return cli_failf(cli, 2, "usage: lakeop jobs [--limit N] [--before ID] [--json]");
    struct lk_ctx ctx;
    int rc = cli_ctx(cli, true, &ctx);
    if (rc)
        return rc;
    struct jobstore_row *rows;
    size_t n;
    struct lk_error err;
    err_clear(&err);
    /* The scheduled exporter's jobs are in the history only once asked for. */
    if (ctx.env->zuora_url && *ctx.env->zuora_url) {
        struct zuora_client *zc = zuora_client_new(ctx.env, ctx.http);
        if (export_note_last_completed(&ctx, zc, NULL, 0, &err) != LK_OK) {
            char line[1400];
            fprintf(cli->errf, "lakeop: note: ");
            cli_print_inert(cli, cli->errf, err_text(&err, line, sizeof line));
            fprintf(cli->errf, "; showing the history as stored\n");
            err_clear(&err);
        }
        zuora_client_free(zc);
    }
    if (jobstore_list(ctx.db, ctx.env->name, before, (int)limit, &rows, &n, &err))
        return cli_fail(cli, &err);
    FILE *f = cli->out;
    long long now = (long long)time(NULL);
    if (cli->json) {
        json_t *arr = json_array();
        for (size_t i = 0; i < n; i++) {
            const struct jobstore_row *r = &rows[i];
            char sub[32], upd[32], start[32], ended[32];
            format_time(r->submitted_unix, sub, sizeof sub);
            format_time(r->updated_unix, upd, sizeof upd);
            format_time(r->start_unix, start, sizeof start);
            format_time(r->ended_unix, ended, sizeof ended);
            long long took = jobstore_duration(r->start_unix, r->submitted_unix, r->ended_unix,
                                               zuora_status_terminal(r->status), now);
            json_t *o = json_object();
            json_object_set_new(o, "id", json_integer(r->id));
            json_object_set_new(o, "jobId", json_string(r->job_id));
            json_object_set_new(o, "name", r->name ? json_string(r->name) : json_null());
            json_object_set_new(o, "status", json_string(r->status));
            json_object_set_new(o, "origin", json_string(r->origin));
            json_object_set_new(o, "partner", r->partner ? json_string(r->partner) : json_null());
            json_object_set_new(o, "project", r->project ? json_string(r->project) : json_null());
            json_object_set_new(o, "incrementalTime", r->incremental_time ? json_string(r->incremental_time) : json_null());
            json_object_set_new(o, "submittedAt", json_string(sub));
            json_object_set_new(o, "updatedAt", json_string(upd));
            json_object_set_new(o, "startedAt", r->start_unix > 0 ? json_string(start) : json_null());
            /* When lakeop first saw the job ended: null while it runs. */
            json_object_set_new(o, "endedAt", r->ended_unix > 0 ? json_string(ended) : json_null());
            json_object_set_new(o, "durationSeconds", took >= 0 ? json_integer(took) : json_null());
            json_object_set_new(o, "batches", json_integer(r->n_batches));
            json_object_set_new(o, "batchesCompleted", json_integer(r->n_completed));
            json_object_set_new(o, "batchesFailed", json_integer(r->n_failed));
            json_object_set_new(o, "records", json_integer(r->records));
            json_array_append_new(arr, o);
        }
        json_t *root = json_object();
        json_object_set_new(root, "jobs", arr);
        json_object_set_new(root, "nextBefore", n == (size_t)limit && n ? json_integer(rows[n - 1].id) : json_null());
        char *text = jx_dump(root);
        fprintf(f, "%s\n", text);
        free(text);
        json_decref(root);
    } else if (n == 0) {
        fprintf(f, "no Zuora jobs in the history of environment ");
        cli_print_inert(cli, f, ctx.env->name);
        fputc('\n', f);
    } else {
        fprintf(f, "%-34s %-12s %-9s %-20s %7s %-9s %10s  %s\n", "JOB_ID", "STATUS", "ORIGIN", "SUBMITTED",
                "TOOK", "BATCHES", "RECORDS", "FROM");
        for (size_t i = 0; i < n; i++) {
            const struct jobstore_row *r = &rows[i];
            char sub[32], batches[32], took[32] = "-";
            format_time(r->submitted_unix, sub, sizeof sub);
            snprintf(batches, sizeof batches, "%d/%d%s", r->n_completed, r->n_batches, r->n_failed ? "!" : "");
            long long secs = jobstore_duration(r->start_unix, r->submitted_unix, r->ended_unix,
                                               zuora_status_terminal(r->status), now);
            if (secs >= 0)
                app_age(secs, took, sizeof took);
            field(f, r->job_id, 34);
            fputc(' ', f);
            field(f, r->status, 12);
            fprintf(f, " %-9s %-20s %7s %-9s %10lld  ", r->origin, sub, took, batches, r->records);
            /* NULL means afterLastIncrement only for jobs whose request we know. */
            field(f, r->incremental_time ? r->incremental_time
                     : strcmp(r->origin, "lookup") == 0 ? "-" : "afterLastIncrement", 0);
            fputc('\n', f);
        }
        if (n == (size_t)limit)
            fprintf(f, "(more: lakeop jobs --before %lld)\n", rows[n - 1].id);
    }
    jobstore_rows_free(rows, n);
    return 0;
}
