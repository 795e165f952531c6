#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# vdiskmanager -n SOURCE DISK (VMware's order): the descriptor and every
# extent get the new name, the descriptor names the new extent files,
# the content is unchanged, nothing is overwritten, and a disk in use
# is refused.
source "$srcdir/tests/functions.sh"
source "$srcdir/tests/vdiskmanager-functions.sh"
set -e
set -x

for s in monolithicSparse twoGbMaxExtentSparse monolithicFlat \
         twoGbMaxExtentFlat streamOptimized 4; do
  copy_sample $s $s
  vdm -n $s/$s.vmdk $s/renamed.vmdk > out.txt
  grep -q "Renaming completed successfully" out.txt
  # Nothing is left under the old name.
  [ -z "$(ls $s | grep -v '^renamed')" ]
  [ "$(vdm_sha $s/renamed.vmdk)" = $SAMPLE_SHA ]
  vmdk_descriptor $s/renamed.vmdk > desc.txt
  # Every extent line names an existing file called renamed...
  grep -E '^(RW|RDONLY)' desc.txt | grep -o '"[^"]*"' | tr -d '"' |
    while read -r f; do
      [[ $f == renamed* ]]
      [ -e "$s/$f" ]
    done
done
ls twoGbMaxExtentSparse | grep -qx 'renamed-s001.vmdk'
ls monolithicFlat | grep -qx 'renamed-flat.vmdk'
grep -q '"renamed.vmdk"' <(vmdk_descriptor monolithicSparse/renamed.vmdk)

# Into another directory: the extents move with the descriptor.
mkdir elsewhere
vdm -q -n twoGbMaxExtentFlat/renamed.vmdk elsewhere/moved.vmdk
[ -z "$(ls twoGbMaxExtentFlat)" ]
ls elsewhere | sort | tr '\n' ' ' | grep -qx 'moved-f001.vmdk moved.vmdk '
[ "$(raw_sha256 elsewhere/moved.vmdk)" = $SAMPLE_SHA ]

# A split disk with several extents.
vdm -q -c -s 5GB -t 1 big.vmdk
qemu-io -f vmdk -c 'write -P 0x77 4G 1M' big.vmdk
vdm -q -n big.vmdk huge.vmdk
[ "$(ls huge-s00*.vmdk | wc -l)" -eq 3 ]
[ ! -e big.vmdk ] && [ ! -e big-s001.vmdk ]
qemu-io -f vmdk -c 'read -P 0x77 4G 1M' huge.vmdk > read.out
refute grep -qi fail read.out

# Nothing is overwritten: not the descriptor, not an extent.
vdm -q -c -s 1MB -t 2 a.vmdk
vdm -q -c -s 1MB -t 0 b.vmdk
vdm_fails 1 "b.vmdk already exists" -n a.vmdk b.vmdk
echo precious > c-flat.vmdk
vdm_fails 1 "c-flat.vmdk, which already exists" -n a.vmdk c.vmdk
[ "$(cat c-flat.vmdk)" = precious ] && [ ! -e c.vmdk ]
[ -e a.vmdk ] && [ -e a-flat.vmdk ]
vdm_fails 1 "nothere.vmdk" -n nothere.vmdk d.vmdk

# A disk in use is refused.
qemu-io -f vmdk -c 'sleep 3000' a.vmdk &
qpid=$!
cleanup_fn kill $qpid
sleep 1
vdm_fails 1 "a.vmdk.*locked" -n a.vmdk e.vmdk
kill $qpid; wait $qpid || true
[ -e a.vmdk ] && [ ! -e e.vmdk ]
