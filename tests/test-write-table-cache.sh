#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# Writable sparse extents keep a bounded grain-table cache too.  Tables
# changed by writes stay in memory until, with only changed tables left
# to drop, the library syncs the grains and writes every changed table
# back in place; then they can be dropped, and are read again from the
# file when needed.  With a budget of 4 tables (config
# vixDiskLib.grainTableCacheKB = 8, tables of 2 KiB) on a 16 GiB
# monolithicSparse disk (512 tables), writes all over the disk from four
# connections at once make that happen all the time, while reads of
# earlier writes run in between.  Everything written must read back as
# written, both through nbdkit while the disk is open (tables written
# back, dropped and reloaded by the process that wrote them) and, after
# nbdkit exits, through qemu-img (an independent reader), which must
# also find the image clean and zeros everywhere else.  A second server
# reopens the disk and does it again: grains it appends lie past the
# file's size at open, and its reloaded tables must still point at them.
#
# The reference is a sparse raw file of the disk's size (16 GiB apparent,
# only what was written is stored) plus a list of the written ranges;
# writes by different connections in one round never share a sector,
# and reads only look at ranges no one writes in that round, so the
# expected bytes are known although requests race.
source "$srcdir/tests/functions.sh"
set -e
set -x

requires qemu-img --version
requires /usr/bin/python3 -c 'import nbd'

size=$((16 << 30))
qemu-img create -q -f vmdk -o subformat=monolithicSparse "$PWD/disk.vmdk" $size
truncate -s $size ref.raw
echo 'vixDiskLib.grainTableCacheKB = 8' > cache.conf

cat > driver.py <<'PY'
# usage: driver.py URI REF STATE SEED ROUNDS WRITES
# ROUNDS rounds of WRITES writes per connection, four connections, then
# every range ever written (and random other places) read back through
# the same connections, so the disk stays open throughout.
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
PY

# serve N SEED ROUNDS WRITES: a writable nbdkit (-v, log in
# nbdkit-N.log) with the small budget, the driver, then stop nbdkit.
serve ()
{
  rm -f sock
  set +x                        # (the trace would go into the log)
  start_nbdkit -P nbdkit.pid -U "$PWD/sock" -v "$VDDK_PLUGIN" \
    "$PWD/disk.vmdk" config="$PWD/cache.conf" 2> nbdkit-$1.log
  set -x
  # (A writer that keeps reloading the table it needs would hang.)
  timeout -k 5 300 /usr/bin/python3 driver.py \
    "nbd+unix:///?socket=$PWD/sock" ref.raw state.json "$2" "$3" "$4"
  kill_nbdkit nbdkit.pid
  # The write-back path ran, and nbdkit reported no error (not even at
  # its exit, when the disk is flushed and closed).
  local n
  n=$(grep -cF "VixDiskLib: grain table cache full (4 tables): changed tables written back to make room" \
        nbdkit-$1.log) || true
  echo "server $1: changed tables written back $n times"
  [ "$n" -gt 0 ]
  grep -F "VixDiskLib: vixDiskLib.grainTableCacheKB = 8 KiB" nbdkit-$1.log
  grep -F "debug: vddk: unload plugin" nbdkit-$1.log
  if grep -v ': debug: ' nbdkit-$1.log | grep .; then
    echo "FAIL: nbdkit printed the lines above (not debug messages)" >&2
    return 1
  fi
  if grep -Ei 'error|could not|assert|abort' nbdkit-$1.log |
       grep -Ev 'VDDK call: VixDiskLib_InitEx \(.*&error_fn|TLS disabled'; then
    echo "FAIL: errors in nbdkit's log" >&2
    return 1
  fi
}

# check: qemu-img finds the image clean and equal to the reference over
# the whole 16 GiB, and allocates grains only where writes went; every
# grain table equals its redundant copy (qemu-img reads only the
# primary ones; tables written back early must have updated both).
check ()
{
  /usr/bin/python3 - disk.vmdk <<'PY'
import struct, sys
f = open(sys.argv[1], "rb")
h = f.read(512)
flags, = struct.unpack_from("<I", h, 8)
cap, grain = struct.unpack_from("<QQ", h, 12)
ngte, = struct.unpack_from("<I", h, 44)
rgd, gd = struct.unpack_from("<QQ", h, 48)
assert flags & 2 and rgd, "no redundant grain directory"
ngt = -(-cap // (grain * ngte))
def table(sector, n):
    f.seek(sector * 512)
    return struct.unpack("<%dI" % n, f.read(4 * n))
gdir, rdir = table(gd, ngt), table(rgd, ngt)
assert all(gdir) and all(rdir), "a directory entry is 0"
used = 0
for i in range(ngt):
    a = table(gdir[i], ngte)
    assert a == table(rdir[i], ngte), \
        "grain table %d differs from its redundant copy" % i
    used += any(a)
print("%d grain tables in use, all equal to their redundant copies" % used)
PY
  qemu-img check disk.vmdk
  qemu-img compare -f vmdk -F raw disk.vmdk ref.raw
  qemu-img map --output=json disk.vmdk > qmap.json
  /usr/bin/python3 - qmap.json state.json <<'PY'
import json, sys
G = 65536
touched = set()
for o, ln in json.load(open(sys.argv[2]))["ranges"]:
    touched.update(range(o // G, (o + ln - 1) // G + 1))
alloc = set()
for e in json.load(open(sys.argv[1])):
    if e["data"]:
        alloc.update(range(e["start"] // G, (e["start"] + e["length"]) // G))
stray = sorted(alloc - touched)
assert not stray, "grains allocated where nothing was written: %r" % stray[:10]
print("%d grains allocated, all where writes went" % len(alloc))
PY
}

# ---- First server: a new disk.
serve 1 1 6 50
ls -ls disk.vmdk ref.raw
check

# ---- Second server: the same file reopened; overwrites and new grains
# (appended past the size at open), everything read back while open.
size1=$(stat -c %s disk.vmdk)
serve 2 2 4 40
size2=$(stat -c %s disk.vmdk)
echo "disk.vmdk grew from $size1 to $size2 bytes"
[ "$size2" -gt "$size1" ]
check
