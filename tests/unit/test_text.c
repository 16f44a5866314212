/* Untrusted text: made inert, measured and cut in terminal columns. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "text.h"

static void inert_is(const char *in, const char *want)
{
    char *got = text_inert(in);
    assert_string_equal(got, want);
    free(got);
}

static void test_plain_text_unchanged(void **state)
{
    (void)state;
    inert_is("Account.csv", "Account.csv");
    inert_is("", "");
    inert_is(NULL, "");
    inert_is("naïve café 東京", "naïve café 東京");
}

static void test_controls_visible(void **state)
{
    (void)state;
    inert_is("\x1b[31mred\x1b[0m", "^[[31mred^[[0m");
    inert_is("a\tb\nc\rd", "a^Ib^Jc^Md");
    inert_is("del\x7f", "del^?");
    inert_is("bell\a", "bell^G");
    /* C1 controls in UTF-8 (U+009B is a CSI on some terminals). */
    inert_is("x\xc2\x9b" "2J", "x<U+009B>2J");
    /* OSC 52 clipboard write hidden in a name. */
    inert_is("\x1b]52;c;aGk=\x07", "^[]52;c;aGk=^G");
}

static void test_invalid_utf8_shown(void **state)
{
    (void)state;
    inert_is("a\xff" "b", "a\\xFFb");
    inert_is("\xc3", "\\xC3");                 /* truncated */
    inert_is("\xc0\xaf", "\\xC0\\xAF");        /* overlong '/' */
    inert_is("\xed\xa0\x80", "\\xED\\xA0\\x80"); /* surrogate */
    inert_is("\xf4\x90\x80\x80", "\\xF4\\x90\\x80\\x80"); /* > U+10FFFF */
}

static void test_deceptive_marks_named(void **state)
{
    (void)state;
    inert_is("evil\xe2\x80\xaetxt.exe", "evil<U+202E>txt.exe");
}

static void test_width(void **state)
{
    (void)state;
    assert_int_equal(text_width("abc"), 3);
    assert_int_equal(text_width("東京"), 4);
    assert_int_equal(text_width("e\xcc\x81"), 1);   /* e + combining acute */
    assert_int_equal(text_width(""), 0);
    assert_int_equal(text_width(NULL), 0);
}

static void test_fit(void **state)
{
    (void)state;
    char out[64];
    assert_int_equal(text_fit("abcdef", 4, 0, out, sizeof out), 4);
    assert_string_equal(out, "abcd");
    assert_int_equal(text_fit("abcdef", 4, 1, out, sizeof out), 4);
    assert_string_equal(out, "abc\xe2\x80\xa6");
    assert_int_equal(text_fit("abc", 4, 1, out, sizeof out), 3);
    assert_string_equal(out, "abc");
    /* A wide character is never split. */
    assert_int_equal(text_fit("東京都", 5, 0, out, sizeof out), 4);
    assert_string_equal(out, "東京");
    assert_int_equal(text_fit("東京都", 5, 1, out, sizeof out), 5);
    assert_string_equal(out, "東京\xe2\x80\xa6");
    assert_int_equal(text_fit("abc", 0, 1, out, sizeof out), 0);
    assert_string_equal(out, "");
    /* A small output buffer is never overrun. */
    char tiny[3];
    text_fit("abcdef", 10, 0, tiny, sizeof tiny);
    assert_string_equal(tiny, "ab");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plain_text_unchanged),
        cmocka_unit_test(test_controls_visible),
        cmocka_unit_test(test_invalid_utf8_shown),
        cmocka_unit_test(test_deceptive_marks_named),
        cmocka_unit_test(test_width),
        cmocka_unit_test(test_fit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
