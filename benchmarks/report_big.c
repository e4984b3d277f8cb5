/* benchmarks/report_big.c - time and peak memory of `bench report` on a big
 * results file (default: 10 million chunks in one level).
 *
 *   report_big BENCH_EXE [CHUNKS] [WORKDIR]
 *
 * Writes WORKDIR/big.h5 with the results writer (requests of 128 chunks
 * each, a realistic ~1 ms token cadence with seeded jitter), then runs
 * `BENCH_EXE report big.h5 --out WORKDIR/report` as a child and prints its
 * wall time and peak resident memory beside the file's uncompressed size.
 * Reading is streamed, so peak memory should stay well under that size. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "results.h"
#include "rng.h"

#define PER_REQ 128

static int write_file(const char *path, uint64_t nchunks)
{
    results_meta meta = {"bench-benchmark",
                         "2026-11-29T00:00:00Z",
                         "mistral-7b",
                         "mistralai/Mistral-7B-Instruct-v0.2",
                         "http://127.0.0.1:1/v1",
                         "simulated",
                         "chat",
                         "{\"benchmark\":\"report_big\"}",
                         0,
                         0};
    results *r;
    bench_err e;
    if (results_create(path, &meta, &r, &e) || results_level_begin(r, 8, &e)) {
        fprintf(stderr, "report_big: %s\n", e.msg);
        return -1;
    }
    uint64_t nreq = nchunks / PER_REQ;
    rng g;
    rng_seed(&g, 42, 0);
    enum { BATCH = 1024 };
    req_record *rows = calloc(BATCH, sizeof *rows);
    chunk_record *ch = calloc((size_t)BATCH * PER_REQ, sizeof *ch);
    uint64_t off = 0;
    int64_t t_end = 0;
    for (uint64_t b = 0; b < nreq; b += BATCH) {
        size_t n = (size_t)(nreq - b < BATCH ? nreq - b : BATCH), nc = 0;
        for (size_t i = 0; i < n; i++) {
            uint64_t id = b + i;
            int64_t send = (int64_t)(id / 8) * 160000000LL + (int64_t)(id % 8) * 1000000;
            int64_t t = send + 30000000 + (int64_t)(rng_uniform(&g) * 20e6);
            req_record *q = &rows[i];
            memset(q, 0, sizeof *q);
            *q = (req_record){.id = id,
                              .status = 0,
                              .http_status = 200,
                              .t_sched_ns = send,
                              .t_send_ns = send,
                              .t_first_byte_ns = send + 100000,
                              .t_first_token_ns = t,
                              .prompt_tokens = 256,
                              .output_tokens = PER_REQ,
                              .max_tokens = PER_REQ,
                              .chunk_count = PER_REQ,
                              .chunk_offset = off + nc};
            strcpy(q->finish_reason, "length");
            for (int k = 0; k < PER_REQ; k++) {
                ch[nc++] = (chunk_record){id, t, 180, 1};
                t += 800000 + (int64_t)(rng_uniform(&g) * 400000);
            }
            q->t_last_token_ns = ch[nc - 1].t_ns;
            q->t_end_ns = q->t_last_token_ns + 200000;
            if (q->t_end_ns > t_end)
                t_end = q->t_end_ns;
        }
        if (results_append_requests(r, rows, n, &e) || results_append_chunks(r, ch, nc, &e)) {
            fprintf(stderr, "report_big: %s\n", e.msg);
            return -1;
        }
        off += nc;
    }
    results_level_info info = {.concurrency = 8, .t_end_ns = t_end, .requests_ok = nreq};
    if (results_level_end(r, &info, &e) || results_close(r, &e)) {
        fprintf(stderr, "report_big: %s\n", e.msg);
        return -1;
    }
    free(rows);
    free(ch);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: report_big BENCH_EXE [CHUNKS] [WORKDIR]\n");
        return 2;
    }
    uint64_t nchunks = argc > 2 ? strtoull(argv[2], NULL, 10) : 10000000ULL;
    const char *dir = argc > 3 ? argv[3] : "/tmp/bench-report-big";
    mkdir(dir, 0777);
    char path[4096], out[4096];
    snprintf(path, sizeof path, "%s/big.h5", dir);
    snprintf(out, sizeof out, "%s/report", dir);
    int64_t t0 = clock_now_ns();
    if (write_file(path, nchunks))
        return 1;
    double write_s = (double)(clock_now_ns() - t0) / 1e9;
    struct stat sb;
    stat(path, &sb);
    uint64_t nreq = nchunks / PER_REQ;
    double raw = (double)nreq * PER_REQ * sizeof(chunk_record) + (double)nreq * sizeof(req_record);

    t0 = clock_now_ns();
    pid_t pid = fork();
    if (pid == 0) {
        execl(argv[1], argv[1], "report", path, "--out", out, (char *)NULL);
        _exit(127);
    }
    int status;
    struct rusage ru;
    wait4(pid, &status, 0, &ru);
    double report_s = (double)(clock_now_ns() - t0) / 1e9;
    printf("report_big: %llu chunks, %llu requests in one level\n",
           (unsigned long long)(nreq * PER_REQ), (unsigned long long)nreq);
    printf("  results file: %.1f MB on disk (compressed), %.1f MB uncompressed rows; written in "
           "%.1f s\n",
           sb.st_size / 1e6, raw / 1e6, write_s);
    printf("  bench report: %.2f s wall, peak RSS %.1f MB (%.0f%% of the uncompressed size), "
           "exit %d\n",
           report_s, ru.ru_maxrss / 1024.0, 100.0 * ru.ru_maxrss * 1024.0 / raw,
           WIFEXITED(status) ? WEXITSTATUS(status) : -1);
    return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : 1;
}
