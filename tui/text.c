/* Untrusted text made inert, and cut by display width (see text.h).
 *
 * Widths come from wcwidth() evaluated in a private C.UTF-8 locale, so the
 * answer does not depend on the caller's LANG (the CLI may run under "C",
 * tests under anything) and no global locale is touched. */
#include "text.h"

#include <locale.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <wchar.h>
#include <wctype.h>

#include "buf.h"
#include "mem.h"

static locale_t utf8_locale;
static pthread_once_t utf8_once = PTHREAD_ONCE_INIT;

static void utf8_locale_init(void)
{
    utf8_locale = newlocale(LC_CTYPE_MASK, "C.UTF-8", (locale_t)0);
    if (!utf8_locale)
        utf8_locale = newlocale(LC_CTYPE_MASK, "en_US.UTF-8", (locale_t)0);
}

/* wcwidth() in a UTF-8 locale; -1 for what is not printable. */
static int cp_width(uint32_t cp)
{
    if (cp >= 0x20 && cp < 0x7f)
        return 1;
    pthread_once(&utf8_once, utf8_locale_init);
    if (!utf8_locale)
        return cp < 0x7f ? -1 : 1;  /* no UTF-8 locale at all: assume narrow */
    locale_t old = uselocale(utf8_locale);
    int w = iswprint((wint_t)cp) ? wcwidth((wchar_t)cp) : -1;
    uselocale(old);
    return w;
}

/* Decodes one UTF-8 sequence at s (n bytes available).  Returns its length,
 * or 0 when the bytes are not valid UTF-8 (overlong, surrogate, > U+10FFFF,
 * truncated). */
static size_t utf8_decode(const unsigned char *s, size_t n, uint32_t *cp)
{
    if (s[0] < 0x80) {
        *cp = s[0];
        return 1;
    }
    size_t len;
    uint32_t min, c;
    if ((s[0] & 0xe0) == 0xc0) {
        len = 2; min = 0x80; c = s[0] & 0x1f;
    } else if ((s[0] & 0xf0) == 0xe0) {
        len = 3; min = 0x800; c = s[0] & 0x0f;
    } else if ((s[0] & 0xf8) == 0xf0) {
        len = 4; min = 0x10000; c = s[0] & 0x07;
    } else {
        return 0;
    }
    if (n < len)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        c = (c << 6) | (s[i] & 0x3f);
    }
    if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
        return 0;
    *cp = c;
    return len;
}

/* Characters that reorder or hide text (bidi overrides and isolates, line
 * separators): printable to wcwidth, but they let a server disguise what
 * the operator reads, so they are shown by name too. */
static bool cp_is_deceptive(uint32_t cp)
{
    return cp == 0x061c || cp == 0x200e || cp == 0x200f || (cp >= 0x202a && cp <= 0x202e) ||
           (cp >= 0x2066 && cp <= 0x2069) || cp == 0x2028 || cp == 0x2029 || cp == 0xfeff;
}

char *text_inert(const char *text)
{
    if (!text)
        return xstrdup("");
    const unsigned char *s = (const unsigned char *)text;
    size_t n = strlen(text);
    struct buf out = BUF_INIT;
    buf_reserve(&out, n);
    buf_reset(&out);            /* reserve leaves the text unterminated */
    size_t i = 0;
    while (i < n) {
        uint32_t cp;
        size_t len = utf8_decode(s + i, n - i, &cp);
        if (len == 0) {
            buf_printf(&out, "\\x%02X", s[i]);
            i++;
            continue;
        }
        if (cp < 0x20) {
            buf_putc(&out, '^');
            buf_putc(&out, (char)(cp + 0x40));
        } else if (cp == 0x7f) {
            buf_puts(&out, "^?");
        } else if (cp < 0x7f) {
            buf_putc(&out, (char)cp);
        } else if ((cp >= 0x80 && cp < 0xa0) || cp_is_deceptive(cp) || cp_width(cp) < 0) {
            buf_printf(&out, "<U+%04X>", (unsigned)cp);
        } else {
            buf_append(&out, s + i, len);
        }
        i += len;
    }
    return buf_detach(&out);
}

int text_width(const char *inert)
{
    if (!inert)
        return 0;
    const unsigned char *s = (const unsigned char *)inert;
    size_t n = strlen(inert);
    int cols = 0;
    size_t i = 0;
    while (i < n) {
        uint32_t cp;
        size_t len = utf8_decode(s + i, n - i, &cp);
        if (len == 0) {           /* not inert after all: count as "\xNN" */
            cols += 4;
            i++;
            continue;
        }
        int w = cp_width(cp);
        cols += w > 0 ? w : 0;
        i += len;
    }
    return cols;
}

int text_fit(const char *inert, int max_cols, int ellipsis, char *out, size_t out_size)
{
    if (out_size == 0)
        return 0;
    out[0] = '\0';
    if (!inert || max_cols <= 0)
        return 0;
    const unsigned char *s = (const unsigned char *)inert;
    size_t n = strlen(inert);
    bool cut = text_width(inert) > max_cols;
    /* "…" takes one column and three bytes. */
    int budget = cut && ellipsis ? max_cols - 1 : max_cols;
    size_t room = out_size - 1 - (cut && ellipsis ? 3 : 0);
    if (cut && ellipsis && out_size < 4) {
        budget = max_cols;
        room = out_size - 1;
        ellipsis = 0;
    }
    int cols = 0;
    size_t o = 0, i = 0;
    while (i < n) {
        uint32_t cp;
        size_t len = utf8_decode(s + i, n - i, &cp);
        if (len == 0)
            break;                /* callers pass inert text; stop at anything else */
        int w = cp_width(cp);
        if (w < 0)
            w = 0;
        if (cols + w > budget || o + len > room)
            break;
        memcpy(out + o, s + i, len);
        o += len;
        cols += w;
        i += len;
    }
    if (i < n && cut && ellipsis && budget >= 0) {
        memcpy(out + o, "\xe2\x80\xa6", 3);
        o += 3;
        cols += 1;
    }
    out[o] = '\0';
    return cols;
}
