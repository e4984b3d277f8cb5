/* test_history.c - the history index (harness/history.h): append and read
 * back, malformed lines named by file:line and skipped, a line cut short by
 * a crash spoiling only itself, concurrent appends from several processes
 * keeping every line whole, and the small helpers (dates, URLs, git). */
#include <cjson/cJSON.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cutest.h"
#include "history.h"

static cJSON *run_event(const char *date, const char *run_dir, int k)
{
    cJSON *e = cJSON_CreateObject();
    cJSON_AddStringToObject(e, "event", "run");
    cJSON_AddStringToObject(e, "date", date);
    cJSON_AddStringToObject(e, "suite", "nightly");
    cJSON_AddStringToObject(e, "run_dir", run_dir);
    cJSON *h = cJSON_AddObjectToObject(e, "headline");
    cJSON *m = cJSON_AddObjectToObject(h, "mistral-7b");
    cJSON_AddNumberToObject(m, "ttft_p50_ms_c1", 35.0 + k);
    cJSON_AddNullToObject(m, "mmlu");
    cJSON_AddStringToObject(e, "reason", "multi\nline \"quoted\" text"); /* stays one line */
    cJSON_AddNumberToObject(e, "k", k);
    cJSON_AddStringToObject(e, "status", "ok");
    return e;
}

static char *index_text(const char *dir)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/%s", dir, HISTORY_INDEX);
    FILE *f = fopen(path, "r");
    if (!f)
        return NULL;
    char *buf = calloc(1, 1 << 20);
    size_t n = fread(buf, 1, (1 << 20) - 1, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

static void test_round_trip(void)
{
    char *dir = cutest_tmpdir("history");
    char sub[4096];
    bench_err e;
    snprintf(sub, sizeof sub, "%s/deep/history", dir); /* created on the first append */
    for (int k = 0; k < 3; k++) {
        cJSON *ev = run_event("2026-11-29T02:00:00Z", "/r/run", k);
        CU_ASSERT_EQUAL(history_append(sub, ev, &e), BENCH_OK);
        cJSON_Delete(ev);
    }
    cJSON *arr = NULL;
    size_t skipped = 99;
    CU_ASSERT_EQUAL_FATAL(history_read(sub, NULL, &arr, &skipped, &e), BENCH_OK);
    CU_ASSERT_EQUAL(skipped, 0);
    CU_ASSERT_EQUAL_FATAL(cJSON_GetArraySize(arr), 3);
    for (int k = 0; k < 3; k++) {
        const cJSON *o = cJSON_GetArrayItem(arr, k);
        CU_ASSERT_EQUAL(cJSON_GetObjectItem(o, "k")->valueint, k);
        CU_ASSERT_STRING_EQUAL(cJSON_GetObjectItem(o, "reason")->valuestring,
                               "multi\nline \"quoted\" text");
        const cJSON *m = cJSON_GetObjectItem(cJSON_GetObjectItem(o, "headline"), "mistral-7b");
        CU_ASSERT_DOUBLE_EQUAL(cJSON_GetObjectItem(m, "ttft_p50_ms_c1")->valuedouble, 35.0 + k,
                               1e-9);
        CU_ASSERT(cJSON_IsNull(cJSON_GetObjectItem(m, "mmlu")));
    }
    /* one line per entry */
    char *text = index_text(sub);
    CU_ASSERT_PTR_NOT_NULL_FATAL(text);
    int lines = 0;
    for (char *p = text; *p; p++)
        lines += *p == '\n';
    CU_ASSERT_EQUAL(lines, 3);
    free(text);
    /* the newest run record of a directory */
    CU_ASSERT_PTR_NOT_NULL(history_find_run(arr, "/r/run"));
    CU_ASSERT_EQUAL(cJSON_GetObjectItem(history_find_run(arr, "/r/run"), "k")->valueint, 2);
    CU_ASSERT_PTR_NULL(history_find_run(arr, "/r/other"));
    cJSON_Delete(arr);
    /* a missing index names itself */
    snprintf(sub, sizeof sub, "%s/none", dir);
    CU_ASSERT_EQUAL(history_read(sub, NULL, &arr, NULL, &e), BENCH_EIO);
    CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "none/index.jsonl"));
    free(dir);
}

