/* Integration tests: the Python sandbox (sandbox.h, docs/SANDBOX.md).
 *
 * Every hostile program must be contained and leave the machine as it was:
 * an endless loop times out, a fork bomb and a daemonized child leave no
 * process behind, memory hogs fail, writes and deletes outside the
 * program's directory fail, a connection to a port this test listens on
 * never arrives, 50 MB of output costs the harness nothing, the environment
 * is scrubbed, the temporary directory is removed after every run and eight
 * runs go in parallel. On this machine (root, kernel granting namespaces)
 * isolation must be granted; the degraded path (no namespaces) is exercised
 * with SANDBOX_NO_NAMESPACES and its documented weaker guarantees asserted. */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "cutest.h"
#include "sandbox.h"

static char *g_base;    /* dedicated tmp_base: must be empty after every run */
static char *g_outside; /* a world-writable directory the programs must not touch */

static int entries(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return -1;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
            n++;
    closedir(d);
    return n;
}

static void limits(sandbox_limits *l)
{
    sandbox_limits_default(l);
    l->tmp_base = g_base;
}

/* Run program; the run must not be a sandbox error and must leave tmp_base
 * empty. Returns the wall time of the call in seconds. */
static double run_flags(const sandbox_limits *l, unsigned flags, const char *program,
                        sandbox_result *res, dynbuf *output)
{
    bench_err e = {{0}};
    int64_t t0 = clock_now_ns();
    bench_status st = sandbox_run_python_ex(l, flags, program, strlen(program), output, res, &e);
    double dt = (double)(clock_now_ns() - t0) / 1e9;
    if (st != BENCH_OK)
        fprintf(stderr, "\nsandbox error: %s\n", e.msg);
    CU_ASSERT_EQUAL(st, BENCH_OK);
    CU_ASSERT_EQUAL(entries(g_base), 0);
    return dt;
}

static double run(const char *program, sandbox_result *res)
{
    sandbox_limits l;
    limits(&l);
    double dt = run_flags(&l, 0, program, res, NULL);
    CU_ASSERT_EQUAL(res->isolated, 1); /* root, and this kernel grants namespaces */
    return dt;
}

/* Processes whose command line contains marker (zombies have none). */
static int processes_with(const char *marker)
{
    DIR *d = opendir("/proc");
    if (!d)
        return -1;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] < '1' || e->d_name[0] > '9')
            continue;
        char path[300], buf[4096];
        snprintf(path, sizeof path, "/proc/%s/cmdline", e->d_name);
        int fd = open(path, O_RDONLY);
        if (fd < 0)
            continue;
        ssize_t r = read(fd, buf, sizeof buf - 1);
        close(fd);
        if (r <= 0)
            continue;
        for (ssize_t i = 0; i < r; i++)
            if (buf[i] == '\0')
                buf[i] = ' ';
        buf[r] = '\0';
        if (strstr(buf, marker))
            n++;
    }
    closedir(d);
    return n;
}

static void test_pass_and_fail(void)
{
    sandbox_result r;
    run("print('hello')\n", &r);
    CU_ASSERT_EQUAL(r.outcome, SANDBOX_PASSED);
    CU_ASSERT_EQUAL(r.exit_code, 0);
    CU_ASSERT_EQUAL(r.term_signal, 0);
    CU_ASSERT_EQUAL(r.output_bytes, 6);
    CU_ASSERT(r.wall_s > 0 && r.wall_s < 3);

    run("def f(x):\n    return x + 1\n\nassert f(1) == 3\n", &r);
    CU_ASSERT_EQUAL(r.outcome, SANDBOX_FAILED);
    CU_ASSERT_EQUAL(r.exit_code, 1);
    CU_ASSERT_PTR_NOT_NULL(strstr(r.detail, "AssertionError"));

    run("print('noise')\nprint(x)\n", &r);
    CU_ASSERT_EQUAL(r.outcome, SANDBOX_FAILED);
    CU_ASSERT_STRING_EQUAL(r.detail, "NameError: name 'x' is not defined");

    run("import sys\nsys.exit(3)\n", &r);
    CU_ASSERT_EQUAL(r.outcome, SANDBOX_FAILED);
    CU_ASSERT_EQUAL(r.exit_code, 3);
    CU_ASSERT_STRING_EQUAL(r.detail, "exited with status 3");

    run("import os, signal\nos.kill(os.getpid(), signal.SIGSEGV)\n", &r);
    CU_ASSERT_EQUAL(r.outcome, SANDBOX_FAILED);
    CU_ASSERT_EQUAL(r.exit_code, -1);
    CU_ASSERT_EQUAL(r.term_signal, SIGSEGV);
    CU_ASSERT_PTR_NOT_NULL(strstr(r.detail, "killed by signal 11 (SIGSEGV"));

    run("def f(:\n    pass\n", &r);
    CU_ASSERT_EQUAL(r.outcome, SANDBOX_FAILED);
    CU_ASSERT_PTR_NOT_NULL(strstr(r.detail, "SyntaxError"));
}

