#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# The grain-table budget bounds the tables in memory whatever the
# concurrency.  A thread holds a table only while it looks at it, and a
# held table counts toward the budget: a thread that needs another
# table while every one in memory is held waits for one to be released
# instead of loading past the budget.  Before, tables dropped while any
# reader was inside were only freed once no reader was left, which
# never happened while requests overlapped: with a budget of 4 tables,
# up to 90 were in memory on a busy machine, and test-sesparse-memory.sh
# once peaked at 15 MiB instead of 8.
#
# Counted, not measured through RSS: at close the library logs (debug)
# how many tables it held at most at once.  An 8 GiB seSparse delta
# with data in each of its 512 tables (32 KiB each) and a budget of 2
# tables (vixDiskLib.grainTableCacheKB = 64) is read from eight
# connections, each with 32 requests in flight on distinct tables, in
# several rounds; every grain must read as in the generator's manifest,
# and the library must report at most 2 tables at once.
source "$srcdir/tests/functions.sh"
set -e
set -x

requires /usr/bin/python3 -c 'import nbd'

/usr/bin/python3 "$srcdir/tests/make-sesparse-big.py" --sectors $((16 << 20)) \
  --directory data --every 1 --grains 2 --seed 5 "$PWD" disk
echo 'vixDiskLib.grainTableCacheKB = 64' > cache.conf

rm -f sock
set +x                          # (the trace would go into the log)
start_nbdkit -P nbdkit.pid -U "$PWD/sock" -t 64 -v -r "$VDDK_PLUGIN" \
  "$PWD/disk.vmdk" config="$PWD/cache.conf" 2> nbdkit.log
set -x

timeout -k 5 300 /usr/bin/python3 - "nbd+unix:///?socket=$PWD/sock" \
  disk.json <<'PY'
import hashlib, json, nbd, random, sys, threading
uri, m = sys.argv[1], json.load(open(sys.argv[2]))
g, data = m["grain"], dict(m["data"])
table = 4096 * g                # bytes covered by one seSparse table
by_table = {}
for off in data:
    by_table.setdefault(off // table, []).append(off)
tables = sorted(by_table)
assert len(tables) == 512, len(tables)
bad, done = [], [0]
lock = threading.Lock()

def conn(k):
    rnd = random.Random(k)
    h = nbd.NBD()
    h.connect_uri(uri)
    for _ in range(4):
        # 32 requests in flight, each in a table of its own.
        for t in rnd.sample(tables, 32):
            off = rnd.choice(by_table[t])
            buf = nbd.Buffer(g)
            def check(err, off=off, buf=buf):
                ok = hashlib.sha256(buf.to_bytearray()).hexdigest() == data[off]
                with lock:
                    done[0] += 1
                    if not ok:
                        bad.append(off)
                return 0
            h.aio_pread(buf, off, completion=lambda e, c=check: c(e))
        while h.aio_in_flight() > 0:
            h.poll(-1)
    h.shutdown()

threads = [threading.Thread(target=conn, args=(k,)) for k in range(8)]
for t in threads: t.start()
for t in threads: t.join()
assert done[0] == 8 * 4 * 32, "only %d requests completed" % done[0]
assert not bad, "wrong data at %r" % bad[:10]
print("%d reads in distinct tables, all as in the manifest" % done[0])
PY

kill_nbdkit nbdkit.pid
grep -F "VixDiskLib: vixDiskLib.grainTableCacheKB = 64 KiB" nbdkit.log
# Read-only, the connections share one open disk: one cache.
grep -E "grain table cache: at most [0-9]+ tables in memory at once" \
  nbdkit.log > peaks
cat peaks
[ -s peaks ]
if grep -vE "at most [0-2] tables in memory at once \(budget 2 of 512\)" peaks
then
  echo "FAIL: more grain tables in memory than the budget of 2" >&2
  exit 1
fi
if grep -v ': debug: ' nbdkit.log | grep .; then
  echo "FAIL: nbdkit printed the lines above (not debug messages)" >&2
  exit 1
fi
