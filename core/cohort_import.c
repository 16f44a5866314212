/* cohort-import: a cohort file in the export format (ZUORA.md) read into
 * cohort_items in one transaction.
 *
 * The parser is RFC 4180 (quotes, "" inside quotes, commas and newlines
 * inside quoted fields, LF or CRLF, no final newline needed, a UTF-8 BOM
 * skipped) and counts physical lines, so that every complaint names the
 * line where the record starts.  It reads in fixed chunks: only one record
 * is ever held. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "cohort.h"
#include "db.h"
#include "mem.h"

#define N_COLUMNS (COHORT_N_FIELDS + 1)
/* No honest field is this long; a broken quote could otherwise make one
 * field of the whole file. */
#define MAX_FIELD (1 << 20)

enum pstate { P_START, P_UNQUOTED, P_QUOTED, P_QUOTE_IN_QUOTED };

struct parser {
    enum pstate state;
    struct buf rec;          /* the record's fields, each NUL-terminated */
    size_t *offs;            /* where each field starts in rec */
    size_t n_fields, cap_fields;
    size_t field_start;
    bool any_quoted;         /* the record had a quoted field (so it is not a blank line) */
    bool after_cr;
    long long line;          /* the current physical line, from 1 */
    long long rec_line;      /* where the record being read started */
    bool in_record;
};

static void field_end(struct parser *p)
{
    if (p->n_fields == p->cap_fields) {
        p->cap_fields = p->cap_fields ? p->cap_fields * 2 : 32;
        p->offs = xrealloc(p->offs, p->cap_fields * sizeof *p->offs);
    }
    buf_putc(&p->rec, '\0');
    p->offs[p->n_fields++] = p->field_start;
    p->field_start = p->rec.len;
}

static void record_reset(struct parser *p)
{
    buf_reset(&p->rec);
    p->n_fields = 0;
    p->field_start = 0;
    p->any_quoted = false;
    p->in_record = false;
}

static const char *field(const struct parser *p, size_t i)
{
    return p->rec.data + p->offs[i];
}

struct import_state {
    const char *name;
    const char *path;
    struct parser p;
    long long records;       /* records seen, the header included */
    struct cohort_upsert *up;
};

static enum lk_status check_header(struct import_state *s, struct lk_error *err)
{
    const struct parser *p = &s->p;
    char want[N_COLUMNS][64];
    snprintf(want[0], sizeof want[0], "cohort_name");
    for (int i = 0; i < COHORT_N_FIELDS; i++)
        snprintf(want[i + 1], sizeof want[i + 1], "%s", COHORT_FIELDS[i].column);
    size_t n = p->n_fields < N_COLUMNS ? p->n_fields : N_COLUMNS;
    for (size_t i = 0; i < n; i++) {
        if (strcmp(field(p, i), want[i]) == 0)
            continue;
        char got[200];
        cohort_value_shown(field(p, i), got, sizeof got);
        /* A column left out shows as the next one arriving early. */
        if (i + 1 < N_COLUMNS && strcmp(field(p, i), want[i + 1]) == 0)
            return err_set(err, LK_USAGE,
                           "%s: the header lacks column %zu '%s' (it has '%s' there); the "
                           "header must be exactly the export's: %.*s",
                           s->path, i + 1, want[i], got, (int)strlen(COHORT_CSV_HEADER) - 1,
                           COHORT_CSV_HEADER);
        return err_set(err, LK_USAGE,
                       "%s: header column %zu is '%s', expected '%s'; the header must be "
                       "exactly the export's: %.*s",
                       s->path, i + 1, got, want[i], (int)strlen(COHORT_CSV_HEADER) - 1,
                       COHORT_CSV_HEADER);
    }
    if (p->n_fields < N_COLUMNS)
        return err_set(err, LK_USAGE, "%s: the header has %zu columns, expected %d: '%s' and after are missing",
                       s->path, p->n_fields, N_COLUMNS, want[p->n_fields]);
    if (p->n_fields > N_COLUMNS) {
        char extra[200];
        cohort_value_shown(field(p, N_COLUMNS), extra, sizeof extra);
        return err_set(err, LK_USAGE, "%s: the header has %zu columns, expected %d: '%s' is extra",
                       s->path, p->n_fields, N_COLUMNS, extra);
    }
    return LK_OK;
}

static enum lk_status on_record(struct import_state *s, struct lk_error *err)
{
    struct parser *p = &s->p;
    /* An empty line is no record (a final blank line is common). */
    if (p->n_fields == 1 && !p->any_quoted && field(p, 0)[0] == '\0')
        return LK_OK;
    s->records++;
    if (s->records == 1)
        return check_header(s, err);
    if (p->n_fields != N_COLUMNS)
        return err_set(err, LK_FAIL, "%s line %lld: %zu fields, expected %d", s->path, p->rec_line,
                       p->n_fields, N_COLUMNS);
    if (strcmp(field(p, 0), s->name) != 0) {
        char got[200];
        cohort_value_shown(field(p, 0), got, sizeof got);
        return err_set(err, LK_FAIL, "%s line %lld: cohort_name is '%s', expected '%s'", s->path,
                       p->rec_line, got, s->name);
    }
    struct cohort_item it;
    for (int f = 0; f < COHORT_N_FIELDS; f++) {
        const char *v = field(p, (size_t)f + 1);
        it.v[f] = *v ? v : NULL;
    }
    if (cohort_upsert_add(s->up, &it, p->rec_line, err) != LK_OK) {
        err_prefix(err, "%s line %lld", s->path, p->rec_line);
        return LK_FAIL;
    }
    return LK_OK;
}

