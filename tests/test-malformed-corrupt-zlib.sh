#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# streamOptimized image with a compressed grain whose zlib data is corrupt
# (an invalid deflate block), and one whose compressed-size field is huge:
# reading that grain fails with an error (decompression/grain), never
# garbage, and nothing crashes.  Other grains still read correctly.
source "$srcdir/tests/functions.sh"
set -e
set -x

requires nbdcopy --version
requires qemu-img --version

requires /usr/bin/python3 -c 'import nbd'
make_pattern in.raw $((4 << 20))
qemu-img convert -f raw -O vmdk -o subformat=streamOptimized in.raw "$PWD/good.vmdk"
eval "$(sparse_header good.vmdk)"
[ "$compress" = 1 ]
gt=$(get_le good.vmdk $((gd_offset * 512)) 4)
g3=$(get_le good.vmdk $((gt * 512 + 3 * 4)) 4)   # grain marker of grain 3
[ "$g3" -gt 1 ]
[ "$(get_le good.vmdk $((g3 * 512)) 8)" = $((3 * grain_size)) ]   # marker LBA
csize=$(get_le good.vmdk $((g3 * 512 + 8)) 4)
[ "$csize" -gt 64 ]

cp good.vmdk badz.vmdk
# keep the 2-byte zlib header, then 0xff bytes: BFINAL=1 BTYPE=11 (invalid)
/usr/bin/python3 -c 'import sys; f=open("badz.vmdk","r+b"); f.seek(int(sys.argv[1])); f.write(b"\xff"*48)' \
  $((g3 * 512 + 12 + 2))
vddk_serve_fails 'zlib|inflate|decompress|compress|grain|corrupt|invalid' -r "$PWD/badz.vmdk"

cp good.vmdk badsize.vmdk
put_le badsize.vmdk $((g3 * 512 + 8)) 4 $((0x7ffffff0))
vddk_serve_fails 'zlib|inflate|decompress|compress|grain|corrupt|invalid|size|past|beyond|end of file|EOF' \
  -r "$PWD/badsize.vmdk"

# Grain 0 is fine in both files (if the image opens at all).
for f in badz badsize; do
  if nbdkit -r -U - "$VDDK_PLUGIN" "$PWD/$f.vmdk" --run 'nbdinfo --size "$uri"'; then
    nbdkit -r -U - "$VDDK_PLUGIN" "$PWD/$f.vmdk" --run '
      nbdsh -u "$uri" -c "
assert h.pread(65536, 0) == open(\"in.raw\", \"rb\").read(65536)
try:
    h.pread(65536, 3 * 65536)
except nbd.Error as e:
    print(\"read of the corrupt grain failed as expected:\", e)
else:
    raise SystemExit(\"read of the corrupt grain succeeded\")
"'
  fi
done
