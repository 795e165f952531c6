#!/bin/bash
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

# Writes: the RW flat part takes them; the RDONLY and ZERO parts refuse.
nbdkit -U - "$VDDK_PLUGIN" "$PWD/vmware.vmdk" --run 'nbdsh -u "$uri" -c "
h.pwrite(b\"\\x55\" * 512, 4096)
assert h.pread(512, 4096) == b\"\\x55\" * 512
for off in (3 << 20, (1 << 20) + 512):
    try:
        h.pwrite(b\"x\" * 512, off)
    except nbd.Error as e:
        print(\"refused as expected:\", e)
    else:
        raise SystemExit(\"write at %d succeeded\" % off)
"' 2> write.err
cat write.err
grep -q "not read-write (RW)" write.err
grep -q "ZERO extent" write.err
cmp -i $((M + 4096)):0 -n 512 "a file.bin" <(head -c 512 /dev/zero | tr '\0' 'U')
