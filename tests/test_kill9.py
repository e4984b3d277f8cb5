#!/usr/bin/python3
"""bench killed with SIGKILL at random moments: the file always opens and
holds exactly the levels completed before the kill; the embedded endpoint
dies with bench and its port is released (docs/RELIABILITY.md).

usage: /usr/bin/python3 test_kill9.py [--runs N] [--seed S] [BENCH]

20 runs (default) of

    bench --model mistral-7b --concurrency 1-4 --requests 30 --warmup 0
          --output-tokens 16 --no-report --progress --output F

each killed with SIGKILL at a moment drawn from a seeded RNG: half the runs
within 30 ms of one of the level ends of a reference run (the transitions
between levels), the others uniformly over a complete run's duration (so
often before the first level ends), one in three of those in its first
0.3 s (while the simulator starts, before the results file exists).

Which levels had completed: with --progress, bench ends a level's progress
line with "saving..." when results_level_end begins and "saved" once it
has returned, i.e. once the level is durably in the file (docs/FORMAT.md,
"Crash safety"). stderr is a pipe, so every line bench wrote before it died
is read, also after the kill. The file must open with h5py, pass
check_h5_layout.py's checks and hold exactly the "saved" levels, plus at
most the one whose end was under way when the kill came: that level becomes
visible in the middle of results_level_end (before its final fsync), so it
may be in the file or not, but complete either way.

The simulator: bench's children are read from /proc just before the kill,
with the TCP ports they listen on; afterwards each must be gone (or a
zombie waiting for its new parent to reap it) within 3 s, and each port
bindable. The simulator inherits bench's stderr, so the pipe reaching end
of file also shows that nothing of bench's is left writing to it.

Prints one line per run (kill moment, levels saved before the kill, levels
in the file) and exits 0, or 1 on any failure; 77 without h5py.
"""
import argparse
import os
import random
import re
import socket
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
try:
    import h5py
    import check_h5_layout
except ImportError as e:  # pragma: no cover - depends on the machine
    print(f"skipped: {e} (install python3-h5py and run with /usr/bin/python3)")
    sys.exit(77)

LEVELS = [1, 2, 3, 4]
SAVED = re.compile(rb"c=(\d+)\s.*saving\.\.\. saved")
SAVING = re.compile(rb"c=(\d+)\s.*saving\.\.\.")


def bench_args(bench, out):
    return [bench, "--model", "mistral-7b", "--concurrency", "1-4", "--requests", "30",
            "--warmup", "0", "--output-tokens", "16", "--no-report", "--progress",
            "--output", out]


