/* Unit tests: the HDF5 results writer (harness/results.c, docs/FORMAT.md).
 *
 * Files are written with the writer and read back with the plain HDF5 C API,
 * using types built here independently, so that a field renamed or moved on
 * either side fails. The program also serves tests/check_h5_layout.py:
 *     test_results --write PATH         write the sample file and exit
 *     test_results --write-killed PATH  same, then a level killed by SIGKILL
 * (h5_layout_writer in tests/meson.build is this program). */
#include <errno.h>
#include <hdf5.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cutest.h"
#include "record.h"
#include "results.h"

/* --- sample data ---------------------------------------------------------- */

/* One level's rows, generated deterministically from (concurrency, n). */
typedef struct {
    int concurrency;
    size_t n, n_chunks, n_errors;
    req_record *req;
    chunk_record *chunk;
    uint64_t *err_id;
    char (*err_msg)[512];
    results_level_info info;
} level_data;

/* A message of 130 two-byte characters (260 bytes): stored cut to 254 bytes,
 * the last whole character before byte 255. */
static void long_utf8(char *buf, size_t n)
{
    size_t len = 0;
    for (int i = 0; i < 130 && len + 3 <= n; i++) {
        buf[len++] = (char)0xC3;
        buf[len++] = (char)0xA9; /* é */
    }
    buf[len] = '\0';
}

/* Fill d with n requests of level c. Requests cycle through classes; the
 * first n/8 are warm-up; each failed one gets an error row; finish_reason
 * carries garbage after its NUL (the file must hold NUL padding) and once a
 * full unterminated 16 bytes. Caller frees with level_free(). */
static void level_make(level_data *d, int c, size_t n)
{
    memset(d, 0, sizeof *d);
    d->concurrency = c;
    d->n = n;
    d->req = calloc(n + 1, sizeof *d->req);
    d->chunk = calloc(5 * n + 1, sizeof *d->chunk);
    d->err_id = calloc(n + 1, sizeof *d->err_id);
    d->err_msg = calloc(n + 1, sizeof *d->err_msg);
    if (!d->req || !d->chunk || !d->err_id || !d->err_msg)
        abort();
    int64_t t = 1000 * c;
    for (size_t i = 0; i < n; i++) {
        req_record *r = &d->req[i];
        r->id = i;
        r->worker = (uint32_t)(i % (size_t)c);
        r->warmup = i < n / 8;
        r->status = i % 7 == 3    ? REQ_HTTP_ERROR
                    : i % 11 == 5 ? REQ_EARLY_STOP
                    : i % 13 == 6 ? REQ_TIMEOUT_IDLE
                                  : REQ_OK;
        r->http_status = r->status == REQ_HTTP_ERROR ? 500 : 200;
        r->t_sched_ns = t;
        r->t_send_ns = t + 10;
        r->prompt_tokens = (int32_t)(100 + i % 50);
        r->max_tokens = 64;
        r->chunk_offset = d->n_chunks;
        memset(r->finish_reason, 'X', sizeof r->finish_reason);
        if (r->status == REQ_HTTP_ERROR) {
            r->t_first_byte_ns = t + 500;
            r->t_first_token_ns = r->t_last_token_ns = -1;
            r->t_end_ns = t + 600;
            r->output_tokens = -1;
            r->chunk_count = 0;
            r->finish_reason[0] = '\0';
        } else {
            r->chunk_count = (uint32_t)(1 + i % 5);
            r->t_first_byte_ns = t + 1000;
            r->t_first_token_ns = t + 1200;
            for (uint32_t k = 0; k < r->chunk_count; k++) {
                chunk_record *ch = &d->chunk[d->n_chunks++];
                ch->request_id = r->id;
                ch->t_ns = t + 1200 + 50 * k;
                ch->bytes = 80 + k;
                ch->tokens = 1 + (k % 2);
            }
            r->t_last_token_ns = t + 1200 + 50 * (r->chunk_count - 1);
            r->t_end_ns = r->t_last_token_ns + 5;
            r->output_tokens = (int32_t)r->chunk_count;
            if (i % 17 == 9)
                memcpy(r->finish_reason, "content_filter_x", REC_FINISH_LEN); /* no NUL */
            else
                strcpy(r->finish_reason, r->status == REQ_EARLY_STOP ? "stop" : "length");
        }
        if (!req_class_is_success(r->status)) {
            d->err_id[d->n_errors] = r->id;
            if (d->n_errors == 1)
                long_utf8(d->err_msg[d->n_errors], sizeof d->err_msg[0]);
            else
                snprintf(d->err_msg[d->n_errors], sizeof d->err_msg[0],
                         "%s for request %zu (HTTP %d)", req_class_name(r->status), i,
                         r->http_status);
            d->n_errors++;
        }
        if (r->warmup)
            d->info.requests_warmup++;
        else if (req_class_is_success(r->status))
            d->info.requests_ok++;
        else
            d->info.requests_failed++;
        t += 2000;
    }
    d->info.concurrency = c;
    d->info.t_start_ns = 1000 * c;
    d->info.t_end_ns = t;
}

