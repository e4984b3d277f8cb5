/* results_types.h - internal to the results writer (results.c) and reader
 * (results_read.c): what both need to agree on, kept in one place.
 *
 *   - the compound row types of the three tables, built member by member
 *     from the C structs (HOFFSET) and the packed file layout of
 *     docs/FORMAT.md, so that the writer and the reader can never disagree
 *     on a field name or type;
 *   - the HDF5 error idiom: no printing, one bench_err line naming the file,
 *     what failed and the innermost HDF5 reason.
 *
 * Not part of the public interface: nothing outside results*.c includes it. */
#ifndef BENCH_RESULTS_TYPES_H
#define BENCH_RESULTS_TYPES_H

#include <hdf5.h>
#include <stddef.h>

#include "results.h"
#include "results_read.h"
#include "status.h"

/* The tables of a level, in this order; results_ds_name[] are their names. */
enum { DS_REQUESTS, DS_CHUNKS, DS_ERRORS, DS_COUNT };

extern const char *const results_ds_name[DS_COUNT];

/* The memory layout of an errors row is the reader's results_error_row; the
 * writer uses it too. Its message field is the file's string[256]. */
_Static_assert(sizeof(((results_error_row *)0)->message) == RESULTS_ERROR_LEN,
               "results_error_row.message must be RESULTS_ERROR_LEN bytes");

/* Which way rows travel. Only the padding of the in-memory strings differs:
 *   RESULTS_TO_FILE: finish_reason is read up to its NUL (bytes after it may
 *     be garbage in a live record), message as NUL-padded;
 *   RESULTS_FROM_FILE: finish_reason comes back exactly as stored, NUL-padded
 *     (a reason that fills all 16 bytes keeps all 16, unterminated, as
 *     record.h allows), message is always NUL-terminated (a damaged file
 *     with 256 bytes of text cannot make it overrun). */
typedef enum { RESULTS_TO_FILE, RESULTS_FROM_FILE } results_direction;

/* Build the row types of table `which` (DS_*): *mem, the C struct layout
 * (req_record, chunk_record, results_error_row), and unless file is NULL
 * *file, the packed little-endian file layout of docs/FORMAT.md. The caller
 * owns the returned identifiers. Returns < 0 (nothing to close) on failure,
 * the HDF5 error stack holding the reason. */
herr_t results_row_types(int which, results_direction dir, hid_t *mem, hid_t *file);

/* Write a scalar attribute of file type ftype from a value of memory type
 * mtype on obj, replacing any attribute of that name. < 0 on failure. */
herr_t results_h5_put_attr(hid_t obj, const char *name, hid_t ftype, hid_t mtype,
                           const void *value);
/* A scalar variable-length UTF-8 string attribute; NULL is written as "". */
herr_t results_h5_put_str(hid_t obj, const char *name, const char *value);

/* A variable-length UTF-8 string type, owned by the caller (< 0 on failure). */
hid_t results_vlen_utf8(void);

/* Size the type-conversion buffers of the transfer property list dxpl to n
 * rows of the larger of mtype and ftype, at most 1 MiB. HDF5 1.10 allocates
 * and zeroes these buffers at their configured size (1 MiB by default) on
 * every read or write of a compound, which costs megabytes of memset per call
 * when rows are moved a few at a time. n must be >= 1. Returns < 0 on
 * failure. */
herr_t results_size_xfer(hid_t dxpl, hid_t mtype, hid_t ftype, size_t n);

/* Stop HDF5 printing its error stack to stderr. The library is built
 * thread-safe on Debian, where the setting is per thread, so every public
 * entry point of the writer and the reader calls this. */
void results_h5_quiet(void);

/* Fail with st: "results file PATH: WHAT: innermost HDF5 reason", then clear
 * the HDF5 error stack. */
bench_status results_h5_fail(bench_status st, const char *path, bench_err *err, const char *what);

/* Close any kind of identifier and mark it invalid; harmless on an invalid
 * one. Returns a negative value when the close failed. */
herr_t results_h5_close(hid_t *id);

#endif
