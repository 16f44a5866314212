#include "csvcheck.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <zlib.h>

#include "buf.h"
#include "mem.h"

/* The header row is kept in memory to be compared with the schema; a
 * "header" longer than this is a file that is not what it claims to be. */
#define HEADER_MAX (1024 * 1024)
#define ZOUT_SIZE (256 * 1024)

enum pstate {
    P_FIELD_START,
    P_UNQUOTED,
    P_QUOTED,
    P_QUOTE_SEEN,   /* csv: a '"' inside a quoted field: "" or the closing quote */
    P_AFTER_QUOTE,  /* the closing quote: only a delimiter or a record end may follow */
    P_ESCAPE,       /* redshift: the byte after a backslash is data */
};

struct csvcheck {
    enum csvcheck_dialect dialect;
    unsigned char delim;
    char **columns;
    size_t n_columns;
    long long min_records;

    bool gzip;
    bool z_ready;
    bool z_end;
    z_stream z;
    unsigned char *zout;

    int bom_len;            /* bytes held while deciding whether the file starts with a BOM; -1 decided */
    unsigned char bom[3];

    int u_need;             /* UTF-8 continuation bytes still expected */
    unsigned char u_lo, u_hi;
    unsigned char u_seq[4]; /* the character so far, for the message */
    int u_len;

    enum pstate st, esc_ret;
    bool skip_lf;
    bool rec_started;
    long long fields;       /* fields completed in the current record */
    long long records;      /* records completed, the header included */
    long long line;         /* current physical line, 1-based */
    long long rec_line;     /* line the current record started on */
    long long quote_line;
    long long expected;     /* fields per record; -1 until known */
    bool header_done;

    struct buf field;       /* the header field being read */
    char **hdr;
    size_t n_hdr, cap_hdr;
    size_t hdr_bytes;

    bool failed;
    char msg[1024];
    long long bytes_in, bytes_out;

    unsigned char stop_unq[256];
    unsigned char stop_q[256];
};

static const char *const DIALECT_NAMES[] = { "csv", "redshift-unload" };

bool csvcheck_dialect_parse(const char *text, enum csvcheck_dialect *out)
{
    for (size_t i = 0; i < sizeof DIALECT_NAMES / sizeof DIALECT_NAMES[0]; i++)
        if (text && strcmp(text, DIALECT_NAMES[i]) == 0) {
            *out = (enum csvcheck_dialect)i;
            return true;
        }
    return false;
}

const char *csvcheck_dialect_name(enum csvcheck_dialect d)
{
    return (unsigned)d < sizeof DIALECT_NAMES / sizeof DIALECT_NAMES[0] ? DIALECT_NAMES[d] : "?";
}

static bool ends_with_ci(const char *s, size_t len, const char *suffix)
{
    size_t n = strlen(suffix);
    return len >= n && strncasecmp(s + len - n, suffix, n) == 0;
}

/* Redshift names its UNLOAD output PREFIX0000_part_00 (PARALLEL ON). */
static bool is_unload_part(const char *s, size_t len)
{
    size_t i = len;
    while (i > 0 && s[i - 1] >= '0' && s[i - 1] <= '9')
        i--;
    return i < len && ends_with_ci(s, i, "_part_");
}

enum lk_status csvcheck_check_name(const char *name, enum csvcheck_dialect d, bool *gzip,
                                   struct lk_error *err)
{
    const char *base = strrchr(name, '/');
    base = base ? base + 1 : name;
    size_t len = strlen(base);
    bool gz = ends_with_ci(base, len, ".gz");
    if (gz)
        len -= 3;
    if (gzip)
        *gzip = gz;
    if (ends_with_ci(base, len, ".csv") || ends_with_ci(base, len, ".txt"))
        return LK_OK;
    if (d == CSVCHECK_REDSHIFT && is_unload_part(base, len))
        return LK_OK;
    return err_set(err, LK_FAIL, "the file name '%s' does not have an extension of the %s dialect "
                   "(expected %s)", base, csvcheck_dialect_name(d),
                   d == CSVCHECK_CSV ? ".csv, .csv.gz, .txt or .txt.gz"
                                     : ".csv, .txt, NAME_part_NN (optionally .gz)");
}

static void fail(struct csvcheck *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void fail(struct csvcheck *c, const char *fmt, ...)
{
    if (c->failed)
        return;
    c->failed = true;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->msg, sizeof c->msg, fmt, ap);
    va_end(ap);
}

static long long header_rows(const struct csvcheck *c)
{
    return c->dialect == CSVCHECK_CSV ? 1 : 0;
}

