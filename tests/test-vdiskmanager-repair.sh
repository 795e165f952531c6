#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# vdiskmanager -R repairs grain tables and directories from their
# redundant copies, in both directions, and never overwrites a good
# copy with a damaged one: on disks holding known data, each kind of
# damage is repaired so that qemu-img compare finds the disk equal to
# the undamaged original and -e finds nothing.  Two plausible copies
# that differ are left alone (exit 3, file unchanged); an entry bad in
# both copies is cleared and the sectors that now read as zeros are
# named.  Monolithic and split sparse; COWD deltas have no copies.
source "$srcdir/tests/functions.sh"
source "$srcdir/tests/vdiskmanager-functions.sh"
source "$srcdir/tests/repair-functions.sh"
set -e
set -x

make_disk d.vmdk 0 100MB

# A primary table entry past the end of the file (the issue's case):
# restored from the redundant table.
copy_disk d.vmdk a
poke a/d.vmdk gt:0:1 $BAD
repaired d.vmdk a/d.vmdk 'grain table 0 entry 1 .*restored from the redundant'

# A primary table entry zeroed: restored too (entries are only ever set).
copy_disk d.vmdk a
poke a/d.vmdk gt:0:5 0
repaired d.vmdk a/d.vmdk 'grain table 0 entry 5 is 0'

# A redundant table entry bad, and another zeroed: restored from the
# primary; with a bad primary entry in the same table, both directions.
copy_disk d.vmdk a
poke a/d.vmdk rgt:0:2 $BAD
poke a/d.vmdk rgt:0:3 0
poke a/d.vmdk gt:0:4 123456789
repaired d.vmdk a/d.vmdk 'redundant copy of grain table 0 differs .*entry 2'
[ "$(peek a/d.vmdk rgt:0:3)" = "$(peek d.vmdk gt:0:3)" ]
[ "$(peek a/d.vmdk gt:0:4)" = "$(peek d.vmdk rgt:0:4)" ]

# A primary directory entry (the issue's case), and one of the second
# table (40 MiB): the table is rebuilt from the redundant one.
for t in 0 1; do
  copy_disk d.vmdk a
  poke a/d.vmdk gd:$t $BAD
  repaired d.vmdk a/d.vmdk "grain directory entry $t points .*rebuilt from the redundant"
done
# A directory entry damaged into a plausible place: another table of
# the same directory, a table of the other one, its own counterpart.
# The tables it shares are not trusted; those with a good copy are
# rebuilt from it, and nothing is written over the shared table.
for dmg in "gd:1 $(peek d.vmdk gd:0)" "gd:0 $(peek d.vmdk rgd:3)" \
           "rgd:2 $(peek d.vmdk gd:2)"; do
  copy_disk d.vmdk a
  poke a/d.vmdk $dmg
  repaired d.vmdk a/d.vmdk 'onto another grain table; rebuilt from'
done
# The redundant directory entry (-R said "cannot be repaired" before),
# and one that lost its table (0).
copy_disk d.vmdk a
poke a/d.vmdk rgd:0 $BAD
poke a/d.vmdk rgd:1 0
repaired d.vmdk a/d.vmdk 'redundant grain directory entry 0 points'
grep -q 'redundant grain directory entry 1 is 0' repair.out
# The library writes to the repaired disk (the copied tables lie after
# the old end of the file) as it does to the original.
cp d.vmdk w-d.vmdk
cp a/d.vmdk w-a.vmdk
for f in w-d.vmdk w-a.vmdk; do
  nbdkit -U - "$VDDK_PLUGIN" "$PWD/$f" \
    --run 'qemu-io -f raw -c "write -P 0x66 20M 2M" -c "write -P 0x77 1M 64k" "$uri"' \
    > /dev/null
done
qemu-img compare w-d.vmdk w-a.vmdk
vdm -q -e w-a.vmdk

# A whole directory lost (the header names a place outside the file):
# rebuilt after the end of the file from the other one.
for which in rgd gd; do
  copy_disk d.vmdk a
  poke a/d.vmdk hdr:$which $BAD
  repaired d.vmdk a/d.vmdk 'grain directory \(sector 2147483392\) lies outside the file.*rebuilt'
done

# Two copies that differ and both name a grain: either may be right.
# Nothing is changed, -R exits 3 and says why.
copy_disk d.vmdk a
poke a/d.vmdk gt:0:1 "$(peek d.vmdk gt:0:7)"
cp a/d.vmdk before.vmdk
vdm_fails 3 'grain table 0 entry 1 is sector [0-9]+ in the primary copy and sector [0-9]+ in the redundant one: either may be right' -R a/d.vmdk
cmp before.vmdk a/d.vmdk
grep -q 'either may be right' fails.out

