#include "dynbuf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void dynbuf_init(dynbuf *b, size_t max)
{
    b->p = NULL;
    b->len = 0;
    b->cap = 0;
    b->max = max;
}

bench_status dynbuf_add(dynbuf *b, const void *data, size_t n)
{
    if (n > b->max - b->len)
        return BENCH_ETOOBIG;
    if (b->len + n + 1 > b->cap) {
        size_t ncap = b->cap ? b->cap : 256;
        while (ncap < b->len + n + 1)
            ncap *= 2;
        if (ncap > b->max + 1)
            ncap = b->max + 1;
        char *np = realloc(b->p, ncap);
        if (!np)
            return BENCH_ENOMEM;
        b->p = np;
        b->cap = ncap;
    }
    if (n)
        memcpy(b->p + b->len, data, n);
    b->len += n;
    b->p[b->len] = '\0';
    return BENCH_OK;
}

bench_status dynbuf_adds(dynbuf *b, const char *s)
{
    return dynbuf_add(b, s, strlen(s));
}

bench_status dynbuf_addf(dynbuf *b, const char *fmt, ...)
{
    char small[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n < 0)
        return BENCH_EINPUT;
    if ((size_t)n < sizeof small)
        return dynbuf_add(b, small, (size_t)n);
    char *big = malloc((size_t)n + 1);
    if (!big)
        return BENCH_ENOMEM;
    va_start(ap, fmt);
    vsnprintf(big, (size_t)n + 1, fmt, ap);
    va_end(ap);
    bench_status st = dynbuf_add(b, big, (size_t)n);
    free(big);
    return st;
}

void dynbuf_reset(dynbuf *b)
{
    b->len = 0;
    if (b->p)
        b->p[0] = '\0';
}

void dynbuf_free(dynbuf *b)
{
    free(b->p);
    b->p = NULL;
    b->len = 0;
    b->cap = 0;
}

char *dynbuf_steal(dynbuf *b)
{
    char *p = b->p;
    if (!p)
        p = calloc(1, 1);
    b->p = NULL;
    b->len = 0;
    b->cap = 0;
    return p;
}
