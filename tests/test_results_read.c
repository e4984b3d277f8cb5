/* Unit tests: the results reader (harness/results_read.c).
 *
 * Files are written with the writer (results.c) and read back field by
 * field; files the writer cannot make (another format_version, missing
 * tables, another packing of the rows) are made with the plain HDF5 API.
 * Damaged inputs (not HDF5, truncated, wrong types) must fail with a
 * one-line message naming the file, never crash. */
#include <fcntl.h>
#include <math.h>
#include <hdf5.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cutest.h"
#include "record.h"
#include "results.h"
#include "results_read.h"

static char *g_dir; /* this run's temporary directory */

/* path of `name` in this run's temporary directory, into buf */
static const char *tmp_file(const char *name, char *buf, size_t n)
{
    if (!g_dir)
        g_dir = cutest_tmpdir("results_read");
    snprintf(buf, n, "%s/%s", g_dir ? g_dir : "/tmp", name);
    return buf;
}

static int contains(const char *hay, const char *needle)
{
    return hay && needle && strstr(hay, needle) != NULL;
}

/* Open path, which must succeed (the message is printed when it does not). */
static results_file *open_ok(const char *path)
{
    results_file *f = NULL;
    bench_err e;
    bench_status st = results_open(path, &f, &e);
    if (st != BENCH_OK)
        fprintf(stderr, "\n  results_open: %s\n", e.msg);
    CU_ASSERT_EQUAL(st, BENCH_OK);
    return f;
}

/* --- the sample file, written by the writer ------------------------------ */

/* Expected root strings, and the meta the writer is given from them. */
static const char *const want_attrs[][2] = {
    {"harness_version", "9.9.9-rr"},
    {"created_utc", "2026-11-29T07:00:00Z"},
    {"model", "reader-model"},
    {"served_model", "sim/reader"},
    {"endpoint", "http://127.0.0.1:9/v1"},
    {"endpoint_kind", "remote"},
    {"api", "completions"},
    {"config", "{\"levels\":[16,2,4],\"x\":\"\xc3\xa9t\xc3\xa9\"}"},
    {"clock", "CLOCK_MONOTONIC"},
    {"run_status", "interrupted at c4"},
    {"note", "set while a level was open"},
};
#define N_WANT_ATTRS (sizeof want_attrs / sizeof want_attrs[0])
#define T0_UNIX 1795849200000000007LL
#define T0_MONO 4242424242LL

/* One level's rows. */
typedef struct {
    int c;
    size_t n_req, n_chunk, n_err;
    req_record *req;
    chunk_record *chunk;
    results_error_row *err;
    results_level_info info;
} level_rows;

/* Rows of level c with n requests. Request i has i % 4 chunks (so some have
 * none), fails when i % 5 == 2 (with an error row), is warm-up for i < 3.
 * finish_reason is zero-padded, and fills all 16 bytes for i % 9 == 4; the
 * first error message is 300 bytes long (stored cut to 255). */
static void rows_make(level_rows *L, int c, size_t n)
{
    memset(L, 0, sizeof *L);
    L->c = c;
    L->req = calloc(n + 1, sizeof *L->req);
    L->chunk = calloc(3 * n + 1, sizeof *L->chunk);
    L->err = calloc(n + 1, sizeof *L->err);
    if (!L->req || !L->chunk || !L->err)
        abort();
    for (size_t i = 0; i < n; i++) {
        req_record *q = &L->req[L->n_req++];
        int failed = i % 5 == 2;
        q->id = 1000 * (uint64_t)c + i;
        q->worker = (uint32_t)(i % (size_t)c);
        q->status = failed ? REQ_TIMEOUT_TOTAL : (i % 7 == 1 ? REQ_EARLY_STOP : REQ_OK);
        q->http_status = failed ? 0 : 200;
        q->warmup = i < 3;
        q->t_sched_ns = (int64_t)(i * 1000) - 7;
        q->t_send_ns = q->t_sched_ns + 3;
        q->t_first_byte_ns = failed ? -1 : q->t_send_ns + 100;
        q->t_first_token_ns = failed ? -1 : q->t_send_ns + 150;
        q->t_last_token_ns = failed ? -1 : q->t_send_ns + 900;
        q->t_end_ns = q->t_send_ns + 950 + (int64_t)c;
        q->prompt_tokens = failed ? -1 : (int32_t)(20 + i % 13);
        q->output_tokens = failed ? -1 : (int32_t)(i % 4);
        q->max_tokens = 4 + c;
        q->chunk_offset = L->n_chunk;
        q->chunk_count = failed ? 0 : (uint32_t)(i % 4);
        for (uint32_t k = 0; k < q->chunk_count; k++) {
            chunk_record *ch = &L->chunk[L->n_chunk++];
            ch->request_id = q->id;
            ch->t_ns = q->t_first_token_ns + 10 * (int64_t)k;
            ch->bytes = 60 + k + (uint32_t)i;
            ch->tokens = k % 3;
        }
        if (i % 9 == 4)
            memcpy(q->finish_reason, "0123456789abcdef", REC_FINISH_LEN);
        else if (!failed)
            strcpy(q->finish_reason, q->status == REQ_EARLY_STOP ? "stop" : "length");
        if (failed) {
            results_error_row *e = &L->err[L->n_err++];
            e->request_id = q->id;
            if (L->n_err == 1)
                memset(e->message, 'm', 255); /* what is kept of a 300-byte one */
            else
                snprintf(e->message, sizeof e->message, "timeout of %llu",
                         (unsigned long long)q->id);
        }
        if (q->warmup)
            L->info.requests_warmup++;
        else if (req_class_is_success(q->status))
            L->info.requests_ok++;
        else
            L->info.requests_failed++;
    }
    L->info.concurrency = c;
    L->info.t_start_ns = -5 * c;
    L->info.t_end_ns = (int64_t)(n * 1000) + c;
}

static void rows_free(level_rows *L)
{
    free(L->req);
    free(L->chunk);
    free(L->err);
}

/* Append L's rows to the open level of r, requests and chunks in batches of
 * `batch`; the first error message is given 300 bytes long. */
