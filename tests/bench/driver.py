#!/usr/bin/env python3
"""CPU benchmark driver: boots target/bench/bench.img under qemu-system-aarch64 (TCG)
and under our launcher, runs the workloads of /bin/bench in each through the serial
console, checks them and prints a comparison table. Run through tests/bench/run.

Boot to power-off is timed first: each VM is started with hvarm.bench=off on its
command line (its /init powers off at once) and timed from start to exit, run after
run, one VM at a time. Then both VMs are booted (one after the other: boot to prompt),
and each workload runs on one VM and then on the other, run after run, so that slow
changes in the host's load weigh on both; the VM not being measured is stopped
(SIGSTOP) meanwhile.

Fixed-work workloads are timed on the host by wall clock: the guest prints "@@T0 <name>"
just before the timed part and "@@T1 <name>" just after, and the driver takes the host
time at which each line arrived on the console. openssl speed runs for a fixed time by
the guest clock, so its rows are the rates openssl reports (bytes/s for 16 KiB blocks,
or signatures/s); the guest's /proc/uptime over the same T0-T1 window, against the
host's, checks that clock.
"""
import argparse
import bisect
import hashlib
import json
import math
import os
import re
import select
import signal
import subprocess
import sys
import time

ESC = re.compile(rb"\x1b\[[0-9;?]*[A-Za-z]")
PROMPT = "~ # "
BOOT_OFF = "boot-off"

