/* sandbox.c - running an untrusted Python program (sandbox.h, docs/SANDBOX.md).
 *
 * Four processes take part in one run:
 *
 *   caller  the calling thread: writes the program into a fresh directory,
 *           forks S, reads S's output pipe and control pipe, kills the whole
 *           process group if S does not report in time (a backstop), then
 *           removes the directory.
 *   S       setup (pid = pgid of the run): setsid; unshare the network, mount
 *           and PID namespaces (and the user namespace when not root); makes
 *           every mount read-only and mounts a small tmpfs on the program's
 *           directory; forks I and waits for it.
 *   I       init: PID 1 of the new PID namespace. Forks P, enforces the
 *           wall-clock timeout, kills P's process group and every process
 *           left (when I exits the kernel kills everything else in the
 *           namespace; without the namespace I is a child subreaper and
 *           sweeps its children itself), and writes P's wait status and CPU
 *           time on the control pipe.
 *   P       the program: its own process group, rlimits, nobody (when root),
 *           no new privileges, execve python -I -B prog.py.
 *
 * S also installs a seccomp filter, inherited by I and P, under which no
 * socket can be created (socketpair excepted): no network even where the
 * namespaces are refused.
 *
 * The caller may have threads, so S, I and P use only async-signal-safe
 * calls (raw system calls mostly): every string and array they need is
 * prepared before the fork, in a `plan` they only read. S and I fork with
 * _Fork (no atfork handlers); uid and gid changes are raw system calls,
 * which are per thread, exactly right in a single-threaded child.
 *
 * The control pipe carries fixed-size records (smaller than PIPE_BUF, so
 * each write is atomic): what was granted, a setup step that failed (with
 * errno), and P's status. It is close-on-exec, so it reaches end-of-file
 * when S and I are gone, which is how the caller knows the run is over. */
#include "sandbox.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>

#include "clock.h"

#define NOBODY_ID 65534
#define CTL_FD 3
#define TAIL_BYTES 4096                       /* output tail kept for the detail line */
#define BACKSTOP_NS (2 * 1000000000LL)        /* caller's grace after the timeout */
#define DRAIN_AFTER_EXIT_NS (500 * 1000000LL) /* output EOF wait once S and I are gone */
#define OPEN_FILES 64
#define TMPFS_MIN_BYTES (16u << 20)
#define TMPFS_INODES 4096

/* mount_setattr(2) (Linux 5.12), declared here so older C libraries build. */
#ifndef SYS_mount_setattr
#define SYS_mount_setattr 442
#endif
#ifndef AT_RECURSIVE
#define AT_RECURSIVE 0x8000
#endif
struct sandbox_mount_attr {
    uint64_t attr_set, attr_clr, propagation, userns_fd;
};
#define SANDBOX_MOUNT_ATTR_RDONLY 0x1

/* Control records. */
enum { REC_SETUP = 1, REC_ERROR = 2, REC_EXIT = 3 };
/* REC_SETUP bits. */
enum { ISO_NS = 1, ISO_RO = 2, ISO_USERNS = 4, ISO_SECCOMP = 8 };

/* The socket filter's architecture (seccomp filters see raw syscall
 * numbers, which differ per ABI). */
#if defined(__x86_64__)
#define SANDBOX_AUDIT_ARCH AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define SANDBOX_AUDIT_ARCH AUDIT_ARCH_AARCH64
#endif

typedef struct {
    int32_t kind;
    int32_t a; /* setup: ISO_* bits; error: step; exit: P's wait status */
    int32_t b; /* setup: errno of what was refused; error: errno; exit: 1 = timed out */
    int32_t pad;
    int64_t cpu_us; /* exit: P's user + system CPU time */
} ctl_rec;

/* Setup steps, named in error messages. */
enum {
    STEP_REFUSED,
    STEP_USERMAP,
    STEP_PRIVATE,
    STEP_OPENPROG,
    STEP_TMPFS,
    STEP_COPY,
    STEP_FORK_INIT,
    STEP_FORK_PROG,
    STEP_RLIMIT,
    STEP_CREDS,
    STEP_PRCTL,
    STEP_CHDIR,
    STEP_EXEC,
    STEP_COUNT
};

static const char *const step_names[STEP_COUNT] = {
    "isolation was required but the kernel refused it",
    "writing the user namespace's uid/gid maps",
    "making the mount tree private",
    "opening the program",
    "mounting a tmpfs on the program's directory",
    "copying the program into its tmpfs",
    "forking the namespace init",
    "forking the program",
    "setting resource limits",
    "dropping to user nobody",
    "setting no-new-privileges",
    "entering the program's directory",
    "executing the interpreter",
};

/* Install the socket filter on this process and all it will start: socket(2)
 * and io_uring_setup(2) (which can create sockets too) fail with EPERM, as
 * does any system call of a foreign ABI (i386, x32). socketpair(2) stays:
 * its sockets connect only to each other. With no socket there is no
 * network, whatever the namespaces, and no Unix socket of a host daemon
 * (D-Bus, X11, syslog) that a network namespace would leave reachable
 * through the file system. 0, or -1 with errno. Async-signal-safe. */
