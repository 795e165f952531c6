#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# createType="vmfs" (ESXi flat disk): a qemu-img monolithicFlat image whose
# descriptor is rewritten to createType="vmfs" with an extent line
# 'RW n VMFS "img-flat.vmdk"' (no offset, as ESXi writes it and as qemu-img
# accepts).  Reads, NBD writes, qemu-img check/compare.
source "$srcdir/tests/functions.sh"
set -e
set -x

requires nbdcopy --version
requires /usr/bin/python3 -c 'import nbd'
requires qemu-img --version

size=$((16 << 20))
make_pattern in.raw $size
qemu-img convert -f raw -O vmdk -o subformat=monolithicFlat,adapter_type=lsilogic \
  in.raw "$PWD/img.vmdk"
/usr/bin/python3 - img.vmdk <<'PY'
import re, sys
p = sys.argv[1]
t = open(p, "rb").read().split(b"\0", 1)[0].decode()
t, n1 = re.subn(r'createType="monolithicFlat"', 'createType="vmfs"', t)
t, n2 = re.subn(r'^RW (\d+) FLAT "([^"]+)" 0$', r'RW \1 VMFS "\2"', t, flags=re.M)
assert n1 == 1 and n2 == 1, (n1, n2)
open(p, "w").write(t)
PY
cat img.vmdk
grep -q 'createType="vmfs"' img.vmdk
grep -Eq '^RW [0-9]+ VMFS "img-flat.vmdk"$' img.vmdk
qemu_roundtrip "$PWD/img.vmdk" flat $(default_write_specs $size)
