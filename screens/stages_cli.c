/* lakeop stages / lakeop clear: the DAG's tasks with their states in one
 * run, and the runbook's "clear this stage and what follows" with a dry-run
 * preview, confirmation and an audit record of what was touched. */
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "airflow.h"
#include "audit.h"
#include "cli.h"
#include "commands.h"
#include "fmt.h"
#include "mem.h"
#include "stages.h"
#include "text.h"

#define RUNS_SHOWN_DEFAULT 10

/* ---- output helpers ---------------------------------------------------- */

/* "2024-01-01 09:00:05" in local time, or the text as sent when it is not a
 * timestamp, or "-". */
static void fmt_time(const char *iso, char *out, size_t size)
{
    long long t;
    if (!iso || !iso[0]) {
        snprintf(out, size, "-");
        return;
    }
    if (!airflow_parse_time(iso, &t)) {
        snprintf(out, size, "%s", iso);
        return;
    }
    time_t tt = (time_t)t;
    struct tm tm;
    if (!localtime_r(&tt, &tm) || !strftime(out, size, "%Y-%m-%d %H:%M:%S", &tm))
        snprintf(out, size, "%s", iso);
}

static const char *state_text(const char *state)
{
    return state ? state : "no state";
}

static json_t *run_json(const struct airflow_run *r)
{
    return json_pack("{s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:b}", "dag_run_id", cli_jstr(r->dag_run_id),
                     "state", cli_jstr(r->state), "run_type", cli_jstr(r->run_type), "execution_date",
                     cli_jstr(r->execution_date), "logical_date", cli_jstr(r->logical_date), "start_date",
                     cli_jstr(r->start_date), "end_date", cli_jstr(r->end_date), "external_trigger",
                     r->external_trigger);
}

static json_t *ti_json(const struct airflow_ti *ti)
{
    json_t *o = json_pack("{s:o,s:o,s:o,s:o,s:o}", "dag_id", cli_jstr(ti->dag_id), "task_id",
                          cli_jstr(ti->task_id), "dag_run_id", cli_jstr(ti->dag_run_id), "execution_date",
                          cli_jstr(ti->execution_date), "state", cli_jstr(ti->state));
    if (ti->map_index >= 0)
        json_object_set_new(o, "map_index", json_integer(ti->map_index));
    return o;
}

/* The environment's default DAG unless --dag names one. */
static const char *dag_or_default(struct cli *cli, const char *dag)
{
    if (dag && dag[0])
        return dag;
    if (cli->env && cli->env->airflow_dag && cli->env->airflow_dag[0])
        return cli->env->airflow_dag;
    return "supporter_experience";
}

/* ---- lakeop stages ----------------------------------------------------- */

static const char STAGES_USAGE[] = "lakeop stages [--dag D] [--run RUN_ID] [--runs N] [--json]";

static void print_tree(struct cli *cli, const struct airflow_task_list *tasks,
                       const struct stages_tree *tree, const struct airflow_ti_list *tis)
{
    /* The name column is as wide as the widest drawn name. */
    int name_w = 4;
    for (size_t i = 0; i < tree->n; i++) {
        struct buf b = BUF_INIT;
        stages_row_prefix(tree, i, &b);
        char *inert = text_inert(tasks->items[tree->rows[i].task].task_id);
        buf_puts(&b, inert);
        free(inert);
        int w = text_width(buf_cstr(&b));
        if (w > name_w)
            name_w = w;
        buf_free(&b);
    }
    FILE *f = cli->out;
    cli_cell(f, "TASK", name_w + 2);
    fprintf(f, "%-16s %-4s %-19s  %-19s  %-8s %s\n", "STATE", "TRY", "START", "END", "DURATION",
            "OPERATOR");
    for (size_t i = 0; i < tree->n; i++) {
        const struct airflow_task *t = &tasks->items[tree->rows[i].task];
        const struct airflow_ti *ti = stages_ti_find(tis, t->task_id);
        struct buf name = BUF_INIT;
        stages_row_prefix(tree, i, &name);
        char *inert = text_inert(t->task_id);
        buf_puts(&name, inert);
        free(inert);
        fputs(buf_cstr(&name), f);
        for (int w = text_width(buf_cstr(&name)); w < name_w + 2; w++)
            fputc(' ', f);
        buf_free(&name);
        char start[40], end[40], dur[24], tries[16];
        fmt_time(ti ? ti->start_date : NULL, start, sizeof start);
        fmt_time(ti ? ti->end_date : NULL, end, sizeof end);
        fmt_duration(ti ? ti->duration : -1, dur, sizeof dur);
        snprintf(tries, sizeof tries, "%d", ti ? ti->try_number : 0);
        cli_cell(f, ti ? state_text(ti->state) : "-", 17);
        cli_cell(f, tries, 5);
        cli_cell(f, start, 21);
        cli_cell(f, end, 21);
        cli_cell(f, dur, 9);
        cli_cell(f, t->operator_name ? t->operator_name : "", 0);
        struct buf also = BUF_INIT;
        if (stages_row_also_after(tasks, tree, i, &also)) {
            fputs("  \xe2\x97\x86 also after: ", f);   /* "◆" marks several parents */
            cli_cell(f, buf_cstr(&also), 0);
        }
        buf_free(&also);
        fputc('\n', f);
    }
}

