/* Semantic colours (htop's CRT_colors): screens ask for an element, never a
 * raw colour.  Monochrome terminals and NO_COLOR (set and non-empty) get the
 * mono attributes of the same table. */
#ifndef LAKEOP_TUI_THEME_H
#define LAKEOP_TUI_THEME_H

#include <curses.h>
#include <stdbool.h>

/* X(ID, foreground, background, colour attributes, monochrome attributes) */
#define THEME_ELEMENTS(X) \
    X(NORMAL,               -1,            -1,           A_NORMAL,  A_NORMAL) \
    X(TITLE,                COLOR_WHITE,   COLOR_BLUE,   A_NORMAL,  A_REVERSE) \
    X(HEADER_ENV,           COLOR_BLACK,   COLOR_GREEN,  A_BOLD,    A_BOLD) \
    X(HEADER_ENV_PROTECTED, COLOR_WHITE,   COLOR_RED,    A_BOLD,    A_BOLD | A_UNDERLINE) \
    X(BADGE,                COLOR_BLACK,   COLOR_YELLOW, A_BOLD,    A_BOLD) \
    X(TABLE_HEADER,         COLOR_CYAN,    -1,           A_BOLD,    A_BOLD | A_UNDERLINE) \
    X(STATUS_LINE,          -1,            -1,           A_NORMAL,  A_NORMAL) \
    X(STATUS_OK,            COLOR_GREEN,   -1,           A_NORMAL,  A_NORMAL) \
    X(STATUS_WARN,          COLOR_YELLOW,  -1,           A_BOLD,    A_BOLD) \
    X(STATUS_ERROR,         COLOR_RED,     -1,           A_BOLD,    A_BOLD | A_UNDERLINE) \
    X(SELECTION,            COLOR_BLACK,   COLOR_CYAN,   A_NORMAL,  A_REVERSE) \
    X(MARKED,               COLOR_YELLOW,  -1,           A_BOLD,    A_BOLD) \
    X(DIM,                  -1,            -1,           A_DIM,     A_DIM) \
    X(STATE_RUNNING,        COLOR_CYAN,    -1,           A_BOLD,    A_BOLD) \
    X(STATE_SUCCESS,        COLOR_GREEN,   -1,           A_NORMAL,  A_NORMAL) \
    X(STATE_FAILED,         COLOR_RED,     -1,           A_BOLD,    A_BOLD) \
    X(STATE_QUEUED,         COLOR_YELLOW,  -1,           A_NORMAL,  A_NORMAL) \
    X(DIALOG,               COLOR_BLACK,   COLOR_WHITE,  A_NORMAL,  A_NORMAL) \
    X(DIALOG_FOCUS,         COLOR_WHITE,   COLOR_BLUE,   A_BOLD,    A_REVERSE) \
    X(SEARCH_MATCH,         COLOR_BLACK,   COLOR_YELLOW, A_NORMAL,  A_UNDERLINE | A_BOLD) \
    X(KEY,                  COLOR_YELLOW,  -1,           A_BOLD,    A_BOLD)

enum theme_el {
#define THEME_ENUM(id, fg, bg, attr, mono) TH_##id,
    THEME_ELEMENTS(THEME_ENUM)
#undef THEME_ENUM
    TH_COUNT
};

#define THEME_ENV_COLOURS 5

struct theme {
    bool color;
    attr_t attr[TH_COUNT];
    attr_t env[THEME_ENV_COLOURS];   /* per-environment header colours */
};

/* After initscr()/newterm().  Colour only when want_color, the terminal has
 * colours and NO_COLOR is unset or empty. */
void theme_init(struct theme *th, bool want_color);
/* true when $NO_COLOR is set and non-empty. */
bool theme_no_color_env(void);

static inline attr_t theme_attr(const struct theme *th, enum theme_el el)
{
    return th->attr[el];
}

/* The header attribute of an environment: red when protected, otherwise a
 * colour picked from its name so that CODE and DEV never look alike. */
attr_t theme_env_attr(const struct theme *th, const char *env_name, bool protected_env);

#endif
