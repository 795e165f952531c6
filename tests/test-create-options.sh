#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# create-adapter-type and create-hwversion end up in the new descriptor:
# ddb.adapterType ide/buslogic/lsilogic and ddb.virtualHWVersion (named
# VDDK versions and plain numbers), with the plugin's defaults
# (scsi-buslogic, workstation5 = 4); the disk has the requested size and
# qemu-img can open it.
source "$srcdir/tests/functions.sh"
set -e
set -x

requires nbdinfo --version
requires qemu-img --version

size=$((3 << 20))
# create-type  params  expected-adapter  expected-hwversion
cases=(
  "monolithic-sparse|                                              |buslogic|4"
  "monolithic-flat  |create-adapter-type=ide                       |ide|4"
  "monolithic-sparse|create-adapter-type=scsi-lsilogic create-hwversion=esx65|lsilogic|13"
  "monolithic-flat  |create-adapter-type=scsi-buslogic create-hwversion=workstation6|buslogic|6"
  "vmfs-flat        |create-adapter-type=scsi-lsilogic create-hwversion=esx4x|lsilogic|7"
  "split-sparse     |create-hwversion=esx60                        |buslogic|11"
  "monolithic-sparse|create-adapter-type=ide create-hwversion=14   |ide|14"
  "monolithic-flat  |create-hwversion=workstation4                 |buslogic|3"
)
failed=
i=0
for c in "${cases[@]}"; do
  IFS='|' read -r type params adapter hw <<<"$c"
  type=$(echo $type)
  i=$((i + 1))
  out="$PWD/opt$i.vmdk"
  # shellcheck disable=SC2086
  got_size=$(nbdkit -U - "$VDDK_PLUGIN" "$out" create=true create-type=$type \
               create-size=$size $params --run 'nbdinfo --size "$uri"')
  [ "$got_size" = "$size" ]
  vmdk_descriptor "$out"
  a=$(ddb_value "$out" ddb.adapterType)
  h=$(ddb_value "$out" ddb.virtualHWVersion)
  echo "$type $params -> adapterType=$a virtualHWVersion=$h"
  [ "$a" = "$adapter" ] || { echo "FAIL: case $i: adapterType '$a' != '$adapter'"; failed=1; }
  [ "$h" = "$hw" ] || { echo "FAIL: case $i: virtualHWVersion '$h' != '$hw'"; failed=1; }
  # qemu-img opens it and sees the same size
  [ "$(qemu-img info --output=json "$out" | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["virtual-size"])')" = "$size" ]
done
[ -z "$failed" ]
