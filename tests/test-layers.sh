#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# lib/ is in layers: no file includes the header of a higher layer
# (scripts/check-layers.sh).  Also checks that the check sees a bad
# include and a file without a layer, on a copy of lib/.
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
