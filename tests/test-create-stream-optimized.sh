#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# create-type=stream-optimized: qemu-img convert into a new compressed
# stream (the man page's create example), which qemu-img accepts and
# finds equal to the input.  Then rewrites: partial grains, overwrites,
# zeros, several flushes; qemu-img still reads the result.  Finally a
# crash (SIGKILL) after a flush: what was flushed reads back.
source "$srcdir/tests/functions.sh"
set -e
set -x

requires nbdcopy --version
requires qemu-img --version
requires /usr/bin/python3 -c 'import nbd'

size=$((24 << 20))
make_pattern in.raw $size
create_roundtrip stream-optimized streamOptimized $size
sparse_header "$CREATED" > hdr.sh
cat hdr.sh
eval "$(cat hdr.sh)"
[ "$version" = 3 ]
[ "$compress" = 1 ]
# compressible pattern data: the stream is much smaller than the disk
[ "$(stat -c %s "$CREATED")" -lt $((size / 2)) ]

# Rewrites with flushes in between.
cp in.raw ref.raw
nbdkit -U - "$VDDK_PLUGIN" "$CREATED" --run 'nbdsh -u "$uri" -c "
import os
ref = open(\"ref.raw\", \"r+b\")
def w(off, data):
    h.pwrite(data, off)
    ref.seek(off); ref.write(data)
w(512, os.urandom(1024))                    # part of an allocated grain
w((3 << 20) + 4096, os.urandom(8192))       # part of a hole
h.flush()
w(65536 * 10, os.urandom(65536 * 3))        # whole grains, rewritten
w(65536 * 11 + 512, bytes(512))             # zeros into data
w(65536 * 40, bytes(65536))                 # a whole grain of zeros
h.flush()
w(size - 4096, os.urandom(4096)) if (size := h.get_size()) else None
h.flush()
ref.flush()
assert h.pread(size, 0) == open(\"ref.raw\", \"rb\").read()
"'
qemu-img check "$CREATED"
qemu-img compare -f vmdk -F raw "$CREATED" ref.raw
[ "$(vddk_sha256 -r "$CREATED")" = "$(sha256sum < ref.raw | cut -d' ' -f1)" ]

# Crash after a flush: the flushed state survives, and every reader
# (qemu-img check, qemu, libvmdk, us) opens the file as it was flushed.
rm -f c.sock
start_nbdkit -P c.pid -U "$PWD/c.sock" "$VDDK_PLUGIN" "$CREATED"
/usr/bin/python3 - "nbd+unix:///?socket=$PWD/c.sock" "$(cat c.pid)" <<'PY'
import nbd, os, signal, sys, shutil, time
h = nbd.NBD()
h.connect_uri(sys.argv[1])
ref = open("ref.raw", "r+b")
data = os.urandom(65536 * 2 + 1024)
h.pwrite(data, 65536 * 5)
ref.seek(65536 * 5); ref.write(data); ref.close()
h.flush()
shutil.copy("ref.raw", "flushed.raw")
h.pwrite(os.urandom(65536 * 4), 65536 * 20)   # never flushed
h.pwrite(os.urandom(4096), 65536 * 30)        # never flushed, partial
# Kill the server while the connection is open: closing it would flush.
os.kill(int(sys.argv[2]), signal.SIGKILL)
time.sleep(0.5)
PY
rm -f c.pid
qemu-img check "$CREATED"
qemu-img compare -f vmdk -F raw "$CREATED" flushed.raw
libvmdk_to_raw "$CREATED" libvmdk.raw
same_raw libvmdk.raw flushed.raw
nbdkit -r -U - "$VDDK_PLUGIN" "$CREATED" --run 'nbdcopy "$uri" after-crash.raw'
same_raw after-crash.raw flushed.raw

# Written again after the crash: the unflushed grains are dropped, and
# the stream is whole again (one end-of-stream marker, at the end).
nbdkit -U - "$VDDK_PLUGIN" "$CREATED" --run 'nbdsh -u "$uri" -c "
h.pwrite(b\"after\" * 1000 + bytes(120), 65536 * 7)
"'
dd if=<(printf 'after%.0s' $(seq 1000); head -c 120 /dev/zero) of=flushed.raw \
  bs=512 seek=$((65536 * 7 / 512)) conv=notrunc status=none
qemu-img check "$CREATED"
qemu-img compare -f vmdk -F raw "$CREATED" flushed.raw
/usr/bin/python3 "$srcdir/tests/stream-walk.py" "$CREATED" walked.raw | tee walk.out
grep -q "bytes after end-of-stream: 0 header gdOffset: at end" walk.out
same_raw walked.raw flushed.raw