static int install_socket_filter(void)
{
#if defined(SANDBOX_AUDIT_ARCH) && defined(SYS_socket)
#ifdef SYS_io_uring_setup
#define SANDBOX_NR_URING SYS_io_uring_setup
#else
#define SANDBOX_NR_URING SYS_socket
#endif
    struct sock_filter f[] = {
        /* 0 */ BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
        /* 1 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SANDBOX_AUDIT_ARCH, 1, 0),
        /* 2 */ BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM),
        /* 3 */ BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
        /* 4 */ BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, 0x40000000u, 3, 0), /* x32 */
        /* 5 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_socket, 2, 0),
        /* 6 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SANDBOX_NR_URING, 1, 0),
        /* 7 */ BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
        /* 8 */ BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM),
    };
    struct sock_fprog prog = {(unsigned short)(sizeof f / sizeof f[0]), f};
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
        return -1;
    return prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) < 0 ? -1 : 0;
#else
    errno = ENOSYS;
    return -1;
#endif
}

/* Everything the children need, prepared before fork and only read after. */
typedef struct {
    const char *python;
    char *argv[5];
    char *envp[7];
    char env_home[PATH_MAX + 32];
    char env_tmpdir[PATH_MAX + 32];
    char top[PATH_MAX];       /* the run's directory (removed afterwards) */
    char work[PATH_MAX + 8];  /* top/work: the program's directory, writable */
    char prog[PATH_MAX + 16]; /* work/prog.py */
    char tmpfs_opts[160];
    char uid_map[48], gid_map[48];
    int root;       /* effective uid 0: drop to nobody */
    int namespaces; /* ask for namespaces */
    int require;    /* require_isolation */
    int64_t timeout_ns;
    struct rlimit cpu, as, fsize, nproc;
    pid_t caller;
    int out_w, ctl_w, null_fd;
} plan;

void sandbox_limits_default(sandbox_limits *l)
{
    memset(l, 0, sizeof *l);
    l->timeout_s = 3.0;
    l->cpu_s = 0; /* timeout + 1, whatever timeout the caller then sets */
    l->mem_bytes = (size_t)1 << 30;
    l->fsize_bytes = (size_t)16 << 20;
    l->nproc = 16;
    l->output_cap = (size_t)64 << 10;
    l->python = "/usr/bin/python3";
    l->tmp_base = NULL;
    l->require_isolation = 0;
}

/* ---- children: async-signal-safe only ---------------------------------- */

static void rec_write(int kind, int a, int b, int64_t cpu_us)
{
    ctl_rec r;
    memset(&r, 0, sizeof r);
    r.kind = kind;
    r.a = a;
    r.b = b;
    r.cpu_us = cpu_us;
    ssize_t w;
    do
        w = write(CTL_FD, &r, sizeof r);
    while (w < 0 && errno == EINTR);
}

__attribute__((noreturn)) static void child_fail(int step, int e)
{
    rec_write(REC_ERROR, step, e, 0);
    _exit(127);
}

static pid_t fork_child(void)
{
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 34))
    return _Fork();
#else
    return fork();
#endif
}

static int write_all_fd(int fd, const char *s, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, s, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        s += w;
        n -= (size_t)w;
    }
    return 0;
}

static int write_proc_file(const char *path, const char *s)
{
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    int rc = write_all_fd(fd, s, strlen(s));
    int e = errno;
    close(fd);
    errno = e;
    return rc;
}

/* Kill and reap every child of this process until there is none: used by
 * the init when it has no PID namespace (as a child subreaper, orphans of
 * the program become its children). Pids come from its own children list,
 * so none can have been reused. */
static void sweep_children(void)
{
    for (int round = 0; round < 5000; round++) {
        int fd = open("/proc/thread-self/children", O_RDONLY | O_CLOEXEC);
        if (fd >= 0) {
            char buf[1024];
            long pid = 0;
            int digits = 0;
            ssize_t n;
            while ((n = read(fd, buf, sizeof buf)) > 0) {
                for (ssize_t i = 0; i < n; i++) {
                    if (buf[i] >= '0' && buf[i] <= '9') {
                        pid = pid * 10 + (buf[i] - '0');
                        digits = 1;
                    } else if (digits) {
                        kill((pid_t)pid, SIGKILL);
                        pid = 0;
                        digits = 0;
                    }
                }
            }
            if (digits)
                kill((pid_t)pid, SIGKILL);
            close(fd);
        }
        pid_t p;
        while ((p = waitpid(-1, NULL, WNOHANG)) > 0)
            ;
        if (p < 0 && errno == ECHILD)
            return;
        if (fd < 0 && round >= 50)
            return; /* no children list: the process group kill is all we can do */
        struct timespec ts = {0, 1000000};
        nanosleep(&ts, NULL);
    }
}