/* The number people see: data records count from 1 after the header. */
static long long record_no(const struct csvcheck *c)
{
    return c->records - header_rows(c) + 1;
}

static bool in_header(const struct csvcheck *c)
{
    return c->dialect == CSVCHECK_CSV && !c->header_done;
}

static void where(const struct csvcheck *c, char *out, size_t size)
{
    if (in_header(c))
        snprintf(out, size, "the header (line %lld)", c->rec_line);
    else
        snprintf(out, size, "record %lld (line %lld)", record_no(c), c->rec_line);
}

enum lk_status csvcheck_open(const struct csvcheck_opts *opts, struct csvcheck **out,
                             struct lk_error *err)
{
    bool gz = false;
    enum lk_status st = csvcheck_check_name(opts->name ? opts->name : "", opts->dialect, &gz, err);
    if (st != LK_OK)
        return st;
    struct csvcheck *c = xcalloc(1, sizeof *c);
    c->dialect = opts->dialect;
    c->delim = opts->dialect == CSVCHECK_CSV ? ',' : '|';
    c->min_records = opts->min_records;
    if (opts->n_columns > 0) {
        c->columns = xcalloc(opts->n_columns, sizeof *c->columns);
        for (size_t i = 0; i < opts->n_columns; i++)
            c->columns[i] = xstrdup(opts->columns[i]);
        c->n_columns = opts->n_columns;
    }
    c->expected = (c->dialect == CSVCHECK_REDSHIFT && c->n_columns > 0) ? (long long)c->n_columns : -1;
    c->gzip = gz;
    c->line = 1;
    c->rec_line = 1;
    c->st = P_FIELD_START;
    buf_init(&c->field);

    c->stop_unq[c->delim] = 1;
    c->stop_unq['\n'] = 1;
    c->stop_unq['\r'] = 1;
    c->stop_q['"'] = 1;
    c->stop_q['\n'] = 1;
    if (c->dialect == CSVCHECK_REDSHIFT) {
        c->stop_unq['\\'] = 1;
        c->stop_q['\\'] = 1;
    }

    if (gz) {
        if (inflateInit2(&c->z, 16 + MAX_WBITS) != Z_OK) {
            csvcheck_free(c);
            return err_set(err, LK_FAIL, "cannot start the gzip decoder");
        }
        c->z_ready = true;
        c->zout = xmalloc(ZOUT_SIZE);
    }
    *out = c;
    return LK_OK;
}

static void hdr_push(struct csvcheck *c)
{
    if (c->n_hdr == c->cap_hdr) {
        c->cap_hdr = c->cap_hdr ? 2 * c->cap_hdr : 16;
        c->hdr = xrealloc(c->hdr, c->cap_hdr * sizeof *c->hdr);
    }
    c->hdr[c->n_hdr++] = xstrdup(buf_cstr(&c->field));
    buf_reset(&c->field);
}

static void hdr_byte(struct csvcheck *c, unsigned char ch)
{
    if (++c->hdr_bytes > HEADER_MAX) {
        fail(c, "the header is longer than %d bytes: not a header row", HEADER_MAX);
        return;
    }
    buf_putc(&c->field, (char)ch);
}

static bool name_in(const char *name, char *const *list, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (strcasecmp(name, list[i]) == 0)
            return true;
    return false;
}

static void check_header(struct csvcheck *c)
{
    for (size_t i = 0; i < c->n_hdr; i++)
        for (size_t j = 0; j < i; j++)
            if (strcasecmp(c->hdr[i], c->hdr[j]) == 0) {
                fail(c, "the header names the column '%s' twice (columns %zu and %zu)", c->hdr[i],
                     j + 1, i + 1);
                return;
            }
    if (c->n_columns == 0)
        return;
    struct buf missing = BUF_INIT, extra = BUF_INIT;
    size_t n_missing = 0, n_extra = 0;
    for (size_t i = 0; i < c->n_columns; i++)
        if (!name_in(c->columns[i], c->hdr, c->n_hdr)) {
            buf_printf(&missing, "%s%s", n_missing++ ? ", " : "", c->columns[i]);
        }
    for (size_t i = 0; i < c->n_hdr; i++)
        if (!name_in(c->hdr[i], c->columns, c->n_columns)) {
            buf_printf(&extra, "%s%s", n_extra++ ? ", " : "", c->hdr[i]);
        }
    if (n_missing && n_extra)
        fail(c, "the header does not match the schema: missing column%s %s; extra column%s %s",
             n_missing > 1 ? "s" : "", buf_cstr(&missing), n_extra > 1 ? "s" : "", buf_cstr(&extra));
    else if (n_missing)
        fail(c, "the header does not match the schema: missing column%s %s", n_missing > 1 ? "s" : "",
             buf_cstr(&missing));
    else if (n_extra)
        fail(c, "the header does not match the schema: extra column%s %s", n_extra > 1 ? "s" : "",
             buf_cstr(&extra));
    else
        for (size_t i = 0; i < c->n_hdr; i++)
            if (strcasecmp(c->hdr[i], c->columns[i]) != 0) {
                fail(c, "the header has the schema's columns in another order: column %zu is '%s', "
                     "the schema has '%s'", i + 1, c->hdr[i], c->columns[i]);
                break;
            }
    buf_free(&missing);
    buf_free(&extra);
}

