/* test_tls_secrets.c - HTTPS verification and the API key's confinement.
 *
 * TLS: a self-signed certificate made at test time with the openssl CLI, and
 * tests/tls_proxy.py, a TLS front forwarding to the embedded simulator on
 * loopback. bench refuses it by default (every request a connect_error, a
 * message naming certificate verification, exit 1), accepts it with
 * --cacert, and with --insecure runs but records and warns about it; bench
 * eval likewise.
 *
 * Secrets: with OPENAI_API_KEY set to a recognisable value, a run on the
 * embedded simulator, a run over TLS, an evaluation, a report, a suite with
 * an endpoint map and runs against a server that echoes the Authorization
 * header in its 401 bodies (tls_proxy.py --echo-401). While each runs, the
 * command lines of bench and of its children, and the environment of its
 * simulator child, are read from /proc; afterwards every file they produced
 * (results and evaluation files raw and through h5dump, reports, the
 * simulator's send log, captured stdout and stderr) is searched for the
 * key. None may hold it, nor a piece of it. */
#include <cjson/cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cutest.h"
#include "fileio.h"
#include "results_read.h"
#include "simproc.h"

#define PY "/usr/bin/python3"
#define OPENSSL "/usr/bin/openssl"
#define H5DUMP "/usr/bin/h5dump"

static char *g_dir, *g_cert, *g_certkey;
static char g_key[96];     /* the API key set for the secrets tests */
static char g_key_rnd[40]; /* its random part */
static struct simproc *g_sim;
static char g_sim_url[256];

typedef struct {
    pid_t pid;
    int in_fd; /* its stdin: closing it stops the helper */
    int port;
} helper;

static helper g_proxy = {-1, -1, 0}, g_echo = {-1, -1, 0};

/* Start tests/tls_proxy.py with args; its port from the "listening on PORT"
 * line. */
static int helper_start(helper *h, const char *const *args)
{
    const char *argv[16];
    char script[4096];
    int n = 0, in[2], out[2];
    snprintf(script, sizeof script, "%s/tests/tls_proxy.py", cutest_root());
    argv[n++] = PY;
    argv[n++] = script;
    for (; *args && n < 15; args++)
        argv[n++] = *args;
    argv[n] = NULL;
    if (pipe(in) || pipe(out))
        return -1;
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        dup2(in[0], 0);
        dup2(out[1], 1);
        close(in[1]);
        close(out[0]);
        execv(argv[0], (char *const *)argv);
        _exit(127);
    }
    close(in[0]);
    close(out[1]);
    h->pid = pid;
    h->in_fd = in[1];
    char line[256];
    size_t len = 0;
    while (len < sizeof line - 1) {
        struct pollfd p = {out[0], POLLIN, 0};
        if (poll(&p, 1, 15000) <= 0)
            break;
        ssize_t r = read(out[0], line + len, 1);
        if (r <= 0 || line[len] == '\n')
            break;
        len++;
    }
    line[len] = '\0';
    close(out[0]);
    if (sscanf(line, "listening on %d", &h->port) != 1) {
        fprintf(stderr, "tls_proxy.py did not start: '%s'\n", line);
        return -1;
    }
    return 0;
}

static void helper_stop(helper *h)
{
    if (h->pid <= 0)
        return;
    close(h->in_fd);
    kill(h->pid, SIGTERM);
    waitpid(h->pid, NULL, 0);
    h->pid = -1;
}

static int has(const char *buf, size_t len, const char *needle)
{
    return memmem(buf, len, needle, strlen(needle)) != NULL;
}

/* The key, or a recognisable piece of it. */
static int leaks(const char *buf, size_t len)
{
    return has(buf, len, g_key) || has(buf, len, "sk-bench") || has(buf, len, "SECRET-") ||
           has(buf, len, g_key_rnd);
}