/* P: never returns. */
__attribute__((noreturn)) static void child_program(const plan *pl)
{
    setpgid(0, 0);
    struct rlimit core = {0, 0}, nofile = {OPEN_FILES, OPEN_FILES};
    if (setrlimit(RLIMIT_CPU, &pl->cpu) < 0 || setrlimit(RLIMIT_AS, &pl->as) < 0 ||
        setrlimit(RLIMIT_FSIZE, &pl->fsize) < 0 || setrlimit(RLIMIT_NPROC, &pl->nproc) < 0 ||
        setrlimit(RLIMIT_CORE, &core) < 0 || setrlimit(RLIMIT_NOFILE, &nofile) < 0)
        child_fail(STEP_RLIMIT, errno);
    /* Enter the directory while still privileged: its parents need not be
     * searchable by nobody. */
    if (chdir(pl->work) < 0)
        child_fail(STEP_CHDIR, errno);
    if (pl->root) {
        if (syscall(SYS_setgroups, 0, NULL) < 0 ||
            syscall(SYS_setresgid, NOBODY_ID, NOBODY_ID, NOBODY_ID) < 0 ||
            syscall(SYS_setresuid, NOBODY_ID, NOBODY_ID, NOBODY_ID) < 0)
            child_fail(STEP_CREDS, errno);
    }
    /* After the uid change, which clears the parent-death signal. */
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 || prctl(PR_SET_PDEATHSIG, SIGKILL) < 0)
        child_fail(STEP_PRCTL, errno);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    execve(pl->python, pl->argv, pl->envp);
    child_fail(STEP_EXEC, errno);
}

/* I: never returns. */
__attribute__((noreturn)) static void child_init(const plan *pl, int iso)
{
    int64_t deadline = clock_now_ns() + pl->timeout_ns;
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (iso & ISO_NS) {
        /* A /proc of the new PID namespace: the program sees only its own
         * processes. Best effort; the host's /proc is read-only anyway. */
        mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_RDONLY, NULL);
    } else {
        prctl(PR_SET_CHILD_SUBREAPER, 1);
    }
    pid_t c = fork_child();
    if (c == 0)
        child_program(pl);
    if (c < 0)
        child_fail(STEP_FORK_PROG, errno);

    /* SIGCHLD stays blocked (everything is, since the caller's fork), so it
     * queues for sigtimedwait. */
    sigset_t chld;
    sigemptyset(&chld);
    sigaddset(&chld, SIGCHLD);
    int timed_out = 0;
    for (;;) {
        /* Reap orphans as they die; stop at the program's own exit, which
         * is left unreaped so its process group cannot be reused. */
        int program_done = 0;
        for (;;) {
            siginfo_t si;
            memset(&si, 0, sizeof si);
            if (waitid(P_ALL, 0, &si, WEXITED | WNOHANG | WNOWAIT) < 0 || si.si_pid == 0)
                break;
            if (si.si_pid == c) {
                program_done = 1;
                break;
            }
            waitpid(si.si_pid, NULL, WNOHANG);
        }
        if (program_done)
            break;
        int64_t left = deadline - clock_now_ns();
        if (left <= 0) {
            timed_out = 1;
            break;
        }
        struct timespec ts = {(time_t)(left / 1000000000LL), (long)(left % 1000000000LL)};
        sigtimedwait(&chld, NULL, &ts);
    }
    kill(-c, SIGKILL);
    if (timed_out)
        kill(c, SIGKILL);
    int status = 0;
    struct rusage ru;
    memset(&ru, 0, sizeof ru);
    while (wait4(c, &status, 0, &ru) < 0 && errno == EINTR)
        ;
    if (!(iso & ISO_NS))
        sweep_children();
    int64_t cpu_us = (int64_t)ru.ru_utime.tv_sec * 1000000 + ru.ru_utime.tv_usec +
                     (int64_t)ru.ru_stime.tv_sec * 1000000 + ru.ru_stime.tv_usec;
    rec_write(REC_EXIT, status, timed_out, cpu_us);
    /* As PID 1 of the namespace, exiting kills whatever is left in it. */
    _exit(0);
}

/* Copy the program into the fresh tmpfs (same path, now the tmpfs). */
static int copy_program(int src, const char *dst)
{
    int out = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0444);
    if (out < 0)
        return -1;
    char buf[8192];
    for (;;) {
        ssize_t n = read(src, buf, sizeof buf);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 || (n > 0 && write_all_fd(out, buf, (size_t)n) < 0)) {
            int e = errno;
            close(out);
            errno = e;
            return -1;
        }
        if (n == 0)
            break;
    }
    return close(out);
}