static bench_status rows_append(results *r, const level_rows *L, size_t batch, bench_err *e)
{
    bench_status st = BENCH_OK;
    for (size_t at = 0; st == BENCH_OK && at < L->n_req; at += batch) {
        size_t k = L->n_req - at < batch ? L->n_req - at : batch;
        st = results_append_requests(r, L->req + at, k, e);
    }
    for (size_t at = 0; st == BENCH_OK && at < L->n_chunk; at += batch) {
        size_t k = L->n_chunk - at < batch ? L->n_chunk - at : batch;
        st = results_append_chunks(r, L->chunk + at, k, e);
    }
    for (size_t i = 0; st == BENCH_OK && i < L->n_err; i++) {
        char longer[301];
        memset(longer, 'm', 300);
        longer[300] = '\0';
        st = results_append_error(r, L->err[i].request_id, i == 0 ? longer : L->err[i].message, e);
    }
    return st;
}

/* The levels of the sample, in the order they are written: by name HDF5
 * lists c16, c2, c4; by concurrency they are 2, 4, 16. c4 has no rows. */
static const struct {
    int c;
    size_t n;
} sample[] = {{16, 2000}, {2, 45}, {4, 0}};
#define N_SAMPLE (sizeof sample / sizeof sample[0])

/* The writer's metadata: the first eight strings of want_attrs, and t0. */
static void meta_from_want(results_meta *m)
{
    const char **dst[] = {&m->harness_version, &m->created_utc,   &m->model, &m->served_model,
                          &m->endpoint,        &m->endpoint_kind, &m->api,   &m->config_json};
    memset(m, 0, sizeof *m);
    for (size_t i = 0; i < sizeof dst / sizeof dst[0]; i++)
        *dst[i] = want_attrs[i][1];
    m->t0_unix_ns = T0_UNIX;
    m->t0_monotonic_ns = T0_MONO;
}

/* Write the sample file at path; its rows into L[N_SAMPLE] (caller frees). */
static bench_status sample_write(const char *path, level_rows *L, bench_err *e)
{
    results_meta m;
    results *r = NULL;
    meta_from_want(&m);
    bench_status st = results_create(path, &m, &r, e);
    for (size_t i = 0; i < N_SAMPLE; i++)
        rows_make(&L[i], sample[i].c, sample[i].n);
    for (size_t i = 0; st == BENCH_OK && i < N_SAMPLE; i++) {
        st = results_level_begin(r, L[i].c, e);
        if (st == BENCH_OK)
            st = rows_append(r, &L[i], 333, e);
        if (st == BENCH_OK && i == 1)
            st = results_set_root_attr(r, "note", want_attrs[10][1], e);
        if (st == BENCH_OK)
            st = results_level_end(r, &L[i].info, e);
    }
    if (st == BENCH_OK)
        st = results_set_root_attr(r, "run_status", want_attrs[9][1], e);
    bench_status cst = results_close(r, st == BENCH_OK ? e : NULL);
    return st != BENCH_OK ? st : cst;
}

static void check_request(const req_record *got, const req_record *want)
{
    CU_ASSERT_EQUAL(got->id, want->id);
    CU_ASSERT_EQUAL(got->worker, want->worker);
    CU_ASSERT_EQUAL(got->status, want->status);
    CU_ASSERT_EQUAL(got->http_status, want->http_status);
    CU_ASSERT_EQUAL(got->warmup, want->warmup);
    CU_ASSERT_EQUAL(got->t_sched_ns, want->t_sched_ns);
    CU_ASSERT_EQUAL(got->t_send_ns, want->t_send_ns);
    CU_ASSERT_EQUAL(got->t_first_byte_ns, want->t_first_byte_ns);
    CU_ASSERT_EQUAL(got->t_first_token_ns, want->t_first_token_ns);
    CU_ASSERT_EQUAL(got->t_last_token_ns, want->t_last_token_ns);
    CU_ASSERT_EQUAL(got->t_end_ns, want->t_end_ns);
    CU_ASSERT_EQUAL(got->prompt_tokens, want->prompt_tokens);
    CU_ASSERT_EQUAL(got->output_tokens, want->output_tokens);
    CU_ASSERT_EQUAL(got->max_tokens, want->max_tokens);
    CU_ASSERT_EQUAL(got->chunk_count, want->chunk_count);
    CU_ASSERT_EQUAL(got->chunk_offset, want->chunk_offset);
    /* all 16 bytes: the text, then zeros (or no NUL at all when full) */
    CU_ASSERT_EQUAL(memcmp(got->finish_reason, want->finish_reason, REC_FINISH_LEN), 0);
}

static int chunk_equal(const chunk_record *a, const chunk_record *b)
{
    return a->request_id == b->request_id && a->t_ns == b->t_ns && a->bytes == b->bytes &&
           a->tokens == b->tokens;
}

/* Read level L's chunks in slices of growing size (1, 2, 4, ...), then each
 * request's own slice, and compare. */
static void check_chunks(results_file *f, const level_rows *L)
{
    bench_err e;
    uint64_t n = 99;
    CU_ASSERT_EQUAL_FATAL(results_chunk_count(f, L->c, &n, &e), BENCH_OK);
    CU_ASSERT_EQUAL_FATAL(n, L->n_chunk);
    chunk_record *buf = calloc(L->n_chunk + 1, sizeof *buf);
    size_t bad = 0;
    for (size_t at = 0, len = 1; at < L->n_chunk; at += len, len *= 2) {
        size_t k = L->n_chunk - at < len ? L->n_chunk - at : len;
        CU_ASSERT_EQUAL_FATAL(results_read_chunks(f, L->c, at, k, buf, &e), BENCH_OK);
        for (size_t j = 0; j < k; j++)
            bad += !chunk_equal(&buf[j], &L->chunk[at + j]);
    }
    for (size_t i = 0; i < L->n_req; i++) {
        const req_record *q = &L->req[i];
        CU_ASSERT_EQUAL_FATAL(
            results_read_chunks(f, L->c, q->chunk_offset, q->chunk_count, buf, &e), BENCH_OK);
        for (uint32_t j = 0; j < q->chunk_count; j++)
            bad +=
                buf[j].request_id != q->id || !chunk_equal(&buf[j], &L->chunk[q->chunk_offset + j]);
    }
    CU_ASSERT_EQUAL(bad, 0);
    /* an empty slice at the very end is fine */
    CU_ASSERT_EQUAL(results_read_chunks(f, L->c, L->n_chunk, 0, buf, &e), BENCH_OK);
    free(buf);
}

