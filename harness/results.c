/* results.c - the HDF5 results file writer, format version 1.
 *
 * Layout and guarantees: docs/FORMAT.md. In short:
 *   - the file uses the oldest HDF5 format able to hold it (superblock v0,
 *     bounds EARLIEST..V18): such a file has no "open for writing" flag, so a
 *     writer killed with SIGKILL leaves a file that any HDF5 >= 1.8 reader
 *     opens as it was at the last flush (the 1.10 "latest" format would make
 *     readers refuse it until `h5clear -s`);
 *   - / and /levels are "corked" (their metadata kept in the cache, never
 *     written) while a level is open, so the link to an unfinished level
 *     never reaches the disk before the level's own objects (without the
 *     cork, /levels' entries age out of the cache during a long level and
 *     are written, link included); results_level_end flushes the level's
 *     objects, fsyncs, then writes the link and fsyncs again;
 *   - /levels' local heap is sized up front so that adding a level's name
 *     never moves it (a moved heap frees space that new raw data could reuse
 *     while the on-disk symbol table still points there);
 *   - after any failed write the file is frozen: HDF5's descriptor is
 *     replaced by /dev/null, so nothing more reaches the disk (the file
 *     keeps the state of its last successful flush, every ended level
 *     readable) and closing cannot fail half way (HDF5 1.10 leaves a
 *     half-written, unreadable file and may crash at exit when its closing
 *     flush fails);
 *   - results_reserve keeps space allocated ahead of the writes
 *     (fallocate), so a filling disk is noticed before HDF5 hits it.
 * HDF5 errors are never printed; each failure becomes one bench_err line
 * naming the file, the object and the innermost HDF5 reason. */
#include "results.h"

#include <errno.h>
#include <fcntl.h>
#include <hdf5.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include "results_types.h"

/* Rows per HDF5 chunk: about 100 KiB uncompressed each, so one chunk of each
 * dataset fits the default 1 MiB per-dataset chunk cache and appends in
 * batches rewrite a chunk at most a few times before it fills. */
static const hsize_t ds_chunk_rows[DS_COUNT] = {1024, 4096, 256};

/* Size hint for the local heap of /levels (holds the level names, 8 bytes
 * for "c8", at most 24 for a rate's "r0.3333333333333333"): room for 1024
 * concurrency levels, or 680 rate levels, before the heap must move. */
#define LEVELS_HEAP_HINT 16384

struct results {
    char *path;                        /* owned copy, for messages */
    hid_t file;                        /* the open file */
    hid_t root;                        /* /, open while the file is */
    hid_t levels;                      /* /levels, open while the file is */
    int corked;                        /* / and /levels held in the cache */
    hid_t level;                       /* open /levels/c<N>, or H5I_INVALID_HID */
    level_key key;                     /* the open level */
    char name[LEVEL_NAME_MAX];         /* its name, "c8" or "r2.5" */
    hid_t ds[DS_COUNT];                /* its datasets */
    hsize_t rows[DS_COUNT];            /* their current lengths */
    hid_t mtype[DS_COUNT];             /* compound types, memory layout */
    hid_t ftype[DS_COUNT];             /* compound types, file layout (packed) */
    hid_t dxpl;                        /* transfer properties of the appends */
    uint64_t n_ok, n_failed, n_warmup; /* tally of the open level's rows */
    int frozen;                        /* a write failed: nothing more is written */
    int reserved;                      /* results_reserve allocated space past the end */
};

/* Root attributes of the format, which results_set_root_attr refuses. */
static const char *const reserved_attrs[] = {
    "format_version", "harness_version", "created_utc", "model",  "served_model",
    "endpoint",       "endpoint_kind",   "api",         "config", "clock",
    "t0_unix_ns",     "t0_monotonic_ns", NULL,
};

/* --- HDF5 error handling ------------------------------------------------ */

/* Fail with BENCH_EHDF5: "results file PATH: WHAT: innermost HDF5 reason",
 * then clear the HDF5 error stack. */
static bench_status h5_fail(const char *path, bench_err *err, const char *what)
{
    return results_h5_fail(BENCH_EHDF5, path, err, what);
}

/* --- file helpers -------------------------------------------------------- */

/* The descriptor HDF5's default (sec2) driver writes through; -1 if none. */
static int file_fd(results *r)
{
    int *fd = NULL;
    if (r->file < 0 || H5Fget_vfd_handle(r->file, H5P_DEFAULT, (void **)&fd) < 0 || !fd) {
        H5Eclear2(H5E_DEFAULT);
        return -1;
    }
    return *fd;
}

