/* TZif files (RFC 8536) and their POSIX TZ footer, without TZ/tzset. */
#include "tzfile.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mem.h"

#define TZ_HEADER 44
#define TZ_MAX_COUNT (1u << 20)     /* far above any real zone; bounds the arithmetic */
#define TZ_MAX_FILE (1u << 22)

struct tz_rule {
    char kind;                  /* 'J' (1..365, no Feb 29), 'N' (0..365), 'M' (month.week.day) */
    int month, week, wday, day;
    long time;                  /* seconds after local midnight; may be negative or past 24 h */
};

struct posix_tz {
    long std_off;               /* seconds east of UTC */
    long dst_off;
    bool has_dst;
    struct tz_rule start, end;
};

struct tzfile {
    long long *times;           /* transitions, ascending */
    unsigned char *idx;         /* the type in force from each transition */
    size_t n_times;
    long *offs;                 /* each type's offset east of UTC */
    size_t n_types;
    bool has_footer;
    struct posix_tz footer;
};

/* ---- calendar arithmetic (proleptic Gregorian, days since 1970-01-01) ---- */

static long long days_from_civil(long long y, int m, int d)
{
    y -= m <= 2;
    long long era = (y >= 0 ? y : y - 399) / 400;
    long long yoe = y - era * 400;
    long long doy = (153LL * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    long long doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static long long year_of_days(long long z)
{
    z += 719468;
    long long era = (z >= 0 ? z : z - 146096) / 146097;
    long long doe = z - era * 146097;
    long long yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    long long doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    long long mp = (5 * doy + 2) / 153;
    long long m = mp < 10 ? mp + 3 : mp - 9;
    return yoe + era * 400 + (m <= 2);
}

static bool leap(long long y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static long long floor_div(long long a, long long b)
{
    return a / b - (a % b != 0 && (a < 0) != (b < 0));
}

/* The local date a rule names in year y, as days since the epoch. */
static long long rule_day(const struct tz_rule *r, long long y)
{
    long long jan1 = days_from_civil(y, 1, 1);
    if (r->kind == 'J')
        return jan1 + r->day - 1 + (leap(y) && r->day >= 60);
    if (r->kind == 'N')
        return jan1 + r->day;
    static const int DAYS_IN[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
    long long first = days_from_civil(y, r->month, 1);
    int first_wday = (int)(((first + 4) % 7 + 7) % 7);     /* 1970-01-01 was a Thursday */
    int dim = DAYS_IN[r->month - 1] + (r->month == 2 && leap(y));
    int day = (r->wday - first_wday + 7) % 7 + (r->week - 1) * 7;
    while (day >= dim)
        day -= 7;                 /* week 5: the last such day */
    return first + day;
}

static long posix_offset_at(const struct posix_tz *p, long long utc)
{
    if (!p->has_dst)
        return p->std_off;
    long long y = year_of_days(floor_div(utc + p->std_off, 86400));
    long long start = rule_day(&p->start, y) * 86400 + p->start.time - p->std_off;
    long long end = rule_day(&p->end, y) * 86400 + p->end.time - p->dst_off;
    bool dst = start < end ? utc >= start && utc < end : !(utc >= end && utc < start);
    return dst ? p->dst_off : p->std_off;
}

/* ---- the POSIX TZ string -------------------------------------------------- */

static bool parse_name(const char **s)
{
    const char *p = *s;
    if (*p == '<') {
        const char *close = strchr(p, '>');
        if (!close || close == p + 1)
            return false;
        *s = close + 1;
        return true;
    }
    while ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z'))
        p++;
    if (p - *s < 3)
        return false;
    *s = p;
    return true;
}

static bool parse_num(const char **s, long lo, long hi, long *out)
{
    const char *p = *s;
    long v = 0;
    if (*p < '0' || *p > '9')
        return false;
    while (*p >= '0' && *p <= '9') {
        v = v * 10 + (*p++ - '0');
        if (v > hi)
            return false;
    }
    if (v < lo)
        return false;
    *s = p;
    *out = v;
    return true;
}

/* [+-]hh[:mm[:ss]] in seconds; hours up to max_h. */
static bool parse_hms(const char **s, long max_h, long *out)
{
    const char *p = *s;
    long sign = 1, h, m = 0, sec = 0;
    if (*p == '+' || *p == '-')
        sign = *p++ == '-' ? -1 : 1;
    if (!parse_num(&p, 0, max_h, &h))
        return false;
    if (*p == ':') {
        p++;
        if (!parse_num(&p, 0, 59, &m))
            return false;
        if (*p == ':') {
            p++;
            if (!parse_num(&p, 0, 59, &sec))
                return false;
        }
    }
    *s = p;
    *out = sign * (h * 3600 + m * 60 + sec);
    return true;
}

static bool parse_rule(const char **s, struct tz_rule *r)
{
    const char *p = *s;
    long a, b, c;
    memset(r, 0, sizeof *r);
    if (*p == 'M') {
        p++;
        if (!parse_num(&p, 1, 12, &a) || *p++ != '.' || !parse_num(&p, 1, 5, &b) || *p++ != '.'
            || !parse_num(&p, 0, 6, &c))
            return false;
        r->kind = 'M';
        r->month = (int)a;
        r->week = (int)b;
        r->wday = (int)c;
    } else if (*p == 'J') {
        p++;
        if (!parse_num(&p, 1, 365, &a))
            return false;
        r->kind = 'J';
        r->day = (int)a;
    } else {
        if (!parse_num(&p, 0, 365, &a))
            return false;
        r->kind = 'N';
        r->day = (int)a;
    }
    r->time = 7200;
    if (*p == '/') {
        p++;
        if (!parse_hms(&p, 167, &r->time))   /* RFC 8536 allows -167..167 hours */
            return false;
    }
    *s = p;
    return true;
}

static bool parse_posix(const char *s, struct posix_tz *out)
{
    memset(out, 0, sizeof *out);
    long off;
    if (!parse_name(&s) || !parse_hms(&s, 24, &off))
        return false;
    out->std_off = -off;          /* POSIX counts west of UTC */
    if (!*s)
        return true;
    if (!parse_name(&s))
        return false;
    out->has_dst = true;
    out->dst_off = out->std_off + 3600;
    if (*s && *s != ',') {
        if (!parse_hms(&s, 24, &off))
            return false;
        out->dst_off = -off;
    }
    if (!*s) {
        /* No rule: POSIX leaves it to the implementation; glibc's and
         * zic's default is the US rules. */
        out->start = (struct tz_rule){ .kind = 'M', .month = 3, .week = 2, .wday = 0, .time = 7200 };
        out->end = (struct tz_rule){ .kind = 'M', .month = 11, .week = 1, .wday = 0, .time = 7200 };
        return true;
    }
    if (*s++ != ',' || !parse_rule(&s, &out->start) || *s++ != ',' || !parse_rule(&s, &out->end))
        return false;
    return *s == '\0';
}

/* ---- the TZif file --------------------------------------------------------- */

static uint32_t be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int64_t be64(const unsigned char *p)
{
    return (int64_t)((uint64_t)be32(p) << 32 | be32(p + 4));
}

struct tz_counts {
    uint32_t isut, isstd, leap, time, type, chars;
};

static bool read_counts(const unsigned char *h, struct tz_counts *c)
{
    if (memcmp(h, "TZif", 4) != 0)
        return false;
    c->isut = be32(h + 20);
    c->isstd = be32(h + 24);
    c->leap = be32(h + 28);
    c->time = be32(h + 32);
    c->type = be32(h + 36);
    c->chars = be32(h + 40);
    return c->type >= 1 && c->type <= 256 && c->time < TZ_MAX_COUNT && c->leap < TZ_MAX_COUNT
           && c->chars < TZ_MAX_COUNT && c->isut <= c->type && c->isstd <= c->type;
}

static size_t block_size(const struct tz_counts *c, size_t time_size)
{
    return (size_t)c->time * time_size + c->time + (size_t)c->type * 6 + c->chars
           + (size_t)c->leap * (time_size + 4) + c->isstd + c->isut;
}

static enum lk_status malformed(const char *name, const char *why, struct lk_error *err)
{
    return err_set(err, LK_FAIL, "time zone file %s is not a valid TZif file: %s", name, why);
}

enum lk_status tzfile_parse(const char *name, const unsigned char *data, size_t len,
                            struct tzfile **out, struct lk_error *err)
{
    *out = NULL;
    struct tz_counts c;
    if (len < TZ_HEADER || !read_counts(data, &c))
        return malformed(name, "bad header", err);
    size_t time_size = 4;
    const unsigned char *block = data + TZ_HEADER;
    size_t v1 = block_size(&c, 4);
    if (len - TZ_HEADER < v1)
        return malformed(name, "cut short", err);
    const unsigned char *end = data + len;
    bool v2 = data[4] >= '2';
    if (v2) {
        /* The 64-bit data after the 32-bit block is the one to use. */
        const unsigned char *h2 = block + v1;
        if ((size_t)(end - h2) < TZ_HEADER || !read_counts(h2, &c))
            return malformed(name, "bad second header", err);
        time_size = 8;
        block = h2 + TZ_HEADER;
        if ((size_t)(end - block) < block_size(&c, 8))
            return malformed(name, "cut short", err);
    }

    struct tzfile *z = xcalloc(1, sizeof *z);
    z->n_times = c.time;
    z->n_types = c.type;
    z->times = xcalloc(c.time ? c.time : 1, sizeof *z->times);
    z->idx = xcalloc(c.time ? c.time : 1, 1);
    z->offs = xcalloc(c.type, sizeof *z->offs);
    const unsigned char *p = block;
    for (size_t i = 0; i < c.time; i++, p += time_size)
        z->times[i] = time_size == 8 ? be64(p) : (int32_t)be32(p);
    for (size_t i = 0; i < c.time; i++) {
        z->idx[i] = *p++;
        if (z->idx[i] >= c.type || (i && z->times[i] <= z->times[i - 1])) {
            tzfile_free(z);
            return malformed(name, "transition table out of order or out of range", err);
        }
    }
    for (size_t i = 0; i < c.type; i++, p += 6)
        z->offs[i] = (int32_t)be32(p);

    if (v2) {
        p = block + block_size(&c, 8);
        /* "\nTZ string\n"; an empty string says nothing about later times. */
        if (p < end && *p == '\n') {
            const unsigned char *nl = memchr(p + 1, '\n', (size_t)(end - p - 1));
            if (!nl) {
                tzfile_free(z);
                return malformed(name, "footer without its closing newline", err);
            }
            if (nl > p + 1) {
                char *tz = xstrndup((const char *)p + 1, (size_t)(nl - p - 1));
                z->has_footer = parse_posix(tz, &z->footer);
                if (!z->has_footer) {
                    enum lk_status st = malformed(name, "footer is not a POSIX TZ string", err);
                    free(tz);
                    tzfile_free(z);
                    return st;
                }
                free(tz);
            }
        }
    }
    *out = z;
    return LK_OK;
}

static bool is_utc_name(const char *name)
{
    static const char *const NAMES[] = { "UTC", "GMT", "Etc/UTC", "Etc/GMT", "UCT", "Etc/UCT",
                                         "Zulu", "Etc/Zulu" };
    for (size_t i = 0; i < sizeof NAMES / sizeof NAMES[0]; i++)
        if (strcmp(name, NAMES[i]) == 0)
            return true;
    return false;
}

/* A name, not a path that could leave the zone folders. */
static bool is_zone_name(const char *name)
{
    return !strstr(name, "..") && name[0] != '/';
}

static void zone_dirs(const char *dirs[2])
{
    /* getenv only reads: safe beside other threads as long as nobody
     * writes the environment, which is the point of this module. */
    dirs[0] = getenv("TZDIR");
    dirs[1] = "/usr/share/zoneinfo";
}

char *tzfile_path(const char *name)
{
    if (!name || !*name || is_utc_name(name) || !is_zone_name(name))
        return NULL;
    const char *dirs[2];
    zone_dirs(dirs);
    char *path = NULL;
    for (size_t i = 0; i < 2; i++) {
        if (!dirs[i] || !*dirs[i])
            continue;
        free(path);
        path = xasprintf("%s/%s", dirs[i], name);
        if (access(path, R_OK) == 0)
            break;
    }
    return path;
}

enum lk_status tzfile_load(const char *name, struct tzfile **out, struct lk_error *err)
{
    *out = NULL;
    if (!name || !*name)
        return err_set(err, LK_USAGE, "no time zone name given");
    if (is_utc_name(name)) {
        struct tzfile *z = xcalloc(1, sizeof *z);
        z->n_types = 1;
        z->offs = xcalloc(1, sizeof *z->offs);
        z->times = xcalloc(1, sizeof *z->times);
        z->idx = xcalloc(1, 1);
        *out = z;
        return LK_OK;
    }
    if (!is_zone_name(name))
        return err_set(err, LK_USAGE, "'%s' is not a time zone name", name);
    const char *dirs[2];
    zone_dirs(dirs);
    for (size_t i = 0; i < 2; i++) {
        if (!dirs[i] || !*dirs[i])
            continue;
        char path[1024];
        snprintf(path, sizeof path, "%s/%s", dirs[i], name);
        FILE *f = fopen(path, "rb");
        if (!f)
            continue;
        long size = fseek(f, 0, SEEK_END) == 0 ? ftell(f) : -1;
        if (size < 0 || size > (long)TZ_MAX_FILE || fseek(f, 0, SEEK_SET) != 0) {
            fclose(f);
            continue;             /* a folder ("America") or something unreadable */
        }
        unsigned char *data = xmalloc((size_t)size + 1);
        size_t len = fread(data, 1, (size_t)size, f);
        fclose(f);
        enum lk_status st = LK_USAGE;
        if (len >= 4 && memcmp(data, "TZif", 4) == 0)
            st = tzfile_parse(name, data, len, out, err);
        free(data);
        if (st != LK_USAGE)
            return st;
    }
    return err_set(err, LK_USAGE, "unknown time zone '%s' (no TZif file of that name)", name);
}

void tzfile_free(struct tzfile *z)
{
    if (!z)
        return;
    free(z->times);
    free(z->idx);
    free(z->offs);
    free(z);
}

long tzfile_offset_at(const struct tzfile *z, long long utc)
{
    if (z->n_times == 0)
        return z->has_footer ? posix_offset_at(&z->footer, utc) : z->offs[0];
    if (utc < z->times[0])
        return z->offs[0];
    /* The last transition at or before utc. */
    size_t lo = 0, hi = z->n_times;
    while (hi - lo > 1) {
        size_t mid = lo + (hi - lo) / 2;
        if (z->times[mid] <= utc)
            lo = mid;
        else
            hi = mid;
    }
    if (lo == z->n_times - 1 && z->has_footer)
        return posix_offset_at(&z->footer, utc);
    return z->offs[z->idx[lo]];
}

long long tzfile_local_to_utc(const struct tzfile *z, long long local)
{
    /* Zones change offset at most once in any two days: the offsets a day
     * either side are the only candidates. */
    long before = tzfile_offset_at(z, local - 86400);
    long after = tzfile_offset_at(z, local + 86400);
    long long u1 = local - before, u2 = local - after;
    bool ok1 = tzfile_offset_at(z, u1) == before;
    bool ok2 = tzfile_offset_at(z, u2) == after;
    if (ok1 && ok2)
        return u1 < u2 ? u1 : u2;
    if (ok2)
        return u2;
    return u1;                    /* valid, or the skipped hour read with the earlier offset */
}
