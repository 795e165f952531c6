#!/bin/bash
# make install's layout: the plugin where nbdkit finds it by name, the
# library as in VMware's distribution (lib64/libvixDiskLib.so.8 plus the
# unversioned link) at the plugin's compiled-in default libdir, the header
# and both man pages.  Installed into a staging DESTDIR, then the staged
# plugin must load the staged library when given that libdir.
source "$srcdir/tests/functions.sh"
set -e
set -x

dest=$PWD/dest
DESTDIR=$dest meson install -C "$builddir" --no-rebuild --quiet

plugindir=$(pkg-config --variable=plugindir nbdkit)
plugin=$dest$plugindir/nbdkit-vddk-plugin.so
test -f "$plugin"

libdir=$(nbdkit "$plugin" --dump-plugin | sed -n 's/^vddk_default_libdir=//p')
[ -n "$libdir" ]
case "$libdir" in /*) ;; *) echo "default libdir is not absolute"; exit 1 ;; esac
test -f "$dest$libdir/lib64/libvixDiskLib.so.8"
test -L "$dest$libdir/lib64/libvixDiskLib.so"
[ "$(readlink -f "$dest$libdir/lib64/libvixDiskLib.so")" = \
  "$(readlink -f "$dest$libdir/lib64/libvixDiskLib.so.8")" ]
test -f "$dest$libdir/include/vixDiskLib.h"
find "$dest" -name nbdkit-vddk-plugin.1 | grep -q .
find "$dest" -name libvixDiskLib.3 | grep -q .

# The library exports the VixDiskLib API, its own clearly named
# extensions, and nothing else.
nm -D --defined-only "$dest$libdir/lib64/libvixDiskLib.so.8" | awk '{print $3}' > syms
cat syms
refute grep -Ev '^(VixDiskLib|OpenVixDiskLib)_' syms
grep -q '^OpenVixDiskLib_GetPreferredIOSize$' syms
[ "$(wc -l < syms)" -ge 22 ]

# The staged plugin loads the staged library (version 8) and finds all
# 22 functions the plugin uses.
nbdkit "$plugin" --dump-plugin libdir="$dest$libdir" > dump
grep -qx 'vddk_library_version=8' dump
[ "$(grep -c '^VixDiskLib_.*=1$' dump)" -eq 22 ]
