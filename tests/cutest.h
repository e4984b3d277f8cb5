/* cutest.h - shared CUnit runner and helpers for the test programs. */
#ifndef BENCH_CUTEST_H
#define BENCH_CUTEST_H

#include <CUnit/CUnit.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Register one suite of tests and run it with the basic (verbose) runner.
 * Returns 0 when every test passed, 1 otherwise: use as main's return. */
int cutest_run(const char *suite_name, CU_TestInfo *tests);

/* Paths from the environment meson sets (tests/meson.build), with defaults. */
const char *cutest_root(void);        /* project root */
const char *cutest_samples_dir(void); /* ../shared/samples */
const char *cutest_bench_exe(void);   /* built bench executable */

/* Run argv[0] (a path) with argv, stdin from /dev/null, capturing stdout and
 * stderr into malloc'ed NUL-terminated strings (caller frees; either pointer
 * may be NULL to discard). Kills the child after timeout_s seconds. Returns
 * the exit status, 128 + signal when killed, -1 when it could not run. */
int cutest_spawn(const char *const argv[], char **out, char **err, int timeout_s);

/* Load a transcript from cutest_samples_dir() (malloc'ed, NUL-terminated;
 * caller frees). NULL, with the reason on stderr, when it cannot be read. */
char *cutest_load_sample(const char *name, size_t *len);

/* The datasets directory (datasets_dir: $BENCH_DATA_DIR, else
 * ../shared/datasets); a static string, "." when it cannot be resolved. */
const char *cutest_data_dir(void);

/* "dir/name", malloc'ed (caller frees). */
char *cutest_path(const char *dir, const char *name);

/* Start the simulator (the built bench) playing model with extra args
 * (NULL-terminated, may be NULL); NULL with the reason on stderr. Stop it
 * with cutest_sim_stop, which asserts a clean exit (so a sanitizer build's
 * leak report in the child fails the test). */
struct simproc;
struct simproc *cutest_sim_start(const char *model, const char *const *args);
void cutest_sim_stop(struct simproc *p);

/* A fresh temporary directory (under $BENCH_TEST_TMP when set), caller frees. */
char *cutest_tmpdir(const char *tag);

/* Start the transcript replay server ($BENCH_REPLAY_SERVER,
 * tests/replay_server.c) on transcript_path (a path) with extra args
 * (NULL-terminated, may be NULL), its send log to log_path (NULL: none).
 * *port gets the port it listens on (asserted; 0 when it reported none).
 * Returns its pid, for cutest_replay_stop. */
pid_t cutest_replay_start(const char *transcript_path, const char *const *extra,
                          const char *log_path, int *port);
/* SIGTERM the replay server and reap it (pid <= 0: nothing). */
void cutest_replay_stop(pid_t pid);

/* The simulator's send log (--log-sends, docs/SIMULATOR.md "Send log"), by
 * request key (the X-Request-Id, e.g. "c4-7"): each request's token send
 * times in order, and its role event's (-1 none). */
#define CUTEST_SENT_MAX 1024
typedef struct {
    char key[64];
    int64_t t[CUTEST_SENT_MAX]; /* token send times, in order */
    int n;
    int64_t t_role;
} cutest_sent_req;

typedef struct {
    cutest_sent_req *r;
    size_t n, cap;
} cutest_send_log;

/* Load the log at path into *l (asserted readable); free with
 * cutest_send_log_free. */
void cutest_send_log_load(const char *path, cutest_send_log *l);
/* The request with key, or NULL; with create, a new empty one when absent. */
cutest_sent_req *cutest_send_log_find(cutest_send_log *l, const char *key, int create);
void cutest_send_log_free(cutest_send_log *l);

#endif
