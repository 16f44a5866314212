/* Semantic colours (see theme.h). */
#include "theme.h"

#include <stdlib.h>

static const struct {
    short fg, bg;
    attr_t attr, mono;
} ELEMENTS[] = {
#define THEME_ROW(id, fg, bg, attr, mono) { fg, bg, attr, mono },
    THEME_ELEMENTS(THEME_ROW)
#undef THEME_ROW
};

static const short ENV_BG[THEME_ENV_COLOURS] = { COLOR_GREEN, COLOR_CYAN, COLOR_MAGENTA,
                                                 COLOR_YELLOW, COLOR_BLUE };

bool theme_no_color_env(void)
{
    const char *v = getenv("NO_COLOR");
    return v && *v;
}

void theme_init(struct theme *th, bool want_color)
{
    th->color = want_color && !theme_no_color_env() && has_colors() && start_color() == OK;
    if (th->color) {
        use_default_colors();
        if (COLOR_PAIRS < TH_COUNT + THEME_ENV_COLOURS + 1)
            th->color = false;
    }
    for (int i = 0; i < TH_COUNT; i++) {
        if (th->color && i > 0) {
            init_pair((short)i, ELEMENTS[i].fg, ELEMENTS[i].bg);
            th->attr[i] = COLOR_PAIR(i) | ELEMENTS[i].attr;
        } else {
            th->attr[i] = th->color ? ELEMENTS[i].attr : ELEMENTS[i].mono;
        }
    }
    for (int i = 0; i < THEME_ENV_COLOURS; i++) {
        if (th->color) {
            short pair = (short)(TH_COUNT + i);
            init_pair(pair, ENV_BG[i] == COLOR_BLUE ? COLOR_WHITE : COLOR_BLACK, ENV_BG[i]);
            th->env[i] = COLOR_PAIR(pair) | A_BOLD;
        } else {
            th->env[i] = A_BOLD;
        }
    }
}

attr_t theme_env_attr(const struct theme *th, const char *env_name, bool protected_env)
{
    if (protected_env)
        return th->attr[TH_HEADER_ENV_PROTECTED];
    unsigned h = 5381;
    for (const unsigned char *p = (const unsigned char *)(env_name ? env_name : ""); *p; p++)
        h = h * 33 + *p;
    return th->env[h % THEME_ENV_COLOURS];
}