static void test_malformed_lines_skipped(void)
{
    char *dir = cutest_tmpdir("history-bad");
    char path[4096];
    bench_err e;
    snprintf(path, sizeof path, "%s/%s", dir, HISTORY_INDEX);
    FILE *f = fopen(path, "w");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    fputs("{\"event\":\"run\",\"date\":\"2026-11-27T02:00:00Z\",\"run_dir\":\"/a\",\"n\":1}\n"
          "this is not json\n"
          "\n"
          "[1,2,3]\n"
          "{\"date\":\"2026-11-27T02:00:00Z\"}\n"
          "{\"event\":\"run\",\"date\":\"yesterday\",\"run_dir\":\"/b\"}\n"
          "{\"event\":\"promote\",\"date\":\"2026-11-28T02:00:00Z\",\"run_dir\":\"/a\",\"n\":2}\n"
          "{\"event\":\"annotation\",\"text\":\"a later version's event\",\"n\":3}\n"
          "{\"event\":\"run\",\"date\":\"2026-11-29T02:0", /* cut short by a crash */
          f);
    fclose(f);
    /* the next append starts a new line: the cut line spoils only itself */
    cJSON *ev = run_event("2026-11-30T02:00:00Z", "/c", 4);
    CU_ASSERT_EQUAL(history_append(dir, ev, &e), BENCH_OK);
    cJSON_Delete(ev);

    char *msgs = NULL;
    size_t msz = 0;
    FILE *warn = open_memstream(&msgs, &msz);
    cJSON *arr = NULL;
    size_t skipped = 0;
    CU_ASSERT_EQUAL_FATAL(history_read(dir, warn, &arr, &skipped, &e), BENCH_OK);
    fclose(warn);
    fprintf(stderr, "%s", msgs);
    CU_ASSERT_EQUAL(skipped, 5);
    CU_ASSERT_EQUAL_FATAL(cJSON_GetArraySize(arr), 4);
    CU_ASSERT_EQUAL(cJSON_GetObjectItem(cJSON_GetArrayItem(arr, 0), "n")->valueint, 1);
    CU_ASSERT_EQUAL(cJSON_GetObjectItem(cJSON_GetArrayItem(arr, 1), "n")->valueint, 2);
    CU_ASSERT_EQUAL(cJSON_GetObjectItem(cJSON_GetArrayItem(arr, 2), "n")->valueint, 3);
    CU_ASSERT_EQUAL(cJSON_GetObjectItem(cJSON_GetArrayItem(arr, 3), "k")->valueint, 4);
    /* each message names the file and the line */
    char want[4200];
    int lines[] = {2, 4, 5, 6, 9};
    for (size_t i = 0; i < sizeof lines / sizeof *lines; i++) {
        snprintf(want, sizeof want, "%s:%d: malformed history entry (", path, lines[i]);
        CU_ASSERT_PTR_NOT_NULL(strstr(msgs, want));
    }
    CU_ASSERT_PTR_NOT_NULL(strstr(msgs, ":2: malformed history entry (not valid JSON), skipped"));
    CU_ASSERT_PTR_NOT_NULL(strstr(msgs, ":4: malformed history entry (not a JSON object)"));
    CU_ASSERT_PTR_NULL(strstr(msgs, ":3:")); /* a blank line is not an entry */
    CU_ASSERT_PTR_NULL(strstr(msgs, ":10:"));
    free(msgs);
    cJSON_Delete(arr);
    free(dir);
}

#define PROCS 4
#define PER_PROC 150

