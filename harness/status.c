#include "status.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

bench_status bench_fail(bench_err *err, bench_status st, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
    }
    return st;
}

bench_status bench_wrap(bench_err *err, bench_status st, const char *fmt, ...)
{
    if (err) {
        char prefix[256], old[sizeof err->msg];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(prefix, sizeof prefix, fmt, ap);
        va_end(ap);
        memcpy(old, err->msg, sizeof old);
        if (snprintf(err->msg, sizeof err->msg, "%s: %s", prefix, old) >= (int)sizeof err->msg)
            memcpy(err->msg + sizeof err->msg - 4, "...", 4); /* mark the cut */
    }
    return st;
}

int bench_exit_code(bench_status st)
{
    switch (st) {
    case BENCH_OK:
        return 0;
    case BENCH_EUSAGE:
    case BENCH_EINPUT:
        return 2;
    case BENCH_EINTR:
        return 130;
    default:
        return 1;
    }
}
