#!/usr/bin/python3
"""Validate a results file against docs/FORMAT.md (format version 1) with h5py.

usage: /usr/bin/python3 check_h5_layout.py [--writer EXE --writer-mode MODE]
                                           [--expect-levels N] FILE

Checks the root attributes (present, typed, valid values), every level
group's attributes (c<N> and r<R> levels, the client's self-measurement when
present), the three datasets' storage and field names, and the
cross-table invariants: each request's chunk rows are
chunks[chunk_offset : chunk_offset + chunk_count], carry its id and have
non-decreasing t_ns, and every chunk row belongs to exactly one request;
requests_ok / requests_failed count the measured (warmup == 0) rows whose
status is / is not a success class (ok, early_stop), requests_warmup the
warm-up rows; every row whose status is not a success class has at least
one errors row, and every errors row names a request of the level.

Prints "layout ok: N levels, R requests, C chunks" and exits 0, or prints
each problem and exits 1. Exits 77 (meson's "skipped") when h5py or numpy
is missing. With --writer, first runs "EXE --MODE FILE" to produce FILE
(tests/test_results.c), so a meson test needs no ordering.
Use Debian's /usr/bin/python3 (python3-h5py), not a pyenv python.
"""
import argparse
import datetime
import json
import os
import re
import subprocess
import sys

try:
    import h5py
    import numpy as np
except ImportError as e:  # pragma: no cover - depends on the machine
    print(f"skipped: {e} (install python3-h5py and run with /usr/bin/python3)")
    sys.exit(77)

FORMAT_VERSION = 1
SUCCESS = (0, 11)  # req_class ok, early_stop: req_class_is_success()
MAX_EXAMPLES = 5

STRING_ATTRS = ("harness_version", "created_utc", "model", "served_model", "endpoint",
                "endpoint_kind", "api", "config", "clock")

# field name -> numpy dtype of the stored field (byte order ignored)
REQUEST_FIELDS = [
    ("id", "u8"), ("worker", "u4"), ("status", "i4"), ("http_status", "i4"), ("warmup", "u1"),
    ("t_sched_ns", "i8"), ("t_send_ns", "i8"), ("t_first_byte_ns", "i8"),
    ("t_first_token_ns", "i8"), ("t_last_token_ns", "i8"), ("t_end_ns", "i8"),
    ("prompt_tokens", "i4"), ("output_tokens", "i4"), ("max_tokens", "i4"),
    ("chunk_count", "u4"), ("chunk_offset", "u8"), ("finish_reason", "S16"),
]
CHUNK_FIELDS = [("request_id", "u8"), ("t_ns", "i8"), ("bytes", "u4"), ("tokens", "u4")]
ERROR_FIELDS = [("request_id", "u8"), ("message", "S256")]
DATASETS = (("requests", REQUEST_FIELDS, 1024), ("chunks", CHUNK_FIELDS, 4096),
            ("errors", ERROR_FIELDS, 256))

LEVEL_ATTRS = (("t_start_ns", "i8"), ("t_end_ns", "i8"),
               ("requests_ok", "u8"), ("requests_failed", "u8"), ("requests_warmup", "u8"))
# The client's self-measurement: all or none (files before it have none).
CLIENT_INT_ATTRS = (("client_threads", "i4"), ("client_cores", "i4"), ("peak_inflight", "i4"))
CLIENT_FLOAT_ATTRS = ("client_wall_s", "client_cpu_s", "client_cpu_busiest",
                      "client_process_cpu_s", "loop_lag_p50_ms", "loop_lag_p99_ms",
                      "loop_lag_max_ms", "loop_wakeups")
ARRIVAL = re.compile(r"poisson|constant|gamma:[0-9.e+-]+")


def level_name(name):
    """('c', N) or ('r', R) for a level name as bench writes it, else None:
    c<N> without leading zeros; r<R> the shortest decimal of R, no exponent."""
    m = re.fullmatch(r"c([1-9][0-9]*)", name)
    if m:
        return "c", int(m.group(1))
    m = re.fullmatch(r"r(0|[1-9][0-9]*)(\.[0-9]*[1-9])?", name)
    if m:
        rate = float(name[1:])
        if 0.001 <= rate <= 100000:
            return "r", rate
    return None


