#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# Random writes into the top link of chains qemu-img made, checked by
# qemu-img decoding the chain: every child format qemu-img can put over
# a base (monolithicSparse, twoGbMaxExtentSparse, streamOptimized), over
# a sparse and a flat base.  Writes of data, of zero bytes and NBD
# zero requests, of any sector-aligned size, inside grains, across them
# and covering them whole; a flush and a reopen half way.  What the
# base shows through where the child has no grain must survive writes
# that cover a grain in part, and zeros over the base's data must be
# kept.  The base files must not change.
source "$srcdir/tests/functions.sh"
set -e
set -x

requires /usr/bin/python3 -c 'import nbd'
requires qemu-img --version

size=$((12 << 20))
seed=${TEST_SEED:-$RANDOM}
echo "seed: $seed (TEST_SEED=$seed to repeat)"
make_pattern base.raw $size

# specs SEED COUNT: COUNT random write specs for nbd_write_mirror.
specs ()
{
  /usr/bin/python3 - "$1" "$2" "$size" <<'PY'
import random, sys
r = random.Random(int(sys.argv[1]))
count, size = int(sys.argv[2]), int(sys.argv[3])
grain = 65536
for _ in range(count):
    shape = r.choice(["in-grain", "across", "whole", "large"])
    if shape == "in-grain":
        n = r.randrange(1, 128) * 512
        off = r.randrange(0, size // grain) * grain + r.randrange(0, (grain - n) // 512 + 1) * 512
    elif shape == "across":
        n = r.randrange(2, 300) * 512
        off = r.randrange(1, size // grain) * grain - r.randrange(1, n // 512) * 512
    elif shape == "whole":
        n = r.randrange(1, 4) * grain
        off = r.randrange(0, size // grain - 3) * grain
    else:
        n = r.randrange(1, 2048) * 512
        off = r.randrange(0, (size - n) // 512 + 1) * 512
    off = max(0, min(off, size - n))
    print("%d:%d:%s" % (off, n, r.choice(["data", "data", "zero", "wzero"])))
PY
}

for combo in monolithicSparse:monolithicSparse monolithicSparse:streamOptimized \
             monolithicFlat:twoGbMaxExtentSparse monolithicFlat:streamOptimized; do
  IFS=: read -r basefmt childfmt <<<"$combo"
  rm -rf imgs; mkdir imgs
  qemu-img convert -f raw -O vmdk -o subformat=$basefmt base.raw imgs/base.vmdk
  qemu-img create -q -f vmdk -o subformat=$childfmt -b base.vmdk -F vmdk \
    imgs/child.vmdk
  sha256sum imgs/base*.vmdk > base.sha
  cp base.raw ref.raw
  for half in 1 2; do
    rm -f w.pid w.sock
    start_nbdkit -P w.pid -U "$PWD/w.sock" "$VDDK_PLUGIN" "$PWD/imgs/child.vmdk"
    mapfile -t ops < <(specs $((seed * 2 + half)) 150)
    nbd_write_mirror "nbd+unix:///?socket=$PWD/w.sock" ref.raw "${ops[@]}" \
      > "writes-$childfmt-$half.log"
    kill_nbdkit w.pid
  done
  qemu-img check imgs/child.vmdk
  qemu-img compare -f vmdk -F raw imgs/child.vmdk ref.raw
  nbdkit -r -U - "$VDDK_PLUGIN" "$PWD/imgs/child.vmdk" \
    --run 'nbdcopy "$uri" nbd.raw'
  same_raw nbd.raw ref.raw
  sha256sum -c base.sha
done
