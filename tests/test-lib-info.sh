#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# GetInfo reports what the descriptors say: capacity, adapter type,
# geometry, uuid, number of links and the parent hint; and the plugin
# shows the same with -D vddk.diskinfo=1.
source "$srcdir/tests/functions.sh"
set -e
set -x

driver="$builddir/tests/vdl-driver"
ddb () { grep -a -m1 "^$2 " "$1" | sed 's/.*= *"\(.*\)"/\1/'; }

for f in vmfs_thick.vmdk monolithicSparse.vmdk; do
  out=$("$driver" info "$SAMPLES/$f")
  echo "$out"
  size=$(qemu-img info --output=json "$SAMPLES/$f" |
         /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["virtual-size"])')
  grep -qx "capacity $((size / 512))" <<<"$out"
  geo="$(ddb "$SAMPLES/$f" ddb.geometry.cylinders)/$(ddb "$SAMPLES/$f" ddb.geometry.heads)/$(ddb "$SAMPLES/$f" ddb.geometry.sectors)"
  grep -qx "geometry $geo" <<<"$out"
  grep -qx "uuid $(ddb "$SAMPLES/$f" ddb.uuid)" <<<"$out"
  grep -qx "links 1" <<<"$out"
  grep -qx "parent -" <<<"$out"
done
# lsilogic = 3, buslogic = 2
grep -qx "adapter 3" <<<"$("$driver" info "$SAMPLES/vmfs_thick.vmdk")"
grep -qx "adapter 2" <<<"$("$driver" info "$SAMPLES/monolithicSparse.vmdk")"

# A two-link chain made by qemu-img.
qemu-img create -q -f vmdk -o adapter_type=ide "$PWD/base.vmdk" 16M
qemu-img create -q -f vmdk -b base.vmdk -F vmdk "$PWD/child.vmdk"
out=$("$driver" info "$PWD/child.vmdk")
echo "$out"
grep -qx "links 2" <<<"$out"
grep -qx "parent base.vmdk" <<<"$out"
grep -qx "capacity 32768" <<<"$out"
grep -qx "adapter 1" <<<"$out"            # from the base's DDB

# The plugin's view of the same.
nbdkit -f -v -U - "$VDDK_PLUGIN" "$PWD/child.vmdk" -D vddk.diskinfo=1 \
       --run 'nbdinfo --size "$uri"' > plugin.out 2>&1
cat plugin.out
grep -q "disk info: capacity: 32768 sectors" plugin.out
grep -q "disk info: num links: 2" plugin.out
grep -q "disk info: parent filename hint: base.vmdk" plugin.out
grep -q "disk info: adapter type: 1" plugin.out
