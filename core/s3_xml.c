/* A small XML reader for S3 answers (core/s3_xml.h).  The document is read
 * into a little tree first and queried afterwards: pages are at most a few
 * hundred kilobytes, and a tree makes "cut short" and "malformed" easy to
 * tell apart from "absent". */
#include "s3_xml.h"

#include <ctype.h>
#include <curl/curl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "buf.h"
#include "mem.h"

/* Deeper than any S3 document; bounds the work a hostile answer can cause. */
#define XML_MAX_DEPTH 64

struct xnode {
    char *qname;            /* as written, for matching the end tag */
    const char *name;       /* local name: after any "prefix:" */
    struct buf text;        /* decoded text directly inside */
    struct xnode *parent, *first, *last, *next;
};

static void xnode_free(struct xnode *n)
{
    while (n) {
        struct xnode *next = n->next;
        xnode_free(n->first);
        free(n->qname);
        buf_free(&n->text);
        free(n);
        n = next;
    }
}

static const struct xnode *xnode_child(const struct xnode *n, const char *name)
{
    for (const struct xnode *c = n ? n->first : NULL; c; c = c->next)
        if (strcmp(c->name, name) == 0)
            return c;
    return NULL;
}

/* The text of a child element, or NULL when there is no such child. */
static const char *xnode_child_text(const struct xnode *n, const char *name)
{
    const struct xnode *c = xnode_child(n, name);
    return c ? buf_cstr((struct buf *)&c->text) : NULL;
}

static void put_utf8(struct buf *b, uint32_t cp)
{
    char out[4];
    size_t n;
    if (cp < 0x80) {
        out[0] = (char)cp;
        n = 1;
    } else if (cp < 0x800) {
        out[0] = (char)(0xC0 | (cp >> 6));
        out[1] = (char)(0x80 | (cp & 0x3F));
        n = 2;
    } else if (cp < 0x10000) {
        out[0] = (char)(0xE0 | (cp >> 12));
        out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        out[2] = (char)(0x80 | (cp & 0x3F));
        n = 3;
    } else {
        out[0] = (char)(0xF0 | (cp >> 18));
        out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
        out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
        out[3] = (char)(0x80 | (cp & 0x3F));
        n = 4;
    }
    buf_append(b, out, n);
}

/* Appends the decoded text to b; false on a malformed reference or a NUL. */
static bool decode_into(struct buf *b, const char *text, size_t len)
{
    size_t i = 0;
    while (i < len) {
        const char *amp = memchr(text + i, '&', len - i);
        size_t run = amp ? (size_t)(amp - (text + i)) : len - i;
        if (memchr(text + i, '\0', run))
            return false;
        buf_append(b, text + i, run);
        i += run;
        if (!amp)
            break;
        const char *semi = memchr(amp, ';', len - i < 12 ? len - i : 12);
        if (!semi)
            return false;
        const char *ent = amp + 1;
        size_t elen = (size_t)(semi - ent);
#define ENT(s) (elen == sizeof(s) - 1 && memcmp(ent, s, elen) == 0)
        if (ENT("amp")) {
            buf_putc(b, '&');
        } else if (ENT("lt")) {
            buf_putc(b, '<');
        } else if (ENT("gt")) {
            buf_putc(b, '>');
        } else if (ENT("quot")) {
            buf_putc(b, '"');
        } else if (ENT("apos")) {
            buf_putc(b, '\'');
        } else if (elen >= 2 && ent[0] == '#') {
            bool hex = ent[1] == 'x' || ent[1] == 'X';
            const char *digits = ent + (hex ? 2 : 1);
            if (digits == semi)
                return false;
            uint32_t cp = 0;
            for (const char *d = digits; d < semi; d++) {
                int v;
                if (*d >= '0' && *d <= '9')
                    v = *d - '0';
                else if (hex && *d >= 'a' && *d <= 'f')
                    v = *d - 'a' + 10;
                else if (hex && *d >= 'A' && *d <= 'F')
                    v = *d - 'A' + 10;
                else
                    return false;
                cp = cp * (hex ? 16u : 10u) + (uint32_t)v;
                if (cp > 0x10FFFF)
                    return false;
            }
            /* NUL would end a C string early; surrogates are not characters. */
            if (cp == 0 || (cp >= 0xD800 && cp <= 0xDFFF))
                return false;
            put_utf8(b, cp);
        } else {
            return false;
        }
#undef ENT
        i = (size_t)(semi - text) + 1;
    }
    return true;
}

char *s3_xml_decode(const char *text, size_t len)
{
    struct buf b = BUF_INIT;
    if (!decode_into(&b, text, len)) {
        buf_free(&b);
        return NULL;
    }
    if (!b.data)
        return xstrdup("");
    return buf_detach(&b);
}