/* Write the sample as `name` in the temporary directory (its path into
 * path, its rows into L: sample_done() releases both) and open it; NULL
 * when either failed. */
static results_file *sample_open(const char *name, char *path, size_t n, level_rows *L)
{
    bench_err e;
    bench_status st = sample_write(tmp_file(name, path, n), L, &e);
    if (st != BENCH_OK)
        fprintf(stderr, "\n  writing the sample: %s\n", e.msg);
    return st == BENCH_OK ? open_ok(path) : NULL;
}

/* Close f (NULL is fine), free the rows of the sample and remove its file. */
static void sample_done(results_file *f, level_rows *L, const char *path)
{
    results_file_close(f);
    for (size_t i = 0; i < N_SAMPLE; i++)
        rows_free(&L[i]);
    unlink(path);
}

static void test_round_trip(void)
{
    char path[600];
    level_rows L[N_SAMPLE];
    bench_err e;
    results_file *f = sample_open("sample.h5", path, sizeof path, L);
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);

    for (size_t i = 0; i < N_WANT_ATTRS; i++) {
        const char *v = results_file_attr(f, want_attrs[i][0]);
        CU_ASSERT_PTR_NOT_NULL(v);
        if (v)
            CU_ASSERT_STRING_EQUAL(v, want_attrs[i][1]);
    }
    CU_ASSERT_PTR_NULL(results_file_attr(f, "format_version")); /* not a string */
    CU_ASSERT_PTR_NULL(results_file_attr(f, "no_such_attribute"));
    CU_ASSERT_EQUAL(results_file_t0_unix(f), T0_UNIX);
    CU_ASSERT_EQUAL(results_file_t0_monotonic(f), T0_MONO);

    /* levels ascending by concurrency, attributes as written */
    static const int order[] = {1, 2, 0}; /* sample[] indexes of c2, c4, c16 */
    CU_ASSERT_EQUAL_FATAL(results_file_level_count(f), N_SAMPLE);
    CU_ASSERT_PTR_NULL(results_file_level(f, N_SAMPLE));
    for (size_t i = 0; i < N_SAMPLE; i++) {
        const results_level_info *got = results_file_level(f, i);
        const results_level_info *want = &L[order[i]].info;
        CU_ASSERT_PTR_NOT_NULL_FATAL(got);
        CU_ASSERT_EQUAL(got->concurrency, want->concurrency);
        CU_ASSERT_EQUAL(got->t_start_ns, want->t_start_ns);
        CU_ASSERT_EQUAL(got->t_end_ns, want->t_end_ns);
        CU_ASSERT_EQUAL(got->requests_ok, want->requests_ok);
        CU_ASSERT_EQUAL(got->requests_failed, want->requests_failed);
        CU_ASSERT_EQUAL(got->requests_warmup, want->requests_warmup);
    }

    for (size_t li = 0; li < N_SAMPLE; li++) {
        const level_rows *W = &L[li];
        req_record *req = NULL;
        results_error_row *er = NULL;
        size_t n = 99;
        CU_ASSERT_EQUAL_FATAL(results_read_requests(f, W->c, &req, &n, &e), BENCH_OK);
        CU_ASSERT_PTR_NOT_NULL(req); /* even for no rows */
        CU_ASSERT_EQUAL_FATAL(n, W->n_req);
        for (size_t i = 0; i < n; i++)
            check_request(&req[i], &W->req[i]);
        free(req);

        CU_ASSERT_EQUAL_FATAL(results_read_errors(f, W->c, &er, &n, &e), BENCH_OK);
        CU_ASSERT_EQUAL_FATAL(n, W->n_err);
        for (size_t i = 0; i < n; i++) {
            CU_ASSERT_EQUAL(er[i].request_id, W->err[i].request_id);
            CU_ASSERT_STRING_EQUAL(er[i].message, W->err[i].message);
        }
        if (n > 0)
            CU_ASSERT_EQUAL(strlen(er[0].message), 255);
        free(er);

        check_chunks(f, W);
    }

    /* the empty level: a slice of one row is past its end */
    CU_ASSERT_EQUAL(results_read_chunks(f, 4, 0, 1, NULL, &e), BENCH_EUSAGE);
    chunk_record one;
    CU_ASSERT_EQUAL(results_read_chunks(f, 4, 0, 1, &one, &e), BENCH_EINPUT);
    CU_ASSERT(contains(e.msg, path) && contains(e.msg, "c4"));
    sample_done(f, L, path);
}

static void test_slice_out_of_range(void)
{
    char path[600];
    level_rows L[N_SAMPLE];
    bench_err e;
    results_file *f = sample_open("slices.h5", path, sizeof path, L);
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    uint64_t n = 0;
    CU_ASSERT_EQUAL_FATAL(results_chunk_count(f, 2, &n, &e), BENCH_OK);
    CU_ASSERT_FATAL(n > 3);
    chunk_record *buf = calloc(n + 2, sizeof *buf);

    CU_ASSERT_EQUAL(results_read_chunks(f, 2, n - 3, 3, buf, &e), BENCH_OK);
    CU_ASSERT_EQUAL(results_read_chunks(f, 2, n - 3, 4, buf, &e), BENCH_EINPUT);
    CU_ASSERT(contains(e.msg, path) && contains(e.msg, "level c2"));
    CU_ASSERT_EQUAL(results_read_chunks(f, 2, n + 1, 0, buf, &e), BENCH_EINPUT);
    CU_ASSERT_EQUAL(results_read_chunks(f, 2, UINT64_MAX, 2, buf, &e), BENCH_EINPUT);
    /* a level the file does not have */
    CU_ASSERT_EQUAL(results_read_chunks(f, 3, 0, 1, buf, &e), BENCH_EUSAGE);
    CU_ASSERT(contains(e.msg, "no level c3"));
    req_record *req = NULL;
    size_t nr = 0;
    CU_ASSERT_EQUAL(results_read_requests(f, 64, &req, &nr, &e), BENCH_EUSAGE);
    CU_ASSERT_PTR_NULL(req);
    /* still usable after the failures */
    CU_ASSERT_EQUAL(results_read_chunks(f, 16, 0, 2, buf, &e), BENCH_OK);
    CU_ASSERT(chunk_equal(&buf[1], &L[0].chunk[1]));

    free(buf);
    sample_done(f, L, path);
}

