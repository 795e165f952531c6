#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# Memory does not grow with the disk.  Mapping a 4 TiB sparse disk made by
# qemu-img (every grain table preallocated, all of them empty) keeps
# nbdkit's peak RSS under 64 MiB.  Empty grain tables share one read-only
# copy, and tables that have no place in the file are never built; before,
# each of the 131072 tables cost 2 KiB (16 TiB: 1 GiB).  A bound on
# memory, not on time, so it cannot flake.
source "$srcdir/tests/functions.sh"
set -e
set -x

requires nbdinfo --version
requires qemu-img --version

qemu-img create -q -f vmdk "$PWD/big.vmdk" 4T
start_nbdkit -P nbdkit.pid -U "$PWD/sock" -r "$VDDK_PLUGIN" "$PWD/big.vmdk"
nbdinfo --map "nbd+unix:///?socket=$PWD/sock" | tee map
grep -E '^ *0 +4398046511104 +3 +hole,zero$' map
hwm=$(awk '/^VmHWM:/ { print $2 }' /proc/"$(cat nbdkit.pid)"/status)
echo "peak RSS: $hwm KiB"
[ "$hwm" -lt $((64 * 1024)) ]

# A 2 TiB disk whose every grain is allocated (all sharing one copy of
# the data, tests/make-aliased-grains.py): 32768 non-empty tables, 64 MiB.
# Opened read-only, tables beyond a 4 MiB budget are dropped and reloaded
# when needed: the map stays under the bound (it was 134 MiB) ...
kill_nbdkit nbdkit.pid
rm -f big.vmdk
qemu-img create -q -f vmdk "$PWD/full.vmdk" 2T
/usr/bin/python3 "$srcdir/tests/make-aliased-grains.py" "$PWD/full.vmdk" 0 $((2 << 40))
start_nbdkit -P full.pid -U "$PWD/full.sock" -r "$VDDK_PLUGIN" "$PWD/full.vmdk"
uri="nbd+unix:///?socket=$PWD/full.sock"
nbdinfo --map "$uri" | tee map
grep -E '^ *0 +2199023255552 +0 +data$' map
# ... and reads from four connections at once, all over the disk, while
# tables come and go, return the right bytes.
/usr/bin/python3 - "$uri" <<'PY'
import nbd, random, sys, threading
expect = bytes((i * 7 + 1) % 256 for i in range(65536))
bad = []
def reader(seed):
    h = nbd.NBD()
    h.connect_uri(sys.argv[1])
    rnd = random.Random(seed)
    for _ in range(3000):
        off = rnd.randrange(0, 2 << 40, 4096)
        if h.pread(4096, off) != expect[off % 65536:off % 65536 + 4096]:
            bad.append(off)
    h.shutdown()
threads = [threading.Thread(target=reader, args=(i,)) for i in range(4)]
for t in threads: t.start()
for t in threads: t.join()
assert not bad, bad[:10]
PY
hwm=$(awk '/^VmHWM:/ { print $2 }' /proc/"$(cat full.pid)"/status)
echo "peak RSS: $hwm KiB"
[ "$hwm" -lt $((64 * 1024)) ]