static void print_runs(struct cli *cli, const struct airflow_run_list *runs, const char *chosen,
                       size_t total_shown)
{
    FILE *f = cli->out;
    int id_w = 6;
    for (size_t i = 0; i < runs->n && i < total_shown; i++) {
        char *inert = text_inert(runs->items[i].dag_run_id);
        int w = text_width(inert);
        if (w > id_w)
            id_w = w;
        free(inert);
    }
    fprintf(f, "\nruns, newest first:\n  ");
    cli_cell(f, "RUN ID", id_w + 2);
    fprintf(f, "%-10s %-19s  %-19s  %s\n", "STATE", "EXECUTION DATE", "START", "END");
    for (size_t i = 0; i < runs->n && i < total_shown; i++) {
        const struct airflow_run *r = &runs->items[i];
        char exec[40], start[40], end[40];
        fmt_time(r->execution_date, exec, sizeof exec);
        fmt_time(r->start_date, start, sizeof start);
        fmt_time(r->end_date, end, sizeof end);
        fputs(chosen && strcmp(chosen, r->dag_run_id) == 0 ? "* " : "  ", f);
        cli_cell(f, r->dag_run_id, id_w + 2);
        cli_cell(f, r->state ? r->state : "-", 11);
        cli_cell(f, exec, 21);
        cli_cell(f, start, 21);
        cli_cell(f, end, 0);
        fputc('\n', f);
    }
}

static json_t *stages_json(const char *dag_id, const struct airflow_task_list *tasks,
                           const struct stages_tree *tree, const struct airflow_run *run,
                           const struct airflow_ti_list *tis, const struct airflow_run_list *runs,
                           size_t shown)
{
    json_t *jtasks = json_array();
    for (size_t i = 0; i < tree->n; i++) {
        const struct stages_row *row = &tree->rows[i];
        const struct airflow_task *t = &tasks->items[row->task];
        const struct airflow_ti *ti = stages_ti_find(tis, t->task_id);
        json_t *up = json_array(), *down = json_array();
        for (size_t k = 0; k < row->n_upstream; k++)
            json_array_append_new(up, json_string(tasks->items[row->upstream[k]].task_id));
        for (size_t k = 0; k < t->n_downstream; k++)
            json_array_append_new(down, json_string(t->downstream[k]));
        json_t *o = json_pack(
            "{s:s,s:i,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o}", "task_id", t->task_id, "depth",
            row->depth, "drawn_under",
            cli_jstr(row->parent_row == STAGES_NO_PARENT ? NULL
                                                     : tasks->items[tree->rows[row->parent_row].task].task_id),
            "upstream", up, "downstream", down, "operator", cli_jstr(t->operator_name), "state",
            cli_jstr(ti ? ti->state : NULL), "start_date", cli_jstr(ti ? ti->start_date : NULL),
            "end_date", cli_jstr(ti ? ti->end_date : NULL), "try_number",
            ti ? json_integer(ti->try_number) : json_null());
        json_object_set_new(o, "duration", ti && ti->duration >= 0 ? json_real(ti->duration)
                                                                   : json_null());
        json_array_append_new(jtasks, o);
    }
    json_t *jruns = json_array();
    for (size_t i = 0; i < runs->n && i < shown; i++)
        json_array_append_new(jruns, run_json(&runs->items[i]));
    return json_pack("{s:s,s:o,s:o,s:o}", "dag_id", dag_id, "run",
                     run ? run_json(run) : json_null(), "tasks", jtasks, "runs", jruns);
}

