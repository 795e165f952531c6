#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# vmfsSparse ("COWD") snapshot deltas, as ESXi writes them: a delta is
# made for the sample vmfs_thick.vmdk (whose real delta file is not in
# the samples) from VMware's format description, with grain tables only
# where data was written.  Served through the plugin, the child must read
# exactly as qemu-img decodes it (parent data where the delta has none);
# single-link=true and the bare delta file show only the delta's grains;
# writes land in the delta, copy-on-write, and qemu-img reads them.
source "$srcdir/tests/functions.sh"
set -e
set -x

requires qemu-img --version
cp "$SAMPLES/vmfs_thick.vmdk" "$SAMPLES/vmfs_thick-flat.vmdk" \
   "$SAMPLES/vmfs_thick-000001.vmdk" .

for grain in 1 16; do
  rm -f vmfs_thick-000001-delta.vmdk expected*.raw
  /usr/bin/python3 "$srcdir/tests/make-cowd.py" vmfs_thick-flat.vmdk $grain \
    vmfs_thick-000001-delta.vmdk expected.raw expected-single.raw
  # qemu-img, an independent reader, agrees with the delta's content.
  qemu-img convert -O raw vmfs_thick-000001.vmdk qemu.raw
  cmp qemu.raw expected.raw

  nbdkit -r -U - "$VDDK_PLUGIN" "$PWD/vmfs_thick-000001.vmdk" \
         --run 'nbdcopy "$uri" chain.raw'
  cmp chain.raw expected.raw
  nbdkit -r -U - "$VDDK_PLUGIN" "$PWD/vmfs_thick-000001.vmdk" single-link=true \
         --run 'nbdcopy "$uri" single.raw'
  cmp single.raw expected-single.raw
  nbdkit -r -U - "$VDDK_PLUGIN" "$PWD/vmfs_thick-000001-delta.vmdk" \
         --run 'nbdcopy "$uri" bare.raw'
  cmp bare.raw expected-single.raw
done

# Writes go into a delta of 16-sector grains: whole and partial grains,
# into grains it has and ones it has not (copying the rest of the grain
# from the parent), and into a delta with no grain table yet.  The parent is untouched; qemu-img reads the
# result; the header's freeSector follows the appended data.
parent_sum=$(sha256sum < vmfs_thick-flat.vmdk)
for grains in 40 0; do
  rm -f vmfs_thick-000001-delta.vmdk
  /usr/bin/python3 "$srcdir/tests/make-cowd.py" vmfs_thick-flat.vmdk 16 \
    vmfs_thick-000001-delta.vmdk expected.raw expected-single.raw $grains
  cp expected.raw ref.raw
  nbdkit -U - "$VDDK_PLUGIN" "$PWD/vmfs_thick-000001.vmdk" \
       --run 'nbdsh -u "$uri" -c "
import os
ref = open(\"ref.raw\", \"r+b\")
for off, n in [(0, 512), (8192, 8192), (100000 // 512 * 512, 3072),
               ((2 << 20) - 1024, 1024), (1 << 20, 65536)]:
    data = os.urandom(n)
    h.pwrite(data, off)
    ref.seek(off); ref.write(data)
h.flush()
"'
  [ "$(sha256sum < vmfs_thick-flat.vmdk)" = "$parent_sum" ]
  qemu-img convert -O raw vmfs_thick-000001.vmdk after.raw
  cmp after.raw ref.raw
  nbdkit -r -U - "$VDDK_PLUGIN" "$PWD/vmfs_thick-000001.vmdk" \
       --run 'nbdcopy "$uri" after2.raw'
  cmp after2.raw ref.raw
  /usr/bin/python3 - vmfs_thick-000001-delta.vmdk <<'PY'
import os, struct, sys
f = open(sys.argv[1], "rb")
free, = struct.unpack_from("<I", f.read(2048), 28)
size = os.path.getsize(sys.argv[1]) // 512
print("freeSector", free, "file sectors", size)
assert free == size, "freeSector does not follow the appended grains"
PY
done