class Problems:
    def __init__(self):
        self.items = []

    def add(self, where, what):
        self.items.append(f"{where}: {what}")


def examples(values):
    vals = [str(v) for v in list(values)[:MAX_EXAMPLES]]
    more = len(values) - len(vals)
    return ", ".join(vals) + (f" (+{more} more)" if more > 0 else "")


def same_dtype(actual, want):
    """Stored scalar type equals the documented one, ignoring byte order."""
    return actual.kind == np.dtype(want).kind and actual.itemsize == np.dtype(want).itemsize


def check_int_attr(p, where, attrs, name, want):
    if name not in attrs:
        p.add(where, f"attribute {name} is missing")
        return None
    v = attrs[name]
    if not isinstance(v, np.integer) or np.ndim(v) != 0:
        p.add(where, f"attribute {name} is {type(v).__name__}, not a scalar integer")
        return None
    if not same_dtype(np.asarray(v).dtype, want):
        p.add(where, f"attribute {name} is {np.asarray(v).dtype}, not {np.dtype(want)}")
    return int(v)


def check_root(p, f):
    a = f.attrs
    version = check_int_attr(p, "/", a, "format_version", "i4")
    if version is not None and version != FORMAT_VERSION:
        p.add("/", f"format_version is {version}, this checker knows {FORMAT_VERSION}")
    for name in STRING_ATTRS:
        if name not in a:
            p.add("/", f"attribute {name} is missing")
        elif not isinstance(a[name], str):
            p.add("/", f"attribute {name} is {type(a[name]).__name__}, not str "
                       "(variable-length UTF-8 string expected)")
    get = lambda n: a[n] if isinstance(a.get(n), str) else None  # noqa: E731
    if get("endpoint_kind") is not None and get("endpoint_kind") not in ("simulated", "remote"):
        p.add("/", f"endpoint_kind is {get('endpoint_kind')!r}, not 'simulated' or 'remote'")
    if get("clock") is not None and get("clock") != "CLOCK_MONOTONIC":
        p.add("/", f"clock is {get('clock')!r}, not 'CLOCK_MONOTONIC'")
    for name in ("model", "api"):
        if get(name) == "":
            p.add("/", f"attribute {name} is empty")
    if get("created_utc") is not None:
        try:
            datetime.datetime.fromisoformat(get("created_utc").replace("Z", "+00:00"))
        except ValueError:
            p.add("/", f"created_utc {get('created_utc')!r} is not ISO 8601")
    if get("config") is not None:
        try:
            json.loads(get("config"))
        except ValueError as e:
            p.add("/", f"config is not valid JSON: {e}")
    check_int_attr(p, "/", a, "t0_unix_ns", "i8")
    check_int_attr(p, "/", a, "t0_monotonic_ns", "i8")


def check_dataset(p, where, ds, fields, chunk_rows):
    if not isinstance(ds, h5py.Dataset):
        p.add(where, "is not a dataset")
        return None
    if ds.ndim != 1:
        p.add(where, f"has {ds.ndim} dimensions, not 1")
        return None
    if ds.maxshape != (None,):
        p.add(where, f"maxshape is {ds.maxshape}, not (None,) (extendible)")
    if ds.chunks != (chunk_rows,):
        p.add(where, f"chunks are {ds.chunks}, not ({chunk_rows},)")
    if ds.compression != "gzip" or not ds.shuffle:
        p.add(where, f"filters: compression={ds.compression} shuffle={ds.shuffle}, "
                     "want gzip with shuffle")
    names = ds.dtype.names or ()
    want_names = tuple(n for n, _ in fields)
    if names != want_names:
        p.add(where, f"fields are {list(names)}, not {list(want_names)}")
        return None
    for name, want in fields:
        if not same_dtype(ds.dtype[name], want):
            p.add(where, f"field {name} is {ds.dtype[name]}, not {np.dtype(want)}")
    return ds[()]


def check_float_attr(p, where, attrs, name):
    if name not in attrs:
        p.add(where, f"attribute {name} is missing")
        return None
    v = attrs[name]
    if not isinstance(v, np.floating) or np.ndim(v) != 0 or np.asarray(v).dtype != np.float64:
        p.add(where, f"attribute {name} is {type(v).__name__}, not a scalar float64")
        return None
    return float(v)