/* What the program sees: nobody, alone in its PID namespace, its own
 * directory as cwd, HOME and TMPDIR, a network namespace with only its own
 * loopback, no socket(2) but socketpair(2), a read-only root. */
static void test_inside_view(void)
{
    sandbox_result r;
    dynbuf out;
    dynbuf_init(&out, 1 << 16);
    sandbox_limits l;
    limits(&l);
    run_flags(&l, 0,
              "import os, sys\n"
              "assert os.getuid() == 65534 and os.getgid() == 65534, os.getuid()\n"
              "assert os.getgroups() == [], os.getgroups()\n"
              "pids = sorted(int(p) for p in os.listdir('/proc') if p.isdigit())\n"
              "assert pids == [1, 2], pids\n"
              "assert os.getpid() == 2\n"
              "assert os.environ['HOME'] == os.getcwd() == os.environ['TMPDIR']\n"
              "assert os.path.basename(os.getcwd()) == 'work'\n"
              "open('scratch.txt', 'w').write('ok')\n"
              "os.makedirs('a/b/c')\n"
              "open('a/b/c/f', 'w').write('x')\n"
              "os.chmod('a/b', 0o500)\n"
              "os.symlink('/etc', 'etc-link')\n"
              "import tempfile\n"
              "with tempfile.NamedTemporaryFile() as t:\n"
              "    assert t.name.startswith(os.getcwd())\n"
              "net = [l.split(':')[0].strip() for l in open('/proc/self/net/dev')][2:]\n"
              "assert net == ['lo'], net\n"
              "import socket\n"
              "a, b = socket.socketpair()\n"
              "a.send(b'x')\n"
              "assert b.recv(1) == b'x'\n"
              "try:\n"
              "    socket.socket(socket.AF_UNIX)\n"
              "    raise SystemExit('a socket could be created')\n"
              "except PermissionError:\n"
              "    pass\n"
              "print(open('/proc/self/status').read().count('NoNewPrivs:\\t1'))\n"
              "sys.stdout.flush()\n",
              &r, &out);
    if (r.outcome != SANDBOX_PASSED)
        fprintf(stderr, "\ninside view: %s\n%s\n", r.detail, out.p ? out.p : "");
    CU_ASSERT_EQUAL(r.outcome, SANDBOX_PASSED);
    CU_ASSERT_EQUAL(r.isolated, 1);
    CU_ASSERT_STRING_EQUAL(out.p ? out.p : "", "1\n");
    dynbuf_free(&out);
}

