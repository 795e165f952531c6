#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# Demo for "make demo" (run after "make install"): build a small example
# VMDK with a partition table and an ext4 filesystem, serve it with the
# installed plugin exactly as a user would - "nbdkit vddk /abs/disk.vmdk" -
# and read it with real NBD clients.
set -euo pipefail

# Debian's NBD clients need the system python, not a pyenv one.
export PATH="/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:$PATH"

# fd 3 = the terminal's stdout, so that "run CMD > file" still shows CMD
exec 3>&1
say () { printf '\n\033[1m==> %s\033[0m\n' "$*" >&3; }
run ()
{
  local a line='$'
  for a in "$@"; do
    if [[ $a == *[\ \$\"]* ]]; then line+=" '$a'"; else line+=" $a"; fi
  done
  printf '%s\n' "$line" >&3
  "$@"
}

for cmd in nbdkit nbdinfo nbdcopy qemu-img hexdump; do
  command -v $cmd >/dev/null || { echo "demo: $cmd is required (make deps)" >&2; exit 1; }
done

work=$(mktemp -d /tmp/vddk-demo.XXXXXX)
trap 'rm -rf "$work"' EXIT
cd "$work"

say "Installed plugin and library"
nbdkit vddk --dump-plugin | grep -E '^(path|vddk_default_libdir|vddk_library_version|vddk_dll)='
if ! nbdkit vddk --dump-plugin | grep -q '^vddk_library_version='; then
  echo "demo: the VixDiskLib library was not found - did 'make install' run?" >&2
  exit 1
fi

say "Building an example disk: 64 MiB, MBR partition table, ext4 partition"
size=$((64 << 20))
mkdir content
cat > content/hello.txt <<TXT
Hello from inside a VMDK!
This file was read through nbdkit vddk and the open VixDiskLib.
TXT
date -u '+created %Y-%m-%d %H:%M:%S UTC' >> content/hello.txt
truncate -s $size disk.raw
# One Linux (0x83) partition from sector 2048 to the end, bootable flag off.
python3 - disk.raw $size <<'PY'
import struct, sys
path, size = sys.argv[1], int(sys.argv[2])
start, count = 2048, size // 512 - 2048
entry = struct.pack("<B3sB3sII", 0, b"\xfe\xff\xff", 0x83, b"\xfe\xff\xff", start, count)
mbr = bytearray(512)
mbr[440:444] = b"VDDK"                      # disk signature
mbr[446:462] = entry
mbr[510:512] = b"\x55\xaa"
with open(path, "r+b") as f:
    f.write(mbr)
PY
have_fs=0
if command -v mkfs.ext4 >/dev/null; then
  mkfs.ext4 -F -q -L vddk-demo -d content -E offset=$((2048 * 512)) disk.raw \
    $(( (size - 2048 * 512) / 1024 )) && have_fs=1
fi
if [ $have_fs = 0 ]; then
  echo "(mkfs.ext4 not available: writing the text straight into the partition)"
  dd if=content/hello.txt of=disk.raw bs=512 seek=2048 conv=notrunc status=none
fi
run qemu-img convert -f raw -O vmdk -o subformat=monolithicSparse,adapter_type=lsilogic \
  disk.raw "$work/disk.vmdk"
ls -lh disk.vmdk
qemu-img info disk.vmdk | grep -E '^(file format|virtual size|disk size)|create type'
if command -v vdiskmanager >/dev/null; then
  say "What the disk is made of, as the library sees it (vdiskmanager --info)"
  run vdiskmanager --info "$work/disk.vmdk"
fi

say "Serving it with nbdkit vddk and asking nbdinfo what it sees"
run nbdkit -U - vddk "$work/disk.vmdk" --run 'nbdinfo "$uri"' > info.txt
grep -E 'protocol|export-size|uri|block_size|is_read_only|can_(flush|fua|zero|trim)|base:allocation' info.txt || cat info.txt

say "Allocation map (nbdinfo --map), from VixDiskLib_QueryAllocatedBlocks"
run nbdkit -U - vddk "$work/disk.vmdk" --run 'nbdinfo --map "$uri"' > map.txt
head -n 12 map.txt
[ "$(wc -l < map.txt)" -le 12 ] || echo "   ... ($(wc -l < map.txt) extents in all)"
echo "   $(nbdkit -U - -r vddk "$work/disk.vmdk" --run 'nbdinfo --map --totals "$uri"' | tr '\n' ' ')" 

say "Copying the whole disk out with nbdcopy"
run nbdkit -U - vddk "$work/disk.vmdk" --run 'nbdcopy "$uri" copy.raw'
echo "first sector (MBR; partition entry at 0x1be, 55 aa signature at 0x1fe):"
head -c 512 copy.raw | hexdump -C | tail -n 6
if cmp -s copy.raw disk.raw; then
  echo "OK: the $(stat -c %s copy.raw)-byte copy is identical to the original raw disk"
else
  echo "MISMATCH: the copy differs from the original raw disk" >&2
  exit 1
fi

if [ $have_fs = 1 ] && command -v debugfs >/dev/null; then
  say "Reading /hello.txt from the ext4 partition of the copy (debugfs)"
  debugfs -R 'cat /hello.txt' "copy.raw?offset=$((2048 * 512))" 2>/dev/null
fi

say "qemu-img reading the same VMDK through nbdkit"
run nbdkit -U - -r vddk "$work/disk.vmdk" --run 'qemu-img info "$uri"' > qinfo.txt
grep -E 'virtual size|file format' qinfo.txt

say "Demo finished"