static char *read_proc(const char *path, size_t *len)
{
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return NULL;
    size_t cap = 4096, n = 0;
    char *b = malloc(cap + 1);
    for (;;) {
        if (n == cap) {
            cap *= 2;
            b = realloc(b, cap + 1);
        }
        ssize_t r = read(fd, b + n, cap - n);
        if (r <= 0)
            break;
        n += (size_t)r;
    }
    close(fd);
    b[n] = '\0';
    *len = n;
    return b;
}

typedef struct {
    int samples;
    int children;     /* child processes seen */
    int sim_children; /* of which `bench serve` (exec done) */
    int leaks;        /* command lines or simulator environments holding the key */
} proc_watch;

/* One look at pid's command line and at its children's. */
static void watch_once(pid_t pid, proc_watch *w)
{
    char path[300];
    size_t len;
    snprintf(path, sizeof path, "/proc/%d/cmdline", (int)pid);
    char *c = read_proc(path, &len);
    if (c) {
        w->samples++;
        if (leaks(c, len)) {
            fprintf(stderr, "the key is in bench's command line\n");
            w->leaks++;
        }
        free(c);
    }
    DIR *d = opendir("/proc");
    struct dirent *de;
    while (d && (de = readdir(d)) != NULL) {
        if (de->d_name[0] < '0' || de->d_name[0] > '9')
            continue;
        snprintf(path, sizeof path, "/proc/%s/stat", de->d_name);
        char *st = read_proc(path, &len);
        int ppid = -1;
        char *rp = st ? strrchr(st, ')') : NULL;
        if (rp)
            sscanf(rp + 1, " %*c %d", &ppid);
        free(st);
        if (ppid != (int)pid)
            continue;
        w->children++;
        snprintf(path, sizeof path, "/proc/%s/cmdline", de->d_name);
        c = read_proc(path, &len);
        if (!c)
            continue;
        if (leaks(c, len)) {
            fprintf(stderr, "the key is in a child's command line\n");
            w->leaks++;
        }
        /* After its exec the simulator ("bench serve ...") must not hold the
         * key in its environment either (between fork and exec it is still
         * a copy of bench). */
        int is_sim = len > 0 && strlen(c) + 1 < len && strcmp(c + strlen(c) + 1, "serve") == 0;
        free(c);
        if (!is_sim)
            continue;
        w->sim_children++;
        snprintf(path, sizeof path, "/proc/%s/environ", de->d_name);
        char *env = read_proc(path, &len);
        if (env && (leaks(env, len) || has(env, len, "OPENAI_API_KEY="))) {
            fprintf(stderr, "the key is in the simulator's environment\n");
            w->leaks++;
        }
        free(env);
    }
    if (d)
        closedir(d);
}

/* Run bench with args, stdout and stderr to DIR/<tag>.out and .err, looking
 * at /proc every few ms while it runs. Returns its exit status. */