static void test_timeout(void)
{
    sandbox_result r;
    sandbox_limits l;
    limits(&l);
    l.timeout_s = 1.0;
    double dt = run_flags(&l, 0, "while True: pass\n", &r, NULL);
    CU_ASSERT_EQUAL(r.outcome, SANDBOX_TIMEOUT);
    CU_ASSERT_EQUAL(r.isolated, 1);
    CU_ASSERT_EQUAL(r.term_signal, SIGKILL);
    CU_ASSERT_PTR_NOT_NULL(strstr(r.detail, "timed out"));
    CU_ASSERT(dt >= 1.0 && dt < 2.0);
    CU_ASSERT(r.wall_s >= 1.0 && r.wall_s < 2.0);

    /* a sleeping program is timed out by the wall clock too */
    dt = run_flags(&l, 0, "import time\ntime.sleep(60)\n", &r, NULL);
    CU_ASSERT_EQUAL(r.outcome, SANDBOX_TIMEOUT);
    CU_ASSERT(dt < 2.0);
}

static void test_cpu_limit(void)
{
    sandbox_result r;
    sandbox_limits l;
    limits(&l);
    l.timeout_s = 10.0;
    l.cpu_s = 1.0;
    double dt = run_flags(&l, 0, "while True: pass\n", &r, NULL);
    CU_ASSERT_EQUAL(r.outcome, SANDBOX_TIMEOUT);
    CU_ASSERT_EQUAL(r.term_signal, SIGXCPU);
    CU_ASSERT_PTR_NOT_NULL(strstr(r.detail, "SIGXCPU"));
    CU_ASSERT_PTR_NOT_NULL(strstr(r.detail, "CPU time limit"));
    CU_ASSERT(dt < 8.0); /* well before the wall clock (CPU time runs slower on a busy machine) */
}

static void test_fork_bomb(void)
{
    char marker[64], prog[512];
    snprintf(marker, sizeof marker, "bench-fork-bomb-%d", (int)getpid());
    /* exec so that every process of the bomb carries the marker in its
     * command line */
    snprintf(prog, sizeof prog,
             "import os, sys\n"
             "os.execv(sys.executable, [sys.executable, '-c', "
             "'import os\\nwhile True:\\n  os.fork()\\n# %s'])\n",
             marker);
    sandbox_result r;
    run(prog, &r);
    CU_ASSERT(r.outcome == SANDBOX_FAILED || r.outcome == SANDBOX_TIMEOUT);
    CU_ASSERT_EQUAL(processes_with(marker), 0);
}

/* A child that leaves the process group and the session and outlives the
 * program dies with it. */
static void test_daemon(void)
{
    char marker[64], prog[1024];
    snprintf(marker, sizeof marker, "bench-daemon-%d", (int)getpid());
    snprintf(prog, sizeof prog,
             "import os, sys, time\n"
             "if os.fork() == 0:\n"
             "    os.setsid()\n"
             "    if os.fork() == 0:\n"
             "        os.execv(sys.executable, [sys.executable, '-c', "
             "'import time\\ntime.sleep(30)\\n# %s'])\n"
             "    os._exit(0)\n"
             "time.sleep(0.5)\n",
             marker);
    sandbox_result r;
    run(prog, &r);
    CU_ASSERT_EQUAL(r.outcome, SANDBOX_PASSED);
    CU_ASSERT_EQUAL(processes_with(marker), 0);
}

static void test_memory(void)
{
    sandbox_result r;
    run("x = bytearray(8 << 30)\n", &r);
    CU_ASSERT_EQUAL(r.outcome, SANDBOX_FAILED);
    CU_ASSERT_PTR_NOT_NULL(strstr(r.detail, "MemoryError"));

    sandbox_limits l;
    limits(&l);
    l.timeout_s = 10;
    run_flags(&l, 0, "l = []\nwhile True:\n    l.append(bytearray(1 << 20))\n", &r, NULL);
    CU_ASSERT_EQUAL(r.outcome, SANDBOX_FAILED);
    CU_ASSERT_PTR_NOT_NULL(strstr(r.detail, "MemoryError"));
}

static int exists(const char *path)
{
    struct stat sb;
    return lstat(path, &sb) == 0;
}

