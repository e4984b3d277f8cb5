/* sandbox.h - run an untrusted Python program (model-written code) and say
 * whether it passed.
 *
 * Each program runs in its own process, in a fresh temporary directory
 * removed afterwards, in its own session and process group, with rlimits
 * (CPU time, address space, file size, processes, no core dumps, open
 * files), a scrubbed environment, /usr/bin/python3 -I, and a wall-clock
 * timeout after which the whole group is killed. Where the kernel allows it
 * the program also gets new network, mount and PID namespaces (no network
 * at all; the whole file system read-only but its temporary directory; every
 * process it started dies with it); as root it also drops to nobody. A
 * seccomp filter forbids creating sockets (socketpair aside) in every case.
 * What was granted is reported per run. docs/SANDBOX.md says what happens
 * where the namespaces are refused. Safe to call from several threads at
 * once. */
#ifndef BENCH_SANDBOX_H
#define BENCH_SANDBOX_H

#include <stddef.h>

#include "dynbuf.h"
#include "status.h"

typedef struct {
    double timeout_s;      /* wall clock; default 3 */
    double cpu_s;          /* RLIMIT_CPU; default timeout + 1 */
    size_t mem_bytes;      /* RLIMIT_AS; default 1 GiB */
    size_t fsize_bytes;    /* RLIMIT_FSIZE; default 16 MiB */
    int nproc;             /* processes the program may add; default 16 */
    size_t output_cap;     /* bytes of stdout+stderr kept; default 64 KiB (rest read and dropped) */
    const char *python;    /* interpreter; default /usr/bin/python3 */
    const char *tmp_base;  /* where temporary dirs go; default $TMPDIR or /tmp */
    int require_isolation; /* fail (BENCH_ESYS) instead of running without namespaces */
} sandbox_limits;

/* Defaults as documented above; cpu_s is left 0, which means timeout_s + 1
 * for whatever timeout_s the caller then sets. A field left 0 (NULL) in the
 * limits given to sandbox_run_python also takes its default; a NULL limits
 * pointer means all defaults. */
void sandbox_limits_default(sandbox_limits *l);

typedef enum { SANDBOX_PASSED = 0, SANDBOX_FAILED = 1, SANDBOX_TIMEOUT = 2 } sandbox_outcome;

typedef struct {
    int outcome;         /* sandbox_outcome */
    int exit_code;       /* -1 when killed by a signal */
    int term_signal;     /* 0 unless killed by a signal */
    char detail[256];    /* failed: the last line of stderr (the exception); timed out: why */
    size_t output_bytes; /* total bytes written to stdout+stderr */
    double wall_s;
    int isolated; /* 1 when the namespaces were granted */
} sandbox_result;

/* Run program (len bytes of Python source, borrowed) and fill *res. Passed
 * means exit status 0 within the limits. Returns non-OK only when the
 * sandbox itself could not be set up (fork, temp dir, ...), with a message;
 * everything the program does is a result, not an error. */
bench_status sandbox_run_python(const sandbox_limits *l, const char *program, size_t len,
                                sandbox_result *res, bench_err *err);

/* Flags for sandbox_run_python_ex. */
#define SANDBOX_NO_NAMESPACES 1u /* do not ask for namespaces: the degraded path, as if refused */

/* sandbox_run_python with flags and, when output is non-NULL, the first
 * output_cap bytes of the program's stdout+stderr appended to it (as many as
 * its own cap allows; caller-owned). */
bench_status sandbox_run_python_ex(const sandbox_limits *l, unsigned flags, const char *program,
                                   size_t len, dynbuf *output, sandbox_result *res, bench_err *err);

#endif