/* S: never returns. */
__attribute__((noreturn)) static void child_setup(const plan *pl)
{
    /* Default dispositions (ignored signals would stay ignored across
     * execve); everything stays blocked until P's execve. */
    struct sigaction dfl;
    memset(&dfl, 0, sizeof dfl);
    dfl.sa_handler = SIG_DFL;
    for (int sig = 1; sig < NSIG; sig++)
        if (sig != SIGKILL && sig != SIGSTOP)
            sigaction(sig, &dfl, NULL);

    /* Descriptors: 0 /dev/null, 1 and 2 the output pipe, 3 the control
     * pipe (close-on-exec); nothing else, in particular none of the pipes
     * of runs other threads have in flight. */
    int o = fcntl(pl->out_w, F_DUPFD, 10);
    int c = fcntl(pl->ctl_w, F_DUPFD, 10);
    int n = fcntl(pl->null_fd, F_DUPFD, 10);
    if (o < 0 || c < 0 || n < 0 || dup2(n, 0) < 0 || dup2(o, 1) < 0 || dup2(o, 2) < 0 ||
        dup2(c, CTL_FD) < 0 || fcntl(CTL_FD, F_SETFD, FD_CLOEXEC) < 0)
        _exit(127);
    if (syscall(SYS_close_range, (unsigned)CTL_FD + 1, ~0U, 0U) < 0)
        for (int fd = CTL_FD + 1; fd < 65536; fd++)
            close(fd);

    if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != pl->caller)
        _exit(127);
    setsid();

    int iso = 0, why = 0;
    if (pl->namespaces) {
        int flags = CLONE_NEWNET | CLONE_NEWNS | CLONE_NEWPID | (pl->root ? 0 : CLONE_NEWUSER);
        if (unshare(flags) == 0) {
            iso |= ISO_NS | (pl->root ? 0 : ISO_USERNS);
            if (!pl->root && (write_proc_file("/proc/self/setgroups", "deny") < 0 ||
                              write_proc_file("/proc/self/uid_map", pl->uid_map) < 0 ||
                              write_proc_file("/proc/self/gid_map", pl->gid_map) < 0))
                child_fail(STEP_USERMAP, errno);
            if (mount("none", "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
                child_fail(STEP_PRIVATE, errno);
            int src = open(pl->prog, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
            if (src < 0)
                child_fail(STEP_OPENPROG, errno);
            struct sandbox_mount_attr attr;
            memset(&attr, 0, sizeof attr);
            attr.attr_set = SANDBOX_MOUNT_ATTR_RDONLY;
            if (syscall(SYS_mount_setattr, AT_FDCWD, "/", AT_RECURSIVE, &attr, sizeof attr) == 0)
                iso |= ISO_RO;
            else
                why = errno;
            /* A new mount, so writable whatever the tree is. */
            if (mount("tmpfs", pl->work, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC,
                      pl->tmpfs_opts) < 0)
                child_fail(STEP_TMPFS, errno);
            if (copy_program(src, pl->prog) < 0)
                child_fail(STEP_COPY, errno);
            close(src);
        } else {
            why = errno;
        }
    }
    if (install_socket_filter() == 0)
        iso |= ISO_SECCOMP;
    else if (!why)
        why = errno;
    /* Not dumpable (from here: the uid maps had to be written first): a
     * program running under the same uid cannot open S's or I's
     * descriptors through /proc or trace them. */
    prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
    if (pl->require && (iso & (ISO_NS | ISO_RO | ISO_SECCOMP)) != (ISO_NS | ISO_RO | ISO_SECCOMP))
        child_fail(STEP_REFUSED, why);
    rec_write(REC_SETUP, iso, why, 0);

    pid_t i = fork_child();
    if (i == 0)
        child_init(pl, iso);
    if (i < 0)
        child_fail(STEP_FORK_INIT, errno);
    while (waitpid(i, NULL, 0) < 0 && errno == EINTR)
        ;
    _exit(0);
}

/* ---- caller side -------------------------------------------------------- */

/* Tasks (threads count against RLIMIT_NPROC) whose real uid is uid. */
static long count_tasks_of(uid_t uid)
{
    DIR *d = opendir("/proc");
    if (!d)
        return 0;
    long total = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] < '1' || e->d_name[0] > '9')
            continue;
        char path[64], buf[2048];
        snprintf(path, sizeof path, "/proc/%.20s/status", e->d_name);
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
            continue;
        ssize_t n = read(fd, buf, sizeof buf - 1);
        close(fd);
        if (n <= 0)
            continue;
        buf[n] = '\0';
        const char *u = strstr(buf, "\nUid:");
        const char *t = strstr(buf, "\nThreads:");
        if (!u || strtoul(u + 5, NULL, 10) != (unsigned long)uid)
            continue;
        total += t ? strtol(t + 9, NULL, 10) : 1;
    }
    closedir(d);
    return total;
}

/* Remove the tree at path: no symbolic link is followed, directories are
 * made writable before they are emptied, and at most three descriptors are
 * held however deep it is (it walks down by name and back up through "..").
 * 0, or -1 with errno. */