static void level_free(level_data *d)
{
    free(d->req);
    free(d->chunk);
    free(d->err_id);
    free(d->err_msg);
}

/* Write level d to r in batches of `batch` rows. */
static bench_status level_write(results *r, const level_data *d, size_t batch, int end,
                                bench_err *err)
{
    bench_status st = results_level_begin(r, d->concurrency, err);
    for (size_t i = 0; st == BENCH_OK && i < d->n; i += batch)
        st = results_append_requests(r, d->req + i, d->n - i < batch ? d->n - i : batch, err);
    for (size_t i = 0; st == BENCH_OK && i < d->n_chunks; i += batch)
        st = results_append_chunks(r, d->chunk + i,
                                   d->n_chunks - i < batch ? d->n_chunks - i : batch, err);
    for (size_t i = 0; st == BENCH_OK && i < d->n_errors; i++)
        st = results_append_error(r, d->err_id[i], d->err_msg[i], err);
    if (st == BENCH_OK && end)
        st = results_level_end(r, &d->info, err);
    return st;
}

static results_meta sample_meta(void)
{
    results_meta m = {
        .harness_version = "0.1.0-test",
        .created_utc = "2026-11-29T06:30:00Z",
        .model = "tiny-sim",
        .served_model = "sim/tiny",
        .endpoint = "http://127.0.0.1:8000/v1",
        .endpoint_kind = "simulated",
        .api = "chat",
        .config_json = "{\"levels\":[1,2,8],\"note\":\"caf\xc3\xa9\"}",
        .t0_unix_ns = 1795848600123456789LL,
        .t0_monotonic_ns = 987654321012LL,
    };
    return m;
}

/* The sample file: c1 (40 rows), c2 (no rows at all), c8 (2500 requests,
 * about 7500 chunks: several HDF5 chunks, appended in odd batches). */
static const struct {
    int c;
    size_t n;
} sample_levels[] = {{1, 40}, {2, 0}, {8, 2500}};
#define N_SAMPLE (sizeof sample_levels / sizeof sample_levels[0])

static bench_status write_sample(const char *path, results **keep_open, bench_err *err)
{
    results_meta m = sample_meta();
    results *r = NULL;
    bench_status st = results_create(path, &m, &r, err);
    for (size_t i = 0; st == BENCH_OK && i < N_SAMPLE; i++) {
        level_data d;
        level_make(&d, sample_levels[i].c, sample_levels[i].n);
        st = level_write(r, &d, 97, 1, err);
        level_free(&d);
    }
    if (st == BENCH_OK && keep_open) {
        *keep_open = r;
        return st;
    }
    bench_status cst = results_close(r, st == BENCH_OK ? err : NULL);
    return st != BENCH_OK ? st : cst;
}

/* --- reading back --------------------------------------------------------- */

static char g_tmp[512];

/* A fresh path under $BENCH_TEST_TMP (created) or a mkdtemp() directory. */
static const char *tmp_path(const char *name, char *buf, size_t n)
{
    if (!g_tmp[0]) {
        const char *env = getenv("BENCH_TEST_TMP");
        if (env && *env) {
            snprintf(g_tmp, sizeof g_tmp, "%s", env);
            mkdir(g_tmp, 0777);
        } else {
            snprintf(g_tmp, sizeof g_tmp, "/tmp/bench_results_XXXXXX");
            if (!mkdtemp(g_tmp))
                snprintf(g_tmp, sizeof g_tmp, "/tmp");
        }
    }
    snprintf(buf, n, "%s/results_%ld_%s.h5", g_tmp, (long)getpid(), name);
    return buf;
}