static int run_watched(const char *tag, const char *const *args, proc_watch *w)
{
    const char *argv[64];
    int n = 0;
    argv[n++] = cutest_bench_exe();
    for (; *args && n < 63; args++)
        argv[n++] = *args;
    argv[n] = NULL;
    char out[4096], err[4096];
    snprintf(out, sizeof out, "%s/%s.out", g_dir, tag);
    snprintf(err, sizeof err, "%s/%s.err", g_dir, tag);
    memset(w, 0, sizeof *w);
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        int fi = open("/dev/null", O_RDONLY), fo = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0644),
            fe = open(err, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        dup2(fi, 0);
        dup2(fo, 1);
        dup2(fe, 2);
        execv(argv[0], (char *const *)argv);
        _exit(127);
    }
    time_t deadline = time(NULL) + 300;
    int status = 0;
    for (;;) {
        watch_once(pid, w);
        pid_t r = waitpid(pid, &status, WNOHANG);
        if (r == pid)
            break;
        if (time(NULL) > deadline) {
            kill(pid, SIGKILL);
            waitpid(pid, &status, 0);
            break;
        }
        struct timespec ts = {0, 5 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    int rc = WIFSIGNALED(status) ? 128 + WTERMSIG(status) : WEXITSTATUS(status);
    CU_ASSERT_EQUAL(w->leaks, 0);
    return rc;
}

/* DIR/<tag>.<ext> as a string (caller frees). */
static char *captured(const char *tag, const char *ext)
{
    char p[4096];
    char *buf = NULL;
    bench_err e;
    snprintf(p, sizeof p, "%s/%s.%s", g_dir, tag, ext);
    if (file_read_all(p, 64 << 20, &buf, NULL, &e))
        return strdup("");
    return buf;
}

/* Run bench, expecting exit status want; stderr returned (caller frees). */
static char *run_expect(const char *tag, const char *const *args, int want)
{
    proc_watch w;
    int rc = run_watched(tag, args, &w);
    char *err = captured(tag, "err");
    if (rc != want)
        fprintf(stderr, "%s: bench exited %d (wanted %d): %s\n", tag, rc, want, err);
    CU_ASSERT_EQUAL(rc, want);
    return err;
}

static cJSON *stdout_json(const char *tag)
{
    char *o = captured(tag, "out");
    cJSON *j = cJSON_Parse(o);
    if (!j)
        fprintf(stderr, "%s: stdout is not JSON: %.300s\n", tag, o);
    free(o);
    return j;
}

/* The "tls" member of a file's config attribute. */
static void expect_tls(const char *h5, const char *verify, const char *cacert)
{
    results_file *f = NULL;
    bench_err e;
    CU_ASSERT_EQUAL_FATAL(results_open(h5, &f, &e), BENCH_OK);
    cJSON *c = cJSON_Parse(results_file_attr(f, "config"));
    cJSON *t = cJSON_GetObjectItemCaseSensitive(c, "tls");
    cJSON *v = cJSON_GetObjectItemCaseSensitive(t, "verify");
    cJSON *p = cJSON_GetObjectItemCaseSensitive(t, "cacert");
    CU_ASSERT(cJSON_IsString(v) && strcmp(v->valuestring, verify) == 0);
    CU_ASSERT(cacert ? cJSON_IsString(p) && strcmp(p->valuestring, cacert) == 0 : cJSON_IsNull(p));
    cJSON_Delete(c);
    results_file_close(f);
}

static const char *by_class(cJSON *j, const char *cls, int *out)
{
    cJSON *l = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "levels"), 0);
    cJSON *v = cJSON_GetObjectItem(cJSON_GetObjectItem(l, "by_class"), cls);
    *out = cJSON_IsNumber(v) ? v->valueint : 0;
    return cls;
}

static char g_https[128];

static void test_tls_refused_by_default(void)
{
    char *h5 = cutest_path(g_dir, "tls-default.h5");
    const char *a[] = {"--model",  "mistral-7b", "--endpoint", g_https,         "--concurrency",
                       "1",        "--requests", "2",          "--warmup",      "0",
                       "--output", h5,           "--json",     "--no-progress", "--no-report",
                       NULL};
    char *err = run_expect("tls-default", a, 1);
    /* one line naming the problem: the certificate, and what to do */
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "every measured request failed"));
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "connect_error: SSL certificate problem"));
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "certificate verification failed"));
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "--cacert"));
    cJSON *j = stdout_json("tls-default");
    int n = 0;
    by_class(j, "connect_error", &n);
    CU_ASSERT_EQUAL(n, 2);
    cJSON_Delete(j);
    expect_tls(h5, "system", NULL);
    free(err);
    free(h5);
}

static void test_tls_cacert(void)
{
    char *h5 = cutest_path(g_dir, "tls-cacert.h5");
    const char *a[] = {"--model",  "mistral-7b", "--endpoint", g_https,         "--concurrency",
                       "2",        "--requests", "4",          "--warmup",      "0",
                       "--output", h5,           "--json",     "--no-progress", "--no-report",
                       "--cacert", g_cert,       NULL};
    char *err = run_expect("tls-cacert", a, 0);
    cJSON *j = stdout_json("tls-cacert");
    cJSON *l = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "levels"), 0);
    CU_ASSERT_EQUAL(cJSON_GetObjectItem(l, "requests_ok")->valueint, 4);
    CU_ASSERT_STRING_EQUAL(cJSON_GetObjectItem(j, "tls_verify")->valuestring, "cacert");
    cJSON_Delete(j);
    /* no --insecure warning (a client self-measurement warning may appear on
     * a busy machine: docs/METRICS.md "Client") */
    CU_ASSERT_PTR_NULL(strstr(err, "insecure"));
    expect_tls(h5, "cacert", g_cert);
    free(err);
    free(h5);
}