# The rows of the table: row name, kind, guest command, full size, quick size, unit of
# the size, what it does. Kinds: "time" = host seconds from @@T0 to @@T1, lower is
# better; "Bps"/"ops" = the figure the tool reports (@@M: bytes/s, operations/s),
# higher is better; "boot" = host seconds from starting the VM to its exit.
# Several rows can share one command (openssl speed rsa2048 reports sign and verify).
WORKLOADS = [
    # integer
    ("sh", "time", "sh", 100000, 20000, "{} iterations", "busybox ash loop counting to N"),
    ("int64", "time", "int64", 500, 100, "{} ops", "stress-ng cpu int64, N bogo ops, --verify"),
    ("sieve", "time", "sieve", 500, 100, "{} ops", "stress-ng cpu sieve, N bogo ops, --verify"),
    ("sysbench-cpu", "time", "sysbench-cpu", 1500, 300, "{} events",
     "sysbench cpu, primes below 10000, N events"),
    ("7z-b", "time", "7z-b", 30, 27, "2^{}",
     "7zz b -mmt1 -md18 -mtic=N (fixed work, self-checking)"),
    # floating point, scalar and vector; integer SIMD
    ("double", "time", "double", 250, 50, "{} ops", "stress-ng cpu double (scalar FP), --verify"),
    ("trig", "time", "trig", 80, 20, "{} ops", "stress-ng cpu trig (libm sin/cos/tan), --verify"),
    ("fft", "time", "fft", 200, 40, "{} ops", "stress-ng cpu fft (complex FP), --verify"),
    ("matrixprod", "time", "matrixprod", 25, 5, "{} ops",
     "stress-ng cpu matrixprod (vectorized FP), --verify"),
    ("vecmath", "time", "vecmath", 1000, 200, "{} ops",
     "stress-ng vecmath (128-bit integer vectors)"),
    # compression, both ways
    ("gzip-c", "time", "gzip-c", 2048, 512, "{} KiB", "GNU gzip -9 of N KiB"),
    ("gzip-d", "time", "gzip-d", 10, 3, "{} x 1 MiB", "gzip -d of 1 MiB (packed), N times"),
    ("xz-c", "time", "xz-c", 512, 128, "{} KiB", "xz -6 -T1 of N KiB"),
    ("xz-d", "time", "xz-d", 10, 3, "{} x 1 MiB", "xz -d of 1 MiB (packed), N times"),
    ("zstd-c", "time", "zstd-c", 512, 128, "{} KiB", "zstd -19 -T1 of N KiB"),
    ("zstd-d", "time", "zstd-d", 20, 5, "{} x 1 MiB", "zstd -d of 1 MiB (packed), N times"),
    ("bzip2-c", "time", "bzip2-c", 2048, 512, "{} KiB", "bzip2 -9 of N KiB"),
    ("bzip2-d", "time", "bzip2-d", 3, 1, "{} x 1 MiB", "bzip2 -d of 1 MiB (packed), N times"),
    ("7z-a", "time", "7z-a", 1024, 256, "{} KiB", "7zz a (LZMA2 -mx5) + t + x of N KiB"),
    # crypto, as a TLS user meets it
    ("sha1", "Bps", "sha1", 3, 1, "{} s", "openssl speed sha1, 16 KiB blocks"),
    ("sha256", "Bps", "sha256", 3, 1, "{} s", "openssl speed sha256, 16 KiB blocks"),
    ("sha512", "Bps", "sha512", 3, 1, "{} s", "openssl speed sha512, 16 KiB blocks"),
    ("aes-128-cbc", "Bps", "aes-128-cbc", 3, 1, "{} s", "openssl speed -evp aes-128-cbc"),
    ("aes-256-cbc", "Bps", "aes-256-cbc", 3, 1, "{} s", "openssl speed -evp aes-256-cbc"),
    ("aes-128-gcm", "Bps", "aes-128-gcm", 3, 1, "{} s", "openssl speed -evp aes-128-gcm"),
    ("chacha20-poly1305", "Bps", "chacha20-poly1305", 3, 1, "{} s",
     "openssl speed -evp chacha20-poly1305"),
    ("rsa2048-sign", "ops", "rsa2048", 3, 1, "{} s", "openssl speed rsa2048: signatures/s"),
    ("rsa2048-verify", "ops", "rsa2048", 3, 1, "{} s", "openssl speed rsa2048: verifications/s"),
    ("ecdsa-p256-sign", "ops", "ecdsap256", 3, 1, "{} s", "openssl speed ecdsap256: signatures/s"),
    ("ecdsa-p256-verify", "ops", "ecdsap256", 3, 1, "{} s",
     "openssl speed ecdsap256: verifications/s"),
    # memory, interpreter, processes, boot
    ("mem-write", "time", "mem-write", 4096, 1024, "{} MiB",
     "sysbench memory write, 64 MiB blocks, N MiB"),
    ("mem-read", "time", "mem-read", 4096, 1024, "{} MiB",
     "sysbench memory read, 64 MiB blocks, N MiB"),
    ("python", "time", "python", 2, 1, "{} rounds",
     "python3 /bin/pybench.py N: objects, nbody, regex, json, strings"),
    ("fork", "time", "fork", 200, 50, "{} rounds",
     "shell pipeline with 6 processes (2 dynamic execs) per round"),
    (BOOT_OFF, "boot", BOOT_OFF, 1, 1, "", "boot to power-off (hvarm.bench=off)"),
]
# The metric a row takes from its command's @@M lines.
METRIC = {"rsa2048-sign": "rsa2048/sign", "rsa2048-verify": "rsa2048/verify",
          "ecdsa-p256-sign": "ecdsap256/sign", "ecdsa-p256-verify": "ecdsap256/verify"}
DATA_FULL, DATA_QUICK = 2048, 512
NEEDS_DATA = {"gzip-c", "gzip-d", "xz-c", "xz-d", "zstd-c", "zstd-d", "bzip2-c", "bzip2-d", "7z-a"}