def check_str_attr(p, where, attrs, name):
    if name not in attrs:
        p.add(where, f"attribute {name} is missing")
        return None
    if not isinstance(attrs[name], str):
        p.add(where, f"attribute {name} is {type(attrs[name]).__name__}, not str")
        return None
    return attrs[name]


def check_mode(p, where, kind, value, a):
    """mode and the attributes of a concurrency or rate level; a file written
    before rate levels has no mode (and only concurrency levels)."""
    mode = check_str_attr(p, where, a, "mode") if "mode" in a or kind == "r" else "concurrency"
    want = "rate" if kind == "r" else "concurrency"
    if mode is not None and mode != want:
        p.add(where, f"mode is {mode!r}, not {want!r}")
    if kind == "c":
        c = check_int_attr(p, where, a, "concurrency", "i4")
        if c is not None and c != value:
            p.add(where, f"concurrency attribute {c} does not match the name")
        return
    rate = check_float_attr(p, where, a, "rate")
    if rate is not None and rate != value:
        p.add(where, f"rate attribute {rate!r} does not match the name")
    arrival = check_str_attr(p, where, a, "arrival")
    if arrival is not None and not ARRIVAL.fullmatch(arrival):
        p.add(where, f"arrival {arrival!r} is not poisson, constant or gamma:SHAPE")
    cap = check_int_attr(p, where, a, "max_concurrency", "i4")
    if cap is not None and cap < 1:
        p.add(where, f"max_concurrency {cap} is not positive")


def check_client(p, where, a):
    present = [n for n, _ in CLIENT_INT_ATTRS if n in a] + \
        [n for n in CLIENT_FLOAT_ATTRS if n in a] + (["client_warning"] if "client_warning" in a else [])
    if not present:
        return
    for n, t in CLIENT_INT_ATTRS:
        check_int_attr(p, where, a, n, t)
    for n in CLIENT_FLOAT_ATTRS:
        check_float_attr(p, where, a, n)
    check_str_attr(p, where, a, "client_warning")


