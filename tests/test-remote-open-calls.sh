#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# Over a WAN every SOAP call is a round trip, and nbdkit connects and
# opens the disk again for every NBD connection.  So what a connection
# needs of the inventory comes in one RetrievePropertiesEx: the VM
# (name, snapshots, power state), the disks of the VM and of the
# snapshot, and the VM's datastores up to their datacenters.  Opening
# the disk then asks the SOAP API nothing: a whole NBD connection is
# RetrieveServiceContent, Login, RetrievePropertiesEx and Logout.
# Checked in both models, for a VM's disk and a snapshot's, and on
# vCenter with the datastores in a datastore cluster (StoragePod) of a
# datacenter inside a folder.  A server that refuses the one call (a
# fault the bed injects) is asked in separate calls, and the same
# opens still work.
source "$srcdir/tests/functions.sh"
source "$srcdir/tests/remote-functions.sh"
set -e
set -x

requires nbdinfo --version
vcsim_requires
vcsim_build

size=$((4 << 20))

# calls NAME [PARAMS]: open [ds] calls/NAME.vmdk with nbdkit -r, one NBD
# connection; print the SOAP methods it called, one a line.
calls ()
{
  local name=$1; shift
  vcsim_nbdkit -rfv "[$VCSIM_DS] calls/$name.vmdk" "$@" \
    --run 'nbdinfo --size "$uri"' > size.out 2> open.log || {
    cat open.log; return 1; }
  [ "$(cat size.out)" -eq $size ]
  sed -n 's/.*: SOAP \([A-Za-z]*\)$/\1/p' open.log
}

# expect WHAT WANT GOT: the methods called, in order.
expect ()
{
  if [ "$2" != "$3" ]; then
    echo "$0: $model: $1 called:" $3 "; wanted:" $2 >&2
    exit 1
  fi
}

one='RetrieveServiceContent Login RetrievePropertiesEx Logout'
for model in vcenter esx; do
  if [ $model = esx ]; then
    start_vcsim --esx -- -faults "$PWD/faults"
  else
    start_vcsim -- -datacenters 2 -dc-folders 1 -pods -faults "$PWD/faults"
  fi
  : > faults
  vcsim_put_flat in.raw $size "[$VCSIM_DS] calls/flat.vmdk"
  expect "an open" "$one" "$(calls flat | xargs)"
  snap=$(vcsim_snapshot "$VCSIM_VM" before)
  expect "an open of a snapshot's disk" "$one" \
    "$(calls flat snapshot="$snap" | xargs)"

  # The server refuses the one call: the VM alone, then its disks and
  # its datastores.
  echo 'fault:InvalidArgument -1 <path>datastore</path>' > faults
  expect "an open refused the one call" \
    "RetrieveServiceContent Login RetrievePropertiesEx RetrievePropertiesEx RetrievePropertiesEx RetrievePropertiesEx Logout" \
    "$(calls flat | xargs)"
  grep -q 'in one call failed (InvalidArgument); reading the VM alone' open.log
  calls flat snapshot="$snap" > /dev/null
  # ... and still names a snapshot that is not there, and a VM.
  refute calls flat snapshot=snapshot-999999
  grep -q 'snapshot snapshot-999999 is not a snapshot of VM' open.log
  : > faults
  refute calls flat snapshot=snapshot-999999
  grep -q 'snapshot snapshot-999999 is not a snapshot of VM' open.log
  stop_vcsim "$VCSIM_DIR"
done
