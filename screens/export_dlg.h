/* The Export dialog of the console (screens/export_dlg.c): the from-date
 * with validation, the plan, the confirmations (a second one beyond 30
 * days), then the submit on a worker; refusals and submits are audited. */
#ifndef LAKEOP_EXPORT_DLG_H
#define LAKEOP_EXPORT_DLG_H

#include "screen.h"

/* Opens the dialog over screen s (the work is tied to it). */
void export_dlg_open(struct screen *s);

#endif
