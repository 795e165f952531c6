#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# seSparse snapshot deltas (ESXi 6.5+ on VMFS6), read-only.  A delta over
# the vmfs_thick sample is made from the layout qemu reverse-engineered,
# and qemu-img (an independent reader) must agree with it first.  Then:
# the plugin reads the chain and, with single-link, the delta alone;
# writes are refused; damaged deltas fail with specific messages (also
# through the sanitizer build).
source "$srcdir/tests/functions.sh"
set -e
set -x

requires qemu-img --version
cp "$SAMPLES/vmfs_thick.vmdk" "$SAMPLES/vmfs_thick-flat.vmdk" .
/usr/bin/python3 "$srcdir/tests/make-sesparse.py" vmfs_thick-flat.vmdk \
  snap-sesparse.vmdk expected.raw expected-single.raw
cat > snap.vmdk <<'EOT'
# Disk DescriptorFile
version=1
encoding="UTF-8"
CID=12345678
parentCID=0172e8a4
createType="seSparse"
parentFileNameHint="vmfs_thick.vmdk"

# Extent description
RW 4096 SESPARSE "snap-sesparse.vmdk"

# The Disk Data Base
#DDB

ddb.longContentID = "a0b1c2d3e4f5a6b7c8d9e0f112345678"
EOT
qemu-img convert -O raw snap.vmdk qemu.raw
cmp qemu.raw expected.raw

nbdkit -r -U - "$VDDK_PLUGIN" "$PWD/snap.vmdk" --run 'nbdcopy "$uri" chain.raw'
cmp chain.raw expected.raw
nbdkit -r -U - "$VDDK_PLUGIN" "$PWD/snap.vmdk" single-link=true \
       --run 'nbdcopy "$uri" single.raw'
cmp single.raw expected-single.raw
# Zero and unmapped grains hide the parent: holes that read as zeros.
nbdkit -r -U - "$VDDK_PLUGIN" "$PWD/snap.vmdk" --run 'nbdinfo --map "$uri"' > map
grep -q "hole,zero" map

nbdkit -U - "$VDDK_PLUGIN" "$PWD/snap.vmdk" \
       --run 'nbdsh -u "$uri" -c "
try:
    h.pwrite(b\"x\" * 512, 0)
except nbd.Error:
    pass
else:
    raise SystemExit(\"write to a seSparse delta succeeded\")
"' 2> write.err
grep -q "seSparse delta, which can only be read" write.err

damage ()
{
  cp snap-sesparse.vmdk good.bin
  put_le snap-sesparse.vmdk "$@"
}
restore () { mv good.bin snap-sesparse.vmdk; }

damage 536 8 1                                  # replay_journal in the volatile header
vddk_serve_fails 'journal must be replayed' -r "$PWD/snap.vmdk"
restore
damage 4096 8 $((0x20000000 << 32))             # grain directory entry
vddk_serve_fails 'grain directory entry is invalid' -r "$PWD/snap.vmdk"
restore
gt=$(( $(get_le snap-sesparse.vmdk 144 8) * 512 ))
for i in $(seq 0 4095); do                       # first allocated table entry
  [ "$(get_le snap-sesparse.vmdk $((gt + i * 8)) 8)" -ge $((3 << 60)) ] && break
done
damage $((gt + i * 8)) 8 $((7 << 60))
vddk_serve_fails 'unknown type' -r "$PWD/snap.vmdk"
restore
damage $((gt + i * 8)) 8 $(( (3 << 60) | 0xfffff ))
vddk_serve_fails 'outside the file' -r "$PWD/snap.vmdk"
restore
damage 24 8 16                                  # grain size
vddk_serve_fails 'unsupported seSparse grain size' -r "$PWD/snap.vmdk"
restore
truncate -s 300 snap-sesparse.vmdk
vddk_serve_fails 'truncated' -r "$PWD/snap.vmdk"
