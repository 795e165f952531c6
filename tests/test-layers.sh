#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# lib/ is in layers (docs/architecture.md):
#  - no file includes the header of a higher layer (check-layers.sh),
#    and that check sees a bad include and a file without a layer, on a
#    copy of lib/;
#  - no file calls up a layer and no files call each other in a circle
#    (check-calls.py, on the built objects), and that check sees both
#    on objects made for it;
#  - no source file is over 800 lines.
source "$srcdir/tests/functions.sh"
set -e
set -x

check="$srcdir/scripts/check-layers.sh"

"$check" "$srcdir"

# A copy with an upward include: base (log.c) includes chain (disk.h).
mkdir -p copy
cp -r "$srcdir/lib" copy/lib
sed -i '0,/^#include "log.h"/s//#include "log.h"\n#include "disk.h"/' \
  copy/lib/base/log.c
grep -q '^#include "disk.h"' copy/lib/base/log.c
refute "$check" copy > out
cat out
grep -qE '^lib/base/log\.c:[0-9]+: #include "disk\.h" \(base includes chain\)$' out

# A file no rule places.
mkdir -p copy2
cp -r "$srcdir/lib" copy2/lib
touch copy2/lib/mystery.c
refute "$check" copy2 > out
cat out
grep -q '^lib/mystery\.c: no layer' out

# The calls, on the built objects: none up a layer, no circle of files.
"$srcdir/scripts/check-calls.py" "$builddir"

# ... and the check sees both, on objects made for it: base/low.c calls
# up into api/high.c, and chain/a.c and chain/b.c call each other.
requires cc --version
objs=fake/lib/libvixdisklib-internal.a.p
mkdir -p "$objs"
printf 'int high (void) { return 1; }\n' > high.c
printf 'int high (void);\nint low (void) { return high (); }\n' > low.c
printf 'int b (int);\nint a (int n) { return n ? b (n - 1) : 0; }\n' > a.c
printf 'int a (int);\nint b (int n) { return n ? a (n - 1) : 1; }\n' > b.c
cc -c high.c -o "$objs/api_high.c.o"
cc -c low.c -o "$objs/base_low.c.o"
cc -c a.c -o "$objs/chain_a.c.o"
cc -c b.c -o "$objs/chain_b.c.o"
refute "$srcdir/scripts/check-calls.py" fake > out
cat out
grep -qx 'lib/base/low.c calls up into lib/api/high.c: high' out
grep -qx 'circle of 2 files: chain/a.c chain/b.c' out

# No source file of lib/ over 800 lines: a file that grows past that is
# split along a seam (docs/architecture.md).
big=$(find "$srcdir/lib" -name '*.[ch]' -exec wc -l {} + |
      awk '$2 != "total" && $1 > 800 { print $2 ": " $1 " lines" }')
if [ -n "$big" ]; then
  echo "FAIL: files over 800 lines:" >&2
  echo "$big" >&2
  exit 1
fi