static int remove_tree(const char *path)
{
    int cur = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (cur < 0)
        return errno == ENOENT ? 0 : -1;
    int depth = 0, rc = 0;
    long budget = 1000000; /* operations; a tree we cannot empty must not spin */
    fchmod(cur, 0700);
    while (rc == 0) {
        int sub = -1;
        int d2 = dup(cur);
        DIR *d = d2 >= 0 ? fdopendir(d2) : NULL;
        if (!d) {
            if (d2 >= 0)
                close(d2);
            rc = -1;
            break;
        }
        struct dirent *e;
        while (rc == 0 && (e = readdir(d)) != NULL) {
            if (--budget <= 0) {
                errno = ELOOP;
                rc = -1;
                break;
            }
            if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
                continue;
            struct stat sb;
            if (fstatat(cur, e->d_name, &sb, AT_SYMLINK_NOFOLLOW) < 0) {
                if (errno != ENOENT)
                    rc = -1;
                continue;
            }
            if (!S_ISDIR(sb.st_mode)) {
                if (unlinkat(cur, e->d_name, 0) < 0 && errno != ENOENT)
                    rc = -1;
                continue;
            }
            if (unlinkat(cur, e->d_name, AT_REMOVEDIR) == 0)
                continue;
            if (errno != ENOTEMPTY && errno != EEXIST && errno != EACCES && errno != EPERM) {
                rc = -1;
                break;
            }
            sub = openat(cur, e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
            if (sub < 0 && errno == EACCES) {
                /* Unreadable (only possible when not root): chmod it
                 * through an O_PATH descriptor, never by name. */
                int pfd = openat(cur, e->d_name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                if (pfd >= 0) {
                    char proc[64];
                    snprintf(proc, sizeof proc, "/proc/self/fd/%d", pfd);
                    chmod(proc, 0700);
                    close(pfd);
                    sub = openat(cur, e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                }
            }
            if (sub < 0)
                rc = -1;
            break;
        }
        closedir(d);
        if (rc != 0)
            break;
        if (sub >= 0) {
            fchmod(sub, 0700);
            close(cur);
            cur = sub;
            depth++;
            continue;
        }
        /* cur holds nothing more we can see; its parent's next scan
         * removes it (or comes back if something reappeared). */
        if (depth == 0)
            break;
        int up = openat(cur, "..", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (up < 0) {
            rc = -1;
            break;
        }
        close(cur);
        cur = up;
        depth--;
    }
    int e = errno;
    close(cur);
    if (rc == 0 && rmdir(path) < 0)
        return -1;
    errno = e;
    return rc;
}

static const char *signal_name(int sig)
{
    const char *s = sigabbrev_np(sig);
    return s ? s : "?";
}

/* Last non-empty line of the output tail, into detail. */
static void last_line(const char *tail, size_t n, char *detail, size_t dsz)
{
    size_t end = n;
    while (end > 0 && (tail[end - 1] == '\n' || tail[end - 1] == '\r' || tail[end - 1] == ' ' ||
                       tail[end - 1] == '\t'))
        end--;
    size_t start = end;
    while (start > 0 && tail[start - 1] != '\n')
        start--;
    size_t len = end - start;
    if (len >= dsz) {
        len = dsz - 1;
        /* do not cut a UTF-8 character in two */
        while (len > 0 && ((unsigned char)tail[start + len] & 0xC0) == 0x80)
            len--;
    }
    memcpy(detail, tail + start, len);
    detail[len] = '\0';
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)detail[i] < 0x20)
            detail[i] = ' ';
}

static bench_status fill_limits(const sandbox_limits *in, sandbox_limits *l, bench_err *err)
{
    sandbox_limits d;
    sandbox_limits_default(&d);
    *l = in ? *in : d;
    if (l->timeout_s == 0)
        l->timeout_s = d.timeout_s;
    if (l->cpu_s == 0)
        l->cpu_s = l->timeout_s + 1;
    if (l->mem_bytes == 0)
        l->mem_bytes = d.mem_bytes;
    if (l->fsize_bytes == 0)
        l->fsize_bytes = d.fsize_bytes;
    if (l->nproc == 0)
        l->nproc = d.nproc;
    if (l->output_cap == 0)
        l->output_cap = d.output_cap;
    if (!l->python || !*l->python)
        l->python = d.python;
    if (!l->tmp_base || !*l->tmp_base) {
        const char *t = getenv("TMPDIR");
        l->tmp_base = t && *t ? t : "/tmp";
    }
    if (!(l->timeout_s > 0 && l->timeout_s <= 86400))
        return bench_fail(err, BENCH_EUSAGE, "sandbox: timeout %g s is out of range (0, 86400]",
                          l->timeout_s);
    if (!(l->cpu_s > 0 && l->cpu_s <= 86400))
        return bench_fail(err, BENCH_EUSAGE, "sandbox: CPU limit %g s is out of range (0, 86400]",
                          l->cpu_s);
    if (l->nproc < 0 || l->nproc > 100000)
        return bench_fail(err, BENCH_EUSAGE, "sandbox: nproc %d is out of range [0, 100000]",
                          l->nproc);
    if (l->python[0] != '/')
        return bench_fail(err, BENCH_EUSAGE, "sandbox: interpreter '%s' is not an absolute path",
                          l->python);
    return BENCH_OK;
}

/* Write len bytes of program to path (new file, read-only). */
static bench_status write_program(const char *path, const char *program, size_t len, bench_err *err)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0444);
    if (fd < 0)
        return bench_fail(err, BENCH_EIO, "sandbox: cannot create %s: %s", path, strerror(errno));
    int rc = write_all_fd(fd, program, len);
    int e = errno;
    if (close(fd) < 0 && rc == 0) {
        rc = -1;
        e = errno;
    }
    if (rc < 0)
        return bench_fail(err, BENCH_EIO, "sandbox: cannot write %s: %s", path, strerror(e));
    return BENCH_OK;
}

