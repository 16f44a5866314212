/* Streaming validation of a landed file before it may enter raw-hist.
 *
 * Fed arbitrary chunks of the object as they arrive (no whole-file buffer):
 * gzip is inflated on the fly, a UTF-8 BOM is skipped, the header is checked
 * against the dataset's columns, every record's field count is checked, and
 * the bytes must be UTF-8.  The first problem stops the check; its message
 * names the problem and, for record-level problems, the record number (data
 * records count from 1 after the header) and the physical line.
 *
 * Dialects:
 *   csv              RFC 4180: a header row, ',' delimiter, '"' quotes with
 *                    "" inside, LF or CRLF (a bare CR also ends a record),
 *                    quoted newlines, the final newline optional.
 *   redshift-unload  UNLOAD ... DELIMITER '|' NULL AS '\N' ESCAPE ADDQUOTES:
 *                    no header (columns by position), '|' delimiter, a
 *                    backslash escapes the next byte (delimiter, newline,
 *                    quote, backslash; "\N" is NULL), '"' quotes a field.
 *
 * Header names are compared with the schema case-insensitively (Glue and
 * Athena fold names to lower case; Qlik writes them in upper case); order
 * matters, because the lake reads CSV columns by position. */
#ifndef LAKEOP_CSVCHECK_H
#define LAKEOP_CSVCHECK_H

#include <stdbool.h>
#include <stddef.h>

#include "err.h"

enum csvcheck_dialect { CSVCHECK_CSV, CSVCHECK_REDSHIFT };

struct csvcheck_opts {
    const char *name;                /* object key or file name: its extension decides gzip */
    enum csvcheck_dialect dialect;
    const char *const *columns;      /* the schema's column names; NULL/0: only consistency */
    size_t n_columns;
    long long min_records;           /* fewer data records is an error */
};

struct csvcheck_result {
    long long records;               /* data records (the header excluded) */
    long long lines;                 /* physical lines, quoted newlines included */
    long long bytes_in;              /* as fed (compressed when gzip) */
    long long bytes_out;             /* after inflating */
    bool gzip;
};

struct csvcheck;

/* "csv" or "redshift-unload"; false for anything else. */
bool csvcheck_dialect_parse(const char *text, enum csvcheck_dialect *out);
const char *csvcheck_dialect_name(enum csvcheck_dialect d);

/* The extensions each dialect accepts (case-insensitive):
 *   csv:             .csv  .csv.gz  .txt  .txt.gz
 *   redshift-unload: the same, and UNLOAD's own part names (..._part_00,
 *                    ..._part_00.gz, 0000_part_00)
 * LK_FAIL with a message naming the name and what was expected otherwise. */
enum lk_status csvcheck_check_name(const char *name, enum csvcheck_dialect d, bool *gzip,
                                   struct lk_error *err);

/* Checks the name first (LK_FAIL when it does not fit the dialect). */
enum lk_status csvcheck_open(const struct csvcheck_opts *opts, struct csvcheck **out,
                             struct lk_error *err);

/* LK_FAIL once the data is known to be invalid (err says why); every later
 * feed returns LK_FAIL with the same message. */
enum lk_status csvcheck_feed(struct csvcheck *c, const void *data, size_t len, struct lk_error *err);

/* End of input: truncation, unterminated quotes, the header of an empty file
 * and the minimum of records are checked here.  res may be NULL. */
enum lk_status csvcheck_finish(struct csvcheck *c, struct csvcheck_result *res, struct lk_error *err);

/* True once a feed or finish found the data invalid. */
bool csvcheck_failed(const struct csvcheck *c);

void csvcheck_free(struct csvcheck *c);

#endif
