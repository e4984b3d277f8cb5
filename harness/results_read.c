/* results_read.c - reading results files, format version 1 (docs/FORMAT.md).
 *
 * Rows are read through memory compound types built from the C structs
 * (results_row_types, shared with the writer), so HDF5 matches the fields by
 * name and converts whatever packing, order or integer widths the file has.
 * Before a table is read, every field of the row is checked to be present
 * with a compatible class, so a foreign or damaged file fails with a message
 * instead of leaving fields unset.
 *
 * Everything a report needs up front (root attributes, the levels and their
 * attributes) is read at open; tables are read on demand. The file is opened
 * without the HDF5 file lock, so a report can read a file the harness is
 * still writing (it then sees the file as of the last level end).
 *
 * HDF5 errors are never printed; each failure becomes one bench_err line
 * "results file PATH: what failed[: innermost HDF5 reason]". A malformed
 * file is BENCH_EINPUT, an unreadable one BENCH_EIO. */
#include "results_read.h"

#include <errno.h>
#include <fcntl.h>
#include <hdf5.h>
#include <stdio.h>
#include <stdlib.h>
#include <math.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "results_types.h"

/* A root string attribute: both strings owned. */
typedef struct {
    char *name, *value;
} str_attr;

struct results_file {
    char *path;                  /* owned copy, for messages */
    hid_t file;                  /* open read-only, without the file lock */
    hid_t mtype[DS_COUNT];       /* row types, C struct layout (templates) */
    hid_t dxpl;                  /* transfer properties of the reads */
    str_attr *attrs;             /* scalar string attributes of / */
    size_t n_attrs, cap_attrs;   /* entries used / allocated */
    int64_t t0_unix, t0_mono;    /* root t0_unix_ns, t0_monotonic_ns */
    results_level_info *levels;  /* ascending: level_cmp */
    size_t n_levels, cap_levels; /* entries used / allocated */
    /* The last table opened of each kind, kept open (already checked) so
     * that reading a level's chunks slice by slice does not reopen it, and
     * the type its rows are read with (mtype adapted to its strings). */
    hid_t ds[DS_COUNT];
    hid_t rtype[DS_COUNT];
    level_key ds_level[DS_COUNT];
};

/* Room for one more element in array p of `used` elements of elem bytes
 * and capacity *cap, doubled as needed: the (possibly moved) array, or NULL
 * when out of memory (p is then still valid and unchanged). */
static void *grow(void *p, size_t *cap, size_t used, size_t elem)
{
    if (used < *cap)
        return p;
    size_t n = *cap ? 2 * *cap : 16;
    void *q = n <= SIZE_MAX / elem ? realloc(p, n * elem) : NULL;
    if (q)
        *cap = n;
    return q;
}

/* --- attributes ---------------------------------------------------------- */

/* Read the attribute `name` of obj (called where in messages, e.g.
 * "/levels/c8") as mtype into out, when it is a single value of class
 * cls_a or cls_b (HDF5 converts any width or byte order between them).
 * Missing, of another class or not a single value: BENCH_EINPUT, the
 * message ending in "not a single <kind>". */
static bench_status num_attr(const results_file *f, hid_t obj, const char *where, const char *name,
                             H5T_class_t cls_a, H5T_class_t cls_b, const char *kind, hid_t mtype,
                             void *out, bench_err *err)
{
    bench_status st = BENCH_OK;
    hid_t attr = H5I_INVALID_HID, type = H5I_INVALID_HID, space = H5I_INVALID_HID;
    char what[160];

    snprintf(what, sizeof what, "%s: attribute %s", where, name);
    htri_t exists = H5Aexists(obj, name);
    if (exists < 0)
        return results_h5_fail(BENCH_EINPUT, f->path, err, what);
    if (exists == 0)
        return bench_fail(err, BENCH_EINPUT, "results file %s: %s: missing", f->path, what);
    if ((attr = H5Aopen(obj, name, H5P_DEFAULT)) < 0 || (type = H5Aget_type(attr)) < 0 ||
        (space = H5Aget_space(attr)) < 0) {
        st = results_h5_fail(BENCH_EINPUT, f->path, err, what);
        goto out;
    }
    H5T_class_t cls = H5Tget_class(type);
    if ((cls != cls_a && cls != cls_b) || H5Sget_simple_extent_npoints(space) != 1) {
        st = bench_fail(err, BENCH_EINPUT, "results file %s: %s: not a single %s", f->path, what,
                        kind);
        goto out;
    }
    if (H5Aread(attr, mtype, out) < 0)
        st = results_h5_fail(BENCH_EINPUT, f->path, err, what);
out:
    results_h5_close(&space);
    results_h5_close(&type);
    results_h5_close(&attr);
    H5Eclear2(H5E_DEFAULT);
    return st;
}

/* An integer attribute as mtype (any integer width or byte order). */
static bench_status int_attr(const results_file *f, hid_t obj, const char *where, const char *name,
                             hid_t mtype, void *out, bench_err *err)
{
    return num_attr(f, obj, where, name, H5T_INTEGER, H5T_INTEGER, "integer", mtype, out, err);
}

