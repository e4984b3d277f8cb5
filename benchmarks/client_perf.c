/* benchmarks/client_perf.c - the client's figures of issue 7: its ceiling,
 * its timestamp accuracy, its memory and storage, and an end-to-end sweep.
 *
 *   client_perf BENCH_EXE MODE [WORKDIR]
 *
 * MODE is one of
 *   ceiling   the simulator in its zero-delay mode (`bench serve --zero-delay
 *             --events-per-write 64`) against `bench run --threads 1` at
 *             concurrency 1, 64 and 1,024: chunks/s absorbed, client CPU per
 *             chunk, and the simulator's CPU (which side saturated);
 *   paced     the same client against the simulator's latency model sped up
 *             (so each read finds one event): client CPU per chunk;
 *   accuracy  every chunk's recorded time against the simulator's send log
 *             (--log-sends) at concurrency 1, 8, 64, 512 at the model's own
 *             decode rate, and TTFT and ITL as the client computed them
 *             against the same quantities from the log;
 *   memory    resident bytes per in-flight stream (1,024 vs 1) and per
 *             recorded chunk (a long level vs a short one), HDF5 bytes per
 *             chunk, and the event-loop lag at 1,024 streams;
 *   e2e       wall time and peak memory of a 1-8 sweep (embedded simulator);
 *   all       every mode above, in that order.
 *
 * Every figure is printed as a line of text, and every figure of
 * docs/PERFORMANCE.md's table also as one machine-readable line
 *
 *   ROW<TAB>figure<TAB>target<TAB>measured<TAB>Python peer
 *
 * which benchmarks/run-all gathers into that table. Sizes come from the
 * environment (PERF_* below; defaults keep run-all near 5 minutes on a
 * 2-core machine). bench and the simulator always run as separate
 * processes; the simulator is started here (not by bench) so that its CPU
 * is measured apart and its flags are ours. The soft limit on open files is
 * raised to the hard limit first (1,024 streams need more than 1,024
 * descriptors in each process); both children inherit it.
 *
 * Client CPU comes from the level's own self-measurement when the results
 * file has it (attribute client_cpu_s: the worker threads; docs/FORMAT.md),
 * else from the bench child's rusage (wait4), which also counts the main
 * thread's HDF5 writing and start-up; both are printed when both exist.
 * The single-level runs (ceiling, paced, memory) pass --tokenizer off:
 * sizing prompts through the simulator's /tokenize is a round trip per
 * request before the level starts, not part of the chunk path; accuracy
 * and e2e run as a user would. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <hdf5.h>

#include "clock.h"
#include "results_read.h"
#include "rxring.h"
#include "stats.h"

#define MODEL "mistral-7b"

static const char *g_bench; /* the bench executable */
static const char *g_dir;   /* working directory for files */

/* ------------------------------------------------------------------------
 * Settings from the environment. */

static long env_long(const char *name, long dflt)
{
    const char *v = getenv(name);
    if (!v || !*v)
        return dflt;
    char *end;
    long x = strtol(v, &end, 10);
    if (*end || x <= 0) {
        fprintf(stderr, "client_perf: %s=%s is not a positive integer; using %ld\n", name, v, dflt);
        return dflt;
    }
    return x;
}

static double env_double(const char *name, double dflt)
{
    const char *v = getenv(name);
    if (!v || !*v)
        return dflt;
    char *end;
    double x = strtod(v, &end);
    if (*end || !(x > 0)) {
        fprintf(stderr, "client_perf: %s=%s is not a positive number; using %g\n", name, v, dflt);
        return dflt;
    }
    return x;
}

static void row(const char *figure, const char *target, const char *measured, const char *peer)
{
    printf("ROW\t%s\t%s\t%s\t%s\n", figure, target, measured, peer);
    fflush(stdout);
}

/* ------------------------------------------------------------------------
 * Child processes. */

static double tv_s(struct timeval tv)
{
    return (double)tv.tv_sec + (double)tv.tv_usec / 1e6;
}

static double ru_cpu_s(const struct rusage *ru)
{
    return tv_s(ru->ru_utime) + tv_s(ru->ru_stime);
}

typedef struct {
    pid_t pid;
    char url[256];
    int64_t t_start;
} sim_proc;

/* Start `bench serve --simulate MODEL --port 0 EXTRA...` and wait for its
 * "listening on URL" line. The child dies with us (PR_SET_PDEATHSIG). */
static int sim_start(sim_proc *s, const char *const *extra)
{
    int pfd[2];
    if (pipe(pfd) != 0)
        return -1;
    const char *argv[32];
    int n = 0;
    argv[n++] = g_bench;
    argv[n++] = "serve";
    argv[n++] = "--simulate";
    argv[n++] = MODEL;
    argv[n++] = "--port";
    argv[n++] = "0";
    for (; extra && *extra && n < 31; extra++)
        argv[n++] = *extra;
    argv[n] = NULL;
    fflush(NULL);
    s->t_start = clock_now_ns();
    s->pid = fork();
    if (s->pid < 0)
        return -1;
    if (s->pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGTERM);
        dup2(pfd[1], STDOUT_FILENO);
        close(pfd[0]);
        close(pfd[1]);
        execv(g_bench, (char *const *)argv);
        _exit(127);
    }
    close(pfd[1]);
    char buf[512];
    size_t got = 0;
    while (got < sizeof buf - 1) {
        ssize_t r = read(pfd[0], buf + got, 1);
        if (r <= 0 || buf[got] == '\n')
            break;
        got++;
    }
    buf[got] = '\0';
    close(pfd[0]); /* the simulator prints nothing else on stdout */
    const char *u = strstr(buf, "http://");
    if (!u) {
        fprintf(stderr, "client_perf: the simulator did not start: '%s'\n", buf);
        kill(s->pid, SIGTERM);
        waitpid(s->pid, NULL, 0);
        return -1;
    }
    snprintf(s->url, sizeof s->url, "%.*s", (int)strcspn(u, " \n"), u);
    return 0;
}

/* Stop the simulator; its CPU and wall time. */
static int sim_stop(sim_proc *s, double *cpu_s, double *wall_s)
{
    struct rusage ru;
    int status;
    kill(s->pid, SIGTERM);
    if (wait4(s->pid, &status, 0, &ru) < 0)
        return -1;
    *wall_s = (double)(clock_now_ns() - s->t_start) / 1e9;
    *cpu_s = ru_cpu_s(&ru);
    return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}

