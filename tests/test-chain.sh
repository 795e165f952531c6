#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# Snapshot chains made by qemu-img (child = monolithicSparse or
# twoGbMaxExtentSparse delta with parentFileNameHint relative to its
# directory; base sparse or flat; then a third link on top):
#  - serving the child shows base data where the child has none and child
#    data where it was written (= qemu-img's decoding of the chain), and
#    nbdinfo --map agrees with qemu-img map;
#  - single-link=true shows only the child's own data (= qemu-img with the
#    backing cut), holes reported as hole (not zero);
#  - NBD writes to the child (copy-on-write of partial grains) are read back
#    by qemu-img, and leave every byte of the base files untouched.
source "$srcdir/tests/functions.sh"
set -e
set -x

requires nbdcopy --version
requires nbdinfo --version
requires /usr/bin/python3 -c 'import nbd'
requires qemu-img --version
requires qemu-io --version

M=$((1 << 20)) G=65536
size=$((8 * M))
make_pattern base.raw $size

for combo in monolithicSparse:monolithicSparse monolithicFlat:twoGbMaxExtentSparse; do
  IFS=: read -r basefmt childfmt <<<"$combo"
  rm -rf imgs; mkdir imgs
  qemu-img convert -f raw -O vmdk -o subformat=$basefmt base.raw imgs/base.vmdk
  # run from the parent directory: the hint "base.vmdk" is relative to the
  # child's directory, not to the current directory
  qemu-img create -f vmdk -o subformat=$childfmt -b base.vmdk -F vmdk imgs/child.vmdk
  vmdk_descriptor imgs/child.vmdk
  qemu-io -f vmdk \
    -c "write -P 0xc1 $M $G" \
    -c "write -P 0xc2 $((3*M + 512)) 1024" \
    -c "write -P 0xc3 $((6*M + 4096)) 4096" \
    -c "write -P 0xc4 $((size - G)) $G" imgs/child.vmdk
  base_sums=$(sha256sum imgs/base*.vmdk)
  child="$PWD/imgs/child.vmdk"

  # whole chain
  qemu_to_raw "$child" chain.raw
  if cmp -s chain.raw base.raw; then echo "child does not differ"; exit 1; fi
  vddk_to_raw nbd.raw -r "$child"
  same_raw nbd.raw chain.raw
  vddk_to_raw nbd.raw "$child"
  same_raw nbd.raw chain.raw
  m1=$(grain_map_vddk "$child")
  holes_read_zero "$m1" chain.raw
  if [ $basefmt = monolithicSparse ]; then
    # (qemu-img map reports every flat extent sector as data, so compare
    # only when the whole chain is sparse)
    m2=$(grain_map_qemu "$child")
    same_map "chain map" "$m1" "$m2"
  fi

  # single link
  qemu_to_raw "$(single_link_name "$child")" single.raw
  vddk_to_raw nbd.raw -r "$child" single-link=true
  same_raw nbd.raw single.raw
  m1=$(grain_map_vddk "$child" single-link=true)
  m2=$(grain_map_qemu "$(single_link_name "$child")")
  same_map "single-link map" "$m1" "$m2"
  # holes of a single link may hide parent data: never reported as "zero"
  /usr/bin/python3 -c '
import json, sys
bad = [e for e in json.load(open("vddkmap.json")) if e["type"] & 2]
if bad: sys.exit("single-link extents with the zero flag: %r" % bad[:5])'

  # writes through NBD to the child
  mv chain.raw ref.raw
  rm -f w.sock
  start_nbdkit -P w.pid -U "$PWD/w.sock" "$VDDK_PLUGIN" "$child"
  nbd_write_mirror "nbd+unix:///?socket=$PWD/w.sock" ref.raw \
    "$((2*M + 1024)):512" "$((M + 512)):512" "$((3*M + G + 512)):2048" \
    "$((4*M - 1024)):4096" "$((5*M)):$G" "$((7*M - 512)):$((2*G))" \
    "$((6*M)):4096:zero"
  kill_nbdkit w.pid
  [ "$(sha256sum imgs/base*.vmdk)" = "$base_sums" ] || { echo "FAIL: base modified"; exit 1; }
  qemu-img check "$child"
  qemu-img compare -f vmdk -F raw "$child" ref.raw
  vddk_to_raw nbd.raw -r "$child"
  same_raw nbd.raw ref.raw
  [ "$(raw_sha256 imgs/base.vmdk)" = "$(sha256sum < base.raw | cut -d' ' -f1)" ]

  # a third link on top
  qemu-img create -f vmdk -b child.vmdk -F vmdk imgs/top.vmdk
  qemu-io -f vmdk -c "write -P 0xd1 $((2*M)) $((3*G))" -c "write -P 0xd2 512 512" imgs/top.vmdk
  top="$PWD/imgs/top.vmdk"
  qemu_to_raw "$top" top.raw
  vddk_to_raw nbd.raw -r "$top"
  same_raw nbd.raw top.raw
  qemu_to_raw "$(single_link_name "$top")" top1.raw
  vddk_to_raw nbd.raw -r "$top" single-link=true
  same_raw nbd.raw top1.raw
  rm -f *.raw.tmp nbd.raw ref.raw top.raw top1.raw single.raw
done