char *s3_xml_escape(const char *text)
{
    struct buf b = BUF_INIT;
    for (const char *p = text ? text : ""; *p; p++) {
        switch (*p) {
        case '&': buf_puts(&b, "&amp;"); break;
        case '<': buf_puts(&b, "&lt;"); break;
        case '>': buf_puts(&b, "&gt;"); break;
        case '"': buf_puts(&b, "&quot;"); break;
        case '\'': buf_puts(&b, "&apos;"); break;
        default: buf_putc(&b, *p); break;
        }
    }
    if (!b.data)
        return xstrdup("");
    return buf_detach(&b);
}

static bool is_space_only(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (!isspace((unsigned char)s[i]))
            return false;
    return true;
}

static bool name_start(unsigned char c)
{
    return isalpha(c) || c == '_' || c == ':' || c >= 0x80;
}

static bool name_char(unsigned char c)
{
    return name_start(c) || isdigit(c) || c == '-' || c == '.';
}

/* Parses a whole document; NULL with why filled when it is not one. */
static struct xnode *xml_parse(const char *s, size_t len, char *why, size_t why_size)
{
    struct xnode *root = NULL, *cur = NULL;
    bool root_closed = false;
    int depth = 0;
    size_t i = 0;
#define FAIL(...) do { snprintf(why, why_size, __VA_ARGS__); goto fail; } while (0)
    while (i < len) {
        if (s[i] != '<') {
            const char *lt = memchr(s + i, '<', len - i);
            size_t run = lt ? (size_t)(lt - (s + i)) : len - i;
            if (!cur) {
                if (!is_space_only(s + i, run))
                    FAIL("text outside the document's element");
            } else if (!decode_into(&cur->text, s + i, run)) {
                FAIL("malformed character reference in <%s>", cur->qname);
            }
            i += run;
            continue;
        }
        const char *rest = s + i;
        size_t left = len - i;
        if (left >= 2 && rest[1] == '?') {
            const char *end = memmem(rest, left, "?>", 2);
            if (!end)
                FAIL("cut short inside a processing instruction");
            i = (size_t)(end - s) + 2;
        } else if (left >= 4 && memcmp(rest, "<!--", 4) == 0) {
            const char *end = memmem(rest + 4, left - 4, "-->", 3);
            if (!end)
                FAIL("cut short inside a comment");
            i = (size_t)(end - s) + 3;
        } else if (left >= 9 && memcmp(rest, "<![CDATA[", 9) == 0) {
            const char *end = memmem(rest + 9, left - 9, "]]>", 3);
            if (!end)
                FAIL("cut short inside CDATA");
            if (!cur)
                FAIL("CDATA outside the document's element");
            buf_append(&cur->text, rest + 9, (size_t)(end - rest - 9));
            i = (size_t)(end - s) + 3;
        } else if (left >= 2 && rest[1] == '!') {
            const char *end = memchr(rest, '>', left);
            if (!end)
                FAIL("cut short inside a declaration");
            i = (size_t)(end - s) + 1;
        } else if (left >= 2 && rest[1] == '/') {
            const char *end = memchr(rest, '>', left);
            if (!end)
                FAIL("cut short inside an end tag");
            size_t nlen = (size_t)(end - rest - 2);
            while (nlen && isspace((unsigned char)rest[2 + nlen - 1]))
                nlen--;
            if (!cur)
                FAIL("end tag </%.*s> without a start tag", (int)(nlen > 64 ? 64 : nlen), rest + 2);
            if (strlen(cur->qname) != nlen || memcmp(cur->qname, rest + 2, nlen) != 0)
                FAIL("<%s> is closed by </%.*s>", cur->qname, (int)(nlen > 64 ? 64 : nlen), rest + 2);
            cur = cur->parent;
            depth--;
            if (!cur)
                root_closed = true;
            i = (size_t)(end - s) + 1;
        } else {
            size_t p = 1;
            if (p >= left || !name_start((unsigned char)rest[p]))
                FAIL("'<' that starts no element");
            while (p < left && name_char((unsigned char)rest[p]))
                p++;
            size_t nend = p;
            /* Skip attributes; quoted values may hold '>' or '/'. */
            bool self_closing = false, closed = false;
            while (p < left) {
                char c = rest[p];
                if (c == '"' || c == '\'') {
                    const char *q = memchr(rest + p + 1, c, left - p - 1);
                    if (!q)
                        break;
                    p = (size_t)(q - rest) + 1;
                } else if (c == '>') {
                    closed = true;
                    break;
                } else if (c == '/' && p + 1 < left && rest[p + 1] == '>') {
                    self_closing = true;
                    closed = true;
                    p++;
                    break;
                } else {
                    p++;
                }
            }
            if (!closed)
                FAIL("cut short inside a start tag");
            if (root_closed)
                FAIL("a second element after the document's element");
            if (depth >= XML_MAX_DEPTH)
                FAIL("elements nested deeper than %d", XML_MAX_DEPTH);
            struct xnode *n = xcalloc(1, sizeof *n);
            n->qname = xstrndup(rest + 1, nend - 1);
            const char *colon = strrchr(n->qname, ':');
            n->name = colon ? colon + 1 : n->qname;
            buf_init(&n->text);
            n->parent = cur;
            if (cur) {
                if (cur->last)
                    cur->last->next = n;
                else
                    cur->first = n;
                cur->last = n;
            } else {
                root = n;
            }
            if (self_closing) {
                if (!cur)
                    root_closed = true;
            } else {
                cur = n;
                depth++;
            }
            i += p + 1;
        }
    }
    if (!root)
        FAIL("no element at all");
    if (cur)
        FAIL("cut short: <%s> is never closed", cur->qname);
    return root;
#undef FAIL
fail:
    xnode_free(root);
    return NULL;
}