/* Memory types built here, independently of results.c. */
static hid_t req_mtype(void)
{
    hid_t s = H5Tcopy(H5T_C_S1);
    H5Tset_size(s, REC_FINISH_LEN);
    H5Tset_strpad(s, H5T_STR_NULLPAD);
    H5Tset_cset(s, H5T_CSET_UTF8);
    hid_t t = H5Tcreate(H5T_COMPOUND, sizeof(req_record));
#define F(m, ty) H5Tinsert(t, #m, HOFFSET(req_record, m), ty)
    F(id, H5T_NATIVE_UINT64);
    F(worker, H5T_NATIVE_UINT32);
    F(status, H5T_NATIVE_INT32);
    F(http_status, H5T_NATIVE_INT32);
    F(warmup, H5T_NATIVE_UINT8);
    F(t_sched_ns, H5T_NATIVE_INT64);
    F(t_send_ns, H5T_NATIVE_INT64);
    F(t_first_byte_ns, H5T_NATIVE_INT64);
    F(t_first_token_ns, H5T_NATIVE_INT64);
    F(t_last_token_ns, H5T_NATIVE_INT64);
    F(t_end_ns, H5T_NATIVE_INT64);
    F(prompt_tokens, H5T_NATIVE_INT32);
    F(output_tokens, H5T_NATIVE_INT32);
    F(max_tokens, H5T_NATIVE_INT32);
    F(chunk_count, H5T_NATIVE_UINT32);
    F(chunk_offset, H5T_NATIVE_UINT64);
    F(finish_reason, s);
#undef F
    H5Tclose(s);
    return t;
}

static hid_t chunk_mtype(void)
{
    hid_t t = H5Tcreate(H5T_COMPOUND, sizeof(chunk_record));
    H5Tinsert(t, "request_id", HOFFSET(chunk_record, request_id), H5T_NATIVE_UINT64);
    H5Tinsert(t, "t_ns", HOFFSET(chunk_record, t_ns), H5T_NATIVE_INT64);
    H5Tinsert(t, "bytes", HOFFSET(chunk_record, bytes), H5T_NATIVE_UINT32);
    H5Tinsert(t, "tokens", HOFFSET(chunk_record, tokens), H5T_NATIVE_UINT32);
    return t;
}

typedef struct {
    uint64_t request_id;
    char message[RESULTS_ERROR_LEN];
} err_row;

static hid_t err_mtype(void)
{
    hid_t s = H5Tcopy(H5T_C_S1);
    H5Tset_size(s, RESULTS_ERROR_LEN);
    H5Tset_strpad(s, H5T_STR_NULLPAD);
    H5Tset_cset(s, H5T_CSET_UTF8);
    hid_t t = H5Tcreate(H5T_COMPOUND, sizeof(err_row));
    H5Tinsert(t, "request_id", HOFFSET(err_row, request_id), H5T_NATIVE_UINT64);
    H5Tinsert(t, "message", HOFFSET(err_row, message), s);
    H5Tclose(s);
    return t;
}

/* Read a scalar variable-length UTF-8 string attribute into buf. */
static int read_str_attr(hid_t obj, const char *name, char *buf, size_t n)
{
    int ok = 0;
    hid_t a = H5Aopen(obj, name, H5P_DEFAULT);
    hid_t ft = a >= 0 ? H5Aget_type(a) : -1;
    hid_t mt = H5Tcopy(H5T_C_S1);
    H5Tset_size(mt, H5T_VARIABLE);
    H5Tset_cset(mt, H5T_CSET_UTF8);
    char *s = NULL;
    if (ft >= 0 && H5Tget_class(ft) == H5T_STRING && H5Tis_variable_str(ft) > 0 &&
        H5Tget_cset(ft) == H5T_CSET_UTF8 && H5Aread(a, mt, &s) >= 0 && s) {
        snprintf(buf, n, "%s", s);
        H5free_memory(s);
        ok = 1;
    }
    if (ft >= 0)
        H5Tclose(ft);
    H5Tclose(mt);
    if (a >= 0)
        H5Aclose(a);
    return ok;
}

