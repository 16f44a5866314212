/* lakeop loads / ingest / retry: the loads of the ingestion pipeline, a run
 * of ingestion (land → raw-hist), and putting errored loads back to ready. */
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "audit.h"
#include "cli.h"
#include "commands.h"
#include "fmt.h"
#include "ingest.h"
#include "load.h"
#include "mem.h"
#include "text.h"

#define LIST_DEFAULT 50
#define LIST_MAX 10000

static json_t *load_json(const struct load *l)
{
    json_t *o = json_object();
    json_object_set_new(o, "id", json_integer(l->id));
    json_object_set_new(o, "dataset", json_string(l->dataset));
    json_object_set_new(o, "key", json_string(l->key));
    json_object_set_new(o, "status", json_string(load_status_name(l->status)));
    json_object_set_new(o, "size", json_integer(l->size));
    json_object_set_new(o, "modified", json_integer(l->modified));
    json_object_set_new(o, "file_land_timestamp", json_integer(l->file_land_timestamp));
    json_object_set_new(o, "record_count", l->record_count >= 0 ? json_integer(l->record_count) : json_null());
    json_object_set_new(o, "error", cli_jstr(l->error));
    json_object_set_new(o, "raw_hist_key", cli_jstr(l->raw_hist_key));
    json_object_set_new(o, "errored_key", cli_jstr(l->errored_key));
    json_object_set_new(o, "updated_at", json_integer(l->updated_at));
    return o;
}

static void print_load_line(struct cli *cli, const struct load *l)
{
    FILE *f = cli->out;
    char when[32], size[32], rec[32];
    fmt_local_time(l->modified, true, "-", when, sizeof when);
    fmt_size(l->size, size, sizeof size);
    if (l->record_count >= 0)
        snprintf(rec, sizeof rec, "%lld", l->record_count);
    else
        snprintf(rec, sizeof rec, "-");
    fprintf(f, "%-10lld ", l->id);
    cli_cell(f, load_status_name(l->status), 20);
    cli_cell(f, l->dataset, 28);
    fprintf(f, " %10s %10s  %s  ", size, rec, when);
    cli_print_inert(cli, f, l->key);
    fputc('\n', f);
    if (l->error) {
        fputs("           error: ", f);
        cli_print_inert(cli, f, l->error);
        fputc('\n', f);
    }
}

