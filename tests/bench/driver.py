#!/usr/bin/env python3
"""CPU benchmark driver: boots target/bench/bench.img under qemu-system-aarch64 (TCG)
and under our launcher, runs the workloads of /bin/bench in each through the serial
console, checks them and prints a comparison table. Run through tests/bench/run.

Both VMs are booted (one after the other), then each workload runs on one VM and then
on the other, run after run, so that slow changes in the host's load weigh on both; the
VM not being measured is stopped (SIGSTOP) meanwhile.
Each workload is timed on the host by wall clock, from writing its command line to the
console until its "@@END <name>" line arrives. openssl speed runs for a fixed time, so
for sha256/aes the figure is the throughput openssl reports (bytes/s, 16 KiB blocks).
"""
import argparse
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

# name, kind ("time": host seconds, lower is better; "rate": bytes/s, higher is
# better), full size, quick size, what it does.
UNITS = {"sh": "{} iterations", "gzip": "{} KiB", "xz": "{} KiB", "7z-a": "{} KiB",
         "7z-b": "2^{}", "sha256": "{} s", "aes": "{} s"}
WORKLOADS = [
    ("sh", "time", 100000, 20000, "busybox ash loop counting to N"),
    ("gzip", "time", 2048, 512, "GNU gzip -9 + gunzip of N KiB, sha256 compared"),
    ("xz", "time", 512, 128, "xz -6 + xz -d of N KiB, sha256 compared"),
    ("7z-a", "time", 1024, 256, "7zz a (LZMA2 -mx5) + t + x of N KiB, sha256 compared"),
    ("7z-b", "time", 30, 27, "7zz b -mmt1 -md18 -mtic=N (fixed work, self-checking)"),
    ("sha256", "rate", 3, 1, "openssl speed sha256, 16 KiB blocks, N s"),
    ("aes", "rate", 3, 1, "openssl speed -evp aes-128-cbc, 16 KiB blocks, N s"),
]
DATA_FULL, DATA_QUICK = 2048, 512
NEEDS_DATA = {"gzip", "xz", "7z-a"}


class Console:
    """A guest on a pipe: reads everything into a buffer, logs it raw."""

    def __init__(self, cmd, log_path):
        self.log = open(log_path, "wb")
        self.log.write(("# " + " ".join(cmd) + "\n").encode())
        self.p = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                  stderr=subprocess.STDOUT, start_new_session=True)
        self.raw = b""
        self.text = ""   # escape sequences and \r removed
        self.eof = False

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
            self.raw += chunk
            self.text = ESC.sub(b"", self.raw).decode(errors="replace").replace("\r", "")

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
    """Pulls the @@ lines of workload `name` out of its console output."""
    res = {"verify": [], "metric": None, "guest_s": None, "status": None, "why": "", "info": []}
    for line in text.split("\n"):
        parts = line.strip().split(" ", 2)
        if len(parts) < 2 or parts[1] != name:
            continue
        rest = parts[2] if len(parts) > 2 else ""
        if parts[0] == "@@V":
            res["verify"].append(rest)
        elif parts[0] == "@@M":
            try:
                res["metric"] = float(rest)
            except ValueError:
                res["why"] = f"unparsable figure {rest!r}"
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

    def __init__(self, key, label, cmd, log_path):
        self.key = key
        self.label = label
        self.out = {"label": label, "cmd": cmd, "boot_s": None, "results": {}, "exit": None,
                    "features": "", "error": ""}
        self.cmd = cmd
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
        host_s = t - sent
        seg = con.text[mark:]
        r = parse_result(name, seg)
        r["host_s"] = host_s
        r["size"] = size
        if r["status"] is None:
            r["status"] = "FAIL"
            r["why"] = "no @@PASS/@@FAIL line"
        if name == "info":
            out["features"] = "; ".join(r["info"])
        out["results"].setdefault(key, []).append(r)
        shown = (f"{r['metric'] / 1e6:.1f} MB/s" if name in ("sha256", "aes") and r["metric"]
                 else f"{host_s:.2f} s")
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


def best(results, kind):
    """Best figure over the passing runs: lowest time or highest rate."""
    ok = [r for r in results if r.get("status") == "PASS"]
    if not ok:
        return None
    if kind == "time":
        return min(r["host_s"] for r in ok)
    vals = [r["metric"] for r in ok if r.get("metric")]
    return max(vals) if vals else None


