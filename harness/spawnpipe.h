/* spawnpipe.h - starting a helper program (gnuplot, git) with one output piped
 * back to us.
 *
 * The child gets stdin and its other output on /dev/null, default signal
 * dispositions and an empty signal mask whatever bench set up (it ignores
 * SIGPIPE and blocks signals in threads), and our environment. */
#ifndef BENCH_SPAWNPIPE_H
#define BENCH_SPAWNPIPE_H

#include <sys/types.h>

/* Start argv (argv[0] looked up in $PATH when search_path, else the path
 * exe) with its file descriptor pipe_fd (1 or 2) on a pipe whose read end
 * is returned in *rfd (close-on-exec; the caller closes it and reaps *pid).
 * Returns 0, or an errno value (nothing started, nothing to close). */
int spawn_piped(const char *exe, int search_path, char *const argv[], int pipe_fd, pid_t *pid,
                int *rfd);

#endif