static void end_field(struct csvcheck *c)
{
    c->fields++;
    if (in_header(c))
        hdr_push(c);
}

static void end_record(struct csvcheck *c)
{
    end_field(c);
    if (in_header(c)) {
        check_header(c);
        c->expected = (long long)c->n_hdr;
        c->header_done = true;
    } else if (c->expected < 0) {
        c->expected = c->fields;   /* no schema, no header: every record like the first */
    } else if (c->fields != c->expected) {
        char w[96];
        where(c, w, sizeof w);
        fail(c, "%s has %lld field%s, expected %lld (%s)", w, c->fields, c->fields == 1 ? "" : "s",
             c->expected, c->fields < c->expected ? "a short record" : "too many fields");
    }
    c->records++;
    c->fields = 0;
    c->rec_started = false;
    c->st = P_FIELD_START;
}

/* Skips to the next byte that stop marks (or the end); inside the header
 * every byte passed is kept for the schema check. */
static inline const unsigned char *scan_to(struct csvcheck *c, const unsigned char *p,
                                           const unsigned char *end,
                                           const unsigned char *stop, bool hdr)
{
    if (hdr) {
        while (p < end && !stop[*p] && !c->failed)
            hdr_byte(c, *p++);
    } else {
        while (p < end && !stop[*p])
            p++;
    }
    return p;
}

/* A delimiter or a record end closes the field (and perhaps the record);
 * false for any other byte, which the caller's state judges. */
static inline bool field_end(struct csvcheck *c, unsigned char ch)
{
    if (ch == c->delim) {
        end_field(c);
        c->st = P_FIELD_START;
    } else if (ch == '\n') {
        end_record(c);
        c->line++;
    } else if (ch == '\r') {
        end_record(c);
        c->line++;
        c->skip_lf = true;
    } else {
        return false;
    }
    return true;
}

/* The parser proper: stops at the first problem. */
static void parse(struct csvcheck *c, const unsigned char *p, size_t n)
{
    const unsigned char *end = p + n;
    while (p < end && !c->failed) {
        unsigned char ch;
        bool hdr = in_header(c);
        switch (c->st) {
        case P_FIELD_START:
            ch = *p;
            if (c->skip_lf) {
                c->skip_lf = false;
                if (ch == '\n') {
                    p++;
                    continue;
                }
            }
            if (!c->rec_started) {
                c->rec_started = true;
                c->rec_line = c->line;
            }
            if (ch == '"') {
                c->st = P_QUOTED;
                c->quote_line = c->line;
                p++;
            } else {
                c->st = P_UNQUOTED;
            }
            break;
        case P_UNQUOTED:
            p = scan_to(c, p, end, c->stop_unq, hdr);
            if (p == end || c->failed)
                break;
            ch = *p++;
            if (!field_end(c, ch)) {   /* backslash */
                c->esc_ret = P_UNQUOTED;
                c->st = P_ESCAPE;
            }
            break;
        case P_QUOTED:
            p = scan_to(c, p, end, c->stop_q, hdr);
            if (p == end || c->failed)
                break;
            ch = *p++;
            if (ch == '\n') {
                c->line++;
                if (hdr)
                    hdr_byte(c, ch);
            } else if (ch == '"') {
                c->st = c->dialect == CSVCHECK_CSV ? P_QUOTE_SEEN : P_AFTER_QUOTE;
            } else {
                c->esc_ret = P_QUOTED;
                c->st = P_ESCAPE;
            }
            break;
        case P_QUOTE_SEEN:
            if (*p == '"') {
                if (hdr)
                    hdr_byte(c, '"');
                p++;
                c->st = P_QUOTED;
            } else {
                c->st = P_AFTER_QUOTE;
            }
            break;
        case P_AFTER_QUOTE:
            ch = *p++;
            if (!field_end(c, ch)) {
                char w[96];
                where(c, w, sizeof w);
                if (ch >= 0x20 && ch < 0x7f)
                    fail(c, "%s: unexpected '%c' after a closing quote (a quote inside a quoted "
                         "field must be %s)", w, ch, c->dialect == CSVCHECK_CSV ? "doubled" : "escaped");
                else
                    fail(c, "%s: unexpected byte 0x%02X after a closing quote", w, ch);
            }
            break;
        case P_ESCAPE:
            ch = *p++;
            if (ch == '\n')
                c->line++;
            if (hdr)
                hdr_byte(c, ch);
            c->st = c->esc_ret;
            break;
        }
    }
}

