#include "cutest.h"

#include <CUnit/Basic.h>
#include "datasets.h"
#include "fileio.h"
#include "simproc.h"
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int cutest_run(const char *suite_name, CU_TestInfo *tests)
{
    if (CU_initialize_registry() != CUE_SUCCESS)
        return 1;
    CU_SuiteInfo suites[] = {{suite_name, NULL, NULL, NULL, NULL, tests}, CU_SUITE_INFO_NULL};
    if (CU_register_suites(suites) != CUE_SUCCESS) {
        fprintf(stderr, "cannot register suite %s: %s\n", suite_name, CU_get_error_msg());
        CU_cleanup_registry();
        return 1;
    }
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    unsigned failed = CU_get_number_of_tests_failed() + CU_get_number_of_failures();
    unsigned run = CU_get_number_of_tests_run();
    CU_cleanup_registry();
    return (failed == 0 && run > 0) ? 0 : 1;
}

static const char *env_or(const char *name, const char *dflt)
{
    const char *v = getenv(name);
    return (v && *v) ? v : dflt;
}

const char *cutest_root(void)
{
    return env_or("BENCH_ROOT", ".");
}

const char *cutest_samples_dir(void)
{
    return env_or("BENCH_SAMPLES_DIR", "../shared/samples");
}

const char *cutest_bench_exe(void)
{
    return env_or("BENCH_EXE", "build/harness/bench");
}

static void append(char **buf, size_t *len, const char *data, size_t n)
{
    char *nb = realloc(*buf, *len + n + 1);
    if (!nb)
        return;
    memcpy(nb + *len, data, n);
    *len += n;
    nb[*len] = '\0';
    *buf = nb;
}

int cutest_spawn(const char *const argv[], char **out, char **err, int timeout_s)
{
    int po[2], pe[2];
    if (pipe(po) || pipe(pe))
        return -1;
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        int devnull = open("/dev/null", O_RDONLY);
        dup2(devnull, 0);
        dup2(po[1], 1);
        dup2(pe[1], 2);
        close(po[0]);
        close(pe[0]);
        execv(argv[0], (char *const *)argv);
        _exit(127);
    }
    close(po[1]);
    close(pe[1]);
    char *bo = calloc(1, 1), *be = calloc(1, 1);
    size_t lo = 0, le = 0;
    struct pollfd fds[2] = {{po[0], POLLIN, 0}, {pe[0], POLLIN, 0}};
    int open_fds = 2;
    time_t deadline = time(NULL) + timeout_s;
    int killed = 0;
    while (open_fds > 0) {
        int rc = poll(fds, 2, 200);
        if (time(NULL) > deadline && !killed) {
            kill(pid, SIGKILL);
            killed = 1;
        }
        if (rc <= 0)
            continue;
        for (int i = 0; i < 2; i++) {
            if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR)))
                continue;
            char buf[65536];
            ssize_t n = read(fds[i].fd, buf, sizeof buf);
            if (n <= 0) {
                close(fds[i].fd);
                fds[i].fd = -1;
                open_fds--;
            } else if (i == 0) {
                append(&bo, &lo, buf, (size_t)n);
            } else {
                append(&be, &le, buf, (size_t)n);
            }
        }
    }
    int status = 0;
    waitpid(pid, &status, 0);
    if (out)
        *out = bo;
    else
        free(bo);
    if (err)
        *err = be;
    else
        free(be);
    if (WIFSIGNALED(status))
        return 128 + WTERMSIG(status);
    return WEXITSTATUS(status);
}

char *cutest_tmpdir(const char *tag)
{
    const char *base = getenv("BENCH_TEST_TMP");
    char tmpl[4096];
    if (base && *base) {
        mkdir(base, 0777);
        snprintf(tmpl, sizeof tmpl, "%s/%s-XXXXXX", base, tag);
    } else {
        snprintf(tmpl, sizeof tmpl, "/tmp/bench-%s-XXXXXX", tag);
    }
    char *d = mkdtemp(tmpl);
    return d ? strdup(d) : NULL;
}

char *cutest_load_sample(const char *name, size_t *len)
{
    char path[1024];
    char *buf = NULL;
    bench_err e;
    snprintf(path, sizeof path, "%s/%s", cutest_samples_dir(), name);
    if (file_read_all(path, 16 << 20, &buf, len, &e) != BENCH_OK) {
        fprintf(stderr, "cannot load sample: %s\n", e.msg);
        return NULL;
    }
    return buf;
}

