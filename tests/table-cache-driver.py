#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""Random writes and reads over NBD against a reference raw file, for
the grain-table cache tests (test-write-table-cache.sh,
test-stream-table-cache.sh).

usage: table-cache-driver.py URI REF STATE SEED ROUNDS WRITES

ROUNDS rounds of WRITES writes per connection, four connections, then
every range ever written (and random other places) read back through
the same connections, so the disk stays open throughout.  Writes by
different connections in one round never share a sector, and reads
only look at ranges no one writes in that round, so the expected bytes
are known although requests race.  STATE (JSON) keeps the ranges
written, for the next run on the same disk.
"""
import json, nbd, os, random, sys, threading

uri, ref_path, state_path = sys.argv[1:4]
seed, rounds, nwrites = map(int, sys.argv[4:7])
S, G, T = 512, 65536, 32 << 20          # sector, grain, table coverage
CONNS = 4
rnd = random.Random(seed)
ref = os.open(ref_path, os.O_RDWR)
size = os.fstat(ref).st_size
state = (json.load(open(state_path)) if os.path.exists(state_path)
         else {"ranges": []})
ranges = state["ranges"]                # [off, len] written before
n_before = len(ranges)
errors = []
stats = {"data": 0, "zerobuf": 0, "wzero": 0, "read": 0, "flush": 0}
lock = threading.Lock()


def count():
    """A length in sectors: mostly small, some up to 300 KiB."""
    r = rnd.random()
    if r < 0.4:
        return rnd.randint(1, 16)
    if r < 0.85:
        return rnd.randint(17, 256)
    return rnd.randint(257, 600)


def pick(reserved):
    """A write (kind, off, n) that shares no sector with reserved."""
    for _ in range(1000):
        n = count() * S
        where = rnd.random()
        if where < 0.35:                # anywhere
            off = rnd.randrange(0, (size - n) // S + 1) * S
        elif where < 0.5:               # across a grain boundary
            n = max(n, 2 * S)
            b = rnd.randrange(1, size // G) * G
            off = b - rnd.randrange(1, n // S) * S
        elif where < 0.6:               # across a table boundary
            n = max(n, 2 * S)
            b = rnd.randrange(1, size // T) * T
            off = b - rnd.randrange(1, n // S) * S
        elif where < 0.8 and ranges:    # over an earlier write
            o, ln = rnd.choice(ranges)
            off = o + rnd.randrange(-(n // S) + 1, ln // S) * S
        elif where < 0.9 and reserved:  # next to a write of this round
            o, e = rnd.choice(reserved)
            off = e if rnd.random() < 0.5 else o - n
        elif where < 0.97:              # in the last table
            off = size - rnd.randrange(n // S, T // S) * S
        else:                           # the end of the disk
            off = size - n
        off = max(0, min(off, size - n))
        if all(off + n <= a or b <= off for a, b in reserved):
            break
    else:
        raise SystemExit("could not place a write")
    r = rnd.random()
    kind = "data" if r < 0.8 else "zerobuf" if r < 0.9 else "wzero"
    return kind, off, n


def plan_round(mid_flush):
    reserved = []
    plans = [[] for _ in range(CONNS)]
    for _ in range(nwrites):
        for k in range(CONNS):
            kind, off, n = pick(reserved)
            reserved.append((off, off + n))
            plans[k].append((kind, off, n,
                             rnd.randbytes(n) if kind == "data" else None))
    # Reads of earlier writes no one writes in this round.
    free = [(o, ln) for o, ln in ranges
            if all(o + ln <= a or b <= o for a, b in reserved)]
    for k in range(CONNS):
        for i in range(len(plans[k]), 0, -1):
            if free and rnd.random() < 0.7:
                o, ln = rnd.choice(free)
                plans[k].insert(i, ("read", o, ln, None))
    if mid_flush:
        plans[0].insert(len(plans[0]) // 2, ("flush", 0, 0, None))
    return plans, reserved


def expect(off, n):
    return os.pread(ref, n, off)


def run(plans):
    def worker(h, plan):
        try:
            for kind, off, n, buf in plan:
                if kind == "read":
                    if h.pread(n, off) != expect(off, n):
                        errors.append("read %d+%d differs" % (off, n))
                elif kind == "flush":
                    h.flush()
                else:
                    if kind == "data":
                        h.pwrite(buf, off)
                    elif kind == "zerobuf":
                        buf = bytes(n)
                        h.pwrite(buf, off)
                    else:
                        buf = bytes(n)
                        h.zero(n, off)
                    os.pwrite(ref, buf, off)
                    # Read after write, on the same connection.
                    if h.pread(n, off) != buf:
                        errors.append("%s %d+%d: read back differs"
                                      % (kind, off, n))
                with lock:
                    stats[kind] += 1
        except Exception as e:
            errors.append(repr(e))
    threads = [threading.Thread(target=worker, args=(h, p))
               for h, p in zip(handles, plans)]
    for t in threads: t.start()
    for t in threads: t.join()
    if errors:
        raise SystemExit("FAIL: " + "; ".join(errors[:10]))


handles = []
for _ in range(CONNS):
    h = nbd.NBD()
    h.connect_uri(uri)
    assert h.get_size() == size
    handles.append(h)

for r in range(rounds):
    plans, reserved = plan_round(mid_flush=(r == rounds // 2))
    run(plans)
    ranges += [[a, b - a] for a, b in reserved]
    print("round %d: %r" % (r, stats), flush=True)
handles[0].flush()

# Everything written so far, and random other places, read back in
# random order (tables come and go meanwhile); nothing is written now.
jobs = [("read", o, ln, None) for o, ln in ranges]
jobs += [("read", rnd.randrange(0, size // S) * S, S * rnd.randint(1, 64),
          None) for _ in range(300)]
jobs = [(k, o, min(ln, size - o), b) for k, o, ln, b in jobs]
rnd.shuffle(jobs)
run([jobs[k::CONNS] for k in range(CONNS)])
for h in handles:
    h.flush()
    h.shutdown()
state["ranges"] = ranges
json.dump(state, open(state_path, "w"))
print("wrote %d ranges (%d before), read them all back: %r"
      % (len(ranges) - n_before, n_before, stats))
