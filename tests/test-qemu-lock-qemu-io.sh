#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# qemu's locks (issue 5 §2): while nbdkit vddk serves a disk, qemu-io must
# not be able to write it behind our back.  Read-write: a qemu writer is
# refused ("Failed to get ... lock"), every byte we wrote is kept and
# nothing of qemu's lands; only force-share (-U) inspection works.
# Read-only (-r): qemu writers are still refused, but qemu-img info and
# qemu-io -r work without -U.  Done for a monolithic sparse disk and for
# split disks (descriptor + extent files), where each file must be locked:
# qemu-io opening any one of them as raw must be refused too.
source "$srcdir/tests/functions.sh"
set -e
set -x

requires qemu-img --version
requires qemu-io --version
requires nbdsh --version
requires /usr/bin/python3 -c 'import nbd'

qemu-img create -f vmdk "$PWD/sparse.vmdk" 100M
qemu-img create -f vmdk -o subformat=twoGbMaxExtentFlat "$PWD/flat.vmdk" 10M
qemu-img create -f vmdk -o subformat=twoGbMaxExtentSparse "$PWD/split.vmdk" 10M

# disk_files IMAGE: the descriptor and every extent file of IMAGE.
disk_files ()
{
  local name
  echo "$1"
  vmdk_extents "$1" | while IFS=$'\t' read -r _ _ _ name _; do
    [ "$name" = "$(basename "$1")" ] || echo "$(dirname "$1")/$name"
  done
}

# qemu_write_refused IMAGE: qemu-io cannot write IMAGE as vmdk, nor any
# of its files as raw.
qemu_write_refused ()
{
  local f
  expect_failure 'Failed to get .*lock' \
    qemu-io -f vmdk -c 'write -P 0x42 1M 64k' "$1"
  for f in $(disk_files "$1"); do
    expect_failure 'Failed to get .*lock' \
      qemu-io -f raw -c 'write -P 0x42 0 512' "$f"
  done
}

# patterns_ok IMAGE CMD...: qemu-io -r reads IMAGE and every pattern
# check (read -P) succeeds.
patterns_ok ()
{
  local img=$1 out args=() c
  shift
  for c in "$@"; do args+=(-c "$c"); done
  out=$(qemu-io -r -f vmdk "${args[@]}" "$img" 2>&1)
  echo "$out"
  ! grep -q 'verification failed\|error' <<<"$out"
}

for img in sparse flat split; do
  img="$PWD/$img.vmdk"
  disk_files "$img"
  uri="nbd+unix:///?socket=$PWD/rw.sock"
  rm -f rw.sock rw.release rw.ready

  # 1. the reproduction: we write, qemu-io tries to write in between, we
  # write again and flush.
  start_nbdkit -P rw.pid -U "$PWD/rw.sock" "$VDDK_PLUGIN" "$img"
  hold "$uri" rw
  nbdsh -u "$uri" -c 'h.pwrite(b"A" * 65536, 0)'
  qemu_write_refused "$img"
  nbdsh -u "$uri" -c 'h.pwrite(b"C" * 65536, 2 << 20); h.flush()'
  # force-share inspection always works; a plain one would not share
  # write with us, so qemu refuses it as it does for its own writers.
  qemu-img info -U "$img"
  expect_failure 'Failed to get .*lock' qemu-img info "$img"
  touch rw.release
  sleep 0.5
  kill_nbdkit rw.pid
  patterns_ok "$img" 'read -P 0x41 0 64k' 'read -P 0 1M 64k' \
    'read -P 0x43 2M 64k'
  [[ $img == */flat.vmdk ]] || qemu-img check "$img"

  # 2. read-only server: qemu writers refused, qemu readers welcome.
  uri="nbd+unix:///?socket=$PWD/ro.sock"
  rm -f ro.sock ro.release ro.ready
  start_nbdkit -P ro.pid -U "$PWD/ro.sock" -r "$VDDK_PLUGIN" "$img"
  hold "$uri" ro
  qemu_write_refused "$img"
  qemu-img info "$img"
  qemu-img info -U "$img"
  patterns_ok "$img" 'read -P 0x41 0 64k' 'read -P 0 1M 64k'
  nbdsh -u "$uri" -c 'assert h.pread(65536, 2 << 20) == b"C" * 65536'
  touch ro.release
  sleep 0.5
  kill_nbdkit ro.pid

  # 3. nobody left: qemu can write again.
  qemu-io -f vmdk -c 'write -P 0x42 1M 64k' "$img"
  patterns_ok "$img" 'read -P 0x41 0 64k' 'read -P 0x42 1M 64k' \
    'read -P 0x43 2M 64k'
done
