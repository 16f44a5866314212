/* Small helpers over jansson for reading remote JSON strictly: a field of
 * the wrong type is an error that names the field, never a crash or a
 * silent zero.  Prefix jx_ (jansson owns json_). */
#ifndef LAKEOP_JSON_H
#define LAKEOP_JSON_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "buf.h"
#include "err.h"

/* Parses text; on failure LK_FAIL "WHO sent malformed JSON (reason, line L
 * column C)".  The caller json_decref()s *out. */
enum lk_status jx_parse(const char *text, size_t len, const char *who, json_t **out,
                        struct lk_error *err);

/* "a string", "a number", "null", ... for messages. */
const char *jx_type_name(const json_t *value);

/* Field readers.  A missing field (or null) gives LK_OK with the default
 * when !required, LK_FAIL "WHERE has no field 'KEY'" when required; a field
 * of another type gives LK_FAIL "field 'KEY' of WHERE is a number, expected
 * a string".  Strings are borrowed from obj (valid while obj lives). */
enum lk_status jx_string(const json_t *obj, const char *key, bool required, const char *where,
                         const char **out, struct lk_error *err);
enum lk_status jx_int(const json_t *obj, const char *key, bool required, const char *where,
                      long long dflt, long long *out, struct lk_error *err);
enum lk_status jx_bool(const json_t *obj, const char *key, bool required, const char *where,
                       int dflt /* -1 = absent */, int *out, struct lk_error *err);

/* Compact text of a value (caller frees). */
char *jx_dump(const json_t *value);

/* Appends value as a JSON string literal (quotes and escapes) to b. */
void jx_buf_string(struct buf *b, const char *value);

#endif