class Run:
    """bench running, its stderr read by a thread that timestamps "saved"."""

    def __init__(self, bench, out):
        if os.path.exists(out):
            os.unlink(out)
        self.t0 = time.monotonic()
        self.p = subprocess.Popen(bench_args(bench, out), stdin=subprocess.DEVNULL,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        self.saved = []  # (seconds since start, level)
        self.saving = set()  # levels whose end began
        self.tail = b""
        self.lock = threading.Lock()
        self.eof = threading.Event()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        buf = b""
        fd = self.p.stderr.fileno()
        while True:
            data = os.read(fd, 65536)
            if not data:
                break
            buf += data
            parts = re.split(rb"[\r\n]", buf)
            buf = parts.pop()
            now = time.monotonic() - self.t0
            with self.lock:
                for part in parts + [buf]:
                    m = SAVING.search(part)
                    if m:
                        self.saving.add(int(m.group(1)))
                for part in parts:
                    m = SAVED.search(part)
                    if m:
                        self.saved.append((now, int(m.group(1))))
                    elif part.strip() and not part.lstrip().startswith(b"c="):
                        self.tail = (self.tail + part + b"\n")[-2000:]
        self.eof.set()

    def saved_levels(self):
        with self.lock:
            return [lvl for _, lvl in self.saved]

    def pending_levels(self):
        """Levels whose end had begun but was not reported done."""
        with self.lock:
            return sorted(self.saving - {lvl for _, lvl in self.saved})


def children(pid):
    kids = set()
    try:
        for tid in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{tid}/children") as f:
                kids.update(int(x) for x in f.read().split())
    except OSError:
        pass
    return kids


def listen_ports(pid):
    """TCP ports pid listens on (IPv4 and IPv6)."""
    inodes = set()
    try:
        for fd in os.listdir(f"/proc/{pid}/fd"):
            try:
                link = os.readlink(f"/proc/{pid}/fd/{fd}")
            except OSError:
                continue
            if link.startswith("socket:["):
                inodes.add(link[8:-1])
    except OSError:
        return set()
    ports = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(table) as f:
                next(f)
                for line in f:
                    cols = line.split()
                    if cols[3] == "0A" and cols[9] in inodes:  # LISTEN
                        ports.add(int(cols[1].rsplit(":", 1)[1], 16))
        except OSError:
            pass
    return ports


def gone(pid, timeout=3.0):
    """True once pid does not exist or is a zombie."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with open(f"/proc/{pid}/status") as f:
                state = next(line for line in f if line.startswith("State:"))
            if "Z" in state.split()[1]:
                return True
        except (OSError, StopIteration):
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)


def port_free(port):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        s.bind(("127.0.0.1", port))
        s.listen(1)
        return True
    except OSError:
        return False
    finally:
        s.close()


def reference(bench, out):
    """A complete run: the moments its levels were saved, and its length."""
    r = Run(bench, out)
    rc = r.p.wait(timeout=120)
    r.eof.wait(10)
    levels = r.saved_levels()
    if rc != 0 or levels != LEVELS:
        sys.exit(f"reference run: exit status {rc}, levels saved {levels}: "
                 f"{r.tail.decode(errors='replace')}")
    ends = [t for t, _ in r.saved]
    return ends, time.monotonic() - r.t0


def one_run(bench, out, when):
    problems = []
    r = Run(bench, out)
    delay = when - (time.monotonic() - r.t0)
    if delay > 0:
        time.sleep(delay)
    kids = children(r.p.pid)
    ports = set()
    for k in kids:
        ports |= listen_ports(k)
    before = r.saved_levels()
    t_kill = time.monotonic() - r.t0
    r.p.kill()
    r.p.wait()
    if not r.eof.wait(5):
        problems.append("stderr still open 5 s after the kill: a process of bench's survived")
    saved = r.saved_levels()
    pending = r.pending_levels()
    for k in sorted(kids):
        if not gone(k):
            problems.append(f"child {k} (the simulator) survived bench")
    for port in sorted(ports):
        if not port_free(port):
            problems.append(f"port {port} is still bound")

    if saved != LEVELS[:len(saved)]:
        problems.append(f"levels saved out of order: {saved}")
    if not os.path.exists(out):
        in_file = None
        if saved:
            problems.append(f"no results file, but levels {saved} were saved")
    else:
        try:
            with h5py.File(out, "r") as f:
                in_file = sorted(int(g.attrs["concurrency"]) for g in f["levels"].values())
        except (OSError, KeyError) as e:
            in_file = None
            problems.append(f"h5py cannot read {out}: {e}")
        if in_file is not None:
            p, n_levels, _, _ = check_h5_layout.check_file(out, None)
            problems.extend(str(item) for item in p.items)
            # A level whose end was under way may be in or out; nothing else.
            ok = in_file == saved or (pending and in_file == saved + pending[:1])
            if not ok:
                problems.append(f"file holds levels {in_file}, saved were {saved}"
                                + (f", c{pending[0]} was being saved" if pending else ""))
    return {"kill_s": t_kill, "before": before, "saved": saved, "pending": pending,
            "in_file": in_file, "children": len(kids), "ports": sorted(ports),
            "problems": problems}


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("bench", nargs="?", default=os.environ.get("BENCH_EXE"))
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--seed", type=int, default=int(os.environ.get("KILL9_SEED", "9")))
    args = ap.parse_args(argv)
    if not args.bench:
        sys.exit("give the bench executable (or set BENCH_EXE)")
    tmp = os.environ.get("BENCH_TEST_TMP") or "/tmp"
    tmp = os.path.join(tmp, "kill9")
    os.makedirs(tmp, exist_ok=True)
    out = os.path.join(tmp, "killed.h5")

    ends, length = reference(args.bench, os.path.join(tmp, "reference.h5"))
    print(f"reference run: {length:.2f} s, levels saved at "
          + ", ".join(f"c{lvl}={t:.2f}s" for lvl, t in zip(LEVELS, ends)))
    rng = random.Random(args.seed)
    failed = 0
    kept_counts = {}
    for i in range(args.runs):
        if i % 6 == 0:
            when = rng.uniform(0.0, 0.3)
            how = "early"
        elif i % 2 == 0:
            when = rng.uniform(0.0, length)
            how = "uniform"
        else:
            j = rng.randrange(len(ends))
            when = max(0.0, ends[j] + rng.uniform(-0.03, 0.03))
            how = f"near c{LEVELS[j]} end"
        res = one_run(args.bench, out, when)
        n = len(res["in_file"] or [])
        kept_counts[n] = kept_counts.get(n, 0) + 1
        status = "ok" if not res["problems"] else "FAIL"
        during = (f", c{res['pending'][0]} being saved"
                  if res["pending"] else "")
        print(f"run {i + 1:2d}: kill at {res['kill_s']:5.2f} s ({how:13s}) saved before "
              f"{res['before']}, saved by death {res['saved']}{during}, in file "
              f"{res['in_file'] if res['in_file'] is not None else 'no file'}; "
              f"{res['children']} child(ren), ports {res['ports']}: {status}")
        for p in res["problems"]:
            print(f"    {p}")
        failed += bool(res["problems"])
    print("levels kept per run: " + ", ".join(f"{k} level(s): {v} run(s)"
                                               for k, v in sorted(kept_counts.items())))
    print(f"{args.runs - failed} of {args.runs} runs ok")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
