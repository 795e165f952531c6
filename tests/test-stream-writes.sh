#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# Stream-optimized disks stay streams: a reader going front to back (as
# OVF/OVA importers do, tests/stream-walk.py here) finds the whole disk
# before the first end-of-stream marker, and random-access readers
# (qemu-img, libvmdk) agree.
#  - create + parallel nbdcopy + close: a canonical stream, grains in order
#  - a zeroed range larger than the reordering window does not push a
#    late grain out of order
#  - a stream with a parent keeps the parent's data around partial
#    writes and stores zeros written over it
#  - 4 KiB sequential writes cost no more space than qemu-img's stream,
#    and 64 KiB is advertised as the preferred block size
#  - 1000 FUA writes: one end-of-stream marker, at the end
#  - flushes on a 1 TiB disk cost what changed, not the whole metadata
#  - streams qemu-img wrote (directory after the header) are writable
#  - a write that fails for lack of space loses nothing flushed
source "$srcdir/tests/functions.sh"
set -e
set -x

requires nbdcopy --version
requires qemu-img --version
requires /usr/bin/python3 -c 'import nbd'
requires /usr/bin/python3 -c 'import pyvmdk'
requires prlimit --version

walk=("/usr/bin/python3" "$srcdir/tests/stream-walk.py")

# All three readers see the bytes of RAW in IMAGE, and so does the walk.
readers_agree ()
{
  local img=$1 raw=$2
  qemu-img check "$img"
  qemu-img compare -f vmdk -F raw "$img" "$raw"
  libvmdk_to_raw "$img" libvmdk.raw
  same_raw libvmdk.raw "$raw"
  "${walk[@]}" "$img" walked.raw "${@:3}" | tee walk.out
  same_raw walked.raw "$raw"
}

# ---- create with a parallel nbdcopy, then close: canonical.
size=$((48 << 20))
make_pattern in.raw $size
head -c $((4 << 20)) /dev/urandom | dd of=in.raw bs=1M seek=9 conv=notrunc status=none
nbdkit -U - "$VDDK_PLUGIN" "$PWD/c.vmdk" create=true create-size=$size \
  create-type=stream-optimized --run 'nbdcopy --requests=64 in.raw "$uri"'
readers_agree "$PWD/c.vmdk" in.raw --canonical

# ---- a zeroed range larger than the reordering window (32 MiB), sent
# while a grain before it is still missing, as nbdcopy sends holes:
# zeros where nothing was change nothing, so the late grain still goes
# in order.
nbdkit -U - "$VDDK_PLUGIN" "$PWD/hole.vmdk" create=true create-size=80M \
  create-type=stream-optimized --run 'nbdsh -u "$uri" -c "