class Console:
    """A guest on a pipe: reads everything into a buffer, logs it raw."""

    def __init__(self, cmd, log_path, mode="wb"):
        self.log = open(log_path, mode)
        self.log.write(("# " + " ".join(cmd) + "\n").encode())
        self.p = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                  stderr=subprocess.STDOUT, start_new_session=True)
        self.raw = b""
        self.text = ""   # escape sequences and \r removed
        self.eof = False
        # (len(self.text) after a chunk, host time it arrived): when a line came.
        self.ends = []
        self.times = []

    def _pump(self, wait):
        if self.eof:
            time.sleep(min(wait, 0.05))
            return
        r, _, _ = select.select([self.p.stdout], [], [], wait)
        if r:
            chunk = os.read(self.p.stdout.fileno(), 65536)
            if not chunk:
                self.eof = True
                return
            self.log.write(chunk)
            self.log.flush()
            now = time.monotonic()
            self.raw += chunk
            self.text = ESC.sub(b"", self.raw).decode(errors="replace").replace("\r", "")
            self.ends.append(len(self.text))
            self.times.append(now)

    def arrival(self, end):
        """The host time at which text up to offset `end` had arrived."""
        i = bisect.bisect_left(self.ends, end)
        return self.times[min(i, len(self.times) - 1)] if self.times else None

    def wait_for(self, pred, timeout):
        """Waits until pred(self.text) holds; returns the host time it held, or None."""
        deadline = time.monotonic() + timeout
        while True:
            if pred(self.text):
                return time.monotonic()
            if self.eof or time.monotonic() >= deadline:
                return None
            self._pump(min(0.05, max(0.0, deadline - time.monotonic())))

    def send(self, line):
        try:
            self.p.stdin.write(line.encode())
            self.p.stdin.flush()
            return True
        except (BrokenPipeError, OSError):
            return False

    def close(self, timeout=20.0):
        """Powers the guest off; kills it if it does not exit. Returns its status."""
        code = self.p.poll()
        if code is None:
            self.send("poweroff\n")
            deadline = time.monotonic() + timeout
            while self.p.poll() is None and time.monotonic() < deadline:
                self._pump(0.1)
            code = self.p.poll()
        if code is None:
            os.killpg(self.p.pid, signal.SIGKILL)
            self.p.wait()
            code = "killed"
        while not self.eof:
            self._pump(0.05)
        self.log.close()
        return code


def parse_result(name, text):
    """Pulls the @@ lines of workload `name` out of its console output. Offsets of the
    @@T0/@@T1 lines' ends (in `text`) go to "t0_end"/"t1_end", the guest uptimes they
    carry to "g0"/"g1"."""
    res = {"verify": [], "metrics": {}, "guest_s": None, "status": None, "why": "",
           "info": []}
    pos = 0
    for line in text.split("\n"):
        end = pos + len(line)
        pos = end + 1
        parts = line.strip().split(" ", 2)
        if len(parts) < 2 or parts[1].split("/")[0] != name:
            continue
        rest = parts[2] if len(parts) > 2 else ""
        if parts[0] == "@@V":
            res["verify"].append(rest)
        elif parts[0] == "@@M":
            try:
                res["metrics"][parts[1]] = float(rest)
            except ValueError:
                res["why"] = f"unparsable figure {rest!r}"
        elif parts[0] in ("@@T0", "@@T1"):
            k = parts[0][2:].lower()
            res[k + "_end"] = end
            try:
                res["g" + k[1]] = float(rest)
            except ValueError:
                pass
        elif parts[0] == "@@G":
            try:
                res["guest_s"] = float(rest)
            except ValueError:
                pass
        elif parts[0] == "@@I":
            res["info"].append(rest)
        elif parts[0] == "@@PASS":
            res["status"] = "PASS"
        elif parts[0] == "@@FAIL":
            res["status"] = "FAIL"
            res["why"] = rest
    return res


