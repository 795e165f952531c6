#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# Requests that are not whole sectors fail with EINVAL (the reference
# plugin says EIO); the blocksize filter makes them work.
source "$srcdir/tests/functions.sh"
set -e
set -x

requires nbdsh --version
requires /usr/bin/python3 -c 'import nbd'
requires qemu-img --version

cp "$SAMPLES/monolithicFlat.vmdk" "$SAMPLES/monolithicFlat-flat.vmdk" .
chmod u+w monolithicFlat*.vmdk
qemu-img convert -f vmdk -O raw monolithicFlat.vmdk disk.raw

cat > unaligned.py <<'PY'
import errno, nbd, os
# libnbd would refuse unaligned requests itself; let them reach nbdkit.
h.set_strict_mode(h.get_strict_mode() & ~nbd.STRICT_ALIGN)
for count, offset in [(512, 100), (100, 512), (1, 1), (1000, 0)]:
    try:
        h.pread(count, offset)
    except nbd.Error as e:
        assert e.errno in ("EINVAL", errno.EINVAL), "pread %d@%d: %s" % (count, offset, e)
    else:
        raise AssertionError("unaligned pread %d@%d succeeded" % (count, offset))
    try:
        h.pwrite(b"X" * count, offset)
    except nbd.Error as e:
        assert e.errno in ("EINVAL", errno.EINVAL), "pwrite %d@%d: %s" % (count, offset, e)
    else:
        raise AssertionError("unaligned pwrite %d@%d succeeded" % (count, offset))
# Aligned requests still work on the same connection.
with open("disk.raw", "rb") as f:
    f.seek(1048576)
    assert h.pread(4096, 1048576) == f.read(4096)
PY
nbdkit -v -U - "$VDDK_PLUGIN" "$PWD/monolithicFlat.vmdk" \
  --run 'nbdsh -u "$uri" -c "exec(open(\"unaligned.py\").read())"' > log 2>&1 ||
  { cat log; exit 1; }
cat log
grep -F "error: read is not aligned to sectors" log
grep -F "error: write is not aligned to sectors" log
# Nothing was written.
qemu-img convert -f vmdk -O raw monolithicFlat.vmdk after.raw
cmp disk.raw after.raw

cat > filtered.py <<'PY'
import nbd
h.set_strict_mode(h.get_strict_mode() & ~nbd.STRICT_ALIGN)
with open("disk.raw", "rb") as f:
    raw = f.read()
for count, offset in [(1, 1), (100, 512), (1000, 100), (70000, 4000)]:
    assert h.pread(count, offset) == raw[offset:offset+count], (count, offset)
# A read-modify-write through the filter.
h.pwrite(b"hello", 1000003)
assert h.pread(11, 1000000) == raw[1000000:1000003] + b"hello" + raw[1000008:1000011]
PY
nbdkit -U - "$VDDK_PLUGIN" "$PWD/monolithicFlat.vmdk" \
  --filter=blocksize minblock=512 \
  --run 'nbdsh -u "$uri" -c "exec(open(\"filtered.py\").read())"'