bool s3_xml_error_parse(const char *xml, size_t len, struct s3_xml_error *out)
{
    memset(out, 0, sizeof *out);
    if (!xml || !len)
        return false;
    char why[256];
    struct xnode *root = xml_parse(xml, len, why, sizeof why);
    if (!root)
        return false;
    bool is_error = strcmp(root->name, "Error") == 0;
    if (is_error) {
        out->code = xstrdup(xnode_child_text(root, "Code"));
        out->message = xstrdup(xnode_child_text(root, "Message"));
        out->request_id = xstrdup(xnode_child_text(root, "RequestId"));
    }
    xnode_free(root);
    return is_error;
}

void s3_xml_error_free(struct s3_xml_error *e)
{
    if (!e)
        return;
    xfree(&e->code);
    xfree(&e->message);
    xfree(&e->request_id);
}

/* Parses a document that should have root element `want`; an <Error> root
 * or anything malformed becomes LK_FAIL naming `what`. */
static struct xnode *parse_expecting(const char *xml, size_t len, const char *want,
                                     const char *what, struct lk_error *err)
{
    /* Some servers (moto) name the root "…Response" where S3 says "…Result". */
    size_t wlen = strlen(want);
    bool alt_ok = wlen > 6 && strcmp(want + wlen - 6, "Result") == 0;
    char why[256];
    struct xnode *root = xml_parse(xml ? xml : "", xml ? len : 0, why, sizeof why);
    if (!root) {
        err_set(err, LK_FAIL, "the S3 server sent a malformed %s (%s)", what, why);
        return NULL;
    }
    if (strcmp(root->name, "Error") == 0) {
        const char *code = xnode_child_text(root, "Code");
        err_set(err, LK_FAIL, "the S3 server answered the %s with an error", what);
        err_remote(err, 0, code, xnode_child_text(root, "Message"),
                   xnode_child_text(root, "RequestId"));
        if (err)
            err->retryable = code && (strcmp(code, "InternalError") == 0 || strcmp(code, "SlowDown") == 0 ||
                                      strcmp(code, "ServiceUnavailable") == 0 ||
                                      strcmp(code, "RequestTimeout") == 0);
        xnode_free(root);
        return NULL;
    }
    bool alt = alt_ok && strncmp(root->name, want, wlen - 6) == 0 &&
               strcmp(root->name + wlen - 6, "Response") == 0;
    if (strcmp(root->name, want) != 0 && !alt) {
        err_set(err, LK_FAIL, "the S3 server sent <%.64s> where a %s (<%s>) was expected",
                root->qname, what, want);
        xnode_free(root);
        return NULL;
    }
    return root;
}

static bool parse_ll(const char *text, long long *out)
{
    if (!text)
        return false;
    while (isspace((unsigned char)*text))
        text++;
    char *end;
    long long v = strtoll(text, &end, 10);
    if (end == text || v < 0)
        return false;
    while (isspace((unsigned char)*end))
        end++;
    if (*end)
        return false;
    *out = v;
    return true;
}

static bool text_is(const char *text, const char *word)
{
    if (!text)
        return false;
    while (isspace((unsigned char)*text))
        text++;
    size_t n = strlen(word);
    if (strncmp(text, word, n) != 0)
        return false;
    return is_space_only(text + n, strlen(text + n));
}

