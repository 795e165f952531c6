#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# Block status of disks of 4 GiB and more: runs of hole and of data longer
# than 4 GiB must come back as whole sectors, so that "nbdinfo --map" (whose
# requests are nearly 4 GiB long) walks the disk and agrees with qemu-img
# map.  nbdkit 1.32 cuts an extent longer than 4 GiB to 0xffffffff bytes,
# which libnbd then refuses; the plugin must not report one past the request.
source "$srcdir/tests/functions.sh"
set -e
set -x

requires nbdinfo --version
requires qemu-img --version
requires qemu-io --version

# nbdinfo's own map must succeed (it is the client that fails) and match.
check_map ()
{
  local img=$1 m1 m2
  nbdkit -r -U - "$VDDK_PLUGIN" "$img" --run 'nbdinfo --map "$uri"' > text.map
  cat text.map
  m1=$(grain_map_vddk "$img")
  m2=$(grain_map_qemu "$img")
  same_map "map of $img" "$m1" "$m2"
}

# 6 GiB with data only at 5 GiB: a 5 GiB hole first.
qemu-img create -f vmdk "$PWD/hole.vmdk" 6G
qemu-io -c 'write -P 0x11 5G 1M' "$PWD/hole.vmdk"
check_map "$PWD/hole.vmdk"
grep -E '^ *0 +5368709120 +3 +hole,zero$' text.map

# 8 GiB with 5 GiB of data from 1 GiB on (grains sharing one copy, so the
# test writes 64 KiB, not 5 GiB) and a 2 GiB hole after it.
qemu-img create -f vmdk "$PWD/data.vmdk" 8G
/usr/bin/python3 "$srcdir/tests/make-aliased-grains.py" "$PWD/data.vmdk" \
  $((1 << 30)) $((6 << 30))
qemu-img check "$PWD/data.vmdk"
check_map "$PWD/data.vmdk"
grep -E '^ *1073741824 +5368709120 +0 +data$' text.map

# The same disk read back: shared grains decode the same everywhere.
[ "$(nbdkit -r -U - "$VDDK_PLUGIN" "$PWD/data.vmdk" \
      --run 'nbdsh -u "$uri" -c "print(h.pread(512, (6 << 30) - 512) == h.pread(512, 1 << 30))"')" = True ]

# The man page's recipe for byte-granular clients on a big disk, with the
# noextents filter that keeps nbdkit 1.32's blocksize filter from aborting.
nbdkit -r -U - --filter=blocksize --filter=noextents "$VDDK_PLUGIN" \
  "$PWD/data.vmdk" minblock=512 \
  --run 'nbdinfo --map "$uri" && nbdsh -u "$uri" -c "assert h.pread(3, 1 << 30) == bytes([1, 8, 15])"'
