"""Fixed-work Python workload for the benchmark guest (/bin/pybench.py N).

N rounds of five parts, each a kind of code a Python user runs: object-heavy integer
code (a pystone-like record shuffle), floating point (an n-body integration), regular
expressions, JSON encoding and decoding, and string/list/dict work (sorting, joins,
a word count). Each part prints a "check" line whose value depends on every step, so
both VMs must print the same lines; the part's time by the guest clock is printed too
(for information: the driver times the whole run on the host).
"""
import json
import math
import re
import sys
import time


class Record:
    __slots__ = ("next", "discr", "enum", "num", "text")

    def __init__(self, nxt=None, discr=0, enum=0, num=0, text=""):
        self.next, self.discr, self.enum, self.num, self.text = nxt, discr, enum, num, text


def objects(rounds):
    """Pystone-like: records, method calls, small-integer arithmetic, branches."""
    acc = 0
    arr = [0] * 51
    grid = [[0] * 51 for _ in range(51)]
    glob = Record(None, 0, 2, 17, "DHRYSTONE PROGRAM, SOME STRING")
    for i in range(rounds * 20000):
        rec = Record(glob, i & 3, (i * 7) % 5, i % 97, "DHRYSTONE PROGRAM, 2'ND STRING")
        a, b = i % 50 + 1, (i * 3) % 50 + 1
        arr[a] = b
        grid[a][b] += 1
        if rec.enum == 2:
            rec.num = rec.next.num + a
        elif rec.discr == 1:
            rec.num = b * 2 - a
        else:
            rec.num = (a * b) // 3
        acc = (acc * 31 + rec.num + len(rec.text)) & 0xFFFFFFFF
        glob = rec if i % 13 == 0 else glob
    return acc ^ sum(arr) ^ sum(map(sum, grid))


PI = 3.14159265358979323
SOLAR_MASS = 4 * PI * PI
DAYS = 365.24


def nbody(rounds):
    """The n-body benchmark's integration (five bodies), floats only."""
    bodies = [
        [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, SOLAR_MASS],
        [4.84143144246472090e+00, -1.16032004402742839e+00, -1.03622044471123109e-01,
         1.66007664274403694e-03 * DAYS, 7.69901118419740425e-03 * DAYS,
         -6.90460016972063023e-05 * DAYS, 9.54791938424326609e-04 * SOLAR_MASS],
        [8.34336671824457987e+00, 4.12479856412430479e+00, -4.03523417114321381e-01,
         -2.76742510726862411e-03 * DAYS, 4.99852801234917238e-03 * DAYS,
         2.30417297573763929e-05 * DAYS, 2.85885980666130812e-04 * SOLAR_MASS],
        [1.28943695621391310e+01, -1.51111514016986312e+01, -2.23307578892655734e-01,
         2.96460137564761618e-03 * DAYS, 2.37847173959480950e-03 * DAYS,
         -2.96589568540237556e-05 * DAYS, 4.36624404335156298e-05 * SOLAR_MASS],
        [1.53796971148509165e+01, -2.59193146099879641e+01, 1.79258772950371181e-01,
         2.68067772490389322e-03 * DAYS, 1.62824170038242295e-03 * DAYS,
         -9.51592254519715870e-05 * DAYS, 5.15138902046611451e-05 * SOLAR_MASS],
    ]
    pairs = [(bodies[i], bodies[j]) for i in range(5) for j in range(i + 1, 5)]
    dt = 0.01
    for _ in range(rounds * 4000):
        for (b1, b2) in pairs:
            dx, dy, dz = b1[0] - b2[0], b1[1] - b2[1], b1[2] - b2[2]
            d2 = dx * dx + dy * dy + dz * dz
            mag = dt / (d2 * math.sqrt(d2))
            m1, m2 = b1[6] * mag, b2[6] * mag
            b1[3] -= dx * m2
            b1[4] -= dy * m2
            b1[5] -= dz * m2
            b2[3] += dx * m1
            b2[4] += dy * m1
            b2[5] += dz * m1
        for b in bodies:
            b[0] += dt * b[3]
            b[1] += dt * b[4]
            b[2] += dt * b[5]
    e = 0.0
    for i, b in enumerate(bodies):
        e += 0.5 * b[6] * (b[3] * b[3] + b[4] * b[4] + b[5] * b[5])
        for b2 in bodies[i + 1:]:
            dx, dy, dz = b[0] - b2[0], b[1] - b2[1], b[2] - b2[2]
            e -= b[6] * b2[6] / math.sqrt(dx * dx + dy * dy + dz * dz)
    return repr(e)


def text_lines(n):
    words = ["alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta"]
    out = []
    for i in range(n):
        w = words[i % 8]
        out.append(f"{i:06d} {w}@{words[(i * 5) % 8]}.example.org GET /{w}/{i * 37 % 1000}"
                   f"?id={i * 7919 % 100000} HTTP/1.1 {200 + (i % 5) * 100} {i * 13 % 65536}")
    return out


def regex(rounds):
    """Compiles and runs log-parsing regular expressions over generated lines."""
    lines = text_lines(2000)
    acc = 0
    for r in range(rounds * 4):
        pat = re.compile(r"^(\d+) (\w+)@([\w.]+) (GET|POST) (/\w+/(\d+))\?id=(\d+) HTTP/1\.[01] (\d{3}) (\d+)$")
        mail = re.compile(r"[a-z]+@[a-z]+\.example\.(org|com)")
        for line in lines:
            m = pat.match(line)
            if m and m.group(8) != "500":
                acc = (acc + int(m.group(7)) + len(m.group(5)) + r) % 1000003
        blob = "\n".join(lines)
        acc = (acc + len(mail.findall(blob)) + len(re.sub(r"\d+", "#", blob))) % 1000003
    return acc


def jsonpart(rounds):
    """json.dumps / json.loads round trips of a nested document."""
    doc = {"users": [{"id": i, "name": f"user{i}", "tags": ["a", "b", str(i % 7)],
                      "score": i * 1.25, "active": i % 3 == 0,
                      "address": {"street": f"{i} Main St", "zip": f"{10000 + i}"}}
                     for i in range(300)]}
    acc = 0
    for _ in range(rounds * 6):
        s = json.dumps(doc, sort_keys=True)
        back = json.loads(s)
        acc = (acc + len(s) + sum(u["id"] for u in back["users"] if u["active"])) % 1000003
        back["users"][0]["score"] += 1
        doc = back
    return acc


def strings(rounds):
    """Sorting, joins, splitting and a word count."""
    lines = text_lines(3000)
    acc = 0
    for r in range(rounds * 3):
        counts = {}
        for line in lines:
            for w in line.replace("@", " ").replace("/", " ").split():
                counts[w] = counts.get(w, 0) + 1
        top = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:20]
        s = ",".join(f"{k}={v}" for k, v in top)
        rev = sorted(lines, key=lambda l: l[::-1])
        acc = (acc + len(s) + len(rev[r % len(rev)]) + len(counts)) % 1000003
    return acc


def main():
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 1
    for name, fn in (("objects", objects), ("nbody", nbody), ("regex", regex),
                     ("json", jsonpart), ("strings", strings)):
        t = time.monotonic()
        value = fn(rounds)
        print(f"check {name} {value}")
        print(f"time {name} {time.monotonic() - t:.3f} s (guest clock)")


if __name__ == "__main__":
    main()
