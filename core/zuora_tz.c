/* Tenant-zone wall-clock times → UTC, through the TZ database. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mem.h"
#include "zuora.h"

static bool zone_exists(const char *tz)
{
    if (strcmp(tz, "UTC") == 0 || strcmp(tz, "GMT") == 0)
        return true;
    if (strstr(tz, "..") || tz[0] == '/')
        return false;
    const char *dirs[] = { getenv("TZDIR"), "/usr/share/zoneinfo", NULL };
    for (size_t i = 0; i < 2; i++) {
        if (!dirs[i])
            continue;
        char path[512];
        snprintf(path, sizeof path, "%s/%s", dirs[i], tz);
        FILE *f = fopen(path, "rb");
        if (f) {
            char magic[4] = { 0 };
            size_t n = fread(magic, 1, 4, f);
            fclose(f);
            if (n == 4 && memcmp(magic, "TZif", 4) == 0)
                return true;
        }
    }
    return false;
}

enum lk_status zuora_tenant_to_utc(const char *tz, long long naive, long long *utc_out,
                                   struct lk_error *err)
{
    if (!tz || !*tz)
        tz = "America/Los_Angeles";
    /* glibc silently treats an unknown zone as UTC: that would hide a typo
     * behind a 7-hour surprise, so check the database first. */
    if (!zone_exists(tz))
        return err_set(err, LK_USAGE, "unknown time zone '%s' in zuora.timezone (expected a TZ database "
                       "name such as America/Los_Angeles or UTC)", tz);
    if (strcmp(tz, "UTC") == 0 || strcmp(tz, "GMT") == 0 || strcmp(tz, "Etc/UTC") == 0) {
        /* The EU tenant's zone needs no TZ juggling. */
        *utc_out = naive;
        return LK_OK;
    }
    time_t t = (time_t)naive;
    struct tm fields;
    gmtime_r(&t, &fields);
    fields.tm_isdst = -1;

    const char *old = getenv("TZ");
    char *saved = old ? xstrdup(old) : NULL;
    setenv("TZ", tz, 1);
    tzset();
    time_t utc = mktime(&fields);
    if (saved)
        setenv("TZ", saved, 1);
    else
        unsetenv("TZ");
    tzset();
    free(saved);
    if (utc == (time_t)-1)
        return err_set(err, LK_FAIL, "cannot place %lld in time zone %s", naive, tz);
    *utc_out = (long long)utc;
    return LK_OK;
}
