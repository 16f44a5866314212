/* Shared number and time formatting (fmt.h). */
#include "fmt.h"

#include <stdio.h>
#include <time.h>

void fmt_size(long long n, char *out, size_t size)
{
    if (n < 0)
        snprintf(out, size, "unknown");
    else if (n < 1024)
        snprintf(out, size, "%lld B", n);
    else if (n < 1024 * 1024)
        snprintf(out, size, "%.1f KiB", (double)n / 1024);
    else if (n < 1024LL * 1024 * 1024)
        snprintf(out, size, "%.1f MiB", (double)n / (1024 * 1024));
    else
        snprintf(out, size, "%.2f GiB", (double)n / (1024.0 * 1024 * 1024));
}

void fmt_local_time(long long t, bool seconds, const char *none, char *out, size_t size)
{
    time_t tt = (time_t)t;
    struct tm tm;
    size_t n = 0;
    if (t > 0 && localtime_r(&tt, &tm))
        n = seconds ? strftime(out, size, "%Y-%m-%d %H:%M:%S", &tm)
                    : strftime(out, size, "%Y-%m-%d %H:%M", &tm);
    if (!n)
        snprintf(out, size, "%s", none);
}

void fmt_duration(double secs, char *out, size_t size)
{
    if (secs < 0) {
        snprintf(out, size, "-");
        return;
    }
    long long s = (long long)(secs + 0.5);
    if (s < 60)
        snprintf(out, size, "%.1fs", secs);
    else if (s < 3600)
        snprintf(out, size, "%lldm%02llds", s / 60, s % 60);
    else
        snprintf(out, size, "%lldh%02lldm", s / 3600, s / 60 % 60);
}