/* Read a scalar integer attribute, checking its stored class, size and sign. */
static int read_int_attr(hid_t obj, const char *name, size_t size, H5T_sign_t sign, void *out,
                         hid_t mtype)
{
    int ok = 0;
    hid_t a = H5Aopen(obj, name, H5P_DEFAULT);
    hid_t ft = a >= 0 ? H5Aget_type(a) : -1;
    if (ft >= 0 && H5Tget_class(ft) == H5T_INTEGER && H5Tget_size(ft) == size &&
        H5Tget_sign(ft) == sign && H5Aread(a, mtype, out) >= 0)
        ok = 1;
    if (ft >= 0)
        H5Tclose(ft);
    if (a >= 0)
        H5Aclose(a);
    return ok;
}

/* Check a dataset's storage: 1-D, unlimited, chunked by chunk_rows, shuffle
 * then deflate 1; its stored compound has exactly `names` and packed size. */
static void check_storage(hid_t ds, hsize_t chunk_rows, const char *const *names,
                          size_t packed_size, hsize_t *rows)
{
    hid_t sp = H5Dget_space(ds);
    hsize_t dims = 0, maxdims = 0;
    CU_ASSERT_EQUAL(H5Sget_simple_extent_ndims(sp), 1);
    H5Sget_simple_extent_dims(sp, &dims, &maxdims);
    CU_ASSERT_EQUAL(maxdims, H5S_UNLIMITED);
    *rows = dims;
    H5Sclose(sp);

    hid_t dcpl = H5Dget_create_plist(ds);
    CU_ASSERT_EQUAL(H5Pget_layout(dcpl), H5D_CHUNKED);
    hsize_t cdim = 0;
    CU_ASSERT_EQUAL(H5Pget_chunk(dcpl, 1, &cdim), 1);
    CU_ASSERT_EQUAL(cdim, chunk_rows);
    CU_ASSERT_EQUAL(H5Pget_nfilters(dcpl), 2);
    unsigned flags, cd[4];
    size_t ncd = 4;
    CU_ASSERT_EQUAL(H5Pget_filter2(dcpl, 0, &flags, &ncd, cd, 0, NULL, NULL), H5Z_FILTER_SHUFFLE);
    ncd = 4;
    CU_ASSERT_EQUAL(H5Pget_filter2(dcpl, 1, &flags, &ncd, cd, 0, NULL, NULL), H5Z_FILTER_DEFLATE);
    CU_ASSERT(ncd >= 1 && cd[0] == 1);
    H5Pclose(dcpl);

    hid_t ft = H5Dget_type(ds);
    CU_ASSERT_EQUAL(H5Tget_class(ft), H5T_COMPOUND);
    CU_ASSERT_EQUAL(H5Tget_size(ft), packed_size);
    int nm = H5Tget_nmembers(ft), k = 0;
    for (; names[k]; k++) {
        if (k >= nm)
            break;
        char *mn = H5Tget_member_name(ft, (unsigned)k);
        CU_ASSERT_STRING_EQUAL(mn, names[k]);
        H5free_memory(mn);
    }
    CU_ASSERT_EQUAL(nm, k);
    H5Tclose(ft);
}

static const char *const req_names[] = {"id",
                                        "worker",
                                        "status",
                                        "http_status",
                                        "warmup",
                                        "t_sched_ns",
                                        "t_send_ns",
                                        "t_first_byte_ns",
                                        "t_first_token_ns",
                                        "t_last_token_ns",
                                        "t_end_ns",
                                        "prompt_tokens",
                                        "output_tokens",
                                        "max_tokens",
                                        "chunk_count",
                                        "chunk_offset",
                                        "finish_reason",
                                        NULL};
static const char *const chunk_names[] = {"request_id", "t_ns", "bytes", "tokens", NULL};
static const char *const err_names[] = {"request_id", "message", NULL};