/* A numeric attribute as a double (an integer or any float width). */
static bench_status float_attr(const results_file *f, hid_t obj, const char *where,
                               const char *name, double *out, bench_err *err)
{
    return num_attr(f, obj, where, name, H5T_FLOAT, H5T_INTEGER, "number", H5T_NATIVE_DOUBLE, out,
                    err);
}

static bench_status str_attr_value(const results_file *f, hid_t attr, const char *name,
                                   char **value, bench_err *err);

/* The scalar string attribute `name` of obj into buf (cut to n - 1
 * bytes). Missing or not a scalar string: BENCH_EINPUT. */
static bench_status text_attr(const results_file *f, hid_t obj, const char *where, const char *name,
                              char *buf, size_t n, bench_err *err)
{
    bench_status st = BENCH_OK;
    hid_t attr = H5I_INVALID_HID;
    char *value = NULL;

    htri_t exists = H5Aexists(obj, name);
    if (exists <= 0) {
        H5Eclear2(H5E_DEFAULT);
        return bench_fail(err, BENCH_EINPUT, "results file %s: %s: attribute %s: missing", f->path,
                          where, name);
    }
    if ((attr = H5Aopen(obj, name, H5P_DEFAULT)) < 0) {
        char what[160];
        snprintf(what, sizeof what, "%s: attribute %s", where, name);
        st = results_h5_fail(BENCH_EINPUT, f->path, err, what);
        goto out;
    }
    if ((st = str_attr_value(f, attr, name, &value, err)))
        goto out;
    if (!value) {
        st = bench_fail(err, BENCH_EINPUT, "results file %s: %s: attribute %s: not a string",
                        f->path, where, name);
        goto out;
    }
    snprintf(buf, n, "%s", value);
out:
    free(value);
    results_h5_close(&attr);
    H5Eclear2(H5E_DEFAULT);
    return st;
}

/* The value of a scalar string attribute (fixed or variable length) as a
 * malloc'ed C string into *value, or *value = NULL when the attribute is not
 * a scalar string (it is then not one of ours to read). */
static bench_status str_attr_value(const results_file *f, hid_t attr, const char *name,
                                   char **value, bench_err *err)
{
    bench_status st = BENCH_OK;
    hid_t type = H5I_INVALID_HID, space = H5I_INVALID_HID, mem = H5I_INVALID_HID;
    char *vlen = NULL, what[160];

    *value = NULL;
    snprintf(what, sizeof what, "/: attribute %.100s", name);
    if ((type = H5Aget_type(attr)) < 0 || (space = H5Aget_space(attr)) < 0) {
        st = results_h5_fail(BENCH_EINPUT, f->path, err, what);
        goto out;
    }
    if (H5Tget_class(type) != H5T_STRING || H5Sget_simple_extent_type(space) != H5S_SCALAR)
        goto out;
    htri_t variable = H5Tis_variable_str(type);
    size_t size = H5Tget_size(type);
    H5T_cset_t cset = H5Tget_cset(type);
    /* The memory type keeps the file's character set: HDF5 does not convert
     * between character sets. */
    if (variable < 0 || size == 0 || size == SIZE_MAX || cset == H5T_CSET_ERROR ||
        (mem = H5Tcopy(H5T_C_S1)) < 0 || H5Tset_cset(mem, cset) < 0 ||
        H5Tset_strpad(mem, H5T_STR_NULLTERM) < 0 ||
        H5Tset_size(mem, variable ? H5T_VARIABLE : size + 1) < 0) {
        st = results_h5_fail(BENCH_EINPUT, f->path, err, what);
        goto out;
    }
    if (variable) {
        if (H5Aread(attr, mem, &vlen) < 0) {
            st = results_h5_fail(BENCH_EINPUT, f->path, err, what);
            goto out;
        }
        *value = strdup(vlen ? vlen : "");
    } else if ((*value = calloc(1, size + 1)) && H5Aread(attr, mem, *value) < 0) {
        free(*value);
        *value = NULL;
        st = results_h5_fail(BENCH_EINPUT, f->path, err, what);
        goto out;
    }
    if (!*value)
        st = bench_fail(err, BENCH_ENOMEM, "results file %s: %s: out of memory", f->path, what);
out:
    if (vlen)
        H5free_memory(vlen);
    results_h5_close(&mem);
    results_h5_close(&space);
    results_h5_close(&type);
    H5Eclear2(H5E_DEFAULT);
    return st;
}

/* State of the iteration over the root attributes. */
typedef struct {
    results_file *f;
    bench_status st;
    bench_err *err;
} attr_walk;

/* H5Aiterate2 callback: add attribute `name` of / to the table when it is a
 * scalar string. A failure stops the iteration, recorded in the walk. */
