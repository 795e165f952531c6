#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# qemu's locks, the other way round (issue 5 §2): while qemu-nbd has a disk
# open, nbdkit vddk must respect qemu's permissions.
#   qemu-nbd read-write: our read-write and read-only opens are refused,
#     with a message naming the file and saying it is open for writing;
#   qemu-nbd -r: our read-only open works (and reads the right data), our
#     read-write open is refused (qemu -r does not share write);
#   qemu-nbd serving one extent file of a split disk as raw: our open of
#     the disk is refused, naming that extent file;
#   qemu-nbd gone: our read-write open works again.
source "$srcdir/tests/functions.sh"
set -e
set -x

requires qemu-img --version
requires qemu-nbd --version
requires nbdinfo --version
requires nbdcopy --version

make_pattern in.raw $((4 << 20))
qemu-img convert -f raw -O vmdk in.raw "$PWD/img.vmdk"
qemu-img convert -f raw -O vmdk -o subformat=twoGbMaxExtentFlat \
  in.raw "$PWD/flat.vmdk"
want=$(sha256sum < in.raw | cut -d' ' -f1)
extent="$PWD/$(vmdk_extents "$PWD/flat.vmdk" | cut -f4 | head -n1)"
[ -f "$extent" ]

# refused REGEX [NBDKIT-OPTS...] IMAGE: nbdkit vddk cannot open IMAGE; its
# error says so, matching REGEX.
refused ()
{
  local regex=$1
  shift
  ECF_FILTER='^nbdkit: .*error' expect_clean_failure "$regex" \
    nbdkit -U - "${@:1:$#-1}" "$VDDK_PLUGIN" "${@: -1}" \
      --run 'nbdinfo --size "$uri"'
}

for img in "$PWD/img.vmdk" "$PWD/flat.vmdk"; do
  # 1. qemu-nbd read-write
  start_qemu_nbd -P q.pid -t -k "$PWD/q.sock" -f vmdk "$img"
  refused "$img is locked: another process has it open for writing" "$img"
  refused "$img is locked: another process has it open for writing" -r "$img"
  kill_nbdkit q.pid

  # 2. qemu-nbd read-only
  start_qemu_nbd -P q.pid -t -r -k "$PWD/q.sock" -f vmdk "$img"
  [ "$(vddk_sha256 -r "$img")" = "$want" ]
  refused "$img is locked: another process has it open for reading" "$img"
  kill_nbdkit q.pid

  # 3. nobody else: both work
  [ "$(vddk_sha256 "$img")" = "$want" ]
  [ "$(vddk_sha256 -r "$img")" = "$want" ]
done

# 4. only an extent file of the split disk is in use
start_qemu_nbd -P q.pid -t -k "$PWD/q.sock" -f raw "$extent"
refused "$extent is locked: another process has it open for writing" \
  "$PWD/flat.vmdk"
kill_nbdkit q.pid
start_qemu_nbd -P q.pid -t -r -k "$PWD/q.sock" -f raw "$extent"
[ "$(vddk_sha256 -r "$PWD/flat.vmdk")" = "$want" ]
refused "$extent is locked: another process has it open for reading" \
  "$PWD/flat.vmdk"
kill_nbdkit q.pid
[ "$(vddk_sha256 "$PWD/flat.vmdk")" = "$want" ]