/* Index of the first byte that is not valid UTF-8 in p[0..n), or n. */
static size_t utf8_scan(struct csvcheck *c, const unsigned char *p, size_t n)
{
    size_t i = 0;
    while (i < n) {
        if (c->u_need == 0) {
            /* Most data is ASCII: skip it eight bytes at a time. */
            while (i + 8 <= n) {
                unsigned long long w;
                memcpy(&w, p + i, 8);
                if (w & 0x8080808080808080ULL)
                    break;
                i += 8;
            }
            if (i >= n)
                break;
            unsigned char b = p[i];
            if (b < 0x80) {
                i++;
                continue;
            }
            if (b >= 0xC2 && b <= 0xDF) {
                c->u_need = 1; c->u_lo = 0x80; c->u_hi = 0xBF;
            } else if (b == 0xE0) {
                c->u_need = 2; c->u_lo = 0xA0; c->u_hi = 0xBF;
            } else if ((b >= 0xE1 && b <= 0xEC) || b == 0xEE || b == 0xEF) {
                c->u_need = 2; c->u_lo = 0x80; c->u_hi = 0xBF;
            } else if (b == 0xED) {
                c->u_need = 2; c->u_lo = 0x80; c->u_hi = 0x9F;   /* no surrogates */
            } else if (b == 0xF0) {
                c->u_need = 3; c->u_lo = 0x90; c->u_hi = 0xBF;
            } else if (b >= 0xF1 && b <= 0xF3) {
                c->u_need = 3; c->u_lo = 0x80; c->u_hi = 0xBF;
            } else if (b == 0xF4) {
                c->u_need = 3; c->u_lo = 0x80; c->u_hi = 0x8F;
            } else {
                c->u_len = 0;
                return i;
            }
            c->u_seq[0] = b;
            c->u_len = 1;
            i++;
        } else {
            unsigned char b = p[i];
            if (b < c->u_lo || b > c->u_hi)
                return i;
            c->u_seq[c->u_len++] = b;
            c->u_need--;
            c->u_lo = 0x80;
            c->u_hi = 0xBF;
            i++;
        }
    }
    return n;
}

static void plain(struct csvcheck *c, const unsigned char *p, size_t n)
{
    c->bytes_out += (long long)n;
    size_t bad = utf8_scan(c, p, n);
    parse(c, p, bad);
    if (bad < n && !c->failed) {
        char w[96];
        where(c, w, sizeof w);
        char seq[40] = "";
        size_t used = 0;
        for (int k = 0; k < c->u_len && c->u_need > 0; k++)
            used += (size_t)snprintf(seq + used, sizeof seq - used, "0x%02X ", c->u_seq[k]);
        snprintf(seq + used, sizeof seq - used, "0x%02X", p[bad]);
        fail(c, "%s contains bytes that are not UTF-8 (%s at byte %lld of the data)", w, seq,
             c->bytes_out - (long long)(n - bad) + 1);
    }
}

static const unsigned char BOM[3] = { 0xEF, 0xBB, 0xBF };

/* Decompressed bytes arrive here: the BOM is decided on the first three. */
static void text_in(struct csvcheck *c, const unsigned char *p, size_t n)
{
    while (c->bom_len >= 0 && n > 0) {
        if (*p != BOM[c->bom_len]) {
            int held = c->bom_len;
            c->bom_len = -1;
            plain(c, c->bom, (size_t)held);
            break;
        }
        c->bom[c->bom_len++] = *p++;
        n--;
        if (c->bom_len == 3) {
            c->bom_len = -1;   /* a BOM: dropped */
            c->bytes_out += 3;
        }
    }
    if (n > 0 && !c->failed)
        plain(c, p, n);
}

