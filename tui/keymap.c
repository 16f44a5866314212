/* Key bindings and the action table (see keymap.h and actions.h). */
#include "keymap.h"

#include <curses.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "buf.h"
#include "detail.h"
#include "mem.h"
#include "screen.h"

static const struct {
    const char *name;
    int changes;
    const char *help;
} ACTIONS[] = {
#define TUI_ACTION_ROW(id, name, changes, help) { name, changes, help },
    TUI_ACTIONS(TUI_ACTION_ROW)
#undef TUI_ACTION_ROW
};

const char *action_name(enum action a)
{
    return a < ACT_COUNT ? ACTIONS[a].name : "?";
}

const char *action_help(enum action a)
{
    return a < ACT_COUNT ? ACTIONS[a].help : "";
}

int action_changes(enum action a)
{
    return a < ACT_COUNT ? ACTIONS[a].changes : 0;
}

enum action action_by_name(const char *name)
{
    for (int i = 0; i < ACT_COUNT; i++)
        if (strcmp(ACTIONS[i].name, name) == 0)
            return (enum action)i;
    return ACT_COUNT;
}

/* The defaults, as data in the config's own syntax (tig's tigrc). */
const char keymap_defaults[] =
    "bind generic q          quit\n"
    "bind generic <C-c>      quit\n"
    "bind generic <Esc>      back\n"
    "bind generic <Left>     back\n"
    "bind generic ?          help\n"
    "bind generic <F1>       help\n"
    "bind generic r          refresh\n"
    "bind generic <F5>       refresh\n"
    "bind generic :          command\n"
    "bind generic /          filter\n"
    "bind generic n          search-next\n"
    "bind generic N          search-prev\n"
    "bind generic >          sort-next\n"
    "bind generic <lt>       sort-prev\n"
    "bind generic I          sort-reverse\n"
    "bind generic k          move-up\n"
    "bind generic <Up>       move-up\n"
    "bind generic j          move-down\n"
    "bind generic <Down>     move-down\n"
    "bind generic <PgUp>     page-up\n"
    "bind generic <C-b>      page-up\n"
    "bind generic <PgDown>   page-down\n"
    "bind generic <C-f>      page-down\n"
    "bind generic g          first\n"
    "bind generic <Home>     first\n"
    "bind generic G          last\n"
    "bind generic <End>      last\n"
    "bind generic <Enter>    enter\n"
    "bind generic <Right>    enter\n"
    "bind generic <Space>    mark\n"
    "bind generic y          yank\n"
    "bind generic L          log\n"
    "bind generic <Tab>      next-screen\n"
    "bind generic <S-Tab>    prev-screen\n"
    "bind generic 1          screen-1\n"
    "bind generic 2          screen-2\n"
    "bind generic 3          screen-3\n"
    "bind generic 4          screen-4\n"
    "bind generic 5          screen-5\n"
    "bind generic 6          screen-6\n"
    "bind generic 7          screen-7\n"
    "bind generic 8          screen-8\n"
    "bind generic 9          screen-9\n"
    "bind generic R          retry\n"
    "bind generic c          copy\n"
    "bind generic e          export\n"
    "bind job     X          cancel\n"
    "bind generic C          clear\n"
    "bind generic i          ingest\n"
    "bind datasets A         ingest-all\n"
    "bind generic S          sync\n"
    "bind generic U          import\n"
    "bind stages  R          runs\n"
    "bind stages  T          trigger\n"
    "bind stages  P          pause\n"
    "bind generic w          watch\n";

struct binding {
    char *screen;              /* "generic" or a screen's name */
    int key;
    enum action action;
};

struct keymap {
    struct binding *b;
    size_t n, cap;
};

static const struct {
    const char *name;
    int key;
} KEY_NAMES[] = {
    { "Enter", '\n' },    { "Return", '\r' },   { "Esc", 27 },        { "Tab", '\t' },
    { "S-Tab", KEY_BTAB },  { "BTab", KEY_BTAB }, { "Space", ' ' },     { "Up", KEY_UP },
    { "Down", KEY_DOWN },   { "Left", KEY_LEFT }, { "Right", KEY_RIGHT }, { "PgUp", KEY_PPAGE },
    { "PageUp", KEY_PPAGE }, { "PgDown", KEY_NPAGE }, { "PageDown", KEY_NPAGE },
    { "Home", KEY_HOME },   { "End", KEY_END },   { "Backspace", KEY_BACKSPACE },
    { "Del", KEY_DC },      { "Ins", KEY_IC },    { "lt", '<' },        { "gt", '>' },
    { "Resize", KEY_RESIZE },
};

