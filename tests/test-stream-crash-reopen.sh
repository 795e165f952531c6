#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# A stream-optimized disk killed with grains appended after its last
# flush is opened again and written: the first append cuts those grains
# off the end of the file, and reading the grain just stored (near the
# new end) must not read past it.  (Found by test-crash-loop.sh: reads
# near the end failed with "is truncated ... goes past the end of the
# file", EINVAL to the client, because the size the file had when it was
# opened was still taken as its end.)
source "$srcdir/tests/functions.sh"
set -e
set -x

requires qemu-img --version
requires /usr/bin/python3 -c 'import nbd'

nbdkit -U - "$VDDK_PLUGIN" "$PWD/s.vmdk" create=true \
  create-type=stream-optimized create-size=40M --run 'nbdinfo "$uri" > /dev/null'
rm -f s.sock
start_nbdkit -P s.pid -U "$PWD/s.sock" "$VDDK_PLUGIN" "$PWD/s.vmdk"
/usr/bin/python3 - "nbd+unix:///?socket=$PWD/s.sock" "$(cat s.pid)" <<'PY'
import nbd, os, signal, sys
h = nbd.NBD()
h.connect_uri(sys.argv[1])
h.pwrite(b"a" * 4096, 0)
h.flush()
# Whole grains in order go straight into the file, unflushed.
for g in range(1, 9):
    h.pwrite(os.urandom(65536), g * 65536)
# Killed while the client is connected: no close, no flush.
os.kill(int(sys.argv[2]), signal.SIGKILL)
PY
for (( i=0; i<50; i++ )); do kill -0 "$(cat s.pid)" 2>/dev/null || break; sleep 0.1; done
rm -f s.pid
qemu-img check s.vmdk
size_before=$(stat -c %s s.vmdk)

rm -f s.sock
start_nbdkit -P s.pid -U "$PWD/s.sock" "$VDDK_PLUGIN" "$PWD/s.vmdk"
/usr/bin/python3 - "nbd+unix:///?socket=$PWD/s.sock" <<'PY'
import nbd, sys
h = nbd.NBD()
h.connect_uri(sys.argv[1])
assert h.pread(4096, 0) == b"a" * 4096
assert h.pread(65536, 65536) == bytes(65536), "unflushed grain visible"
h.pwrite(b"b" * 4096, 4096)
h.flush()
assert h.pread(8192, 0) == b"a" * 4096 + b"b" * 4096
h.shutdown()
PY
kill_nbdkit s.pid
[ "$(stat -c %s s.vmdk)" -lt "$size_before" ]     # the grains were cut off
qemu-img check s.vmdk
qemu-img convert -f vmdk -O raw s.vmdk s.raw
/usr/bin/python3 -c '
import sys
d = open("s.raw", "rb").read()
assert d[:8192] == b"a" * 4096 + b"b" * 4096 and not any(d[8192:])'
