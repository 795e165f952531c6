#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# create-size beyond what a create-type can hold is refused at once, with
# the limit in the message and no file left behind (100P used to write
# 25 GiB of grain directories before failing with "invalid capacity"; 1E
# ran out of memory).  At the limit itself the disk is created, is served
# with that size and qemu-img opens it.  Everything here is sparse, so the
# large sizes cost no disk space.
source "$srcdir/tests/functions.sh"
set -e
set -x

requires nbdinfo --version
requires qemu-img --version
requires qemu-io --version
requires /usr/bin/python3 -c 'import nbd'

TiB=$((1 << 40))

# create TYPE SIZE: nbdkit create=true, printing the export size.
create ()
{
  nbdkit -U - "$VDDK_PLUGIN" "$PWD/d-$1.vmdk" create=true create-type=$1 \
    create-size=$2 --run 'nbdinfo --size "$uri"'
}

# too_large TYPE SIZE REGEX: creating fails with a message matching REGEX,
# leaving the directory as it was.  Prints the limit in bytes that the
# message gives.
too_large ()
{
  local out
  out=$(ECF_FILTER='^nbdkit: .*error' expect_clean_failure "$3" \
          nbdkit -U - "$VDDK_PLUGIN" "$PWD/d-$1.vmdk" create=true \
            create-type=$1 create-size=$2 --run 'nbdinfo --size "$uri"') ||
    { echo "$out" >&2; return 1; }
  echo "$out" >&2
  if [ -n "$(ls -A)" ]; then
    ls -la >&2; echo "FAIL: $1 $2 left files behind" >&2; return 1
  fi
  grep -Eo 'at most [^(]*\([0-9]+ bytes\)' <<<"$out" | head -n1 |
    grep -Eo '[0-9]+ bytes' | cut -d' ' -f1
}

# qemu_size FILE: the virtual size qemu-img sees.
qemu_size ()
{
  qemu-img info --output=json "$1" |
    /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["virtual-size"])'
}

mkdir work
cd work

# ---- Sparse formats: grain tables address the extent file in 32-bit
# sectors, so a file holds 2 TiB, metadata and all grains included.
for t in monolithic-sparse stream-optimized vmfs-sparse; do
  for size in 100P 1E 3T; do
    too_large $t $size "too large for a $t disk: at most .* because grain tables hold 32-bit sector numbers" > /dev/null
  done
  limit=$(too_large $t 3T "too large for a $t disk")
  [ "$limit" -lt $((2 * TiB)) ] && [ "$limit" -gt $((2 * TiB - (1 << 30))) ]
  too_large $t $((limit + 512)) "too large for a $t disk" > /dev/null
  [ "$(create $t $limit)" = "$limit" ]
  [ "$(qemu_size d-$t.vmdk)" = "$limit" ]
  # the last sector is usable: written through nbdkit, read by qemu-io
  nbdkit -U - "$VDDK_PLUGIN" "$PWD/d-$t.vmdk" --run "/usr/bin/python3 -c '
import nbd, sys
h = nbd.NBD(); h.connect_uri(sys.argv[1])
h.pwrite(b\"\\x55\" * 512, $limit - 512); h.flush(); h.shutdown()' \"\$uri\""
  qemu-io -r -f vmdk -c "read -P 0x55 $((limit - 512)) 512" \
    -c "read -P 0 $((limit - 4096)) 3584" d-$t.vmdk | tee qio.out
  refute grep -q 'Pattern verification failed' qio.out
  rm -f d-$t* qio.out
done

# A hosted sparse extent at the limit can be written in full: its
# preallocated tables plus every grain end below sector 2^32 - 1.
limit=$(too_large monolithic-sparse 3T "too large")
create monolithic-sparse $limit
eval "$(sparse_header d-monolithic-sparse.vmdk)"
[ "$capacity" -eq $((limit / 512)) ]
grains=$(( (capacity + grain_size - 1) / grain_size ))
[ $((overhead + grains * grain_size)) -le $(( (1 << 32) - 1 )) ]
[ $((overhead + (grains + 1) * grain_size)) -gt $(( (1 << 32) - 1 )) ]
rm -f d-*

# ---- Split formats: at most 999 extent files of 2047 MiB.
per=$((4192256 * 512))
for t in split-sparse split-flat; do
  for size in 100P 1E 3T $((999 * per + 512)); do
    too_large $t $size "too large for a $t disk: at most .*\($((999 * per)) bytes\), because it is split into at most 999 extent files of 2047 MiB" > /dev/null
  done
done
# split-sparse at the limit: 999 sparse extents, cheap to make.
[ "$(create split-sparse $((999 * per)))" = $((999 * per)) ]
[ "$(ls d-split-sparse-s*.vmdk | wc -l)" -eq 999 ]
[ "$(qemu_size d-split-sparse.vmdk)" = $((999 * per)) ]
rm -f d-*

# ---- Flat formats: what the filesystem allows.  Find its largest file.
fs_max=$(/usr/bin/python3 -c '
import os
fd = os.open("probe", os.O_RDWR | os.O_CREAT)
lo, hi = 0, (1 << 63) - 1
while lo < hi:
    m = (lo + hi + 1) // 2
    try:
        os.ftruncate(fd, m); lo = m
    except OSError:
        hi = m - 1
print(lo)')
rm -f probe
echo "largest file on this filesystem: $fs_max bytes"
if [ "$fs_max" -lt $(( (1 << 62) )) ]; then
  over=$(( (fs_max / 512 + 1) * 512 ))
  for t in monolithic-flat vmfs-flat vmfs-thin; do
    for size in $over 1E; do
      too_large $t $size "too large for a $t disk on the filesystem of .*: it allows files of at most .*\($fs_max bytes\)" > /dev/null
    done
  done
  # vmfs-thin (a sparse flat file) right at the filesystem's limit.
  at=$(( fs_max / 512 * 512 ))
  [ "$(create vmfs-thin $at)" = "$at" ]
  [ "$(qemu_size d-vmfs-thin.vmdk)" = "$at" ]
  rm -f d-*
else
  echo "this filesystem allows files of any size: flat limits not checked"
fi
