#include "err.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void err_clear(struct lk_error *err)
{
    if (err)
        memset(err, 0, sizeof *err);
}

static void copy_field(char *dst, size_t size, const char *src)
{
    if (!src) {
        dst[0] = '\0';
        return;
    }
    if (snprintf(dst, size, "%s", src) < 0)
        dst[0] = '\0';
}

enum lk_status err_set(struct lk_error *err, enum lk_status status, const char *fmt, ...)
{
    if (!err)
        return status;
    err->status = status;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->message, sizeof err->message, fmt, ap);
    va_end(ap);
    return status;
}

void err_remote(struct lk_error *err, long http_status, const char *code,
                const char *message, const char *request_id)
{
    if (!err)
        return;
    err->http_status = http_status;
    copy_field(err->remote_code, sizeof err->remote_code, code);
    copy_field(err->remote_message, sizeof err->remote_message, message);
    copy_field(err->request_id, sizeof err->request_id, request_id);
}

void err_prefix(struct lk_error *err, const char *fmt, ...)
{
    if (!err)
        return;
    char prefix[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    char old[sizeof err->message];
    memcpy(old, err->message, sizeof old);
    /* Truncation is acceptable: the message is for people, and its start says most. */
    if (snprintf(err->message, sizeof err->message, "%s: %s", prefix, old) < 0)
        err->message[0] = '\0';
}

const char *err_text(const struct lk_error *err, char *out, size_t out_size)
{
    if (!out_size)
        return out;
    int n = snprintf(out, out_size, "%s", err->message[0] ? err->message : "unknown error");
    bool any_remote = err->http_status || err->remote_code[0] || err->remote_message[0];
    if (any_remote && n >= 0 && (size_t)n < out_size) {
        size_t used = (size_t)n;
        int m = snprintf(out + used, out_size - used, " (");
        const char *sep = "";
        if (m > 0)
            used += (size_t)m;
        if (err->http_status && used < out_size) {
            m = snprintf(out + used, out_size - used, "HTTP %ld", err->http_status);
            if (m > 0)
                used += (size_t)m;
            sep = " ";
        }
        if (err->remote_code[0] && used < out_size) {
            m = snprintf(out + used, out_size - used, "%s%s", sep, err->remote_code);
            if (m > 0)
                used += (size_t)m;
            sep = ": ";
        } else if (err->http_status) {
            sep = ": ";
        }
        if (err->remote_message[0] && used < out_size) {
            m = snprintf(out + used, out_size - used, "%s%s", sep, err->remote_message);
            if (m > 0)
                used += (size_t)m;
        }
        if (err->request_id[0] && used < out_size) {
            m = snprintf(out + used, out_size - used, "; request id %s", err->request_id);
            if (m > 0)
                used += (size_t)m;
        }
        if (used < out_size)
            snprintf(out + used, out_size - used, ")");
    }
    return out;
}

void err_hide_secret(char *text, const char *secret)
{
    size_t len = secret ? strlen(secret) : 0;
    if (!len)
        return;
    char *hit = text;
    while ((hit = strstr(hit, secret)) != NULL) {
        if (len >= 4) {
            memcpy(hit, "****", 4);
            memmove(hit + 4, hit + len, strlen(hit + len) + 1);
            hit += 4;
        } else {
            memset(hit, '*', len);
            hit += len;
        }
    }
}
