#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# --dump-plugin: the plugin's own lines, for our library in the
# compiled-in libdir and for the VDDK 6.5 stand-in via libdir=.
source "$srcdir/tests/functions.sh"
set -e
set -x

# All the functions the plugin uses, in the order they are printed.
required="InitEx Exit GetErrorText FreeErrorText FreeConnectParams ConnectEx
Open GetTransportMode Close Disconnect GetInfo FreeInfo Read Write Create
Flush ReadAsync WriteAsync Wait"
optional="QueryAllocatedBlocks FreeBlockList AllocateConnectParams"

nbdkit "$VDDK_PLUGIN" --dump-plugin > out
cat out

grep -Fx "name=vddk" out
grep -Fx "thread_model=parallel" out
grep -Fx "magic_config_key=file" out
grep -Fx "vddk_default_libdir=$VDDK_LIBDIR" out
grep -Fx "vddk_has_nfchostport=1" out
grep -Fx "vddk_library_version=8" out

# vddk_dll is the real file behind the library in the default libdir.
dll=$(sed -n 's/^vddk_dll=//p' out)
test -f "$dll"
test "$dll" = "$(realpath "$VDDK_LIBDIR/lib64/libvixDiskLib.so.8")"

# Exactly the 22 functions, in order.
for fn in $required $optional; do echo "VixDiskLib_$fn=1"; done > expected
grep '^VixDiskLib_' out > actual
diff -u expected actual

# nbdkit's own lines appear once: dumping does not re-exec.
test "$(grep -c '^name=vddk$' out)" -eq 1

# libdir= overrides the default.  The stand-in is VDDK 6.5: version 6
# and none of the optional functions.
nbdkit "$VDDK_PLUGIN" --dump-plugin libdir="$builddir/tests" > out6
cat out6
grep -Fx "vddk_default_libdir=$VDDK_LIBDIR" out6
grep -Fx "vddk_library_version=6" out6
test "$(sed -n 's/^vddk_dll=//p' out6)" = \
     "$(realpath "$builddir/tests/libvixDiskLib.so.6")"
for fn in $required; do echo "VixDiskLib_$fn=1"; done > expected6
grep '^VixDiskLib_' out6 > actual6
diff -u expected6 actual6
