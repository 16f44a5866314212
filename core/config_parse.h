/* The lexical layer of the configuration file (private to config.c): one
 * logical line in, one classified line out.  It knows the shapes of lines
 * (section header, key = value, bind), not which keys exist. */
#ifndef LAKEOP_CONFIG_PARSE_H
#define LAKEOP_CONFIG_PARSE_H

#include <stdio.h>

enum cfg_line_kind {
    CFG_LINE_BLANK,     /* empty or a comment */
    CFG_LINE_SECTION,   /* [kind "name"] or [kind] */
    CFG_LINE_KEYVAL,    /* key = value */
    CFG_LINE_BIND,      /* bind SCREEN KEY ACTION */
    CFG_LINE_ERROR,
};

struct cfg_line {
    enum cfg_line_kind kind;
    char *section;      /* SECTION: "env", "object", ... */
    char *name;         /* SECTION: the quoted name, NULL when absent */
    char *key;          /* KEYVAL */
    char *value;        /* KEYVAL: unquoted, comment removed; "" when empty */
    char *words[3];     /* BIND */
    char error[256];    /* ERROR: what was expected */
};

/* Classifies one logical line (no trailing newline). */
void cfg_lex(const char *text, struct cfg_line *out);
void cfg_line_free(struct cfg_line *line);

/* Reads the next logical line: a line ending in a backslash continues on
 * the next one.  *lineno is advanced to the first physical line of what was
 * read.  Returns NULL at the end; the caller frees. */
char *cfg_read_line(FILE *f, int *lineno, int *next_lineno);

#endif
