/* The Stages screen's parts (screens/stages.c with its runs list,
 * stages_clear_dlg.c, stages_task.c) and what they ask of each other.
 * Everything here runs on the UI thread. */
#ifndef LAKEOP_STAGES_UI_H
#define LAKEOP_STAGES_UI_H

#include <stdbool.h>
#include <stddef.h>

#include "airflow.h"
#include "theme.h"
#include "tui.h"

/* The semantic colour of a task-instance or run state. */
enum theme_el stages_state_el(const char *state);
/* "2024-01-01 09:00:05" (local time) from Airflow's ISO text, the text as
 * sent when it is not a time, "-" for none. */
void stages_fmt_time(const char *iso, char *out, size_t size);
/* Line y of win: raw made inert, fitted to the width (with an ellipsis) in
 * theme element el, the rest of the line cleared. */
void stages_put_line(WINDOW *win, int y, const struct theme *th, enum theme_el el,
                     const char *raw);

/* Like stages_put_line over at most max_lines lines from y, wrapping at
 * the width; returns the lines used. */
int stages_put_wrapped(WINDOW *win, int y, int max_lines, const struct theme *th,
                       enum theme_el el, const char *raw);
/* Shows text as the Stages screen s's note, as an error (wrapped over up to
 * three lines, so that the server's words at its end are seen). */
void stages_note_error(struct screen *s, const char *text);

/* The Stages screen s (found below the dialog on the stack): does it still
 * show run_id and is task_id still the selected row?  Otherwise why. */
bool stages_target_is(struct screen *s, const char *run_id, const char *task_id, char *why,
                      size_t why_size);
/* After a clear: shows run_id and follows every touched instance, by (DAG,
 * run, task), until they finish (polls every 2.5 s, reading the shown run
 * and a few of the other touched runs in turn; backs off after failures). */
void stages_watch(struct screen *s, const char *run_id, const struct airflow_ti_list *touched);
/* Reloads and shows run_id (NULL: the latest). */
void stages_show_run(struct screen *s, const char *run_id);

/* The clear flow on the selected task (stages_clear_dlg.c): toggles, the
 * dry-run list, confirmation, the clear, its audit, then stages_watch(). */
void stages_clear_open(struct screen *s, const char *dag_id, const char *run_id,
                       const char *task_id);

/* From another screen (Job detail's link to an object's stage): pushes the
 * Stages screen on dag_id (NULL: the environment's DAG) and, once its
 * latest run is loaded, opens the clear dialog on task_id there. */
void stages_open_clear(struct tui *t, const char *dag_id, const char *task_id);

/* A task's detail and log with follow (stages_task.c). */
void stages_task_open(struct tui *t, const char *dag_id, const char *run_id, const char *task_id);

#endif