static herr_t root_attr_cb(hid_t loc, const char *name, const H5A_info_t *info, void *data)
{
    attr_walk *w = data;
    results_file *f = w->f;
    hid_t attr = H5I_INVALID_HID;
    char *value = NULL;
    (void)info;

    if ((attr = H5Aopen(loc, name, H5P_DEFAULT)) < 0) {
        char what[160];
        snprintf(what, sizeof what, "/: attribute %.100s", name);
        w->st = results_h5_fail(BENCH_EINPUT, f->path, w->err, what);
        goto out;
    }
    if ((w->st = str_attr_value(f, attr, name, &value, w->err)) != BENCH_OK || !value)
        goto out;
    str_attr *a = grow(f->attrs, &f->cap_attrs, f->n_attrs, sizeof *a);
    char *copy = a ? strdup(name) : NULL;
    if (a)
        f->attrs = a;
    if (!copy) {
        w->st = bench_fail(w->err, BENCH_ENOMEM, "results file %s: out of memory", f->path);
        goto out;
    }
    f->attrs[f->n_attrs].name = copy;
    f->attrs[f->n_attrs].value = value;
    f->n_attrs++;
    value = NULL;
out:
    free(value);
    results_h5_close(&attr);
    return w->st == BENCH_OK ? 0 : -1;
}

/* --- levels -------------------------------------------------------------- */

/* State of the iteration over /levels. */
typedef struct {
    results_file *f;
    bench_status st;
    bench_err *err;
} level_walk;

/* The client's self-measurement of a level, when it was written (files
 * before it have none: c->present stays 0). */
static bench_status read_client(const results_file *f, hid_t obj, const char *where,
                                level_client *c, bench_err *err)
{
    bench_status st;
    htri_t has = H5Aexists(obj, "client_threads");
    H5Eclear2(H5E_DEFAULT);
    if (has <= 0)
        return BENCH_OK;
    if ((st = int_attr(f, obj, where, "client_threads", H5T_NATIVE_INT, &c->threads, err)) ||
        (st = int_attr(f, obj, where, "client_cores", H5T_NATIVE_INT, &c->cores, err)) ||
        (st = int_attr(f, obj, where, "peak_inflight", H5T_NATIVE_INT, &c->peak_inflight, err)) ||
        (st = float_attr(f, obj, where, "client_wall_s", &c->wall_s, err)) ||
        (st = float_attr(f, obj, where, "client_cpu_s", &c->cpu_s, err)) ||
        (st = float_attr(f, obj, where, "client_cpu_busiest", &c->cpu_busiest, err)) ||
        (st = float_attr(f, obj, where, "client_process_cpu_s", &c->process_cpu_s, err)) ||
        (st = float_attr(f, obj, where, "loop_lag_p50_ms", &c->loop_lag_p50_ms, err)) ||
        (st = float_attr(f, obj, where, "loop_lag_p99_ms", &c->loop_lag_p99_ms, err)) ||
        (st = float_attr(f, obj, where, "loop_lag_max_ms", &c->loop_lag_max_ms, err)) ||
        (st = text_attr(f, obj, where, "client_warning", c->warning, sizeof c->warning, err)))
        return st;
    /* Added after the rest: optional. */
    has = H5Aexists(obj, "loop_wakeups");
    H5Eclear2(H5E_DEFAULT);
    if (has > 0 && (st = float_attr(f, obj, where, "loop_wakeups", &c->wakeups, err)))
        return st;
    c->kernel_stamped = NAN;
    has = H5Aexists(obj, "client_transport");
    H5Eclear2(H5E_DEFAULT);
    if (has > 0 && ((st = text_attr(f, obj, where, "client_transport", c->transport,
                                    sizeof c->transport, err)) ||
                    (st = float_attr(f, obj, where, "kernel_stamped", &c->kernel_stamped, err)) ||
                    (st = float_attr(f, obj, where, "read_pauses", &c->pauses, err))))
        return st;
    c->ring_reads = NAN;
    has = H5Aexists(obj, "io_uring_reads");
    H5Eclear2(H5E_DEFAULT);
    if (has > 0 && (st = float_attr(f, obj, where, "io_uring_reads", &c->ring_reads, err)))
        return st;
    c->present = 1;
    return BENCH_OK;
}

/* H5Literate callback: read the attributes of level group `name` of /levels
 * into the level table. Anything in /levels that is not such a group, or
 * whose concurrency (rate) disagrees with its name, is a malformed file. */