class Side:
    """One VM: its console, its results, and whether it can still run workloads."""

    def __init__(self, key, label, cmd, cmd_off, log_path):
        self.key = key
        self.label = label
        self.out = {"label": label, "cmd": cmd, "boot_s": None, "results": {}, "exit": None,
                    "features": "", "error": ""}
        self.cmd = cmd
        self.cmd_off = cmd_off
        self.log_path = log_path
        self.con = None
        self.alive = False

    def boot(self, boot_timeout):
        """Starts the VM and waits for its shell prompt (the boot time)."""
        print(f"[{self.label}] booting: {' '.join(self.cmd)}", file=sys.stderr, flush=True)
        start = time.monotonic()
        self.con = Console(self.cmd, self.log_path)
        t = self.con.wait_for(lambda s: PROMPT in s, boot_timeout)
        if t is None:
            self.out["error"] = ("the guest exited before its prompt" if self.con.eof else
                                 f"no prompt within {boot_timeout:g} s")
            self.out["exit"] = self.con.close(5)
            print(f"[{self.label}] {self.out['error']}", file=sys.stderr, flush=True)
            return
        self.out["boot_s"] = t - start
        self.alive = True
        print(f"[{self.label}] prompt after {self.out['boot_s']:.2f} s", file=sys.stderr,
              flush=True)

    def boot_off(self, timeout, first):
        """Boot to power-off: starts the VM with hvarm.bench=off and times it to its exit."""
        log = self.log_path.replace(".log", "-off.log")
        start = time.monotonic()
        con = Console(self.cmd_off, log, "wb" if first else "ab")
        deadline = start + timeout
        while con.p.poll() is None and time.monotonic() < deadline:
            con._pump(0.02)
        code = con.p.poll()
        end = time.monotonic()
        r = {"status": "PASS", "why": "", "verify": [], "metrics": {}, "size": 1}
        if code is None:
            r.update(status="TIMEOUT", why=f"no exit within {timeout:g} s", host_s=None)
        code = con.close(5)
        if r["status"] == "PASS":
            r["host_s"] = end - start
            if code != 0:
                r.update(status="FAIL", why=f"exit status {code}")
            elif "hvarm bench: powering off" not in con.text:
                r.update(status="FAIL", why="no 'hvarm bench: powering off' line")
            r["verify"] = ["powered off" if "hvarm bench: powering off" in con.text else "?"]
        self.out["results"].setdefault(BOOT_OFF, []).append(r)
        shown = f"{r['host_s']:.2f} s" if r.get("host_s") else ""
        print(f"[{self.label}] {BOOT_OFF}: {r['status']} {shown} {r['why']}".rstrip(),
              file=sys.stderr, flush=True)

    def run(self, name, size, timeout):
        """Runs one workload and records its result."""
        out, con, label = self.out, self.con, self.label
        key = name
        if not self.alive:
            out["results"].setdefault(key, []).append(
                {"status": "NOT RUN", "why": out["error"], "host_s": None})
            return
        mark = len(con.text)
        line = f"bench {name} {size}\n"
        sent = time.monotonic()
        if not con.send(line):
            self.alive = False
            out["error"] = "the guest's console closed"
            return
        end_re = re.compile(r"^@@END " + re.escape(name) + r"$", re.M)
        t = con.wait_for(lambda s: end_re.search(s, mark) is not None, timeout)
        if t is None:
            why = ("the guest exited" if con.eof else f"timed out after {timeout:g} s")
            out["results"].setdefault(key, []).append(
                {"status": "TIMEOUT" if not con.eof else "CRASH", "why": why, "host_s": None,
                 "size": size})
            print(f"[{label}] {name} {size}: {why}", file=sys.stderr, flush=True)
            # Interrupt it and carry on if the shell comes back.
            con.send("\x03")
            m2 = len(con.text)
            if con.eof or con.wait_for(lambda s: PROMPT in s[m2:], 30) is None:
                self.alive = False
                out["error"] = f"guest unresponsive after {name} {why}"
            return
        seg = con.text[mark:]
        r = parse_result(name, seg)
        r["total_s"] = t - sent   # command line sent -> @@END arrived
        r["size"] = size
        host_s = None
        if "t0_end" in r and "t1_end" in r:
            host_s = con.arrival(mark + r["t1_end"]) - con.arrival(mark + r["t0_end"])
            if "g0" in r and "g1" in r:
                r["window_guest_s"] = r["g1"] - r["g0"]
        r["host_s"] = host_s
        if r["status"] is None:
            r["status"] = "FAIL"
            r["why"] = "no @@PASS/@@FAIL line"
        elif host_s is None and name not in ("info", "data"):
            r["status"] = "FAIL"
            r["why"] = "no @@T0/@@T1 lines"
        if name == "info":
            out["features"] = "; ".join(r["info"])
        out["results"].setdefault(key, []).append(r)
        shown = " ".join(f"{k}={v:.6g}" for k, v in r["metrics"].items())
        shown = (f"{host_s:.2f} s " if host_s is not None else "") + shown
        print(f"[{label}] {name} {size}: {r['status']} {shown}"
              f"{' (guest clock ' + format(r['guest_s'], '.2f') + ' s)' if r['guest_s'] is not None else ''}"
              f"{' ' + r['why'] if r['why'] else ''}", file=sys.stderr, flush=True)
        end = end_re.search(con.text, mark).end()
        if con.wait_for(lambda s: PROMPT in s[end:], 30) is None:
            self.alive = False
            out["error"] = "no prompt after " + name

    def close(self):
        if self.con is not None and self.out["exit"] is None:
            self.resume()
            self.out["exit"] = self.con.close()

    def pause(self):
        """Stops the VM's processes (SIGSTOP) while the other VM is measured: even idle,
        a VM takes timer interrupts and would steal from the one being measured."""
        if self.con is not None and self.con.p.poll() is None:
            os.killpg(self.con.p.pid, signal.SIGSTOP)

    def resume(self):
        if self.con is not None and self.con.p.poll() is None:
            os.killpg(self.con.p.pid, signal.SIGCONT)

    def kill(self):
        """Never leaves the VM running (Ctrl-C or a driver bug)."""
        if self.con is not None and self.con.p.poll() is None:
            os.killpg(self.con.p.pid, signal.SIGKILL)
            self.con.p.wait()