/* Read /levels/c<N> and compare every row and attribute with d. */
static void check_level(hid_t file, const level_data *d)
{
    char name[64];
    snprintf(name, sizeof name, "/levels/c%d", d->concurrency);
    hid_t g = H5Gopen2(file, name, H5P_DEFAULT);
    CU_ASSERT_FATAL(g >= 0);

    int conc = 0;
    int64_t ts = 0, te = 0;
    uint64_t ok = 0, failed = 0, warm = 0;
    CU_ASSERT(read_int_attr(g, "concurrency", 4, H5T_SGN_2, &conc, H5T_NATIVE_INT));
    CU_ASSERT(read_int_attr(g, "t_start_ns", 8, H5T_SGN_2, &ts, H5T_NATIVE_INT64));
    CU_ASSERT(read_int_attr(g, "t_end_ns", 8, H5T_SGN_2, &te, H5T_NATIVE_INT64));
    CU_ASSERT(read_int_attr(g, "requests_ok", 8, H5T_SGN_NONE, &ok, H5T_NATIVE_UINT64));
    CU_ASSERT(read_int_attr(g, "requests_failed", 8, H5T_SGN_NONE, &failed, H5T_NATIVE_UINT64));
    CU_ASSERT(read_int_attr(g, "requests_warmup", 8, H5T_SGN_NONE, &warm, H5T_NATIVE_UINT64));
    CU_ASSERT_EQUAL(conc, d->concurrency);
    CU_ASSERT_EQUAL(ts, d->info.t_start_ns);
    CU_ASSERT_EQUAL(te, d->info.t_end_ns);
    CU_ASSERT_EQUAL(ok, d->info.requests_ok);
    CU_ASSERT_EQUAL(failed, d->info.requests_failed);
    CU_ASSERT_EQUAL(warm, d->info.requests_warmup);

    /* requests */
    hid_t ds = H5Dopen2(g, "requests", H5P_DEFAULT);
    CU_ASSERT_FATAL(ds >= 0);
    hsize_t rows = 0;
    check_storage(ds, 1024, req_names, 109, &rows);
    CU_ASSERT_EQUAL(rows, d->n);
    char cls[512];
    CU_ASSERT(read_str_attr(ds, "class_names", cls, sizeof cls));
    CU_ASSERT_PTR_NOT_NULL(strstr(cls, "0=ok,1=http_error,2=timeout_connect,"));
    CU_ASSERT_PTR_NOT_NULL(strstr(cls, ",11=early_stop,12=cancelled"));
    req_record *rr = calloc(rows + 1, sizeof *rr);
    hid_t mt = req_mtype();
    if (rows)
        CU_ASSERT(H5Dread(ds, mt, H5S_ALL, H5S_ALL, H5P_DEFAULT, rr) >= 0);
    H5Tclose(mt);
    H5Dclose(ds);
    size_t bad = 0;
    for (size_t i = 0; i < rows && i < d->n; i++) {
        const req_record *a = &rr[i], *b = &d->req[i];
        char want[REC_FINISH_LEN];
        memset(want, 0, sizeof want);
        strncpy(want, b->finish_reason, sizeof want);
        if (a->id != b->id || a->worker != b->worker || a->status != b->status ||
            a->http_status != b->http_status || a->warmup != b->warmup ||
            a->t_sched_ns != b->t_sched_ns || a->t_send_ns != b->t_send_ns ||
            a->t_first_byte_ns != b->t_first_byte_ns ||
            a->t_first_token_ns != b->t_first_token_ns ||
            a->t_last_token_ns != b->t_last_token_ns || a->t_end_ns != b->t_end_ns ||
            a->prompt_tokens != b->prompt_tokens || a->output_tokens != b->output_tokens ||
            a->max_tokens != b->max_tokens || a->chunk_count != b->chunk_count ||
            a->chunk_offset != b->chunk_offset || memcmp(a->finish_reason, want, sizeof want) != 0)
            bad++;
    }
    CU_ASSERT_EQUAL(bad, 0);
    free(rr);

    /* chunks */
    ds = H5Dopen2(g, "chunks", H5P_DEFAULT);
    CU_ASSERT_FATAL(ds >= 0);
    check_storage(ds, 4096, chunk_names, 24, &rows);
    CU_ASSERT_EQUAL(rows, d->n_chunks);
    chunk_record *cr = calloc(rows + 1, sizeof *cr);
    mt = chunk_mtype();
    if (rows)
        CU_ASSERT(H5Dread(ds, mt, H5S_ALL, H5S_ALL, H5P_DEFAULT, cr) >= 0);
    H5Tclose(mt);
    H5Dclose(ds);
    bad = 0;
    for (size_t i = 0; i < rows && i < d->n_chunks; i++)
        if (cr[i].request_id != d->chunk[i].request_id || cr[i].t_ns != d->chunk[i].t_ns ||
            cr[i].bytes != d->chunk[i].bytes || cr[i].tokens != d->chunk[i].tokens)
            bad++;
    CU_ASSERT_EQUAL(bad, 0);
    free(cr);

    /* errors */
    ds = H5Dopen2(g, "errors", H5P_DEFAULT);
    CU_ASSERT_FATAL(ds >= 0);
    check_storage(ds, 256, err_names, 8 + RESULTS_ERROR_LEN, &rows);
    CU_ASSERT_EQUAL(rows, d->n_errors);
    err_row *er = calloc(rows + 1, sizeof *er);
    mt = err_mtype();
    if (rows)
        CU_ASSERT(H5Dread(ds, mt, H5S_ALL, H5S_ALL, H5P_DEFAULT, er) >= 0);
    H5Tclose(mt);
    H5Dclose(ds);
    bad = 0;
    for (size_t i = 0; i < rows && i < d->n_errors; i++) {
        char want[RESULTS_ERROR_LEN];
        memset(want, 0, sizeof want);
        size_t len = strlen(d->err_msg[i]);
        if (len > RESULTS_ERROR_LEN - 1) /* the long é message: 127 whole characters */
            len = 254;
        memcpy(want, d->err_msg[i], len);
        if (er[i].request_id != d->err_id[i] || memcmp(er[i].message, want, sizeof want) != 0)
            bad++;
    }
    CU_ASSERT_EQUAL(bad, 0);
    free(er);
    H5Gclose(g);
}

