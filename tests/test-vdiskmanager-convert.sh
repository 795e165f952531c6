#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# vdiskmanager -r: every VMware sample (VMware's own files, including
# the vmfs disk qemu cannot open) converted to every type reads back
# with the sample's known checksum; a qemu-made chain is flattened; the
# new disk keeps the source's adapter; nothing is overwritten.
source "$srcdir/tests/functions.sh"
source "$srcdir/tests/vdiskmanager-functions.sh"
set -e
set -x

declare -A created=(
  [0]=monolithicSparse [1]=twoGbMaxExtentSparse [2]=monolithicFlat
  [3]=twoGbMaxExtentFlat [4]=vmfs [5]=streamOptimized [6]=vmfs
)
for s in monolithicSparse twoGbMaxExtentSparse monolithicFlat \
         twoGbMaxExtentFlat streamOptimized 4; do
  copy_sample $s src-$s
  src=src-$s/$s.vmdk
  for t in 0 1 2 3 4 5 6; do
    vdm -q -r $src -t $t out-$s-$t.vmdk
    [ "$(ddb_value out-$s-$t.vmdk createType)" = "${created[$t]}" ]
    [ "$(raw_sha256 out-$s-$t.vmdk)" = $SAMPLE_SHA ]
  done
  qemu-img check out-$s-0.vmdk
  qemu-img check out-$s-5.vmdk
  # Only data is copied: the growable copy is about as large as the data.
  [ "$(data_bytes out-$s-0.vmdk)" -le $((4 << 20)) ]
  # The adapter of the source is kept (VMware's vdiskmanager made these
  # with ide or buslogic).
  [ "$(ddb_value out-$s-0.vmdk ddb.adapterType)" = \
    "$(ddb_value $src ddb.adapterType)" ]
  rm -f out-$s-*
done

# The stream with markers, and the ESXi-made thick disk.
copy_sample streamOptimizedWithMarkers m
vdm -q -r m/streamOptimizedWithMarkers.vmdk -t 0 m0.vmdk
qemu-img compare m/streamOptimizedWithMarkers.vmdk m0.vmdk
copy_sample vmfs_thick e
rm e/vmfs_thick-000001.vmdk
vdm -q -r e/vmfs_thick.vmdk -t 1 e1.vmdk
qemu-img compare e/vmfs_thick.vmdk e1.vmdk

# A chain made by qemu-img: the conversion holds base and child merged.
qemu-img create -q -f vmdk base.vmdk 8M
qemu-io -f vmdk -c 'write -P 0x11 0 2M' -c 'write -P 0x22 4M 1M' base.vmdk
qemu-img create -q -f vmdk -b base.vmdk -F vmdk child.vmdk
qemu-io -f vmdk -c 'write -P 0x33 1M 2M' -c 'write -z 4M 64k' child.vmdk
qemu-img convert -O raw child.vmdk child.raw
for t in 0 2 5; do
  vdm -q -r child.vmdk -t $t flat-$t.vmdk
  qemu-img compare -F raw flat-$t.vmdk child.raw
  [ -z "$(ddb_value flat-$t.vmdk parentFileNameHint)" ]
done

# -a overrides the adapter; progress as JSON lines ends at 100.
vdm --json -r child.vmdk -t 0 -a ide j.vmdk > j.out
cat j.out
[ "$(ddb_value j.vmdk ddb.adapterType)" = ide ]
/usr/bin/python3 - j.out <<'PY'
import json, sys
events = [json.loads(l) for l in open(sys.argv[1])]
pc = [e["percent"] for e in events if e["event"] == "progress"]
assert pc and pc == sorted(pc) and pc[-1] == 100, pc
assert events[-1] == {"event": "done", "operation": "convert",
                      "source": "child.vmdk", "destination": "j.vmdk"}, \
    events[-1]
PY

# Errors: an existing destination is not replaced; a missing source and
# a missing -t are reported.
sha=$(raw_sha256 flat-0.vmdk)
vdm_fails 1 "flat-0.vmdk already exists" -r child.vmdk -t 0 flat-0.vmdk
[ "$(raw_sha256 flat-0.vmdk)" = "$sha" ]
vdm_fails 1 "nothere.vmdk" -r nothere.vmdk -t 0 n.vmdk
vdm_fails 2 "needs the type" -r child.vmdk n.vmdk
[ ! -e n.vmdk ]