static void test_tls_insecure(void)
{
    char *h5 = cutest_path(g_dir, "tls-insecure.h5");
    const char *a[] = {"--model",  "mistral-7b", "--endpoint", g_https,         "--concurrency",
                       "1",        "--requests", "2",          "--warmup",      "0",
                       "--output", h5,           "--json",     "--no-progress", "--insecure",
                       NULL};
    char *err = run_expect("tls-insecure", a, 0);
    cJSON *j = stdout_json("tls-insecure");
    cJSON *l = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "levels"), 0);
    CU_ASSERT_EQUAL(cJSON_GetObjectItem(l, "requests_ok")->valueint, 2);
    CU_ASSERT_STRING_EQUAL(cJSON_GetObjectItem(j, "tls_verify")->valuestring, "insecure");
    cJSON_Delete(j);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "WARNING: --insecure"));
    expect_tls(h5, "insecure", NULL);
    /* the report the run ended with says so in its header */
    char *md_path = cutest_path(g_dir, "tls-insecure-report/report.md"), *md = NULL;
    bench_err e;
    CU_ASSERT_EQUAL(file_read_all(md_path, 1 << 22, &md, NULL, &e), BENCH_OK);
    if (md) {
        CU_ASSERT_PTR_NOT_NULL(strstr(md, "used --insecure"));
        CU_ASSERT_PTR_NOT_NULL(strstr(md, "TLS NOT VERIFIED"));
    }
    free(md);
    free(md_path);
    free(err);
    free(h5);
}

static void expect_usage(const char *tag, const char *const *args, const char *needle)
{
    char *err = run_expect(tag, args, 2);
    if (!strstr(err, needle))
        fprintf(stderr, "%s: wanted '%s' in: %s\n", tag, needle, err);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, needle));
    /* one line */
    CU_ASSERT(strchr(err, '\n') && strchr(err, '\n')[1] == '\0');
    free(err);
}

static void test_tls_flags(void)
{
    char *missing = cutest_path(g_dir, "no-such-ca.pem");
    expect_usage(
        "flag-missing",
        (const char *[]){"--model", "mistral-7b", "--endpoint", g_https, "--cacert", missing, NULL},
        missing);
    expect_usage("flag-notpem",
                 (const char *[]){"--model", "mistral-7b", "--endpoint", g_https, "--cacert",
                                  g_certkey, NULL},
                 "holds no PEM certificate");
    expect_usage("flag-both",
                 (const char *[]){"--model", "mistral-7b", "--endpoint", g_https, "--cacert",
                                  g_cert, "--insecure", NULL},
                 "contradict");
    expect_usage(
        "flag-eval",
        (const char *[]){"eval", "mmlu", "--model", "mistral-7b", "--cacert", missing, NULL},
        "bench eval: --cacert");
    expect_usage(
        "flag-judge",
        (const char *[]){"eval", "mtbench", "--model", "mistral-7b", "--judge-cacert", g_dir, NULL},
        "--judge-cacert");
    free(missing);
}

/* bench eval sends through the same workers: refused without --cacert (no
 * retries, to keep it short), scored with it. */
