/* lakeop cohorts | cohort NAME | cohort-sync NAME | cohort-import NAME FILE
 * | cohort-export NAME: the price-rise cohorts, their items by processing
 * stage, and the three changes (each shown first, confirmed, refused when
 * read-only, audited). */
#include <getopt.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "audit.h"
#include "cli.h"
#include "cohort.h"
#include "commands.h"
#include "fmt.h"
#include "json.h"
#include "mem.h"
#include "text.h"

#define LIST_PAGE 200

static volatile int cohort_cancel;

static void on_signal(int sig)
{
    (void)sig;
    cohort_cancel = 1;
}

static json_t *jtime(long long t)
{
    if (t <= 0)
        return json_null();
    time_t tt = (time_t)t;
    struct tm tm;
    char out[32];
    gmtime_r(&tt, &tm);
    strftime(out, sizeof out, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return json_string(out);
}

/* Parses [--yes] and the positional arguments; -1 after --help. */
static int parse(struct cli *cli, int argc, char **argv, const char *text, int want, bool *yes,
                 const char **pos)
{
    static const struct option opts[] = {
        { "yes", no_argument, NULL, 'y' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    int c;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'y':
            if (!yes)
                return cli_usage(cli, text);
            *yes = true;
            break;
        case 'h':
            cli_help(cli, text);
            return -1;
        default:
            fprintf(cli->errf, "lakeop: unknown option '%s'\n", argv[optind - 1]);
            return cli_usage(cli, text);
        }
    }
    if (argc - optind != want)
        return cli_usage(cli, text);
    for (int i = 0; i < want; i++)
        pos[i] = argv[optind + i];
    return 0;
}

/* parse(), then the context with the database: 0 to go on, else the exit
 * code (-1 once --help is answered). */
static int start(struct cli *cli, int argc, char **argv, const char *text, int want, bool *yes,
                 const char **pos, struct lk_ctx *ctx)
{
    int rc = parse(cli, argc, argv, text, want, yes, pos);
    return rc ? rc : cli_ctx(cli, true, ctx);
}

/* ---- lakeop cohorts ------------------------------------------------------ */

int cli_cohorts(struct cli *cli, int argc, char **argv)
{
    static const char U[] = "lakeop cohorts [--json]";
    struct lk_ctx ctx;
    int rc = start(cli, argc, argv, U, 0, NULL, NULL, &ctx);
    if (rc)
        return rc < 0 ? 0 : rc;
    struct lk_error err;
    err_clear(&err);
    json_t *arr = cli->json ? json_array() : NULL;
    if (!cli->json)
        fprintf(cli->out, "%-32s %9s  %-16s  %-16s %9s  %s\n", "COHORT", "ITEMS", "SYNCED", "EXPORTED",
                "RECORDS", "TABLE");
    char *after = NULL;
    size_t shown = 0;
    for (;;) {
        struct cohort_list l;
        if (cohort_list(cli->db, after, LIST_PAGE, &l, &err) != LK_OK) {
            free(after);
            json_decref(arr);
            return cli_fail(cli, &err);
        }
        for (size_t i = 0; i < l.n; i++) {
            const struct cohort_info *c = &l.items[i];
            if (arr) {
                json_array_append_new(
                    arr, json_pack("{s:s,s:I,s:o,s:o,s:o,s:o,s:o,s:o}", "name", c->name, "items",
                                   (json_int_t)c->items, "table", cli_jstr(c->table_name), "createdAt",
                                   jtime(c->created_unix), "syncedAt", jtime(c->synced_unix),
                                   "exportedAt", jtime(c->exported_unix), "exportUrl",
                                   cli_jstr(c->export_key), "exportCount",
                                   c->export_count >= 0 ? json_integer(c->export_count) : json_null()));
                continue;
            }
            char synced[32], exported[32], count[24];
            fmt_local_time(c->synced_unix, false, "never", synced, sizeof synced);
            fmt_local_time(c->exported_unix, false, "never", exported, sizeof exported);
            if (c->export_count >= 0)
                snprintf(count, sizeof count, "%lld", c->export_count);
            else
                snprintf(count, sizeof count, "-");
            cli_cell(cli->out, c->name, 32);
            fprintf(cli->out, " %9lld  %-16s  %-16s %9s  ", c->items, synced, exported, count);
            cli_cell(cli->out, c->table_name ? c->table_name : "-", 0);
            fputc('\n', cli->out);
        }
        shown += l.n;
        bool more = l.n == LIST_PAGE;
        if (more) {
            free(after);
            after = xstrdup(l.items[l.n - 1].name);
        }
        cohort_list_free(&l);
        if (!more)
            break;
    }
    free(after);
    if (arr)
        cli_print_json(cli, json_pack("{s:o}", "cohorts", arr));
    else if (!shown)
        fprintf(cli->out, "no cohorts yet: lakeop cohort-sync NAME or cohort-import NAME FILE\n");
    return 0;
}

/* ---- lakeop cohort NAME ---------------------------------------------------- */

int cli_cohort(struct cli *cli, int argc, char **argv)
{
    static const char U[] = "lakeop cohort NAME [--json]";
    const char *name;
    struct lk_ctx ctx;
    int rc = start(cli, argc, argv, U, 1, NULL, &name, &ctx);
    if (rc)
        return rc < 0 ? 0 : rc;
    struct lk_error err;
    err_clear(&err);
    struct cohort_info c;
    if (cohort_get(cli->db, name, &c, &err) != LK_OK)
        return cli_fail(cli, &err);
    struct cohort_stages s;
    if (cohort_stage_counts(cli->db, c.id, &s, &err) != LK_OK) {
        cohort_info_free(&c);
        return cli_fail(cli, &err);
    }
    if (cli->json) {
        json_t *stages = json_array();
        for (size_t i = 0; i < s.n; i++)
            json_array_append_new(stages, json_pack("{s:s,s:I,s:b}", "stage", s.items[i].stage,
                                                    "count", (json_int_t)s.items[i].count,
                                                    "exceptional", s.items[i].exceptional));
        cli_print_json(cli, json_pack("{s:s,s:o,s:I,s:o,s:o,s:o,s:o,s:o}", "name", c.name, "table",
                                  cli_jstr(c.table_name), "items", (json_int_t)s.total, "syncedAt",
                                  jtime(c.synced_unix), "exportedAt", jtime(c.exported_unix),
                                  "exportUrl", cli_jstr(c.export_key), "exportCount",
                                  c.export_count >= 0 ? json_integer(c.export_count) : json_null(),
                                  "stages", stages));
    } else {
        char synced[32], exported[32];
        fmt_local_time(c.synced_unix, false, "never", synced, sizeof synced);
        fmt_local_time(c.exported_unix, false, "never", exported, sizeof exported);
        FILE *f = cli->out;
        fputs("cohort    ", f);
        cli_cell(f, c.name, 0);
        fputs("\ntable     ", f);
        cli_cell(f, c.table_name ? c.table_name : "-", 0);
        fprintf(f, "\nitems     %lld\nsynced    %s\nexported  %s", s.total, synced, exported);
        if (c.export_count >= 0) {
            fprintf(f, " (%lld records to ", c.export_count);
            cli_cell(f, c.export_key, 0);
            fputc(')', f);
        }
        fputs("\n\n", f);
        int w = 40;
        fprintf(f, "%-*s %9s %6s\n", w, "PROCESSING STAGE", "ITEMS", "%");
        for (size_t i = 0; i < s.n; i++) {
            const struct cohort_stage_count *sc = &s.items[i];
            cli_cell(f, sc->stage, w);
            fprintf(f, " %9lld %5.1f%%%s\n", sc->count,
                    s.total ? 100.0 * (double)sc->count / (double)s.total : 0.0,
                    sc->exceptional ? "  (terminal or exceptional)" : "");
        }
        if (!s.n)
            fputs("(no items)\n", f);
    }
    cohort_stages_free(&s);
    cohort_info_free(&c);
    return 0;
}

/* ---- the changes ------------------------------------------------------------ */

/* The plan goes where it cannot spoil a JSON document. */
static FILE *plan_out(struct cli *cli)
{
    return cli->json ? cli->errf : cli->out;
}

static char *params_json(const char *k1, const char *v1, const char *k2, const char *v2)
{
    json_t *o = json_object();
    if (k1)
        json_object_set_new(o, k1, cli_jstr(v1));
    if (k2)
        json_object_set_new(o, k2, cli_jstr(v2));
    char *text = jx_dump(o);
    json_decref(o);
    return text;
}

static int failed(struct cli *cli, const char *action, const char *target, const char *params,
                  const struct lk_error *err)
{
    char line[2600];
    cli_audit_append(cli, action, target, params, AUDIT_FAILED, err_text(err, line, sizeof line));
    return cli_fail(cli, err);
}

/* A sync's or an import's outcome, audited and shown; source_key names where
 * the items came from ("table" or "file") in the JSON. */
static void upserted(struct cli *cli, const char *action, const char *name, const char *params,
                     const char *source_key, const char *source,
                     const struct cohort_upsert_result *r)
{
    char *msg = xasprintf("%lld new, %lld updated", r->inserted, r->updated);
    cli_audit_append(cli, action, name, params, AUDIT_OK, msg);
    if (cli->json) {
        cli_print_json(cli, json_pack("{s:s,s:s,s:I,s:I}", "cohort", name, source_key, source,
                                      "inserted", (json_int_t)r->inserted, "updated",
                                      (json_int_t)r->updated));
    } else {
        cli_cell(cli->out, name, 0);
        fprintf(cli->out, ": %s\n", msg);
    }
    free(msg);
}

int cli_cohort_sync(struct cli *cli, int argc, char **argv)
{
    static const char U[] = "lakeop cohort-sync NAME [--yes] [--json]";
    const char *name;
    bool yes = false;
    struct lk_ctx ctx;
    int rc = start(cli, argc, argv, U, 1, &yes, &name, &ctx);
    if (rc)
        return rc < 0 ? 0 : rc;
    struct lk_error err;
    err_clear(&err);
    char *table = NULL;
    if (cohort_table_name(cli->env, name, &table, &err) != LK_OK)
        return cli_fail(cli, &err);
    char *params = params_json("table", table, "endpoint", cli->env->dynamodb_endpoint);
    if ((rc = cli_check_writable(cli, "cohort.sync", name)) != 0)
        goto out;
    FILE *pf = plan_out(cli);
    fputs("Read every item of DynamoDB table ", pf);
    cli_cell(pf, table, 0);
    fputs(" (", pf);
    cli_cell(pf, cli->env->dynamodb_endpoint ? cli->env->dynamodb_endpoint : "no endpoint", 0);
    fputs(") into cohort ", pf);
    cli_cell(pf, name, 0);
    fputs(", adding new items and updating known ones.\n", pf);
    fflush(pf);
    rc = cli_confirm_change(cli, yes, "Sync this cohort?", "cohort.sync", name, params);
    if (rc)
        goto out;
    struct cohort_upsert_result res;
    ctx.cancel = &cohort_cancel;
    if (cohort_sync(&ctx, name, &res, &err) != LK_OK) {
        rc = failed(cli, "cohort.sync", name, params, &err);
        goto out;
    }
    upserted(cli, "cohort.sync", name, params, "table", table, &res);
out:
    free(params);
    free(table);
    return rc;
}

int cli_cohort_import(struct cli *cli, int argc, char **argv)
{
    static const char U[] = "lakeop cohort-import NAME FILE [--yes] [--json]";
    const char *pos[2];
    bool yes = false;
    struct lk_ctx ctx;
    int rc = start(cli, argc, argv, U, 2, &yes, pos, &ctx);
    if (rc)
        return rc < 0 ? 0 : rc;
    const char *name = pos[0], *path = pos[1];
    struct lk_error err;
    err_clear(&err);
    char why[200];
    if (!cohort_name_valid(name, why, sizeof why))
        return cli_failf(cli, LK_USAGE, "cohort name '%s': %s", name, why);
    char *params = params_json("file", path, NULL, NULL);
    if ((rc = cli_check_writable(cli, "cohort.import", name)) != 0)
        goto out;
    FILE *pf = plan_out(cli);
    fputs("Load ", pf);
    cli_cell(pf, path, 0);
    fputs(" into cohort ", pf);
    cli_cell(pf, name, 0);
    fputs(", adding new items and updating known ones (all or nothing).\n", pf);
    fflush(pf);
    rc = cli_confirm_change(cli, yes, "Import this file?", "cohort.import", name, params);
    if (rc)
        goto out;
    struct cohort_upsert_result res;
    if (cohort_import(&ctx, name, path, &res, &err) != LK_OK) {
        rc = failed(cli, "cohort.import", name, params, &err);
        goto out;
    }
    upserted(cli, "cohort.import", name, params, "file", path, &res);
out:
    free(params);
    return rc;
}

struct progress_state {
    FILE *f;
    time_t last;
    bool shown;
};

static void on_progress(const struct lk_progress *p, void *ud)
{
    struct progress_state *ps = ud;
    time_t now = time(NULL);
    if (now == ps->last && p->records_done != p->records_total)
        return;
    ps->last = now;
    ps->shown = true;
    if (p->records_total > 0)
        fprintf(ps->f, "\r%s: %lld of %lld records (%.0f%%), %.1f MB   ", p->what, p->records_done,
                p->records_total, 100.0 * (double)p->records_done / (double)p->records_total,
                (double)p->bytes_done / 1e6);
    else
        fprintf(ps->f, "\r%s: %lld records, %.1f MB   ", p->what, p->records_done,
                (double)p->bytes_done / 1e6);
    fflush(ps->f);
}

int cli_cohort_export(struct cli *cli, int argc, char **argv)
{
    static const char U[] = "lakeop cohort-export NAME [--yes] [--json]";
    const char *name;
    bool yes = false;
    struct lk_ctx ctx;
    int rc = start(cli, argc, argv, U, 1, &yes, &name, &ctx);
    if (rc)
        return rc < 0 ? 0 : rc;
    struct lk_error err;
    err_clear(&err);
    char *csv = NULL, *manifest = NULL, *params = NULL;
    if (cohort_export_urls(cli->env, name, &csv, &manifest, &err) != LK_OK)
        return cli_fail(cli, &err);
    params = params_json("csv", csv, "manifest", manifest);
    struct cohort_info info;
    if (cohort_get(cli->db, name, &info, &err) != LK_OK) {
        rc = cli_fail(cli, &err);
        goto out;
    }
    long long items = info.items;
    cohort_info_free(&info);
    if ((rc = cli_check_writable(cli, "cohort.export", name)) != 0)
        goto out;
    FILE *pf = plan_out(cli);
    fprintf(pf, "Write the %lld item%s of cohort ", items, items == 1 ? "" : "s");
    cli_cell(pf, name, 0);
    fputs(" to\n  ", pf);
    cli_cell(pf, csv, 0);
    fputs("\nthen its manifest to\n  ", pf);
    cli_cell(pf, manifest, 0);
    fputs("\nreplacing the files of the previous export.\n", pf);
    fflush(pf);
    rc = cli_confirm_change(cli, yes, "Export this cohort?", "cohort.export", name, params);
    if (rc)
        goto out;

    struct progress_state ps = { cli->errf, 0, false };
    ctx.progress = cli->stderr_tty && !cli->json ? on_progress : NULL;
    ctx.progress_ud = &ps;
    ctx.cancel = &cohort_cancel;
    struct cli_signals saved;
    cli_signals_catch(&saved, on_signal);
    struct cohort_export_result res;
    enum lk_status st = cohort_export(&ctx, name, &res, &err);
    cli_signals_restore(&saved);
    if (ps.shown)
        fputc('\n', cli->errf);
    if (st != LK_OK) {
        cohort_export_result_free(&res);
        rc = failed(cli, "cohort.export", name, params, &err);
        goto out;
    }
    char *msg = xasprintf("exported %lld records (%lld bytes)", res.records, res.bytes);
    cli_audit_append(cli, "cohort.export", name, params, AUDIT_OK, msg);
    if (cli->json) {
        cli_print_json(cli, json_pack("{s:s,s:s,s:s,s:I,s:I,s:s}", "cohort", name, "csv", res.csv_url,
                                  "manifest", res.manifest_url, "records", (json_int_t)res.records,
                                  "bytes", (json_int_t)res.bytes, "exportedAt", res.exported_at));
    } else {
        cli_cell(cli->out, name, 0);
        fprintf(cli->out, ": %s to ", msg);
        cli_cell(cli->out, res.csv_url, 0);
        fputc('\n', cli->out);
    }
    free(msg);
    cohort_export_result_free(&res);
out:
    free(params);
    free(csv);
    free(manifest);
    return rc;
}
