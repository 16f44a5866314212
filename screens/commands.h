/* The subcommands of ARCHITECTURE.md, defined once: name, function, one line
 * of help.  Each function lives beside the screen of its feature. */
#ifndef LAKEOP_COMMANDS_H
#define LAKEOP_COMMANDS_H

struct cli;

#define LAKEOP_COMMANDS(X) \
    X(doctor,        "check config and reach every configured service") \
    X(paths,         "every file and folder lakeop reads or writes") \
    X(status,        "datasets and their freshness, failed loads, running jobs (exit 1 if stale/failed)") \
    X(export,        "submit a Zuora export: --from afterLastIncrement|YYYY-MM-DD [--object NAME]... [--yes] [--wait]") \
    X(jobs,          "known batch-query jobs, newest first [--limit N]") \
    X(job,           "a job and its batches: JOB_ID [--watch]") \
    X(copy,          "copy Zuora files to raw buckets: JOB_ID | --file-id ID --to URL") \
    X(datasets,      "datasets, their freshness and loads by status") \
    X(loads,         "loads [--dataset D] [--status S] [--limit N]") \
    X(ingest,        "register new files under each dataset's prefix and process them [--dataset D] [--yes]") \
    X(retry,         "put errored loads back to ready: LOAD_ID... [--yes]") \
    X(cohorts,       "price-rise cohorts") \
    X(cohort,        "a cohort's items by processing stage: NAME") \
    X(cohort_sync,   "read a cohort's items from its DynamoDB table: NAME") \
    X(cohort_import, "load a cohort file in the export format: NAME FILE") \
    X(cohort_export, "write a cohort's file and manifest to the clean bucket: NAME [--yes]") \
    X(stages,        "the DAG's tasks and their states [--dag D] [--run RUN_ID]") \
    X(clear,         "clear (re-run) a task: TASK_ID [--dag D] [--run RUN_ID] [--downstream] ...") \
    X(audit,         "the audit log, newest first [--limit N]")

#define LAKEOP_DECLARE_COMMAND(name, help) \
    int cli_##name(struct cli *cli, int argc, char **argv) __attribute__((weak));
LAKEOP_COMMANDS(LAKEOP_DECLARE_COMMAND)
#undef LAKEOP_DECLARE_COMMAND

/* The console (screens/app.c). */
int app_run(struct cli *cli) __attribute__((weak));

#endif
