#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# Data flushed through NBD survives a crash: after NBD writes (into
# allocated and unallocated grains) and NBD_CMD_FLUSH, nbdkit is killed
# with SIGKILL.  The image must then pass qemu-img check, hold exactly the
# flushed data (qemu-img compare), and still be usable: nbdkit can open it
# read-write again (no stale lock) and serves the same bytes.
source "$srcdir/tests/functions.sh"
set -e
set -x

requires nbdcopy --version
requires /usr/bin/python3 -c 'import nbd'
requires qemu-img --version

size=$((8 << 20))
make_pattern in.raw $size
for fmt in monolithicSparse monolithicFlat twoGbMaxExtentSparse; do
  rm -f img*.vmdk
  qemu-img convert -f raw -O vmdk -o subformat=$fmt in.raw "$PWD/img.vmdk"
  cp in.raw ref.raw
  rm -f c.sock
  start_nbdkit -P c.pid -U "$PWD/c.sock" "$VDDK_PLUGIN" "$PWD/img.vmdk"
  nbd_write_mirror "nbd+unix:///?socket=$PWD/c.sock" ref.raw \
    "512:1024" "$(( (3 << 20) + 4096 )):8192" "$(( (5 << 20) - 512 )):$((65536 + 1024))" \
    "$((size - 4096)):4096"
  # crash: no close, no unlock, no header/descriptor update
  kill -9 "$(cat c.pid)"
  for (( i=0; i<50; i++ )); do kill -0 "$(cat c.pid)" 2>/dev/null || break; sleep 0.1; done
  rm -f c.pid
  ls -la
  qemu-img check "$PWD/img.vmdk"
  qemu-img compare -f vmdk -F raw "$PWD/img.vmdk" ref.raw
  vddk_to_raw nbd.raw "$PWD/img.vmdk"      # read-write open works again
  same_raw nbd.raw ref.raw
  rm -f nbd.raw ref.raw
done