def fmt(v, kind):
    if v is None:
        return "-"
    if kind == "time":
        return f"{v:.2f} s"
    if kind == "mips":
        return f"{v:.0f} MIPS"
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
    a = ap.parse_args()
    if a.runs < 1:
        ap.error("--runs must be at least 1")
    names = [w[0] for w in WORKLOADS]
    only = [n for n in a.only.split(",") if n] if a.only else names
    for n in only:
        if n not in names:
            ap.error(f"unknown workload {n} (known: {', '.join(names)})")
    sel = [w for w in WORKLOADS if w[0] in only]
    plan = []
    if any(w[0] in NEEDS_DATA for w in sel):
        plan.append(("data", DATA_QUICK if a.quick else DATA_FULL))
    plan += [(w[0], w[3] if a.quick else w[2]) for w in sel]

    os.makedirs(a.outdir, exist_ok=True)
    sides = []
    if a.vm in ("both", "qemu"):
        sides.append(("qemu", "qemu-system-aarch64",
                      ["bash", a.qemu_ref, "--guest", a.image, "-m", a.memory]))
    if a.vm in ("both", "ours"):
        cmd = [a.launcher, "--guest", a.image, "-m", a.memory]
        if a.engine:
            cmd += ["--engine", a.engine]
        sides.append(("ours", "this project", cmd))
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
    got = run_sides([Side(key, label, cmd, os.path.join(a.outdir, f"console-{key}.log"))
                     for key, label, cmd in sides], plan, a.runs, a.timeout, a.boot_timeout)

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
    def side_val(key, name, kind):
        if key not in got:
            return None
        rs = got[key]["results"].get(name, [])
        if kind == "mips":
            vals = [r["metric"] for r in rs if r.get("status") == "PASS" and r.get("metric")]
            return max(vals) if vals else None
        return best(rs, kind)

    def cell(key, name, v, kind):
        """The figure, else why there is none (FAIL, TIMEOUT, NOT RUN...)."""
        if v is not None:
            return fmt(v, kind)
        bad = [r["status"] for r in got.get(key, {}).get("results", {}).get(name, [])
               if r.get("status") != "PASS"]
        return bad[0] if bad else "-"

    rows = []
    speedups = []
    qb = got.get("qemu", {}).get("boot_s")
    ob = got.get("ours", {}).get("boot_s")
    rows.append(("boot to prompt", fmt(qb, "time"), fmt(ob, "time"),
                 f"{qb / ob:.2f}x" if qb and ob else "-"))
    for name, kind, full, quick, _ in sel:
        size = quick if a.quick else full
        qv, ov = side_val("qemu", name, kind), side_val("ours", name, kind)
        sp = None
        if qv and ov:
            sp = qv / ov if kind == "time" else ov / qv
            speedups.append(sp)
        rows.append((f"{name} ({UNITS[name].format(size)})", cell("qemu", name, qv, kind),
                     cell("ours", name, ov, kind),
                     f"{sp:.2f}x" if sp else "-"))
        if name == "7z-b":
            qm, om = side_val("qemu", name, "mips"), side_val("ours", name, "mips")
            rows.append(("7z-b rating, guest clock *", fmt(qm, "mips"), fmt(om, "mips"),
                         f"{om / qm:.2f}x" if qm and om else "-"))
    gm = math.exp(sum(math.log(s) for s in speedups) / len(speedups)) if speedups else None
    rows.append(("geometric mean (workloads)", "", "", f"{gm:.3f}x" if gm else "-"))
    head = ("workload", "qemu-system-aarch64", "this project", "speedup")
    widths = [max(len(r[i]) for r in rows + [head]) for i in range(4)]
    lines = ["| " + " | ".join(h.ljust(w) for h, w in zip(head, widths)) + " |",
             "|" + "|".join("-" * (w + 2) for w in widths) + "|"]
    for r in rows:
        lines.append("| " + " | ".join(c.ljust(w) for c, w in zip(r, widths)) + " |")
    mode = "quick" if a.quick else "full"
    lines.append("")
    lines.append(f"mode {mode}, {a.runs} run(s) each (best counts), -m {a.memory}; speedup = "
                 "qemu time / ours (MB/s: ours / qemu); > 1 means we are faster.")
    if any(w[0] == "7z-b" for w in sel):
        lines.append("* not in the geometric mean: 7-Zip's own rating, measured by the guest's clock.")
    # The guest clock against the host's, over the timed workloads: a skewed guest
    # timer would distort the openssl and 7-Zip figures.
    for key, side in got.items():
        g = h = 0.0
        for name, kind, *_ in sel:
            if kind != "time":
                continue
            for r in side["results"].get(name, []):
                if r.get("status") == "PASS" and r.get("guest_s") is not None:
                    g += r["guest_s"]
                    h += r["host_s"]
        if h > 0:
            lines.append(f"{side['label']}: guest clock / host clock over the timed workloads = {g / h:.3f}")
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
        json.dump({"mode": mode, "runs": a.runs, "memory": a.memory, "sides": got,
                   "speedups": speedups, "geomean": gm, "problems": problems}, f, indent=1,
                  default=str)
    print(f"\nlogs: {a.outdir}/console-*.log, results.json, table.md", file=sys.stderr)
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