const char *cutest_data_dir(void)
{
    static char buf[4096];
    char *d = NULL;
    bench_err e;
    if (datasets_dir(NULL, &d, &e) != BENCH_OK)
        return ".";
    snprintf(buf, sizeof buf, "%s", d);
    free(d);
    return buf;
}

char *cutest_path(const char *dir, const char *name)
{
    size_t n = strlen(dir) + strlen(name) + 2;
    char *p = malloc(n);
    if (p)
        snprintf(p, n, "%s/%s", dir, name);
    return p;
}

simproc *cutest_sim_start(const char *model, const char *const *args)
{
    simproc *p = NULL;
    bench_err e = {""};
    simproc_set_exe(cutest_bench_exe());
    if (simproc_start(model, args, &p, &e)) {
        fprintf(stderr, "simproc_start: %s\n", e.msg);
        return NULL;
    }
    return p;
}

void cutest_sim_stop(simproc *p)
{
    bench_err e = {""};
    bench_status st = simproc_stop(p, &e);
    if (st)
        fprintf(stderr, "simproc_stop: %s\n", e.msg);
    CU_ASSERT_EQUAL(st, BENCH_OK);
}

pid_t cutest_replay_start(const char *transcript_path, const char *const *extra,
                          const char *log_path, int *port)
{
    const char *exe = getenv("BENCH_REPLAY_SERVER");
    CU_ASSERT_PTR_NOT_NULL_FATAL(exe);
    int fds[2];
    CU_ASSERT_FATAL(pipe(fds) == 0);
    pid_t pid = fork();
    if (pid == 0) {
        const char *argv[32] = {exe, "--transcript", transcript_path, NULL};
        int n = 3;
        if (log_path) {
            argv[n++] = "--log";
            argv[n++] = log_path;
        }
        for (int i = 0; extra && extra[i] && n < 30; i++)
            argv[n++] = extra[i];
        argv[n] = NULL;
        dup2(fds[1], 1);
        close(fds[0]);
        execv(exe, (char *const *)argv);
        _exit(127);
    }
    close(fds[1]);
    FILE *f = fdopen(fds[0], "r");
    *port = 0;
    if (!f || fscanf(f, "PORT %d", port) != 1)
        *port = 0;
    if (f)
        fclose(f);
    CU_ASSERT(*port > 0);
    return pid;
}

void cutest_replay_stop(pid_t pid)
{
    if (pid <= 0)
        return;
    kill(pid, SIGTERM);
    waitpid(pid, NULL, 0);
}

cutest_sent_req *cutest_send_log_find(cutest_send_log *l, const char *key, int create)
{
    for (size_t i = 0; i < l->n; i++)
        if (strcmp(l->r[i].key, key) == 0)
            return &l->r[i];
    if (!create)
        return NULL;
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 64;
        cutest_sent_req *r = realloc(l->r, cap * sizeof *r);
        CU_ASSERT_PTR_NOT_NULL_FATAL(r);
        l->r = r;
        l->cap = cap;
    }
    cutest_sent_req *s = &l->r[l->n++];
    memset(s, 0, sizeof *s);
    snprintf(s->key, sizeof s->key, "%s", key);
    s->t_role = -1;
    return s;
}

void cutest_send_log_load(const char *path, cutest_send_log *l)
{
    memset(l, 0, sizeof *l);
    FILE *f = fopen(path, "r");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    char line[512], key[64], kind[64];
    long long seq, t;
    cutest_sent_req *last = NULL; /* lines of one request mostly come together */
    while (fgets(line, sizeof line, f)) {
        if (sscanf(line, "%63s\t%lld\t%lld\t%63s", key, &seq, &t, kind) != 4)
            continue;
        cutest_sent_req *s =
            last && strcmp(last->key, key) == 0 ? last : cutest_send_log_find(l, key, 1);
        last = s;
        if (strcmp(kind, "token") == 0 && s->n < CUTEST_SENT_MAX)
            s->t[s->n++] = t;
        else if (strcmp(kind, "role") == 0)
            s->t_role = t;
    }
    fclose(f);
}

void cutest_send_log_free(cutest_send_log *l)
{
    free(l->r);
    memset(l, 0, sizeof *l);
}