typedef struct {
    int status; /* exit status, -1 killed */
    double wall_s, cpu_s, user_s, sys_s;
    double maxrss_bytes; /* the child's, or its largest reaped child's */
} child_run;

/* Run `bench ARGS...` with stdout and stderr to WORKDIR/NAME.log. */
static int bench_run(const char *name, const char *const *args, child_run *out)
{
    char log[4096];
    snprintf(log, sizeof log, "%s/%s.log", g_dir, name);
    const char *argv[64];
    int n = 0;
    argv[n++] = g_bench;
    for (; *args && n < 63; args++)
        argv[n++] = *args;
    argv[n] = NULL;
    fflush(NULL);
    int64_t t0 = clock_now_ns();
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fd >= 0) {
            dup2(fd, STDOUT_FILENO);
            dup2(fd, STDERR_FILENO);
            close(fd);
        }
        prctl(PR_SET_PDEATHSIG, SIGTERM);
        execv(g_bench, (char *const *)argv);
        _exit(127);
    }
    int status;
    struct rusage ru;
    if (wait4(pid, &status, 0, &ru) < 0)
        return -1;
    out->wall_s = (double)(clock_now_ns() - t0) / 1e9;
    out->user_s = tv_s(ru.ru_utime);
    out->sys_s = tv_s(ru.ru_stime);
    out->cpu_s = out->user_s + out->sys_s;
    out->maxrss_bytes = (double)ru.ru_maxrss * 1024.0;
    out->status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    if (out->status != 0) {
        fprintf(stderr, "client_perf: bench exited %d; see %s\n", out->status, log);
        return -1;
    }
    return 0;
}

/* ------------------------------------------------------------------------
 * Reading a level back. */

typedef struct {
    int c;
    uint64_t chunks, requests;
    double wall_s;          /* t_end - t_start of the level */
    double cpu_s;           /* client_cpu_s (worker threads), NAN when absent */
    double process_cpu_s;   /* client_process_cpu_s, NAN when absent */
    double cpu_busiest;     /* client_cpu_busiest, NAN when absent */
    double loop_lag_p99_ms; /* NAN when absent */
    double peak_inflight;   /* NAN when absent */
    double wakeups;         /* loop_wakeups, NAN when absent */
} level_fig;

/* A numeric attribute of /levels/c<c>, or NAN when the file has none. */
static double level_attr(hid_t file, int c, const char *name)
{
    char group[64];
    double v = NAN;
    snprintf(group, sizeof group, "/levels/c%d", c);
    if (H5Aexists_by_name(file, group, name, H5P_DEFAULT) <= 0)
        return NAN;
    hid_t a = H5Aopen_by_name(file, group, name, H5P_DEFAULT, H5P_DEFAULT);
    if (a < 0)
        return NAN;
    if (H5Aread(a, H5T_NATIVE_DOUBLE, &v) < 0)
        v = NAN;
    H5Aclose(a);
    return v;
}

static int read_level(const char *h5, int c, level_fig *out)
{
    results_file *f = NULL;
    bench_err e;
    memset(out, 0, sizeof *out);
    out->c = c;
    if (results_open(h5, &f, &e)) {
        fprintf(stderr, "client_perf: %s\n", e.msg);
        return -1;
    }
    int found = 0;
    for (size_t i = 0; i < results_file_level_count(f); i++) {
        const results_level_info *li = results_file_level(f, i);
        if (li->concurrency != c)
            continue;
        found = 1;
        out->wall_s = (double)(li->t_end_ns - li->t_start_ns) / 1e9;
        out->requests = li->requests_ok + li->requests_failed + li->requests_warmup;
        if (li->requests_failed)
            fprintf(stderr, "client_perf: %s c%d: %" PRIu64 " failed requests\n", h5, c,
                    li->requests_failed);
    }
    int rc = found && !results_chunk_count(f, c, &out->chunks, &e) ? 0 : -1;
    results_file_close(f);
    if (rc) {
        fprintf(stderr, "client_perf: %s: no level c%d\n", h5, c);
        return -1;
    }
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    hid_t file = H5Fopen(h5, H5F_ACC_RDONLY, H5P_DEFAULT);
    out->cpu_s = out->process_cpu_s = out->cpu_busiest = out->loop_lag_p99_ms = out->peak_inflight =
        out->wakeups = NAN;
    if (file >= 0) {
        out->cpu_s = level_attr(file, c, "client_cpu_s");
        out->process_cpu_s = level_attr(file, c, "client_process_cpu_s");
        out->cpu_busiest = level_attr(file, c, "client_cpu_busiest");
        out->loop_lag_p99_ms = level_attr(file, c, "loop_lag_p99_ms");
        out->peak_inflight = level_attr(file, c, "peak_inflight");
        out->wakeups = level_attr(file, c, "loop_wakeups");
        H5Fclose(file);
    }
    return 0;
}

static double file_bytes(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0 ? (double)sb.st_size : NAN;
}

/* Client CPU per chunk in microseconds: the worker threads' when the file
 * has it, else the process's from rusage. *what says which. */
static double cpu_per_chunk_us(const level_fig *l, const child_run *r, const char **what)
{
    if (!isnan(l->cpu_s) && l->cpu_s > 0) {
        *what = "worker thread";
        return l->cpu_s / (double)l->chunks * 1e6;
    }
    *what = "process, rusage";
    return r->cpu_s / (double)l->chunks * 1e6;
}

/* ------------------------------------------------------------------------
 * ceiling and paced: one level of `bench run --threads 1` against a
 * simulator started for it alone. */

/* Busy and total jiffies of all CPUs so far (/proc/stat's first line). */
static int cpu_jiffies(double *busy, double *total)
{
    FILE *f = fopen("/proc/stat", "r");
    unsigned long long v[8] = {0};
    int n = f ? fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2], &v[3],
                       &v[4], &v[5], &v[6], &v[7])
              : 0;
    if (f)
        fclose(f);
    if (n < 5)
        return -1;
    *total = 0;
    for (int i = 0; i < 8; i++)
        *total += (double)v[i];
    *busy = *total - (double)v[3] - (double)v[4]; /* less idle and iowait */
    return 0;
}