static herr_t level_cb(hid_t levels, const char *name, const H5L_info_t *info, void *data)
{
    level_walk *w = data;
    results_file *f = w->f;
    hid_t obj = H5I_INVALID_HID;
    results_level_info li;
    char where[160], mode[32];
    int concurrency = 0;
    level_key key;

    snprintf(where, sizeof where, "/levels/%.100s", name);
    if (info->type != H5L_TYPE_HARD || level_parse(name, &key) != 0) {
        w->st = bench_fail(w->err, BENCH_EINPUT,
                           "results file %s: %s: not a level (expected groups c<N> or r<R>)",
                           f->path, where);
        goto out;
    }
    if ((obj = H5Oopen(levels, name, H5P_DEFAULT)) < 0) {
        w->st = results_h5_fail(BENCH_EINPUT, f->path, w->err, where);
        goto out;
    }
    if (H5Iget_type(obj) != H5I_GROUP) {
        w->st =
            bench_fail(w->err, BENCH_EINPUT, "results file %s: %s: not a group", f->path, where);
        goto out;
    }
    memset(&li, 0, sizeof li);
    li.level = key;
    /* mode: written since rate levels exist; a file without it has only
     * concurrency levels */
    htri_t has_mode = H5Aexists(obj, "mode");
    H5Eclear2(H5E_DEFAULT);
    snprintf(mode, sizeof mode, "concurrency");
    if (has_mode > 0 && (w->st = text_attr(f, obj, where, "mode", mode, sizeof mode, w->err)))
        goto out;
    if (strcmp(mode, key.kind == LEVEL_RATE ? "rate" : "concurrency") != 0) {
        w->st = bench_fail(w->err, BENCH_EINPUT,
                           "results file %s: %s: mode attribute is '%s', not the level's %s",
                           f->path, where, mode, key.kind == LEVEL_RATE ? "rate" : "concurrency");
        goto out;
    }
    if (key.kind == LEVEL_RATE) {
        double rate = 0;
        if ((w->st = float_attr(f, obj, where, "rate", &rate, w->err)) ||
            (w->st = text_attr(f, obj, where, "arrival", li.arrival, sizeof li.arrival, w->err)) ||
            (w->st = int_attr(f, obj, where, "max_concurrency", H5T_NATIVE_INT, &li.max_concurrency,
                              w->err)))
            goto out;
        if (rate != key.value) {
            w->st = bench_fail(w->err, BENCH_EINPUT,
                               "results file %s: %s: rate attribute is %.17g, not the level's",
                               f->path, where, rate);
            goto out;
        }
    } else if ((w->st =
                    int_attr(f, obj, where, "concurrency", H5T_NATIVE_INT, &concurrency, w->err))) {
        goto out;
    }
    if ((w->st = read_client(f, obj, where, &li.client, w->err)) ||
        (w->st = int_attr(f, obj, where, "t_start_ns", H5T_NATIVE_INT64, &li.t_start_ns, w->err)) ||
        (w->st = int_attr(f, obj, where, "t_end_ns", H5T_NATIVE_INT64, &li.t_end_ns, w->err)) ||
        (w->st =
             int_attr(f, obj, where, "requests_ok", H5T_NATIVE_UINT64, &li.requests_ok, w->err)) ||
        (w->st = int_attr(f, obj, where, "requests_failed", H5T_NATIVE_UINT64, &li.requests_failed,
                          w->err)) ||
        (w->st = int_attr(f, obj, where, "requests_warmup", H5T_NATIVE_UINT64, &li.requests_warmup,
                          w->err)))
        goto out;
    if (key.kind == LEVEL_CONCURRENCY && concurrency != level_concurrency(key)) {
        w->st = bench_fail(w->err, BENCH_EINPUT,
                           "results file %s: %s: concurrency attribute is %d, not the level's %d",
                           f->path, where, concurrency, level_concurrency(key));
        goto out;
    }
    li.concurrency = concurrency;
    results_level_info *l = grow(f->levels, &f->cap_levels, f->n_levels, sizeof *l);
    if (!l) {
        w->st = bench_fail(w->err, BENCH_ENOMEM, "results file %s: out of memory", f->path);
        goto out;
    }
    f->levels = l;
    f->levels[f->n_levels++] = li;
out:
    results_h5_close(&obj);
    H5Eclear2(H5E_DEFAULT);
    return w->st == BENCH_OK ? 0 : -1;
}

static int info_cmp(const void *a, const void *b)
{
    return level_cmp(((const results_level_info *)a)->level,
                     ((const results_level_info *)b)->level);
}

/* Read /levels into f->levels, sorted by level_cmp (HDF5 lists the groups
 * by name: c1, c16, c2, ...): the run order of a sweep. */
static bench_status read_levels(results_file *f, bench_err *err)
{
    level_walk w = {f, BENCH_OK, err};
    hid_t levels = H5I_INVALID_HID;

    htri_t exists = H5Lexists(f->file, "levels", H5P_DEFAULT);
    if (exists <= 0) {
        if (exists < 0)
            return results_h5_fail(BENCH_EINPUT, f->path, err, "/levels");
        return bench_fail(err, BENCH_EINPUT, "results file %s: /levels: missing", f->path);
    }
    if ((levels = H5Gopen2(f->file, "levels", H5P_DEFAULT)) < 0)
        return results_h5_fail(BENCH_EINPUT, f->path, err, "/levels: not a group");
    if (H5Literate(levels, H5_INDEX_NAME, H5_ITER_NATIVE, NULL, level_cb, &w) < 0 &&
        w.st == BENCH_OK)
        w.st = results_h5_fail(BENCH_EINPUT, f->path, err, "/levels: cannot list the levels");
    results_h5_close(&levels);
    H5Eclear2(H5E_DEFAULT);
    if (w.st == BENCH_OK && f->n_levels > 1)
        qsort(f->levels, f->n_levels, sizeof *f->levels, info_cmp);
    return w.st;
}

/* --- opening ------------------------------------------------------------- */

/* Fail unless path names a regular file this process can read: BENCH_EIO
 * with the system's reason (HDF5's own message for a missing file is long
 * and would be reported as an HDF5 failure). */