def run_sides(sides, plan, runs, timeout, boot_timeout):
    """Boots every side (one after the other, each boot alone on the host), then runs
    each workload on every side in turn, run by run: a host whose load drifts over
    minutes then weighs on both sides alike. The VM not being measured is stopped
    (SIGSTOP) and resumed for its turn; its guest just sees time jump."""
    def only(side):
        for other in sides:
            if other is not side:
                other.pause()
        side.resume()

    try:
        if any(name == BOOT_OFF for name, _ in plan):
            for i in range(runs):
                for side in sides:
                    side.boot_off(boot_timeout, i == 0)
        plan = [(name, size) for name, size in plan if name != BOOT_OFF]
        for side in sides:
            only(side)
            side.boot(boot_timeout)
        for name, size in [("info", 0)] + plan:
            for _ in range(runs if name not in ("info", "data") else 1):
                for side in sides:
                    only(side)
                    side.run(name, size, timeout)
        for side in sides:
            side.close()
    except BaseException:
        for side in sides:
            side.kill()
        raise
    return {side.key: side.out for side in sides}


def best(results, kind, metric):
    """Best figure over the passing runs: lowest time or highest rate."""
    ok = [r for r in results if r.get("status") == "PASS"]
    if kind in ("time", "boot"):
        vals = [r["host_s"] for r in ok if r.get("host_s") is not None]
        return min(vals) if vals else None
    vals = [r["metrics"][metric] for r in ok if r["metrics"].get(metric)]
    return max(vals) if vals else None