typedef struct {
    level_fig lv;
    child_run run;
    double sim_cpu_s, sim_wall_s;
    double machine_busy; /* all CPUs' busy fraction over the run, any process; NAN unknown */
} one_level;

static int client_level(const char *name, int c, long requests, long out_tokens,
                        const char *const *sim_args, one_level *o)
{
    sim_proc sp;
    double b0, t0, b1, t1;
    int have_jiffies = cpu_jiffies(&b0, &t0) == 0;
    if (sim_start(&sp, sim_args))
        return -1;
    char h5[4096], cs[32], rs[32], ts[32];
    snprintf(h5, sizeof h5, "%s/%s.h5", g_dir, name);
    snprintf(cs, sizeof cs, "%d", c);
    snprintf(rs, sizeof rs, "%ld", requests);
    snprintf(ts, sizeof ts, "%ld", out_tokens);
    const char *args[] = {"run",
                          "--model",
                          MODEL,
                          "--endpoint",
                          sp.url,
                          "--concurrency",
                          cs,
                          "--requests",
                          rs,
                          "--warmup",
                          "0",
                          "--output-tokens",
                          ts,
                          "--threads",
                          "1",
                          "--tokenizer",
                          "off",
                          "--no-report",
                          "--no-progress",
                          "--output",
                          h5,
                          NULL};
    int rc = bench_run(name, args, &o->run);
    if (sim_stop(&sp, &o->sim_cpu_s, &o->sim_wall_s))
        fprintf(stderr, "client_perf: the simulator did not stop cleanly\n");
    o->machine_busy =
        have_jiffies && cpu_jiffies(&b1, &t1) == 0 && t1 > t0 ? (b1 - b0) / (t1 - t0) : NAN;
    if (rc || read_level(h5, c, &o->lv))
        return -1;
    return 0;
}

static void print_level(const char *label, const one_level *o)
{
    const char *what;
    double us = cpu_per_chunk_us(&o->lv, &o->run, &what);
    double sim_util = o->sim_cpu_s / o->sim_wall_s;
    double cli_util = o->run.cpu_s / o->run.wall_s;
    printf("  %s c=%d: %" PRIu64 " chunks in %.2f s = %.0f chunks/s; client CPU %.3f us/chunk "
           "(%s)",
           label, o->lv.c, o->lv.chunks, o->lv.wall_s, (double)o->lv.chunks / o->lv.wall_s, us,
           what);
    printf(", process %.3f us/chunk (rusage: user %.2f s, sys %.2f s)\n",
           o->run.cpu_s / (double)o->lv.chunks * 1e6, o->run.user_s, o->run.sys_s);
    printf("      busiest worker %.0f%% of a core; bench process %.0f%%, simulator %.0f%% of a "
           "core over its life; all %ld CPUs %.0f%% busy (any process); loop lag p99 %.3f ms; "
           "peak in flight %.0f; %.1f chunks per event-loop wake-up\n",
           100 * o->lv.cpu_busiest, 100 * cli_util, 100 * sim_util, sysconf(_SC_NPROCESSORS_ONLN),
           100 * o->machine_busy, o->lv.loop_lag_p99_ms, o->lv.peak_inflight,
           (double)o->lv.chunks / o->lv.wakeups);
}

/* Which side ran out of CPU: the one nearer a full core. */
static const char *saturated(const one_level *o)
{
    double cli = !isnan(o->lv.cpu_busiest) ? o->lv.cpu_busiest : o->run.cpu_s / o->run.wall_s;
    double sim = o->sim_cpu_s / o->sim_wall_s;
    if (cli >= 0.85 && cli >= sim)
        return "client saturated";
    if (sim >= 0.85)
        return "simulator saturated";
    if (o->machine_busy >= 0.9)
        return "neither process saturated; the machine's CPUs were";
    return "neither saturated";
}

static int mode_ceiling(void)
{
    long chunks = env_long("PERF_CEILING_CHUNKS", 3000000);
    long tokens = env_long("PERF_CEILING_TOKENS", 1024);
    long epw = env_long("PERF_CEILING_EVENTS_PER_WRITE", 64);
    char epws[32];
    snprintf(epws, sizeof epws, "%ld", epw);
    const char *sim_args[] = {"--zero-delay", "--events-per-write", epws, NULL};
    static const int levels[] = {1, 64, 1024};
    one_level o[3];
    printf("ceiling: zero-delay simulator, %ld events per write, %ld-token streams, about %ld "
           "chunks per level, bench --threads 1\n",
           epw, tokens, chunks);
    for (int i = 0; i < 3; i++) {
        long req = chunks / tokens;
        if (req < 2L * levels[i])
            req = 2L * levels[i];
        char name[64];
        snprintf(name, sizeof name, "ceiling-c%d", levels[i]);
        if (client_level(name, levels[i], req, tokens, sim_args, &o[i]))
            return 1;
        print_level("ceiling", &o[i]);
        printf("      -> %s\n", saturated(&o[i]));
    }
    char m[256];
    const char *what;
    double us = cpu_per_chunk_us(&o[1].lv, &o[1].run, &what);
    snprintf(m, sizeof m, "%.2f us (c=64, %s; process %.2f us)", us, what,
             o[1].run.cpu_s / (double)o[1].lv.chunks * 1e6);
    row("client CPU per chunk, many events per read", "<= 1 us", m, "5.7 us");
    for (int i = 0; i < 3; i++) {
        snprintf(m, sizeof m, "%.0f; %.2f us/chunk (%s)", (double)o[i].lv.chunks / o[i].lv.wall_s,
                 cpu_per_chunk_us(&o[i].lv, &o[i].run, &what), saturated(&o[i]));
        char fig[128];
        snprintf(fig, sizeof fig, "chunks/s absorbed by one worker thread, c=%d", levels[i]);
        row(fig, ">= 1,000,000", m, i == 1 ? "about 150,000 (one core, saturated)" : "-");
    }
    return 0;
}

/* ------------------------------------------------------------------------
 * paced, the floor: what one read per event costs on this machine with
 * nothing of bench's in it. A minimal client (raw sockets, one epoll set,
 * one recvmsg per readiness with the kernel's receive stamp, a 250 us pause
 * between turns as bench's read coalescing takes at most) against the same
 * paced simulator: its thread's CPU per event is the cost of the system
 * calls and the kernel's TCP receive path alone, a floor no client that
 * reads every event as it comes can go under here. */

