#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# The datastore of a remote disk comes from the VM, never from a name
# looked up across the inventory.  Two datacenters (the second inside a
# folder) each have LocalDS_0 and LocalDS_1; the VM is in the second.  The
# first datacenter holds DIFFERENT files at the very same paths, so a
# wrong datastore reads wrong data, which the content check catches (a
# 404 would too).  Covered: a flat disk (descriptor from the backing, its
# extent "[LocalDS_0] ...-flat.vmdk" by name among the VM's datastores), a
# delta whose parent is "[LocalDS_1] ..." on the VM's other datastore, a
# snapshot's disk;
# again with every datastore inside a StoragePod; in the ESXi model, a
# parent on the host's second datastore; and a parent on a datastore the
# VM does not use fails with a sentence naming it.
source "$srcdir/tests/functions.sh"
source "$srcdir/tests/remote-functions.sh"
set -e
set -x

requires qemu-img --version
requires qemu-io --version
requires nbdcopy --version
vcsim_requires
vcsim_build

M=$((1 << 20))
size=$((4 * M))

# The VM's data (good) and a decoy of the same shape at the same paths in
# the other datacenter (bad).
make_pattern good.raw $size
head -c $size /dev/urandom > bad.raw
for v in good bad; do
  mkdir -p $v
  qemu-img convert -q -f raw -O vmdk -o subformat=monolithicFlat $v.raw $v/flat.vmdk
  qemu-img convert -q -f raw -O vmdk -o subformat=monolithicSparse $v.raw $v/base.vmdk
  qemu-img create -q -f vmdk -b "$PWD/$v/base.vmdk" -F vmdk $v/child.vmdk
  qemu-io -c "write -P 0x5a 1M 64k" $v/child.vmdk > /dev/null
  qemu-img convert -q -f vmdk -O raw $v/child.vmdk $v/child.raw
  vmdk_set_parent_hint $v/child.vmdk "[LocalDS_1] base/base.vmdk"
done
cp good/child.vmdk nowhere.vmdk
vmdk_set_parent_hint nowhere.vmdk "[Nowhere] base/base.vmdk"

# put SET DATASTORE-DIR: the files of good/ or bad/ onto a datastore.
put ()
{
  mkdir -p "$2/dsx" "$2/base"
  cp $1/flat.vmdk $1/flat-flat.vmdk $1/child.vmdk "$2/dsx/"
  cp $1/base.vmdk "$2/base/"
}

serve () # FILE [PARAMS...]
{
  local f=$1
  shift
  rm -f out.raw
  VCSIM_VM=$vm vcsim_nbdkit "$f" "$@" --run 'nbdcopy "$uri" out.raw' \
    2> serve.err || { cat serve.err; return 1; }
}

# check VM-NAME OTHER-DC-VM-NAME: the VM's disks read as its own files.
check ()
{
  local d
  vm=$(vcsim_fixture vms | awk -v n="$1" '$2 == n { print $1 }')
  [ -n "$vm" ]
  for d in LocalDS_0 LocalDS_1; do
    put good "$(vcsim_fixture dsdir $d "$vm")"
    if [ -n "$2" ]; then
      other=$(vcsim_fixture vms | awk -v n="$2" '$2 == n { print $1 }')
      [ "$(vcsim_fixture dsdir $d "$other")" != "$(vcsim_fixture dsdir $d "$vm")" ]
      put bad "$(vcsim_fixture dsdir $d "$other")"
    fi
  done
  vcsim_attach_disk "$vm" "[LocalDS_0] dsx/flat.vmdk" $size
  vcsim_attach_disk "$vm" "[LocalDS_0] dsx/child.vmdk" $size \
    "[LocalDS_1] base/base.vmdk"
  vcsim_vm_disks "$vm" --chain

  serve "[LocalDS_0] dsx/flat.vmdk"
  same_raw out.raw good.raw
  serve "[LocalDS_0] dsx/child.vmdk"
  same_raw out.raw good/child.raw
  # The bad set differs, so equality above is not an accident.
  refute cmp -s good/child.raw bad/child.raw

  # A snapshot's disk: its backing's datastore comes from the snapshot.
  # As ESXi does, the VM's disk then points at a new delta over it.
  snap=$(vcsim_snapshot "$vm" before)
  cp good/child.vmdk "$(vcsim_fixture dsdir LocalDS_0 "$vm")/dsx/flat-000001.vmdk"
  vmdk_set_parent_hint "$(vcsim_fixture dsdir LocalDS_0 "$vm")/dsx/flat-000001.vmdk" \
    flat.vmdk
  vcsim_attach_disk --replace "[LocalDS_0] dsx/flat.vmdk" "$vm" \
    "[LocalDS_0] dsx/flat-000001.vmdk" $size "[LocalDS_0] dsx/flat.vmdk"
  serve "[LocalDS_0] dsx/flat.vmdk" snapshot="$snap"
  same_raw out.raw good.raw

  # A parent on a datastore the VM does not use.
  cp nowhere.vmdk "$(vcsim_fixture dsdir LocalDS_0 "$vm")/dsx/"
  vcsim_attach_disk "$vm" "[LocalDS_0] dsx/nowhere.vmdk" $size
  refute serve "[LocalDS_0] dsx/nowhere.vmdk"
  cat serve.err
  grep -q "Nowhere is not a datastore of VM $vm" serve.err
}

echo "=== vCenter: DC0 and F0/DC1 with the same datastore names"
start_vcsim -- -datacenters 2 -dc-folders 1 -datastores 2
check DC1_H0_VM0 DC0_H0_VM0

echo "=== vCenter: the same, every datastore in a StoragePod"
start_vcsim -- -datacenters 2 -dc-folders 1 -datastores 2 -pods
check DC1_H0_VM0 DC0_H0_VM0

echo "=== ESXi: a parent on the host's other datastore"
start_vcsim --esx -- -datastores 2
check ha-host_VM0 ''
