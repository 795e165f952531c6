#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# vdiskmanager -e and -R: good disks and chains pass; each kind of
# damage is found (exit 3, the problem named with its file), -R repairs
# what can be repaired without guessing (then -e and qemu-img check
# pass) and says what is left otherwise.
source "$srcdir/tests/functions.sh"
source "$srcdir/tests/vdiskmanager-functions.sh"
set -e
set -x

# poke FILE OFFSET HEX: overwrite bytes of FILE.
poke () { printf "$(sed 's/../\\x&/g' <<<"$3")" |
            dd of="$1" bs=1 seek="$2" conv=notrunc status=none; }
# gte_offset FILE N: byte offset of the N-th grain table entry of the
# first table of a hosted sparse file.
gte_offset () {
  /usr/bin/python3 - "$1" "$2" <<'PY'
import struct, sys
d = open(sys.argv[1], "rb").read(1 << 20)
gd = struct.unpack_from("<Q", d, 56)[0]
gt = struct.unpack_from("<I", d, gd * 512)[0]
print(gt * 512 + 4 * int(sys.argv[2]))
PY
}
# rgte_offset FILE N: the same in the redundant table.
rgte_offset () {
  /usr/bin/python3 - "$1" "$2" <<'PY'
import struct, sys
d = open(sys.argv[1], "rb").read(1 << 20)
rgd = struct.unpack_from("<Q", d, 48)[0]
gt = struct.unpack_from("<I", d, rgd * 512)[0]
print(gt * 512 + 4 * int(sys.argv[2]))
PY
}

# Good disks: every sample, a chain.
for s in monolithicSparse twoGbMaxExtentSparse monolithicFlat \
         twoGbMaxExtentFlat streamOptimized streamOptimizedWithMarkers 4; do
  copy_sample $s good
done
for d in good/*.vmdk; do
  case $d in *-s001.vmdk|*-f001.vmdk|*-flat.vmdk) continue ;; esac
  vdm -e $d | grep -q 'Disk chain is consistent'
done
vdm -q -c -s 8MB -t 0 base.vmdk
qemu-io -f vmdk -c 'write -P 1 0 1M' base.vmdk
qemu-img create -q -f vmdk -b base.vmdk -F vmdk child.vmdk
vdm -q -e child.vmdk

# A grain table entry past the end of the file.
copy_sample monolithicSparse bad
f=bad/monolithicSparse.vmdk
poke $f "$(gte_offset $f 3)" ffffff00
poke $f "$(rgte_offset $f 3)" ffffff00
vdm_fails 3 "monolithicSparse.vmdk: 1 problem found: .*grain table 0 entry 3 points to sector 16777215, past the end of the file" -e $f
grep -q 'grain table 0 entry 3 points' fails.out
# -R clears it in both tables; the rest of the disk is unchanged.
vdm -R $f > out.txt
cat out.txt
grep -q '(repaired)' out.txt
grep -q 'was corrupted and has been repaired (1 problem fixed), but 1 of them had no good copy' out.txt
vdm -e $f
qemu-img check $f
qemu-img compare $f "$SAMPLES/monolithicSparse.vmdk" && false
# (grain 3, whose entry was cleared, reads as zeros)
qemu-io -f vmdk -c 'read -P 0 192k 64k' $f > read.out
refute grep -qi fail read.out

# The redundant table differs from the primary one.
copy_sample monolithicSparse red
f=red/monolithicSparse.vmdk
poke $f "$(rgte_offset $f 0)" 01020304
vdm_fails 3 "redundant copy of grain table 0 differs" -e $f
vdm -q -R $f
vdm -q -e $f
[ "$(raw_sha256 $f)" = $SAMPLE_SHA ]

# The unclean-shutdown flag.
copy_sample monolithicSparse un
f=un/monolithicSparse.vmdk
poke $f 72 01
vdm_fails 3 "not closed cleanly" -e $f
vdm -q -R $f
[ "$(od -An -tx1 -j72 -N1 $f | tr -d ' ')" = 00 ]
vdm -q -e $f

# Two entries naming one grain: found, not repairable.
copy_sample monolithicSparse dup
f=dup/monolithicSparse.vmdk
off=$(gte_offset $f 0)
v=$(od -An -tx1 -j"$off" -N4 $f | tr -d ' ')
poke $f $((off + 4)) "$v"
poke $f "$(rgte_offset $f 1)" "$v"
vdm_fails 3 "named by more than one table entry" -e $f
vdm_fails 3 "1 problem left that cannot be repaired.*more than one" -R $f

# A flat extent that is too short: extended with zeros.
copy_sample monolithicFlat short
truncate -s 5M short/monolithicFlat-flat.vmdk
vdm_fails 3 "monolithicFlat-flat.vmdk: it has 5242880 bytes" -e short/monolithicFlat.vmdk
vdm -q -R short/monolithicFlat.vmdk
[ "$(stat -c %s short/monolithicFlat-flat.vmdk)" -eq $((10 << 20)) ]
vdm -q -e short/monolithicFlat.vmdk

# A missing extent, a missing parent, a parent changed after the child
# was made: found, and left to the user.
copy_sample twoGbMaxExtentSparse miss
rm miss/twoGbMaxExtentSparse-s001.vmdk
vdm_fails 3 "s001.vmdk: the extent file is missing" -e miss/twoGbMaxExtentSparse.vmdk
vdm_fails 3 "cannot be repaired" -R miss/twoGbMaxExtentSparse.vmdk
qemu-io -f vmdk -c 'write -P 9 2M 1M' base.vmdk      # changes its CID
vdm_fails 3 "its parent ./base.vmdk was modified after it was made" -e child.vmdk
mv base.vmdk gone.vmdk
vdm_fails 3 "its parent ./base.vmdk is missing" -e child.vmdk

# JSON: each problem, then the error.
vdm --json -e child.vmdk > j.out || [ $? -eq 3 ]
/usr/bin/python3 - j.out <<'PY'
import json, sys
ev = [json.loads(l) for l in open(sys.argv[1])]
assert ev[0]["event"] == "check" and "missing" in ev[0]["message"], ev
assert ev[-1]["event"] == "error" and ev[-1]["exit"] == 3, ev
PY

# A disk a writer holds cannot be checked.
qemu-io -f vmdk -c 'sleep 3000' gone.vmdk &
qpid=$!
cleanup_fn kill $qpid
sleep 1
vdm_fails 1 "gone.vmdk.*locked" -e gone.vmdk
kill $qpid; wait $qpid || true