enum lk_status s3_xml_list_parse(const char *xml, size_t len, struct s3_xml_list *out,
                                 struct lk_error *err)
{
    memset(out, 0, sizeof *out);
    struct xnode *root = parse_expecting(xml, len, "ListBucketResult", "listing", err);
    if (!root)
        return LK_FAIL;
    size_t cap = 0;
    for (const struct xnode *c = root->first; c; c = c->next) {
        if (strcmp(c->name, "Contents") != 0)
            continue;
        const char *key = xnode_child_text(c, "Key");
        long long size;
        if (!key || !*key) {
            err_set(err, LK_FAIL, "the S3 server sent a listing entry without a <Key>");
            goto fail;
        }
        if (!parse_ll(xnode_child_text(c, "Size"), &size)) {
            err_set(err, LK_FAIL, "the S3 server sent a listing entry without a valid <Size>");
            goto fail;
        }
        if (out->n_objects == cap) {
            cap = cap ? cap * 2 : 64;
            out->objects = xrealloc(out->objects, cap * sizeof *out->objects);
        }
        struct s3_xml_object *o = &out->objects[out->n_objects++];
        o->key = xstrdup(key);
        o->size = size;
        const char *lm = xnode_child_text(c, "LastModified");
        o->mtime = lm ? s3_time_iso8601(lm) : -1;
        o->etag = xstrdup(xnode_child_text(c, "ETag"));
    }
    const char *trunc = xnode_child_text(root, "IsTruncated");
    out->truncated = text_is(trunc, "true");
    if (trunc && !out->truncated && !text_is(trunc, "false")) {
        err_set(err, LK_FAIL, "the S3 server sent a listing with a malformed <IsTruncated>");
        goto fail;
    }
    const char *token = xnode_child_text(root, "NextContinuationToken");
    out->next_token = token && *token ? xstrdup(token) : NULL;
    xnode_free(root);
    return LK_OK;
fail:
    xnode_free(root);
    s3_xml_list_free(out);
    return LK_FAIL;
}

void s3_xml_list_free(struct s3_xml_list *l)
{
    if (!l)
        return;
    for (size_t i = 0; i < l->n_objects; i++) {
        free(l->objects[i].key);
        free(l->objects[i].etag);
    }
    free(l->objects);
    free(l->next_token);
    memset(l, 0, sizeof *l);
}

/* The text of one child of a document with root `want`, required non-empty. */
static enum lk_status single_field(const char *xml, size_t len, const char *want, const char *field,
                                   const char *what, char **out, struct lk_error *err)
{
    *out = NULL;
    struct xnode *root = parse_expecting(xml, len, want, what, err);
    if (!root)
        return LK_FAIL;
    const char *text = xnode_child_text(root, field);
    if (!text || !*text) {
        xnode_free(root);
        return err_set(err, LK_FAIL, "the S3 server sent a %s without <%s>", what, field);
    }
    *out = xstrdup(text);
    xnode_free(root);
    return LK_OK;
}

enum lk_status s3_xml_upload_id(const char *xml, size_t len, char **out, struct lk_error *err)
{
    return single_field(xml, len, "InitiateMultipartUploadResult", "UploadId",
                        "multipart upload start", out, err);
}

enum lk_status s3_xml_complete_etag(const char *xml, size_t len, char **out, struct lk_error *err)
{
    return single_field(xml, len, "CompleteMultipartUploadResult", "ETag",
                        "multipart upload completion", out, err);
}

enum lk_status s3_xml_copy_etag(const char *xml, size_t len, char **out, struct lk_error *err)
{
    return single_field(xml, len, "CopyObjectResult", "ETag", "copy result", out, err);
}

long long s3_time_iso8601(const char *text)
{
    if (!text)
        return -1;
    int y, mo, d, h, mi, s, n = 0;
    if (sscanf(text, "%4d-%2d-%2dT%2d:%2d:%2d%n", &y, &mo, &d, &h, &mi, &s, &n) != 6 || n != 19)
        return -1;
    const char *rest = text + n;
    if (*rest == '.') {
        rest++;
        if (!isdigit((unsigned char)*rest))
            return -1;
        while (isdigit((unsigned char)*rest))
            rest++;
    }
    if (strcmp(rest, "Z") != 0 && strcmp(rest, "+00:00") != 0)
        return -1;
    if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 60)
        return -1;
    struct tm tm = { .tm_year = y - 1900, .tm_mon = mo - 1, .tm_mday = d,
                     .tm_hour = h, .tm_min = mi, .tm_sec = s };
    return (long long)timegm(&tm);
}

long long s3_time_http(const char *text)
{
    if (!text || !*text)
        return -1;
    time_t t = curl_getdate(text, NULL);
    return t == (time_t)-1 ? -1 : (long long)t;
}
