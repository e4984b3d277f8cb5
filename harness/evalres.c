/* evalres.c - the evaluation results writer and item reader. */
#include "evalres.h"

#include <errno.h>
#include <hdf5.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fileio.h"
#include "results.h"
#include "results_types.h"

/* The file row: every string variable-length UTF-8. */
static hid_t item_type(void)
{
    hid_t s = results_vlen_utf8();
    hid_t t = s < 0 ? H5I_INVALID_HID : H5Tcreate(H5T_COMPOUND, sizeof(evalres_item));
    if (t < 0)
        goto out;
    if (H5Tinsert(t, "id", HOFFSET(evalres_item, id), s) < 0 ||
        H5Tinsert(t, "group", HOFFSET(evalres_item, group), s) < 0 ||
        H5Tinsert(t, "prompt_sha256", HOFFSET(evalres_item, prompt_sha256), s) < 0 ||
        H5Tinsert(t, "response", HOFFSET(evalres_item, response), s) < 0 ||
        H5Tinsert(t, "parsed", HOFFSET(evalres_item, parsed), s) < 0 ||
        H5Tinsert(t, "judge", HOFFSET(evalres_item, judge), s) < 0 ||
        H5Tinsert(t, "detail", HOFFSET(evalres_item, detail), s) < 0 ||
        H5Tinsert(t, "score", HOFFSET(evalres_item, score), H5T_NATIVE_DOUBLE) < 0 ||
        H5Tinsert(t, "status", HOFFSET(evalres_item, status), H5T_NATIVE_INT) < 0 ||
        H5Tinsert(t, "attempts", HOFFSET(evalres_item, attempts), H5T_NATIVE_INT) < 0 ||
        H5Tinsert(t, "ttft_ms", HOFFSET(evalres_item, ttft_ms), H5T_NATIVE_DOUBLE) < 0 ||
        H5Tinsert(t, "e2e_ms", HOFFSET(evalres_item, e2e_ms), H5T_NATIVE_DOUBLE) < 0 ||
        H5Tinsert(t, "prompt_tokens", HOFFSET(evalres_item, prompt_tokens), H5T_NATIVE_INT) < 0 ||
        H5Tinsert(t, "output_tokens", HOFFSET(evalres_item, output_tokens), H5T_NATIVE_INT) < 0)
        results_h5_close(&t);
out:
    results_h5_close(&s);
    return t;
}

