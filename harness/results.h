/* results.h - the HDF5 results file, format version 1 (docs/FORMAT.md).
 *
 * A results writer creates the file up front (so an unwritable path fails
 * before the first request), then receives each concurrency level's rows as
 * the run goes. Datasets are chunked and deflate-compressed and appended to,
 * so memory stays bounded however long the run. The file is flushed at the
 * end of every level: a crash loses at most the level in progress. */
#ifndef BENCH_RESULTS_H
#define BENCH_RESULTS_H

#include <stddef.h>
#include <stdint.h>

#include "level.h"
#include "record.h"
#include "schedule.h"
#include "status.h"

#define RESULTS_FORMAT_VERSION 1

/* Size of the fixed `message` field of an errors row: up to 255 bytes of
 * UTF-8 text, NUL-padded (docs/FORMAT.md). */
#define RESULTS_ERROR_LEN 256

/* Root attributes. All strings are borrowed for the duration of the call. */
typedef struct {
    const char *harness_version;
    const char *created_utc;   /* ISO 8601, e.g. 2026-11-29T06:30:00Z */
    const char *model;         /* catalog / report name */
    const char *served_model;  /* id sent in requests */
    const char *endpoint;      /* base URL, never with credentials */
    const char *endpoint_kind; /* "simulated" or "remote" */
    const char *api;           /* "chat" or "completions" */
    const char *config_json;   /* full effective configuration, no secrets */
    int64_t t0_unix_ns;        /* wall-clock time of the run's zero */
    int64_t t0_monotonic_ns;   /* CLOCK_MONOTONIC reading of the run's zero */
} results_meta;

/* Per-level attributes, written when the level ends. */
typedef struct {
    int concurrency;              /* N of a concurrency level; 0 for a rate level */
    int64_t t_start_ns, t_end_ns; /* relative to t0 */
    uint64_t requests_ok, requests_failed, requests_warmup;
    /* What came with open-loop levels and the client's self-measurement.
     * All zero (as older callers leave them, and as files without them
     * read) means concurrency level c<concurrency>, no measurement. */
    level_key level;                    /* kind 0: c<concurrency> */
    char arrival[SCHEDULE_ARRIVAL_MAX]; /* rate level: "poisson", "constant", "gamma:2" */
    int max_concurrency;                /* rate level: the cap on requests in flight */
    level_client client;                /* written when client.present */
} results_level_info;

/* The level an info describes: info->level, or c<concurrency> when unset. */
level_key results_level_key(const results_level_info *info);

typedef struct results results;

/* Create (truncate) the file at path and write the root attributes.
 * *out is owned by the caller and released by results_close(). A NULL string
 * in meta is written as "" (config_json as "{}", created_utc as the current
 * UTC time); endpoint_kind must be "simulated" or "remote". The caller
 * creates missing parent directories. Not thread-safe: one thread per file. */
bench_status results_create(const char *path, const results_meta *meta, results **out,
                            bench_err *err);

/* Start group /levels/c<concurrency> with empty requests/chunks/errors
 * datasets. Only one level is open at a time; concurrency must be >= 1 and
 * not used by an earlier level of the file. */
bench_status results_level_begin(results *r, int concurrency, bench_err *err);
/* The same for any level: group /levels/<level_format(k)> ("c8", "r2.5");
 * k must be level_valid. */
bench_status results_level_begin_key(results *r, level_key k, bench_err *err);

/* Append rows to the open level. Arrays are borrowed for the call. The
 * caller keeps request/chunk consistency (chunk_offset indexes `chunks`). */
bench_status results_append_requests(results *r, const req_record *rows, size_t n, bench_err *err);
bench_status results_append_chunks(results *r, const chunk_record *rows, size_t n, bench_err *err);
/* One error row: the request id and the reason (truncated to 255 bytes). */
bench_status results_append_error(results *r, uint64_t request_id, const char *message,
                                  bench_err *err);

/* Write the level's attributes, close its group and flush the file to disk
 * (fsync included). results_level_key(info) must be the open level. A
 * concurrency level gets `concurrency`, a rate level `rate`, `arrival` and
 * `max_concurrency`; both `mode` and, with info->client.present, the
 * client_* attributes (docs/FORMAT.md). The counts
 * must agree with the appended rows (requests_ok / requests_failed: measured
 * rows whose class is / is not req_class_is_success(); requests_warmup:
 * warm-up rows): the attributes are written as given either way, but a
 * disagreement is reported as BENCH_EINPUT after the level is safely on disk. */
bench_status results_level_end(results *r, const results_level_info *info, bench_err *err);

/* Set (or overwrite) a string attribute on the root group, e.g. a status
 * note at the end of an interrupted run. The attributes of the format
 * (format_version, model, ...) cannot be overwritten. The file is flushed at
 * once when no level is open, otherwise at the level's end. */
bench_status results_set_root_attr(results *r, const char *name, const char *value, bench_err *err);

/* Make sure the file can grow by `bytes` more: allocate that much past its
 * end (fallocate, FALLOC_FL_KEEP_SIZE; given back by results_close) and
 * check the file size limit (RLIMIT_FSIZE). BENCH_EIO with a message naming
 * what is short when it cannot; the file itself is untouched and still
 * writable, so the caller can end the level it has open. Where fallocate is
 * not supported the file system's free space is compared instead. */
bench_status results_reserve(results *r, uint64_t bytes, bench_err *err);

/* 1 once a write to the file failed. From then on nothing more is written
 * to it: it keeps what its last successful flush wrote (every ended level),
 * the open level is lost, every writing call fails with BENCH_EIO, and
 * results_close releases it without writing. */
int results_failed(const results *r);

/* Close the file and free r (NULL is fine). Returns the first failure.
 * A level that was begun but not ended is dropped, so that the file only
 * ever holds ended levels; end it first to keep its partial rows. */
bench_status results_close(results *r, bench_err *err);

#endif