static void inflate_in(struct csvcheck *c, const unsigned char *p, size_t n)
{
    c->z.next_in = (unsigned char *)p;
    c->z.avail_in = (uInt)n;
    while (!c->failed) {
        if (c->z_end) {
            if (c->z.avail_in == 0)
                return;
            /* Another gzip member follows (concatenated .gz files are valid). */
            inflateReset(&c->z);
            c->z_end = false;
        }
        c->z.next_out = c->zout;
        c->z.avail_out = ZOUT_SIZE;
        int ret = inflate(&c->z, Z_NO_FLUSH);
        size_t produced = ZOUT_SIZE - c->z.avail_out;
        if (produced > 0)
            text_in(c, c->zout, produced);
        if (ret == Z_STREAM_END) {
            c->z_end = true;
            continue;
        }
        if (ret == Z_BUF_ERROR || (ret == Z_OK && c->z.avail_in == 0 && c->z.avail_out > 0))
            return;
        if (ret != Z_OK) {
            fail(c, "not valid gzip data after %lld compressed bytes (zlib: %s)",
                 c->bytes_in - (long long)c->z.avail_in, c->z.msg ? c->z.msg : "data error");
            return;
        }
    }
}

enum lk_status csvcheck_feed(struct csvcheck *c, const void *data, size_t len, struct lk_error *err)
{
    if (!c->failed) {
        /* zlib counts in uInt: feed it in pieces it can take. */
        const unsigned char *p = data;
        while (len > 0 && !c->failed) {
            size_t n = len > (1u << 30) ? (1u << 30) : len;
            c->bytes_in += (long long)n;
            if (c->gzip)
                inflate_in(c, p, n);
            else
                text_in(c, p, n);
            p += n;
            len -= n;
        }
    }
    if (c->failed)
        return err_set(err, LK_FAIL, "%s", c->msg);
    return LK_OK;
}

enum lk_status csvcheck_finish(struct csvcheck *c, struct csvcheck_result *res, struct lk_error *err)
{
    if (!c->failed && c->gzip && !c->z_end) {
        if (c->bytes_in == 0)
            fail(c, "empty file: no gzip data");
        else
            fail(c, "gzip data truncated: the stream ends after %lld compressed bytes without its end",
                 c->bytes_in);
    }
    if (!c->failed && c->bom_len > 0) {
        int held = c->bom_len;
        c->bom_len = -1;
        plain(c, c->bom, (size_t)held);
    }
    if (!c->failed && c->u_need > 0) {
        char w[96];
        where(c, w, sizeof w);
        fail(c, "%s: the file ends in the middle of a UTF-8 character (bytes that are not UTF-8)", w);
    }
    bool open_line = c->rec_started || c->st != P_FIELD_START;
    if (!c->failed) {
        if (c->st == P_QUOTED || (c->st == P_ESCAPE && c->esc_ret == P_QUOTED)) {
            if (in_header(c))
                fail(c, "unterminated quote: the quoted field that starts in the header (line %lld) "
                     "never ends", c->quote_line);
            else
                fail(c, "unterminated quote: the quoted field that starts in record %lld (line %lld) "
                     "never ends", record_no(c), c->quote_line);
        } else if (c->st == P_ESCAPE) {
            fail(c, "the file ends with a backslash that escapes nothing (line %lld)", c->line);
        } else if (c->rec_started || c->fields > 0 || c->st != P_FIELD_START) {
            end_record(c);   /* no final newline */
        }
    }
    if (!c->failed && c->dialect == CSVCHECK_CSV && !c->header_done)
        fail(c, "empty file: no header row");
    long long data_records = c->records - (c->header_done ? header_rows(c) : 0);
    if (!c->failed && data_records < c->min_records)
        fail(c, "%lld data record%s%s, expected at least %lld", data_records,
             data_records == 1 ? "" : "s",
             data_records == 0 && c->dialect == CSVCHECK_CSV ? " (a header only)" : "", c->min_records);
    if (res) {
        res->records = data_records < 0 ? 0 : data_records;
        res->lines = open_line ? c->line : c->line - 1;
        res->bytes_in = c->bytes_in;
        res->bytes_out = c->bytes_out;
        res->gzip = c->gzip;
    }
    if (c->failed)
        return err_set(err, LK_FAIL, "%s", c->msg);
    return LK_OK;
}

bool csvcheck_failed(const struct csvcheck *c)
{
    return c->failed;
}

void csvcheck_free(struct csvcheck *c)
{
    if (!c)
        return;
    if (c->z_ready)
        inflateEnd(&c->z);
    free(c->zout);
    for (size_t i = 0; i < c->n_columns; i++)
        free(c->columns[i]);
    free(c->columns);
    for (size_t i = 0; i < c->n_hdr; i++)
        free(c->hdr[i]);
    free(c->hdr);
    buf_free(&c->field);
    free(c);
}