bench_status evalres_write(const char *path, const evalres_meta *m, const evalres_item *items,
                           size_t n, bench_err *err)
{
    bench_status st = BENCH_OK;
    hid_t fapl = H5I_INVALID_HID, file = H5I_INVALID_HID, grp = H5I_INVALID_HID;
    hid_t type = H5I_INVALID_HID, space = H5I_INVALID_HID, dcpl = H5I_INVALID_HID;
    hid_t ds = H5I_INVALID_HID;
    evalres_item *rows = NULL;
    char tmp[4096];

    results_h5_quiet();
    if (snprintf(tmp, sizeof tmp, "%s.tmp", path) >= (int)sizeof tmp)
        return bench_fail(err, BENCH_EUSAGE, "evaluation file %s: path too long", path);
    if (file_mkdirs_for(path))
        return bench_fail(err, BENCH_EIO, "evaluation file %s: cannot create its directory: %s",
                          path, strerror(errno));
    /* NULL strings become "" so every reader sees strings. */
    rows = calloc(n ? n : 1, sizeof *rows);
    if (!rows)
        return bench_fail(err, BENCH_ENOMEM, "out of memory");
    for (size_t i = 0; i < n; i++) {
        rows[i] = items[i];
        char **s[] = {&rows[i].id,     &rows[i].group, &rows[i].prompt_sha256, &rows[i].response,
                      &rows[i].parsed, &rows[i].judge, &rows[i].detail};
        for (size_t k = 0; k < sizeof s / sizeof *s; k++)
            if (!*s[k])
                *s[k] = (char *)"";
    }
    if ((fapl = H5Pcreate(H5P_FILE_ACCESS)) < 0 ||
        H5Pset_libver_bounds(fapl, H5F_LIBVER_EARLIEST, H5F_LIBVER_V18) < 0 ||
        (file = H5Fcreate(tmp, H5F_ACC_TRUNC, H5P_DEFAULT, fapl)) < 0) {
        st = results_h5_fail(BENCH_EIO, path, err, "cannot create the file");
        goto out;
    }
    int version = RESULTS_FORMAT_VERSION;
    char created[32];
    if (!m->created_utc) {
        time_t now = time(NULL);
        struct tm tm;
        gmtime_r(&now, &tm);
        strftime(created, sizeof created, "%Y-%m-%dT%H:%M:%SZ", &tm);
    }
    if (results_h5_put_attr(file, "format_version", H5T_STD_I32LE, H5T_NATIVE_INT, &version) < 0 ||
        results_h5_put_str(file, "kind", "eval") < 0 ||
        results_h5_put_str(file, "eval", m->eval) < 0 ||
        results_h5_put_str(file, "harness_version", m->harness_version) < 0 ||
        results_h5_put_str(file, "created_utc", m->created_utc ? m->created_utc : created) < 0 ||
        results_h5_put_str(file, "model", m->model) < 0 ||
        results_h5_put_str(file, "served_model", m->served_model) < 0 ||
        results_h5_put_str(file, "endpoint", m->endpoint) < 0 ||
        results_h5_put_str(file, "endpoint_kind", m->endpoint_kind) < 0 ||
        results_h5_put_str(file, "api", m->api) < 0 ||
        results_h5_put_str(file, "method", m->method) < 0 ||
        results_h5_put_str(file, "judge_model", m->judge_model) < 0 ||
        results_h5_put_str(file, "judge_endpoint", m->judge_endpoint) < 0 ||
        results_h5_put_str(file, "judge_endpoint_kind", m->judge_endpoint_kind) < 0 ||
        results_h5_put_str(file, "config", m->config_json ? m->config_json : "{}") < 0 ||
        results_h5_put_str(file, "summary", m->summary_json ? m->summary_json : "{}") < 0 ||
        results_h5_put_attr(file, "score", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, &m->score) < 0 ||
        results_h5_put_str(file, "clock", "CLOCK_MONOTONIC") < 0 ||
        results_h5_put_attr(file, "t0_unix_ns", H5T_STD_I64LE, H5T_NATIVE_INT64, &m->t0_unix_ns) <
            0 ||
        results_h5_put_attr(file, "t0_monotonic_ns", H5T_STD_I64LE, H5T_NATIVE_INT64,
                            &m->t0_monotonic_ns) < 0) {
        st = results_h5_fail(BENCH_EHDF5, path, err, "/: cannot write the attributes");
        goto out;
    }
    hsize_t dims[1] = {n}, chunk[1] = {n < 1024 ? (n ? n : 1) : 1024};
    if ((grp = H5Gcreate2(file, "eval", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT)) < 0 ||
        (type = item_type()) < 0 || (space = H5Screate_simple(1, dims, NULL)) < 0 ||
        (dcpl = H5Pcreate(H5P_DATASET_CREATE)) < 0 || H5Pset_chunk(dcpl, 1, chunk) < 0 ||
        H5Pset_deflate(dcpl, 4) < 0 ||
        (ds = H5Dcreate2(grp, "items", type, space, H5P_DEFAULT, dcpl, H5P_DEFAULT)) < 0 ||
        (n && H5Dwrite(ds, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, rows) < 0)) {
        st = results_h5_fail(BENCH_EHDF5, path, err, "/eval/items: cannot write");
        goto out;
    }
out:
    results_h5_close(&ds);
    results_h5_close(&dcpl);
    results_h5_close(&space);
    results_h5_close(&type);
    results_h5_close(&grp);
    if (file >= 0 && H5Fclose(file) < 0 && !st)
        st = results_h5_fail(BENCH_EIO, path, err, "cannot close the file");
    results_h5_close(&fapl);
    free(rows);
    if (!st && rename(tmp, path) != 0)
        st = bench_fail(err, BENCH_EIO, "evaluation file %s: cannot rename %s into place: %s", path,
                        tmp, strerror(errno));
    if (st)
        remove(tmp);
    return st;
}