def check_level(p, name, g):
    where = f"/levels/{name}"
    key = level_name(name)
    if not key:
        p.add(where, "level name is not c<N> or r<R>")
    if not isinstance(g, h5py.Group):
        p.add(where, "is not a group")
        return 0, 0
    attrs = {n: check_int_attr(p, where, g.attrs, n, t) for n, t in LEVEL_ATTRS}
    if key:
        check_mode(p, where, key[0], key[1], g.attrs)
    check_client(p, where, g.attrs)
    if None not in (attrs["t_start_ns"], attrs["t_end_ns"]) and \
            attrs["t_start_ns"] > attrs["t_end_ns"]:
        p.add(where, f"t_start_ns {attrs['t_start_ns']} > t_end_ns {attrs['t_end_ns']}")

    data = {}
    for ds_name, fields, chunk_rows in DATASETS:
        if ds_name not in g:
            p.add(where, f"dataset {ds_name} is missing")
            data[ds_name] = None
        else:
            data[ds_name] = check_dataset(p, f"{where}/{ds_name}", g[ds_name], fields,
                                          chunk_rows)
    req, chunks, errs = data["requests"], data["chunks"], data["errors"]
    if "requests" in g and isinstance(g["requests"], h5py.Dataset):
        cn = g["requests"].attrs.get("class_names")
        if not isinstance(cn, str) or not cn.startswith("0=ok,1=http_error,"):
            p.add(f"{where}/requests", f"attribute class_names is {cn!r}, want '0=ok,...'")
    if req is None:
        return 0, 0 if chunks is None else len(chunks)

    ids = req["id"]
    if len(np.unique(ids)) != len(ids):
        p.add(f"{where}/requests", "request ids are not unique")

    # accounting
    warm = req["warmup"] != 0
    success = np.isin(req["status"], SUCCESS)
    counted = {"requests_ok": int(np.sum(~warm & success)),
               "requests_failed": int(np.sum(~warm & ~success)),
               "requests_warmup": int(np.sum(warm))}
    for n, v in counted.items():
        if attrs[n] is not None and attrs[n] != v:
            p.add(where, f"{n} is {attrs[n]} but the request rows give {v}")

    # chunk ranges
    if chunks is not None:
        n_chunks = len(chunks)
        cnt = req["chunk_count"].astype(np.int64)
        off = req["chunk_offset"].astype(np.uint64)
        has = cnt > 0
        end = off[has] + cnt[has].astype(np.uint64)
        out_of_range = np.nonzero(end > np.uint64(n_chunks))[0]
        if len(out_of_range):
            p.add(f"{where}/requests", "chunk_offset + chunk_count beyond the chunks dataset for "
                  f"ids {examples(ids[has][out_of_range])}")
        else:
            r_ids, r_off, r_cnt = ids[has], off[has].astype(np.int64), cnt[has]
            order = np.argsort(r_off, kind="stable")
            r_ids, r_off, r_cnt = r_ids[order], r_off[order], r_cnt[order]
            overlap = np.nonzero(r_off[1:] < r_off[:-1] + r_cnt[:-1])[0]
            if len(overlap):
                p.add(f"{where}/requests", "chunk ranges overlap for ids "
                      f"{examples(r_ids[1:][overlap])}")
            total = int(r_cnt.sum())
            starts = np.cumsum(r_cnt) - r_cnt
            idx = np.repeat(r_off, r_cnt) + (np.arange(total) - np.repeat(starts, r_cnt))
            owner = np.repeat(r_ids, r_cnt)
            wrong = np.nonzero(chunks["request_id"][idx] != owner)[0]
            if len(wrong):
                p.add(f"{where}/chunks", "rows in a request's range carry another request_id: "
                      f"rows {examples(idx[wrong])}")
            t = chunks["t_ns"][idx]
            back = np.nonzero((owner[1:] == owner[:-1]) & (t[1:] < t[:-1]))[0]
            if len(back):
                p.add(f"{where}/chunks", "t_ns decreases within request(s) "
                      f"{examples(np.unique(owner[1:][back]))}")
            if not len(overlap) and total != n_chunks:
                covered = np.zeros(n_chunks, dtype=bool)
                covered[idx] = True
                p.add(f"{where}/chunks", f"{n_chunks - total} rows belong to no request's "
                      f"range: rows {examples(np.nonzero(~covered)[0])}")

    # errors
    if errs is not None:
        err_ids = set(errs["request_id"].tolist())
        missing = sorted(set(ids[~success].tolist()) - err_ids)
        if missing:
            p.add(f"{where}/errors", f"failed requests without an errors row: ids "
                  f"{examples(missing)}")
        unknown = sorted(err_ids - set(ids.tolist()))
        if unknown:
            p.add(f"{where}/errors", f"rows name unknown request ids {examples(unknown)}")
    return len(req), 0 if chunks is None else len(chunks)


def check_file(path, expect_levels):
    p = Problems()
    try:
        f = h5py.File(path, "r")
    except OSError as e:
        p.add(path, f"cannot open: {e}")
        return p, 0, 0, 0
    n_req = n_chunks = 0
    with f:
        check_root(p, f)
        levels = f.get("levels")
        if not isinstance(levels, h5py.Group):
            p.add("/levels", "group is missing")
            return p, 0, 0, 0
        names = list(levels.keys())
        for name in names:
            r, c = check_level(p, name, levels[name])
            n_req += r
            n_chunks += c
        if expect_levels is not None and len(names) != expect_levels:
            p.add("/levels", f"holds {len(names)} levels, expected {expect_levels}")
    return p, len(names), n_req, n_chunks


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("file")
    ap.add_argument("--writer", help="program to run as 'WRITER --MODE FILE' first")
    ap.add_argument("--writer-mode", default="write", help="MODE for --writer (default write)")
    ap.add_argument("--expect-levels", type=int, help="required number of level groups")
    args = ap.parse_args(argv)

    if args.writer:
        os.makedirs(os.path.dirname(os.path.abspath(args.file)), exist_ok=True)
        if os.path.exists(args.file):
            os.unlink(args.file)
        cmd = [args.writer, "--" + args.writer_mode, args.file]
        done = subprocess.run(cmd, check=False)
        if done.returncode != 0:
            print(f"{' '.join(cmd)}: exit status {done.returncode}")
            return 1

    p, n_levels, n_req, n_chunks = check_file(args.file, args.expect_levels)
    if p.items:
        for item in p.items:
            print(item)
        print(f"{args.file}: {len(p.items)} problem(s)")
        return 1
    print(f"layout ok: {n_levels} levels, {n_req} requests, {n_chunks} chunks")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
