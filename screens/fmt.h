/* Numbers and times as the console and the command line both show them,
 * so that a load's size or a landing time reads the same in either. */
#ifndef LAKEOP_FMT_H
#define LAKEOP_FMT_H

#include <stdbool.h>
#include <stddef.h>

/* "512 B", "1.5 KiB", "12.0 MiB", "1.25 GiB"; "unknown" when n < 0. */
void fmt_size(long long n, char *out, size_t size);

/* Unix time t in local time, "2024-01-01 09:00" or with seconds
 * "2024-01-01 09:00:05"; none when t <= 0 (or it cannot be shown). */
void fmt_local_time(long long t, bool seconds, const char *none, char *out, size_t size);

/* "4.2s", "3m05s", "1h02m"; "-" when negative (unknown). */
void fmt_duration(double secs, char *out, size_t size);

#endif
