#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# vmfs_thick-000001.vmdk is a vmfsSparse child whose -delta.vmdk extent is
# not in the sample set: opening it must fail with an error that names the
# missing file (read-only from the samples dir and read-write on a copy),
# without crashing.
source "$srcdir/tests/functions.sh"
set -e
set -x

requires nbdcopy --version

[ -f "$SAMPLES/vmfs_thick-000001.vmdk" ]
[ ! -e "$SAMPLES/vmfs_thick-000001-delta.vmdk" ]

vddk_serve_fails 'vmfs_thick-000001-delta\.vmdk' -r "$SAMPLES/vmfs_thick-000001.vmdk"

cp "$SAMPLES"/vmfs_thick* .
chmod u+w vmfs_thick*
vddk_serve_fails 'vmfs_thick-000001-delta\.vmdk' "$PWD/vmfs_thick-000001.vmdk"
# single-link=true does not need the parent, but still needs the delta.
vddk_serve_fails 'vmfs_thick-000001-delta\.vmdk' -r "$PWD/vmfs_thick-000001.vmdk" single-link=true