/* Open path read-only, check the root attributes and that /levels holds
 * n_levels levels, and compare the first n_levels of sample_levels row by row. */
static void check_file(const char *path, size_t n_levels)
{
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    CU_ASSERT_FATAL(f >= 0);

    H5F_info2_t fi;
    CU_ASSERT(H5Fget_info2(f, &fi) >= 0);
    CU_ASSERT_EQUAL(fi.super.version, 0); /* no "open for writing" flag possible */

    int version = 0;
    CU_ASSERT(read_int_attr(f, "format_version", 4, H5T_SGN_2, &version, H5T_NATIVE_INT));
    CU_ASSERT_EQUAL(version, RESULTS_FORMAT_VERSION);
    results_meta m = sample_meta();
    const char *want[][2] = {
        {"harness_version", m.harness_version},
        {"created_utc", m.created_utc},
        {"model", m.model},
        {"served_model", m.served_model},
        {"endpoint", m.endpoint},
        {"endpoint_kind", m.endpoint_kind},
        {"api", m.api},
        {"config", m.config_json},
        {"clock", "CLOCK_MONOTONIC"},
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        char buf[512] = "";
        CU_ASSERT(read_str_attr(f, want[i][0], buf, sizeof buf));
        CU_ASSERT_STRING_EQUAL(buf, want[i][1]);
    }
    int64_t t0u = 0, t0m = 0;
    CU_ASSERT(read_int_attr(f, "t0_unix_ns", 8, H5T_SGN_2, &t0u, H5T_NATIVE_INT64));
    CU_ASSERT(read_int_attr(f, "t0_monotonic_ns", 8, H5T_SGN_2, &t0m, H5T_NATIVE_INT64));
    CU_ASSERT_EQUAL(t0u, m.t0_unix_ns);
    CU_ASSERT_EQUAL(t0m, m.t0_monotonic_ns);

    hid_t lv = H5Gopen2(f, "/levels", H5P_DEFAULT);
    CU_ASSERT_FATAL(lv >= 0);
    H5G_info_t gi;
    CU_ASSERT(H5Gget_info(lv, &gi) >= 0);
    CU_ASSERT_EQUAL(gi.nlinks, n_levels);
    H5Gclose(lv);
    for (size_t i = 0; i < n_levels && i < N_SAMPLE; i++) {
        level_data d;
        level_make(&d, sample_levels[i].c, sample_levels[i].n);
        check_level(f, &d);
        level_free(&d);
    }
    CU_ASSERT(H5Fclose(f) >= 0);
}

/* --- tests ---------------------------------------------------------------- */

static void test_roundtrip(void)
{
    char path[600];
    bench_err e = {""};
    tmp_path("roundtrip", path, sizeof path);
    CU_ASSERT_EQUAL_FATAL(write_sample(path, NULL, &e), BENCH_OK);
    check_file(path, N_SAMPLE);
    unlink(path);
}