import os
ref = bytearray(h.get_size())
ref[:8 << 20] = os.urandom(8 << 20)
late = 5 << 16
h.pwrite(bytes(ref[:late]), 0)
h.pwrite(bytes(ref[late + 65536:8 << 20]), late + 65536)
h.zero(64 << 20, 8 << 20)
h.pwrite(bytes(ref[late:late + 65536]), late)
open(\"hole.raw\", \"wb\").write(ref)
"'
readers_agree "$PWD/hole.vmdk" hole.raw --canonical

# ---- a stream with a parent link (qemu-img makes them): the parent
# shows through where the stream has no grain, so a grain written in
# part keeps the parent's other sectors, and zeros over the parent's
# data are stored.
qemu-img create -q -f vmdk base.vmdk 8M
qemu-io -f vmdk -c "write -P 0x55 0 8M" base.vmdk >/dev/null
qemu-img create -q -f vmdk -o subformat=streamOptimized -b base.vmdk -F vmdk \
  child.vmdk
nbdkit -U - "$VDDK_PLUGIN" "$PWD/child.vmdk" --run 'nbdsh -u "$uri" -c "
ref = bytearray(h.pread(h.get_size(), 0))
assert ref == b\"\\x55\" * len(ref)
def w(off, data):
    h.pwrite(data, off)
    ref[off:off + len(data)] = data
w(5 << 16, b\"\\xaa\" * 512)
w(0, bytes(65536))
w(3 << 16, bytes(512))
h.flush()
w(7 << 16, bytes(4096))
assert h.pread(len(ref), 0) == ref
open(\"child.raw\", \"wb\").write(ref)
"'
qemu-img compare -f vmdk -F raw child.vmdk child.raw
nbdkit -r -U - "$VDDK_PLUGIN" "$PWD/child.vmdk" \
  --run 'nbdcopy "$uri" child-nbd.raw'
same_raw child-nbd.raw child.raw

# ---- small sequential writes, one request at a time.
nbdkit -U - "$VDDK_PLUGIN" "$PWD/small.vmdk" create=true create-size=$size \
  create-type=stream-optimized \
  --run 'nbdinfo "$uri" > info.out &&
         nbdcopy --request-size=4096 --requests=1 in.raw "$uri"'
grep -E "block_size_preferred: 65536$" info.out
readers_agree "$PWD/small.vmdk" in.raw --canonical
qemu-img convert -f raw -O vmdk -o subformat=streamOptimized in.raw qemu.vmdk
ours=$(stat -c %s small.vmdk) theirs=$(stat -c %s qemu.vmdk)
echo "4 KiB writes: $ours bytes, qemu-img: $theirs bytes"
[ "$ours" -le $((theirs * 5 / 4)) ]

# ---- 1000 FUA writes of 4 KiB.
nbdkit -U - "$VDDK_PLUGIN" "$PWD/fua.vmdk" create=true create-size=$size \
  create-type=stream-optimized --run 'nbdsh -u "$uri" -c "
import os
ref = bytearray(h.get_size())
for i in range(1000):
    off = (i * 37 % 1000) * 4096
    data = os.urandom(4096)
    h.pwrite(data, off, nbd.CMD_FLAG_FUA)
    ref[off:off + 4096] = data
open(\"fua.raw\", \"wb\").write(ref)
"'
readers_agree "$PWD/fua.vmdk" fua.raw
[ "$(grep -o E walk.out | wc -l)" = 1 ]
grep -q "bytes after end-of-stream: 0 header gdOffset: at end" walk.out

# ---- a 1 TiB stream: ten flushes of one grain each.
nbdkit -U - "$VDDK_PLUGIN" "$PWD/big.vmdk" create=true create-size=1T \
  create-type=stream-optimized --run 'nbdsh -u "$uri" -c "
import os
sizes = []
for i in range(10):
    h.pwrite(os.urandom(65536), (i * 97) << 30)
    h.flush()
    sizes.append(os.path.getsize(\"big.vmdk\"))
growth = max(b - a for a, b in zip(sizes, sizes[1:]))
print(\"largest growth per flush:\", growth)
# one grain, one grain table, the directory (128 KiB), a footer
assert growth < 300 * 1024, sizes
"'
qemu-img check "$PWD/big.vmdk"

# ---- a stream qemu-img wrote: its directory follows the header.
qemu-img convert -f raw -O vmdk -o subformat=streamOptimized in.raw "$PWD/q.vmdk"
cp in.raw q.raw
nbdkit -U - "$VDDK_PLUGIN" "$PWD/q.vmdk" --run 'nbdinfo "$uri" > info.out &&
  nbdsh -u "$uri" -c "
import os
ref = open(\"q.raw\", \"r+b\")
def w(off, data):
    h.pwrite(data, off)
    ref.seek(off); ref.write(data)
w(4096, os.urandom(8192))
w(20 << 20, os.urandom(65536 * 3))
h.flush()
w((30 << 20) + 512, bytes(1024))
w(9 << 20, bytes(65536))
ref.close()
"'
grep "is_read_only: false" info.out
readers_agree "$PWD/q.vmdk" q.raw
grep -q "bytes after end-of-stream: 0 header gdOffset: at end" walk.out

# ---- no room: the file may grow to 1 MiB only (EFBIG, as a full disk
# gives ENOSPC).  What was flushed is kept; every reader still opens it.
nbdkit -U - "$VDDK_PLUGIN" "$PWD/full.vmdk" create=true create-size=$size \
  create-type=stream-optimized --run 'nbdinfo --size "$uri"'
bash -c 'trap "" XFSZ; exec "$@"' -- prlimit --fsize=1048576 \
  nbdkit -P full.pid -U "$PWD/full.sock" "$VDDK_PLUGIN" "$PWD/full.vmdk"
for (( i=0; i<100; i++ )); do [ -s full.pid ] && break; sleep 0.1; done
cleanup_fn kill_nbdkit full.pid
nbdsh -u "nbd+unix:///?socket=$PWD/full.sock" -c "
import os
h.pwrite(os.urandom(262144), 0)
h.flush()
open('full.raw', 'wb').write(h.pread(h.get_size(), 0))
try:
    h.pwrite(os.urandom(2 << 20), 1 << 20)
    h.flush()
except nbd.Error as e:
    print('refused as expected:', e)
else:
    raise SystemExit('2 MiB more fitted in a 1 MiB file')
"
kill_nbdkit full.pid
readers_agree "$PWD/full.vmdk" full.raw
