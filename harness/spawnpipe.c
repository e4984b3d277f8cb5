/* spawnpipe.c - starting a helper program with one output piped back (see
 * spawnpipe.h). */
#include "spawnpipe.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <unistd.h>

extern char **environ;

int spawn_piped(const char *exe, int search_path, char *const argv[], int pipe_fd, pid_t *pid,
                int *rfd)
{
    int pfd[2], rc, fa_ok = 0, attr_ok = 0;
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t attr;
    sigset_t none, all;
    *pid = -1;
    *rfd = -1;
    if (pipe2(pfd, O_CLOEXEC) != 0)
        return errno;
    sigemptyset(&none);
    sigfillset(&all);
    rc = posix_spawn_file_actions_init(&fa);
    fa_ok = rc == 0;
    if (!rc)
        rc = posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    if (!rc)
        rc = posix_spawn_file_actions_addopen(&fa, pipe_fd == 1 ? 2 : 1, "/dev/null", O_WRONLY, 0);
    if (!rc)
        rc = posix_spawn_file_actions_adddup2(&fa, pfd[1], pipe_fd);
    if (!rc) {
        rc = posix_spawnattr_init(&attr);
        attr_ok = rc == 0;
    }
    if (!rc)
        rc = posix_spawnattr_setsigmask(&attr, &none);
    if (!rc)
        rc = posix_spawnattr_setsigdefault(&attr, &all);
    if (!rc)
        rc = posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
    if (!rc)
        rc = search_path ? posix_spawnp(pid, exe, &fa, &attr, argv, environ)
                         : posix_spawn(pid, exe, &fa, &attr, argv, environ);
    if (fa_ok)
        posix_spawn_file_actions_destroy(&fa);
    if (attr_ok)
        posix_spawnattr_destroy(&attr);
    close(pfd[1]);
    if (rc) {
        *pid = -1;
        close(pfd[0]);
        return rc;
    }
    *rfd = pfd[0];
    return 0;
}