static void test_unwritable(void)
{
    results_meta m = sample_meta();
    results *r = (results *)&m; /* must be reset to NULL on failure */
    bench_err e = {""};
    const char *missing = "/nonexistent-bench-dir/sub/results.h5";
    CU_ASSERT_EQUAL(results_create(missing, &m, &r, &e), BENCH_EHDF5);
    CU_ASSERT_PTR_NULL(r);
    CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, missing));
    CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "No such file or directory"));
    CU_ASSERT_PTR_NULL(strchr(e.msg, '\n'));

    /* a regular file used as a directory */
    char file[600], under[700];
    tmp_path("plainfile", file, sizeof file);
    FILE *fp = fopen(file, "w");
    CU_ASSERT_PTR_NOT_NULL_FATAL(fp);
    fclose(fp);
    snprintf(under, sizeof under, "%s/results.h5", file);
    CU_ASSERT_EQUAL(results_create(under, &m, &r, &e), BENCH_EHDF5);
    CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, under));
    CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "Not a directory"));
    unlink(file);

    /* a bad endpoint_kind is refused before anything is created */
    m.endpoint_kind = "local";
    CU_ASSERT_EQUAL(results_create(file, &m, &r, &e), BENCH_EUSAGE);
    CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "endpoint_kind"));
    CU_ASSERT_EQUAL(access(file, F_OK), -1);
}

static void test_misuse(void)
{
    char path[600];
    bench_err e = {""};
    results_meta m = sample_meta();
    results *r = NULL;
    tmp_path("misuse", path, sizeof path);
    CU_ASSERT_EQUAL_FATAL(results_create(path, &m, &r, &e), BENCH_OK);
    chunk_record ch = {1, 2, 3, 4};
    CU_ASSERT_EQUAL(results_append_chunks(r, &ch, 1, &e), BENCH_EUSAGE);
    CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "no level open"));
    CU_ASSERT_EQUAL(results_level_begin(r, 0, &e), BENCH_EUSAGE);
    CU_ASSERT_EQUAL(results_level_begin(r, 4, &e), BENCH_OK);
    CU_ASSERT_EQUAL(results_level_begin(r, 8, &e), BENCH_EUSAGE);
    CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "c4 is still open"));
    results_level_info info = {.concurrency = 8};
    CU_ASSERT_EQUAL(results_level_end(r, &info, &e), BENCH_EUSAGE);
    info.concurrency = 4;
    CU_ASSERT_EQUAL(results_level_end(r, &info, &e), BENCH_OK);
    CU_ASSERT_EQUAL(results_level_begin(r, 4, &e), BENCH_EUSAGE);
    CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "already exists"));
    CU_ASSERT_EQUAL(results_set_root_attr(r, "model", "x", &e), BENCH_EUSAGE);
    CU_ASSERT_EQUAL(results_set_root_attr(r, "run_status", "interrupted", &e), BENCH_OK);
    CU_ASSERT_EQUAL(results_set_root_attr(r, "run_status", "interrupted twice", &e), BENCH_OK);

    /* counts that disagree with the rows: reported, but the level is kept */
    level_data d;
    level_make(&d, 2, 30);
    d.info.requests_ok++;
    CU_ASSERT_EQUAL(level_write(r, &d, 1000, 1, &e), BENCH_EINPUT);
    CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "disagree"));
    level_free(&d);

    /* a level left open at close is dropped */
    level_make(&d, 16, 50);
    CU_ASSERT_EQUAL(level_write(r, &d, 1000, 0, &e), BENCH_OK);
    level_free(&d);
    CU_ASSERT_EQUAL(results_close(r, &e), BENCH_OK);
    CU_ASSERT_EQUAL(results_close(NULL, &e), BENCH_OK);

    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    CU_ASSERT_FATAL(f >= 0);
    CU_ASSERT(H5Lexists(f, "/levels/c4", H5P_DEFAULT) > 0);
    CU_ASSERT(H5Lexists(f, "/levels/c2", H5P_DEFAULT) > 0);
    CU_ASSERT(H5Lexists(f, "/levels/c16", H5P_DEFAULT) == 0);
    char buf[64] = "";
    CU_ASSERT(read_str_attr(f, "run_status", buf, sizeof buf));
    CU_ASSERT_STRING_EQUAL(buf, "interrupted twice");
    uint64_t ok = 0;
    hid_t g = H5Gopen2(f, "/levels/c2", H5P_DEFAULT);
    CU_ASSERT(read_int_attr(g, "requests_ok", 8, H5T_SGN_NONE, &ok, H5T_NATIVE_UINT64));
    H5Gclose(g);
    level_make(&d, 2, 30);
    CU_ASSERT_EQUAL(ok, d.info.requests_ok + 1); /* written as given */
    level_free(&d);
    H5Fclose(f);
    unlink(path);
}

