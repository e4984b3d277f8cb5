/* fileio.h - small file helpers shared by every loader. */
#ifndef BENCH_FILEIO_H
#define BENCH_FILEIO_H

#include <stddef.h>
#include "status.h"

/* Read a whole file into a NUL-terminated heap buffer (caller frees *out).
 * Files larger than max bytes are refused with a message naming the path.
 * len may be NULL. */
bench_status file_read_all(const char *path, size_t max, char **out, size_t *len, bench_err *err);

/* Directory of the running executable's project root: the directory that
 * holds suites/models.json, found from BENCH_ROOT, else by walking up from
 * /proc/self/exe. Returns a static string; "" when not found. */
const char *file_project_root(void);

/* Resolve a path relative to the project root into buf. */
const char *file_in_root(const char *rel, char *buf, size_t bufsz);

/* Create directory dir and any missing parents (like mkdir -p). 0 on
 * success, -1 with errno set otherwise. */
int file_mkdirs(const char *dir);

/* Create the missing parent directories of a file path. */
int file_mkdirs_for(const char *file);

#endif