int cli_stages(struct cli *cli, int argc, char **argv)
{
    static const struct option opts[] = {
        { "dag", required_argument, NULL, 'd' },
        { "run", required_argument, NULL, 'r' },
        { "runs", required_argument, NULL, 'n' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    const char *dag_opt = NULL, *run_opt = NULL;
    long shown = RUNS_SHOWN_DEFAULT;
    int c;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'd': dag_opt = optarg; break;
        case 'r': run_opt = optarg; break;
        case 'n': {
            char *end;
            shown = strtol(optarg, &end, 10);
            if (*end || shown < 0 || shown > 100000)
                return cli_failf(cli, 2, "--runs takes a count from 0 (every run) up, not '%s'",
                                 optarg);
            break;
        }
        case 'h': return cli_help(cli, STAGES_USAGE);
        default: return cli_usage(cli, STAGES_USAGE);
        }
    }
    if (optind < argc)
        return cli_usage(cli, STAGES_USAGE);

    struct lk_ctx ctx;
    int rc = cli_ctx(cli, false, &ctx);
    if (rc)
        return rc;
    const char *dag_id = dag_or_default(cli, dag_opt);
    struct lk_error err = { 0 };
    struct airflow_task_list tasks = { 0 };
    struct stages_tree tree = { 0 };
    struct airflow_run run = { 0 };
    struct airflow_run_list runs = { 0 };
    struct airflow_ti_list tis = { 0 };
    bool have_run = false;

    enum lk_status st = airflow_list_tasks(&ctx, dag_id, &tasks, &err);
    if (st == LK_OK)
        st = stages_tree_build(&tasks, &tree, &err);
    if (st == LK_OK) {
        st = stages_resolve_run(&ctx, dag_id, run_opt, &run, &err);
        if (st == LK_NOTFOUND && !run_opt) {
            /* A DAG that never ran still has a tree to show. */
            err_clear(&err);
            st = LK_OK;
        } else if (st == LK_OK) {
            have_run = true;
        }
    }
    if (st == LK_OK && have_run)
        st = airflow_list_task_instances(&ctx, dag_id, run.dag_run_id, &tis, &err);
    if (st == LK_OK)
        st = airflow_list_runs(&ctx, dag_id, (size_t)shown, &runs, &err);
    if (st != LK_OK) {
        rc = cli_fail(cli, &err);
    } else if (cli->json) {
        cli_print_json(cli, stages_json(dag_id, &tasks, &tree, have_run ? &run : NULL, &tis, &runs,
                                  shown ? (size_t)shown : runs.n));
    } else {
        fputs("DAG ", cli->out);
        cli_cell(cli->out, dag_id, 0);
        if (have_run) {
            char exec[40];
            fmt_time(run.execution_date, exec, sizeof exec);
            fputs(", run ", cli->out);
            cli_cell(cli->out, run.dag_run_id, 0);
            fputs(" (", cli->out);
            cli_cell(cli->out, run.state ? run.state : "no state", 0);
            fprintf(cli->out, ", executes %s)\n\n", exec);
        } else {
            fputs(": no runs yet\n\n", cli->out);
        }
        print_tree(cli, &tasks, &tree, &tis);
        print_runs(cli, &runs, have_run ? run.dag_run_id : NULL, shown ? (size_t)shown : runs.n);
    }
    airflow_ti_list_free(&tis);
    airflow_run_list_free(&runs);
    airflow_run_free(&run);
    stages_tree_free(&tree);
    airflow_task_list_free(&tasks);
    return rc;
}

/* ---- lakeop clear ------------------------------------------------------ */

static const char CLEAR_USAGE[] =
    "lakeop clear TASK_ID [--dag D] [--run RUN_ID] [--downstream] [--upstream] [--recursive]\n"
    "                    [--only-failed] [--past] [--future] [--dry-run] [--yes] [--json]";

static void print_instances(struct cli *cli, FILE *f, const struct airflow_ti_list *l)
{
    int dag_w = 3, task_w = 4, run_w = 3;
    for (size_t i = 0; i < l->n; i++) {
        const struct airflow_ti *ti = &l->items[i];
        const char *cols[] = { ti->dag_id, ti->task_id, ti->dag_run_id };
        int *widths[] = { &dag_w, &task_w, &run_w };
        for (int k = 0; k < 3; k++) {
            char *inert = text_inert(cols[k] ? cols[k] : "");
            int w = text_width(inert);
            if (w > *widths[k])
                *widths[k] = w;
            free(inert);
        }
    }
    fputs("  ", f);
    cli_cell(f, "DAG", dag_w + 2);
    cli_cell(f, "TASK", task_w + 2);
    cli_cell(f, "RUN", run_w + 2);
    fputs("STATE\n", f);
    for (size_t i = 0; i < l->n; i++) {
        const struct airflow_ti *ti = &l->items[i];
        fputs("  ", f);
        cli_cell(f, ti->dag_id, dag_w + 2);
        cli_cell(f, ti->task_id, task_w + 2);
        cli_cell(f, ti->dag_run_id, run_w + 2);
        cli_cell(f, state_text(ti->state), 0);
        fputc('\n', f);
    }
    (void)cli;
}

