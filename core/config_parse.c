/* Lines of the configuration file: git-config style, kept deliberately
 * small (see config_parse.h and lakeop.conf(5)). */
#include "config_parse.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "buf.h"
#include "mem.h"

static const char *skip_space(const char *p)
{
    while (*p == ' ' || *p == '\t')
        p++;
    return p;
}

static bool at_comment_or_end(const char *p)
{
    p = skip_space(p);
    return *p == '\0' || *p == '#';
}

/* A quoted string starting at *p (on the opening quote): \" \\ \n \t are
 * the escapes.  Advances *p past the closing quote; NULL when unterminated
 * or an escape is unknown. */
static char *lex_quoted(const char **p, char *why, size_t why_size)
{
    struct buf b = BUF_INIT;
    const char *s = *p + 1;
    for (;;) {
        if (*s == '\0') {
            snprintf(why, why_size, "unterminated quoted string (a closing \" is missing)");
            buf_free(&b);
            return NULL;
        }
        if (*s == '"')
            break;
        if (*s == '\\') {
            s++;
            switch (*s) {
            case '"': buf_putc(&b, '"'); break;
            case '\\': buf_putc(&b, '\\'); break;
            case 'n': buf_putc(&b, '\n'); break;
            case 't': buf_putc(&b, '\t'); break;
            default:
                snprintf(why, why_size, "unknown escape in a quoted string (use \\\" \\\\ \\n or \\t)");
                buf_free(&b);
                return NULL;
            }
            s++;
            continue;
        }
        buf_putc(&b, *s++);
    }
    *p = s + 1;
    return buf_detach(&b);
}

/* An unquoted value: up to a '#' that starts the value or follows
 * whitespace, trailing whitespace removed. */
static char *lex_bare(const char *p)
{
    const char *end = p;
    for (const char *s = p; *s; s++) {
        if (*s == '#' && (s == p || s[-1] == ' ' || s[-1] == '\t'))
            break;
        end = s + 1;
    }
    while (end > p && (end[-1] == ' ' || end[-1] == '\t'))
        end--;
    return xstrndup(p, (size_t)(end - p));
}

static void lex_error(struct cfg_line *out, const char *why)
{
    cfg_line_free(out);
    out->kind = CFG_LINE_ERROR;
    snprintf(out->error, sizeof out->error, "%s", why);
}

static void lex_section(const char *p, struct cfg_line *out)
{
    static const char expected[] =
        "malformed section header; expected [env \"NAME\"], [object \"NAME\"], "
        "[dataset \"NAME\"] or [keys]";
    p = skip_space(p + 1);
    const char *w = p;
    while (isalnum((unsigned char)*p) || *p == '_' || *p == '-')
        p++;
    if (p == w) {
        lex_error(out, expected);
        return;
    }
    out->section = xstrndup(w, (size_t)(p - w));
    p = skip_space(p);
    if (*p == '"') {
        char why[200];
        out->name = lex_quoted(&p, why, sizeof why);
        if (!out->name) {
            lex_error(out, expected);
            return;
        }
        p = skip_space(p);
    }
    if (*p != ']' || !at_comment_or_end(p + 1)) {
        lex_error(out, expected);
        return;
    }
    out->kind = CFG_LINE_SECTION;
}

static void lex_bind(const char *p, struct cfg_line *out)
{
    for (int i = 0; i < 3; i++) {
        p = skip_space(p);
        if (*p == '\0' || *p == '#') {
            lex_error(out, "expected: bind SCREEN KEY ACTION");
            return;
        }
        if (*p == '"') {
            char why[200];
            out->words[i] = lex_quoted(&p, why, sizeof why);
            if (!out->words[i]) {
                lex_error(out, why);
                return;
            }
        } else {
            const char *w = p;
            while (*p && *p != ' ' && *p != '\t')
                p++;
            out->words[i] = xstrndup(w, (size_t)(p - w));
        }
    }
    if (!at_comment_or_end(p)) {
        lex_error(out, "expected: bind SCREEN KEY ACTION (nothing after ACTION but a # comment)");
        return;
    }
    out->kind = CFG_LINE_BIND;
}

void cfg_lex(const char *text, struct cfg_line *out)
{
    memset(out, 0, sizeof *out);
    const char *p = skip_space(text);
    if (at_comment_or_end(p)) {
        out->kind = CFG_LINE_BLANK;
        return;
    }
    if (*p == '[') {
        lex_section(p, out);
        return;
    }
    /* "bind = x" would be a key named bind; "bind SCREEN KEY ACTION" a binding. */
    if (strncmp(p, "bind", 4) == 0 && (p[4] == ' ' || p[4] == '\t') && *skip_space(p + 4) != '=') {
        lex_bind(p + 4, out);
        return;
    }
    const char *eq = strchr(p, '=');
    if (!eq) {
        lex_error(out, "expected KEY = VALUE");
        return;
    }
    const char *kend = eq;
    while (kend > p && (kend[-1] == ' ' || kend[-1] == '\t'))
        kend--;
    for (const char *k = p; k < kend; k++) {
        if (*k == ' ' || *k == '\t' || *k == '"') {
            lex_error(out, "expected KEY = VALUE (a key has no spaces or quotes)");
            return;
        }
    }
    if (kend == p) {
        lex_error(out, "expected KEY = VALUE (the key is missing)");
        return;
    }
    out->key = xstrndup(p, (size_t)(kend - p));
    const char *v = skip_space(eq + 1);
    if (*v == '"') {
        char why[200];
        out->value = lex_quoted(&v, why, sizeof why);
        if (!out->value) {
            lex_error(out, why);
            return;
        }
        if (!at_comment_or_end(v)) {
            lex_error(out, "unexpected text after a quoted value");
            return;
        }
    } else {
        out->value = lex_bare(v);
    }
    out->kind = CFG_LINE_KEYVAL;
}

void cfg_line_free(struct cfg_line *line)
{
    xfree(&line->section);
    xfree(&line->name);
    xfree(&line->key);
    xfree(&line->value);
    for (int i = 0; i < 3; i++)
        xfree(&line->words[i]);
}

char *cfg_read_line(FILE *f, int *lineno, int *next_lineno)
{
    struct buf b = BUF_INIT;
    bool any = false;
    *lineno = *next_lineno;
    for (;;) {
        int c = getc(f);
        if (c == EOF) {
            if (!any)
                return NULL;
            (*next_lineno)++;
            break;
        }
        any = true;
        if (c != '\n') {
            buf_putc(&b, (char)c);
            continue;
        }
        (*next_lineno)++;
        if (b.len && b.data[b.len - 1] == '\r')
            b.data[--b.len] = '\0';
        if (b.len && b.data[b.len - 1] == '\\') {
            b.data[--b.len] = '\0';
            continue;
        }
        break;
    }
    if (b.len && b.data[b.len - 1] == '\r')
        b.data[--b.len] = '\0';
    return buf_detach(&b);
}