size_t keymap_key_parse(const char *text, int *key)
{
    if (!text || !*text)
        return 0;
    if (text[0] == '<') {
        const char *end = strchr(text, '>');
        if (end && end > text + 1 && end - text < 16) {
            char name[16];
            size_t len = (size_t)(end - text - 1);
            memcpy(name, text + 1, len);
            name[len] = '\0';
            for (size_t i = 0; i < sizeof KEY_NAMES / sizeof KEY_NAMES[0]; i++) {
                if (strcasecmp(name, KEY_NAMES[i].name) == 0) {
                    *key = KEY_NAMES[i].key;
                    return len + 2;
                }
            }
            if ((name[0] == 'C' || name[0] == 'c') && name[1] == '-' && name[2] && !name[3]) {
                char c = name[2];
                if (c >= 'a' && c <= 'z')
                    c = (char)(c - 'a' + 'A');
                if (c >= '@' && c <= '_') {
                    *key = c - '@';
                    return len + 2;
                }
            }
            if ((name[0] == 'F' || name[0] == 'f') && name[1]) {
                char *e;
                long n = strtol(name + 1, &e, 10);
                if (!*e && n >= 1 && n <= 12) {
                    *key = KEY_F(n);
                    return len + 2;
                }
            }
        }
    }
    *key = (unsigned char)text[0];
    return 1;
}

void keymap_key_name(int key, char *out, size_t out_size)
{
    if (key == '\r')
        key = '\n';
    for (size_t i = 0; i < sizeof KEY_NAMES / sizeof KEY_NAMES[0]; i++) {
        if (KEY_NAMES[i].key == key && key != '<' && key != '>') {
            snprintf(out, out_size, "<%s>", KEY_NAMES[i].name);
            return;
        }
    }
    if (key == '<') {
        snprintf(out, out_size, "<lt>");
    } else if (key > 0 && key < 32) {
        snprintf(out, out_size, "<C-%c>", (char)(key + 'a' - 1));
    } else if (key >= KEY_F(1) && key <= KEY_F(12)) {
        snprintf(out, out_size, "<F%d>", key - KEY_F0);
    } else if (key > 32 && key < 127) {
        snprintf(out, out_size, "%c", (char)key);
    } else {
        snprintf(out, out_size, "<%d>", key);
    }
}

struct keymap *keymap_new(void)
{
    struct keymap *km = xcalloc(1, sizeof *km);
    char err[256];
    /* The defaults are ours: a failure here is a bug caught by the tests. */
    keymap_load_text(km, keymap_defaults, "defaults", err, sizeof err);
    return km;
}

void keymap_free(struct keymap *km)
{
    if (!km)
        return;
    for (size_t i = 0; i < km->n; i++)
        free(km->b[i].screen);
    free(km->b);
    free(km);
}