static json_t *clear_json(const char *dag_id, const struct airflow_clear_opts *o,
                          const struct airflow_ti_list *preview, const struct airflow_ti_list *done,
                          bool cleared, bool from_preview)
{
    json_t *ids = json_array();
    for (size_t i = 0; i < o->n_task_ids; i++)
        json_array_append_new(ids, json_string(o->task_ids[i]));
    json_t *jp = json_array();
    for (size_t i = 0; preview && i < preview->n; i++)
        json_array_append_new(jp, ti_json(&preview->items[i]));
    json_t *doc = json_pack("{s:s,s:s,s:o,s:{s:b,s:b,s:b,s:b,s:b,s:b},s:b,s:o}", "dag_id", dag_id,
                            "dag_run_id", o->dag_run_id, "task_ids", ids, "options", "downstream",
                            o->include_downstream, "upstream", o->include_upstream, "recursive",
                            o->recursive, "only_failed", o->only_failed, "past", o->include_past,
                            "future", o->include_future, "cleared", cleared, "will_rerun", jp);
    if (cleared) {
        json_t *jd = json_array();
        for (size_t i = 0; done && i < done->n; i++)
            json_array_append_new(jd, ti_json(&done->items[i]));
        json_object_set_new(doc, "cleared_instances", jd);
        json_object_set_new(doc, "list_from_dry_run", json_boolean(from_preview));
    }
    return doc;
}

/* Audit one outcome of a clear with the instances it touched (or would have). */
static void audit_clear(struct cli *cli, const char *dag_id, const struct airflow_clear_opts *o,
                        const struct airflow_ti_list *touched, int result, const char *message)
{
    char *params = stages_clear_params_json(dag_id, o, touched);
    char *target = xasprintf("%s/%s/%s", dag_id, o->dag_run_id, o->task_ids[0]);
    cli_audit_append(cli, "stage.clear", target, params, result, message);
    free(target);
    free(params);
}

