/* simproc.c - the simulated endpoint as a child process (simproc.h).
 *
 * fork + exec of bench itself as `bench serve --simulate MODEL --port 0
 * --host 127.0.0.1 ...`, its stdout on a pipe from which the parent reads
 * the "listening on URL" line. Between fork and exec the child only makes
 * async-signal-safe calls, since the parent may have threads. */
#include "simproc.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"

extern char **environ;

#define SIMPROC_READY_TIMEOUT_MS 10000
#define SIMPROC_STOP_TIMEOUT_MS 5000

struct simproc {
    pid_t pid;
    char url[256];
};

static char g_exe[PATH_MAX] = "/proc/self/exe";

void simproc_set_exe(const char *path)
{
    snprintf(g_exe, sizeof g_exe, "%s", path && *path ? path : "/proc/self/exe");
}

const char *simproc_url(const simproc *p)
{
    return p->url;
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

/* Wait up to timeout_ms for pid to exit. 1 = reaped (*status set), 0 =
 * still running, -1 = no such child (already reaped elsewhere). */
static int reap(pid_t pid, int timeout_ms, int *status)
{
    int64_t deadline = clock_now_ns() + (int64_t)timeout_ms * 1000000;
    for (;;) {
        pid_t r = waitpid(pid, status, WNOHANG);
        if (r == pid)
            return 1;
        if (r < 0 && errno != EINTR)
            return -1;
        if (clock_now_ns() >= deadline)
            return 0;
        sleep_ms(5);
    }
}

static void describe_status(int status, char *buf, size_t bufsz)
{
    if (WIFEXITED(status))
        snprintf(buf, bufsz, "exited with status %d", WEXITSTATUS(status));
    else if (WIFSIGNALED(status))
        snprintf(buf, bufsz, "was killed by signal %d (%s)", WTERMSIG(status),
                 strsignal(WTERMSIG(status)));
    else
        snprintf(buf, bufsz, "ended with wait status %#x", (unsigned)status);
}

/* The child between fork and exec: async-signal-safe calls only. Never
 * returns. */
__attribute__((noreturn)) static void child_exec(pid_t parent, int out_fd, int null_fd,
                                                 const char *exe, char *const argv[],
                                                 char *const envp[], const char *exec_msg,
                                                 size_t exec_msg_len)
{
    /* Handlers are reset by exec, but ignored signals stay ignored: give the
     * server default dispositions; then clear the mask inherited from
     * simproc_start (which blocked everything around fork). */
    struct sigaction dfl;
    memset(&dfl, 0, sizeof dfl);
    dfl.sa_handler = SIG_DFL;
    for (int sig = 1; sig < NSIG; sig++)
        if (sig != SIGKILL && sig != SIGSTOP)
            sigaction(sig, &dfl, NULL);
    setpgid(0, 0);
    if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0)
        _exit(127);
    /* The parent may have died before prctl took effect. */
    if (getppid() != parent)
        _exit(127);
    if (dup2(out_fd, STDOUT_FILENO) < 0 || dup2(null_fd, STDIN_FILENO) < 0)
        _exit(127);
    fcntl(STDOUT_FILENO, F_SETFD, 0);
    fcntl(STDIN_FILENO, F_SETFD, 0);
    /* Close everything else the parent had open (sockets, HDF5 files...). */
    if (syscall(SYS_close_range, 3U, ~0U, 0U) < 0) {
        long max = sysconf(_SC_OPEN_MAX);
        if (max < 0 || max > 65536)
            max = 65536;
        for (int fd = 3; fd < max; fd++)
            close(fd);
    }
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    execve(exe, argv, envp);
    ssize_t w = write(STDERR_FILENO, exec_msg, exec_msg_len);
    (void)w;
    _exit(127);
}

/* Read the child's stdout until the "listening on URL" line; copy URL
 * into url. 1 = found, 0 = end of file (child gone), -1 = timeout, -2 =
 * read error. */
