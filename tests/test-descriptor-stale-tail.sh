#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# qemu rewrites a descriptor file in 10 KiB blocks with the CID printed as
# "%x": when the new CID has fewer digits than the old one, bytes of the
# old text stay after the terminating NUL.  Like qemu, the descriptor text
# ends at the first NUL; such a file must open (read-only and read-write)
# and read the same as qemu-img reads it.  Binary data before the NUL is
# still refused.
source "$srcdir/tests/functions.sh"
set -e
set -x

requires nbdcopy --version
requires qemu-img --version

make_pattern in.raw $((4 << 20))
qemu-img convert -f raw -O vmdk -o subformat=twoGbMaxExtentSparse in.raw "$PWD/split.vmdk"

# What qemu's vmdk_write_cid leaves when CID 0x12345678 becomes 0x9a:
# the text shrinks by 6 bytes and its old last 5 bytes follow the NUL.
/usr/bin/python3 - split.vmdk <<'PY'
import re, sys
path = sys.argv[1]
text = open(path, "rb").read().split(b"\0", 1)[0]
text = re.sub(rb"(?m)^CID=[0-9a-f]+$", b"CID=12345678", text)
short = re.sub(rb"(?m)^CID=12345678$", b"CID=9a", text)
assert len(short) == len(text) - 6
buf = bytearray(10240)
buf[:len(text)] = text
buf[:len(short)] = short
buf[len(short)] = 0
open(path, "wb").write(bytes(buf))
PY
# Non-NUL bytes after the first NUL, as in the files qemu leaves.
/usr/bin/python3 -c '
import sys
d = open("split.vmdk", "rb").read()
n = d.index(b"\0")
assert any(d[n:]), "no stale bytes after the NUL"'

qemu-img compare -f vmdk -F raw "$PWD/split.vmdk" in.raw
vddk_to_raw out.raw -r "$PWD/split.vmdk"
cmp out.raw in.raw
vddk_to_raw out.raw "$PWD/split.vmdk"
cmp out.raw in.raw

# A control byte before the first NUL is binary data, not a descriptor.
printf '# Disk DescriptorFile\nversion=1\x01\x02\n' > bin.vmdk
vddk_serve_fails 'not a text descriptor' -r "$PWD/bin.vmdk"

# Writing gives the disk a new CID.  A longer stale tail must not end up
# glued to the new text: qemu-img and we read the written disk alike.
/usr/bin/python3 - split.vmdk <<'PY'
import sys
path = sys.argv[1]
d = bytearray(open(path, "rb").read())
n = d.index(b"\0")
tail = b"stale bytes of some older, longer descriptor text\n"
d[n + 1:n + 1 + len(tail)] = tail
open(path, "wb").write(bytes(d))
PY
cp in.raw ref.raw
start_nbdkit -P w.pid -U "$PWD/w.sock" "$VDDK_PLUGIN" "$PWD/split.vmdk"
nbd_write_mirror "nbd+unix:///?socket=$PWD/w.sock" ref.raw 4096:8192
kill_nbdkit w.pid
! grep -a 'CID=9a$' split.vmdk
qemu-img check "$PWD/split.vmdk"
qemu-img compare -f vmdk -F raw "$PWD/split.vmdk" ref.raw
vddk_to_raw out.raw -r "$PWD/split.vmdk"
cmp out.raw ref.raw
