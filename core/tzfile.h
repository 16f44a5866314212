/* Time zones from the TZ database's compiled files (RFC 8536, TZif), read
 * directly, so that converting a time never touches the process's TZ
 * variable: setenv/tzset/mktime are not safe while other threads (console
 * workers) read the environment or call localtime.
 *
 * A zone is the version 2+ 64-bit transition table plus the footer's POSIX
 * TZ string ("PST8PDT,M3.2.0,M11.1.0"), which rules every instant after the
 * last transition (slim files have few or no transitions at all).  A
 * version 1 file is read from its 32-bit table.  "UTC", "GMT", "Etc/UTC"
 * and "Etc/GMT" need no file. */
#ifndef LAKEOP_TZFILE_H
#define LAKEOP_TZFILE_H

#include <stddef.h>

#include "err.h"

struct tzfile;

/* NAME under $TZDIR or /usr/share/zoneinfo ("America/Los_Angeles").  A
 * name with "..", a leading '/', or no such TZif file: LK_USAGE. */
enum lk_status tzfile_load(const char *name, struct tzfile **out, struct lk_error *err);
/* From a file's bytes (tests, or a caller that read it itself); name is
 * only for messages.  Malformed: LK_FAIL. */
enum lk_status tzfile_parse(const char *name, const unsigned char *data, size_t len,
                            struct tzfile **out, struct lk_error *err);
void tzfile_free(struct tzfile *z);

/* The file tzfile_load reads for NAME: the first of $TZDIR/NAME and
 * /usr/share/zoneinfo/NAME that exists, else the last tried.  NULL for a
 * zone that needs no file (UTC) or a name that is not one.  Caller frees. */
char *tzfile_path(const char *name);

/* Seconds east of UTC in force at a UTC instant. */
long tzfile_offset_at(const struct tzfile *z, long long utc);

/* The UTC instant of a wall-clock time in the zone (local: the wall clock
 * read as if it were UTC, as zuora_parse_time gives it).  A time that
 * occurs twice (the hour repeated when clocks go back) is the first of
 * the two; a time that never occurs (the hour skipped when clocks go
 * forward) is read with the offset in force before the change, so 02:30
 * on a spring-forward night is 03:30 in the new offset, as mktime() does. */
long long tzfile_local_to_utc(const struct tzfile *z, long long local);

#endif
