/* SHA-256 (FIPS 180-4), for fingerprints such as increments.query_hash. */
#ifndef LAKEOP_SHA256_H
#define LAKEOP_SHA256_H

#include <stddef.h>
#include <stdint.h>

struct sha256 {
    uint32_t h[8];
    uint64_t total;
    unsigned char block[64];
    size_t used;
};

void sha256_init(struct sha256 *s);
void sha256_update(struct sha256 *s, const void *data, size_t len);
void sha256_final(struct sha256 *s, unsigned char out[32]);
/* Lower-case hex of the digest of data: out gets 65 bytes. */
void sha256_hex(const void *data, size_t len, char out[65]);

#endif
