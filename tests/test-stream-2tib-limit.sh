#!/bin/bash
# A stream-optimized extent that has grown to just under 2 TiB: grain
# directory entries are 32-bit sector numbers, so a flush whose grain
# tables would land past 2 TiB must fail (disk full) and leave the
# stream as it was, not write tables whose entries wrap around.
# (The file is sparse: a few KiB on disk.)
source "$srcdir/tests/functions.sh"
set -e

/usr/bin/python3 - "$PWD/big.vmdk" <<'PY'
import struct, sys, zlib
SS = 512
def pad(b): return b + bytes(-len(b) % SS)
def header(gd):
    h = bytearray(SS)
    struct.pack_into("<4sIIQQQQIQQQB", h, 0, b"KDMV", 3, 0x30001, 64, 4,
                     1, 1, 8, 0, gd, 2, 0)
    h[73:77] = b"\n \r\n"
    struct.pack_into("<H", h, 77, 1)
    return bytes(h)
def marker(val, t): return pad(struct.pack("<QII", val, 0, t))
desc = pad(b'version=1\nCID=fffffffe\nparentCID=ffffffff\n'
           b'createType="streamOptimized"\nRW 64 SPARSE "big.vmdk"\n')
z = zlib.compress(bytes([7]) * 4 * SS)
n = 2**32 - 4                           # sectors in the file
with open(sys.argv[1], "wb") as f:
    f.write(header(2**64 - 1) + desc)
    f.write(pad(struct.pack("<QI", 0, len(z)) + z))          # grain 0 at 2
    f.write(marker(1, 1) + pad(struct.pack("<8I", 2, 0, 0, 0, 0, 0, 0, 0)))
    f.seek((n - 5) * SS)                # the tail at the very end
    f.write(marker(1, 2) + pad(struct.pack("<2I", 4, 0)))
    f.write(marker(1, 3) + header(n - 4) + bytes(SS))
PY

driver="$builddir/tests/vdl-driver"
"$driver" info "$PWD/big.vmdk" > /dev/null
rc=0
"$driver" write "$PWD/big.vmdk" 8 4 9 2> err || rc=$?
cat err
[ $rc -eq 1 ]
grep -q "full\|2 TiB" err
# What was there before is still there, and nothing else.
"$driver" cat "$PWD/big.vmdk" > out.raw
cmp <(head -c 2048 out.raw) <(head -c 2048 /dev/zero | tr '\0' '\7')
cmp <(tail -c +2049 out.raw) <(head -c $((60 * 512)) /dev/zero)
