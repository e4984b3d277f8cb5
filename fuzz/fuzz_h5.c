/* fuzz_h5.c - libFuzzer target: the HDF5 reader behind `bench report`
 * (results_read.h) and the evaluation-file reader (evalres.h),
 * docs/FUZZING.md.
 *
 * The input is a whole file, handed over as a memory file. It is opened
 * with results_open and read as the report reads it: every level's
 * requests table, its chunk table in slices (at most FUZZ_MAX_CHUNKS rows a
 * level: a damaged file may claim billions of fill-value rows), its errors
 * table; then evalres_read_items reads it as an evaluation file, and
 * report_headlines reads it whole as `bench report` does (requests and
 * chunk slices matched, every metric computed, evaluation scores). Failures
 * must come with a message, and no HDF5 object may stay open after an
 * input (H5Fget_obj_count: files, groups, datasets, datatypes, attributes):
 * a leaked identifier keeps memory that HDF5 still references, which
 * LeakSanitizer cannot see. */
#include <cjson/cJSON.h>
#include <hdf5.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "evalres.h"
#include "fuzz_util.h"
#include "report.h"
#include "results_read.h"

#define FUZZ_MAX_CHUNKS (1u << 16)
#define FUZZ_SLICE 4096

static void read_level(results_file *f, int c)
{
    bench_err err;
    req_record *req = NULL;
    size_t nreq = 0;
    if (results_read_requests(f, c, &req, &nreq, &err) == BENCH_OK) {
        if (!req)
            abort();
        free(req);
    } else {
        fuzz_check_str(err.msg, sizeof err.msg);
    }
    uint64_t nchunks = 0;
    if (results_chunk_count(f, c, &nchunks, &err) == BENCH_OK) {
        static chunk_record buf[FUZZ_SLICE];
        uint64_t limit = nchunks < FUZZ_MAX_CHUNKS ? nchunks : FUZZ_MAX_CHUNKS;
        for (uint64_t at = 0; at < limit;) {
            size_t k = limit - at < FUZZ_SLICE ? (size_t)(limit - at) : FUZZ_SLICE;
            if (results_read_chunks(f, c, at, k, buf, &err) != BENCH_OK) {
                fuzz_check_str(err.msg, sizeof err.msg);
                break;
            }
            at += k;
        }
        /* past the end is refused, not read */
        if (results_read_chunks(f, c, nchunks, 1, buf, &err) == BENCH_OK)
            abort();
    }
    results_error_row *errs = NULL;
    size_t nerrs = 0;
    if (results_read_errors(f, c, &errs, &nerrs, &err) == BENCH_OK) {
        for (size_t i = 0; i < nerrs; i++)
            errs[i].message[sizeof errs[i].message - 1] = '\0';
        free(errs);
    } else {
        fuzz_check_str(err.msg, sizeof err.msg);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char path[64];
    bench_err err;
    fuzz_memfile(0, data, size, path, sizeof path);

    results_file *f = NULL;
    if (results_open(path, &f, &err) == BENCH_OK) {
        if (!f)
            abort();
        const char *attrs[] = {"model", "kind", "config", "run_status", "endpoint_kind"};
        for (size_t i = 0; i < sizeof attrs / sizeof *attrs; i++)
            (void)results_file_attr(f, attrs[i]);
        size_t nl = results_file_level_count(f);
        for (size_t i = 0; i < nl; i++) {
            const results_level_info *li = results_file_level(f, i);
            if (!li || li->concurrency < 1)
                abort();
            read_level(f, li->concurrency);
        }
        if (results_file_level(f, nl))
            abort();
        results_file_close(f);
    } else {
        if (f)
            abort();
        fuzz_check_str(err.msg, sizeof err.msg);
    }

    evalres_item *items = NULL;
    size_t n = 0;
    if (evalres_read_items(path, &items, &n, &err) == BENCH_OK) {
        for (size_t i = 0; i < n; i++)
            if (!items[i].id || !items[i].group || !items[i].prompt_sha256 || !items[i].response ||
                !items[i].parsed || !items[i].judge || !items[i].detail)
                abort();
        evalres_items_free(items, n);
    } else {
        if (items || n)
            abort();
        fuzz_check_str(err.msg, sizeof err.msg);
    }

    const char *in[1] = {path};
    cJSON *head = NULL;
    if (report_headlines(in, 1, NULL, &head, &err) == BENCH_OK) {
        if (!cJSON_IsObject(head))
            abort();
    } else {
        if (head)
            abort();
        fuzz_check_str(err.msg, sizeof err.msg);
    }
    cJSON_Delete(head);

    ssize_t open_objs = H5Fget_obj_count(H5F_OBJ_ALL, H5F_OBJ_ALL);
    if (open_objs != 0) {
        fprintf(stderr, "fuzz_h5: %zd HDF5 objects left open\n", open_objs);
        abort();
    }
    return 0;
}
