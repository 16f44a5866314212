#include "json.h"

#include <stdlib.h>
#include <string.h>

#include "mem.h"

enum lk_status jx_parse(const char *text, size_t len, const char *who, json_t **out,
                        struct lk_error *err)
{
    json_error_t je;
    *out = NULL;
    if (!text || len == 0)
        return err_set(err, LK_FAIL, "%s sent malformed JSON (an empty body)", who);
    json_t *v = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
    if (!v)
        return err_set(err, LK_FAIL, "%s sent malformed JSON (%s, line %d column %d)", who, je.text,
                       je.line, je.column);
    *out = v;
    return LK_OK;
}

const char *jx_type_name(const json_t *value)
{
    switch (value ? json_typeof(value) : JSON_NULL) {
    case JSON_OBJECT: return "an object";
    case JSON_ARRAY: return "an array";
    case JSON_STRING: return "a string";
    case JSON_INTEGER: return "an integer";
    case JSON_REAL: return "a number";
    case JSON_TRUE:
    case JSON_FALSE: return "a boolean";
    default: return "null";
    }
}

static enum lk_status missing(bool required, const char *key, const char *where, struct lk_error *err)
{
    if (!required)
        return LK_OK;
    return err_set(err, LK_FAIL, "%s has no field '%s'", where, key);
}

static enum lk_status wrong(const json_t *v, const char *key, const char *where, const char *expected,
                            struct lk_error *err)
{
    return err_set(err, LK_FAIL, "field '%s' of %s is %s, expected %s", key, where, jx_type_name(v),
                   expected);
}

enum lk_status jx_string(const json_t *obj, const char *key, bool required, const char *where,
                         const char **out, struct lk_error *err)
{
    *out = NULL;
    const json_t *v = json_object_get(obj, key);
    if (!v || json_is_null(v))
        return missing(required, key, where, err);
    if (!json_is_string(v))
        return wrong(v, key, where, "a string", err);
    *out = json_string_value(v);
    return LK_OK;
}

enum lk_status jx_int(const json_t *obj, const char *key, bool required, const char *where,
                      long long dflt, long long *out, struct lk_error *err)
{
    *out = dflt;
    const json_t *v = json_object_get(obj, key);
    if (!v || json_is_null(v))
        return missing(required, key, where, err);
    if (json_is_integer(v)) {
        *out = json_integer_value(v);
        return LK_OK;
    }
    if (json_is_real(v)) {
        double d = json_real_value(v);
        if (d == (double)(long long)d) {
            *out = (long long)d;
            return LK_OK;
        }
    }
    return wrong(v, key, where, "an integer", err);
}

enum lk_status jx_bool(const json_t *obj, const char *key, bool required, const char *where,
                       int dflt, int *out, struct lk_error *err)
{
    *out = dflt;
    const json_t *v = json_object_get(obj, key);
    if (!v || json_is_null(v))
        return missing(required, key, where, err);
    if (!json_is_boolean(v))
        return wrong(v, key, where, "true or false", err);
    *out = json_is_true(v) ? 1 : 0;
    return LK_OK;
}

char *jx_dump(const json_t *value)
{
    char *text = json_dumps(value, JSON_COMPACT | JSON_ENCODE_ANY);
    char *copy = xstrdup(text ? text : "null");
    free(text);
    return copy;
}

void jx_buf_string(struct buf *b, const char *value)
{
    json_t *s = json_string(value ? value : "");
    char *text = s ? json_dumps(s, JSON_ENCODE_ANY) : NULL;
    buf_puts(b, text ? text : "\"\"");
    free(text);
    json_decref(s);
}