static bench_status check_readable(const char *path, bench_err *err)
{
    struct stat sb;
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0)
        return bench_fail(err, BENCH_EIO, "results file %s: cannot open: %s", path,
                          strerror(errno));
    int rc = fstat(fd, &sb), e = errno;
    close(fd);
    if (rc != 0)
        return bench_fail(err, BENCH_EIO, "results file %s: cannot open: %s", path, strerror(e));
    if (S_ISDIR(sb.st_mode))
        return bench_fail(err, BENCH_EIO, "results file %s: cannot open: %s", path,
                          strerror(EISDIR));
    if (!S_ISREG(sb.st_mode))
        return bench_fail(err, BENCH_EINPUT, "results file %s: not a regular file", path);
    return BENCH_OK;
}

/* Open path read-only as HDF5 into f->file. No file lock is taken
 * (H5Pset_file_locking, HDF5 >= 1.10.7, which the writer requires too): the
 * writer holds an exclusive lock for the whole run, and a report of a run in
 * progress is expected to work. A file that HDF5 cannot open is told apart:
 * "not an HDF5 file" when it lacks the HDF5 signature, otherwise damaged
 * (e.g. truncated: HDF5 checks the file's size against the superblock). */
static bench_status open_h5(results_file *f, bench_err *err)
{
    bench_status st = BENCH_OK;
    hid_t fapl = H5I_INVALID_HID;

    if ((fapl = H5Pcreate(H5P_FILE_ACCESS)) < 0 || H5Pset_file_locking(fapl, 0, 1) < 0 ||
        H5Pset_fclose_degree(fapl, H5F_CLOSE_STRONG) < 0) {
        st = results_h5_fail(BENCH_EHDF5, f->path, err, "cannot set up file access properties");
        goto out;
    }
    if ((f->file = H5Fopen(f->path, H5F_ACC_RDONLY, fapl)) >= 0)
        goto out;
    st = results_h5_fail(BENCH_EINPUT, f->path, err, "damaged HDF5 file");
    htri_t is_h5 = H5Fis_hdf5(f->path);
    H5Eclear2(H5E_DEFAULT);
    if (is_h5 == 0)
        st = bench_fail(err, BENCH_EINPUT, "results file %s: not an HDF5 file", f->path);
out:
    results_h5_close(&fapl);
    return st;
}

/* Check format_version (first, so that a file of another version is named
 * as such rather than by whatever else differs), then read t0 and every
 * scalar string attribute of /. */
static bench_status read_root(results_file *f, bench_err *err)
{
    bench_status st;
    int64_t version = 0;

    htri_t has = H5Aexists(f->file, "format_version");
    if (has == 0)
        return bench_fail(err, BENCH_EINPUT,
                          "results file %s: no format_version attribute: not a results file",
                          f->path);
    if ((st = int_attr(f, f->file, "/", "format_version", H5T_NATIVE_INT64, &version, err)))
        return st;
    if (version != RESULTS_FORMAT_VERSION)
        return bench_fail(err, BENCH_EINPUT,
                          "results file %s: format_version %lld is not supported (this bench "
                          "reads %d)",
                          f->path, (long long)version, RESULTS_FORMAT_VERSION);
    if ((st = int_attr(f, f->file, "/", "t0_unix_ns", H5T_NATIVE_INT64, &f->t0_unix, err)) ||
        (st = int_attr(f, f->file, "/", "t0_monotonic_ns", H5T_NATIVE_INT64, &f->t0_mono, err)))
        return st;

    attr_walk w = {f, BENCH_OK, err};
    if (H5Aiterate2(f->file, H5_INDEX_NAME, H5_ITER_NATIVE, NULL, root_attr_cb, &w) < 0 &&
        w.st == BENCH_OK)
        w.st = results_h5_fail(BENCH_EINPUT, f->path, err, "/: cannot list the attributes");
    H5Eclear2(H5E_DEFAULT);
    return w.st;
}

bench_status results_open(const char *path, results_file **out, bench_err *err)
{
    bench_status st = BENCH_OK;
    results_file *f = NULL;

    results_h5_quiet();
    if (out)
        *out = NULL;
    if (!path || !*path || !out)
        return bench_fail(err, BENCH_EUSAGE, "results_open: missing path or output");
    if ((st = check_readable(path, err)) != BENCH_OK)
        return st;
    if (!(f = calloc(1, sizeof *f)) || !(f->path = strdup(path))) {
        free(f);
        return bench_fail(err, BENCH_ENOMEM, "results file %s: out of memory", path);
    }
    f->file = f->dxpl = H5I_INVALID_HID;
    for (int i = 0; i < DS_COUNT; i++)
        f->mtype[i] = f->rtype[i] = f->ds[i] = H5I_INVALID_HID;
    for (int i = 0; i < DS_COUNT; i++)
        if (results_row_types(i, RESULTS_FROM_FILE, &f->mtype[i], NULL) < 0) {
            st = results_h5_fail(BENCH_EHDF5, path, err, "cannot build the row types");
            goto out;
        }
    if ((f->dxpl = H5Pcreate(H5P_DATASET_XFER)) < 0) {
        st = results_h5_fail(BENCH_EHDF5, path, err, "cannot create transfer properties");
        goto out;
    }
    if ((st = open_h5(f, err)) != BENCH_OK || (st = read_root(f, err)) != BENCH_OK)
        goto out;
    /* An evaluation file (kind = "eval", evalres.h) has no levels. */
    const char *kind = results_file_attr(f, "kind");
    if (!(kind && strcmp(kind, "eval") == 0) && (st = read_levels(f, err)) != BENCH_OK)
        goto out;
    *out = f;
    f = NULL;
out:
    results_file_close(f);
    return st;
}