/* Count the events of one read; at each [DONE] send connection i's next
 * request while any are left. -1 when a send fails. */
static int floor_events(const char *buf, size_t n, int fd, const char *req, int rl, long requests,
                        long *started, long *done, long *events)
{
    for (const char *q = buf; (q = memmem(q, (size_t)(buf + n - q), "data: ", 6)); q += 6) {
        if ((size_t)(buf + n - q) < 12 || memcmp(q + 6, "[DONE]", 6) != 0) {
            (*events)++;
            continue;
        }
        (*done)++;
        if (*started < requests && write(fd, req, (size_t)rl) != rl)
            return -1;
        (*started)++;
    }
    return 0;
}

/* ring: read through rxring.h (io_uring multishot receives, one system
 * call a wake-up for all of them) instead of a recvmsg per readiness. */
static int floor_level(const char *sim_url, int c, long requests, long tokens, int ring,
                       double *us_per_event, double *events_per_read, double *events_per_wake)
{
    int port = 0;
    const char *p = strrchr(sim_url, ':');
    if (!p || sscanf(p + 1, "%d", &port) != 1)
        return -1;
    char body[256], req[1024];
    snprintf(body, sizeof body,
             "{\"model\":\"" MODEL "\",\"prompt\":\"floor\",\"max_tokens\":%ld,\"stream\":true,"
             "\"ignore_eos\":true}",
             tokens);
    int rl =
        snprintf(req, sizeof req,
                 "POST /v1/completions HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nContent-Type: "
                 "application/json\r\nAccept: text/event-stream\r\nContent-Length: %zu\r\n\r\n%s",
                 port, strlen(body), body);
    int ep = epoll_create1(EPOLL_CLOEXEC);
    int *fd = calloc((size_t)c, sizeof *fd);
    char *buf = malloc(65536);
    int rc = -1;
    long started = 0, done = 0, events = 0, reads = 0, wakes = 0;
    rxring *rr = NULL;
    bench_err e;
    if (ep < 0 || !fd || !buf)
        goto out;
    if (ring) {
        if (rxring_create((unsigned)c, &rr, &e)) {
            fprintf(stderr, "client_perf: %s\n", e.msg);
            goto out;
        }
        struct epoll_event ev = {.events = EPOLLIN | EPOLLET, .data.u32 = UINT32_MAX};
        if (epoll_ctl(ep, EPOLL_CTL_ADD, rxring_event_fd(rr), &ev) != 0)
            goto out;
    }
    for (int i = 0; i < c; i++) {
        fd[i] = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        int one = 1;
        setsockopt(fd[i], IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        setsockopt(fd[i], SOL_SOCKET, SO_TIMESTAMPNS, &one, sizeof one);
        struct sockaddr_in sa = {.sin_family = AF_INET,
                                 .sin_port = htons((uint16_t)port),
                                 .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
        struct epoll_event ev = {.events = EPOLLIN, .data.u32 = (uint32_t)i};
        if (connect(fd[i], (struct sockaddr *)&sa, sizeof sa) != 0 ||
            (ring ? rxring_arm(rr, fd[i], (uint64_t)i) != 0
                  : epoll_ctl(ep, EPOLL_CTL_ADD, fd[i], &ev) != 0) ||
            write(fd[i], req, (size_t)rl) != rl)
            goto out;
        started++;
    }
    struct rusage r0, r1;
    getrusage(RUSAGE_THREAD, &r0);
    int64_t last_wake = 0;
    while (done < requests) {
        struct epoll_event evs[256];
        int64_t pause = last_wake + 250000 - clock_now_ns();
        if (last_wake && pause > 0) {
            struct timespec ts = {0, (long)pause};
            nanosleep(&ts, NULL);
        }
        int n = ring && rxring_pending(rr) ? 0 : epoll_wait(ep, evs, 256, 5000);
        if (n < 0 || (n == 0 && !ring))
            goto out;
        last_wake = clock_now_ns();
        wakes++;
        for (int round = 0; ring && round < 8; round++) {
            if (rxring_reap(rr) != 0)
                goto out;
            rxring_cqe q;
            while (rxring_next(rr, &q)) {
                if (q.res <= 0 || !q.more || q.t_ns < 0)
                    goto out; /* nothing of the kind happens against the simulator */
                reads++;
                if (floor_events(q.data, (size_t)q.res, fd[q.tag], req, rl, requests, &started,
                                 &done, &events))
                    goto out;
            }
            if (!rxring_pending(rr))
                break;
        }
        for (int k = 0; !ring && k < n; k++) {
            int i = (int)evs[k].data.u32;
            char cb[128];
            struct iovec io = {buf, 65536};
            struct msghdr m = {
                .msg_iov = &io, .msg_iovlen = 1, .msg_control = cb, .msg_controllen = sizeof cb};
            ssize_t r = recvmsg(fd[i], &m, MSG_DONTWAIT);
            if (r <= 0)
                goto out;
            reads++;
            if (floor_events(buf, (size_t)r, fd[i], req, rl, requests, &started, &done, &events))
                goto out;
        }
    }
    getrusage(RUSAGE_THREAD, &r1);
    *us_per_event = (ru_cpu_s(&r1) - ru_cpu_s(&r0)) / (double)events * 1e6;
    *events_per_read = (double)events / (double)reads;
    *events_per_wake = (double)events / (double)wakes;
    rc = 0;
out:
    for (int i = 0; fd && i < c; i++)
        if (fd[i] > 0)
            close(fd[i]);
    rxring_destroy(rr);
    if (ep >= 0)
        close(ep);
    free(fd);
    free(buf);
    return rc;
}

static int mode_paced(void)
{
    long requests = env_long("PERF_PACED_REQUESTS", 1024);
    double slow = env_double("PERF_PACED_SLOWDOWN", 0.1);
    int c = (int)env_long("PERF_PACED_CONCURRENCY", 64);
    char sl[32];
    snprintf(sl, sizeof sl, "%g", slow);
    const char *sim_args[] = {"--slowdown", sl, NULL};
    one_level o;
    printf("paced: %s latency model x %g (one event per read), %ld requests of 128 tokens, "
           "bench --threads 1\n",
           MODEL, slow, requests);
    if (client_level("paced", c, requests, 128, sim_args, &o))
        return 1;
    print_level("paced", &o);
    const char *what;
    double us = cpu_per_chunk_us(&o.lv, &o.run, &what);
    char m[256];
    snprintf(m, sizeof m, "%.2f us (c=%d, %.0f chunks/s, %s; process %.2f us)", us, c,
             (double)o.lv.chunks / o.lv.wall_s, what, o.run.cpu_s / (double)o.lv.chunks * 1e6);
    row("client CPU per chunk, one event per read (paced server)", "<= 3 us", m, "27-35 us");

    /* The floors, each against a fresh simulator. */
    for (int ring = 0; ring < 2; ring++) {
        sim_proc sp;
        double fus, fepr, fepw, scpu, swall;
        if (sim_start(&sp, sim_args))
            return 1;
        int frc = floor_level(sp.url, c, requests, 128, ring, &fus, &fepr, &fepw);
        sim_stop(&sp, &scpu, &swall);
        if (frc) {
            fprintf(stderr, "client_perf: the %s floor client failed\n",
                    ring ? "io_uring" : "recvmsg");
            return 1;
        }
        printf("  floor, %s (raw sockets, 250 us pauses, nothing else): %.3f us/event, %.2f events "
               "per read, %.1f per wake-up\n",
               ring ? "io_uring multishot receives" : "one recvmsg per readiness", fus, fepr, fepw);
        snprintf(m, sizeof m, "%.2f us (c=%d, %.2f events per read)", fus, c, fepr);
        row(ring ? "the same, floor: a bare io_uring client (multishot recvmsg, no HTTP)"
                 : "the same, floor: a bare epoll + recvmsg client (no HTTP, no parsing)",
            "-", m, "-");
    }
    return 0;
}

/* ------------------------------------------------------------------------
 * accuracy: the results file against the simulator's send log. */

typedef struct {
    int64_t arrival; /* kernel's receive time of the request's first byte; -1: none */
    int64_t role;    /* -1: none */
    int n;           /* token times held */
    int64_t *t;      /* cap tokens */
} log_req;

typedef struct {
    log_req *r; /* indexed by request id */
    size_t n;
    int cap_tokens;
} send_log;

/* Load the log of one level c: keys "c<c>-<id>". Kinds other than arrival,
 * role and token (finish, usage, faults, any new one) are skipped. */
static int log_load(const char *path, int c, size_t max_id, int cap_tokens, send_log *l)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    l->n = max_id;
    l->cap_tokens = cap_tokens;
    l->r = calloc(max_id, sizeof *l->r);
    int64_t *pool = calloc(max_id * (size_t)cap_tokens, sizeof *pool);
    if (!l->r || !pool) {
        fclose(f);
        free(pool);
        return -1;
    }
    for (size_t i = 0; i < max_id; i++) {
        l->r[i].arrival = -1;
        l->r[i].role = -1;
        l->r[i].t = pool + i * (size_t)cap_tokens;
    }
    char line[512], kind[64];
    int lc;
    unsigned long long id;
    long long seq, t;
    while (fgets(line, sizeof line, f)) {
        if (sscanf(line, "c%d-%llu\t%lld\t%lld\t%63s", &lc, &id, &seq, &t, kind) != 5 || lc != c ||
            id >= max_id)
            continue;
        log_req *q = &l->r[id];
        if (strcmp(kind, "token") == 0 && q->n < cap_tokens)
            q->t[q->n++] = t;
        else if (strcmp(kind, "role") == 0)
            q->role = t;
        else if (strcmp(kind, "arrival") == 0)
            q->arrival = t;
    }
    fclose(f);
    return 0;
}

static void log_free(send_log *l)
{
    if (l->r)
        free(l->r[0].t);
    free(l->r);
}

/* What one level's comparison found, in microseconds. TTFT as the client
 * computes it (first token - send) against the log's (first token - the
 * request's arrival line: the kernel's receive time of its first byte,
 * docs/SIMULATOR.md) differs by two parts: the first token's stamp error
 * (client's arrival stamp - the log's send time) and the request path (the
 * log's arrival - the client's send: the client's own work between its send
 * stamp and the write, and loopback transit). The simulator's wake-up,
 * reading and parsing, and its queue (a closed-loop level opens with c
 * requests at once, which the simulator reads one by one) come after the
 * arrival and are in both TTFTs, so they cancel. A request without an
 * arrival line falls back to the role event (sent when the simulator has
 * parsed the request), which puts all of that back into the path; such
 * requests are counted. The role-based comparison is also kept, as the
 * figure before arrival lines existed, with the simulator's own part
 * (role - arrival) beside it. TTFT is also summarised in the steady state,
 * requests after the first warm-up + c, the opening burst being where the
 * role reference was worst. */
typedef struct {
    stats_dist chunk_us;       /* client chunk stamp - log send time, every chunk */
    stats_dist ttft_us;        /* |client TTFT - log TTFT|, every request */
    stats_dist ttft_steady_us; /* the same, requests after the opening burst */
    stats_dist first_us;       /* first token's stamp error alone, every request */
    stats_dist path_us;        /* log arrival - client send, steady state */
    stats_dist ttft_role_us;   /* |client TTFT - (first token - role)|, steady state */
    stats_dist sim_us;         /* role - arrival: the simulator's own part, steady state */
    stats_dist itl_us;         /* |client gap - log gap| between consecutive chunks */
    size_t unmatched;          /* requests without a matching log (none expected) */
    size_t no_arrival;         /* compared against the role line: no arrival line */
} accuracy_fig;

static int accuracy_compare(const char *h5, const send_log *l, int c, uint64_t burst,
                            accuracy_fig *a)
{
    results_file *f = NULL;
    bench_err e;
    req_record *rows = NULL;
    chunk_record *ch = NULL;
    double *ce = NULL, *te = NULL, *ts = NULL, *fe = NULL, *pe = NULL, *ie = NULL, *re = NULL,
           *se = NULL;
    size_t n = 0, nce = 0, nte = 0, nts = 0, nfe = 0, npe = 0, nie = 0, nre = 0, nse = 0;
    uint64_t nch = 0;
    int rc = -1;
    memset(a, 0, sizeof *a);
    if (results_open(h5, &f, &e) || results_read_requests(f, c, &rows, &n, &e) ||
        results_chunk_count(f, c, &nch, &e)) {
        fprintf(stderr, "client_perf: %s\n", e.msg);
        goto out;
    }
    ch = malloc((nch + 1) * sizeof *ch);
    ce = malloc((nch + 1) * sizeof *ce);
    ie = malloc((nch + 1) * sizeof *ie);
    te = malloc((n + 1) * sizeof *te);
    ts = malloc((n + 1) * sizeof *ts);
    fe = malloc((n + 1) * sizeof *fe);
    pe = malloc((n + 1) * sizeof *pe);
    re = malloc((n + 1) * sizeof *re);
    se = malloc((n + 1) * sizeof *se);
    if (!ch || !ce || !ie || !te || !ts || !fe || !pe || !re || !se ||
        results_read_chunks(f, c, 0, nch, ch, &e))
        goto out;
    int64_t t0 = results_file_t0_monotonic(f);
    for (size_t i = 0; i < n; i++) {
        const req_record *r = &rows[i];
        if (!req_class_is_success(r->status) || r->id >= l->n ||
            l->r[r->id].n != (int)r->chunk_count) {
            a->unmatched++;
            continue;
        }
        const log_req *q = &l->r[r->id];
        for (uint32_t k = 0; k < r->chunk_count; k++) {
            const chunk_record *cr = &ch[r->chunk_offset + k];
            ce[nce++] = (double)(t0 + cr->t_ns - q->t[k]) / 1e3;
            if (k > 0) {
                int64_t cg = cr->t_ns - ch[r->chunk_offset + k - 1].t_ns;
                int64_t sg = q->t[k] - q->t[k - 1];
                ie[nie++] = fabs((double)(cg - sg)) / 1e3;
            }
        }
        /* The server's notion of the request's arrival: its arrival line,
         * else (counted) the role event. */
        int64_t ref = q->arrival >= 0 ? q->arrival : q->role;
        if (ref >= 0 && r->chunk_count > 0) {
            a->no_arrival += q->arrival < 0;
            int64_t client = r->t_first_token_ns - r->t_send_ns, server = q->t[0] - ref;
            double d = fabs((double)(client - server)) / 1e3;
            te[nte++] = d;
            fe[nfe++] = (double)(t0 + r->t_first_token_ns - q->t[0]) / 1e3;
            if (r->id >= burst) {
                ts[nts++] = d;
                pe[npe++] = (double)(ref - (t0 + r->t_send_ns)) / 1e3;
                if (q->role >= 0) {
                    re[nre++] = fabs((double)(client - (q->t[0] - q->role))) / 1e3;
                    if (q->arrival >= 0)
                        se[nse++] = (double)(q->role - q->arrival) / 1e3;
                }
            }
        }
    }
    stats_dist_compute(ce, nce, &a->chunk_us);
    stats_dist_compute(te, nte, &a->ttft_us);
    stats_dist_compute(ts, nts, &a->ttft_steady_us);
    stats_dist_compute(fe, nfe, &a->first_us);
    stats_dist_compute(pe, npe, &a->path_us);
    stats_dist_compute(re, nre, &a->ttft_role_us);
    stats_dist_compute(se, nse, &a->sim_us);
    stats_dist_compute(ie, nie, &a->itl_us);
    rc = 0;
out:
    if (f)
        results_file_close(f);
    free(rows);
    free(ch);
    free(ce);
    free(te);
    free(ts);
    free(fe);
    free(pe);
    free(re);
    free(se);
    free(ie);
    return rc;
}

static void print_dist(const char *what, const stats_dist *d)
{
    printf("      %-44s n=%-7zu p50 %8.1f  p99 %8.1f  max %8.1f us\n", what, d->n, d->p50, d->p99,
           d->max);
}

static int mode_accuracy(void)
{
    static const int levels[] = {1, 8, 64, 512};
    long reqs[] = {env_long("PERF_ACC_REQUESTS_C1", 100), env_long("PERF_ACC_REQUESTS_C8", 200),
                   env_long("PERF_ACC_REQUESTS_C64", 256),
                   env_long("PERF_ACC_REQUESTS_C512", 1024)};
    const int tokens = 128, warmup = 4;
    accuracy_fig a[4];
    printf("accuracy: %s at its own latency model (no slowdown), 128-token streams, %s; the "
           "log's time is taken right before the write\n",
           MODEL,
           env_long("PERF_ACC_BUSY_POLL", 0) ? "one worker thread with --busy-poll"
                                             : "default threads");
    for (int i = 0; i < 4; i++) {
        int c = levels[i];
        char name[64], logp[4096], h5[4096], cs[32], rs[32], ws[32];
        snprintf(name, sizeof name, "accuracy-c%d", c);
        snprintf(logp, sizeof logp, "%s/%s.sends.tsv", g_dir, name);
        snprintf(h5, sizeof h5, "%s/%s.h5", g_dir, name);
        snprintf(cs, sizeof cs, "%d", c);
        snprintf(rs, sizeof rs, "%ld", reqs[i]);
        snprintf(ws, sizeof ws, "%d", warmup);
        const char *sim_args[] = {"--log-sends", logp, NULL};
        sim_proc sp;
        if (sim_start(&sp, sim_args))
            return 1;
        const char *args[] = {"run",
                              "--model",
                              MODEL,
                              "--endpoint",
                              sp.url,
                              "--concurrency",
                              cs,
                              "--requests",
                              rs,
                              "--warmup",
                              ws,
                              "--output-tokens",
                              "128",
                              "--no-report",
                              "--no-progress",
                              "--output",
                              h5,
                              NULL,
                              NULL,
                              NULL,
                              NULL};
        /* PERF_ACC_BUSY_POLL=1: one spinning worker thread (--busy-poll), so
         * no chunk waits for the kernel to wake the client. */
        if (env_long("PERF_ACC_BUSY_POLL", 0)) {
            size_t k = sizeof args / sizeof *args - 4;
            args[k] = "--busy-poll";
            args[k + 1] = "--threads";
            args[k + 2] = "1";
        }
        child_run run;
        int rc = bench_run(name, args, &run);
        double sim_cpu, sim_wall;
        sim_stop(&sp, &sim_cpu, &sim_wall); /* flushes the log */
        if (rc)
            return 1;
        send_log l = {0};
        if (log_load(logp, c, (size_t)(reqs[i] + warmup), tokens + 8, &l) ||
            accuracy_compare(h5, &l, c, (uint64_t)(warmup + c), &a[i])) {
            log_free(&l);
            return 1;
        }
        log_free(&l);
        printf("  c=%d (%ld requests; %zu without a matching log; %zu without an arrival line, "
               "compared from their role line)\n",
               c, reqs[i], a[i].unmatched, a[i].no_arrival);
        print_dist("chunk stamp - log send time", &a[i].chunk_us);
        print_dist("|TTFT client - TTFT log|, all", &a[i].ttft_us);
        print_dist("|TTFT client - TTFT log|, steady state", &a[i].ttft_steady_us);
        print_dist("  first token stamp - log send time", &a[i].first_us);
        print_dist("  log arrival - client send, steady state", &a[i].path_us);
        print_dist("|TTFT client - TTFT from role|, steady state", &a[i].ttft_role_us);
        print_dist("  role - arrival (simulator), steady state", &a[i].sim_us);
        print_dist("|ITL client - ITL log|", &a[i].itl_us);
    }
    char m[256], fig[128];
    for (int i = 0; i < 4; i++) {
        snprintf(fig, sizeof fig, "chunk time error vs the server's log, c=%d (p50 / p99 / max)",
                 levels[i]);
        snprintf(m, sizeof m, "%.3f / %.3f / %.3f ms", a[i].chunk_us.p50 / 1e3,
                 a[i].chunk_us.p99 / 1e3, a[i].chunk_us.max / 1e3);
        row(fig, "-", m, "-");
    }
    snprintf(m, sizeof m, "%.3f ms (first-token stamp alone %.3f)", a[1].ttft_steady_us.p99 / 1e3,
             a[1].first_us.p99 / 1e3);
    row("TTFT error vs the server's log, p99, concurrency 8", "< 0.1 ms", m, "10 ms");
    snprintf(m, sizeof m,
             "%.3f ms at c=512 steady state (first-token stamp alone %.3f; with the opening "
             "burst %.3f)",
             a[3].ttft_steady_us.p99 / 1e3, a[3].first_us.p99 / 1e3, a[3].ttft_us.p99 / 1e3);
    row("TTFT error, p99, concurrency 256-512", "< 1 ms", m, "126 ms at 256");
    snprintf(m, sizeof m, "c=8: %.3f ms; c=512: %.3f ms", a[1].itl_us.p99 / 1e3,
             a[3].itl_us.p99 / 1e3);
    row("ITL error vs the server's log, p99", "-", m, "-");

    /* Storage, on the most realistic file: 128-token streams at the
     * model's pace, 512 interleaved. */
    char h5[4096];
    level_fig lv;
    snprintf(h5, sizeof h5, "%s/accuracy-c512.h5", g_dir);
    if (read_level(h5, 512, &lv))
        return 1;
    double fb = file_bytes(h5);
    printf("  HDF5: accuracy-c512.h5 is %.0f bytes for %" PRIu64 " chunks and %" PRIu64
           " requests: %.2f bytes per chunk, request rows and metadata included\n",
           fb, lv.chunks, lv.requests, fb / (double)lv.chunks);
    snprintf(m, sizeof m, "%.2f bytes (128-token streams, c=512, request rows included)",
             fb / (double)lv.chunks);
    row("HDF5 bytes per chunk on disk", "-", m, "-");
    return 0;
}

/* ------------------------------------------------------------------------
 * memory: per stream, per chunk, HDF5 per chunk; loop lag at 1,024. */

static int mode_memory(void)
{
    one_level base, wide, shortl, longl;
    /* Per stream: 1,024 streams in flight at once (the model's own pace,
     * 32-token streams) against one; both runs --threads 1. */
    long stream_tokens = env_long("PERF_MEM_STREAM_TOKENS", 32);
    const char *paced[] = {NULL};
    printf("memory: per in-flight stream (%s latency model, %ld-token streams, c=1024 vs c=1), "
           "per recorded chunk (zero-delay, c=64, a long level vs a short one)\n",
           MODEL, stream_tokens);
    if (client_level("memory-c1", 1, 16, stream_tokens, paced, &base) ||
        client_level("memory-c1024", 1024, 1024, stream_tokens, paced, &wide))
        return 1;
    print_level("memory", &base);
    print_level("memory", &wide);

    /* Per chunk: the same level, long and short. */
    long n1 = env_long("PERF_MEM_CHUNKS_SHORT", 500000),
         n2 = env_long("PERF_MEM_CHUNKS_LONG", 4000000);
    const char *zd[] = {"--zero-delay", "--events-per-write", "64", NULL};
    if (client_level("memory-short", 64, n1 / 1024, 1024, zd, &shortl) ||
        client_level("memory-long", 64, n2 / 1024, 1024, zd, &longl))
        return 1;
    print_level("memory", &shortl);
    print_level("memory", &longl);
    double per_chunk = (longl.run.maxrss_bytes - shortl.run.maxrss_bytes) /
                       (double)(longl.lv.chunks - shortl.lv.chunks);
    double per_stream = (wide.run.maxrss_bytes - base.run.maxrss_bytes -
                         per_chunk * (double)(wide.lv.chunks - base.lv.chunks)) /
                        1023.0;
    char h5s[4096], h5l[4096];
    snprintf(h5s, sizeof h5s, "%s/memory-short.h5", g_dir);
    snprintf(h5l, sizeof h5l, "%s/memory-long.h5", g_dir);
    double fs = file_bytes(h5s), fl = file_bytes(h5l);
    printf("  peak RSS: c=1 %.1f MB, c=1024 %.1f MB; short level %.1f MB (%" PRIu64
           " chunks), long level %.1f MB (%" PRIu64 " chunks)\n",
           base.run.maxrss_bytes / 1e6, wide.run.maxrss_bytes / 1e6, shortl.run.maxrss_bytes / 1e6,
           shortl.lv.chunks, longl.run.maxrss_bytes / 1e6, longl.lv.chunks);
    printf("  per in-flight stream %.0f bytes (the c=1024 run's extra chunks at %.1f B each "
           "taken off); per recorded chunk %.1f bytes\n",
           per_stream, per_chunk, per_chunk);
    printf("  HDF5, zero-delay times (regular, so they compress unusually well; the accuracy "
           "mode measures a realistic file): %.0f bytes for %" PRIu64
           " chunks = %.2f B/chunk (marginal %.2f B/chunk against the short level's %.0f "
           "bytes)\n",
           fl, longl.lv.chunks, fl / (double)longl.lv.chunks,
           (fl - fs) / (double)(longl.lv.chunks - shortl.lv.chunks), fs);
    char m[256];
    snprintf(m, sizeof m, "%.1f bytes", per_chunk);
    row("memory per recorded chunk", "<= 32 bytes", m, "-");
    snprintf(m, sizeof m, "%.1f KiB", per_stream / 1024.0);
    row("memory per in-flight stream", "-", m, "-");
    if (isnan(wide.lv.loop_lag_p99_ms))
        snprintf(m, sizeof m, "n/a (this bench writes no loop_lag_p99_ms)");
    else
        snprintf(m, sizeof m, "%.3f ms (peak in flight %.0f)", wide.lv.loop_lag_p99_ms,
                 wide.lv.peak_inflight);
    row("1,024 streams, event-loop lag p99", "< 1 ms", m, "-");

    /* The second scale figure: 4,096 streams from one process (one
     * worker thread here too), which needs the descriptor limit raised. */
    one_level w4;
    if (client_level("memory-c4096", 4096, 4096, stream_tokens, paced, &w4))
        return 1;
    print_level("memory", &w4);
    snprintf(m, sizeof m,
             "%" PRIu64 " requests, %" PRIu64 " chunks; peak in flight %.0f; loop lag p99 %.3f ms",
             w4.lv.requests, w4.lv.chunks, w4.lv.peak_inflight, w4.lv.loop_lag_p99_ms);
    row("4,096 streams (ulimit -n raised), one worker thread", "sustained", m, "-");
    return 0;
}

/* ------------------------------------------------------------------------
 * e2e: the sweep a user runs, report included. By default against the
 * zero-delay simulator (started here), so the wall time is the harness's
 * own: sending, parsing, recording, writing and reporting 10,000 requests
 * per level. PERF_E2E_SLOWDOWN=F runs it on the embedded simulator at its
 * latency model times F instead (F=1: the real thing, about half an hour;
 * the simulator's own timers then bound the pace below F of about 0.05). */

static int mode_e2e(void)
{
    long requests = env_long("PERF_E2E_REQUESTS", 10000);
    const char *slow_env = getenv("PERF_E2E_SLOWDOWN");
    int embedded = slow_env && *slow_env;
    double slow = env_double("PERF_E2E_SLOWDOWN", 1);
    char rs[32], sl[32], h5[4096], how[128];
    snprintf(rs, sizeof rs, "%ld", requests);
    snprintf(sl, sizeof sl, "%g", slow);
    snprintf(h5, sizeof h5, "%s/e2e.h5", g_dir);
    if (embedded)
        snprintf(how, sizeof how, "embedded simulator x %g", slow);
    else
        snprintf(how, sizeof how, "zero-delay simulator, 64 events/write");
    printf("e2e: bench run --concurrency 1-8 --requests %ld (%s), report included\n", requests,
           how);
    sim_proc sp;
    const char *zd[] = {"--zero-delay", "--events-per-write", "64", NULL};
    if (!embedded && sim_start(&sp, zd))
        return 1;
    const char *args[] = {"run",
                          "--model",
                          MODEL,
                          "--concurrency",
                          "1-8",
                          "--requests",
                          rs,
                          "--no-progress",
                          "--output",
                          h5,
                          embedded ? "--sim-slowdown" : "--endpoint",
                          embedded ? sl : sp.url,
                          NULL};
    child_run run;
    int rc = bench_run("e2e", args, &run);
    double sim_cpu = 0, sim_wall = 0;
    if (!embedded)
        sim_stop(&sp, &sim_cpu, &sim_wall);
    if (rc)
        return 1;
    uint64_t chunks = 0;
    for (int c = 1; c <= 8; c++) {
        level_fig lv;
        if (read_level(h5, c, &lv))
            return 1;
        chunks += lv.chunks;
    }
    printf("  %.1f s wall, bench CPU %.1f s (user %.1f, sys %.1f)%s, peak RSS %.1f MB%s, %" PRIu64
           " chunks, results file %.1f MB",
           run.wall_s, run.cpu_s, run.user_s, run.sys_s, embedded ? " with its simulator" : "",
           run.maxrss_bytes / 1e6, embedded ? " (the largest of bench and its children)" : "",
           chunks, file_bytes(h5) / 1e6);
    if (!embedded)
        printf("; simulator CPU %.1f s", sim_cpu);
    printf("\n");
    char m[256], fig[320];
    snprintf(fig, sizeof fig, "end to end: 1-8 sweep, %ld requests per level (%s)", requests, how);
    snprintf(m, sizeof m, "%.1f s wall, peak RSS %.1f MB", run.wall_s, run.maxrss_bytes / 1e6);
    row(fig, "-", m, "-");
    return 0;
}

/* ------------------------------------------------------------------------ */

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr,
                "usage: client_perf BENCH_EXE ceiling|paced|accuracy|memory|e2e|all [WORKDIR]\n");
        return 2;
    }
    g_bench = argv[1];
    const char *mode = argv[2];
    g_dir = argc > 3 ? argv[3] : "/tmp/bench-client-perf";
    mkdir(g_dir, 0777);
    /* 1,024 streams: a descriptor each in bench and in the simulator. */
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < 2200)
        fprintf(stderr, "client_perf: open files limited to %llu; 1,024 streams may fail\n",
                (unsigned long long)rl.rlim_cur);
    int all = strcmp(mode, "all") == 0, rc = 0, known = all;
    struct {
        const char *name;
        int (*fn)(void);
    } modes[] = {{"ceiling", mode_ceiling},
                 {"paced", mode_paced},
                 {"accuracy", mode_accuracy},
                 {"memory", mode_memory},
                 {"e2e", mode_e2e}};
    for (size_t i = 0; i < sizeof modes / sizeof modes[0]; i++) {
        if (!all && strcmp(mode, modes[i].name) != 0)
            continue;
        known = 1;
        int64_t t0 = clock_now_ns();
        if (modes[i].fn()) {
            fprintf(stderr, "client_perf: %s failed\n", modes[i].name);
            rc = 1;
        }
        printf("  (%s: %.0f s)\n", modes[i].name, (double)(clock_now_ns() - t0) / 1e9);
        fflush(stdout);
    }
    if (!known) {
        fprintf(stderr, "client_perf: unknown mode '%s'\n", mode);
        return 2;
    }
    return rc;
}