/* Build the directories, the program file and the plan. */
static bench_status prepare(const sandbox_limits *l, unsigned flags, const char *program,
                            size_t len, plan *pl, bench_err *err)
{
    memset(pl, 0, sizeof *pl);
    pl->out_w = pl->ctl_w = pl->null_fd = -1;
    pl->root = geteuid() == 0;
    pl->namespaces = !(flags & SANDBOX_NO_NAMESPACES);
    pl->require = l->require_isolation != 0;
    pl->python = l->python;
    pl->timeout_ns = (int64_t)(l->timeout_s * 1e9);

    int n = snprintf(pl->top, sizeof pl->top, "%s/bench-sandbox-XXXXXX", l->tmp_base);
    if (n < 0 || (size_t)n + sizeof "/work/prog.py" > sizeof pl->top)
        return bench_fail(err, BENCH_EUSAGE, "sandbox: temporary directory base '%s' is too long",
                          l->tmp_base);
    if (!mkdtemp(pl->top)) {
        int e = errno;
        pl->top[0] = '\0';
        return bench_fail(err, BENCH_EIO, "sandbox: cannot create a directory in %s: %s",
                          l->tmp_base, strerror(e));
    }
    snprintf(pl->work, sizeof pl->work, "%s/work", pl->top);
    snprintf(pl->prog, sizeof pl->prog, "%s/prog.py", pl->work);
    /* top belongs to us (so the program cannot rename its directory away);
     * work to the program's user. */
    if (mkdir(pl->work, 0700) < 0)
        return bench_fail(err, BENCH_EIO, "sandbox: cannot create %s: %s", pl->work,
                          strerror(errno));
    bench_status st = write_program(pl->prog, program, len, err);
    if (st != BENCH_OK)
        return st;
    if (pl->root && (chmod(pl->top, 0711) < 0 || chown(pl->work, NOBODY_ID, NOBODY_ID) < 0))
        return bench_fail(err, BENCH_EIO, "sandbox: cannot give %s to nobody: %s", pl->work,
                          strerror(errno));

    uid_t uid = pl->root ? NOBODY_ID : getuid();
    gid_t gid = pl->root ? NOBODY_ID : getgid();
    size_t tmpfs_bytes = l->fsize_bytes > SIZE_MAX / 4 ? SIZE_MAX : l->fsize_bytes * 4;
    if (tmpfs_bytes < TMPFS_MIN_BYTES)
        tmpfs_bytes = TMPFS_MIN_BYTES;
    snprintf(pl->tmpfs_opts, sizeof pl->tmpfs_opts, "size=%zu,nr_inodes=%d,mode=0700,uid=%u,gid=%u",
             tmpfs_bytes, TMPFS_INODES, (unsigned)uid, (unsigned)gid);
    snprintf(pl->uid_map, sizeof pl->uid_map, "%u %u 1\n", (unsigned)getuid(), (unsigned)getuid());
    snprintf(pl->gid_map, sizeof pl->gid_map, "%u %u 1\n", (unsigned)getgid(), (unsigned)getgid());

    rlim_t cpu = (rlim_t)ceil(l->cpu_s);
    pl->cpu.rlim_cur = cpu;
    pl->cpu.rlim_max = cpu + 1; /* SIGXCPU at the soft limit, SIGKILL a second later */
    pl->as.rlim_cur = pl->as.rlim_max = (rlim_t)l->mem_bytes;
    pl->fsize.rlim_cur = pl->fsize.rlim_max = (rlim_t)l->fsize_bytes;
    /* RLIMIT_NPROC counts every task of the real uid, not only ours: allow
     * what exists now, the program itself, and nproc more. */
    rlim_t np = (rlim_t)count_tasks_of(uid) + 1 + (rlim_t)l->nproc;
    pl->nproc.rlim_cur = pl->nproc.rlim_max = np;

    snprintf(pl->env_home, sizeof pl->env_home, "HOME=%s", pl->work);
    snprintf(pl->env_tmpdir, sizeof pl->env_tmpdir, "TMPDIR=%s", pl->work);
    pl->envp[0] = (char *)"PATH=/usr/bin:/bin";
    pl->envp[1] = pl->env_home;
    pl->envp[2] = pl->env_tmpdir;
    pl->envp[3] = (char *)"LANG=C.UTF-8";
    pl->envp[4] = (char *)"PYTHONHASHSEED=0";
    pl->envp[5] = (char *)"PYTHONDONTWRITEBYTECODE=1";
    pl->envp[6] = NULL;
    pl->argv[0] = (char *)l->python;
    pl->argv[1] = (char *)"-I";
    pl->argv[2] = (char *)"-B";
    pl->argv[3] = (char *)"prog.py";
    pl->argv[4] = NULL;
    return BENCH_OK;
}

/* What the caller collects while the run goes. */
typedef struct {
    unsigned char ctl[sizeof(ctl_rec) * 8];
    size_t ctl_len;
    int have_setup, have_error, have_exit;
    ctl_rec setup, error, exit;
    char tail[TAIL_BYTES];
    size_t total; /* bytes of output read */
    size_t kept;  /* bytes appended to the caller's output buffer */
    int keep_failed;
    int64_t t_exit;
} collect;

static void take_records(collect *c)
{
    size_t off = 0;
    while (c->ctl_len - off >= sizeof(ctl_rec)) {
        ctl_rec r;
        memcpy(&r, c->ctl + off, sizeof r);
        off += sizeof r;
        if (r.kind == REC_SETUP && !c->have_setup) {
            c->setup = r;
            c->have_setup = 1;
        } else if (r.kind == REC_ERROR && !c->have_error) {
            c->error = r;
            c->have_error = 1;
        } else if (r.kind == REC_EXIT && !c->have_exit) {
            c->exit = r;
            c->have_exit = 1;
            c->t_exit = clock_now_ns();
        }
    }
    memmove(c->ctl, c->ctl + off, c->ctl_len - off);
    c->ctl_len -= off;
}

