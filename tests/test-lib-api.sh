#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# The library's API beyond what the plugin uses: metadata (read, list,
# write), CreateChild, Clone, Unlink, and the local no-ops, driven
# directly and checked with qemu-img.  See test-lib-api.py.
source "$srcdir/tests/functions.sh"
set -e
set -x

requires qemu-img --version
/usr/bin/python3 "$srcdir/tests/test-lib-api.py" \
  "$builddir/lib/libvixDiskLib.so.8" "$SAMPLES"

# The same against the AddressSanitizer/UBSan build of the library.
if [ -n "${ASAN_BUILDDIR:-}" ]; then
  mkdir asan && cd asan
  LD_PRELOAD="$(gcc -print-file-name=libasan.so) $(gcc -print-file-name=libubsan.so)" \
  ASAN_OPTIONS=detect_leaks=0:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1 \
    /usr/bin/python3 "$srcdir/tests/test-lib-api.py" \
      "$ASAN_BUILDDIR/lib/libvixDiskLib.so.8" "$SAMPLES" 2> asan.err
  cat asan.err
  refute grep -E "Sanitizer|runtime error" asan.err
fi
