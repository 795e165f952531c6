#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# Run the test scripts against a build tree and print a summary line
#   N passed, N failed, N skipped
# Usage: tests/run-tests.sh BUILDDIR [test-name.sh ...]
# A test passes with exit 0, is skipped with exit 77, fails otherwise.
# Each may take TEST_TIMEOUT seconds (default 600).
set -u

srcdir=$(cd "$(dirname "$0")/.." && pwd)
builddir=$(cd "${1:?usage: run-tests.sh BUILDDIR [TEST...]}" && pwd)
shift

# Debian's nbdsh and friends need the system python, not a pyenv one.
export PATH="/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:$PATH"
export srcdir builddir
# The VMware-made samples shipped with the tests (tests/data/README.md).
export SAMPLES="${SAMPLES:-$srcdir/tests/data/vmware}"

# A private copy of the install layout of the library, which the test build
# of the plugin uses as its compiled-in default libdir.
export VDDK_LIBDIR="$builddir/tests/vddk-libdir"
mkdir -p "$VDDK_LIBDIR/lib64"
ln -sf "$builddir/lib/libvixDiskLib.so.8" "$VDDK_LIBDIR/lib64/libvixDiskLib.so.8"
ln -sf libvixDiskLib.so.8 "$VDDK_LIBDIR/lib64/libvixDiskLib.so"
export VDDK_PLUGIN="$builddir/tests/nbdkit-vddk-plugin.so"
# The AddressSanitizer/UBSan build of the library, if there is one.
if [ -z "${ASAN_BUILDDIR:-}" ] && [ -x "$srcdir/build-asan/tests/vdl-driver" ]; then
  export ASAN_BUILDDIR="$srcdir/build-asan"
fi
# The ThreadSanitizer build (make tsan), if there is one.
if [ -z "${TSAN_BUILDDIR:-}" ] && [ -x "$srcdir/build-tsan/tests/race-driver" ]; then
  export TSAN_BUILDDIR="$srcdir/build-tsan"
fi

if [ $# -gt 0 ]; then
  tests=("$@")
else
  tests=()
  for t in "$srcdir"/tests/test-*.sh; do tests+=("$(basename "$t")"); done
fi

logdir="$builddir/tests/logs"
mkdir -p "$logdir"
pass=0 fail=0 skip=0 failed=()
for t in "${tests[@]}"; do
  t=$(basename "$t")
  work=$(mktemp -d "/tmp/vddk-test.XXXXXX")
  start=$(date +%s)
  ( cd "$work" && exec timeout -k 10 "${TEST_TIMEOUT:-600}" bash "$srcdir/tests/$t" ) \
    > "$logdir/$t.log" 2>&1 < /dev/null
  rc=$?
  secs=$(( $(date +%s) - start ))
  rm -rf "$work"
  case $rc in
    0)  pass=$((pass+1)); echo "PASS: $t (${secs}s)" ;;
    77) skip=$((skip+1)); echo "SKIP: $t ($(grep -m1 -o 'SKIP:.*' "$logdir/$t.log" || true))" ;;
    *)  fail=$((fail+1)); failed+=("$t"); echo "FAIL: $t (exit $rc, ${secs}s)"
        echo "---- last lines of $logdir/$t.log"; tail -n 25 "$logdir/$t.log"; echo "----" ;;
  esac
done

echo
[ ${#failed[@]} -gt 0 ] && echo "failed tests: ${failed[*]}"
echo "$pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ]
