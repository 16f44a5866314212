#include "csvcount.h"

#include <string.h>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

static const unsigned char BOM[3] = { 0xEF, 0xBB, 0xBF };

void csvcount_init(struct csvcount *c, bool keep_header)
{
    memset(c, 0, sizeof *c);
    c->header_end = -1;
    /* The start of the stream counts as a row end, so that leading empty
     * lines are recognised as empty. */
    c->term1 = 1;
    c->keep_header = keep_header;
    buf_init(&c->header);
}

void csvcount_free(struct csvcount *c)
{
    buf_free(&c->header);
}

struct masks {
    uint64_t quote, nl, cr;
};

/* Bit i of each mask is set when byte i of the 64-byte block is '"', '\n'
 * or '\r'. */
static inline void block_masks(const unsigned char *p, struct masks *m)
{
#if defined(__SSE2__)
    const __m128i q = _mm_set1_epi8('"');
    const __m128i n = _mm_set1_epi8('\n');
    const __m128i r = _mm_set1_epi8('\r');
    uint64_t mq = 0, mn = 0, mr = 0;
    for (int i = 0; i < 4; i++) {
        __m128i v = _mm_loadu_si128((const __m128i *)(const void *)(p + 16 * i));
        mq |= (uint64_t)(uint16_t)_mm_movemask_epi8(_mm_cmpeq_epi8(v, q)) << (16 * i);
        mn |= (uint64_t)(uint16_t)_mm_movemask_epi8(_mm_cmpeq_epi8(v, n)) << (16 * i);
        mr |= (uint64_t)(uint16_t)_mm_movemask_epi8(_mm_cmpeq_epi8(v, r)) << (16 * i);
    }
    m->quote = mq;
    m->nl = mn;
    m->cr = mr;
#else
    uint64_t mq = 0, mn = 0, mr = 0;
    for (int i = 0; i < 64; i++) {
        mq |= (uint64_t)(p[i] == '"') << i;
        mn |= (uint64_t)(p[i] == '\n') << i;
        mr |= (uint64_t)(p[i] == '\r') << i;
    }
    m->quote = mq;
    m->nl = mn;
    m->cr = mr;
#endif
}

/* Bit i = XOR of bits 0..i: set where a position is inside quotes. */
static inline uint64_t prefix_xor(uint64_t x)
{
    x ^= x << 1;
    x ^= x << 2;
    x ^= x << 4;
    x ^= x << 8;
    x ^= x << 16;
    x ^= x << 32;
    return x;
}

/* The base x86-64 target has no popcount instruction, so __builtin_popcountll
 * becomes a libgcc call per block; a clone built for CPUs that have one
 * (chosen once at load time) takes that call out of the loop. */
#if defined(__x86_64__) && defined(__GNUC__) && defined(__has_attribute)
#if __has_attribute(target_clones)
#define SCAN_CLONES __attribute__((target_clones("popcnt", "default")))
#endif
#endif
#ifndef SCAN_CLONES
#define SCAN_CLONES
#endif

/* Scans n full 64-byte blocks.  The state lives in locals for the loop so
 * that the compiler keeps it in registers. */
SCAN_CLONES static void scan_blocks(struct csvcount *c, const unsigned char *p, size_t n)
{
    uint64_t in_quotes = c->in_quotes;
    uint64_t term1 = c->term1, term2 = c->term2, cr1 = c->cr1;
    long long rows = c->rows;
    long long since_term = c->since_term;
    uint64_t last_nl_block_cr = 0;
    uint64_t nl = 0, cr = 0;

    for (size_t b = 0; b < n; b++, p += 64) {
        struct masks m;
        block_masks(p, &m);
        uint64_t inq = prefix_xor(m.quote) ^ in_quotes;
        nl = m.nl & ~inq;
        cr = m.cr;
        uint64_t t1 = (nl << 1) | term1;
        uint64_t t2 = (nl << 2) | (term1 << 1) | term2;
        uint64_t r1 = (cr << 1) | cr1;
        uint64_t full = nl & ~(t1 | (r1 & t2));
        if (full) {
            if (rows == 0 && c->header_end < 0)
                c->header_end = (long long)c->bom_len + c->scanned + (long long)(b * 64)
                                + __builtin_ctzll(full) + 1;
            rows += __builtin_popcountll(full);
        }
        if (nl)
            since_term = __builtin_clzll(nl);
        else
            since_term += 64;
        in_quotes = (uint64_t)((int64_t)inq >> 63);
        term1 = nl >> 63;
        term2 = (nl >> 62) & 1;
        cr1 = cr >> 63;
        last_nl_block_cr = cr1;
    }
    if (n) {
        c->in_quotes = in_quotes;
        c->term1 = (unsigned)term1;
        c->term2 = (unsigned)term2;
        c->cr1 = (unsigned)cr1;
        c->rows = rows;
        c->since_term = since_term;
        c->last_cr = last_nl_block_cr != 0;
        c->scanned += (long long)(n * 64);
    }
}

/* The last, partial block (len < 64): zero padding is neither a quote nor
 * a line end, so the masks are right; only the tail bookkeeping differs. */
