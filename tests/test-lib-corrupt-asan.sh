#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# Hundreds of deterministically corrupted images (headers, grain
# directories and tables, compressed grains, descriptors, truncation) go
# through the library built with AddressSanitizer and UBSan.  Each must
# either read or fail with a message; a crash, hang or sanitizer report
# fails the test.
source "$srcdir/tests/functions.sh"
set -e

driver="${ASAN_BUILDDIR:?the sanitizer build is made by make check}/tests/vdl-driver"
requires test -x "$driver"
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:exitcode=97
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1:exitcode=98

qemu-img create -q -f vmdk -o subformat=monolithicSparse,zeroed_grain=on \
         "$PWD/zg.vmdk" 4M
qemu-io -f vmdk -c 'write -P 7 0 100k' -c 'write -z 1M 64k' "$PWD/zg.vmdk" >/dev/null

mkdir cowd
cp "$SAMPLES/vmfs_thick.vmdk" "$SAMPLES/vmfs_thick-flat.vmdk" \
   "$SAMPLES/vmfs_thick-000001.vmdk" cowd/
/usr/bin/python3 "$srcdir/tests/make-cowd.py" cowd/vmfs_thick-flat.vmdk 1 \
  cowd/vmfs_thick-000001-delta.vmdk cowd/expected.raw cowd/single.raw

# A stream with its directory in a footer, as this library writes them.
"$builddir/tests/vdl-driver" create "$PWD/stream.vmdk" 6 20480
"$builddir/tests/vdl-driver" write "$PWD/stream.vmdk" 0 4096 7
"$builddir/tests/vdl-driver" write "$PWD/stream.vmdk" 8000 300 9

n=$(/usr/bin/python3 "$srcdir/tests/mutate-vmdk.py" "$PWD/mut" 2026 \
      "$PWD/cowd/vmfs_thick-000001-delta.vmdk" "$PWD/stream.vmdk" \
      "$SAMPLES/monolithicSparse.vmdk" "$SAMPLES/twoGbMaxExtentSparse.vmdk" \
      "$SAMPLES/streamOptimized.vmdk" "$SAMPLES/streamOptimizedWithMarkers.vmdk" \
      "$SAMPLES/monolithicFlat.vmdk" "$SAMPLES/vmfs_thick.vmdk" "$PWD/zg.vmdk")
echo "$n variants"
bad=0 failed=0
for d in mut/*/; do
  target=$(cat "$d/target")
  for cmd in info map cat; do
    rc=0
    timeout 60 "$driver" "$cmd" "$target" > /dev/null 2> "$d/err" || rc=$?
    if [ $rc -gt 1 ] || grep -q -e Sanitizer -e "runtime error" "$d/err"; then
      echo "BAD: $cmd $target exit $rc"; cat "$d/err"; bad=$((bad+1))
    fi
    [ $rc -eq 1 ] && failed=$((failed+1))
    # Every failure explains itself.
    if [ $rc -eq 1 ] && ! grep -q "vdl-driver: .*: ..*" "$d/err"; then
      echo "BAD: no message for $cmd $target"; bad=$((bad+1))
    fi
  done
done
echo "$failed clean failures"
# The corruption must actually be found, not silently accepted.
[ "$failed" -gt $((n / 2)) ]
[ "$bad" -eq 0 ]
