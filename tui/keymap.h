/* Key bindings: `bind SCREEN KEY ACTION`, the syntax of the config file.
 * The defaults are compiled in as text in that same syntax; the user's
 * binds are applied on top.  SCREEN is a screen's name or "generic" (all
 * screens); a screen's own binding wins over a generic one.
 *
 * Keys are curses key codes (wgetch).  Names: a printable character
 * ("j", "?"), <Enter> <Esc> <Tab> <S-Tab> <Space> <Up> <Down> <Left> <Right>
 * <PgUp> <PgDown> <Home> <End> <Backspace> <Del> <Ins> <F1>..<F12> <C-x> <lt>. */
#ifndef LAKEOP_TUI_KEYMAP_H
#define LAKEOP_TUI_KEYMAP_H

#include <stdbool.h>
#include <stddef.h>

#include "actions.h"

struct keymap;

/* A keymap with the compiled-in defaults. */
struct keymap *keymap_new(void);
void keymap_free(struct keymap *km);

/* Binds; returns false and writes why into err when the key or action is
 * unknown. */
bool keymap_bind(struct keymap *km, const char *screen, const char *key, const char *action,
                 char *err, size_t err_size);

/* true when screen is "generic", "detail" (the toolkit's detail, help and
 * log views) or a registered screen's name; otherwise writes
 * "unknown screen 'x' in bind; screens are: generic, overview, ...".
 * Needs the screen registry, so only the console and `lakeop doctor` (which
 * link the screens) can say; keymap_bind() itself does not check, so that
 * the compiled-in defaults hold in a build with fewer screens. */
bool keymap_screen_known(const char *screen, char *err, size_t err_size);
/* A user's binding (the config's bind lines): the screen checked as above,
 * then keymap_bind(). */
bool keymap_bind_user(struct keymap *km, const char *screen, const char *key, const char *action,
                      char *err, size_t err_size);

/* Applies config text ("bind SCREEN KEY ACTION" lines, # comments).  where
 * names the source in error messages ("defaults", "FILE:LINE"). */
bool keymap_load_text(struct keymap *km, const char *text, const char *where, char *err,
                      size_t err_size);

enum action keymap_lookup(const struct keymap *km, const char *screen, int key);

/* Every key bound to action on that screen (the screen's own, then generic
 * ones it does not override), as "j, <Down>"; writes "" when none. */
void keymap_keys_for(const struct keymap *km, const char *screen, enum action a, char *out,
                     size_t out_size);

/* Parses one key name at the start of text; returns the bytes it took
 * (0 when text does not start with a key) and the code in *key.  A lone
 * byte that is not a name is that byte. */
size_t keymap_key_parse(const char *text, int *key);
/* "j", "<Down>", "<C-c>" ... */
void keymap_key_name(int key, char *out, size_t out_size);

/* The compiled-in defaults, for `lakeop paths`/docs. */
extern const char keymap_defaults[];

#endif
