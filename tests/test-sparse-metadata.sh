#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# Writes through the plugin keep a hosted sparse extent's metadata right:
# every grain table and its redundant copy hold the same entries, the
# redundant directory points at the copies, and a grain table missing
# from the directory (entry 0) is created on demand in both copies.
source "$srcdir/tests/functions.sh"
set -e
set -x

requires qemu-img --version
size=$((96 << 20))                     # three grain tables of 32 MiB
make_pattern in.raw $size
qemu-img convert -f raw -O vmdk in.raw "$PWD/d.vmdk"

# Drop grain table 2 from both directories: qemu-img then reads its
# 32 MiB as unallocated (zeros).
/usr/bin/python3 - d.vmdk <<'PY'
import struct, sys
f = open(sys.argv[1], "r+b")
h = f.read(512)
rgd, gd = struct.unpack_from("<QQ", h, 48)
for d in (gd, rgd):
    f.seek(d * 512 + 2 * 4)
    f.write(b"\0\0\0\0")
PY
qemu-img convert -O raw d.vmdk ref.raw
cmp -n $((64 << 20)) in.raw ref.raw
[ "$(dd if=ref.raw bs=1M skip=64 count=32 status=none | tr -d '\0' | wc -c)" -eq 0 ]

# Write into all three tables' ranges, including the missing one.
nbd_write_mirror_local ()
{
  nbdkit -U - "$VDDK_PLUGIN" "$PWD/d.vmdk" --run 'nbdsh -u "$uri" -c "
import os
ref = open(\"ref.raw\", \"r+b\")
for off, n in [(4096, 8192), (33 << 20, 70000 // 512 * 512),
               (70 << 20, 65536), ((80 << 20) + 512, 4096),
               ((96 << 20) - 512, 512)]:
    data = os.urandom(n)
    h.pwrite(data, off)
    ref.seek(off); ref.write(data)
h.flush()
"'
}
nbd_write_mirror_local

qemu-img check d.vmdk
qemu-img compare -f vmdk -F raw d.vmdk ref.raw

/usr/bin/python3 - d.vmdk <<'PY'
import struct, sys
f = open(sys.argv[1], "rb")
h = f.read(512)
cap, grain = struct.unpack_from("<QQ", h, 12)
ngte, = struct.unpack_from("<I", h, 44)
rgd, gd = struct.unpack_from("<QQ", h, 48)
ngt = -(-(-(-cap // grain)) // ngte)
def table(sector, n):
    f.seek(sector * 512)
    return struct.unpack("<%dI" % n, f.read(4 * n))
gdir, rdir = table(gd, ngt), table(rgd, ngt)
print("GD", gdir, "RGD", rdir)
assert all(gdir) and all(rdir), "a directory entry is still 0"
assert len(set(gdir) | set(rdir)) == 2 * ngt, "tables shared between copies"
for i in range(ngt):
    a, b = table(gdir[i], ngte), table(rdir[i], ngte)
    assert a == b, "grain table %d differs from its redundant copy" % i
    assert any(a), "grain table %d is empty" % i
print("primary and redundant metadata agree")
PY