static void take_output(collect *c, const char *buf, size_t n, size_t cap, dynbuf *output)
{
    if (output && !c->keep_failed && c->kept < cap) {
        size_t k = n < cap - c->kept ? n : cap - c->kept;
        size_t room = output->max - output->len;
        if (k > room)
            k = room;
        if (k > 0 && dynbuf_add(output, buf, k) != BENCH_OK)
            c->keep_failed = 1;
        else
            c->kept += k;
    }
    /* The tail, for the detail line: the exception is printed last. */
    for (size_t i = n > TAIL_BYTES ? n - TAIL_BYTES : 0; i < n; i++)
        c->tail[(c->total + i) % TAIL_BYTES] = buf[i];
    c->total += n;
}

/* Read what is available; 0 at end of file, 1 otherwise. */
static int drain(int fd, collect *c, int is_ctl, size_t cap, dynbuf *output)
{
    char buf[65536];
    for (;;) {
        if (is_ctl) {
            ssize_t r = read(fd, c->ctl + c->ctl_len, sizeof c->ctl - c->ctl_len);
            if (r > 0) {
                c->ctl_len += (size_t)r;
                take_records(c);
                continue;
            }
            if (r == 0)
                return 0;
        } else {
            ssize_t r = read(fd, buf, sizeof buf);
            if (r > 0) {
                take_output(c, buf, (size_t)r, cap, output);
                continue;
            }
            if (r == 0)
                return 0;
        }
        if (errno == EINTR)
            continue;
        return errno == EAGAIN ? 1 : 0;
    }
}

/* Turn P's wait status into the result. */
static void decide(const sandbox_limits *l, const collect *c, int backstop, sandbox_result *res)
{
    char tail[TAIL_BYTES];
    size_t tn = c->total < TAIL_BYTES ? c->total : TAIL_BYTES;
    size_t first = c->total - tn;
    for (size_t i = 0; i < tn; i++)
        tail[i] = c->tail[(first + i) % TAIL_BYTES];

    if (!c->have_exit && !backstop) {
        /* The program started, then its init vanished: only a program
         * running under the caller's own uid (no namespaces, not root) can
         * kill it. What the program does is a result. */
        res->outcome = SANDBOX_FAILED;
        snprintf(res->detail, sizeof res->detail,
                 "the sandbox init ended without reporting the program's status");
        return;
    }
    if (!c->have_exit || c->exit.b) {
        res->outcome = SANDBOX_TIMEOUT;
        res->exit_code = -1;
        res->term_signal = SIGKILL;
        snprintf(res->detail, sizeof res->detail, "timed out after %g s (wall clock)%s",
                 l->timeout_s,
                 backstop && !c->have_exit ? "; the sandbox init did not report" : "");
        return;
    }
    int status = c->exit.a;
    double cpu = (double)c->exit.cpu_us / 1e6;
    if (WIFEXITED(status)) {
        res->exit_code = WEXITSTATUS(status);
        res->term_signal = 0;
        if (res->exit_code == 0) {
            res->outcome = SANDBOX_PASSED;
            return;
        }
        res->outcome = SANDBOX_FAILED;
        last_line(tail, tn, res->detail, sizeof res->detail);
        if (!res->detail[0])
            snprintf(res->detail, sizeof res->detail, "exited with status %d", res->exit_code);
        return;
    }
    int sig = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
    res->exit_code = -1;
    res->term_signal = sig;
    const char *descr = sigdescr_np(sig);
    if (sig == SIGXCPU || (sig == SIGKILL && cpu >= floor(l->cpu_s) && cpu > 0)) {
        res->outcome = SANDBOX_TIMEOUT;
        snprintf(res->detail, sizeof res->detail,
                 "killed by signal %d (SIG%s): CPU time limit of %g s exceeded", sig,
                 signal_name(sig), ceil(l->cpu_s));
        return;
    }
    res->outcome = SANDBOX_FAILED;
    snprintf(res->detail, sizeof res->detail, "killed by signal %d (SIG%s: %s)", sig,
             signal_name(sig), descr ? descr : "unknown");
}