bench_status evalres_read_items(const char *path, evalres_item **items, size_t *n, bench_err *err)
{
    bench_status st = BENCH_OK;
    results_file *rf = NULL;
    hid_t file = H5I_INVALID_HID, ds = H5I_INVALID_HID, space = H5I_INVALID_HID;
    hid_t type = H5I_INVALID_HID;
    evalres_item *rows = NULL;
    *items = NULL;
    *n = 0;
    results_h5_quiet();
    if ((st = results_open(path, &rf, err)))
        return st;
    const char *kind = results_file_attr(rf, "kind");
    if (!kind || strcmp(kind, "eval") != 0) {
        st = bench_fail(err, BENCH_EINPUT, "results file %s: not an evaluation file (kind %s)",
                        path, kind ? kind : "absent");
        goto out;
    }
    /* Checked: reopen for the table (one open at a time: HDF5 refuses a
     * second open with other locking settings). */
    results_file_close(rf);
    rf = NULL;
    if ((file = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT)) < 0 ||
        (ds = H5Dopen2(file, "eval/items", H5P_DEFAULT)) < 0 || (type = item_type()) < 0 ||
        (space = H5Dget_space(ds)) < 0) {
        st = results_h5_fail(BENCH_EINPUT, path, err, "/eval/items");
        goto out;
    }
    hssize_t cnt = H5Sget_simple_extent_npoints(space);
    if (cnt < 0) {
        st = results_h5_fail(BENCH_EINPUT, path, err, "/eval/items: bad shape");
        goto out;
    }
    rows = calloc((size_t)cnt ? (size_t)cnt : 1, sizeof *rows);
    if (!rows) {
        st = bench_fail(err, BENCH_ENOMEM, "out of memory");
        goto out;
    }
    if (cnt && H5Dread(ds, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, rows) < 0) {
        st = results_h5_fail(BENCH_EINPUT, path, err, "/eval/items: cannot read");
        goto out;
    }
    /* Hand out malloc'ed copies so the caller frees with free(). */
    for (hssize_t i = 0; i < cnt; i++) {
        char **s[] = {&rows[i].id,     &rows[i].group, &rows[i].prompt_sha256, &rows[i].response,
                      &rows[i].parsed, &rows[i].judge, &rows[i].detail};
        for (size_t k = 0; k < sizeof s / sizeof *s; k++) {
            char *h = *s[k];
            *s[k] = strdup(h ? h : "");
            H5free_memory(h);
            if (!*s[k])
                st = BENCH_ENOMEM;
        }
    }
    if (st) {
        evalres_items_free(rows, (size_t)cnt);
        rows = NULL;
        st = bench_fail(err, BENCH_ENOMEM, "out of memory");
        goto out;
    }
    *items = rows;
    *n = (size_t)cnt;
    rows = NULL;
out:
    free(rows);
    results_h5_close(&space);
    results_h5_close(&type);
    results_h5_close(&ds);
    results_h5_close(&file);
    results_file_close(rf);
    return st;
}

void evalres_items_free(evalres_item *items, size_t n)
{
    if (!items)
        return;
    for (size_t i = 0; i < n; i++) {
        free(items[i].id);
        free(items[i].group);
        free(items[i].prompt_sha256);
        free(items[i].response);
        free(items[i].parsed);
        free(items[i].judge);
        free(items[i].detail);
    }
    free(items);
}
