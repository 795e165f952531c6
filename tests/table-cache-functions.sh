# SPDX-License-Identifier: BSD-3-Clause
# Helpers for the grain-table memory tests (test-sesparse-memory.sh,
# test-split-sparse-memory.sh): disks described by a manifest (JSON:
# capacity, grain, data = [[offset, sha256 of the grain]...], zero =
# [offsets of grains that read as zeros]), as the make-*-big.py
# generators write it.  Source after functions.sh.

# peak_rss PIDFILE: nbdkit's peak resident set size in KiB.
peak_rss ()
{
  awk '/^VmHWM:/ { print $2 }' /proc/"$(cat "$1")"/status
}

# check_map MANIFEST MAP.json: the data extents of the map (nbdinfo
# --map --json) are exactly the 64 KiB chunks (the plugin's map
# granularity, VIXDISKLIB_MIN_CHUNK_SIZE) holding the manifest's data
# grains, and the rest are holes that read as zeros.
check_map ()
{
  /usr/bin/python3 - "$1" "$2" <<'PY'
import json, sys
m = json.load(open(sys.argv[1]))
ext = json.load(open(sys.argv[2]))
chunk = 65536

def merge(iv):
    out = []
    for a, b in sorted(iv):
        if out and out[-1][1] == a:
            out[-1][1] = b
        else:
            out.append([a, b])
    return out

want = merge({(o // chunk * chunk, o // chunk * chunk + chunk)
              for o, _ in m["data"]})
got = merge([(e["offset"], e["offset"] + e["length"]) for e in ext
             if e["type"] == 0])
pos = 0
for e in ext:
    assert e["offset"] == pos, "map not contiguous at %d" % pos
    assert e["type"] in (0, 3), "unexpected extent type %r" % e
    pos += e["length"]
assert pos == m["capacity"], "map covers %d bytes, not %d" % (pos, m["capacity"])
if got != want:
    sys.exit("FAIL: map: %d data extents, expected %d; first differences: %r"
             % (len(got), len(want),
                [x for x in got if x not in want][:5] +
                [x for x in want if x not in got][:5]))
print("map: %d data extents as expected" % len(got))
PY
}

# check_reads URI MANIFEST CONNS: from CONNS connections at once, in
# random order: read every data grain (its sha256 must be the
# manifest's), the zero and unmapped grains and random unallocated ones
# (zeros), then ranges across grain boundaries, not aligned to grains
# (sectors: the plugin's block size), made of the data grains as read
# and checked before, and zeros elsewhere.
check_reads ()
{
  /usr/bin/python3 - "$@" <<'PY'
import hashlib, json, nbd, random, sys, threading
uri, m, conns = sys.argv[1], json.load(open(sys.argv[2])), int(sys.argv[3])
g, cap = m["grain"], m["capacity"]
sums = dict(m["data"])
rnd = random.Random(42)
zero_spots = m["zero"] + [o for o in (rnd.randrange(0, cap, g)
                                      for _ in range(500)) if o not in sums]
got = {}
bad = []

def run(jobs, fn):
    threads = [threading.Thread(target=worker, args=(jobs[k::conns], fn))
               for k in range(conns)]
    for t in threads: t.start()
    for t in threads: t.join()

def worker(jobs, fn):
    try:
        h = nbd.NBD()
        h.connect_uri(uri)
        for j in jobs:
            fn(h, j)
        h.shutdown()
    except Exception as e:
        bad.append(("exception", repr(e)))

def aligned(h, job):
    off, kind = job
    buf = h.pread(g, off)
    if kind == "data":
        got[off] = buf
        if hashlib.sha256(buf).hexdigest() != sums[off]:
            bad.append(("data", off))
    elif any(buf):
        bad.append(("zero", off))

jobs = [(o, "data") for o in sums] + [(o, "zero") for o in zero_spots]
rnd.shuffle(jobs)
run(jobs, aligned)
assert not bad, "wrong data at %r" % bad[:10]
assert len(got) == len(sums)

def expect(off, n):
    out = bytearray()
    pos = off
    while pos < off + n:
        b = pos // g * g
        take = min(off + n, b + g) - pos
        out += (got[b] if b in got else bytes(g))[pos - b:pos - b + take]
        pos += take
    return bytes(out)

def across(h, job):
    off, n = job
    if h.pread(n, off) != expect(off, n):
        bad.append(("range", off, n))

jobs = []
for o in rnd.sample(sorted(sums), min(1000, len(sums))):
    start = max(0, o - 512 * rnd.randrange(1, 24))
    jobs.append((start, min(cap, o + g + 512 * rnd.randrange(1, 24)) - start))
run(jobs, across)
assert not bad, "wrong data at %r" % bad[:10]
print("read %d data grains, %d zero places, %d ranges: all as "
      "expected" % (len(sums), len(zero_spots), len(jobs)))
PY
}

# check_table_peaks LOG: the library (nbdkit -v) logged, at close, the
# most grain tables each bounded cache held at once, and none held more
# than its budget (read-only disks: writers may go over it while only
# changed tables are left).
check_table_peaks ()
{
  local peaks
  peaks=$(grep -oE "grain table cache: at most [0-9]+ tables in memory at once \(budget [0-9]+ of [0-9]+\)" "$1") ||
    { echo "FAIL: no grain table cache statistics in $1" >&2; return 1; }
  echo "$peaks" | sort | uniq -c
  echo "$peaks" | awk '{ if ($6 + 0 > $13 + 0) { print "FAIL: " $0; bad = 1 } }
                       END { exit bad }' >&2
}