/* Give back the space results_reserve allocated past the end of the file
 * (a truncation to the current size frees blocks allocated beyond it). */
static void release_reserve(results *r, int fd)
{
    struct stat sb;
    if (r->reserved && fd >= 0 && fstat(fd, &sb) == 0 && ftruncate(fd, sb.st_size) == 0)
        r->reserved = 0;
}

/* A write failed: keep the file as its last successful flush left it. What
 * HDF5 still holds in memory (the open level, dirty metadata) and whatever
 * it writes while closing goes to /dev/null instead of over a consistent
 * file; the space reserved ahead is given back first, for a recovery file. */
static void freeze(results *r)
{
    if (r->frozen)
        return;
    r->frozen = 1;
    int fd = file_fd(r);
    if (fd < 0)
        return;
    release_reserve(r, fd);
    int null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
    if (null_fd >= 0) {
        dup2(null_fd, fd);
        close(null_fd);
    }
}

/* h5_fail for a failed write: report it, then freeze the file. */
static bench_status io_fail(results *r, bench_err *err, const char *what)
{
    bench_status st = h5_fail(r->path, err, what);
    freeze(r);
    return st;
}

static bench_status frozen_fail(const results *r, bench_err *err)
{
    return bench_fail(err, BENCH_EIO,
                      "results file %s: not written to since a write to it failed (it keeps "
                      "the levels ended before)",
                      r->path);
}

/* Push what HDF5 has written (H5Fflush leaves it in the kernel's page cache,
 * which already survives SIGKILL) down to the disk, so a power loss after a
 * level's end keeps the level too. */
static bench_status sync_file(results *r, bench_err *err)
{
    int *fd = NULL;
    if (H5Fget_vfd_handle(r->file, H5P_DEFAULT, (void **)&fd) < 0 || !fd)
        return io_fail(r, err, "cannot get the file descriptor to sync");
    if (fsync(*fd) != 0 && errno != EINVAL && errno != EROFS) {
        bench_status st =
            bench_fail(err, BENCH_EIO, "results file %s: fsync: %s", r->path, strerror(errno));
        freeze(r);
        return st;
    }
    return BENCH_OK;
}

/* fsync the directory holding path, so that a rename into it survives a
 * power loss. Best effort. */
static void sync_dir(const char *path)
{
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (!slash)
        snprintf(dir, sizeof dir, ".");
    else if (slash == dir)
        dir[1] = '\0';
    else
        *slash = '\0';
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
}

static bench_status flush_file(results *r, bench_err *err)
{
    if (H5Fflush(r->file, H5F_SCOPE_GLOBAL) < 0)
        return io_fail(r, err, "cannot flush to disk");
    return sync_file(r, err);
}

/* Release the open level's handles and, unless keep_cork, the cork of / and
 * /levels, without writing the level's attributes. Afterwards no level is
 * open. Returns < 0 if a close failed. */
static herr_t release_level(results *r, int keep_cork)
{
    herr_t rc = 0;
    for (int i = 0; i < DS_COUNT; i++)
        if (results_h5_close(&r->ds[i]) < 0)
            rc = -1;
    if (results_h5_close(&r->level) < 0)
        rc = -1;
    if (r->corked && !keep_cork) {
        if (H5Oenable_mdc_flushes(r->levels) < 0)
            rc = -1;
        if (H5Oenable_mdc_flushes(r->root) < 0)
            rc = -1;
        r->corked = 0;
    }
    return rc;
}

/* Remove the open level: close it, unlink it from /levels while the cork
 * still keeps that change in the cache, then uncork. The on-disk file never
 * saw the level. Returns < 0 on failure. */
static herr_t drop_level(results *r)
{
    herr_t rc = release_level(r, 1);
    htri_t linked = H5Lexists(r->levels, r->name, H5P_DEFAULT);
    if (linked < 0 || (linked > 0 && H5Ldelete(r->levels, r->name, H5P_DEFAULT) < 0))
        rc = -1;
    if (release_level(r, 0) < 0)
        rc = -1;
    return rc;
}