/* --- accessors ----------------------------------------------------------- */

const char *results_file_attr(const results_file *f, const char *name)
{
    if (!f || !name)
        return NULL;
    for (size_t i = 0; i < f->n_attrs; i++)
        if (strcmp(f->attrs[i].name, name) == 0)
            return f->attrs[i].value;
    return NULL;
}

int64_t results_file_t0_monotonic(const results_file *f)
{
    return f ? f->t0_mono : 0;
}

int64_t results_file_t0_unix(const results_file *f)
{
    return f ? f->t0_unix : 0;
}

size_t results_file_level_count(const results_file *f)
{
    return f ? f->n_levels : 0;
}

/* NULL when i is out of range, rather than reading past the table. */
const results_level_info *results_file_level(const results_file *f, size_t i)
{
    return f && i < f->n_levels ? &f->levels[i] : NULL;
}

/* --- tables -------------------------------------------------------------- */

/* The type to read table `where` (rows of file type ftype) with: the
 * memory row type mtype, its strings given the character set of the file's
 * (HDF5 1.10 does not convert between ASCII and UTF-8, and other writers,
 * h5py among them, store ASCII). Fails with BENCH_EINPUT unless ftype has
 * every field of mtype, by name, of the same class, strings being of fixed
 * length: HDF5 converts integer widths and byte orders, string lengths and
 * paddings, but not one class into another, and would leave a missing field
 * unset. *rtype is owned by the caller. */
static bench_status read_type(const results_file *f, const char *where, hid_t mtype, hid_t ftype,
                              hid_t *rtype, bench_err *err)
{
    bench_status st = BENCH_OK;
    hid_t rt = H5I_INVALID_HID;

    *rtype = H5I_INVALID_HID;
    if (H5Tget_class(ftype) != H5T_COMPOUND) {
        H5Eclear2(H5E_DEFAULT);
        return bench_fail(err, BENCH_EINPUT, "results file %s: %s: not a table of rows", f->path,
                          where);
    }
    int n = H5Tget_nmembers(mtype);
    if (n < 0 || (rt = H5Tcreate(H5T_COMPOUND, H5Tget_size(mtype))) < 0)
        return results_h5_fail(BENCH_EHDF5, f->path, err, "cannot build a row type");
    for (unsigned i = 0; i < (unsigned)n && st == BENCH_OK; i++) {
        hid_t mt = H5I_INVALID_HID, ft = H5I_INVALID_HID;
        char *name = H5Tget_member_name(mtype, i);
        if (!name || (mt = H5Tget_member_type(mtype, i)) < 0) {
            st = results_h5_fail(BENCH_EHDF5, f->path, err, "cannot build a row type");
            goto next;
        }
        int idx = H5Tget_member_index(ftype, name);
        if (idx >= 0)
            ft = H5Tget_member_type(ftype, (unsigned)idx);
        H5Eclear2(H5E_DEFAULT); /* a missing name is an HDF5 error too */
        H5T_class_t want = H5Tget_class(mt);
        if (ft < 0)
            st = bench_fail(err, BENCH_EINPUT, "results file %s: %s: field %s: missing", f->path,
                            where, name);
        else if (H5Tget_class(ft) != want || (want == H5T_STRING && H5Tis_variable_str(ft) != 0))
            st = bench_fail(err, BENCH_EINPUT, "results file %s: %s: field %s: not %s", f->path,
                            where, name,
                            want == H5T_STRING ? "a fixed-length string" : "an integer");
        else if ((want == H5T_STRING && H5Tset_cset(mt, H5Tget_cset(ft)) < 0) ||
                 H5Tinsert(rt, name, H5Tget_member_offset(mtype, i), mt) < 0)
            st = results_h5_fail(BENCH_EINPUT, f->path, err, where);
    next:
        if (name)
            H5free_memory(name);
        results_h5_close(&mt);
        results_h5_close(&ft);
    }
    if (st == BENCH_OK) {
        *rtype = rt;
        rt = H5I_INVALID_HID;
    }
    results_h5_close(&rt);
    H5Eclear2(H5E_DEFAULT);
    return st;
}

/* "c8" for messages: level names are short. */
#define LNAME(k) level_format((k), (char[LEVEL_NAME_MAX]){0}, LEVEL_NAME_MAX)

/* Make f->ds[which] the table `which` of level k, opened and checked (1-D,
 * every field of the row present); reuses the open one when it is already
 * that level's. The level must be one listed at open. */
