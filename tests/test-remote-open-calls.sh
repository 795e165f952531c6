#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# Over a WAN every SOAP call is a round trip, and nbdkit connects and
# opens the disk again for every NBD connection.  So what a connection
# needs of the inventory comes in one RetrievePropertiesEx: the VM
# (name, snapshots, power state), the disks of the VM and of the
# snapshot, and the VM's datastores up to their datacenters.  Opening
# the disk then asks the SOAP API nothing: a whole NBD connection is
# RetrieveServiceContent, Login, RetrievePropertiesEx (and Logout).  And
# each file opened is one GET of its first 16 KiB, whose Content-Range
# gives the size (no HEAD): a flat disk is two GETs, a small sparse one
# a single GET (header, descriptor and tables are in it), and a
# descriptor takes no share of the read-ahead memory.  A disk attached
# after the connect read the VM is still found (read again on a miss).
# Checked in both models, for a VM's disk and a snapshot's, and on
# vCenter with the datastores in a datastore cluster (StoragePod) of a
# datacenter inside a folder.  A server that refuses the one call (a
# fault the bed injects) is asked in separate calls, one that answers
# 416 to the first GET is asked with HEAD, and one that ignores Range
# gives the size by Content-Length and then a clear error, not other
# bytes, for a read past the first 16 KiB.
source "$srcdir/tests/functions.sh"
source "$srcdir/tests/remote-functions.sh"
set -e
set -x

requires nbdinfo --version
requires nbdcopy --version
vcsim_requires
vcsim_build

size=$((4 << 20))

# calls NAME [PARAMS]: open [ds] calls/NAME.vmdk with nbdkit -r, one NBD
# connection; print the SOAP methods it called, one a line, and write
# its /folder requests ("GET", "HEAD") to folder.out.  Logout is left
# out: nbdkit 1.32 may unload the plugin once the --run command exits
# without closing the connection first (so without its Logout).
calls ()
{
  local name=$1; shift
  : > requests
  vcsim_nbdkit -rfv "[$VCSIM_DS] calls/$name.vmdk" "$@" \
    --run 'nbdinfo --size "$uri"' > size.out 2> open.log || {
    cat open.log >&2; return 1; }
  [ "$(cat size.out)" -eq $size ]
  awk '$2 ~ /^\/folder\// { print $1 }' requests | xargs > folder.out
  sed -n 's/.*: SOAP \([A-Za-z]*\)$/\1/p' open.log | grep -vx Logout
}

# expect WHAT WANT GOT: the methods called, in order.
expect ()
{
  if [ "$2" != "$3" ]; then
    echo "$0: $model: $1 called:" $3 "; wanted:" $2 >&2
    exit 1
  fi
}

head -c $((1 << 20)) /dev/urandom > sparse.raw
truncate -s $size sparse.raw
qemu-img convert -f raw -O vmdk -o subformat=monolithicSparse sparse.raw \
  sparse.vmdk

one='RetrieveServiceContent Login RetrievePropertiesEx'
for model in vcenter esx; do
  bed=(-faults "$PWD/faults" -record-headers "$PWD/requests")
  if [ $model = esx ]; then
    start_vcsim --esx -- "${bed[@]}"
  else
    start_vcsim -- -datacenters 2 -dc-folders 1 -pods "${bed[@]}"
  fi
  : > faults
  vcsim_put_flat in.raw $size "[$VCSIM_DS] calls/flat.vmdk"
  vcsim_put sparse.vmdk "[$VCSIM_DS] calls/sparse.vmdk"
  vcsim_attach_disk "$VCSIM_VM" "[$VCSIM_DS] calls/sparse.vmdk" $size
  expect "an open" "$one" "$(calls flat | xargs)"
  expect "an open's /folder requests" "GET GET" "$(cat folder.out)"
  calls sparse > /dev/null
  expect "a sparse open's /folder requests" "GET" "$(cat folder.out)"
  # The descriptor, all in its first GET, never reads ahead: it does not
  # take a share of the read-ahead memory (which halved the chunks).
  vcsim_nbdkit -rfv "[$VCSIM_DS] calls/flat.vmdk" \
    --run 'nbdcopy "$uri" out.raw' 2> copy.log
  cmp out.raw in.raw
  grep 'reading ahead in chunks' copy.log
  grep -q 'reading ahead in chunks of 8192 KiB .*(1 file sharing' copy.log
  # The disks are read once, at connect: a disk attached after that is
  # found by reading them again (the library's own client).
  cp flat.vmdk late.vmdk
  sed -i 's/flat-flat.vmdk/late-flat.vmdk/' late.vmdk
  vcsim_put late.vmdk "[$VCSIM_DS] calls/late.vmdk"
  vcsim_put flat-flat.vmdk "[$VCSIM_DS] calls/late-flat.vmdk"
  rm -f late.raw
  VDL_TEST_USER=$VCSIM_USER VDL_TEST_PASSWORD=$VCSIM_PASSWORD \
  VDL_TEST_AFTER_CONNECT="/usr/bin/python3 $VCSIM_FIXTURE attach $VCSIM_VM '[$VCSIM_DS] calls/late.vmdk' $size" \
    "$builddir/tests/remote-driver" "$VCSIM_URL" "$VCSIM_THUMBPRINT" \
    "$VCSIM_VM" "[$VCSIM_DS] calls/late.vmdk" late.raw
  cmp late.raw late.vmdk
  snap=$(vcsim_snapshot "$VCSIM_VM" before)
  expect "an open of a snapshot's disk" "$one" \
    "$(calls flat snapshot="$snap" | xargs)"

  # A 416 to the first GET: the size from a HEAD.
  echo '416 1 /folder' > faults
  calls flat > /dev/null
  grep -q 'did not tell its size; asking with HEAD' open.log
  grep -qw HEAD folder.out

  # The server refuses the one call: the VM alone, then its disks and
  # its datastores.
  echo 'fault:InvalidArgument -1 <path>datastore</path>' > faults
  expect "an open refused the one call" \
    "RetrieveServiceContent Login RetrievePropertiesEx RetrievePropertiesEx RetrievePropertiesEx RetrievePropertiesEx" \
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

# A server that ignores Range: the size from Content-Length; the first
# 16 KiB (as read at open) are right, and a read further on fails with
# an error rather than storing bytes from offset 0.
start_vcsim -- -ignore-range
vcsim_put_flat in.raw $size "[$VCSIM_DS] calls/flat.vmdk"
cat > ranges.py <<EOF
import nbd
assert h.get_size() == $size
with open("in.raw", "rb") as f:
    want = f.read(1 << 20)
assert h.pread(4096, 0) == want[:4096]
try:
    h.pread(4096, 1 << 19)
except nbd.Error as e:
    print("refused:", e)
else:
    raise SystemExit("a read from a server ignoring Range succeeded")
EOF
vcsim_nbdkit -rfv "[$VCSIM_DS] calls/flat.vmdk" \
  --run 'nbdsh -u "$uri" -c "exec(open(\"ranges.py\").read())"' \
  2> range.log || { cat range.log; exit 1; }
grep -q 'sent other bytes than the range asked for' range.log
stop_vcsim "$VCSIM_DIR"