bench_status sandbox_run_python_ex(const sandbox_limits *lim, unsigned flags, const char *program,
                                   size_t len, dynbuf *output, sandbox_result *res, bench_err *err)
{
    bench_status st = BENCH_OK;
    sandbox_limits l;
    plan *pl = NULL;
    collect *c = NULL;
    int out_p[2] = {-1, -1}, ctl_p[2] = {-1, -1}, null_fd = -1;
    pid_t pid = -1;
    memset(res, 0, sizeof *res);
    res->exit_code = -1;

    if ((st = fill_limits(lim, &l, err)) != BENCH_OK)
        return st;
    pl = malloc(sizeof *pl);
    c = calloc(1, sizeof *c);
    if (!pl || !c) {
        st = bench_fail(err, BENCH_ENOMEM, "sandbox: out of memory");
        goto out;
    }
    if ((st = prepare(&l, flags, program, len, pl, err)) != BENCH_OK)
        goto out;
    if (pipe2(out_p, O_CLOEXEC) < 0 || pipe2(ctl_p, O_CLOEXEC) < 0 ||
        (null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC)) < 0) {
        st = bench_fail(err, BENCH_ESYS, "sandbox: cannot create pipes: %s", strerror(errno));
        goto out;
    }
    pl->out_w = out_p[1];
    pl->ctl_w = ctl_p[1];
    pl->null_fd = null_fd;
    pl->caller = getpid();

    /* Block signals across fork so no handler of ours runs in a child. */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int64_t t0 = clock_now_ns();
    pid = fork();
    if (pid == 0)
        child_setup(pl);
    int fork_errno = errno;
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (pid < 0) {
        st = bench_fail(err, BENCH_ESYS, "sandbox: fork failed: %s", strerror(fork_errno));
        goto out;
    }
    close(out_p[1]);
    close(ctl_p[1]);
    out_p[1] = ctl_p[1] = -1;
    fcntl(out_p[0], F_SETFL, O_NONBLOCK);
    fcntl(ctl_p[0], F_SETFL, O_NONBLOCK);

    /* Read until both pipes close. The init enforces the timeout; the
     * backstop covers an init that does not report. Once S and I are gone
     * (control EOF) only a process that escaped could hold the output open:
     * wait a little, then stop listening to it. */
    int out_open = 1, ctl_open = 1, backstop = 0;
    int64_t limit = t0 + pl->timeout_ns + BACKSTOP_NS;
    while (out_open || ctl_open) {
        int64_t now = clock_now_ns();
        if (now >= limit) {
            if (backstop || !ctl_open)
                break;
            kill(-pid, SIGKILL);
            backstop = 1;
            limit = now + BACKSTOP_NS;
            continue;
        }
        struct pollfd pf[2] = {{out_open ? out_p[0] : -1, POLLIN, 0},
                               {ctl_open ? ctl_p[0] : -1, POLLIN, 0}};
        int64_t wait_ms = (limit - now) / 1000000 + 1;
        int pr = poll(pf, 2, wait_ms > 1000 ? 1000 : (int)wait_ms);
        if (pr < 0 && errno != EINTR) {
            st = bench_fail(err, BENCH_ESYS, "sandbox: poll: %s", strerror(errno));
            kill(-pid, SIGKILL);
            break;
        }
        if (pr <= 0)
            continue;
        if (pf[0].revents && !drain(out_p[0], c, 0, l.output_cap, output))
            out_open = 0;
        if (pf[1].revents && !drain(ctl_p[0], c, 1, 0, NULL)) {
            ctl_open = 0;
            int64_t soon = clock_now_ns() + DRAIN_AFTER_EXIT_NS;
            if (soon < limit)
                limit = soon;
        }
    }
    int64_t t_end = clock_now_ns();
    /* S is not reaped yet, so its process group id cannot have been reused. */
    kill(-pid, SIGKILL);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    pid = -1;
    if (st != BENCH_OK)
        goto out;

    res->output_bytes = c->total;
    res->wall_s = (double)((c->have_exit ? c->t_exit : t_end) - t0) / 1e9;
    res->isolated = c->have_setup && (c->setup.a & (ISO_NS | ISO_RO)) == (ISO_NS | ISO_RO);
    if (c->have_error) {
        int step = c->error.a >= 0 && c->error.a < STEP_COUNT ? c->error.a : STEP_EXEC;
        if (step == STEP_EXEC)
            st = bench_fail(err, BENCH_ESYS, "sandbox: cannot execute %s: %s", l.python,
                            strerror(c->error.b));
        else
            st = bench_fail(err, BENCH_ESYS, "sandbox: %s: %s", step_names[step],
                            c->error.b ? strerror(c->error.b) : "not available");
        goto out;
    }
    if (!c->have_exit && !backstop && !c->have_setup) {
        st = bench_fail(err, BENCH_ESYS,
                        "sandbox: the setup process ended (wait status %#x) without reporting "
                        "what was granted",
                        (unsigned)status);
        goto out;
    }
    decide(&l, c, backstop, res);
    if (c->keep_failed)
        st = bench_fail(err, BENCH_ENOMEM, "sandbox: out of memory keeping the program's output");
out:
    if (pid > 0) {
        kill(-pid, SIGKILL);
        while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
            ;
    }
    for (int i = 0; i < 2; i++) {
        if (out_p[i] >= 0)
            close(out_p[i]);
        if (ctl_p[i] >= 0)
            close(ctl_p[i]);
    }
    if (null_fd >= 0)
        close(null_fd);
    if (pl && pl->top[0] && remove_tree(pl->top) < 0 && st == BENCH_OK)
        st = bench_fail(err, BENCH_EIO, "sandbox: cannot remove %s: %s", pl->top, strerror(errno));
    free(pl);
    free(c);
    return st;
}

bench_status sandbox_run_python(const sandbox_limits *l, const char *program, size_t len,
                                sandbox_result *res, bench_err *err)
{
    return sandbox_run_python_ex(l, 0, program, len, NULL, res, err);
}