/* The current UTC time as ISO 8601 ("2026-11-29T06:30:00Z") into buf. */
static const char *utc_now(char *buf, size_t n)
{
    time_t now = time(NULL);
    struct tm tm;
    if (!gmtime_r(&now, &tm) || strftime(buf, n, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
        snprintf(buf, n, "1970-01-01T00:00:00Z");
    return buf;
}

/* "0=ok,1=http_error,...": the class names for the `class_names` attribute. */
static void class_names(char *buf, size_t n)
{
    size_t len = 0;
    buf[0] = '\0';
    for (int c = 0; c < REQ_CLASS_COUNT && len < n; c++) {
        int w = snprintf(buf + len, n - len, "%s%d=%s", c ? "," : "", c, req_class_name(c));
        if (w < 0)
            break;
        len += (size_t)w;
    }
}

/* --- public API ---------------------------------------------------------- */

bench_status results_create(const char *path, const results_meta *meta, results **out,
                            bench_err *err)
{
    bench_status st = BENCH_OK;
    results *r = NULL;
    hid_t fapl = H5I_INVALID_HID, gcpl = H5I_INVALID_HID;
    int created = 0;
    char tmp[4096];

    results_h5_quiet();
    if (out)
        *out = NULL;
    if (!path || !*path || !meta || !out)
        return bench_fail(err, BENCH_EUSAGE, "results_create: missing path, metadata or output");
    if (!meta->endpoint_kind || (strcmp(meta->endpoint_kind, "simulated") != 0 &&
                                 strcmp(meta->endpoint_kind, "remote") != 0))
        return bench_fail(err, BENCH_EUSAGE,
                          "results file %s: endpoint_kind must be \"simulated\" or \"remote\", "
                          "not \"%s\"",
                          path, meta->endpoint_kind ? meta->endpoint_kind : "(null)");

    if (!(r = calloc(1, sizeof *r)))
        return bench_fail(err, BENCH_ENOMEM, "results file %s: out of memory", path);
    r->file = r->root = r->levels = r->level = r->dxpl = H5I_INVALID_HID;
    for (int i = 0; i < DS_COUNT; i++)
        r->ds[i] = r->mtype[i] = r->ftype[i] = H5I_INVALID_HID;
    if (!(r->path = strdup(path))) {
        st = bench_fail(err, BENCH_ENOMEM, "results file %s: out of memory", path);
        goto out;
    }
    for (int i = 0; i < DS_COUNT; i++)
        if (results_row_types(i, RESULTS_TO_FILE, &r->mtype[i], &r->ftype[i]) < 0) {
            st = h5_fail(path, err, "cannot build the row types");
            goto out;
        }
    if ((r->dxpl = H5Pcreate(H5P_DATASET_XFER)) < 0) {
        st = h5_fail(path, err, "cannot create transfer properties");
        goto out;
    }

    /* Oldest format (see the top of this file), and STRONG close so that
     * H5Fclose really closes and flushes even if an identifier leaked. File
     * locking stays on, but a file system without flock() is not an error. */
    if ((fapl = H5Pcreate(H5P_FILE_ACCESS)) < 0 ||
        H5Pset_libver_bounds(fapl, H5F_LIBVER_EARLIEST, H5F_LIBVER_V18) < 0 ||
        H5Pset_fclose_degree(fapl, H5F_CLOSE_STRONG) < 0 || H5Pset_file_locking(fapl, 1, 1) < 0) {
        st = h5_fail(path, err, "cannot set up file access properties");
        goto out;
    }
    /* Written as PATH.tmp and renamed once its header is on disk: a kill
     * while it is being created leaves no file, or an earlier one of the
     * same name, never half a header. */
    if (snprintf(tmp, sizeof tmp, "%s.tmp", path) >= (int)sizeof tmp) {
        st = bench_fail(err, BENCH_EUSAGE, "results file %s: path too long", path);
        goto out;
    }
    if ((r->file = H5Fcreate(tmp, H5F_ACC_TRUNC, H5P_DEFAULT, fapl)) < 0) {
        st = h5_fail(path, err, "cannot create");
        goto out;
    }
    created = 1;

    char now[32];
    int version = RESULTS_FORMAT_VERSION;
    struct {
        const char *name, *value;
    } strs[] = {
        {"harness_version", meta->harness_version},
        {"created_utc",
         meta->created_utc && *meta->created_utc ? meta->created_utc : utc_now(now, sizeof now)},
        {"model", meta->model},
        {"served_model", meta->served_model},
        {"endpoint", meta->endpoint},
        {"endpoint_kind", meta->endpoint_kind},
        {"api", meta->api},
        {"config", meta->config_json ? meta->config_json : "{}"},
        {"clock", "CLOCK_MONOTONIC"},
    };
    if (results_h5_put_attr(r->file, "format_version", H5T_STD_I32LE, H5T_NATIVE_INT, &version) <
        0) {
        st = h5_fail(path, err, "cannot write attribute format_version");
        goto out;
    }
    for (size_t i = 0; i < sizeof strs / sizeof strs[0]; i++)
        if (results_h5_put_str(r->file, strs[i].name, strs[i].value) < 0) {
            char what[64];
            snprintf(what, sizeof what, "cannot write attribute %s", strs[i].name);
            st = h5_fail(path, err, what);
            goto out;
        }
    if (results_h5_put_attr(r->file, "t0_unix_ns", H5T_STD_I64LE, H5T_NATIVE_INT64,
                            &meta->t0_unix_ns) < 0 ||
        results_h5_put_attr(r->file, "t0_monotonic_ns", H5T_STD_I64LE, H5T_NATIVE_INT64,
                            &meta->t0_monotonic_ns) < 0) {
        st = h5_fail(path, err, "cannot write the t0 attributes");
        goto out;
    }

    if ((r->root = H5Gopen2(r->file, "/", H5P_DEFAULT)) < 0) {
        st = h5_fail(path, err, "cannot open the root group");
        goto out;
    }
    if ((gcpl = H5Pcreate(H5P_GROUP_CREATE)) < 0 ||
        H5Pset_local_heap_size_hint(gcpl, LEVELS_HEAP_HINT) < 0 ||
        (r->levels = H5Gcreate2(r->file, "levels", H5P_DEFAULT, gcpl, H5P_DEFAULT)) < 0) {
        st = h5_fail(path, err, "cannot create group /levels");
        goto out;
    }
    if ((st = flush_file(r, err)) != BENCH_OK)
        goto out;
    if (rename(tmp, path) != 0) {
        st = bench_fail(err, BENCH_EIO, "results file %s: cannot rename %s to it: %s", path, tmp,
                        strerror(errno));
        goto out;
    }
    sync_dir(path);
    *out = r;
    r = NULL;
out:
    results_h5_close(&fapl);
    results_h5_close(&gcpl);
    if (r) {
        results_close(r, NULL);
        if (created)
            unlink(tmp); /* ours: do not leave half a header */
    }
    return st;
}

level_key results_level_key(const results_level_info *info)
{
    return info->level.kind ? info->level : level_conc(info->concurrency);
}

bench_status results_level_begin(results *r, int concurrency, bench_err *err)
{
    if (concurrency < 1)
        return bench_fail(err, BENCH_EUSAGE, "results file %s: bad concurrency %d",
                          r ? r->path : "?", concurrency);
    return results_level_begin_key(r, level_conc(concurrency), err);
}

bench_status results_level_begin_key(results *r, level_key k, bench_err *err)
{
    bench_status st = BENCH_OK;
    hid_t space = H5I_INVALID_HID, dcpl = H5I_INVALID_HID;
    char name[LEVEL_NAME_MAX];

    results_h5_quiet();
    if (!r)
        return bench_fail(err, BENCH_EUSAGE, "results_level_begin: no results file");
    if (r->level >= 0)
        return bench_fail(err, BENCH_EUSAGE, "results file %s: level %s is still open", r->path,
                          r->name);
    if (!level_valid(k))
        return bench_fail(err, BENCH_EUSAGE, "results file %s: bad level %c%g", r->path,
                          k.kind ? k.kind : '?', k.value);
    if (r->frozen)
        return frozen_fail(r, err);
    level_format(k, name, sizeof name);
    htri_t exists = H5Lexists(r->levels, name, H5P_DEFAULT);
    if (exists != 0) {
        if (exists < 0)
            return h5_fail(r->path, err, "cannot look up a level in /levels");
        return bench_fail(err, BENCH_EUSAGE, "results file %s: level /levels/%s already exists",
                          r->path, name);
    }

    /* Until this level ends, no metadata of /levels (and so no link to the
     * unfinished level) may reach the disk, nor of / (root attributes set
     * meanwhile): the on-disk file stays the one of the last flush. */
    if (H5Odisable_mdc_flushes(r->root) < 0) {
        st = h5_fail(r->path, err, "cannot hold / in the metadata cache");
        goto out;
    }
    if (H5Odisable_mdc_flushes(r->levels) < 0) {
        st = h5_fail(r->path, err, "cannot hold /levels in the metadata cache");
        H5Oenable_mdc_flushes(r->root);
        goto out;
    }
    r->corked = 1;
    r->key = k;
    snprintf(r->name, sizeof r->name, "%s", name);
    r->n_ok = r->n_failed = r->n_warmup = 0;
    if ((r->level = H5Gcreate2(r->levels, name, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT)) < 0) {
        st = io_fail(r, err, "cannot create a level group");
        goto out;
    }

    hsize_t zero = 0, unlimited = H5S_UNLIMITED;
    if ((space = H5Screate_simple(1, &zero, &unlimited)) < 0) {
        st = h5_fail(r->path, err, "cannot create a dataspace");
        goto out;
    }
    for (int i = 0; i < DS_COUNT; i++) {
        char what[96];
        snprintf(what, sizeof what, "level %s: cannot create dataset %s", name, results_ds_name[i]);
        /* Shuffle before deflate: the bytes of neighbouring timestamps and
         * ids differ little, and grouped by significance they compress well.
         * Level 1: deflate was the main thread's largest cost per chunk, and
         * level 4 saved only 2% of the bytes for 30% more of it. */
        if ((dcpl = H5Pcreate(H5P_DATASET_CREATE)) < 0 ||
            H5Pset_chunk(dcpl, 1, &ds_chunk_rows[i]) < 0 || H5Pset_shuffle(dcpl) < 0 ||
            H5Pset_deflate(dcpl, 1) < 0 ||
            (r->ds[i] = H5Dcreate2(r->level, results_ds_name[i], r->ftype[i], space, H5P_DEFAULT,
                                   dcpl, H5P_DEFAULT)) < 0) {
            st = io_fail(r, err, what);
            goto out;
        }
        results_h5_close(&dcpl);
        r->rows[i] = 0;
    }

    char names[512];
    class_names(names, sizeof names);
    if (results_h5_put_str(r->ds[DS_REQUESTS], "class_names", names) < 0) {
        st = io_fail(r, err, "cannot write attribute class_names");
        goto out;
    }
out:
    results_h5_close(&space);
    results_h5_close(&dcpl);
    if (st != BENCH_OK && r->corked) {
        drop_level(r); /* nothing of this level was ever written via /levels */
        H5Eclear2(H5E_DEFAULT);
    }
    return st;
}

/* Append n rows of dataset `which` from rows (borrowed): grow the extent,
 * then write the new rows as a hyperslab. On a failed write the extent is
 * shrunk back so that no fill-value rows are left behind. */
static bench_status append_rows(results *r, int which, const void *rows, size_t n, bench_err *err)
{
    bench_status st = BENCH_OK;
    hid_t fspace = H5I_INVALID_HID, mspace = H5I_INVALID_HID;
    char what[96];

    if (!r)
        return bench_fail(err, BENCH_EUSAGE, "results: append to no results file");
    if (r->level < 0)
        return bench_fail(err, BENCH_EUSAGE, "results file %s: append to %s with no level open",
                          r->path, results_ds_name[which]);
    if (r->frozen)
        return frozen_fail(r, err);
    if (n == 0)
        return BENCH_OK;
    if (!rows)
        return bench_fail(err, BENCH_EUSAGE, "results file %s: NULL rows for %s", r->path,
                          results_ds_name[which]);

    hsize_t start = r->rows[which], count = (hsize_t)n, size = start + count;
    /* On every write of a compound HDF5 1.10 allocates, and zeroes, its
     * conversion buffers at their configured size (1 MiB by default): size
     * them to the rows at hand, or appending row by row costs megabytes of
     * memset per row. */
    snprintf(what, sizeof what, "level %s: cannot append %zu rows to %s", r->name, n,
             results_ds_name[which]);
    if (H5Dset_extent(r->ds[which], &size) < 0) {
        st = io_fail(r, err, what);
        goto out;
    }
    if (results_size_xfer(r->dxpl, r->mtype[which], r->ftype[which], n) < 0 ||
        (fspace = H5Dget_space(r->ds[which])) < 0 ||
        H5Sselect_hyperslab(fspace, H5S_SELECT_SET, &start, NULL, &count, NULL) < 0 ||
        (mspace = H5Screate_simple(1, &count, NULL)) < 0 ||
        H5Dwrite(r->ds[which], r->mtype[which], mspace, fspace, r->dxpl, rows) < 0) {
        st = io_fail(r, err, what);
        goto out;
    }
    r->rows[which] = size;
out:
    results_h5_close(&fspace);
    results_h5_close(&mspace);
    return st;
}

bench_status results_append_requests(results *r, const req_record *rows, size_t n, bench_err *err)
{
    results_h5_quiet();
    bench_status st = append_rows(r, DS_REQUESTS, rows, n, err);
    if (st != BENCH_OK)
        return st;
    for (size_t i = 0; i < n; i++) {
        if (rows[i].warmup)
            r->n_warmup++;
        else if (req_class_is_success(rows[i].status))
            r->n_ok++;
        else
            r->n_failed++;
    }
    return BENCH_OK;
}

bench_status results_append_chunks(results *r, const chunk_record *rows, size_t n, bench_err *err)
{
    results_h5_quiet();
    return append_rows(r, DS_CHUNKS, rows, n, err);
}

bench_status results_append_error(results *r, uint64_t request_id, const char *message,
                                  bench_err *err)
{
    results_error_row row;
    memset(&row, 0, sizeof row);
    row.request_id = request_id;
    if (message) {
        /* Keep at most 255 bytes, cut at a UTF-8 character boundary. */
        size_t len = strlen(message);
        if (len > RESULTS_ERROR_LEN - 1) {
            len = RESULTS_ERROR_LEN - 1;
            while (len > 0 && ((unsigned char)message[len] & 0xC0) == 0x80)
                len--;
        }
        memcpy(row.message, message, len);
    }
    results_h5_quiet();
    return append_rows(r, DS_ERRORS, &row, 1, err);
}

/* The client's self-measurement as level attributes (docs/FORMAT.md). */
static herr_t put_client(hid_t g, const level_client *c)
{
    const struct {
        const char *name;
        double v;
    } dbl[] = {
        {"client_wall_s", c->wall_s},
        {"client_cpu_s", c->cpu_s},
        {"client_cpu_busiest", c->cpu_busiest},
        {"client_process_cpu_s", c->process_cpu_s},
        {"loop_lag_p50_ms", c->loop_lag_p50_ms},
        {"loop_lag_p99_ms", c->loop_lag_p99_ms},
        {"loop_lag_max_ms", c->loop_lag_max_ms},
        {"loop_wakeups", c->wakeups},
        {"kernel_stamped", c->kernel_stamped},
        {"read_pauses", c->pauses},
        {"io_uring_reads", c->ring_reads},
    };
    const struct {
        const char *name;
        int v;
    } ints[] = {
        {"client_threads", c->threads},
        {"client_cores", c->cores},
        {"peak_inflight", c->peak_inflight},
    };
    for (size_t i = 0; i < sizeof dbl / sizeof dbl[0]; i++)
        if (results_h5_put_attr(g, dbl[i].name, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, &dbl[i].v) < 0)
            return -1;
    for (size_t i = 0; i < sizeof ints / sizeof ints[0]; i++)
        if (results_h5_put_attr(g, ints[i].name, H5T_STD_I32LE, H5T_NATIVE_INT, &ints[i].v) < 0)
            return -1;
    if (c->transport[0] && results_h5_put_str(g, "client_transport", c->transport) < 0)
        return -1;
    return results_h5_put_str(g, "client_warning", c->warning);
}

bench_status results_level_end(results *r, const results_level_info *info, bench_err *err)
{
    bench_status st = BENCH_OK;
    char what[96];

    results_h5_quiet();
    if (!r || !info)
        return bench_fail(err, BENCH_EUSAGE, "results_level_end: missing file or level info");
    if (r->level < 0)
        return bench_fail(err, BENCH_EUSAGE, "results file %s: no level is open", r->path);
    level_key k = results_level_key(info);
    if (!level_eq(k, r->key)) {
        char given[LEVEL_NAME_MAX];
        return bench_fail(err, BENCH_EUSAGE,
                          "results file %s: ending level %s but level %s is open", r->path,
                          level_format(k, given, sizeof given), r->name);
    }
    if (r->frozen)
        return frozen_fail(r, err);
    const char *c = r->name;
    int conc = level_concurrency(k);
    snprintf(what, sizeof what, "level %s: cannot write its attributes", c);
    if (results_h5_put_str(r->level, "mode", k.kind == LEVEL_RATE ? "rate" : "concurrency") < 0 ||
        (k.kind == LEVEL_CONCURRENCY &&
         results_h5_put_attr(r->level, "concurrency", H5T_STD_I32LE, H5T_NATIVE_INT, &conc) < 0) ||
        (k.kind == LEVEL_RATE &&
         (results_h5_put_attr(r->level, "rate", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, &k.value) < 0 ||
          results_h5_put_str(r->level, "arrival", info->arrival) < 0 ||
          results_h5_put_attr(r->level, "max_concurrency", H5T_STD_I32LE, H5T_NATIVE_INT,
                              &info->max_concurrency) < 0)) ||
        (info->client.present && put_client(r->level, &info->client) < 0) ||
        results_h5_put_attr(r->level, "t_start_ns", H5T_STD_I64LE, H5T_NATIVE_INT64,
                            &info->t_start_ns) < 0 ||
        results_h5_put_attr(r->level, "t_end_ns", H5T_STD_I64LE, H5T_NATIVE_INT64,
                            &info->t_end_ns) < 0 ||
        results_h5_put_attr(r->level, "requests_ok", H5T_STD_U64LE, H5T_NATIVE_UINT64,
                            &info->requests_ok) < 0 ||
        results_h5_put_attr(r->level, "requests_failed", H5T_STD_U64LE, H5T_NATIVE_UINT64,
                            &info->requests_failed) < 0 ||
        results_h5_put_attr(r->level, "requests_warmup", H5T_STD_U64LE, H5T_NATIVE_UINT64,
                            &info->requests_warmup) < 0) {
        st = io_fail(r, err, what);
        goto out;
    }

    /* Phase 1: the level's own objects (unreachable from the on-disk file
     * while /levels is corked) reach the disk complete... */
    snprintf(what, sizeof what, "level %s: cannot flush its datasets", c);
    for (int i = 0; i < DS_COUNT; i++)
        if (H5Dflush(r->ds[i]) < 0) {
            st = io_fail(r, err, what);
            goto out;
        }
    if (H5Gflush(r->level) < 0) {
        st = io_fail(r, err, what);
        goto out;
    }
    if ((st = sync_file(r, err)) != BENCH_OK)
        goto out;
    /* ...phase 2: then the link to it from /levels, and the superblock. */
    if (release_level(r, 0) < 0) {
        st = io_fail(r, err, "cannot close the level");
        goto out;
    }
    if ((st = flush_file(r, err)) != BENCH_OK)
        goto out;

    if (info->requests_ok != r->n_ok || info->requests_failed != r->n_failed ||
        info->requests_warmup != r->n_warmup)
        st = bench_fail(err, BENCH_EINPUT,
                        "results file %s: level %s: counts ok/failed/warmup %llu/%llu/%llu "
                        "disagree with the request rows (%llu/%llu/%llu)",
                        r->path, c, (unsigned long long)info->requests_ok,
                        (unsigned long long)info->requests_failed,
                        (unsigned long long)info->requests_warmup, (unsigned long long)r->n_ok,
                        (unsigned long long)r->n_failed, (unsigned long long)r->n_warmup);
out:
    if (r->level >= 0) {
        /* Failed half way: no level is open any more; whatever reached the
         * cache is written by the next flush or by results_close. */
        release_level(r, 0);
        H5Eclear2(H5E_DEFAULT);
    }
    return st;
}

bench_status results_set_root_attr(results *r, const char *name, const char *value, bench_err *err)
{
    results_h5_quiet();
    if (!r || !name || !*name)
        return bench_fail(err, BENCH_EUSAGE, "results_set_root_attr: missing file or name");
    for (int i = 0; reserved_attrs[i]; i++)
        if (strcmp(name, reserved_attrs[i]) == 0)
            return bench_fail(err, BENCH_EUSAGE,
                              "results file %s: root attribute %s is part of the format and "
                              "cannot be overwritten",
                              r->path, name);
    if (r->frozen)
        return frozen_fail(r, err);
    if (results_h5_put_str(r->file, name, value) < 0) {
        char what[96];
        snprintf(what, sizeof what, "cannot write root attribute %.60s", name);
        return io_fail(r, err, what);
    }
    /* While a level is open a flush would also write its link (see the top
     * of this file); the level's end flushes this attribute too. */
    return r->level >= 0 ? BENCH_OK : flush_file(r, err);
}

/* "12.0 MiB" into buf. */
static const char *mib(uint64_t bytes, char *buf, size_t n)
{
    snprintf(buf, n, "%.2f MiB", (double)bytes / (1024.0 * 1024.0));
    return buf;
}

bench_status results_reserve(results *r, uint64_t bytes, bench_err *err)
{
    char need[32], have[32];
    if (!r)
        return bench_fail(err, BENCH_EUSAGE, "results_reserve: no results file");
    if (r->frozen)
        return frozen_fail(r, err);
    int fd = file_fd(r);
    struct stat sb;
    if (bytes == 0 || fd < 0 || fstat(fd, &sb) != 0)
        return BENCH_OK;
    /* HDF5 may have allocated space it has not written yet. */
    uint64_t end = (uint64_t)sb.st_size;
    hsize_t fsz = 0;
    if (H5Fget_filesize(r->file, &fsz) >= 0 && fsz > end)
        end = fsz;
    H5Eclear2(H5E_DEFAULT);

    struct rlimit rl;
    if (getrlimit(RLIMIT_FSIZE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
        end + bytes > (uint64_t)rl.rlim_cur)
        return bench_fail(
            err, BENCH_EIO,
            "results file %s: the file size limit (ulimit -f) leaves room for %s "
            "more, less than the %s kept in reserve",
            r->path,
            mib(end < (uint64_t)rl.rlim_cur ? (uint64_t)rl.rlim_cur - end : 0, have, sizeof have),
            mib(bytes, need, sizeof need));
    /* Allocate the space now: later writes into it cannot fail for want of
     * space, whoever else fills the file system meanwhile. */
    int rc;
    while ((rc = fallocate(fd, FALLOC_FL_KEEP_SIZE, (off_t)end, (off_t)bytes)) != 0 &&
           errno == EINTR)
        ;
    if (rc == 0) {
        r->reserved = 1;
        return BENCH_OK;
    }
    int e = errno;
    struct statvfs vs;
    uint64_t avail = 0;
    int have_vs = fstatvfs(fd, &vs) == 0;
    if (have_vs)
        avail = (uint64_t)vs.f_bavail * (uint64_t)vs.f_frsize;
    /* No fallocate on this file system (NFS, some FUSE): the free space
     * reported is the best guess there is. */
    int unsupported = e == EOPNOTSUPP || e == ENOSYS || e == EINVAL;
    if ((unsupported && have_vs && avail < bytes) || e == ENOSPC || e == EDQUOT || e == EFBIG)
        return bench_fail(err, BENCH_EIO,
                          "results file %s: no room for the %s kept in reserve (%s; %s free on "
                          "its file system)",
                          r->path, mib(bytes, need, sizeof need),
                          unsupported ? "free space" : strerror(e), mib(avail, have, sizeof have));
    return BENCH_OK;
}

int results_failed(const results *r)
{
    return r && r->frozen;
}

bench_status results_close(results *r, bench_err *err)
{
    bench_status st = BENCH_OK;
    if (!r)
        return BENCH_OK;
    results_h5_quiet();
    if (r->frozen) {
        /* The failure was reported when it happened; what HDF5 writes
         * while closing goes to /dev/null. */
        release_level(r, 0);
        results_h5_close(&r->levels);
        results_h5_close(&r->root);
        results_h5_close(&r->file);
    }
    if (r->level >= 0 && drop_level(r) < 0)
        st = h5_fail(r->path, err, "cannot drop the level left open");
    if (results_h5_close(&r->levels) < 0 && st == BENCH_OK)
        st = h5_fail(r->path, err, "cannot close group /levels");
    if (results_h5_close(&r->root) < 0 && st == BENCH_OK)
        st = h5_fail(r->path, err, "cannot close the root group");
    if (r->file >= 0) {
        /* Flush and sync while the descriptor is still ours, give back the
         * space reserved past the end; H5Fclose then only releases. */
        bench_status fst = flush_file(r, st == BENCH_OK ? err : NULL);
        if (st == BENCH_OK)
            st = fst;
        if (!r->frozen)
            release_reserve(r, file_fd(r));
        if (results_h5_close(&r->file) < 0 && st == BENCH_OK && !r->frozen)
            st = h5_fail(r->path, err, "cannot close");
    }
    for (int i = 0; i < DS_COUNT; i++) {
        results_h5_close(&r->mtype[i]);
        results_h5_close(&r->ftype[i]);
    }
    results_h5_close(&r->dxpl);
    H5Eclear2(H5E_DEFAULT);
    free(r->path);
    free(r);
    return st;
}
