#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# A powered-on VM's disks (issue 17, section 3), in both models.  The
# bed (scripts/vcsim/vmlock.go, -lock-running) answers HTTP 500 on
# /folder for the files a running VM holds open for writing, as vCenter
# does; the parents below a snapshot stay readable.
#  a) powered on, no snapshot=: a warning that the copy will not be
#     consistent, and the open fails saying the file is locked, probably
#     by the running VM, and what to do;
#  b) powered off: no warning, the copy is right;
#  c) powered on again, after a snapshot (the VM now writes to a delta):
#     snapshot= reads the snapshot's disk without a warning.
source "$srcdir/tests/functions.sh"
source "$srcdir/tests/remote-functions.sh"
set -e
set -x

requires nbdcopy --version
vcsim_requires
vcsim_build

size=$((4 << 20))
qemu-img create -q -f vmdk delta.vmdk 4M

# copy OUT [PARAMS...]
copy ()
{
  local out=$1
  shift
  vcsim_nbdkit -fv "$ds lock/flat.vmdk" "$@" --run "nbdcopy \"\$uri\" $out"
}

for model in vcenter esx; do
  start_vcsim_model $model -- -lock-running
  ds="[$VCSIM_DS]"
  vcsim_put_flat in.raw $size "$ds lock/flat.vmdk"
  vcsim_fixture power "$VCSIM_VM" on

  # a) Running, no snapshot.
  refute copy on-$model.raw 2> on-$model.err
  cat on-$model.err
  grep "warning: VM $VCSIM_VM ($VCSIM_VM_NAME) .* is powered on: .* will not be consistent" on-$model.err
  grep "lock/flat.*is locked, probably by the running VM $VCSIM_VM.*read a snapshot (snapshot=...) or power it off" on-$model.err
  grep -q "vcsim-lock: 500" "$VCSIM_DIR/log"

  # b) Powered off.
  vcsim_fixture power "$VCSIM_VM" off
  copy off-$model.raw 2> off-$model.err || { cat off-$model.err; exit 1; }
  cmp off-$model.raw in.raw
  if grep "powered on" off-$model.err; then exit 1; fi

  # c) Running again, with a snapshot: the VM writes to a delta now, as
  # on ESXi, and the snapshot's disk is the base, which is readable.
  vcsim_fixture power "$VCSIM_VM" on
  snap=$(vcsim_snapshot "$VCSIM_VM" before-copy)
  vcsim_put delta.vmdk "$ds lock/flat-000001.vmdk"
  vcsim_attach_disk --replace "$ds lock/flat.vmdk" "$VCSIM_VM" \
    "$ds lock/flat-000001.vmdk" $size "$ds lock/flat.vmdk"
  copy snap-$model.raw snapshot="$snap" 2> snap-$model.err ||
    { cat snap-$model.err; exit 1; }
  cmp snap-$model.raw in.raw
  if grep "powered on" snap-$model.err; then exit 1; fi

  stop_vcsim "$VCSIM_DIR"
done
