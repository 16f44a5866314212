/* Tenant-zone wall-clock times → UTC, from the TZ database's files
 * (core/tzfile.h): no TZ/tzset, so console workers may call it at once. */
#include "tzfile.h"
#include "zuora.h"

enum lk_status zuora_tenant_to_utc(const char *tz, long long naive, long long *utc_out,
                                   struct lk_error *err)
{
    if (!tz || !*tz)
        tz = "America/Los_Angeles";
    struct tzfile *z = NULL;
    struct lk_error lerr;
    err_clear(&lerr);
    /* An unknown zone must not pass as UTC: that would hide a typo behind
     * a 7-hour surprise. */
    enum lk_status st = tzfile_load(tz, &z, &lerr);
    if (st == LK_USAGE)
        return err_set(err, LK_USAGE, "unknown time zone '%s' in zuora.timezone (expected a TZ database "
                       "name such as America/Los_Angeles or UTC)", tz);
    if (st != LK_OK) {
        if (err)
            *err = lerr;
        return st;
    }
    *utc_out = tzfile_local_to_utc(z, naive);
    tzfile_free(z);
    return LK_OK;
}
