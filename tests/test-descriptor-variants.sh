#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# Descriptors as real products write them, beyond what qemu-img makes:
# ZERO extents between flat ones, createType vmfsThin, CRLF line ends,
# VirtualBox-style "key=value" without spaces, no heading comments,
# trailing spaces, file names with spaces, an absolute extent path, an
# offset into the extent file, and RDONLY extents.  Each is served by the
# plugin and checked against the bytes the descriptor describes.
source "$srcdir/tests/functions.sh"
set -e
set -x

requires nbdsh --version
M=$((1 << 20))
head -c $((2 * M)) /dev/urandom > "a file.bin"
head -c $((3 * M)) /dev/urandom > b.bin

# expected: a (1 MiB from offset 1 MiB, i.e. sector 2048), 1 MiB of ZERO,
# b (3 MiB), 512 KiB of ZERO.
{ dd if="a file.bin" bs=1M skip=1 count=1 status=none
  head -c $M /dev/zero
  cat b.bin
  head -c $((M / 2)) /dev/zero; } > expected.raw

check ()
{
  local desc=$1
  got=$(nbdkit -r -U - "$VDDK_PLUGIN" "$PWD/$desc" --run 'nbdcopy "$uri" - | sha256sum')
  [ "${got%% *}" = "$(sha256sum < expected.raw | cut -d' ' -f1)" ]
  nbdkit -r -U - "$VDDK_PLUGIN" "$PWD/$desc" --run 'nbdinfo --map "$uri"' > map
  cat map
  # The ZERO extents are holes that read as zeros.
  grep -E "^ +$M +$M +3 +hole,zero" map
  grep -E "^ +$((5 * M)) +$((M / 2)) +3 +hole,zero" map
}

# VMware style, with an RDONLY extent and a vmfsThin createType.
cat > vmware.vmdk <<EOT
# Disk DescriptorFile
version=1
encoding="UTF-8"
CID=fffffffe
parentCID=ffffffff
createType="vmfsThin"

# Extent description
RW 2048 VMFS "a file.bin" 2048
RW 2048 ZERO
RDONLY 6144 FLAT "$PWD/b.bin" 0
RW 1024 ZERO

# The Disk Data Base
#DDB

ddb.adapterType = "lsilogic"
ddb.thinProvisioned = "1"
EOT
check vmware.vmdk

# VirtualBox style: no spaces, no headings, CRLF, trailing spaces.
printf '%s\r\n' 'version=1 ' 'CID=1234abcd' 'parentCID=ffffffff' \
  'createType="monolithicFlat"' 'RW 2048 FLAT "a file.bin" 2048' \
  'RW 2048 ZERO' 'RW 6144 FLAT "b.bin" 0 ' 'RW 1024 ZERO' \
  'ddb.adapterType="ide"' > vbox.vmdk
check vbox.vmdk

# Disks with extents that cannot be written (RDONLY, ZERO) are exported
# read-only even without -r, saying why once, and writes are refused
# with EPERM (nbdkit's answer for read-only exports), never EIO.
ro_check ()
{
  local img=$1 why=$2
  nbdkit -U - "$VDDK_PLUGIN" "$PWD/$img" --run 'nbdinfo "$uri" && nbdsh -u "$uri" -c "
import errno
try:
    h.pwrite(b\"x\" * 512, 4096)
except nbd.Error as e:
    assert e.errno in (\"EPERM\", errno.EPERM), e
else:
    raise SystemExit(\"write succeeded\")
"' > ro.out 2> ro.err
  cat ro.out ro.err
  grep -q "is_read_only: true" ro.out
  grep -q "serving $PWD/$img read-only: .*$why" ro.err
  [ "$(grep -c "read-only" ro.err)" = 1 ]
}
cp "a file.bin" a.orig
ro_check vmware.vmdk "extent 2 (ZERO) is a ZERO extent"
sed -e '/ZERO/d' vmware.vmdk > rdonly.vmdk
ro_check rdonly.vmdk "extent 2 (.*b.bin) is marked RDONLY"
cmp "a file.bin" a.orig

# Without them the same extents take writes.
sed -e 's/^RDONLY/RW/' rdonly.vmdk > rw.vmdk
nbdkit -U - "$VDDK_PLUGIN" "$PWD/rw.vmdk" --run 'nbdsh -u "$uri" -c "
h.pwrite(b\"\\x55\" * 512, 4096)
assert h.pread(512, 4096) == b\"\\x55\" * 512
"'
cmp -i $((M + 4096)):0 -n 512 "a file.bin" <(head -c 512 /dev/zero | tr '\0' 'U')
