/* results_types.c - row types and HDF5 error helpers shared by the results
 * writer and reader (see results_types.h). */
#include "results_types.h"

#include <stdio.h>
#include <string.h>

#include "record.h"

const char *const results_ds_name[DS_COUNT] = {"requests", "chunks", "errors"};

/* --- HDF5 error handling ------------------------------------------------ */

void results_h5_quiet(void)
{
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
}

typedef struct {
    char text[200];
    int have;
} h5_reason;

static herr_t reason_cb(unsigned n, const H5E_error2_t *e, void *data)
{
    h5_reason *r = data;
    (void)n;
    if (r->have || !e->desc || !e->desc[0])
        return 0;
    /* System call failures read "unable to open file: name = '...', errno = 2,
     * error message = 'No such file or directory', ..."; keep the first
     * phrase and the strerror text, the rest is noise in a one-line message. */
    const char *msg = strstr(e->desc, "error message = '");
    if (msg) {
        msg += strlen("error message = '");
        size_t head = strcspn(e->desc, ":,");
        size_t tail = strcspn(msg, "'");
        snprintf(r->text, sizeof r->text, "%.*s: %.*s", (int)head, e->desc, (int)tail, msg);
    } else {
        snprintf(r->text, sizeof r->text, "%s", e->desc);
    }
    r->have = 1;
    return 0;
}

bench_status results_h5_fail(bench_status st, const char *path, bench_err *err, const char *what)
{
    h5_reason r = {.have = 0};
    H5Ewalk2(H5E_DEFAULT, H5E_WALK_UPWARD, reason_cb, &r);
    H5Eclear2(H5E_DEFAULT);
    return bench_fail(err, st, "results file %s: %s: %s", path, what,
                      r.have ? r.text : "HDF5 call failed");
}

herr_t results_h5_close(hid_t *id)
{
    herr_t rc = 0;
    if (*id < 0)
        return 0;
    switch (H5Iget_type(*id)) {
    case H5I_FILE:
        rc = H5Fclose(*id);
        break;
    case H5I_GROUP:
        rc = H5Gclose(*id);
        break;
    case H5I_DATASET:
        rc = H5Dclose(*id);
        break;
    case H5I_DATATYPE:
        rc = H5Tclose(*id);
        break;
    case H5I_DATASPACE:
        rc = H5Sclose(*id);
        break;
    case H5I_ATTR:
        rc = H5Aclose(*id);
        break;
    case H5I_GENPROP_LST:
        rc = H5Pclose(*id);
        break;
    default:
        rc = H5Idec_ref(*id);
        break;
    }
    *id = H5I_INVALID_HID;
    return rc;
}

/* --- string types -------------------------------------------------------- */

hid_t results_vlen_utf8(void)
{
    hid_t t = H5Tcopy(H5T_C_S1);
    if (t < 0)
        return t;
    if (H5Tset_size(t, H5T_VARIABLE) < 0 || H5Tset_cset(t, H5T_CSET_UTF8) < 0 ||
        H5Tset_strpad(t, H5T_STR_NULLTERM) < 0) {
        H5Tclose(t);
        return H5I_INVALID_HID;
    }
    return t;
}

/* A fixed-length UTF-8 string type of len bytes with the given padding. The
 * caller owns the returned identifier. */
static hid_t fixed_utf8(size_t len, H5T_str_t pad)
{
    hid_t t = H5Tcopy(H5T_C_S1);
    if (t < 0)
        return t;
    if (H5Tset_size(t, len) < 0 || H5Tset_cset(t, H5T_CSET_UTF8) < 0 || H5Tset_strpad(t, pad) < 0) {
        H5Tclose(t);
        return H5I_INVALID_HID;
    }
    return t;
}

/* --- compound row types -------------------------------------------------- */

/* Builds a memory compound (C struct offsets) and a packed file compound
 * side by side, one field at a time. */
typedef struct {
    hid_t mem, file;
    size_t file_off;
    int bad;
} type_builder;

static void tb_field(type_builder *b, const char *name, size_t mem_off, hid_t mem_t, hid_t file_t)
{
    if (b->bad)
        return;
    size_t sz = H5Tget_size(file_t);
    if (sz == 0 || H5Tinsert(b->mem, name, mem_off, mem_t) < 0 ||
        H5Tinsert(b->file, name, b->file_off, file_t) < 0)
        b->bad = 1;
    b->file_off += sz;
}