static void test_concurrent_appends(void)
{
    char *dir = cutest_tmpdir("history-conc");
    pid_t pids[PROCS];
    /* a long entry: more than one page, so an unlocked writer could tear it */
    char *pad = malloc(6000);
    memset(pad, 'x', 5999);
    pad[5999] = '\0';
    for (int p = 0; p < PROCS; p++) {
        pids[p] = fork();
        CU_ASSERT_FATAL(pids[p] >= 0);
        if (pids[p] == 0) {
            int bad = 0;
            for (int k = 0; k < PER_PROC; k++) {
                bench_err e;
                cJSON *ev = run_event("2026-11-29T02:00:00Z", "/r", p * 1000 + k);
                cJSON_AddStringToObject(ev, "pad", pad);
                bad |= history_append(dir, ev, &e) != BENCH_OK;
                cJSON_Delete(ev);
            }
            _exit(bad);
        }
    }
    for (int p = 0; p < PROCS; p++) {
        int status;
        CU_ASSERT_EQUAL(waitpid(pids[p], &status, 0), pids[p]);
        CU_ASSERT(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    }
    cJSON *arr = NULL;
    size_t skipped = 1;
    bench_err e;
    CU_ASSERT_EQUAL_FATAL(history_read(dir, NULL, &arr, &skipped, &e), BENCH_OK);
    CU_ASSERT_EQUAL(skipped, 0);
    CU_ASSERT_EQUAL_FATAL(cJSON_GetArraySize(arr), PROCS * PER_PROC);
    /* every entry once, each process's in its own order */
    int seen[PROCS][PER_PROC] = {{0}}, last[PROCS];
    for (int p = 0; p < PROCS; p++)
        last[p] = -1;
    const cJSON *o;
    cJSON_ArrayForEach(o, arr)
    {
        int k = cJSON_GetObjectItem(o, "k")->valueint, p = k / 1000, i = k % 1000;
        CU_ASSERT_FATAL(p >= 0 && p < PROCS && i < PER_PROC);
        seen[p][i]++;
        CU_ASSERT(i > last[p]);
        last[p] = i;
        CU_ASSERT_EQUAL(strlen(cJSON_GetObjectItem(o, "pad")->valuestring), 5999);
    }
    for (int p = 0; p < PROCS; p++)
        for (int i = 0; i < PER_PROC; i++)
            CU_ASSERT_EQUAL(seen[p][i], 1);
    cJSON_Delete(arr);
    free(pad);
    free(dir);
}

static void test_helpers(void)
{
    CU_ASSERT_EQUAL(history_parse_date("1970-01-02T00:00:00Z"), 86400);
    CU_ASSERT_EQUAL(history_parse_date("2026-11-29T02:00:00Z"), 1795917600LL);
    CU_ASSERT_EQUAL(history_parse_date("2026-11-29 02:00:00"), -1);
    CU_ASSERT_EQUAL(history_parse_date("2026-11-29T02:00:00Zjunk"), -1);
    CU_ASSERT_EQUAL(history_parse_date(NULL), -1);
    char now[32];
    history_now(now);
    CU_ASSERT(history_parse_date(now) > 1700000000LL);

    char out[256];
    history_clean_url("https://user:secret@host.example:8443/v1?key=abc#frag", out, sizeof out);
    CU_ASSERT_STRING_EQUAL(out, "https://host.example:8443/v1");
    history_clean_url("http://10.0.0.5:8000/v1", out, sizeof out);
    CU_ASSERT_STRING_EQUAL(out, "http://10.0.0.5:8000/v1");
    history_clean_url("http://host/a@b/v1", out, sizeof out); /* '@' in the path is not user-info */
    CU_ASSERT_STRING_EQUAL(out, "http://host/a@b/v1");

    char user[128];
    history_user(user, sizeof user);
    CU_ASSERT(user[0] != '\0');

    /* the project's checkout: a hash or "unknown", never anything else */
    char commit[72];
    int dirty = 7;
    history_git(cutest_root(), commit, &dirty);
    fprintf(stderr, "harness commit %s, dirty %d\n", commit, dirty);
    CU_ASSERT(strcmp(commit, "unknown") == 0 || strspn(commit, "0123456789abcdef") == 40 ||
              strspn(commit, "0123456789abcdef") == 64);
    CU_ASSERT(dirty >= -1 && dirty <= 1);
    char *tmp = cutest_tmpdir("history-nogit");
    history_git(tmp, commit, &dirty); /* not a checkout (unless under one) */
    CU_ASSERT(strcmp(commit, "unknown") == 0 || strlen(commit) >= 40);
    free(tmp);
}

int main(void)
{
    CU_TestInfo tests[] = {
        {"append and read back", test_round_trip},
        {"malformed lines named by file:line and skipped", test_malformed_lines_skipped},
        {"concurrent appends keep every line whole", test_concurrent_appends},
        {"dates, URLs, user, git", test_helpers},
        CU_TEST_INFO_NULL,
    };
    return cutest_run("history", tests);
}
