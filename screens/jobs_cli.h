/* What `job --watch` and `export --wait` share (screens/jobs_cli.c). */
#ifndef LAKEOP_JOBS_CLI_H
#define LAKEOP_JOBS_CLI_H

#include "cli.h"
#include "ctx.h"
#include "zuora.h"

/* Polls job_id (core/watch.h rules) until it ends, storing every answer;
 * progress on stderr when it is a terminal; then prints the job (text or
 * --json).  Returns 0 completed, 1 failed (or gave up), 4 unknown job. */
int jobs_cli_watch(struct cli *cli, struct lk_ctx *ctx, struct zuora_client *zc, const char *job_id,
                   long long interval_ms);

/* Prints a job for people (untrusted text inert) or as JSON. */
void jobs_cli_print_job(struct cli *cli, const struct zuora_job *job, const char *source);

/* "--interval S" → milliseconds (floor applied by the watch); -1 when malformed. */
long long jobs_cli_parse_interval(const char *text);

#endif
