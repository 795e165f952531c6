#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# Read-only local disks advertise multi-conn and read correctly over
# several connections; writable ones do not advertise it.
source "$srcdir/tests/functions.sh"
set -e
set -x

requires nbdinfo --version
disk="$SAMPLES/streamOptimized.vmdk"
nbdkit -r -U - "$VDDK_PLUGIN" "$disk" --run 'nbdinfo "$uri"' > ro.info
grep -q "can_multi_conn: true" ro.info
sum=$(nbdkit -r -U - "$VDDK_PLUGIN" "$disk" \
        --run 'nbdcopy --connections=4 "$uri" - | sha256sum')
[ "${sum%% *}" = a3bcf05f07a1c06a3380eeca8571f0efb2b85afafa1e21662b8cad436d1f7727 ]

cp "$SAMPLES/monolithicSparse.vmdk" rw.vmdk
nbdkit -U - "$VDDK_PLUGIN" "$PWD/rw.vmdk" --run 'nbdinfo "$uri"' > rw.info
grep -q "can_multi_conn: false" rw.info
