/* datasets.h - where evaluation data lives, its manifest
 * (datasets/manifest.json: each file's canonical source URL, sha256, size,
 * format) and the fetch/verify commands.
 *
 * Nothing here is copied into the project: the data directory defaults to
 * ../shared/datasets beside the project root and is overridden by
 * --data-dir or BENCH_DATA_DIR. */
#ifndef BENCH_DATASETS_H
#define BENCH_DATASETS_H

#include <stddef.h>
#include <stdio.h>

#include "status.h"

/* The data directory: flag (may be NULL) > $BENCH_DATA_DIR > <root>/../shared/datasets.
 * *out is the caller's (free). */
bench_status datasets_dir(const char *flag, char **out, bench_err *err);

/* SHA-256 of a buffer / a file, as 64 lowercase hex digits + NUL in hex[65]. */
void datasets_sha256_hex(const void *data, size_t len, char hex[65]);
bench_status datasets_sha256_file(const char *path, char hex[65], bench_err *err);

/* `bench datasets list|verify|fetch ...` (argv after "datasets"). Prints to
 * out, errors to err; returns the process exit status (0 ok, 1 a file failed
 * verification or download, 2 usage). */
int datasets_main(int argc, char **argv);

/* Verify the files of dataset `name` (NULL: every dataset) under data_dir
 * against the manifest; each file is reported on out ("ok", "MISSING",
 * "MISMATCH"). Returns BENCH_EINPUT naming the first bad file when any is.
 * out may be NULL. An unknown name is BENCH_EUSAGE; an unreadable or
 * malformed manifest BENCH_EIO / BENCH_EINPUT naming it. */
bench_status datasets_verify(const char *manifest_path, const char *data_dir, const char *name,
                             FILE *out, bench_err *err);

/* Download every file of dataset `name` from its manifest URL (file:// and
 * http(s):// through libcurl; the manifest's url may be overridden by
 * $BENCH_DATASETS_MIRROR, a base URL the manifest paths are appended to)
 * into to_dir/<path>, verifying sha256 before the file is moved into place;
 * a file whose hash differs is refused and not left behind.
 * name NULL: every dataset. A file already in place with the right size and
 * hash is kept. Without a mirror, a file that only has an "archive" source
 * (the MMLU CSVs) cannot be fetched: refused before anything is downloaded,
 * with BENCH_EUSAGE. A hash mismatch is BENCH_EINPUT, a download that
 * exceeds the manifest's size BENCH_EPROTO, a transfer failure BENCH_EIO. */
bench_status datasets_fetch(const char *manifest_path, const char *name, const char *to_dir,
                            FILE *out, bench_err *err);

#endif