static void test_write_outside(void)
{
    char target[1024], prog[2048];
    sandbox_result r;
    /* a world-writable directory: only the read-only mount stops the write */
    snprintf(target, sizeof target, "%s/pwned", g_outside);
    snprintf(prog, sizeof prog, "open('%s', 'w').write('x')\n", target);
    run(prog, &r);
    CU_ASSERT_EQUAL(r.outcome, SANDBOX_FAILED);
    CU_ASSERT_PTR_NOT_NULL(strstr(r.detail, "Read-only file system"));
    CU_ASSERT_FALSE(exists(target));

    run("open('/etc/bench_sandbox_probe', 'w').write('x')\n", &r);
    CU_ASSERT_EQUAL(r.outcome, SANDBOX_FAILED);
    CU_ASSERT_FALSE(exists("/etc/bench_sandbox_probe"));

    run("import os\nos.mkdir('/tmp/bench_sandbox_probe_dir')\n", &r);
    CU_ASSERT_EQUAL(r.outcome, SANDBOX_FAILED);
    CU_ASSERT_FALSE(exists("/tmp/bench_sandbox_probe_dir"));

    /* a file bigger than RLIMIT_FSIZE in its own directory */
    run("open('big', 'wb').write(b'x' * (32 << 20))\n", &r);
    CU_ASSERT_EQUAL(r.outcome, SANDBOX_FAILED);
    CU_ASSERT_PTR_NOT_NULL(strstr(r.detail, "File too large"));
}

static void test_delete_outside(void)
{
    char victim[1024], prog[2048];
    snprintf(victim, sizeof victim, "%s/victim.txt", g_outside);
    FILE *f = fopen(victim, "w");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    fputs("keep me\n", f);
    fclose(f);
    chmod(victim, 0666);
    snprintf(prog, sizeof prog, "import os\nos.remove('%s')\n", victim);
    sandbox_result r;
    run(prog, &r);
    CU_ASSERT_EQUAL(r.outcome, SANDBOX_FAILED);
    CU_ASSERT_TRUE(exists(victim));
    snprintf(prog, sizeof prog, "import shutil\nshutil.rmtree('%s')\n", g_outside);
    run(prog, &r);
    CU_ASSERT_EQUAL(r.outcome, SANDBOX_FAILED);
    CU_ASSERT_TRUE(exists(victim));
    remove(victim);
}

/* A TCP listener on 127.0.0.1 of the host's network namespace; returns the
 * socket, port in *port. */
static int listener(int *port)
{
    int s = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t al = sizeof a;
    if (s < 0 || bind(s, (struct sockaddr *)&a, sizeof a) < 0 || listen(s, 16) < 0 ||
        getsockname(s, (struct sockaddr *)&a, &al) < 0)
        return -1;
    *port = ntohs(a.sin_port);
    return s;
}

static int accepted(int s)
{
    int n = 0, c;
    while ((c = accept(s, NULL, NULL)) >= 0) {
        close(c);
        n++;
    }
    return n;
}

static void test_network(void)
{
    int port = 0;
    int s = listener(&port);
    CU_ASSERT_FATAL(s >= 0);
    char prog[512];
    snprintf(prog, sizeof prog,
             "import socket\nsocket.create_connection(('127.0.0.1', %d), timeout=1).send(b'hi')\n",
             port);
    sandbox_result r;
    run(prog, &r);
    CU_ASSERT_EQUAL(r.outcome, SANDBOX_FAILED);
    CU_ASSERT_EQUAL(accepted(s), 0);
    run("import socket\nsocket.getaddrinfo('example.com', 80)\n", &r);
    CU_ASSERT_EQUAL(r.outcome, SANDBOX_FAILED);
    close(s);
}

static long vm_hwm_kb(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long kb = -1;
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "VmHWM: %ld kB", &kb) == 1)
            break;
    if (f)
        fclose(f);
    return kb;
}