static enum lk_status end_record(struct import_state *s, struct lk_error *err)
{
    field_end(&s->p);
    enum lk_status st = on_record(s, err);
    record_reset(&s->p);
    s->p.state = P_START;
    return st;
}

static enum lk_status feed(struct import_state *s, const char *data, size_t len, struct lk_error *err)
{
    struct parser *p = &s->p;
    for (size_t i = 0; i < len; i++) {
        char c = data[i];
        if (p->after_cr) {
            p->after_cr = false;
            if (c == '\n')
                continue;   /* CRLF: the line was counted at the CR */
        }
        if (!p->in_record) {
            p->in_record = true;
            p->rec_line = p->line;
        }
        bool eol = c == '\n' || c == '\r';
        switch (p->state) {
        case P_START:
            if (c == '"') {
                p->state = P_QUOTED;
                p->any_quoted = true;
                continue;
            }
            if (c == ',') {
                field_end(p);
                continue;
            }
            if (!eol) {
                buf_putc(&p->rec, c);
                p->state = P_UNQUOTED;
                continue;
            }
            break;
        case P_UNQUOTED:
            if (c == ',') {
                field_end(p);
                p->state = P_START;
                continue;
            }
            if (c == '"')
                return err_set(err, LK_FAIL,
                               "%s line %lld: a quote inside an unquoted field (quote the whole "
                               "field and double the quote)",
                               s->path, p->line);
            if (!eol) {
                buf_putc(&p->rec, c);
                continue;
            }
            break;
        case P_QUOTED:
            if (c == '"') {
                p->state = P_QUOTE_IN_QUOTED;
            } else {
                buf_putc(&p->rec, c);
                if (c == '\n')
                    p->line++;
            }
            if (p->rec.len - p->field_start > MAX_FIELD)
                return err_set(err, LK_FAIL,
                               "%s line %lld: a field longer than 1 MiB (is a quote left open?)",
                               s->path, p->rec_line);
            continue;
        case P_QUOTE_IN_QUOTED:
            if (c == '"') {
                buf_putc(&p->rec, '"');
                p->state = P_QUOTED;
                continue;
            }
            if (c == ',') {
                field_end(p);
                p->state = P_START;
                continue;
            }
            if (!eol)
                return err_set(err, LK_FAIL, "%s line %lld: '%c' after a closing quote", s->path,
                               p->line, c >= 0x20 && c < 0x7f ? c : '?');
            break;
        }
        /* End of line outside quotes: the record ends. */
        p->line++;
        p->after_cr = c == '\r';
        if (end_record(s, err) != LK_OK)
            return LK_FAIL;
    }
    if (p->state == P_UNQUOTED && p->rec.len - p->field_start > MAX_FIELD)
        return err_set(err, LK_FAIL, "%s line %lld: a field longer than 1 MiB", s->path, p->rec_line);
    return LK_OK;
}

static enum lk_status finish(struct import_state *s, struct lk_error *err)
{
    struct parser *p = &s->p;
    if (p->state == P_QUOTED)
        return err_set(err, LK_FAIL, "%s line %lld: a quoted field is never closed", s->path,
                       p->rec_line);
    if (p->in_record && (p->rec.len || p->n_fields || p->any_quoted))
        return end_record(s, err);
    return LK_OK;
}

static enum lk_status parse_file(struct import_state *s, FILE *f, struct lk_error *err)
{
    char chunk[65536];
    bool first = true;
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) {
        const char *data = chunk;
        if (first && n >= 3 && memcmp(chunk, "\xEF\xBB\xBF", 3) == 0) {
            data += 3;
            n -= 3;
        }
        first = false;
        if (feed(s, data, n, err) != LK_OK)
            return LK_FAIL;
    }
    if (ferror(f))
        return err_set(err, LK_FAIL, "reading %s: %s", s->path, strerror(errno));
    if (finish(s, err) != LK_OK)
        return LK_FAIL;
    if (s->records == 0)
        return err_set(err, LK_USAGE, "%s is empty: a cohort file starts with the header %.*s",
                       s->path, (int)strlen(COHORT_CSV_HEADER) - 1, COHORT_CSV_HEADER);
    return LK_OK;
}

enum lk_status cohort_import(const struct lk_ctx *ctx, const char *name, const char *path,
                             struct cohort_upsert_result *res, struct lk_error *err)
{
    memset(res, 0, sizeof *res);
    char why[200];
    if (!cohort_name_valid(name, why, sizeof why))
        return err_set(err, LK_USAGE, "cohort name '%.80s': %s", name ? name : "", why);
    FILE *f = fopen(path, "rb");
    if (!f)
        return err_set(err, errno == ENOENT ? LK_NOTFOUND : LK_FAIL, "cannot open %s: %s", path,
                       strerror(errno));
    struct import_state s;
    memset(&s, 0, sizeof s);
    s.name = name;
    s.path = path;
    s.p.line = 1;
    long long id = 0;
    enum lk_status st = db_begin(ctx->db, err);
    if (st == LK_OK)
        st = cohort_ensure(ctx->db, name, NULL, &id, err);
    if (st == LK_OK)
        st = cohort_upsert_open(ctx->db, id, &s.up, err);
    if (st == LK_OK) {
        st = parse_file(&s, f, err);
        if (st == LK_OK)
            st = cohort_upsert_finish(s.up, "line", res, err);
        else
            cohort_upsert_abort(s.up);
    }
    if (st == LK_OK)
        st = db_commit(ctx->db, err);
    else
        db_rollback(ctx->db);
    fclose(f);
    buf_free(&s.p.rec);
    free(s.p.offs);
    return st;
}
