/* The Job detail screen's parts (screens/job_detail.c, screens/job_copy.c)
 * and what they ask of each other.  Everything here runs on the UI thread. */
#ifndef LAKEOP_JOB_DETAIL_H
#define LAKEOP_JOB_DETAIL_H

#include <stdbool.h>
#include <stddef.h>

#include "theme.h"
#include "tui.h"
#include "zuora.h"

/* A copy of some of a job's batches to their raw targets: planned on a
 * worker (what is at each target now, what was copied before), shown on a
 * plan screen with a force toggle, confirmed, then run on a worker behind a
 * progress dialog.  It owns itself and frees itself when it ends; until
 * then its host (Job detail) is told of every change through changed(),
 * with finished = true exactly once, just before it goes. */
struct job_copy;
typedef void (*job_copy_changed_fn)(void *ud, struct job_copy *c, bool finished);

/* The batches batch_ids of job (which need not outlive the call), from the
 * Job detail screen s.  NULL (after a message saying why) when none of them
 * can be copied. */
struct job_copy *job_copy_start(struct screen *s, const struct zuora_job *job,
                                const char *const *batch_ids, size_t n,
                                job_copy_changed_fn changed, void *ud);
/* The host closes: changed() is not called any more.  cancel: stop the
 * copy too (the console is quitting); otherwise it goes on in the
 * background and says how it ended in the message line. */
void job_copy_detach(struct job_copy *c, bool cancel);
/* Confirmed and not yet ended. */
bool job_copy_running(const struct job_copy *c);
/* The Copy column of a batch: "queued", "copying 42%", "copied 10:02",
 * "already copied", "failed: REASON", "cancelled".  false when this copy
 * says nothing about the batch (not in it, or not confirmed yet). */
bool job_copy_batch_state(struct job_copy *c, const char *batch_id, char *out, size_t size,
                          enum theme_el *el);

/* job_detail.c: is s still the Job detail of job_id, with exactly these
 * batches selected (the marked rows, or the cursor's when none is marked),
 * each still completed with the same file (file_ids[i]: its fileId, or its
 * first segment)?  Otherwise why. */
bool jobd_selection_is(struct screen *s, const char *job_id, const char *const *batch_ids,
                       const char *const *file_ids, size_t n, char *why, size_t why_size);

/* "10:02" today, "11-21 10:02" another day (local time). */
void jobd_short_time(long long unix_seconds, char *out, size_t size);

#endif