int cli_clear(struct cli *cli, int argc, char **argv)
{
    static const struct option opts[] = {
        { "dag", required_argument, NULL, 'd' },
        { "run", required_argument, NULL, 'r' },
        { "downstream", no_argument, NULL, 'D' },
        { "upstream", no_argument, NULL, 'U' },
        { "recursive", no_argument, NULL, 'R' },
        { "only-failed", no_argument, NULL, 'F' },
        { "past", no_argument, NULL, 'P' },
        { "future", no_argument, NULL, 'f' },
        { "dry-run", no_argument, NULL, 'n' },
        { "yes", no_argument, NULL, 'y' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    const char *dag_opt = NULL, *run_opt = NULL;
    struct airflow_clear_opts o = { 0 };
    bool dry_only = false, yes = false;
    int c;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'd': dag_opt = optarg; break;
        case 'r': run_opt = optarg; break;
        case 'D': o.include_downstream = true; break;
        case 'U': o.include_upstream = true; break;
        case 'R': o.recursive = true; break;
        case 'F': o.only_failed = true; break;
        case 'P': o.include_past = true; break;
        case 'f': o.include_future = true; break;
        case 'n': dry_only = true; break;
        case 'y': yes = true; break;
        case 'h': return cli_help(cli, CLEAR_USAGE);
        default: return cli_usage(cli, CLEAR_USAGE);
        }
    }
    if (argc - optind != 1 || !argv[optind][0])
        return cli_usage(cli, CLEAR_USAGE);
    const char *task_id = argv[optind];
    if (run_opt && !run_opt[0])
        return cli_failf(cli, 2, "--run needs a run id");

    int rc = cli_load_config(cli);
    if (rc)
        return rc;
    const char *dag_id = dag_or_default(cli, dag_opt);
    /* A dry run changes nothing, so a read-only console may preview. */
    if (!dry_only) {
        char *target = xasprintf("%s/%s", dag_id, task_id);
        rc = cli_check_writable(cli, "stage.clear", target);
        free(target);
        if (rc)
            return rc;
    }
    /* The database is opened before anything changes, so that a clear
     * never happens without its audit record when one is configured. */
    struct lk_ctx ctx;
    rc = cli_ctx(cli, !dry_only && cli->env->database && cli->env->database[0], &ctx);
    if (rc)
        return rc;

    struct lk_error err = { 0 };
    struct airflow_task_list tasks = { 0 };
    struct airflow_run run = { 0 };
    struct airflow_ti_list preview = { 0 }, done = { 0 };
    const char *ids[] = { task_id };
    bool from_preview = false, cleared = false;

    /* An unknown task would make the server clear nothing and say so
     * quietly: name it instead. */
    enum lk_status st = airflow_list_tasks(&ctx, dag_id, &tasks, &err);
    if (st == LK_OK) {
        bool known = false;
        for (size_t i = 0; i < tasks.n && !known; i++)
            known = strcmp(tasks.items[i].task_id, task_id) == 0;
        if (!known) {
            char *inert = text_inert(task_id);
            st = err_set(&err, LK_NOTFOUND, "DAG %s has no task %s ('lakeop stages --dag %s' lists them)",
                         dag_id, inert, dag_id);
            free(inert);
        }
    }
    if (st == LK_OK)
        st = stages_resolve_run(&ctx, dag_id, run_opt, &run, &err);
    if (st == LK_OK) {
        o.dag_run_id = run.dag_run_id;
        o.task_ids = ids;
        o.n_task_ids = 1;
        o.reset_dag_runs = true;
        st = stages_clear_preview(&ctx, dag_id, &o, &preview, &err);
    }
    if (st != LK_OK) {
        rc = cli_fail(cli, &err);
        goto out;
    }

    /* In JSON mode stdout holds the one document: the preview a person
     * confirms goes to stderr. */
    FILE *plan = cli->json ? cli->errf : cli->out;
    bool show_plan = !cli->json || (!yes && !dry_only);
    if (preview.n == 0) {
        if (cli->json) {
            cli_print_json(cli, clear_json(dag_id, &o, &preview, NULL, false, false));
        } else {
            fputs("nothing to clear: no task instance of ", cli->out);
            cli_cell(cli->out, task_id, 0);
            fputs(" in run ", cli->out);
            cli_cell(cli->out, o.dag_run_id, 0);
            fputs(" matches these options\n", cli->out);
        }
        goto out;
    }
    if (show_plan) {
        fprintf(plan, "%zu task instance%s will re-run:\n", preview.n, preview.n == 1 ? "" : "s");
        print_instances(cli, plan, &preview);
    }
    if (dry_only) {
        if (cli->json) {
            cli_print_json(cli, clear_json(dag_id, &o, &preview, NULL, false, false));
        } else {
            fputs("dry run: nothing was cleared\n", cli->out);
        }
        goto out;
    }

    char *question = xasprintf("Clear these %zu task instance%s of DAG %s in environment %s?",
                               preview.n, preview.n == 1 ? "" : "s", dag_id,
                               cli->env ? cli->env->name : "default");
    rc = cli_confirm(cli, yes, question);
    free(question);
    if (rc) {
        audit_clear(cli, dag_id, &o, &preview, AUDIT_REFUSED, "not confirmed");
        goto out;
    }

    st = stages_clear_apply(&ctx, dag_id, &o, &preview, &done, &from_preview, &err);
    if (st != LK_OK) {
        char msg[1400];
        audit_clear(cli, dag_id, &o, &preview, AUDIT_FAILED,
                    err_text(&err, msg, sizeof msg));
        rc = cli_fail(cli, &err);
        goto out;
    }
    cleared = true;
    {
        char *msg = xasprintf("cleared %zu task instance%s%s", done.n, done.n == 1 ? "" : "s",
                              from_preview ? " (Airflow listed none; the list is the dry run's)"
                                           : "");
        /* The dry run's list has the states before the clear; the
         * server's answer has none. */
        audit_clear(cli, dag_id, &o, &preview, AUDIT_OK, msg);
        free(msg);
    }
    if (cli->json) {
        cli_print_json(cli, clear_json(dag_id, &o, &preview, &done, cleared, from_preview));
    } else {
        fprintf(cli->out, "cleared %zu task instance%s%s:\n", done.n, done.n == 1 ? "" : "s",
                from_preview ? " (Airflow's answer listed none; this is the dry run's list)" : "");
        print_instances(cli, cli->out, &done);
        fputs("finished runs that hold them are queued again; 'lakeop stages --run ", cli->out);
        cli_cell(cli->out, o.dag_run_id, 0);
        fputs("' shows their states\n", cli->out);
    }
out:
    airflow_ti_list_free(&done);
    airflow_ti_list_free(&preview);
    airflow_run_free(&run);
    airflow_task_list_free(&tasks);
    return rc;
}
