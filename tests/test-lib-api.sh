#!/bin/bash
# The library's API beyond what the plugin uses: metadata (read, list,
# write), CreateChild, Clone, Unlink, and the local no-ops, driven
# directly and checked with qemu-img.  See test-lib-api.py.
source "$srcdir/tests/functions.sh"
set -e
set -x

requires qemu-img --version
/usr/bin/python3 "$srcdir/tests/test-lib-api.py" \
  "$builddir/lib/libvixDiskLib.so.8" "$SAMPLES"