static void test_eval_tls(void)
{
    char *h5 = cutest_path(g_dir, "eval-tls.h5");
    const char *a[] = {"eval",   "mmlu",     "--model", "mistral-7b",    "--endpoint",
                       g_https,  "--limit",  "1",       "--cacert",      g_cert,
                       "--json", "--output", h5,        "--no-progress", NULL};
    char *err = run_expect("eval-tls", a, 0);
    cJSON *j = stdout_json("eval-tls");
    CU_ASSERT_EQUAL(cJSON_GetObjectItem(j, "n")->valueint, 57);
    CU_ASSERT_EQUAL(cJSON_GetObjectItem(j, "failed_requests")->valueint, 0);
    cJSON_Delete(j);
    expect_tls(h5, "cacert", g_cert);
    free(err);

    char *h5b = cutest_path(g_dir, "eval-tls-refused.h5");
    const char *b[] = {"eval",   "mmlu",     "--model", "mistral-7b",    "--endpoint",
                       g_https,  "--limit",  "1",       "--retries",     "0",
                       "--json", "--output", h5b,       "--no-progress", NULL};
    err = run_expect("eval-tls-refused", b, 0);
    j = stdout_json("eval-tls-refused");
    CU_ASSERT_EQUAL(cJSON_GetObjectItem(j, "failed_requests")->valueint, 57);
    cJSON_Delete(j);
    expect_tls(h5b, "system", NULL);
    free(err);
    free(h5);
    free(h5b);
}

static int g_files_checked, g_h5_checked, g_file_leaks;

static int check_file(const char *path, const struct stat *sb, int type, struct FTW *ftw)
{
    (void)sb;
    (void)ftw;
    if (type != FTW_F)
        return 0;
    char *buf = NULL;
    size_t len = 0;
    bench_err e;
    if (file_read_all(path, 256 << 20, &buf, &len, &e)) {
        fprintf(stderr, "cannot search: %s\n", e.msg);
        g_file_leaks++;
        return 0;
    }
    g_files_checked++;
    if (leaks(buf, len)) {
        fprintf(stderr, "the key is in %s\n", path);
        g_file_leaks++;
    }
    free(buf);
    size_t n = strlen(path);
    if (n > 3 && strcmp(path + n - 3, ".h5") == 0 && access(H5DUMP, X_OK) == 0) {
        /* Compressed datasets hide text from a byte search: read them all. */
        char *out = NULL;
        const char *argv[] = {H5DUMP, path, NULL};
        int rc = cutest_spawn(argv, &out, NULL, 120);
        CU_ASSERT_EQUAL(rc, 0);
        if (out && leaks(out, strlen(out))) {
            fprintf(stderr, "the key is in %s (h5dump)\n", path);
            g_file_leaks++;
        }
        g_h5_checked += rc == 0;
        free(out);
    }
    return 0;
}

/* Messages of every errors table of a results file: each holds
 * "[redacted]", none the key. */
static void expect_redacted_errors(const char *h5, size_t want)
{
    results_file *f = NULL;
    bench_err e;
    CU_ASSERT_EQUAL_FATAL(results_open(h5, &f, &e), BENCH_OK);
    results_error_row *er = NULL;
    size_t n = 0;
    CU_ASSERT_EQUAL_FATAL(results_read_errors(f, 1, &er, &n, &e), BENCH_OK);
    CU_ASSERT_EQUAL(n, want);
    for (size_t i = 0; i < n; i++) {
        CU_ASSERT_PTR_NOT_NULL(strstr(er[i].message, "HTTP 401"));
        CU_ASSERT_PTR_NOT_NULL(strstr(er[i].message, "[redacted]"));
        CU_ASSERT(!leaks(er[i].message, strlen(er[i].message)));
    }
    free(er);
    results_file_close(f);
}

