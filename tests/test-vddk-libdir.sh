#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# Library loading: the libdir= layouts and versions tried, and the
# errors when nothing (or something incomplete) is found.
source "$srcdir/tests/functions.sh"
set -e
set -x

real=$(realpath "$builddir/lib/libvixDiskLib.so.8")
fake=$(realpath "$builddir/tests/libvixDiskLib.so.6")
nowait=$(realpath "$builddir/tests/libfake-vddk-nowait.so")

# An empty libdir: the library-not-found error, fatal when serving.
mkdir empty
expect_failure "lib64/libvixDiskLib.so.9: cannot open shared object file" \
  nbdkit "$VDDK_PLUGIN" libdir=empty /nofile --run true > out
grep -F "If 'lib64/libvixDiskLib.so.9' is located on a non-standard path you may need to" out
grep -Fx "set libdir=/path/to/vmware-vix-disklib-distrib." out
grep -F 'See nbdkit-vddk-plugin(1) man page section "LIBRARY LOCATION" for details.' out

# ... but not for --dump-plugin, which just omits the library lines.
nbdkit "$VDDK_PLUGIN" libdir=empty --dump-plugin > dump
grep -Fx "vddk_has_nfchostport=1" dump
if grep -E '^(vddk_library_version|vddk_dll|VixDiskLib_)' dump; then
  echo "library lines printed without a library"; exit 1
fi

# A libdir that does not exist is rejected when parsed.
expect_failure "libdir|nonexistent" \
  nbdkit "$VDDK_PLUGIN" libdir=nonexistent /nofile --run true
expect_failure "libdir|nonexistent" \
  nbdkit "$VDDK_PLUGIN" libdir=nonexistent --dump-plugin

# dump LIBDIR: print "version dll" as the plugin sees them.
dump ()
{
  nbdkit "$VDDK_PLUGIN" libdir="$1" --dump-plugin > dump
  echo "$(sed -n 's/^vddk_library_version=//p' dump)" \
       "$(sed -n 's/^vddk_dll=//p' dump)"
}

# Relative libdir, without lib64/.
mkdir flat
ln -s "$real" flat/libvixDiskLib.so.8
test "$(dump flat)" = "8 $real"

# lib64/ wins over the top directory for the same version.
mkdir -p both/lib64
ln -s "$real" both/lib64/libvixDiskLib.so.8
ln -s "$fake" both/libvixDiskLib.so.8
test "$(dump both)" = "8 $real"

# The newest version wins, 9 included; the version comes from the name.
mkdir -p v9/lib64
ln -s "$fake" v9/lib64/libvixDiskLib.so.9
ln -s "$real" v9/libvixDiskLib.so.8
test "$(dump v9)" = "9 $fake"
mkdir -p v7/lib64
ln -s "$fake" v7/libvixDiskLib.so.7
ln -s "$real" v7/lib64/libvixDiskLib.so.6
test "$(dump v7)" = "7 $fake"

# A library without one of the required functions is refused.
mkdir -p old/lib64
ln -s "$nowait" old/lib64/libvixDiskLib.so.6
expect_failure 'required VDDK symbol "VixDiskLib_Wait" is missing\. VDDK version must be >= 6\.5\.' \
  nbdkit "$VDDK_PLUGIN" libdir=old /nofile --run true
