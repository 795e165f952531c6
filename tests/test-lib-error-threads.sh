#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# Errors stay with the call that failed: 16 threads failing at once on 16
# different files each get their own file's message, and nobody gets
# another thread's (with remote disks that would show one tenant another's
# host and datastore names).  Then the same through nbdkit: the plugin
# fetches the text where the asynchronous read failed.
source "$srcdir/tests/functions.sh"
set -e
set -x

requires qemu-img --version
requires nbdsh --version

make_pattern in.raw $((4 << 20))
qemu-img convert -f raw -O vmdk in.raw bad-0.vmdk
eval "$(sparse_header bad-0.vmdk)"
gt=$(get_le bad-0.vmdk $((gd_offset * 512)) 4)
rgt=$(get_le bad-0.vmdk $((rgd_offset * 512)) 4)
filesec=$(( $(stat -c %s bad-0.vmdk) / 512 ))
# grain 3 points far past the end of the file, in both tables
put_le bad-0.vmdk $((gt * 512 + 3 * 4)) 4 $((filesec + 100000))
put_le bad-0.vmdk $((rgt * 512 + 3 * 4)) 4 $((filesec + 100000))
for i in $(seq 1 15); do cp bad-0.vmdk bad-$i.vmdk; done

/usr/bin/python3 "$srcdir/tests/test-lib-error-threads.py" \
  "$builddir/lib/libvixDiskLib.so.8" "$PWD"

# Through the plugin: the log names the file of the failed read.
nbdkit -r -U - "$VDDK_PLUGIN" "$PWD/bad-7.vmdk" --run 'nbdsh -u "$uri" -c "
try:
    h.pread(65536, 3 * 65536)
except nbd.Error:
    pass
else:
    raise SystemExit(\"the bad grain was read\")
"' 2> nbdkit.err
cat nbdkit.err
grep -E "(asynchronous read failed|VixDiskLib_Read): .*bad-7\.vmdk" nbdkit.err
# The same through the worker and asynchronous calls (VMware's way).
nbdkit -r -U - -D vddk.direct=0 "$VDDK_PLUGIN" "$PWD/bad-7.vmdk" --run 'nbdsh -u "$uri" -c "
try:
    h.pread(65536, 3 * 65536)
except nbd.Error:
    pass
else:
    raise SystemExit(\"the bad grain was read\")
"' 2> nbdkit.err
cat nbdkit.err
grep -E "asynchronous read failed: .*bad-7\.vmdk" nbdkit.err
