/* sha256.h - SHA-256 (FIPS 180-4), streaming, for verifying downloaded and
 * local data files. No allocation; the context is the caller's. */
#ifndef BENCH_SHA256_H
#define BENCH_SHA256_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    uint32_t h[8];
    uint64_t nbytes;       /* message length so far */
    unsigned char buf[64]; /* pending partial block */
    size_t nbuf;
} sha256_ctx;

void sha256_init(sha256_ctx *c);
void sha256_update(sha256_ctx *c, const void *data, size_t len);
/* Finish: the 32-byte digest into out; c must be re-initialised to be reused. */
void sha256_final(sha256_ctx *c, unsigned char out[32]);
/* Finish and write 64 lowercase hex digits + NUL into hex. */
void sha256_final_hex(sha256_ctx *c, char hex[65]);

#endif
