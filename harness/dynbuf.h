/* dynbuf.h - capped growable byte buffer for anything a peer controls.
 *
 * A dynbuf never grows past the cap given at init: an append that would
 * exceed it fails with BENCH_ETOOBIG and leaves the buffer unchanged, so a
 * misbehaving server cannot exhaust memory. The contents are always
 * NUL-terminated (the terminator is not counted in len). */
#ifndef BENCH_DYNBUF_H
#define BENCH_DYNBUF_H

#include <stddef.h>
#include "status.h"

typedef struct {
    char *p;    /* owned; NULL until the first append */
    size_t len; /* bytes held, excluding the NUL */
    size_t cap; /* bytes allocated */
    size_t max; /* hard cap on len */
} dynbuf;

/* Prepare an empty buffer that may hold at most max bytes. Allocates nothing. */
void dynbuf_init(dynbuf *b, size_t max);

/* Append n bytes. BENCH_ETOOBIG if len + n > max, BENCH_ENOMEM on allocation
 * failure; the buffer is unchanged on failure. */
bench_status dynbuf_add(dynbuf *b, const void *data, size_t n);

/* Append a NUL-terminated string. */
bench_status dynbuf_adds(dynbuf *b, const char *s);

/* printf-style append; fails like dynbuf_add. */
bench_status dynbuf_addf(dynbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Empty the buffer, keeping its allocation. */
void dynbuf_reset(dynbuf *b);

/* Release the allocation; the buffer is empty and reusable afterwards. */
void dynbuf_free(dynbuf *b);

/* Transfer ownership of the bytes to the caller (free() them); the buffer is
 * left empty. Returns an empty allocated string when nothing was added, NULL
 * only on allocation failure. */
char *dynbuf_steal(dynbuf *b);

#endif