static void scan_tail(struct csvcount *c, const unsigned char *p, size_t len)
{
    if (!len)
        return;
    unsigned char block[64] = { 0 };
    memcpy(block, p, len);
    struct masks m;
    block_masks(block, &m);
    uint64_t inq = prefix_xor(m.quote) ^ c->in_quotes;
    uint64_t nl = m.nl & ~inq;
    uint64_t t1 = (nl << 1) | c->term1;
    uint64_t t2 = (nl << 2) | ((uint64_t)c->term1 << 1) | c->term2;
    uint64_t r1 = (m.cr << 1) | c->cr1;
    uint64_t full = nl & ~(t1 | (r1 & t2));
    if (full) {
        if (c->rows == 0 && c->header_end < 0)
            c->header_end = (long long)c->bom_len + c->scanned + __builtin_ctzll(full) + 1;
        c->rows += __builtin_popcountll(full);
    }
    if (nl)
        c->since_term = (long long)len - 1 - (63 - __builtin_clzll(nl));
    else
        c->since_term += (long long)len;
    c->in_quotes = (uint64_t)0 - ((inq >> (len - 1)) & 1);
    c->last_cr = (m.cr >> (len - 1)) & 1;
    c->scanned += (long long)len;
}

static void keep_header_bytes(struct csvcount *c, const unsigned char *p, size_t len)
{
    if (!c->keep_header || c->header_end >= 0 || c->header_too_long)
        return;
    size_t room = CSVCOUNT_HEADER_MAX + 64 - c->header.len;
    if (len > room) {
        len = room;
        c->header_too_long = true;
    }
    buf_append(&c->header, p, len);
}

static void trim_header(struct csvcount *c)
{
    if (!c->keep_header || c->header_end < 0)
        return;
    size_t want = (size_t)(c->header_end - c->bom_len);
    if (want <= c->header.len && want <= CSVCOUNT_HEADER_MAX) {
        c->header.len = want;
        if (c->header.data)
            c->header.data[want] = '\0';
        c->header_too_long = false;
    } else {
        c->header_too_long = true;
    }
}

static void push_bytes(struct csvcount *c, const unsigned char *p, size_t len)
{
    keep_header_bytes(c, p, len);
    if (c->npend) {
        size_t take = 64 - c->npend;
        if (take > len)
            take = len;
        memcpy(c->pend + c->npend, p, take);
        c->npend += take;
        p += take;
        len -= take;
        if (c->npend < 64)
            goto out;
        scan_blocks(c, c->pend, 1);
        c->npend = 0;
    }
    scan_blocks(c, p, len / 64);
    p += len - len % 64;
    len %= 64;
    memcpy(c->pend, p, len);
    c->npend = len;
out:
    if (c->header.len)
        trim_header(c);
}

void csvcount_feed(struct csvcount *c, const void *data, size_t len)
{
    const unsigned char *p = data;
    c->bytes += (long long)len;
    while (c->bom_state < 3 && len) {
        if (*p != BOM[c->bom_state]) {
            /* Not a byte order mark after all: what matched is data. */
            unsigned matched = c->bom_state;
            c->bom_state = 4;
            push_bytes(c, BOM, matched);
            break;
        }
        p++;
        len--;
        if (++c->bom_state == 3) {
            c->bom_len = 3;
            c->bom_state = 4;
        }
    }
    if (c->bom_state < 3 || !len)
        return;
    push_bytes(c, p, len);
}

long long csvcount_records(const struct csvcount *c)
{
    return c->rows > 0 ? c->rows - 1 : 0;
}

enum lk_status csvcount_finish(struct csvcount *c, long long *records_out, struct lk_error *err)
{
    if (c->bom_state < 3 && c->bom_state > 0) {
        unsigned matched = c->bom_state;
        c->bom_state = 4;
        push_bytes(c, BOM, matched);
    }
    scan_tail(c, c->pend, c->npend);
    c->npend = 0;
    if (c->in_quotes) {
        *records_out = csvcount_records(c);
        return err_set(err, LK_FAIL,
                       "the CSV ends inside a quoted field (a quote is never closed) after %lld "
                       "complete records",
                       csvcount_records(c));
    }
    /* A last row without a final newline (a lone "\r" is an empty line). */
    if (c->since_term > 1 || (c->since_term == 1 && !c->last_cr)) {
        c->rows++;
        if (c->rows == 1 && c->header_end < 0)
            c->header_end = c->bytes;
    }
    trim_header(c);
    *records_out = csvcount_records(c);
    if (c->keep_header && c->header_too_long)
        return err_set(err, LK_FAIL, "the CSV's header row is longer than %d bytes",
                       CSVCOUNT_HEADER_MAX);
    return LK_OK;
}

const char *csvcount_header(const struct csvcount *c, size_t *len)
{
    if (!c->keep_header || c->header_end < 0 || c->header_too_long) {
        *len = 0;
        return NULL;
    }
    *len = c->header.len;
    return c->header.data ? c->header.data : "";
}

enum lk_status csvcount_buffer(const void *data, size_t len, long long *records_out,
                               struct lk_error *err)
{
    struct csvcount c;
    csvcount_init(&c, false);
    csvcount_feed(&c, data, len);
    enum lk_status st = csvcount_finish(&c, records_out, err);
    csvcount_free(&c);
    return st;
}
