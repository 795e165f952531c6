#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# Random writes into every writable format, as VMware's tools, qemu-img
# and this project's create made them, checked by qemu-img decoding the
# result: 300 writes of data, zero bytes and NBD zero requests, inside
# grains, across them, over whole grains and large, with a reopen half
# way (random_writes in functions.sh).  The reference is qemu-img's
# decoding of the disk before the writes (zeros for a new disk), with
# the same writes applied.
source "$srcdir/tests/functions.sh"
set -e
set -x

requires /usr/bin/python3 -c 'import nbd'
requires qemu-img --version

# The VMware-made samples: every extent file of each is copied.
# (streamOptimizedWithMarkers is not here: its descriptor marks its
# extent RDONLY, so it is served read-only.)
for name in monolithicSparse monolithicFlat twoGbMaxExtentSparse \
            twoGbMaxExtentFlat streamOptimized vmfs_thick; do
  rm -rf imgs; mkdir imgs
  cp "$SAMPLES/$name.vmdk" imgs/
  for f in "$SAMPLES/$name"-*.vmdk; do
    [ -e "$f" ] && [[ $f != *-000001* ]] && cp "$f" imgs/
  done
  chmod u+w imgs/*
  qemu-img convert -f vmdk -O raw "imgs/$name.vmdk" ref.raw
  random_writes "imgs/$name.vmdk" ref.raw
done

# qemu-img's own layouts: a stream (directory after the header), and a
# sparse disk with zeroed-grain entries (grain table entry 1).
make_pattern base.raw $((12 << 20))
for opts in subformat=streamOptimized subformat=monolithicSparse,zeroed_grain=on \
            subformat=twoGbMaxExtentFlat; do
  rm -rf imgs; mkdir imgs
  qemu-img convert -f raw -O vmdk -o "$opts" base.raw imgs/q.vmdk
  cp base.raw ref.raw
  random_writes imgs/q.vmdk ref.raw
done

# Disks this project creates, of every type (qemu-img reads them all).
for type in monolithic-sparse split-sparse stream-optimized monolithic-flat \
            split-flat vmfs-flat vmfs-thin vmfs-sparse; do
  rm -rf imgs; mkdir imgs
  nbdkit -U - "$VDDK_PLUGIN" "$PWD/imgs/c.vmdk" create=true create-type=$type \
    create-size=$((12 << 20)) --run 'nbdinfo --size "$uri"'
  rm -f ref.raw; truncate -s $((12 << 20)) ref.raw
  random_writes imgs/c.vmdk ref.raw
done
