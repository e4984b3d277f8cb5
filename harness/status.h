/* status.h - the one error idiom of the code base.
 *
 * Every fallible function returns a bench_status and, on failure, writes a
 * one-line human message into a caller-supplied bench_err. Functions clean up
 * through a single `out:` label; nothing below main() calls exit(). The
 * message names what was wrong and where (file, line, flag, URL...). */
#ifndef BENCH_STATUS_H
#define BENCH_STATUS_H

#include <stddef.h>

typedef enum {
    BENCH_OK = 0,
    BENCH_EUSAGE,  /* bad flag, bad configuration value */
    BENCH_EINPUT,  /* malformed input file (catalog, dataset, results) */
    BENCH_EIO,     /* read/write/open failure */
    BENCH_ENOMEM,  /* allocation failed */
    BENCH_ETOOBIG, /* a capped buffer would exceed its cap */
    BENCH_EPROTO,  /* a peer violated the protocol */
    BENCH_ESYS,    /* other system call failure */
    BENCH_EHDF5,   /* HDF5 library failure */
    BENCH_EINTR    /* interrupted by a signal */
} bench_status;

typedef struct {
    char msg[512];
} bench_err;

/* Format a message into err (if non-NULL) and return st. Usage:
 *     return bench_fail(err, BENCH_EUSAGE, "--concurrency: '%s' is not a number", s); */
bench_status bench_fail(bench_err *err, bench_status st, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Prefix the message already in err with "prefix: " (for adding context as a
 * failure travels up). Returns st unchanged. */
bench_status bench_wrap(bench_err *err, bench_status st, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Exit status for main(): 2 for usage/input errors, 1 for everything else. */
int bench_exit_code(bench_status st);

#endif
