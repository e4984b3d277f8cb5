/* results_read.h - reading results files (format version 1, docs/FORMAT.md).
 *
 * Used by `bench report`, `bench compare` and the tests. Reading is by
 * dataset member name, so a file written by any conforming writer reads the
 * same. Chunk tables can be read in slices so that a reader's memory does not
 * grow with the size of the file. */
#ifndef BENCH_RESULTS_READ_H
#define BENCH_RESULTS_READ_H

#include <stddef.h>
#include <stdint.h>

#include "record.h"
#include "results.h"
#include "status.h"

typedef struct results_file results_file;

typedef struct {
    uint64_t request_id;
    char message[256];
} results_error_row;

/* Open a results file read-only (a load-test file, or an evaluation file:
 * root attribute kind = "eval", no levels; see evalres.h). Fails with BENCH_EINPUT, naming the
 * path, when it is not HDF5, lacks format_version, or has a version other than
 * RESULTS_FORMAT_VERSION; BENCH_EIO when it cannot be opened. *out is owned
 * by the caller (results_file_close). */
bench_status results_open(const char *path, results_file **out, bench_err *err);

/* A root string attribute read at open (model, served_model, endpoint,
 * endpoint_kind, api, config, created_utc, harness_version, clock,
 * run_status, ...). Borrowed; NULL when absent. */
const char *results_file_attr(const results_file *f, const char *name);

int64_t results_file_t0_monotonic(const results_file *f);
int64_t results_file_t0_unix(const results_file *f);

/* Levels present in the file: concurrency levels ascending, then rate
 * levels ascending (level_cmp), which is the run order of a sweep. */
size_t results_file_level_count(const results_file *f);
/* Borrowed; i < count. As written; `level` is always set (c<N> for files
 * written before rate levels), `concurrency` is 0 for a rate level, and
 * client.present says whether the level carries the client's
 * self-measurement. */
const results_level_info *results_file_level(const results_file *f, size_t i);

/* Whole requests table of level c<concurrency>. *rows is malloc'ed and owned
 * by the caller (free it). */
bench_status results_read_requests(results_file *f, int concurrency, req_record **rows, size_t *n,
                                   bench_err *err);

/* Number of rows in level c<concurrency>'s chunks table. */
bench_status results_chunk_count(results_file *f, int concurrency, uint64_t *n, bench_err *err);

/* Read rows [start, start + count) of the chunks table into out (caller's
 * array of count rows). */
bench_status results_read_chunks(results_file *f, int concurrency, uint64_t start, size_t count,
                                 chunk_record *out, bench_err *err);

/* Whole errors table; *rows malloc'ed, owned by the caller. */
bench_status results_read_errors(results_file *f, int concurrency, results_error_row **rows,
                                 size_t *n, bench_err *err);

/* The same four for any level (level_key; the forms above take a
 * concurrency level's N). */
bench_status results_read_requests_key(results_file *f, level_key k, req_record **rows, size_t *n,
                                       bench_err *err);
bench_status results_chunk_count_key(results_file *f, level_key k, uint64_t *n, bench_err *err);
bench_status results_read_chunks_key(results_file *f, level_key k, uint64_t start, size_t count,
                                     chunk_record *out, bench_err *err);
bench_status results_read_errors_key(results_file *f, level_key k, results_error_row **rows,
                                     size_t *n, bench_err *err);

void results_file_close(results_file *f);

#endif
