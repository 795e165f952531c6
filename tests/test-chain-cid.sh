#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# Chain validation: a child records its parent's CID (parentCID).  After the
# parent is modified (qemu-io changes its CID), the child is no longer a
# valid delta of it: opening/reading the chain must fail with an error about
# the CID/parent, not silently mix the new parent data in.  single-link=true
# does not open the parent and still works.
source "$srcdir/tests/functions.sh"
set -e
set -x

requires nbdcopy --version
requires qemu-img --version
requires qemu-io --version

make_pattern base.raw $((4 << 20))
qemu-img convert -f raw -O vmdk base.raw base.vmdk
qemu-img create -f vmdk -b base.vmdk -F vmdk "$PWD/child.vmdk"
qemu-io -f vmdk -c "write -P 0x77 0 65536" "$PWD/child.vmdk"
qemu_to_raw "$PWD/child.vmdk" chain.raw
vddk_to_raw nbd.raw -r "$PWD/child.vmdk"
same_raw nbd.raw chain.raw

old_cid=$(ddb_value base.vmdk CID)
qemu-io -f vmdk -c "write -P 0x99 $((1 << 20)) 65536" base.vmdk
new_cid=$(ddb_value base.vmdk CID)
[ "$old_cid" != "$new_cid" ]
[ "$(ddb_value child.vmdk parentCID)" = "$old_cid" ]

vddk_serve_fails 'CID|parent|content ?id|modified|mismatch' -r "$PWD/child.vmdk"
vddk_to_raw nbd.raw -r "$PWD/child.vmdk" single-link=true
qemu_to_raw "$(single_link_name "$PWD/child.vmdk")" single.raw
same_raw nbd.raw single.raw