herr_t results_row_types(int which, results_direction dir, hid_t *mem, hid_t *file)
{
    static const size_t mem_size[DS_COUNT] = {sizeof(req_record), sizeof(chunk_record),
                                              sizeof(results_error_row)};
    type_builder b = {H5I_INVALID_HID, H5I_INVALID_HID, 0, 0};
    hid_t s_mem = H5I_INVALID_HID, s_file = H5I_INVALID_HID;
    herr_t rc = -1;
    /* In the file both strings are NUL-padded; HDF5 converts the padding
     * (see results_direction). */
    int to_file = dir == RESULTS_TO_FILE;
    H5T_str_t reason_pad = to_file ? H5T_STR_NULLTERM : H5T_STR_NULLPAD;
    H5T_str_t message_pad = to_file ? H5T_STR_NULLPAD : H5T_STR_NULLTERM;

    if (which < 0 || which >= DS_COUNT)
        return -1;
    if ((b.mem = H5Tcreate(H5T_COMPOUND, mem_size[which])) < 0 ||
        (b.file = H5Tcreate(H5T_COMPOUND, mem_size[which])) < 0)
        goto out;
    switch (which) {
    case DS_REQUESTS:
        if ((s_mem = fixed_utf8(REC_FINISH_LEN, reason_pad)) < 0 ||
            (s_file = fixed_utf8(REC_FINISH_LEN, H5T_STR_NULLPAD)) < 0)
            goto out;
#define F(member, mt, ft) tb_field(&b, #member, HOFFSET(req_record, member), mt, ft)
        F(id, H5T_NATIVE_UINT64, H5T_STD_U64LE);
        F(worker, H5T_NATIVE_UINT32, H5T_STD_U32LE);
        F(status, H5T_NATIVE_INT32, H5T_STD_I32LE);
        F(http_status, H5T_NATIVE_INT32, H5T_STD_I32LE);
        F(warmup, H5T_NATIVE_UINT8, H5T_STD_U8LE);
        F(t_sched_ns, H5T_NATIVE_INT64, H5T_STD_I64LE);
        F(t_send_ns, H5T_NATIVE_INT64, H5T_STD_I64LE);
        F(t_first_byte_ns, H5T_NATIVE_INT64, H5T_STD_I64LE);
        F(t_first_token_ns, H5T_NATIVE_INT64, H5T_STD_I64LE);
        F(t_last_token_ns, H5T_NATIVE_INT64, H5T_STD_I64LE);
        F(t_end_ns, H5T_NATIVE_INT64, H5T_STD_I64LE);
        F(prompt_tokens, H5T_NATIVE_INT32, H5T_STD_I32LE);
        F(output_tokens, H5T_NATIVE_INT32, H5T_STD_I32LE);
        F(max_tokens, H5T_NATIVE_INT32, H5T_STD_I32LE);
        F(chunk_count, H5T_NATIVE_UINT32, H5T_STD_U32LE);
        F(chunk_offset, H5T_NATIVE_UINT64, H5T_STD_U64LE);
        F(finish_reason, s_mem, s_file);
#undef F
        break;
    case DS_CHUNKS:
#define F(member, mt, ft) tb_field(&b, #member, HOFFSET(chunk_record, member), mt, ft)
        F(request_id, H5T_NATIVE_UINT64, H5T_STD_U64LE);
        F(t_ns, H5T_NATIVE_INT64, H5T_STD_I64LE);
        F(bytes, H5T_NATIVE_UINT32, H5T_STD_U32LE);
        F(tokens, H5T_NATIVE_UINT32, H5T_STD_U32LE);
#undef F
        break;
    default:
        if ((s_mem = fixed_utf8(RESULTS_ERROR_LEN, message_pad)) < 0 ||
            (s_file = fixed_utf8(RESULTS_ERROR_LEN, H5T_STR_NULLPAD)) < 0)
            goto out;
        tb_field(&b, "request_id", HOFFSET(results_error_row, request_id), H5T_NATIVE_UINT64,
                 H5T_STD_U64LE);
        tb_field(&b, "message", HOFFSET(results_error_row, message), s_mem, s_file);
        break;
    }
    /* Shrinking a compound to its packed size keeps every member. */
    if (b.bad || H5Tset_size(b.file, b.file_off) < 0)
        goto out;
    *mem = b.mem;
    b.mem = H5I_INVALID_HID;
    if (file) {
        *file = b.file;
        b.file = H5I_INVALID_HID;
    }
    rc = 0;
out:
    results_h5_close(&b.mem);
    results_h5_close(&b.file);
    results_h5_close(&s_mem);
    results_h5_close(&s_file);
    return rc;
}

/* --- transfers ----------------------------------------------------------- */

herr_t results_size_xfer(hid_t dxpl, hid_t mtype, hid_t ftype, size_t n)
{
    size_t elem = H5Tget_size(mtype), fsz = H5Tget_size(ftype);
    if (fsz > elem)
        elem = fsz;
    if (elem == 0 || n == 0)
        return -1;
    size_t buf = n < ((size_t)1 << 20) / elem ? n * elem : ((size_t)1 << 20) / elem * elem;
    /* A row larger than 1 MiB (only in a foreign file) still needs one row. */
    if (buf < elem)
        buf = elem;
    return H5Pset_buffer(dxpl, buf, NULL, NULL);
}

/* Write a scalar attribute of file type ftype from a value of memory type
 * mtype, replacing any attribute of that name. Returns < 0 on failure. */
herr_t results_h5_put_attr(hid_t obj, const char *name, hid_t ftype, hid_t mtype, const void *value)
{
    herr_t rc = -1;
    hid_t space = H5I_INVALID_HID, attr = H5I_INVALID_HID;
    htri_t exists = H5Aexists(obj, name);
    if (exists < 0 || (exists > 0 && H5Adelete(obj, name) < 0))
        goto out;
    if ((space = H5Screate(H5S_SCALAR)) < 0)
        goto out;
    if ((attr = H5Acreate2(obj, name, ftype, space, H5P_DEFAULT, H5P_DEFAULT)) < 0)
        goto out;
    rc = H5Awrite(attr, mtype, value);
out:
    if (results_h5_close(&attr) < 0)
        rc = -1;
    results_h5_close(&space);
    return rc;
}

/* Scalar variable-length UTF-8 string attribute; value NULL is written as "". */
herr_t results_h5_put_str(hid_t obj, const char *name, const char *value)
{
    hid_t t = results_vlen_utf8();
    if (t < 0)
        return -1;
    const char *v = value ? value : "";
    herr_t rc = results_h5_put_attr(obj, name, t, t, &v);
    H5Tclose(t);
    return rc;
}