/* In a child: write the sample levels, plus (when many_levels) 40 small
 * levels c100..c139 so that /levels' symbol table splits; then begin a big
 * level and die by SIGKILL in the middle of it (mid_level) or right after
 * the last ended level. Never returns. */
static void killed_writer(const char *path, int many_levels, int mid_level)
{
    bench_err e;
    results *r = NULL;
    if (write_sample(path, &r, &e) != BENCH_OK) {
        fprintf(stderr, "writer: %s\n", e.msg);
        _exit(3);
    }
    for (int c = 100; many_levels && c < 140; c++) {
        level_data d;
        level_make(&d, c, 3);
        if (level_write(r, &d, 2, 1, &e) != BENCH_OK) {
            fprintf(stderr, "writer: %s\n", e.msg);
            _exit(3);
        }
        level_free(&d);
    }
    if (mid_level) {
        /* 60000 requests and 180000 chunks appended one row at a time:
         * hundreds of thousands of metadata cache accesses, after which
         * untouched entries (those of /levels) age out of the cache and
         * would be written mid-level if results.c did not cork them. */
        level_data d;
        level_make(&d, 1000, 60000);
        if (level_write(r, &d, 1, 0, &e) != BENCH_OK) {
            fprintf(stderr, "writer: %s\n", e.msg);
            _exit(3);
        }
        if (results_set_root_attr(r, "run_status", "running", &e) != BENCH_OK)
            _exit(3);
    }
    raise(SIGKILL);
    _exit(4);
}

/* Fork killed_writer and wait: 0 when it died of SIGKILL as planned. */
static int run_killed(const char *path, int many_levels, int mid_level)
{
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0)
        killed_writer(path, many_levels, mid_level);
    int ws = 0;
    if (waitpid(pid, &ws, 0) != pid)
        return -1;
    return WIFSIGNALED(ws) && WTERMSIG(ws) == SIGKILL ? 0 : -1;
}

static void test_sigkill(void)
{
    char path[600];
    tmp_path("killed", path, sizeof path);
    for (int mode = 0; mode < 3; mode++) {
        int many = mode == 2, mid = mode != 0;
        CU_ASSERT_EQUAL_FATAL(run_killed(path, many, mid), 0);
        check_file(path, N_SAMPLE + (many ? 40 : 0));
        hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
        CU_ASSERT_FATAL(f >= 0);
        CU_ASSERT(H5Lexists(f, "/levels/c1000", H5P_DEFAULT) == 0);
        CU_ASSERT(H5Aexists(f, "run_status") == 0); /* set mid-level: not yet on disk */
        if (many) {
            level_data d;
            for (int c = 100; c < 140; c++) {
                level_make(&d, c, 3);
                check_level(f, &d);
                level_free(&d);
            }
        }
        H5Fclose(f);
    }
    unlink(path);
}

static CU_TestInfo tests[] = {
    {"write and read back every field", test_roundtrip},
    {"unwritable path names the path", test_unwritable},
    {"misuse, counts, open level dropped", test_misuse},
    {"SIGKILL keeps the ended levels", test_sigkill},
    CU_TEST_INFO_NULL,
};

int main(int argc, char **argv)
{
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    if (argc == 3 && (strcmp(argv[1], "--write") == 0 || strcmp(argv[1], "--write-killed") == 0)) {
        bench_err e = {""};
        if (strcmp(argv[1], "--write") == 0) {
            if (write_sample(argv[2], NULL, &e) != BENCH_OK) {
                fprintf(stderr, "%s\n", e.msg);
                return 1;
            }
            return 0;
        }
        if (run_killed(argv[2], 0, 1) != 0) {
            fprintf(stderr, "%s: the writer did not die of SIGKILL as planned\n", argv[0]);
            return 1;
        }
        return 0;
    }
    if (argc != 1) {
        fprintf(stderr, "usage: %s [--write PATH | --write-killed PATH]\n", argv[0]);
        return 2;
    }
    return cutest_run("results", tests);
}