/* --- unreadable and malformed files -------------------------------------- */

static void expect_open_fails(const char *path, bench_status want, const char *text)
{
    results_file *f = (results_file *)&f; /* any non-NULL value: must come back NULL */
    bench_err e;
    memset(&e, 0, sizeof e);
    bench_status st = results_open(path, &f, &e);
    CU_ASSERT_EQUAL(st, want);
    CU_ASSERT_PTR_NULL(f);
    CU_ASSERT(contains(e.msg, path));
    CU_ASSERT(text == NULL || contains(e.msg, text));
    CU_ASSERT_PTR_NULL(strchr(e.msg, '\n'));
    if (st != want || !contains(e.msg, path) || (text && !contains(e.msg, text)))
        fprintf(stderr, "\n  got %d: %s\n", (int)st, e.msg);
}

static void test_not_found_and_not_hdf5(void)
{
    char path[600];
    expect_open_fails(tmp_file("does-not-exist.h5", path, sizeof path), BENCH_EIO,
                      "No such file or directory");
    expect_open_fails(g_dir, BENCH_EIO, NULL); /* a directory */

    tmp_file("text.h5", path, sizeof path);
    FILE *fp = fopen(path, "w");
    CU_ASSERT_PTR_NOT_NULL_FATAL(fp);
    for (int i = 0; i < 200; i++)
        fprintf(fp, "line %d: this is not an HDF5 file at all\n", i);
    fclose(fp);
    expect_open_fails(path, BENCH_EINPUT, "not an HDF5 file");
    unlink(path);

    tmp_file("empty.h5", path, sizeof path);
    fp = fopen(path, "w");
    CU_ASSERT_PTR_NOT_NULL_FATAL(fp);
    fclose(fp);
    expect_open_fails(path, BENCH_EINPUT, "not an HDF5 file");
    unlink(path);
}

/* Copy the first `len` bytes of src to dst. */
static int copy_prefix(const char *src, const char *dst, off_t len)
{
    int in = open(src, O_RDONLY), out = open(dst, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    char buf[8192];
    int ok = in >= 0 && out >= 0;
    while (ok && len > 0) {
        ssize_t k = read(in, buf, len < (off_t)sizeof buf ? (size_t)len : sizeof buf);
        ok = k > 0 && write(out, buf, (size_t)k) == k;
        len -= k;
    }
    if (in >= 0)
        close(in);
    if (out >= 0)
        close(out);
    return ok;
}

static void test_truncated(void)
{
    char path[600], cut[600];
    level_rows L[N_SAMPLE];
    bench_err e;
    struct stat sb;
    tmp_file("whole.h5", path, sizeof path);
    tmp_file("cut.h5", cut, sizeof cut);
    CU_ASSERT_EQUAL_FATAL(sample_write(path, L, &e), BENCH_OK);
    CU_ASSERT_EQUAL_FATAL(stat(path, &sb), 0);
    /* the first half, as asked; then other cuts, down to one byte short */
    const off_t sizes[] = {
        sb.st_size / 2, sb.st_size / 4, 3 * sb.st_size / 4, sb.st_size - 1, 100, 8};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        CU_ASSERT_FATAL(copy_prefix(path, cut, sizes[i]));
        expect_open_fails(cut, BENCH_EINPUT, NULL);
    }
    unlink(cut);
    sample_done(NULL, L, path);
}

/* --- files made with the plain HDF5 API ---------------------------------- */

static void put_int(hid_t obj, const char *name, hid_t ftype, int64_t v)
{
    hid_t sp = H5Screate(H5S_SCALAR);
    hid_t a = H5Acreate2(obj, name, ftype, sp, H5P_DEFAULT, H5P_DEFAULT);
    CU_ASSERT(a >= 0 && H5Awrite(a, H5T_NATIVE_INT64, &v) >= 0);
    H5Aclose(a);
    H5Sclose(sp);
}

/* A NUL-padded fixed-length string attribute `name` of obj, of `size`
 * bytes: scalar when count is 0, else an array of count strings. bytes holds
 * the value(s), size bytes each. */
static void put_fixed_str(hid_t obj, const char *name, size_t size, hsize_t count,
                          const char *bytes)
{
    hid_t s = H5Tcopy(H5T_C_S1);
    hid_t sp = count ? H5Screate_simple(1, &count, NULL) : H5Screate(H5S_SCALAR);
    H5Tset_size(s, size);
    H5Tset_strpad(s, H5T_STR_NULLPAD);
    hid_t a = H5Acreate2(obj, name, s, sp, H5P_DEFAULT, H5P_DEFAULT);
    CU_ASSERT(a >= 0 && H5Awrite(a, s, bytes) >= 0);
    H5Aclose(a);
    H5Sclose(sp);
    H5Tclose(s);
}

/* A results-like file: format_version (unless version < 0), the t0
 * attributes, /levels and, when level > 0, group /levels/c<level> with its
 * six attributes. Returns the file, open for more (caller closes). */