static void test_key_never_leaks(void)
{
    CU_ASSERT_EQUAL_FATAL(setenv("OPENAI_API_KEY", g_key, 1), 0);
    proc_watch w;
    char *h5 = cutest_path(g_dir, "sec-sim.h5"), *sends = cutest_path(g_dir, "sec-sim.sends");

    /* The embedded simulator: a child whose command line and environment
     * are watched; the key goes to it in every request's header. */
    const char *a[] = {"--model",         "mistral-7b", "--concurrency",   "2",  "--requests", "16",
                       "--warmup",        "0",          "--output-tokens", "64", "--output",   h5,
                       "--sim-log-sends", sends,        "--no-progress",   NULL};
    CU_ASSERT_EQUAL(run_watched("sec-sim", a, &w), 0);
    fprintf(stderr, "run: %d samples, %d child(ren) seen, %d as the simulator\n", w.samples,
            w.children, w.sim_children);
    CU_ASSERT(w.sim_children > 0);

    /* Over TLS (the key encrypted on the wire, then to the simulator). */
    char *h5t = cutest_path(g_dir, "sec-tls.h5");
    const char *b[] = {"--model",    "mistral-7b", "--endpoint",    g_https, "--concurrency", "1",
                       "--requests", "3",          "--warmup",      "0",     "--output",      h5t,
                       "--cacert",   g_cert,       "--no-progress", NULL};
    CU_ASSERT_EQUAL(run_watched("sec-tls", b, &w), 0);

    /* An evaluation on its own simulator child. */
    char *h5e = cutest_path(g_dir, "sec-eval.h5");
    const char *c[] = {"eval", "mmlu",     "--model", "mistral-7b",    "--limit",
                       "1",    "--output", h5e,       "--no-progress", NULL};
    CU_ASSERT_EQUAL(run_watched("sec-eval", c, &w), 0);
    CU_ASSERT(w.sim_children > 0);

    /* A report over all of them. */
    char *rep = cutest_path(g_dir, "sec-report");
    const char *d[] = {"report", h5, h5t, h5e, "--out", rep, NULL};
    CU_ASSERT_EQUAL(run_watched("sec-report", d, &w), 0);

    /* A suite whose endpoint map takes the URL from a variable. */
    char *suite = cutest_path(g_dir, "sec-suite.json"), *map = cutest_path(g_dir, "sec-map.json"),
         *sdir = cutest_path(g_dir, "sec-suite");
    FILE *f = fopen(suite, "w");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    fputs("{\"format\": \"bench-suite\", \"name\": \"secrets\", \"run\": {\"concurrency\": 1, "
          "\"requests\": 3, \"warmup\": 0, \"output_tokens\": 16}, \"models\": [\"mistral-7b\"]}\n",
          f);
    fclose(f);
    f = fopen(map, "w");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    fputs("{\"mistral-7b\": \"$SECRETS_TEST_SIM_URL\"}\n", f);
    fclose(f);
    setenv("SECRETS_TEST_SIM_URL", g_sim_url, 1);
    const char *s[] = {"suite", suite, "--endpoint-map", map, "--out", sdir, NULL};
    CU_ASSERT_EQUAL(run_watched("sec-suite", s, &w), 0);

    /* A server quoting the Authorization header in its 401 bodies: whole,
     * cut mid-key, and as plain text. The messages are kept, the key not. */
    char echo[128];
    snprintf(echo, sizeof echo, "http://127.0.0.1:%d/v1", g_echo.port);
    char *h5x = cutest_path(g_dir, "sec-401.h5");
    const char *x[] = {"--model",       "any-model", "--endpoint", echo, "--concurrency", "1",
                       "--requests",    "6",         "--warmup",   "0",  "--output",      h5x,
                       "--no-progress", NULL};
    char *err = run_expect("sec-401", x, 1);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "http_error: HTTP 401"));
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "[redacted]"));
    free(err);
    expect_redacted_errors(h5x, 6);
    char *h5y = cutest_path(g_dir, "sec-401-eval.h5");
    const char *y[] = {"eval",    "mmlu", "--model",  "any-model", "--endpoint",    echo,
                       "--limit", "1",    "--output", h5y,         "--no-progress", NULL};
    CU_ASSERT_EQUAL(run_watched("sec-401-eval", y, &w), 0);
    char *yerr = captured("sec-401-eval", "err");
    CU_ASSERT_PTR_NOT_NULL(strstr(yerr, "failed_requests  57"));
    free(yerr);

    unsetenv("OPENAI_API_KEY");
    /* Every file: results raw and dumped, reports, plots' data, the send
     * log, captured output. */
    g_files_checked = g_h5_checked = g_file_leaks = 0;
    CU_ASSERT_EQUAL(nftw(g_dir, check_file, 16, FTW_PHYS), 0);
    fprintf(stderr, "searched %d files (%d HDF5 files dumped) for the key\n", g_files_checked,
            g_h5_checked);
    CU_ASSERT_EQUAL(g_file_leaks, 0);
    CU_ASSERT(g_files_checked > 30);
    CU_ASSERT(g_h5_checked >= 6 || access(H5DUMP, X_OK) != 0);
    /* and the 401 bodies did quote it: the search would have found it */
    char *x401 = captured("sec-401", "err");
    CU_ASSERT_PTR_NOT_NULL(strstr(x401, "Bearer [redacted]"));
    free(x401);

    free(h5);
    free(sends);
    free(h5t);
    free(h5e);
    free(rep);
    free(suite);
    free(map);
    free(sdir);
    free(h5x);
    free(h5y);
}