def fmt(v, kind):
    if v is None:
        return "-"
    if kind in ("time", "boot"):
        return f"{v:.2f} s"
    if kind == "mips":
        return f"{v:.0f} MIPS"
    if kind == "ops":
        return f"{v:.1f} /s"
    return f"{v / 1e6:.1f} MB/s"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="smaller sizes (for a slow engine)")
    ap.add_argument("--runs", type=int, default=1, help="runs of each workload (best counts)")
    ap.add_argument("--timeout", type=float, default=600, help="seconds per workload")
    ap.add_argument("--boot-timeout", type=float, default=600, help="seconds to the first prompt")
    ap.add_argument("--only", default="", help="comma-separated workloads to run")
    ap.add_argument("--image", required=True)
    ap.add_argument("--launcher", required=True)
    ap.add_argument("--engine", default="")
    ap.add_argument("--default-engine", default="", help="the engine the launcher uses by default")
    ap.add_argument("--qemu-ref", required=True)
    ap.add_argument("-m", "--memory", default="512M")
    ap.add_argument("--vm", choices=["both", "qemu", "ours"], default="both")
    ap.add_argument("--outdir", required=True)
    ap.add_argument("--bootargs", default="console=ttyAMA0 rdinit=/init",
                    help="the image's kernel command line (boot-off appends hvarm.bench=off)")
    ap.add_argument("--cpython-tests", default="",
                    help="instead of the workloads: python3 -m test on these tests "
                         "(comma-separated, or 'all') in the CPython image")
    a = ap.parse_args()
    if a.runs < 1:
        ap.error("--runs must be at least 1")
    names = [w[0] for w in WORKLOADS]
    cmds = {w[2] for w in WORKLOADS}
    only = [n for n in a.only.split(",") if n] if a.only else names
    for n in only:
        if n not in names and n not in cmds:
            ap.error(f"unknown workload {n} (known: {', '.join(names)})")
    # A command name (rsa2048) selects all its rows.
    sel = [w for w in WORKLOADS if w[0] in only or w[2] in only]
    if a.cpython_tests:
        n = ("all" if a.cpython_tests == "all" else
             f"{sum(t.startswith('test_') for t in a.cpython_tests.split(','))} tests")
        sel = [("cpython-tests", "time", "cpython-tests", a.cpython_tests, a.cpython_tests,
                n, "python3 -m test")]
    plan = []
    if any(w[2] in NEEDS_DATA for w in sel):
        plan.append(("data", DATA_QUICK if a.quick else DATA_FULL))
    for w in sel:
        step = (w[2], w[4] if a.quick else w[3])
        if step not in plan:
            plan.append(step)

    os.makedirs(a.outdir, exist_ok=True)
    off = a.bootargs + " hvarm.bench=off"
    sides = []
    if a.vm in ("both", "qemu"):
        q = ["bash", a.qemu_ref, "--guest", a.image, "-m", a.memory]
        sides.append(("qemu", "qemu-system-aarch64", q, q + ["--append", off]))
    if a.vm in ("both", "ours"):
        cmd = [a.launcher, "--guest", a.image, "-m", a.memory]
        if a.engine:
            cmd += ["--engine", a.engine]
        sides.append(("ours", "this project", cmd, cmd + ["--append", off]))
    # What our side runs, recorded before it starts (binaries get rebuilt under us).
    bins = []
    if a.vm in ("both", "ours"):
        for what, path in (("launcher", a.launcher), ("engine", a.engine or a.default_engine)):
            if path and os.path.exists(path):
                st = os.stat(path)
                with open(path, "rb") as f:
                    digest = hashlib.sha256(f.read()).hexdigest()[:12]
                stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(st.st_mtime))
                bins.append(f"{what} {path} (built {stamp} UTC, sha256 {digest}...)")
    started = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    got = run_sides([Side(key, label, cmd, cmd_off, os.path.join(a.outdir, f"console-{key}.log"))
                     for key, label, cmd, cmd_off in sides], plan, a.runs, a.timeout,
                    a.boot_timeout)

    # ---- checks ------------------------------------------------------------------
    problems = []
    for key, side in got.items():
        if side["error"]:
            problems.append(f"{side['label']}: {side['error']}")
        elif side["exit"] != 0:
            problems.append(f"{side['label']}: exited with status {side['exit']} after poweroff")
        for name, rs in side["results"].items():
            for r in rs:
                if r["status"] != "PASS":
                    problems.append(f"{side['label']}: {name}: {r['status']} {r.get('why', '')}".rstrip())
            verifs = {tuple(r.get("verify", [])) for r in rs if r["status"] == "PASS"}
            if len(verifs) > 1:
                problems.append(f"{side['label']}: {name}: runs disagree: {sorted(verifs)}")
    if "qemu" in got and "ours" in got:
        q, o = got["qemu"]["results"], got["ours"]["results"]
        for name, _ in [("info", 0)] + plan:
            qv = [r.get("verify") for r in q.get(name, []) if r["status"] == "PASS"]
            ov = [r.get("verify") for r in o.get(name, []) if r["status"] == "PASS"]
            if qv and ov and qv[0] != ov[0]:
                problems.append(f"{name}: outputs differ: qemu {qv[0]} / ours {ov[0]}")

    # ---- table -------------------------------------------------------------------
    def side_val(key, cmd, kind, metric):
        if key not in got:
            return None
        return best(got[key]["results"].get(cmd, []), kind, metric)

    def cell(key, cmd, v, kind):
        """The figure, else why there is none (FAIL, TIMEOUT, NOT RUN...)."""
        if v is not None:
            return fmt(v, kind)
        bad = [r["status"] for r in got.get(key, {}).get("results", {}).get(cmd, [])
               if r.get("status") != "PASS"]
        return bad[0] if bad else "-"

    rows = []
    speedups = []   # (speedup, row)
    qb = got.get("qemu", {}).get("boot_s")
    ob = got.get("ours", {}).get("boot_s")
    rows.append(("boot to prompt *", fmt(qb, "time"), fmt(ob, "time"),
                 f"{qb / ob:.2f}x" if qb and ob else "-"))
    for row, kind, cmd, full, quick, unit, _ in sel:
        size = quick if a.quick else full
        metric = METRIC.get(row, cmd)
        qv, ov = side_val("qemu", cmd, kind, metric), side_val("ours", cmd, kind, metric)
        sp = None
        if qv and ov:
            sp = qv / ov if kind in ("time", "boot") else ov / qv
            speedups.append((sp, row))
        label = f"{row} ({unit.format(size)})" if unit else row
        if row == "cpython-tests":
            label = f"{row} ({unit})"
        rows.append((label, cell("qemu", cmd, qv, kind), cell("ours", cmd, ov, kind),
                     f"{sp:.2f}x" if sp else "-"))
        if row == "7z-b":
            qm, om = side_val("qemu", cmd, "mips", cmd), side_val("ours", cmd, "mips", cmd)
            rows.append(("7z-b rating, guest clock *", fmt(qm, "mips"), fmt(om, "mips"),
                         f"{om / qm:.2f}x" if qm and om else "-"))
    gm = (math.exp(sum(math.log(s) for s, _ in speedups) / len(speedups))
          if speedups else None)
    rows.append((f"geometric mean ({len(speedups)} workloads)", "", "",
                 f"{gm:.3f}x" if gm else "-"))
    slow = sorted(speedups)
    if slow:
        rows.append((f"slowest: {slow[0][1]}", "", "", f"{slow[0][0]:.2f}x"))
    head = ("workload", "qemu-system-aarch64", "this project", "speedup")
    widths = [max(len(r[i]) for r in rows + [head]) for i in range(4)]
    lines = ["| " + " | ".join(h.ljust(w) for h, w in zip(head, widths)) + " |",
             "|" + "|".join("-" * (w + 2) for w in widths) + "|"]
    for r in rows:
        lines.append("| " + " | ".join(c.ljust(w) for c, w in zip(r, widths)) + " |")
    mode = "quick" if a.quick else "full"
    lines.append("")
    lines.append(f"started {started}; mode {mode}, {a.runs} run(s) each (best counts), "
                 f"-m {a.memory}; speedup = qemu time / ours (MB/s, /s: ours / qemu); "
                 "> 1 means we are faster.")
    lines.append("* not in the geometric mean: boot to prompt (measured once, and inside "
                 "boot-off), 7-Zip's own rating (by the guest's clock).")
    if slow:
        lines.append("slowest five: " + ", ".join(f"{r} {s:.2f}x" for s, r in slow[:5]))
    # The guest clock against the host's over the T0-T1 windows: a skewed guest timer
    # would distort the openssl and 7-Zip figures, which use the guest clock.
    for key, side in got.items():
        for what, kinds in (("fixed-work", ("time",)), ("openssl speed", ("Bps", "ops"))):
            g = h = 0.0
            done = set()
            for row, kind, cmd, *_ in sel:
                if kind not in kinds or cmd in done:
                    continue
                done.add(cmd)
                for r in side["results"].get(cmd, []):
                    if r.get("status") == "PASS" and r.get("window_guest_s") is not None:
                        g += r["window_guest_s"]
                        h += r["host_s"]
            if h > 0:
                lines.append(f"{side['label']}: guest clock / host clock over the {what} "
                             f"windows = {g / h:.3f}")
    if "ours" in got:
        got["ours"]["binaries"] = bins
        if bins:
            lines.append("this project: " + "; ".join(bins))
    for key, side in got.items():
        if side["features"]:
            lines.append(f"{side['label']}: {side['features']}")
    table = "\n".join(lines)
    print(table)
    if problems:
        print("\nFAILED:", file=sys.stderr)
        for p in problems:
            print("  " + p, file=sys.stderr)
    with open(os.path.join(a.outdir, "table.md"), "w") as f:
        f.write(table + "\n")
    with open(os.path.join(a.outdir, "results.json"), "w") as f:
        json.dump({"started": started, "mode": mode, "runs": a.runs, "memory": a.memory,
                   "sides": got, "speedups": speedups, "geomean": gm,
                   "problems": problems}, f, indent=1, default=str)
    print(f"\nlogs: {a.outdir}/console-*.log, results.json, table.md", file=sys.stderr)
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