bool keymap_bind(struct keymap *km, const char *screen, const char *key, const char *action,
                 char *err, size_t err_size)
{
    int code;
    size_t used = keymap_key_parse(key, &code);
    if (used == 0 || used != strlen(key)) {
        snprintf(err, err_size, "unknown key '%s' (a character, or a name like <Enter>, <C-x>, <F5>)",
                 key);
        return false;
    }
    enum action a = action_by_name(action);
    if (a == ACT_COUNT) {
        snprintf(err, err_size, "unknown action '%s' (press ? in the console for the list)", action);
        return false;
    }
    for (size_t i = 0; i < km->n; i++) {
        if (km->b[i].key == code && strcmp(km->b[i].screen, screen) == 0) {
            km->b[i].action = a;
            return true;
        }
    }
    if (km->n == km->cap) {
        km->cap = km->cap ? km->cap * 2 : 64;
        km->b = xrealloc(km->b, km->cap * sizeof *km->b);
    }
    km->b[km->n++] = (struct binding){ xstrdup(screen), code, a };
    return true;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

bool keymap_screen_known(const char *screen, char *err, size_t err_size)
{
    if (strcmp(screen, "generic") == 0 || strcmp(screen, detail_screen_ops.name) == 0)
        return true;
    size_t n;
    const struct screen_ops **reg = screen_registry(&n);
    bool known = false;
    for (size_t i = 0; i < n && !known; i++)
        known = strcmp(reg[i]->name, screen) == 0;
    if (!known) {
        /* In name order: easier to scan for the one meant than by rank. */
        const char **sorted = xcalloc(n + 1, sizeof *sorted);
        for (size_t i = 0; i < n; i++)
            sorted[i] = reg[i]->name;
        sorted[n] = detail_screen_ops.name;
        qsort(sorted, n + 1, sizeof *sorted, by_name);
        struct buf names = BUF_INIT;
        buf_puts(&names, "generic");
        for (size_t i = 0; i < n + 1; i++)
            buf_printf(&names, ", %s", sorted[i]);
        snprintf(err, err_size, "unknown screen '%s' in bind; screens are: %s", screen, buf_cstr(&names));
        buf_free(&names);
        free(sorted);
    }
    free(reg);
    return known;
}

bool keymap_bind_user(struct keymap *km, const char *screen, const char *key, const char *action,
                      char *err, size_t err_size)
{
    return keymap_screen_known(screen, err, err_size) && keymap_bind(km, screen, key, action, err, err_size);
}

bool keymap_load_text(struct keymap *km, const char *text, const char *where, char *err,
                      size_t err_size)
{
    char *copy = xstrdup(text);
    bool ok = true;
    int line_no = 0;
    char *save = NULL;
    for (char *line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        line_no++;
        char *hash = strchr(line, '#');
        if (hash)
            *hash = '\0';
        char *w[5] = { 0 };
        int n = 0;
        char *s2 = NULL;
        for (char *t = strtok_r(line, " \t", &s2); t && n < 5; t = strtok_r(NULL, " \t", &s2))
            w[n++] = t;
        if (n == 0)
            continue;
        char why[200];
        if (n != 4 || strcmp(w[0], "bind") != 0) {
            snprintf(err, err_size, "%s:%d: expected 'bind SCREEN KEY ACTION'", where, line_no);
            ok = false;
            break;
        }
        if (!keymap_bind(km, w[1], w[2], w[3], why, sizeof why)) {
            snprintf(err, err_size, "%s:%d: %s", where, line_no, why);
            ok = false;
            break;
        }
    }
    free(copy);
    return ok;
}

static enum action lookup_in(const struct keymap *km, const char *screen, int key, bool *found)
{
    for (size_t i = 0; i < km->n; i++) {
        if (km->b[i].key == key && strcmp(km->b[i].screen, screen) == 0) {
            *found = true;
            return km->b[i].action;
        }
    }
    *found = false;
    return ACT_NONE;
}

enum action keymap_lookup(const struct keymap *km, const char *screen, int key)
{
    if (key == '\r' || key == KEY_ENTER)
        key = '\n';
    bool found;
    enum action a = ACT_NONE;
    if (screen) {
        a = lookup_in(km, screen, key, &found);
        if (found)
            return a;
    }
    a = lookup_in(km, "generic", key, &found);
    return found ? a : ACT_NONE;
}

void keymap_keys_for(const struct keymap *km, const char *screen, enum action a, char *out,
                     size_t out_size)
{
    size_t used = 0;
    out[0] = '\0';
    for (size_t i = 0; i < km->n; i++) {
        const struct binding *b = &km->b[i];
        if (b->action != a)
            continue;
        if (!(screen && strcmp(b->screen, screen) == 0) && strcmp(b->screen, "generic") != 0)
            continue;
        /* Only keys that really do it on this screen. */
        if (keymap_lookup(km, screen, b->key) != a)
            continue;
        char name[24];
        keymap_key_name(b->key, name, sizeof name);
        int n = snprintf(out + used, out_size - used, "%s%s", used ? ", " : "", name);
        if (n < 0 || (size_t)n >= out_size - used)
            break;
        used += (size_t)n;
    }
}