static CU_TestInfo tests[] = {
    {"https: a self-signed server is refused by default", test_tls_refused_by_default},
    {"https: --cacert trusts it, recorded", test_tls_cacert},
    {"https: --insecure runs, recorded and warned", test_tls_insecure},
    {"--cacert / --insecure flag errors: one line, exit 2", test_tls_flags},
    {"bench eval over https with --cacert", test_eval_tls},
    {"the API key is in no file, message or command line", test_key_never_leaks},
    CU_TEST_INFO_NULL,
};

int main(void)
{
    if (access(PY, X_OK) != 0 || access(OPENSSL, X_OK) != 0) {
        fprintf(stderr, "skipped: needs %s and %s\n", PY, OPENSSL);
        return 77;
    }
    unsetenv("OPENAI_API_KEY");
    g_dir = cutest_tmpdir("tls-secrets");
    if (!g_dir)
        return 1;
    /* A recognisable key with a random part. */
    srand((unsigned)time(NULL) ^ (unsigned)getpid());
    for (int i = 0; i < 24; i++)
        g_key_rnd[i] = "0123456789abcdefghijklmnopqrstuvwxyz"[rand() % 36];
    g_key_rnd[24] = '\0';
    snprintf(g_key, sizeof g_key, "sk-bench-SECRET-%s", g_key_rnd);

    /* A self-signed certificate for 127.0.0.1. */
    g_cert = cutest_path(g_dir, "cert.pem");
    g_certkey = cutest_path(g_dir, "key.pem");
    const char *ossl[] = {OPENSSL,    "req",           "-x509",   "-newkey",
                          "rsa:2048", "-nodes",        "-keyout", g_certkey,
                          "-out",     g_cert,          "-days",   "2",
                          "-subj",    "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                          NULL};
    char *oerr = NULL;
    if (cutest_spawn(ossl, NULL, &oerr, 60) != 0) {
        fprintf(stderr, "openssl req failed: %s\n", oerr);
        return 1;
    }
    free(oerr);

    /* The simulator (playing MMLU too) behind the TLS front, and the 401
     * echo server. */
    const char *sim_args[] = {"--data-dir", cutest_data_dir(), NULL};
    g_sim = cutest_sim_start("mistral-7b", sim_args);
    if (!g_sim)
        return 1;
    snprintf(g_sim_url, sizeof g_sim_url, "%s", simproc_url(g_sim));
    char upstream[128];
    const char *hp = strstr(g_sim_url, "://") + 3;
    snprintf(upstream, sizeof upstream, "%.*s", (int)strcspn(hp, "/"), hp);
    const char *pa[] = {"--cert", g_cert, "--key", g_certkey, "--upstream", upstream, NULL};
    const char *ea[] = {"--echo-401", NULL};
    if (helper_start(&g_proxy, pa) || helper_start(&g_echo, ea))
        return 1;
    snprintf(g_https, sizeof g_https, "https://127.0.0.1:%d/v1", g_proxy.port);

    int rc = cutest_run("tls_secrets", tests);
    helper_stop(&g_proxy);
    helper_stop(&g_echo);
    bench_err e;
    simproc_stop(g_sim, &e);
    free(g_cert);
    free(g_certkey);
    free(g_dir);
    return rc;
}
