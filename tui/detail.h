/* The detail view: key/value pairs, text and pretty-printed JSON, with
 * scrolling, / search (n, N) and `y` to copy the item's id (OSC 52).
 *
 * Build a struct detail and push it: the detail screen owns it from then on.
 *
 *   struct detail *d = detail_new("Audit 42");
 *   detail_set_id(d, "42");
 *   struct screen *s = tui_push(t, &detail_screen_ops, NULL, d);
 *   tui_submit(s, work, done, job);   // fill it later: detail_of(s) in done()
 */
#ifndef LAKEOP_TUI_DETAIL_H
#define LAKEOP_TUI_DETAIL_H

#include <stdbool.h>

#include "screen.h"
#include "theme.h"

struct detail;

struct detail *detail_new(const char *title);
void detail_free(struct detail *d);

/* All text is raw: made inert here.  Multi-line values become several lines. */
void detail_kv(struct detail *d, const char *key, const char *value);
void detail_kv_el(struct detail *d, const char *key, const char *value, enum theme_el el);
void detail_text(struct detail *d, const char *text, enum theme_el el);
void detail_heading(struct detail *d, const char *text);
/* Pretty-prints JSON text (two-space indent); text that is not JSON is
 * shown as it is, inert. */
void detail_json(struct detail *d, const char *json);
void detail_set_id(struct detail *d, const char *id);
void detail_set_loading(struct detail *d, bool loading);
void detail_fail(struct detail *d, const char *reason);
void detail_clear(struct detail *d);

/* The pretty-printed form of json as one string, lines joined by '\n'
 * (caller frees); exposed for tests and the CLI. */
char *detail_json_pretty(const char *json);

extern const struct screen_ops detail_screen_ops;
struct detail *detail_of(struct screen *s);

#endif
