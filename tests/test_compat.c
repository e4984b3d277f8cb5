/* Integration test against a server this project did not write:
 * @dwmkerr/mock-llm 0.1.29 from the npm registry (installed by tests/run),
 * started on a loopback port. It streams 50-character chunks, each in its own
 * HTTP chunk, ignores max_tokens and sends no usage: the run must complete
 * and record every chunk, with token counts marked unknown. It has no
 * /tokenize either: the prompt sizes are approximate, and bench says so once
 * and records it. */
#include <arpa/inet.h>
#include <cjson/cJSON.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cutest.h"
#include "results_read.h"

static int free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) ||
        getsockname(fd, (struct sockaddr *)&a, &len)) {
        if (fd >= 0)
            close(fd);
        return -1;
    }
    close(fd);
    return ntohs(a.sin_port);
}

static int port_open(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_port = htons((uint16_t)port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    int ok = connect(fd, (struct sockaddr *)&a, sizeof a) == 0;
    close(fd);
    return ok;
}

static void test_mock_llm(void)
{
    const char *main_js = getenv("BENCH_MOCK_LLM_MAIN");
    struct stat sb;
    if (!main_js || stat(main_js, &sb) != 0)
        fprintf(stderr, "mock-llm not installed at %s (tests/run installs it)\n",
                main_js ? main_js : "(BENCH_MOCK_LLM_MAIN unset)");
    CU_ASSERT_FATAL(main_js && stat(main_js, &sb) == 0);
    int port = free_port();
    CU_ASSERT_FATAL(port > 0);
    char *dir = cutest_tmpdir("mockllm");
    pid_t pid = fork();
    if (pid == 0) {
        char p[16];
        snprintf(p, sizeof p, "%d", port);
        setenv("HOST", "127.0.0.1", 1);
        setenv("PORT", p, 1);
        if (chdir(dir) != 0)
            _exit(126);
        freopen("/dev/null", "w", stdout);
        execlp("node", "node", main_js, (char *)NULL);
        _exit(127);
    }
    CU_ASSERT_FATAL(pid > 0);
    int up = 0;
    for (int i = 0; i < 150 && !up; i++) {
        up = port_open(port);
        if (!up) {
            struct timespec ts = {0, 100 * 1000 * 1000};
            nanosleep(&ts, NULL);
        }
    }
    CU_ASSERT(up);

    char url[64], h5[4096];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/v1", port);
    snprintf(h5, sizeof h5, "%s/mock.h5", dir);
    const char *argv[] = {cutest_bench_exe(),
                          "--model",
                          "gpt-4",
                          "--endpoint",
                          url,
                          "--concurrency",
                          "1,3",
                          "--requests",
                          "6",
                          "--warmup",
                          "1",
                          "--output",
                          h5,
                          "--json",
                          "--no-progress",
                          NULL};
    char *out = NULL, *err = NULL;
    int rc = up ? cutest_spawn(argv, &out, &err, 120) : -1;
    kill(pid, SIGTERM);
    waitpid(pid, NULL, 0);
    if (rc != 0)
        fprintf(stderr, "bench exited %d: %s\n", rc, err ? err : "");
    CU_ASSERT_EQUAL_FATAL(rc, 0);
    /* It has no /tokenize (404): prompt sizes are approximate, said once. */
    const char *approx = strstr(err, "prompt sizes are approximate: ");
    CU_ASSERT_PTR_NOT_NULL(approx);
    if (approx)
        CU_ASSERT_PTR_NULL(strstr(approx + 1, "prompt sizes are approximate"));

    cJSON *j = cJSON_Parse(out);
    CU_ASSERT_PTR_NOT_NULL_FATAL(j);
    CU_ASSERT_STRING_EQUAL(cJSON_GetObjectItem(j, "endpoint_kind")->valuestring, "remote");
    cJSON *l;
    cJSON_ArrayForEach(l, cJSON_GetObjectItem(j, "levels"))
    {
        CU_ASSERT_EQUAL(cJSON_GetObjectItem(l, "requests_ok")->valueint, 6);
        CU_ASSERT_EQUAL(cJSON_GetObjectItem(l, "requests_failed")->valueint, 0);
        /* it ignores max_tokens: completed, shorter than asked */
        CU_ASSERT_EQUAL(cJSON_GetObjectItem(l, "requests_early_stop")->valueint, 6);
        CU_ASSERT(cJSON_IsFalse(cJSON_GetObjectItem(l, "tokens_from_usage")));
        CU_ASSERT(cJSON_GetObjectItem(l, "chunks")->valueint >= 12);
    }
    cJSON_Delete(j);

    results_file *f;
    bench_err e;
    CU_ASSERT_EQUAL_FATAL(results_open(h5, &f, &e), BENCH_OK);
    CU_ASSERT_EQUAL(results_file_level_count(f), 2);
    const char *sizing = results_file_attr(f, "prompt_sizing");
    CU_ASSERT(sizing && strncmp(sizing, "approximate: ", 13) == 0);
    req_record *rows;
    size_t n;
    CU_ASSERT_EQUAL_FATAL(results_read_requests(f, 3, &rows, &n, &e), BENCH_OK);
    CU_ASSERT_EQUAL(n, 7);
    uint64_t nch = 0, sum = 0;
    results_chunk_count(f, 3, &nch, &e);
    for (size_t i = 0; i < n; i++) {
        CU_ASSERT_EQUAL(rows[i].output_tokens, -1); /* no usage from this server */
        CU_ASSERT(rows[i].chunk_count >= 2);
        CU_ASSERT(rows[i].t_first_token_ns > rows[i].t_send_ns);
        CU_ASSERT_STRING_EQUAL(rows[i].finish_reason, "stop");
        sum += rows[i].chunk_count;
    }
    CU_ASSERT_EQUAL(sum, nch);
    free(rows);
    results_file_close(f);
    free(out);
    free(err);
    free(dir);
}

static CU_TestInfo tests[] = {
    {"@dwmkerr/mock-llm: chunks recorded without usage", test_mock_llm},
    CU_TEST_INFO_NULL,
};

int main(void)
{
    return cutest_run("compat", tests);
}