static bench_status open_table(results_file *f, level_key k, int which, bench_err *err)
{
    bench_status st = BENCH_OK;
    hid_t ds = H5I_INVALID_HID, type = H5I_INVALID_HID, space = H5I_INVALID_HID;
    char where[96];

    if (f->ds[which] >= 0 && level_eq(f->ds_level[which], k))
        return BENCH_OK;
    results_h5_close(&f->ds[which]);
    results_h5_close(&f->rtype[which]);
    results_level_info key = {.level = k};
    if (f->n_levels == 0 || !bsearch(&key, f->levels, f->n_levels, sizeof *f->levels, info_cmp))
        return bench_fail(err, BENCH_EUSAGE, "results file %s: has no level %s", f->path, LNAME(k));

    /* Look each step up first: H5Dopen2 on a missing path fails with a
     * generic HDF5 message, a missing table deserves a plain one. */
    snprintf(where, sizeof where, "/levels/%s/%s", LNAME(k), results_ds_name[which]);
    htri_t exists = H5Lexists(f->file, where, H5P_DEFAULT);
    if (exists <= 0) {
        H5Eclear2(H5E_DEFAULT);
        return bench_fail(err, BENCH_EINPUT, "results file %s: %s: missing", f->path, where);
    }
    if ((ds = H5Dopen2(f->file, where, H5P_DEFAULT)) < 0) {
        st = results_h5_fail(BENCH_EINPUT, f->path, err, where);
        goto out;
    }
    if ((type = H5Dget_type(ds)) < 0 || (space = H5Dget_space(ds)) < 0) {
        st = results_h5_fail(BENCH_EINPUT, f->path, err, where);
        goto out;
    }
    if (H5Sget_simple_extent_type(space) != H5S_SIMPLE || H5Sget_simple_extent_ndims(space) != 1) {
        st = bench_fail(err, BENCH_EINPUT, "results file %s: %s: not a 1-D table", f->path, where);
        goto out;
    }
    if ((st = read_type(f, where, f->mtype[which], type, &f->rtype[which], err)) != BENCH_OK)
        goto out;
    f->ds[which] = ds;
    f->ds_level[which] = k;
    ds = H5I_INVALID_HID;
out:
    results_h5_close(&space);
    results_h5_close(&type);
    results_h5_close(&ds);
    H5Eclear2(H5E_DEFAULT);
    return st;
}

/* Number of rows of the open table f->ds[which]. */
static bench_status table_rows(results_file *f, int which, hsize_t *rows, bench_err *err)
{
    char what[96];
    hid_t space = H5Dget_space(f->ds[which]);
    int ok = space >= 0 && H5Sget_simple_extent_dims(space, rows, NULL) == 1;
    results_h5_close(&space);
    if (ok)
        return BENCH_OK;
    snprintf(what, sizeof what, "/levels/%s/%s: cannot get its size", LNAME(f->ds_level[which]),
             results_ds_name[which]);
    return results_h5_fail(BENCH_EINPUT, f->path, err, what);
}

/* Read rows [start, start + count) of the open table f->ds[which] (count >=
 * 1, in range) into buf, converted to the C struct layout. */
static bench_status read_rows(results_file *f, int which, hsize_t start, hsize_t count, void *buf,
                              bench_err *err)
{
    bench_status st = BENCH_OK;
    hid_t fspace = H5I_INVALID_HID, mspace = H5I_INVALID_HID, ftype = H5I_INVALID_HID;
    char what[128];

    if ((ftype = H5Dget_type(f->ds[which])) < 0 ||
        results_size_xfer(f->dxpl, f->rtype[which], ftype, (size_t)count) < 0 ||
        (fspace = H5Dget_space(f->ds[which])) < 0 ||
        H5Sselect_hyperslab(fspace, H5S_SELECT_SET, &start, NULL, &count, NULL) < 0 ||
        (mspace = H5Screate_simple(1, &count, NULL)) < 0 ||
        H5Dread(f->ds[which], f->rtype[which], mspace, fspace, f->dxpl, buf) < 0) {
        snprintf(what, sizeof what, "/levels/%s/%s: cannot read rows %llu..%llu",
                 LNAME(f->ds_level[which]), results_ds_name[which], (unsigned long long)start,
                 (unsigned long long)(start + count - 1));
        st = results_h5_fail(BENCH_EINPUT, f->path, err, what);
    }
    results_h5_close(&mspace);
    results_h5_close(&fspace);
    results_h5_close(&ftype);
    return st;
}

/* Read the whole table `which` of level k into a malloc'ed array of
 * elem-byte rows (*rows, never NULL on success, zeroed past what HDF5
 * fills) and its length *n. */