int cli_loads(struct cli *cli, int argc, char **argv)
{
    static const struct option opts[] = {
        { "dataset", required_argument, NULL, 'd' },
        { "status", required_argument, NULL, 's' },
        { "limit", required_argument, NULL, 'n' },
        { "before", required_argument, NULL, 'b' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    const char *usage = "lakeop loads [--dataset D] [--status S] [--limit N] [--before LOAD_ID] [--json]";
    struct load_filter f = { .status = -1, .limit = LIST_DEFAULT };
    long long v;
    int c;
    while ((c = getopt_long(argc, argv, "d:s:n:b:h", opts, NULL)) != -1) {
        switch (c) {
        case 'd': f.dataset = optarg; break;
        case 's': {
            enum load_status st;
            if (!load_status_parse(optarg, &st))
                return cli_failf(cli, 2, "--status '%s' is not a load status; expected one of ready, "
                                 "ingesting, ready_for_archiving, archiving, archived, "
                                 "ready_for_erroring, erroring, errored", optarg);
            f.status = (int)st;
            break;
        }
        case 'n':
            if (!cli_parse_count(optarg, 1, LIST_MAX, &v))
                return cli_failf(cli, 2, "--limit '%s': expected a number from 1 to %d", optarg, LIST_MAX);
            f.limit = (int)v;
            break;
        case 'b':
            if (!cli_parse_count(optarg, 1, 0x7fffffffffffffffLL, &v))
                return cli_failf(cli, 2, "--before '%s': expected a load id", optarg);
            f.before_id = v;
            break;
        case 'h': return cli_help(cli, usage);
        default: return cli_usage(cli, usage);
        }
    }
    if (optind < argc)
        return cli_failf(cli, 2, "unexpected argument '%s'; usage: %s", argv[optind], usage);
    struct lk_ctx ctx;
    int rc = cli_ctx(cli, true, &ctx);
    if (rc)
        return rc;
    if (f.dataset && !cfg_dataset_find(cli->env, f.dataset)) {
        /* A dataset removed from the configuration may still have loads. */
        struct load_filter probe = { .dataset = f.dataset, .status = -1, .limit = 1 };
        struct load *one = NULL;
        size_t n1 = 0;
        struct lk_error err;
        err_clear(&err);
        if (load_list(ctx.db, &probe, &one, &n1, &err) != LK_OK)
            return cli_fail(cli, &err);
        load_array_free(one, n1);
        if (n1 == 0)
            return cli_failf(cli, 4, "no dataset '%s' in the configuration, and no loads of it", f.dataset);
    }
    struct load *loads = NULL;
    size_t n = 0;
    struct lk_error err;
    err_clear(&err);
    if (load_list(ctx.db, &f, &loads, &n, &err) != LK_OK)
        return cli_fail(cli, &err);
    bool more = n == (size_t)f.limit;
    if (cli->json) {
        json_t *arr = json_array();
        for (size_t i = 0; i < n; i++)
            json_array_append_new(arr, load_json(&loads[i]));
        json_t *doc = json_object();
        json_object_set_new(doc, "loads", arr);
        json_object_set_new(doc, "next_before", more ? json_integer(loads[n - 1].id) : json_null());
        cli_print_json(cli, doc);
    } else {
        fprintf(cli->out, "%-10s %-20s %-28s %10s %10s  %-19s  %s\n", "ID", "STATUS", "DATASET", "SIZE",
                "RECORDS", "LANDED", "KEY");
        for (size_t i = 0; i < n; i++)
            print_load_line(cli, &loads[i]);
        if (n == 0)
            fprintf(cli->out, "(no loads)\n");
        else if (more)
            fprintf(cli->out, "more: lakeop loads --before %lld\n", loads[n - 1].id);
    }
    load_array_free(loads, n);
    return 0;
}

/* ---- ingest ------------------------------------------------------------- */

struct ingest_out {
    struct cli *cli;
    json_t *events;      /* --json: collected; text: printed as they come */
    bool progress_line;  /* a progress line is on stderr and must be cleared */
};

static void clear_progress(struct ingest_out *o)
{
    if (o->progress_line) {
        fputs("\r\033[K", o->cli->errf);
        o->progress_line = false;
    }
}

static void on_progress(const struct lk_progress *p, void *ud)
{
    struct ingest_out *o = ud;
    static const long long step = 8 * 1024 * 1024;
    if (p->bytes_done % step > 256 * 1024 && p->bytes_done != p->bytes_total)
        return;   /* about every 8 MiB */
    char done[32], total[32];
    fmt_size(p->bytes_done, done, sizeof done);
    fmt_size(p->bytes_total, total, sizeof total);
    char *what = text_inert(p->what);
    fprintf(o->cli->errf, "\r\033[Kvalidating %s: %s of %s", what, done, total);
    free(what);
    fflush(o->cli->errf);
    o->progress_line = true;
}

static void on_event(const struct ingest_event *ev, void *ud)
{
    struct ingest_out *o = ud;
    if (o->events) {
        json_t *e = json_object();
        json_object_set_new(e, "event", json_string(ev->what));
        json_object_set_new(e, "dataset", json_string(ev->dataset));
        json_object_set_new(e, "load_id", ev->load_id ? json_integer(ev->load_id) : json_null());
        json_object_set_new(e, "key", cli_jstr(ev->key));
        json_object_set_new(e, "status", ev->load_id ? json_string(load_status_name(ev->status)) : json_null());
        json_object_set_new(e, "records", ev->records >= 0 ? json_integer(ev->records) : json_null());
        json_object_set_new(e, "url", cli_jstr(ev->url));
        json_object_set_new(e, "message", cli_jstr(ev->message));
        json_array_append_new(o->events, e);
        return;
    }
    clear_progress(o);
    FILE *f = o->cli->out;
    fprintf(f, "%-10s ", ev->what);
    if (ev->load_id)
        fprintf(f, "load %-8lld ", ev->load_id);
    else
        fprintf(f, "%-13s ", "dataset");
    cli_print_inert(o->cli, f, ev->dataset);
    if (ev->key) {
        fputc(' ', f);
        cli_print_inert(o->cli, f, ev->key);
    }
    if (ev->records >= 0)
        fprintf(f, " (%lld record%s)", ev->records, ev->records == 1 ? "" : "s");
    if (ev->url) {
        fputs(" -> ", f);
        cli_print_inert(o->cli, f, ev->url);
    }
    if (ev->message) {
        fputs(": ", f);
        cli_print_inert(o->cli, f, ev->message);
    }
    fputc('\n', f);
    fflush(f);
}

int cli_ingest(struct cli *cli, int argc, char **argv)
{
    static const struct option opts[] = {
        { "dataset", required_argument, NULL, 'd' },
        { "yes", no_argument, NULL, 'y' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    const char *usage = "lakeop ingest [--dataset D] [--yes] [--json]";
    const char *dataset = NULL;
    bool yes = false;
    int c;
    while ((c = getopt_long(argc, argv, "d:yh", opts, NULL)) != -1) {
        switch (c) {
        case 'd': dataset = optarg; break;
        case 'y': yes = true; break;
        case 'h': return cli_help(cli, usage);
        default: return cli_usage(cli, usage);
        }
    }
    if (optind < argc)
        return cli_failf(cli, 2, "unexpected argument '%s'; usage: %s", argv[optind], usage);
    int rc = cli_load_config(cli);
    if (rc)
        return rc;
    if (dataset && !cfg_dataset_find(cli->env, dataset))
        return cli_failf(cli, 4, "no dataset '%s' in the configuration", dataset);
    if (cli->env->n_datasets == 0)
        return cli_failf(cli, 2, "no [dataset] sections in the configuration: nothing to ingest");
    if ((rc = cli_check_writable(cli, "ingest", dataset ? dataset : "all")))
        return rc;

    /* The plan, then the question. */
    FILE *pf = cli->json ? cli->errf : cli->out;
    size_t count = 0;
    fprintf(pf, "ingest: register new files, validate them, move valid ones to raw-hist and invalid "
                "ones to the errored area, for:\n");
    for (size_t i = 0; i < cli->env->n_datasets; i++) {
        const struct cfg_dataset *d = &cli->env->datasets[i];
        if (dataset && strcmp(d->name, dataset) != 0)
            continue;
        count++;
        fputs("  ", pf);
        cli_print_inert(cli, pf, d->name);
        fputs(": ", pf);
        cli_print_inert(cli, pf, d->incoming ? d->incoming : "(no incoming prefix)");
        fputs(" -> ", pf);
        cli_print_inert(cli, pf, d->raw_hist ? d->raw_hist : "(no raw-hist prefix)");
        fputc('\n', pf);
    }
    char question[128];
    snprintf(question, sizeof question, "Ingest %zu dataset%s?", count, count == 1 ? "" : "s");
    if ((rc = cli_confirm_change(cli, yes, question, "ingest", dataset ? dataset : "all", NULL)))
        return rc;

    struct lk_ctx ctx;
    if ((rc = cli_ctx(cli, true, &ctx)))
        return rc;
    struct ingest_out out = { .cli = cli, .events = cli->json ? json_array() : NULL };
    if (!cli->json && cli->stderr_tty) {
        ctx.progress = on_progress;
        ctx.progress_ud = &out;
    }
    struct ingest_totals tot;
    struct lk_error err;
    err_clear(&err);
    enum lk_status st = ingest_run(&ctx, dataset, on_event, &out, &tot, &err);
    clear_progress(&out);
    if (cli->json) {
        json_t *doc = json_object();
        json_object_set_new(doc, "events", out.events);
        json_object_set_new(doc, "totals",
                            json_pack("{s:I,s:I,s:I,s:I,s:I,s:I}", "datasets", (json_int_t)tot.datasets,
                                      "registered", (json_int_t)tot.registered, "archived",
                                      (json_int_t)tot.archived, "errored", (json_int_t)tot.errored,
                                      "failed", (json_int_t)tot.failed, "skipped", (json_int_t)tot.skipped));
        json_object_set_new(doc, "ok", json_boolean(st == LK_OK));
        cli_print_json(cli, doc);
    } else {
        fprintf(cli->out, "%lld registered, %lld archived, %lld errored, %lld failed, %lld skipped\n",
                tot.registered, tot.archived, tot.errored, tot.failed, tot.skipped);
    }
    if (st != LK_OK)
        return cli_fail(cli, &err);
    return 0;
}

/* ---- retry -------------------------------------------------------------- */

int cli_retry(struct cli *cli, int argc, char **argv)
{
    static const struct option opts[] = {
        { "yes", no_argument, NULL, 'y' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    const char *usage = "lakeop retry LOAD_ID... [--yes] [--json]";
    bool yes = false;
    int c;
    while ((c = getopt_long(argc, argv, "yh", opts, NULL)) != -1) {
        switch (c) {
        case 'y': yes = true; break;
        case 'h': return cli_help(cli, usage);
        default: return cli_usage(cli, usage);
        }
    }
    size_t n = (size_t)(argc - optind);
    if (n == 0)
        return cli_failf(cli, 2, "which loads? usage: %s", usage);
    long long *ids = xcalloc(n, sizeof *ids);
    for (size_t i = 0; i < n; i++)
        if (!cli_parse_count(argv[optind + (int)i], 1, 0x7fffffffffffffffLL, &ids[i])) {
            int r = cli_failf(cli, 2, "'%s' is not a load id (a number; lakeop loads lists them)",
                              argv[optind + (int)i]);
            free(ids);
            return r;
        }
    int rc = cli_load_config(cli);
    if (!rc)
        rc = cli_check_writable(cli, "load.retry", argv[optind]);
    struct lk_ctx ctx;
    if (!rc)
        rc = cli_ctx(cli, true, &ctx);
    if (rc) {
        free(ids);
        return rc;
    }

    /* Everything is checked before anything is changed: all or nothing. */
    struct load *loads = xcalloc(n, sizeof *loads);
    struct lk_error err;
    err_clear(&err);
    size_t got = 0;
    for (; got < n && rc == 0; got++) {
        if (load_get(ctx.db, ids[got], &loads[got], &err) != LK_OK) {
            rc = cli_fail(cli, &err);
            break;
        }
        if (loads[got].status != LOAD_ERRORED) {
            rc = cli_failf(cli, 3, "load %lld is %s: only errored loads are retried; nothing was changed",
                           ids[got], load_status_name(loads[got].status));
            got++;
            break;
        }
        long long other = 0;
        if (load_unfinished_of_key(ctx.db, loads[got].dataset_id, loads[got].key, &other, &err) != LK_OK) {
            rc = cli_fail(cli, &err);
            got++;
            break;
        }
        if (other) {
            rc = cli_failf(cli, 3, "load %lld: its key landed again and is being loaded as load %lld; "
                           "retry it when that load has finished; nothing was changed", ids[got], other);
            got++;
            break;
        }
    }
    if (rc == 0) {
        FILE *pf = cli->json ? cli->errf : cli->out;
        fprintf(pf, "retry: put %zu errored load%s back to ready, each file moved back to its incoming "
                    "prefix:\n", n, n == 1 ? "" : "s");
        for (size_t i = 0; i < n; i++) {
            fprintf(pf, "  load %lld ", loads[i].id);
            cli_print_inert(cli, pf, loads[i].dataset);
            fputc(' ', pf);
            cli_print_inert(cli, pf, loads[i].key);
            if (loads[i].error) {
                fputs(": ", pf);
                cli_print_inert(cli, pf, loads[i].error);
            }
            fputc('\n', pf);
        }
        char question[96];
        snprintf(question, sizeof question, "Retry %zu load%s?", n, n == 1 ? "" : "s");
        rc = cli_confirm_change(cli, yes, question, "load.retry", argv[optind], NULL);
    }
    if (rc == 0) {
        json_t *arr = cli->json ? json_array() : NULL;
        for (size_t i = 0; i < n; i++) {
            err_clear(&err);
            enum lk_status st = ingest_retry(&ctx, ids[i], &err);
            char text[2600];
            if (st != LK_OK) {
                err_text(&err, text, sizeof text);
                if (rc == 0 || st == LK_FAIL)
                    rc = (int)st;
            }
            if (arr) {
                json_array_append_new(arr, json_pack("{s:I,s:b,s:o}", "id", (json_int_t)ids[i], "ok",
                                                     st == LK_OK, "message",
                                                     st == LK_OK ? json_null() : json_string(text)));
            } else if (st == LK_OK) {
                fprintf(cli->out, "load %lld: ready (file back under its incoming prefix)\n", ids[i]);
            } else {
                fprintf(cli->out, "load %lld: not retried: ", ids[i]);
                cli_print_inert(cli, cli->out, text);
                fputc('\n', cli->out);
            }
        }
        if (arr) {
            json_t *doc = json_object();
            json_object_set_new(doc, "retried", arr);
            cli_print_json(cli, doc);
        }
        if (rc)
            cli_failf(cli, rc, "some loads were not retried");
    }
    load_array_free(loads, got);
    free(ids);
    return rc;
}
