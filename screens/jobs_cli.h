/* What `job --watch` and `export --wait` share (screens/jobs_cli.c). */
#ifndef LAKEOP_JOBS_CLI_H
#define LAKEOP_JOBS_CLI_H

#include "cli.h"
#include "ctx.h"
#include "zuora.h"

/* Polls job_id (core/watch.h rules) until it ends, storing every answer;
 * progress on stderr when it is a terminal, failed polls always; then
 * prints the job (text or --json).  An error no retry can mend (refused
 * credentials, 90009, 90019) ends it at once, and so does the ceiling
 * (jobs_watch_ceiling_ms).  Returns 0 completed, 1 failed (or gave up, or
 * timed out), 4 unknown job.  Sets zc to one attempt per poll. */
int jobs_cli_watch(struct cli *cli, struct lk_ctx *ctx, struct zuora_client *zc, const char *job_id,
                   long long interval_ms, const char *plan_json);

/* Prints a job for people (untrusted text inert) or as JSON; plan_json
 * (may be NULL: export_plan_json) becomes the document's "plan", so that
 * export --json prints one document. */
void jobs_cli_print_job(struct cli *cli, const struct zuora_job *job, const char *source, const char *plan_json);

/* How long a watch may last: WATCH_DEFAULT_CEILING_S, or
 * LAKEOP_WATCH_CEILING (whole seconds, 1 to 7 days) for tests and for
 * tenants with other limits.  Shared by the CLI and the console. */
long long jobs_watch_ceiling_ms(void);

/* "--interval S" → milliseconds (floor applied by the watch); -1 when malformed. */
long long jobs_cli_parse_interval(const char *text);

#endif