static bench_status read_table(results_file *f, level_key k, int which, size_t elem, void **rows,
                               size_t *n, bench_err *err)
{
    bench_status st;
    hsize_t count = 0;

    if (rows)
        *rows = NULL;
    if (n)
        *n = 0;
    if (!f || !rows || !n)
        return bench_fail(err, BENCH_EUSAGE, "results: read %s of no file or into nothing",
                          results_ds_name[which]);
    results_h5_quiet();
    if ((st = open_table(f, k, which, err)) != BENCH_OK ||
        (st = table_rows(f, which, &count, err)) != BENCH_OK)
        return st;
    if (count > SIZE_MAX / elem - 1)
        return bench_fail(err, BENCH_ENOMEM, "results file %s: /levels/%s/%s: %llu rows: too many",
                          f->path, LNAME(k), results_ds_name[which], (unsigned long long)count);
    void *buf = calloc((size_t)count + 1, elem);
    if (!buf)
        return bench_fail(err, BENCH_ENOMEM,
                          "results file %s: /levels/%s/%s: out of memory for %llu rows", f->path,
                          LNAME(k), results_ds_name[which], (unsigned long long)count);
    if (count > 0 && (st = read_rows(f, which, 0, count, buf, err)) != BENCH_OK) {
        free(buf);
        return st;
    }
    *rows = buf;
    *n = (size_t)count;
    return BENCH_OK;
}

/* finish_reason comes back exactly as stored: NUL-padded, and without a NUL
 * when the reason fills all REC_FINISH_LEN bytes (as the writer accepts it),
 * so print it with "%.*s". */
bench_status results_read_requests_key(results_file *f, level_key k, req_record **rows, size_t *n,
                                       bench_err *err)
{
    void *buf = NULL;
    bench_status st = read_table(f, k, DS_REQUESTS, sizeof **rows, &buf, n, err);
    if (rows)
        *rows = buf;
    return st;
}

bench_status results_read_requests(results_file *f, int concurrency, req_record **rows, size_t *n,
                                   bench_err *err)
{
    return results_read_requests_key(f, level_conc(concurrency), rows, n, err);
}

bench_status results_read_errors_key(results_file *f, level_key k, results_error_row **rows,
                                     size_t *n, bench_err *err)
{
    void *buf = NULL;
    bench_status st = read_table(f, k, DS_ERRORS, sizeof **rows, &buf, n, err);
    if (rows)
        *rows = buf;
    return st;
}

bench_status results_read_errors(results_file *f, int concurrency, results_error_row **rows,
                                 size_t *n, bench_err *err)
{
    return results_read_errors_key(f, level_conc(concurrency), rows, n, err);
}

bench_status results_chunk_count(results_file *f, int concurrency, uint64_t *n, bench_err *err)
{
    return results_chunk_count_key(f, level_conc(concurrency), n, err);
}

bench_status results_chunk_count_key(results_file *f, level_key k, uint64_t *n, bench_err *err)
{
    bench_status st;
    hsize_t count = 0;

    if (n)
        *n = 0;
    if (!f || !n)
        return bench_fail(err, BENCH_EUSAGE, "results_chunk_count: no file or no output");
    results_h5_quiet();
    if ((st = open_table(f, k, DS_CHUNKS, err)) != BENCH_OK ||
        (st = table_rows(f, DS_CHUNKS, &count, err)) != BENCH_OK)
        return st;
    *n = count;
    return BENCH_OK;
}

/* The slice must lie inside the table: a range past the end means the
 * caller's offsets (e.g. a request's chunk_offset + chunk_count) disagree
 * with the file, which is a malformed file, not a short read. */
bench_status results_read_chunks(results_file *f, int concurrency, uint64_t start, size_t count,
                                 chunk_record *out, bench_err *err)
{
    return results_read_chunks_key(f, level_conc(concurrency), start, count, out, err);
}

bench_status results_read_chunks_key(results_file *f, level_key k, uint64_t start, size_t count,
                                     chunk_record *out, bench_err *err)
{
    bench_status st;
    hsize_t rows = 0;

    if (!f || (count > 0 && !out))
        return bench_fail(err, BENCH_EUSAGE, "results_read_chunks: no file or no output");
    results_h5_quiet();
    if ((st = open_table(f, k, DS_CHUNKS, err)) != BENCH_OK ||
        (st = table_rows(f, DS_CHUNKS, &rows, err)) != BENCH_OK)
        return st;
    if (start > rows || count > rows - start)
        return bench_fail(err, BENCH_EINPUT,
                          "results file %s: level %s: a slice of %zu chunk rows from row %llu "
                          "is past the end of /levels/%s/chunks (%llu rows)",
                          f->path, LNAME(k), count, (unsigned long long)start, LNAME(k),
                          (unsigned long long)rows);
    if (count == 0)
        return BENCH_OK;
    return read_rows(f, DS_CHUNKS, start, count, out, err);
}

void results_file_close(results_file *f)
{
    if (!f)
        return;
    results_h5_quiet();
    for (int i = 0; i < DS_COUNT; i++) {
        results_h5_close(&f->ds[i]);
        results_h5_close(&f->mtype[i]);
        results_h5_close(&f->rtype[i]);
    }
    results_h5_close(&f->dxpl);
    results_h5_close(&f->file);
    H5Eclear2(H5E_DEFAULT);
    for (size_t i = 0; i < f->n_attrs; i++) {
        free(f->attrs[i].name);
        free(f->attrs[i].value);
    }
    free(f->attrs);
    free(f->levels);
    free(f->path);
    free(f);
}
