/* Exact RFC 4180 record counting over a stream fed in arbitrary chunks.
 *
 * A record ends at a newline outside quotes; a quote toggles the quoted
 * state (a doubled quote toggles twice, so it cancels out), which is all a
 * counter needs: the scan looks at '"', '\n' and '\r' 64 bytes at a time
 * and never runs a byte-by-byte state machine.
 *
 * Rules:
 *  - a UTF-8 byte order mark at the very start is skipped;
 *  - the first non-empty row is the header, not a record;
 *  - empty lines ("" or "\r" between two newlines) are not records, as in
 *    libcsv, Python's csv and Spark;
 *  - the last record needs no final newline;
 *  - a stream that ends inside a quoted field is an error.
 * A quote in the middle of an unquoted field (not RFC 4180) is read as the
 * start of a quoted section; Zuora always quotes fields that contain one. */
#ifndef LAKEOP_CSVCOUNT_H
#define LAKEOP_CSVCOUNT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "err.h"

/* The longest header csvcount keeps (keep_header); longer ones are an error
 * of csvcount_finish(). */
#define CSVCOUNT_HEADER_MAX (1024 * 1024)

struct csvcount {
    long long rows;            /* non-empty rows completed (header included) */
    long long bytes;           /* bytes fed, byte order mark included */
    long long header_end;      /* offset just past the header's newline; -1 until seen */
    unsigned bom_len;          /* 3 when a byte order mark was skipped */

    /* scanner state, carried from one 64-byte block to the next */
    uint64_t in_quotes;        /* all ones while inside a quoted field */
    unsigned term1, term2;     /* a row ended 1 / 2 bytes before the block (or the start) */
    unsigned cr1;              /* the byte before the block was '\r' */
    long long since_term;      /* bytes since the last row end */
    bool last_cr;              /* the last byte scanned was '\r' */
    unsigned bom_state;        /* 0..2 bytes of a byte order mark matched; 4 decided */
    unsigned char pend[64];    /* a partial block waiting for more bytes */
    size_t npend;
    long long scanned;         /* bytes scanned after the byte order mark */

    bool keep_header;
    bool header_too_long;
    struct buf header;         /* the header row's bytes, newline included (keep_header) */
};

/* keep_header: keep the header row's bytes for csvcount_header(). */
void csvcount_init(struct csvcount *c, bool keep_header);
void csvcount_free(struct csvcount *c);

void csvcount_feed(struct csvcount *c, const void *data, size_t len);

/* Records seen so far (complete rows after the header): for progress. */
long long csvcount_records(const struct csvcount *c);

/* Ends the stream: *records_out = records (an empty file and a header alone
 * are 0).  LK_FAIL when the stream ends inside a quoted field, or when
 * keep_header was asked and the header is longer than CSVCOUNT_HEADER_MAX. */
enum lk_status csvcount_finish(struct csvcount *c, long long *records_out, struct lk_error *err);

/* The header row (byte order mark excluded, line end included) once
 * header_end >= 0 and keep_header was asked; NULL otherwise. */
const char *csvcount_header(const struct csvcount *c, size_t *len);

/* One call for a whole buffer. */
enum lk_status csvcount_buffer(const void *data, size_t len, long long *records_out,
                               struct lk_error *err);

#endif
