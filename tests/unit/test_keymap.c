/* Key bindings: defaults as data, user binds on top, names both ways. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <curses.h>

#include "cmdline.h"
#include "keymap.h"

static void test_defaults(void **state)
{
    (void)state;
    struct keymap *km = keymap_new();
    assert_int_equal(keymap_lookup(km, "audit", 'q'), ACT_QUIT);
    assert_int_equal(keymap_lookup(km, "audit", 'j'), ACT_MOVE_DOWN);
    assert_int_equal(keymap_lookup(km, "audit", KEY_DOWN), ACT_MOVE_DOWN);
    assert_int_equal(keymap_lookup(km, "audit", '\r'), ACT_ENTER);
    assert_int_equal(keymap_lookup(km, NULL, 27), ACT_BACK);
    assert_int_equal(keymap_lookup(km, "audit", 'Z'), ACT_NONE);
    keymap_free(km);
}

static void test_user_binds_win_per_screen(void **state)
{
    (void)state;
    struct keymap *km = keymap_new();
    char err[256];
    assert_true(keymap_load_text(km, "# mine\nbind audit x refresh\nbind generic <C-r> refresh\n",
                                 "config", err, sizeof err));
    assert_int_equal(keymap_lookup(km, "audit", 'x'), ACT_REFRESH);
    assert_int_equal(keymap_lookup(km, "overview", 'x'), ACT_NONE);
    assert_int_equal(keymap_lookup(km, "overview", 18), ACT_REFRESH);
    /* A screen's binding overrides a generic one only there. */
    assert_true(keymap_bind(km, "audit", "q", "none", err, sizeof err));
    assert_int_equal(keymap_lookup(km, "audit", 'q'), ACT_NONE);
    assert_int_equal(keymap_lookup(km, "overview", 'q'), ACT_QUIT);
    char keys[128];
    keymap_keys_for(km, "audit", ACT_QUIT, keys, sizeof keys);
    assert_string_equal(keys, "<C-c>");
    keymap_free(km);
}

static void test_errors_name_the_place(void **state)
{
    (void)state;
    struct keymap *km = keymap_new();
    char err[256];
    assert_false(keymap_load_text(km, "bind audit x explode\n", "cfg", err, sizeof err));
    assert_non_null(strstr(err, "cfg:1"));
    assert_non_null(strstr(err, "unknown action 'explode'"));
    assert_false(keymap_bind(km, "audit", "<Nope>", "quit", err, sizeof err));
    assert_non_null(strstr(err, "unknown key"));
    assert_false(keymap_load_text(km, "bind audit\n", "cfg", err, sizeof err));
    assert_non_null(strstr(err, "expected 'bind SCREEN KEY ACTION'"));
    keymap_free(km);
}

/* A user's bind line names a screen the registry knows (or generic, or
 * the toolkit's detail); anything else is reported with the list. */
static void test_user_bind_checks_the_screen(void **state)
{
    (void)state;
    struct keymap *km = keymap_new();
    char err[600];
    assert_true(keymap_bind_user(km, "generic", "x", "refresh", err, sizeof err));
    assert_true(keymap_bind_user(km, "audit", "x", "refresh", err, sizeof err));
    assert_true(keymap_bind_user(km, "detail", "x", "refresh", err, sizeof err));
    assert_true(keymap_bind_user(km, "stage-task", "x", "refresh", err, sizeof err));
    assert_false(keymap_bind_user(km, "audti", "z", "refresh", err, sizeof err));
    assert_non_null(strstr(err, "unknown screen 'audti' in bind; screens are: generic, audit, "));
    assert_non_null(strstr(err, ", detail, "));
    assert_non_null(strstr(err, ", loads, overview, "));
    assert_int_equal(keymap_lookup(km, "audti", 'z'), ACT_NONE);
    /* The screen is checked first; a bad key on a good screen still says so. */
    assert_false(keymap_bind_user(km, "audit", "<Nope>", "quit", err, sizeof err));
    assert_non_null(strstr(err, "unknown key"));
    keymap_free(km);
}

static void test_key_names_round_trip(void **state)
{
    (void)state;
    const char *names[] = { "j", "<Enter>", "<Esc>", "<Tab>", "<S-Tab>", "<Down>", "<PgUp>",
                            "<C-c>", "<F5>", "<lt>", "<Space>", "?" };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        int key;
        assert_int_equal(keymap_key_parse(names[i], &key), strlen(names[i]));
        char back[32];
        keymap_key_name(key, back, sizeof back);
        assert_string_equal(back, names[i]);
    }
    int key;
    assert_int_equal(keymap_key_parse("<Down>j", &key), 6);
}

static void test_action_table(void **state)
{
    (void)state;
    assert_int_equal(action_by_name("retry"), ACT_RETRY);
    assert_true(action_changes(ACT_RETRY));
    assert_false(action_changes(ACT_MOVE_DOWN));
    assert_int_equal(action_by_name("nope"), ACT_COUNT);
    for (int a = 0; a < ACT_COUNT; a++)
        assert_int_equal(action_by_name(action_name((enum action)a)), a);
}

static void type(struct cmdline *c, const char *keys, const char *const *names, size_t n, char *hint)
{
    for (const char *p = keys; *p; p++)
        cmdline_key(c, (unsigned char)*p, names, n, hint, 256);
}

/* Tab on the : line: a unique prefix completes the word (and a space);
 * several extend to their common part and list the candidates; the
 * argument is never completed. */
static void test_cmdline_tab_completion(void **state)
{
    (void)state;
    static const char *const names[] = { "audit", "datasets", "loads", "log", "q" };
    const size_t n = sizeof names / sizeof names[0];
    char hint[256];
    struct cmdline *c = cmdline_new(NULL);
    cmdline_start(c);
    type(c, "au\t", names, n, hint);
    assert_string_equal(cmdline_text(c), "audit ");
    cmdline_start(c);
    type(c, "l\t", names, n, hint);
    assert_string_equal(cmdline_text(c), "lo");
    assert_string_equal(hint, "loads log");
    type(c, "a\t", names, n, hint);
    assert_string_equal(cmdline_text(c), "loads ");
    type(c, "err\t", names, n, hint);
    assert_string_equal(cmdline_text(c), "loads err");
    assert_int_equal(cmdline_key(c, '\n', names, n, hint, sizeof hint), CMDLINE_RUN);
    cmdline_start(c);
    type(c, "zz\t", names, n, hint);
    assert_string_equal(cmdline_text(c), "zz");
    cmdline_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_user_binds_win_per_screen),
        cmocka_unit_test(test_errors_name_the_place),
        cmocka_unit_test(test_user_bind_checks_the_screen),
        cmocka_unit_test(test_key_names_round_trip),
        cmocka_unit_test(test_action_table),
        cmocka_unit_test(test_cmdline_tab_completion),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