# Bad in both copies: cleared, and the sectors that now read as zeros
# are named (grain 1: sectors 128-255; table 1: 32-64 MiB).
copy_disk d.vmdk a
poke a/d.vmdk gt:0:1 $BAD
poke a/d.vmdk rgt:0:1 $BAD
poke a/d.vmdk gd:1 $BAD
poke a/d.vmdk rgd:1 0x7ffffff0
vdm -R a/d.vmdk > repair.out
cat repair.out
grep -q 'grain table 0 entry 1 points to sector 2147483392, past the end of the file, with no good copy: cleared, sectors 128-255 of the disk now read as zeros' repair.out
grep -q 'grain directory entry 1 points to sector 2147483392, outside the file, with no good copy: cleared, sectors 65536-131071 of the disk now read as zeros' repair.out
# ... and the closing line does not call that a full success.
grep -q "has been repaired (2 problems fixed), but 2 of them had no good copy: the data there is lost" repair.out
refute grep -q 'successfully repaired' repair.out
vdm -q -e a/d.vmdk
qemu-io -f vmdk -c 'read -P 0 64k 64k' -c 'read -P 0 40M 1M' a/d.vmdk > read.out
refute grep -qi fail read.out
# (the rest is as it was)
cp d.vmdk z.vmdk
qemu-io -f vmdk -c 'write -P 0 64k 64k' -c 'write -z 32M 32M' z.vmdk > /dev/null
qemu-img compare z.vmdk a/d.vmdk

# Split sparse: each extent is repaired alike, and sectors are named in
# the disk's numbering (2100 MiB lies in the second extent).
make_disk s.vmdk 1 3GB
nbdkit -U - "$VDDK_PLUGIN" "$PWD/s.vmdk" \
  --run 'qemu-io -f raw -c "write -P 0x99 2100M 1M" "$uri"' > /dev/null
copy_disk s.vmdk a
poke a/s-s002.vmdk gd:1 $BAD
poke a/s-s001.vmdk rgt:0:3 $BAD
repaired s.vmdk a/s.vmdk 's-s002.vmdk: grain directory entry 1 points .*rebuilt from the redundant'
grep -q 's-s001.vmdk: the redundant copy of grain table 0 differs' repair.out
copy_disk s.vmdk a
poke a/s-s002.vmdk gt:1:336 $BAD
poke a/s-s002.vmdk rgt:1:336 $BAD
vdm -R a/s.vmdk > repair.out
grep -q 's-s002.vmdk: grain table 1 entry 336 .*sectors 4300800-4300927 of the disk now read as zeros' repair.out
vdm -q -e a/s.vmdk

# A COWD (vmfsSparse) delta has no copies: an entry past the end of the
# file is cleared and its sectors named; they read the parent's data.
mkdir cowd
cd cowd
cp "$SAMPLES/vmfs_thick.vmdk" "$SAMPLES/vmfs_thick-flat.vmdk" \
   "$SAMPLES/vmfs_thick-000001.vmdk" .
/usr/bin/python3 "$srcdir/tests/make-cowd.py" vmfs_thick-flat.vmdk 16 \
  vmfs_thick-000001-delta.vmdk expected.raw expected-single.raw
# The first allocated grain of table 0: its entry and its sectors.
read -r at grain < <(/usr/bin/python3 - vmfs_thick-000001-delta.vmdk <<'PY'
import struct, sys
d = open(sys.argv[1], "rb").read()
gd = struct.unpack_from("<I", d, 20)[0]
gt = struct.unpack_from("<I", d, gd * 512)[0]
i = next(i for i in range(4096) if struct.unpack_from("<I", d, gt * 512 + 4 * i)[0])
print(gt * 512 + 4 * i, i)
PY
)
poke_bytes () { printf '\x00\xff\xff\x7f' | dd of="$1" bs=1 seek="$2" conv=notrunc status=none; }
poke_bytes vmfs_thick-000001-delta.vmdk "$at"
vdm -R vmfs_thick-000001.vmdk > repair.out
cat repair.out
grep -q "grain table 0 entry $grain points to sector 2147483392, past the end of the file, with no good copy: cleared, sectors $((grain * 16))-$((grain * 16 + 15)) of the disk now read as the parent's data" repair.out
vdm -q -e vmfs_thick-000001.vmdk
qemu-img convert -O raw vmfs_thick-000001.vmdk after.raw
dd if=vmfs_thick-flat.vmdk of=expected.raw bs=8k skip=$grain seek=$grain count=1 conv=notrunc status=none
cmp after.raw expected.raw
