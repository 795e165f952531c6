#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# nbdkit with the plugin and the library under valgrind: reads, writes
# that allocate grains, flush, extents, stats, a read that fails on a
# corrupt grain, and a disk that fails to open.  Any memory error or
# definite leak in the plugin or library fails the test.
source "$srcdir/tests/functions.sh"
set -e
set -x

requires valgrind --version
vg="valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite"

cp "$SAMPLES/monolithicSparse.vmdk" ms.vmdk
$vg nbdkit -f -U - "$VDDK_PLUGIN" "$PWD/ms.vmdk" -D vddk.stats=1 -D vddk.extents=1 \
  --run 'nbdcopy "$uri" out.raw &&
         nbdsh -u "$uri" -c "h.pwrite(b\"x\" * 6144, (9 << 20) + 512); h.flush()" &&
         nbdinfo --map "$uri" > /dev/null'
qemu-img convert -O raw ms.vmdk ms.raw
cmp -n $((9 << 20)) out.raw ms.raw

# A grain table entry pointing outside the file: the read fails cleanly.
/usr/bin/python3 - ms.vmdk <<'PY'
import struct, sys
f = open(sys.argv[1], "r+b")
gd, = struct.unpack_from("<Q", f.read(512), 56)
f.seek(gd * 512); gt, = struct.unpack("<I", f.read(4))
f.seek(gt * 512); f.write(struct.pack("<I", 0x7fffff00))
PY
rc=0
$vg nbdkit -f -r -U - "$VDDK_PLUGIN" "$PWD/ms.vmdk" \
  --run 'nbdsh -u "$uri" -c "h.pread(512, 0)"' 2> bad.err || rc=$?
cat bad.err
[ $rc -ne 99 ]
grep -q "outside the file" bad.err

# A disk that cannot be opened.
printf 'version=1\ncreateType="vmfs"\nRW 100 VMFS "missing.bin"\n' > bad.vmdk
rc=0
$vg nbdkit -f -r -U - "$VDDK_PLUGIN" "$PWD/bad.vmdk" \
  --run 'nbdinfo "$uri"' 2> open.err || rc=$?
cat open.err
[ $rc -ne 99 ]
grep -q "missing.bin" open.err