static void test_big_output(void)
{
    sandbox_limits l;
    limits(&l);
    l.timeout_s = 20;
    dynbuf out;
    dynbuf_init(&out, 1 << 20);
    sandbox_result r;
    long before = vm_hwm_kb();
    run_flags(&l, 0,
              "import sys\nb = b'x' * (1 << 20)\nfor _ in range(50):\n"
              "    sys.stdout.buffer.write(b)\n",
              &r, &out);
    long after = vm_hwm_kb();
    CU_ASSERT_EQUAL(r.outcome, SANDBOX_PASSED);
    CU_ASSERT_EQUAL(r.output_bytes, (size_t)50 << 20);
    CU_ASSERT_EQUAL(out.len, l.output_cap);
    CU_ASSERT(after - before < 8 * 1024);
    dynbuf_free(&out);

    /* a failure after lots of output still reports the exception line */
    dynbuf_init(&out, 1 << 20);
    run_flags(&l, 0, "print('y' * (1 << 21))\nraise ValueError('at the end')\n", &r, &out);
    CU_ASSERT_EQUAL(r.outcome, SANDBOX_FAILED);
    CU_ASSERT_STRING_EQUAL(r.detail, "ValueError: at the end");
    CU_ASSERT(out.len <= l.output_cap);
    dynbuf_free(&out);
}

static void test_environment(void)
{
    setenv("BENCH_SECRET", "hunter2", 1);
    sandbox_result r;
    run("import os\n"
        "assert 'BENCH_SECRET' not in os.environ\n"
        "assert sorted(os.environ) == ['HOME', 'LANG', 'PATH', 'PYTHONDONTWRITEBYTECODE', "
        "'PYTHONHASHSEED', 'TMPDIR'], sorted(os.environ)\n"
        "assert os.environ['PATH'] == '/usr/bin:/bin'\n"
        "import sys\nassert sys.flags.isolated == 1 and sys.dont_write_bytecode\n",
        &r);
    if (r.outcome != SANDBOX_PASSED)
        fprintf(stderr, "\nenvironment: %s\n", r.detail);
    CU_ASSERT_EQUAL(r.outcome, SANDBOX_PASSED);
    unsetenv("BENCH_SECRET");
}

#define PARALLEL_PROG "import math\nassert math.factorial(20) > 0\nprint('ok')\n"

static void *parallel_one(void *arg)
{
    sandbox_result *r = arg;
    sandbox_limits l;
    limits(&l);
    l.timeout_s = 20;
    bench_err e;
    if (sandbox_run_python(&l, PARALLEL_PROG, strlen(PARALLEL_PROG), r, &e) != BENCH_OK)
        r->outcome = -1;
    return NULL;
}

static void test_parallel(void)
{
    pthread_t t[8];
    sandbox_result r[8];
    for (int i = 0; i < 8; i++)
        CU_ASSERT_EQUAL_FATAL(pthread_create(&t[i], NULL, parallel_one, &r[i]), 0);
    for (int i = 0; i < 8; i++)
        pthread_join(t[i], NULL);
    for (int i = 0; i < 8; i++) {
        CU_ASSERT_EQUAL(r[i].outcome, SANDBOX_PASSED);
        CU_ASSERT_EQUAL(r[i].isolated, 1);
        CU_ASSERT_EQUAL(r[i].output_bytes, 3);
    }
    CU_ASSERT_EQUAL(entries(g_base), 0);
}

static void test_errors(void)
{
    sandbox_limits l;
    limits(&l);
    l.python = "/nonexistent/python3";
    sandbox_result r;
    bench_err e = {{0}};
    CU_ASSERT_EQUAL(sandbox_run_python(&l, "pass\n", 5, &r, &e), BENCH_ESYS);
    CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "cannot execute /nonexistent/python3"));
    CU_ASSERT_EQUAL(entries(g_base), 0);

    limits(&l);
    l.require_isolation = 1;
    CU_ASSERT_EQUAL(sandbox_run_python_ex(&l, SANDBOX_NO_NAMESPACES, "pass\n", 5, NULL, &r, &e),
                    BENCH_ESYS);
    CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "isolation was required"));
    CU_ASSERT_EQUAL(entries(g_base), 0);
    /* granted here, so required isolation runs */
    CU_ASSERT_EQUAL(sandbox_run_python(&l, "pass\n", 5, &r, &e), BENCH_OK);
    CU_ASSERT_EQUAL(r.outcome, SANDBOX_PASSED);
    CU_ASSERT_EQUAL(r.isolated, 1);

    limits(&l);
    l.timeout_s = -1;
    CU_ASSERT_EQUAL(sandbox_run_python(&l, "pass\n", 5, &r, &e), BENCH_EUSAGE);
    limits(&l);
    l.tmp_base = "/nonexistent-bench-base";
    CU_ASSERT_EQUAL(sandbox_run_python(&l, "pass\n", 5, &r, &e), BENCH_EIO);
    CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "/nonexistent-bench-base"));
}

