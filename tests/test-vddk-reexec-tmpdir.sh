#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# nbdkit -U - leaves no socket directory behind with a VDDK-style
# libdir.  nbdkit makes its directory (/tmp/nbdkitXXXXXX) before it
# loads the plugin, so a re-exec makes a second one and, before, left
# the first behind after every run.  Now:
#  a. a libdir whose libvixDiskLib has no run path, with other libraries
#     bundled beside it, still needs the re-exec (LD_LIBRARY_PATH), and
#     the new process removes the first directory: only its own is there
#     while it serves, and nothing is left when it exits;
#  b. a libdir whose libvixDiskLib finds its neighbours by itself (run
#     path $ORIGIN, as make vddk-distrib builds it) needs no re-exec;
#  c. the install layout (libvixDiskLib alone) needs none either.
# nbdkit runs in a user and mount namespace where /tmp is a private
# directory (some nbdkit versions use /tmp whatever TMPDIR says; TMPDIR
# points there too), so that other processes' directories do not count.
source "$srcdir/tests/functions.sh"
set -e
set -x

requires nbdinfo --version
requires patchelf --version
requires unshare -rm true
disk="$SAMPLES/monolithicSparse.vmdk"

# Not under /tmp, which the namespace hides.
work=$(mktemp -d "$builddir/tests/reexec-tmpdir.XXXXXX")
cleanup_fn rm -rf "$work"
mkdir "$work/tmp"
lib="$(readlink -f "$builddir/lib/libvixDiskLib.so.8")"

# a: no run path, a bundled copy of a library it needs.
mkdir -p "$work/a/lib64"
cp "$lib" "$work/a/lib64/libvixDiskLib.so.8"
patchelf --remove-rpath "$work/a/lib64/libvixDiskLib.so.8"
cp "$(ldconfig -p | awk '/libdeflate.so.0 .*x86-64/ { print $NF; exit }')" \
  "$work/a/lib64/libdeflate.so.0"
# b: the same with run path $ORIGIN.
cp -a "$work/a" "$work/b"
patchelf --set-rpath '$ORIGIN' "$work/b/lib64/libvixDiskLib.so.8"
# c: libvixDiskLib alone.
mkdir -p "$work/c/lib64"
cp "$work/a/lib64/libvixDiskLib.so.8" "$work/c/lib64/"

# serve DIR: nbdkit -U - with libdir=DIR in the namespace; the --run
# command lists what is in /tmp while nbdkit serves (into "during").
serve ()
{
  unshare -rm /bin/bash -c '
    mount --bind "$1" /tmp || exit 99
    shift
    TMPDIR=/tmp "$@"' sh "$work/tmp" \
    nbdkit -v -r -U - "$VDDK_PLUGIN" libdir="$work/$1" "$disk" \
      --run 'nbdinfo --size "$uri" && ls -A /tmp > '"$work/during" \
      > "$1.out" 2>&1 || { cat "$1.out"; return 1; }
  grep -Fx 10485760 "$1.out"
}

for d in a b c; do
  serve $d
  echo "$d: in /tmp while serving: $(cat "$work/during")"
  # Only the socket directory of the nbdkit that serves.
  [ "$(wc -l < "$work/during")" -eq 1 ]
  left=$(ls -A "$work/tmp")
  if [ -n "$left" ]; then
    echo "FAIL: libdir $d: left behind in TMPDIR: $left" >&2
    exit 1
  fi
done

grep -F "re-executing with updated LD_LIBRARY_PATH=$work/a/lib64" a.out
grep -F "adding reexec_tmpdir_=/tmp/nbdkit" a.out
grep -F "removed /tmp/nbdkit" a.out
grep -F "the library's search path names $work/b/lib64" b.out
grep -F "not re-executing" c.out
for d in b c; do
  if grep -E "re-executing with|cleaning up after re-exec" $d.out; then
    echo "FAIL: libdir $d: re-exec'd although not needed" >&2
    exit 1
  fi
done