static hid_t h5_make(const char *path, int version, int level)
{
    hid_t file = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    CU_ASSERT_FATAL(file >= 0);
    if (version >= 0)
        put_int(file, "format_version", H5T_STD_I32LE, version);
    put_int(file, "t0_unix_ns", H5T_STD_I64LE, 11);
    put_int(file, "t0_monotonic_ns", H5T_STD_I64LE, 22);
    hid_t levels = H5Gcreate2(file, "levels", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    if (level > 0) {
        char name[32];
        snprintf(name, sizeof name, "c%d", level);
        hid_t g = H5Gcreate2(levels, name, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
        /* other integer widths than the writer's: the reader converts */
        put_int(g, "concurrency", H5T_STD_I64BE, level);
        put_int(g, "t_start_ns", H5T_STD_I64LE, 5);
        put_int(g, "t_end_ns", H5T_STD_I64LE, 6);
        put_int(g, "requests_ok", H5T_STD_U32LE, 1);
        put_int(g, "requests_failed", H5T_STD_I16LE, 0);
        put_int(g, "requests_warmup", H5T_STD_U64BE, 0);
        H5Gclose(g);
    }
    H5Gclose(levels);
    return file;
}

static void test_other_versions(void)
{
    char path[600];
    tmp_file("v2.h5", path, sizeof path);
    H5Fclose(h5_make(path, 2, 0));
    expect_open_fails(path, BENCH_EINPUT, "format_version 2 is not supported (this bench reads 1)");
    unlink(path);

    tmp_file("noversion.h5", path, sizeof path);
    H5Fclose(h5_make(path, -1, 0));
    expect_open_fails(path, BENCH_EINPUT, "format_version");
    unlink(path);

    /* format_version of the wrong type */
    tmp_file("strversion.h5", path, sizeof path);
    hid_t file = h5_make(path, -1, 0);
    put_fixed_str(file, "format_version", 2, 0, "1");
    H5Fclose(file);
    expect_open_fails(path, BENCH_EINPUT, "format_version: not a single integer");
    unlink(path);
}

static void test_missing_parts(void)
{
    char path[600];
    bench_err e;
    results_file *f = NULL;

    /* no /levels */
    tmp_file("nolevels.h5", path, sizeof path);
    hid_t file = h5_make(path, 1, 0);
    H5Ldelete(file, "levels", H5P_DEFAULT);
    H5Fclose(file);
    expect_open_fails(path, BENCH_EINPUT, "/levels: missing");
    unlink(path);

    /* a level without one of its attributes */
    tmp_file("noattr.h5", path, sizeof path);
    file = h5_make(path, 1, 8);
    H5Adelete_by_name(file, "levels/c8", "requests_failed", H5P_DEFAULT);
    H5Fclose(file);
    expect_open_fails(path, BENCH_EINPUT, "/levels/c8: attribute requests_failed: missing");
    unlink(path);

    /* a stray object in /levels */
    tmp_file("stray.h5", path, sizeof path);
    file = h5_make(path, 1, 8);
    H5Gclose(H5Gcreate2(file, "levels/summary", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT));
    H5Fclose(file);
    expect_open_fails(path, BENCH_EINPUT, "/levels/summary: not a level");
    unlink(path);

    /* a level whose tables are missing: opens, reading them fails */
    tmp_file("notables.h5", path, sizeof path);
    H5Fclose(h5_make(path, 1, 8));
    CU_ASSERT_PTR_NOT_NULL_FATAL(f = open_ok(path));
    CU_ASSERT_EQUAL(results_file_level_count(f), 1);
    CU_ASSERT_EQUAL(results_file_level(f, 0)->concurrency, 8);
    CU_ASSERT_EQUAL(results_file_level(f, 0)->requests_ok, 1);
    CU_ASSERT_EQUAL(results_file_t0_unix(f), 11);
    CU_ASSERT_PTR_NULL(results_file_attr(f, "model"));
    req_record *req = NULL;
    results_error_row *er = NULL;
    size_t n = 0;
    uint64_t nc = 0;
    CU_ASSERT_EQUAL(results_read_requests(f, 8, &req, &n, &e), BENCH_EINPUT);
    CU_ASSERT(contains(e.msg, path) && contains(e.msg, "/levels/c8/requests: missing"));
    CU_ASSERT_EQUAL(results_chunk_count(f, 8, &nc, &e), BENCH_EINPUT);
    CU_ASSERT(contains(e.msg, "/levels/c8/chunks: missing"));
    CU_ASSERT_EQUAL(results_read_errors(f, 8, &er, &n, &e), BENCH_EINPUT);
    CU_ASSERT(contains(e.msg, "/levels/c8/errors: missing"));
    CU_ASSERT_PTR_NULL(req);
    CU_ASSERT_PTR_NULL(er);
    results_file_close(f);
    unlink(path);
}

/* A 1-D dataset `name` (a path from loc) with n rows of compound type ftype,
 * written from buf of memory type mtype (NULL buf: no rows written). */
static void put_table(hid_t loc, const char *name, hid_t ftype, hid_t mtype, hsize_t n,
                      const void *buf)
{
    hid_t sp = H5Screate_simple(1, &n, NULL);
    hid_t ds = H5Dcreate2(loc, name, ftype, sp, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    CU_ASSERT_FATAL(ds >= 0);
    if (buf)
        CU_ASSERT(H5Dwrite(ds, mtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf) >= 0);
    H5Dclose(ds);
    H5Sclose(sp);
}

/* A foreign requests row: every integer field as a 64-bit value, and a
 * longer finish_reason. */
static const char *const req_fields[] = {
    "id",           "worker",        "status",          "http_status",      "warmup",
    "t_sched_ns",   "t_send_ns",     "t_first_byte_ns", "t_first_token_ns", "t_last_token_ns",
    "t_end_ns",     "prompt_tokens", "output_tokens",   "max_tokens",       "chunk_count",
    "chunk_offset",
};
#define N_REQ_FIELDS (sizeof req_fields / sizeof req_fields[0])
typedef struct {
    int64_t v[N_REQ_FIELDS];
    char finish_reason[32];
    double extra;
} foreign_row;

/* Table /levels/c8/requests of n foreign rows (NULL rows: none written),
 * in the file big-endian, in reverse order, packed, with ASCII strings and an
 * extra field the reader ignores. Field `skip` is left out (none when it is
 * N_REQ_FIELDS); `t_end_ns` is a float when wrong_class is set. */
static void put_foreign_requests(hid_t file, const foreign_row *rows, hsize_t n, size_t skip,
                                 int wrong_class)
{
    hid_t s_mem = H5Tcopy(H5T_C_S1), s_file = H5Tcopy(H5T_C_S1);
    H5Tset_size(s_mem, 32);
    H5Tset_size(s_file, 24);
    H5Tset_strpad(s_file, H5T_STR_NULLPAD);
    hid_t mem = H5Tcreate(H5T_COMPOUND, sizeof(foreign_row));
    hid_t ftype = H5Tcreate(H5T_COMPOUND, 8 * N_REQ_FIELDS + 24 + 8);
    size_t off = 0;
    H5Tinsert(ftype, "extra", off, H5T_IEEE_F64BE);
    off += 8;
    H5Tinsert(ftype, "finish_reason", off, s_file);
    off += 24;
    for (size_t k = N_REQ_FIELDS; k-- > 0;) {
        if (k == skip)
            continue;
        int flt = wrong_class && strcmp(req_fields[k], "t_end_ns") == 0;
        H5Tinsert(mem, req_fields[k], HOFFSET(foreign_row, v) + k * sizeof(int64_t),
                  flt ? H5T_NATIVE_DOUBLE : H5T_NATIVE_INT64);
        H5Tinsert(ftype, req_fields[k], off, flt ? H5T_IEEE_F64BE : H5T_STD_I64BE);
        off += 8;
    }
    H5Tinsert(mem, "finish_reason", HOFFSET(foreign_row, finish_reason), s_mem);
    H5Tinsert(mem, "extra", HOFFSET(foreign_row, extra), H5T_NATIVE_DOUBLE);
    H5Tset_size(ftype, off);
    put_table(file, "levels/c8/requests", ftype, mem, n, rows);
    H5Tclose(mem);
    H5Tclose(ftype);
    H5Tclose(s_mem);
    H5Tclose(s_file);
}

static void test_foreign_layout(void)
{
    char path[600];
    bench_err e;
    results_file *f = NULL;
    foreign_row rows[3];
    memset(rows, 0, sizeof rows);
    for (size_t i = 0; i < 3; i++) {
        for (size_t k = 0; k < N_REQ_FIELDS; k++)
            rows[i].v[k] = (int64_t)(100 * i + k);
        rows[i].v[9] = -1; /* t_last_token_ns */
        snprintf(rows[i].finish_reason, sizeof rows[i].finish_reason, "reason-%zu", i);
        rows[i].extra = 0.5;
    }
    rows[2].v[1] = 70000; /* worker, fits u32 */

    tmp_file("foreign.h5", path, sizeof path);
    hid_t file = h5_make(path, 1, 8);
    put_foreign_requests(file, rows, 3, N_REQ_FIELDS, 0);
    /* chunks: fields reordered, u16/i32 widths */
    typedef struct {
        uint16_t tokens, bytes;
        int32_t t_ns;
        uint64_t request_id;
    } small_chunk;
    small_chunk ch[2] = {{1, 80, -3, 7}, {2, 90, 40, 7}};
    hid_t cm = H5Tcreate(H5T_COMPOUND, sizeof ch[0]);
    H5Tinsert(cm, "tokens", HOFFSET(small_chunk, tokens), H5T_NATIVE_UINT16);
    H5Tinsert(cm, "bytes", HOFFSET(small_chunk, bytes), H5T_NATIVE_UINT16);
    H5Tinsert(cm, "t_ns", HOFFSET(small_chunk, t_ns), H5T_NATIVE_INT32);
    H5Tinsert(cm, "request_id", HOFFSET(small_chunk, request_id), H5T_NATIVE_UINT64);
    put_table(file, "levels/c8/chunks", cm, cm, 2, ch);
    H5Tclose(cm);
    H5Fclose(file);

    CU_ASSERT_PTR_NOT_NULL_FATAL(f = open_ok(path));
    req_record *req = NULL;
    size_t n = 0;
    bench_status st = results_read_requests(f, 8, &req, &n, &e);
    if (st != BENCH_OK)
        fprintf(stderr, "\n  %s\n", e.msg);
    CU_ASSERT_EQUAL_FATAL(st, BENCH_OK);
    CU_ASSERT_EQUAL_FATAL(n, 3);
    for (size_t i = 0; i < 3; i++) {
        CU_ASSERT_EQUAL(req[i].id, 100 * i);
        CU_ASSERT_EQUAL(req[i].worker, i == 2 ? 70000 : 100 * i + 1);
        CU_ASSERT_EQUAL(req[i].status, (int32_t)(100 * i + 2));
        CU_ASSERT_EQUAL(req[i].t_last_token_ns, -1);
        CU_ASSERT_EQUAL(req[i].chunk_offset, 100 * i + 15);
        char want[REC_FINISH_LEN] = {0};
        snprintf(want, sizeof want, "reason-%zu", i);
        CU_ASSERT_EQUAL(memcmp(req[i].finish_reason, want, sizeof want), 0);
    }
    free(req);
    chunk_record got[2];
    CU_ASSERT_EQUAL_FATAL(results_read_chunks(f, 8, 0, 2, got, &e), BENCH_OK);
    CU_ASSERT(got[0].request_id == 7 && got[0].t_ns == -3 && got[0].bytes == 80 &&
              got[0].tokens == 1);
    CU_ASSERT(got[1].t_ns == 40 && got[1].bytes == 90 && got[1].tokens == 2);
    results_file_close(f);
    unlink(path);
}

static void test_wrong_tables(void)
{
    char path[600];
    bench_err e;
    results_file *f = NULL;
    req_record *req = NULL;
    size_t n = 0;
    uint64_t nc = 0;

    tmp_file("wrong.h5", path, sizeof path);
    hid_t file = h5_make(path, 1, 8);
    /* requests without its `warmup` field */
    put_foreign_requests(file, NULL, 2, 4, 0);
    /* chunks: a plain integer array, not rows */
    put_table(file, "levels/c8/chunks", H5T_STD_I32LE, H5T_NATIVE_INT, 4, NULL);
    /* errors: `message` as an integer */
    hid_t et = H5Tcreate(H5T_COMPOUND, 16);
    H5Tinsert(et, "request_id", 0, H5T_STD_U64LE);
    H5Tinsert(et, "message", 8, H5T_STD_I64LE);
    put_table(file, "levels/c8/errors", et, et, 1, NULL);
    H5Tclose(et);
    H5Fclose(file);

    CU_ASSERT_PTR_NOT_NULL_FATAL(f = open_ok(path));
    CU_ASSERT_EQUAL(results_read_requests(f, 8, &req, &n, &e), BENCH_EINPUT);
    CU_ASSERT(contains(e.msg, path) &&
              contains(e.msg, "/levels/c8/requests: field warmup: missing"));
    CU_ASSERT_EQUAL(results_chunk_count(f, 8, &nc, &e), BENCH_EINPUT);
    CU_ASSERT(contains(e.msg, "/levels/c8/chunks: not a table of rows"));
    results_error_row *er = NULL;
    CU_ASSERT_EQUAL(results_read_errors(f, 8, &er, &n, &e), BENCH_EINPUT);
    CU_ASSERT(contains(e.msg, "field message: not a fixed-length string"));
    results_file_close(f);

    /* a field of another class (t_end_ns as a float) */
    file = h5_make(path, 1, 8);
    put_foreign_requests(file, NULL, 2, N_REQ_FIELDS, 1);
    H5Fclose(file);
    CU_ASSERT_PTR_NOT_NULL_FATAL(f = open_ok(path));
    CU_ASSERT_EQUAL(results_read_requests(f, 8, &req, &n, &e), BENCH_EINPUT);
    CU_ASSERT(contains(e.msg, "field t_end_ns: not an integer"));
    results_file_close(f);
    unlink(path);
}

/* Root string attributes of fixed length are read too, non-scalar ones and
 * other types are left out. */
static void test_root_attr_kinds(void)
{
    char path[600];
    hid_t file = h5_make(tmp_file("attrs.h5", path, sizeof path), 1, 0);
    put_fixed_str(file, "model", 10, 0, "fixed\0\0\0\0\0");
    put_fixed_str(file, "pair", 10, 2, "aaaaaaaaaabbbbbbbbbb");
    put_fixed_str(file, "full", 10, 0, "0123456789"); /* all ten bytes used, no NUL */
    H5Fclose(file);

    results_file *f = open_ok(path);
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    CU_ASSERT_STRING_EQUAL(results_file_attr(f, "model"), "fixed");
    CU_ASSERT_STRING_EQUAL(results_file_attr(f, "full"), "0123456789");
    CU_ASSERT_PTR_NULL(results_file_attr(f, "pair"));
    CU_ASSERT_PTR_NULL(results_file_attr(f, "t0_unix_ns"));
    CU_ASSERT_EQUAL(results_file_level_count(f), 0);
    results_file_close(f);
    unlink(path);
}

/* A file the writer still holds open (and locked) reads as of its last
 * level end: the reader takes no lock, the open level is not visible. */
static void test_read_while_written(void)
{
    char path[600];
    int ready[2], done[2];
    tmp_file("live.h5", path, sizeof path);
    CU_ASSERT_FATAL(pipe(ready) == 0 && pipe(done) == 0);
    pid_t pid = fork();
    CU_ASSERT_FATAL(pid >= 0);
    if (pid == 0) {
        level_rows L;
        results_meta m;
        results *r = NULL;
        bench_err e;
        char c = 0;
        meta_from_want(&m);
        rows_make(&L, 3, 30);
        int ok = results_create(path, &m, &r, &e) == BENCH_OK &&
                 results_level_begin(r, 3, &e) == BENCH_OK &&
                 rows_append(r, &L, 7, &e) == BENCH_OK &&
                 results_level_end(r, &L.info, &e) == BENCH_OK &&
                 results_level_begin(r, 5, &e) == BENCH_OK && rows_append(r, &L, 7, &e) == BENCH_OK;
        if (write(ready[1], ok ? "1" : "0", 1) != 1 || read(done[0], &c, 1) < 0)
            ok = 0;
        results_close(r, NULL);
        rows_free(&L);
        _exit(ok ? 0 : 1);
    }
    close(ready[1]);
    close(done[0]);
    char c = 0;
    CU_ASSERT_FATAL(read(ready[0], &c, 1) == 1);
    CU_ASSERT_EQUAL(c, '1');

    bench_err e;
    results_file *f = open_ok(path);
    if (f) {
        CU_ASSERT_EQUAL(results_file_level_count(f), 1);
        CU_ASSERT_EQUAL(results_file_level(f, 0)->concurrency, 3);
        req_record *req = NULL;
        size_t n = 0;
        CU_ASSERT_EQUAL(results_read_requests(f, 3, &req, &n, &e), BENCH_OK);
        CU_ASSERT_EQUAL(n, 30);
        free(req);
        results_file_close(f);
    }
    CU_ASSERT(write(done[1], "x", 1) == 1);
    close(done[1]);
    close(ready[0]);
    int ws = 0;
    CU_ASSERT(waitpid(pid, &ws, 0) == pid && WIFEXITED(ws) && WEXITSTATUS(ws) == 0);
    unlink(path);
}

/* Rate levels and the client's self-measurement: written, listed after
 * the concurrency levels in order, read back by key; a group whose name,
 * mode or rate disagree is a malformed file. */
static void test_rate_levels(void)
{
    char path[600];
    tmp_file("rate.h5", path, sizeof path);
    results_meta m;
    results *r = NULL;
    bench_err e;
    meta_from_want(&m);
    CU_ASSERT_EQUAL_FATAL(results_create(path, &m, &r, &e), BENCH_OK);
    level_key keys[3] = {level_rate(2.5), level_conc(2), level_rate(0.5)};
    level_rows L[3];
    for (int i = 0; i < 3; i++) {
        rows_make(&L[i], 2, 20);
        L[i].info.concurrency = level_concurrency(keys[i]);
        L[i].info.level = keys[i];
        if (keys[i].kind == LEVEL_RATE) {
            snprintf(L[i].info.arrival, sizeof L[i].info.arrival, "gamma:%d", i + 1);
            L[i].info.max_concurrency = 64 + i;
        }
        if (i < 2) { /* the third without a measurement, as older files */
            level_client *c = &L[i].info.client;
            *c = (level_client){.present = 1,
                                .threads = 2,
                                .cores = 4,
                                .wall_s = 3.5,
                                .cpu_s = 0.25 + i,
                                .cpu_busiest = 0.125,
                                .process_cpu_s = 1.5,
                                .loop_lag_p50_ms = 0.01,
                                .loop_lag_p99_ms = 2.5,
                                .loop_lag_max_ms = NAN,
                                .peak_inflight = 7};
            snprintf(c->warning, sizeof c->warning, "%s", i ? "" : "event-loop lag p99 2.50 ms");
        }
        CU_ASSERT_EQUAL_FATAL(results_level_begin_key(r, keys[i], &e), BENCH_OK);
        CU_ASSERT_EQUAL_FATAL(rows_append(r, &L[i], 7, &e), BENCH_OK);
        CU_ASSERT_EQUAL_FATAL(results_level_end(r, &L[i].info, &e), BENCH_OK);
    }
    /* one name per level; a bad key is refused */
    CU_ASSERT_EQUAL(results_level_begin_key(r, level_rate(2.5), &e), BENCH_EUSAGE);
    CU_ASSERT(contains(e.msg, "/levels/r2.5 already exists"));
    CU_ASSERT_EQUAL(results_level_begin_key(r, level_rate(0), &e), BENCH_EUSAGE);
    CU_ASSERT_EQUAL(results_close(r, &e), BENCH_OK);

    results_file *f = open_ok(path);
    CU_ASSERT_EQUAL_FATAL(results_file_level_count(f), 3);
    const int order[3] = {1, 2, 0}; /* c2, r0.5, r2.5 */
    for (int i = 0; i < 3; i++) {
        const results_level_info *got = results_file_level(f, (size_t)i);
        const results_level_info *want = &L[order[i]].info;
        CU_ASSERT(level_eq(got->level, keys[order[i]]));
        CU_ASSERT_EQUAL(got->concurrency, want->concurrency);
        CU_ASSERT_STRING_EQUAL(got->arrival, want->arrival);
        CU_ASSERT_EQUAL(got->max_concurrency, want->max_concurrency);
        CU_ASSERT_EQUAL(got->requests_ok, want->requests_ok);
        CU_ASSERT_EQUAL(got->client.present, want->client.present);
        if (want->client.present) {
            CU_ASSERT_EQUAL(got->client.threads, 2);
            CU_ASSERT_EQUAL(got->client.cores, 4);
            CU_ASSERT_EQUAL(got->client.peak_inflight, 7);
            CU_ASSERT_DOUBLE_EQUAL(got->client.cpu_s, want->client.cpu_s, 0);
            CU_ASSERT_DOUBLE_EQUAL(got->client.loop_lag_p99_ms, 2.5, 0);
            CU_ASSERT(isnan(got->client.loop_lag_max_ms));
            CU_ASSERT_STRING_EQUAL(got->client.warning, want->client.warning);
        }
        req_record *rows = NULL;
        size_t n = 0;
        CU_ASSERT_EQUAL(results_read_requests_key(f, got->level, &rows, &n, &e), BENCH_OK);
        CU_ASSERT_EQUAL(n, 20);
        free(rows);
        uint64_t nch = 0;
        CU_ASSERT_EQUAL(results_chunk_count_key(f, got->level, &nch, &e), BENCH_OK);
        CU_ASSERT_EQUAL(nch, L[order[i]].n_chunk);
    }
    req_record *rows = NULL;
    size_t n = 0;
    CU_ASSERT_EQUAL(results_read_requests_key(f, level_rate(3), &rows, &n, &e), BENCH_EUSAGE);
    CU_ASSERT(contains(e.msg, "has no level r3"));
    /* the concurrency form still reads c2, and knows no rate */
    CU_ASSERT_EQUAL(results_read_requests(f, 2, &rows, &n, &e), BENCH_OK);
    free(rows);
    results_file_close(f);
    for (int i = 0; i < 3; i++)
        rows_free(&L[i]);

    /* hand-made groups that disagree with their names */
    const struct {
        const char *name, *mode;
        double rate;
        const char *says;
    } bad[] = {
        {"r2.50", "rate", 2.5, "not a level"},
        {"r2", "rate", 3, "rate attribute is 3"},
        {"r2", "concurrency", 2, "mode attribute is 'concurrency'"},
        {"c2", "rate", 2, "mode attribute is 'rate'"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        hid_t file = h5_make(path, 1, 0);
        hid_t g = H5Gopen2(file, "levels", H5P_DEFAULT);
        hid_t lg = H5Gcreate2(g, bad[i].name, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
        CU_ASSERT_FATAL(g >= 0 && lg >= 0);
        hid_t sp = H5Screate(H5S_SCALAR);
        put_fixed_str(lg, "mode", strlen(bad[i].mode) + 1, 0, bad[i].mode);
        hid_t a = H5Acreate2(lg, "rate", H5T_IEEE_F64LE, sp, H5P_DEFAULT, H5P_DEFAULT);
        H5Awrite(a, H5T_NATIVE_DOUBLE, &bad[i].rate);
        H5Aclose(a);
        put_fixed_str(lg, "arrival", 8, 0, "poisson");
        put_int(lg, "max_concurrency", H5T_STD_I32LE, 4);
        put_int(lg, "concurrency", H5T_STD_I32LE, 2);
        put_int(lg, "t_start_ns", H5T_STD_I64LE, 5);
        put_int(lg, "t_end_ns", H5T_STD_I64LE, 6);
        put_int(lg, "requests_ok", H5T_STD_U64LE, 0);
        put_int(lg, "requests_failed", H5T_STD_U64LE, 0);
        put_int(lg, "requests_warmup", H5T_STD_U64LE, 0);
        H5Sclose(sp);
        H5Gclose(lg);
        H5Gclose(g);
        H5Fclose(file);
        expect_open_fails(path, BENCH_EINPUT, bad[i].says);
    }
}

static void test_bad_arguments(void)
{
    bench_err e;
    results_file *f = NULL;
    CU_ASSERT_EQUAL(results_open(NULL, &f, &e), BENCH_EUSAGE);
    CU_ASSERT_EQUAL(results_open("", &f, &e), BENCH_EUSAGE);
    CU_ASSERT_EQUAL(results_open("x.h5", NULL, &e), BENCH_EUSAGE);
    CU_ASSERT_PTR_NULL(results_file_attr(NULL, "model"));
    CU_ASSERT_EQUAL(results_file_level_count(NULL), 0);
    CU_ASSERT_PTR_NULL(results_file_level(NULL, 0));
    results_file_close(NULL);
}

static CU_TestInfo tests[] = {
    {"round trip: attributes, levels, rows, slices", test_round_trip},
    {"chunk slices out of range", test_slice_out_of_range},
    {"missing file, directory, text file", test_not_found_and_not_hdf5},
    {"truncated copies fail cleanly", test_truncated},
    {"format_version 2, missing or not an integer", test_other_versions},
    {"missing /levels, level attributes, tables", test_missing_parts},
    {"another packing of the rows converts", test_foreign_layout},
    {"tables with missing or wrong fields", test_wrong_tables},
    {"fixed-length and non-scalar root attributes", test_root_attr_kinds},
    {"read while the writer holds the file", test_read_while_written},
    {"rate levels and the client's measurement", test_rate_levels},
    {"bad arguments", test_bad_arguments},
    CU_TEST_INFO_NULL,
};

int main(void)
{
    int rc = cutest_run("results_read", tests);
    if (g_dir) {
        rmdir(g_dir);
        free(g_dir);
    }
    return rc;
}