static int read_ready_line(int fd, char *url, size_t urlsz)
{
    char buf[2048];
    size_t n = 0;
    int64_t deadline = clock_now_ns() + (int64_t)SIMPROC_READY_TIMEOUT_MS * 1000000;
    for (;;) {
        int64_t left_ms = (deadline - clock_now_ns()) / 1000000;
        if (left_ms <= 0)
            return -1;
        struct pollfd pfd = {fd, POLLIN, 0};
        int pr = poll(&pfd, 1, (int)left_ms);
        if (pr < 0 && errno == EINTR)
            continue;
        if (pr < 0)
            return -2;
        if (pr == 0)
            return -1;
        if (n == sizeof buf - 1)
            n = 0; /* an absurdly long line: not ours, drop it */
        ssize_t r = read(fd, buf + n, sizeof buf - 1 - n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return -2;
        if (r == 0)
            return 0;
        n += (size_t)r;
        buf[n] = '\0';
        char *nl;
        while ((nl = strchr(buf, '\n')) != NULL) {
            *nl = '\0';
            const char *at = strstr(buf, "listening on ");
            if (at) {
                at += strlen("listening on ");
                size_t ul = strcspn(at, " \t\r");
                if (ul > 0 && ul < urlsz) {
                    memcpy(url, at, ul);
                    url[ul] = '\0';
                    return 1;
                }
            }
            size_t rest = n - (size_t)(nl + 1 - buf);
            memmove(buf, nl + 1, rest + 1);
            n = rest;
        }
    }
}

/* Is environment entry e ("NAME=value") one of the names the child must not
 * see? */
static int env_hidden(const char *e, const char *const *hide)
{
    static const char *const always[] = {"OPENAI_API_KEY", NULL};
    const char *const *lists[2] = {always, hide};
    size_t nl = strcspn(e, "=");
    for (int l = 0; l < 2; l++)
        for (const char *const *h = lists[l]; h && *h; h++)
            if (strlen(*h) == nl && strncmp(e, *h, nl) == 0)
                return 1;
    return 0;
}

bench_status simproc_start_env(const char *model, const char *const *extra_args,
                               const char *const *hide_env, simproc **out, bench_err *err)
{
    bench_status st = BENCH_OK;
    simproc *p = NULL;
    char **argv = NULL, **envp = NULL;
    int pipefd[2] = {-1, -1}, null_fd = -1;
    pid_t pid = -1;
    *out = NULL;
    if (!model || !*model)
        return bench_fail(err, BENCH_EUSAGE, "simulator: no model given");

    size_t nextra = 0;
    while (extra_args && extra_args[nextra])
        nextra++;
    p = calloc(1, sizeof *p);
    argv = calloc(8 + nextra + 1, sizeof *argv);
    /* The child's environment, built before fork: ours without the API
     * keys (the simulator checks none, so it gets none). */
    size_t nenv = 0;
    while (environ && environ[nenv])
        nenv++;
    envp = calloc(nenv + 1, sizeof *envp);
    if (!p || !argv || !envp) {
        st = bench_fail(err, BENCH_ENOMEM, "simulator: out of memory");
        goto out;
    }
    size_t na = 0;
    argv[na++] = (char *)"bench";
    argv[na++] = (char *)"serve";
    argv[na++] = (char *)"--simulate";
    argv[na++] = (char *)model;
    argv[na++] = (char *)"--port";
    argv[na++] = (char *)"0";
    argv[na++] = (char *)"--host";
    argv[na++] = (char *)"127.0.0.1";
    for (size_t i = 0; i < nextra; i++)
        argv[na++] = (char *)extra_args[i];
    argv[na] = NULL;
    size_t ne = 0;
    for (size_t i = 0; i < nenv; i++)
        if (!env_hidden(environ[i], hide_env))
            envp[ne++] = environ[i];
    envp[ne] = NULL;

    char exec_msg[PATH_MAX + 64];
    int ml = snprintf(exec_msg, sizeof exec_msg, "bench: cannot execute %s\n", g_exe);
    size_t exec_msg_len = ml < 0                          ? 0
                          : (size_t)ml >= sizeof exec_msg ? sizeof exec_msg - 1
                                                          : (size_t)ml;

    if (pipe2(pipefd, O_CLOEXEC) < 0 || (null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC)) < 0) {
        st = bench_fail(err, BENCH_ESYS, "simulator: cannot create a pipe: %s", strerror(errno));
        goto out;
    }

    /* Block signals across fork so no handler of ours runs in the child
     * before it has reset them. */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    pid_t parent = getpid();
    pid = fork();
    if (pid == 0)
        child_exec(parent, pipefd[1], null_fd, g_exe, argv, envp, exec_msg, exec_msg_len);
    int fork_errno = errno;
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (pid < 0) {
        st = bench_fail(err, BENCH_ESYS, "simulator: fork failed: %s", strerror(fork_errno));
        goto out;
    }
    close(pipefd[1]);
    pipefd[1] = -1;
    p->pid = pid;

    int r = read_ready_line(pipefd[0], p->url, sizeof p->url);
    if (r == 1)
        goto out;
    int status = 0;
    char how[128];
    if (r == 0 && reap(pid, 2000, &status) == 1) {
        describe_status(status, how, sizeof how);
        /* status 2: it refused its arguments or input (bench_exit_code) */
        st = bench_fail(err,
                        WIFEXITED(status) && WEXITSTATUS(status) == 2 ? BENCH_EINPUT : BENCH_ESYS,
                        "simulated endpoint (%s serve --simulate %s) %s before it was ready; "
                        "its message, if any, is on stderr above",
                        g_exe, model, how);
        pid = -1;
        goto out;
    }
    kill(pid, SIGKILL);
    reap(pid, SIMPROC_STOP_TIMEOUT_MS, &status);
    pid = -1;
    if (r == -1)
        st = bench_fail(err, BENCH_ESYS,
                        "simulated endpoint (%s serve --simulate %s) did not report readiness "
                        "within %d s; killed it",
                        g_exe, model, SIMPROC_READY_TIMEOUT_MS / 1000);
    else
        st = bench_fail(err, BENCH_ESYS,
                        "simulated endpoint (%s serve --simulate %s) closed its output without "
                        "reporting readiness; killed it",
                        g_exe, model);
out:
    if (pipefd[0] >= 0)
        close(pipefd[0]);
    if (pipefd[1] >= 0)
        close(pipefd[1]);
    if (null_fd >= 0)
        close(null_fd);
    free(argv);
    free(envp);
    if (st == BENCH_OK) {
        *out = p;
        p = NULL;
    }
    free(p);
    return st;
}

bench_status simproc_start(const char *model, const char *const *extra_args, simproc **out,
                           bench_err *err)
{
    return simproc_start_env(model, extra_args, NULL, out, err);
}

bench_status simproc_stop(simproc *p, bench_err *err)
{
    bench_status st = BENCH_OK;
    if (!p)
        return BENCH_OK;
    int status = 0;
    kill(p->pid, SIGTERM);
    int r = reap(p->pid, SIMPROC_STOP_TIMEOUT_MS, &status);
    if (r == 0) {
        kill(p->pid, SIGKILL);
        while (waitpid(p->pid, &status, 0) < 0 && errno == EINTR)
            ;
        st =
            bench_fail(err, BENCH_ESYS,
                       "simulated endpoint (pid %d) did not stop within %d s of SIGTERM; killed it",
                       (int)p->pid, SIMPROC_STOP_TIMEOUT_MS / 1000);
    } else if (r == 1 && !(WIFEXITED(status) && WEXITSTATUS(status) == 0)) {
        char how[128];
        describe_status(status, how, sizeof how);
        st = bench_fail(err, BENCH_ESYS, "simulated endpoint (pid %d) %s", (int)p->pid, how);
    }
    free(p);
    return st;
}