/* Without namespaces (as where the kernel refuses them): isolated is 0; the
 * rlimits, the timeout, nobody, the socket filter (so no network), the
 * scrubbed environment and the process cleanup still hold; the file system
 * is protected only by nobody's permissions (docs/SANDBOX.md). */
static void test_degraded(void)
{
    sandbox_limits l;
    limits(&l);
    l.timeout_s = 1;
    sandbox_result r;
    run_flags(&l, SANDBOX_NO_NAMESPACES, "import os\nassert os.getuid() == 65534\n", &r, NULL);
    CU_ASSERT_EQUAL(r.isolated, 0);
    CU_ASSERT_EQUAL(r.outcome, SANDBOX_PASSED);

    double dt = run_flags(&l, SANDBOX_NO_NAMESPACES, "while True: pass\n", &r, NULL);
    CU_ASSERT_EQUAL(r.outcome, SANDBOX_TIMEOUT);
    CU_ASSERT(dt < 2.0);

    run_flags(&l, SANDBOX_NO_NAMESPACES, "x = bytearray(8 << 30)\n", &r, NULL);
    CU_ASSERT_EQUAL(r.outcome, SANDBOX_FAILED);
    CU_ASSERT_PTR_NOT_NULL(strstr(r.detail, "MemoryError"));

    char marker[64], prog[2048];
    snprintf(marker, sizeof marker, "bench-degraded-bomb-%d", (int)getpid());
    snprintf(prog, sizeof prog,
             "import os, sys\n"
             "os.execv(sys.executable, [sys.executable, '-c', "
             "'import os\\nwhile True:\\n  os.fork()\\n# %s'])\n",
             marker);
    l.timeout_s = 3;
    run_flags(&l, SANDBOX_NO_NAMESPACES, prog, &r, NULL);
    CU_ASSERT(r.outcome == SANDBOX_FAILED || r.outcome == SANDBOX_TIMEOUT);
    CU_ASSERT_EQUAL(processes_with(marker), 0);

    snprintf(marker, sizeof marker, "bench-degraded-daemon-%d", (int)getpid());
    snprintf(prog, sizeof prog,
             "import os, sys, time\n"
             "if os.fork() == 0:\n"
             "    os.setsid()\n"
             "    if os.fork() == 0:\n"
             "        os.execv(sys.executable, [sys.executable, '-c', "
             "'import time\\ntime.sleep(30)\\n# %s'])\n"
             "    os._exit(0)\n"
             "time.sleep(0.5)\n",
             marker);
    run_flags(&l, SANDBOX_NO_NAMESPACES, prog, &r, NULL);
    CU_ASSERT_EQUAL(r.outcome, SANDBOX_PASSED);
    CU_ASSERT_EQUAL(processes_with(marker), 0);

    /* as nobody: root's files are safe, a world-writable directory is not */
    run_flags(&l, SANDBOX_NO_NAMESPACES, "open('/etc/bench_sandbox_probe', 'w').write('x')\n", &r,
              NULL);
    CU_ASSERT_EQUAL(r.outcome, SANDBOX_FAILED);
    CU_ASSERT_FALSE(exists("/etc/bench_sandbox_probe"));
    char target[1024];
    snprintf(target, sizeof target, "%s/degraded-write", g_outside);
    snprintf(prog, sizeof prog, "open('%s', 'w').write('x')\n", target);
    run_flags(&l, SANDBOX_NO_NAMESPACES, prog, &r, NULL);
    CU_ASSERT_EQUAL(r.outcome, SANDBOX_PASSED);
    CU_ASSERT_TRUE(exists(target));
    remove(target);

    /* no network namespace, but the socket filter still holds */
    int port = 0;
    int s = listener(&port);
    CU_ASSERT_FATAL(s >= 0);
    snprintf(prog, sizeof prog,
             "import socket\nsocket.create_connection(('127.0.0.1', %d), timeout=1).close()\n",
             port);
    run_flags(&l, SANDBOX_NO_NAMESPACES, prog, &r, NULL);
    CU_ASSERT_EQUAL(r.outcome, SANDBOX_FAILED);
    CU_ASSERT_PTR_NOT_NULL(strstr(r.detail, "PermissionError"));
    CU_ASSERT_EQUAL(accepted(s), 0);
    close(s);
}

