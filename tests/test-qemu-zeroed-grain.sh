#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# qemu-img monolithicSparse with zeroed_grain=on (version 2, GTE = 1 for
# zeroed grains) and off: grains zeroed with "qemu-io write -z" read as
# zeroes, are not reported as data by nbdinfo --map (like qemu-img map), and
# NBD writes into a zeroed grain (partial) keep the rest of the grain zero.
source "$srcdir/tests/functions.sh"
set -e
set -x

requires nbdcopy --version
requires nbdinfo --version
requires /usr/bin/python3 -c 'import nbd'
requires qemu-img --version
requires qemu-io --version

# count_gte FILE VALUE: number of primary grain table entries equal to VALUE
count_gte ()
{
  /usr/bin/python3 - "$1" "$2" <<'PY'
import struct, sys
d = open(sys.argv[1], "rb").read()
assert d[:4] == b"KDMV"
ver, flags, cap, gs = struct.unpack_from("<IIQQ", d, 4)
ngte, = struct.unpack_from("<I", d, 44)
gdoff, = struct.unpack_from("<Q", d, 56)
ngt = -(-(-(-cap // gs)) // ngte)
n = 0
for i in range(ngt):
    gt, = struct.unpack_from("<I", d, gdoff * 512 + 4 * i)
    for j in range(ngte):
        if struct.unpack_from("<I", d, gt * 512 + 4 * j)[0] == int(sys.argv[2]):
            n += 1
print(n)
PY
}

M=$((1 << 20)) G=65536
size=$((16 * M))
make_pattern in.raw $size
for zg in on off; do
  rm -f img.vmdk
  qemu-img convert -f raw -O vmdk -o zeroed_grain=$zg in.raw "$PWD/img.vmdk"
  qemu-io -f vmdk -c "write -z 0 $((2*G))" -c "write -z $M $G" \
    -c "write -z $((5*M + 512)) 1024" -c "write -z $((8*M)) $((4*G))" "$PWD/img.vmdk"
  n=$(count_gte img.vmdk 1)
  echo "zeroed_grain=$zg: $n zeroed GTEs"
  if [ $zg = on ]; then [ "$n" -ge 7 ]; else [ "$n" -eq 0 ]; fi
  qemu_roundtrip "$PWD/img.vmdk" map $(default_write_specs $size) \
    "$((M + 512)):1024" "$((8*M + G - 1024)):2048" "$((G)):$G"
  qemu-img check "$PWD/img.vmdk"
done