/* The kernel refusing namespaces for real: a child process whose seccomp
 * filter makes unshare(2) fail with EPERM, as in an unprivileged container.
 * Exit status bits: 1 = not run, 2 = not passed, 4 = isolated, 8 = required
 * isolation was not refused with EPERM, 16 = temporary directory left. */
static int refused_child(void)
{
    struct sock_filter f[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_unshare, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    };
    struct sock_fprog prog = {sizeof f / sizeof f[0], f};
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 ||
        prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) < 0)
        return 1;
    sandbox_limits l;
    limits(&l);
    sandbox_result r;
    bench_err e = {{0}};
    int rc = 0;
    const char *src = "import os\nassert os.getuid() == 65534\n";
    if (sandbox_run_python(&l, src, strlen(src), &r, &e) != BENCH_OK)
        return 1;
    rc |= r.outcome == SANDBOX_PASSED ? 0 : 2;
    rc |= r.isolated ? 4 : 0;
    l.require_isolation = 1;
    if (sandbox_run_python(&l, "pass\n", 5, &r, &e) != BENCH_ESYS ||
        !strstr(e.msg, "isolation was required but the kernel refused it: Operation not permitted"))
        rc |= 8;
    rc |= entries(g_base) == 0 ? 0 : 16;
    return rc;
}

static void test_refused(void)
{
    fflush(NULL);
    pid_t pid = fork();
    CU_ASSERT_FATAL(pid >= 0);
    if (pid == 0)
        _exit(refused_child());
    int status = 0;
    CU_ASSERT_EQUAL(waitpid(pid, &status, 0), pid);
    CU_ASSERT_TRUE(WIFEXITED(status));
    CU_ASSERT_EQUAL(WEXITSTATUS(status), 0);
}

int main(void)
{
    g_base = cutest_tmpdir("sandbox-base");
    g_outside = cutest_tmpdir("sandbox-outside");
    if (!g_base || !g_outside) {
        fprintf(stderr, "cannot create test directories\n");
        return 1;
    }
    /* the base must be traversable; the outside directory world-writable */
    chmod(g_base, 0755);
    chmod(g_outside, 0777);
    CU_TestInfo tests[] = {
        {"pass and fail", test_pass_and_fail},
        {"the program's view", test_inside_view},
        {"wall-clock timeout", test_timeout},
        {"CPU limit", test_cpu_limit},
        {"fork bomb leaves nothing", test_fork_bomb},
        {"daemonized child dies", test_daemon},
        {"memory hogs fail", test_memory},
        {"no writes outside", test_write_outside},
        {"no deletes outside", test_delete_outside},
        {"no network", test_network},
        {"50 MB of output", test_big_output},
        {"scrubbed environment", test_environment},
        {"8 runs in parallel", test_parallel},
        {"setup errors", test_errors},
        {"degraded: no namespaces", test_degraded},
        {"degraded: unshare refused (EPERM)", test_refused},
        CU_TEST_INFO_NULL,
    };
    int rc = cutest_run("sandbox", tests);
    rmdir(g_base);
    rmdir(g_outside);
    free(g_base);
    free(g_outside);
    return rc;
}
