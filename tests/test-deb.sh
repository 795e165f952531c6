#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# The Debian packages (debian/, make deb), end to end: they build with
# dpkg-buildpackage -us -uc -b, lintian reports no error, they install
# with dpkg, "nbdkit vddk /abs/disk.vmdk" then serves a disk with the
# installed plugin and library, the man page's compile line builds a
# program that runs against the installed library, and purging them
# leaves nothing behind.
#
# Runs only with DEB_TEST=1 ("make check-deb", and CI after make check):
# it takes a minute or two and installs and removes system packages, so
# a plain "make check" skips it.  Needs root and the packaging tools
# (scripts/install-deps.sh deb); never calls apt-get itself.
source "$srcdir/tests/functions.sh"
set -e
set -x

if [ "${DEB_TEST:-}" != 1 ]; then
  echo "SKIP: set DEB_TEST=1 to build, install and purge the Debian packages (make check-deb)"
  exit 77
fi
if [ "$(id -u)" != 0 ]; then
  echo "test-deb: installing packages needs root" >&2
  exit 1
fi
for cmd in dpkg-buildpackage dh lintian nbdcopy qemu-img; do
  command -v $cmd >/dev/null ||
    { echo "test-deb: $cmd missing: run scripts/install-deps.sh deb" >&2; exit 1; }
done

pkgs=(libvixdisklib-open8 libvixdisklib-open-dev nbdkit-plugin-vddk-open)
for p in "${pkgs[@]}"; do
  if [ -n "$(dpkg-query -W -f '${db:Status-Abbrev}' "$p" 2>/dev/null | grep -v '^un')" ]; then
    echo "SKIP: $p is installed on this machine, and this test would purge it"
    exit 77
  fi
done

arch_triplet=$(dpkg-architecture -qDEB_HOST_MULTIARCH)
plugindir=$(pkg-config --variable=plugindir nbdkit)
plugin=$plugindir/nbdkit-vddk-plugin.so
libdir=/usr/lib/$arch_triplet/vmware-vix-disklib

# A plugin left by "make install" sits at the package's path: dpkg
# replaces it and the purge removes it, so put it back afterwards.
if [ -e "$plugin" ]; then
  cp -a "$plugin" saved-plugin.so
  cleanup_fn cp -a "$PWD/saved-plugin.so" "$plugin"
fi

# --- Build, lintian -----------------------------------------------------
"$srcdir/scripts/build-deb.sh" "$PWD/deb" > build.log 2>&1 ||
  { tail -n 60 build.log; echo "make deb failed"; exit 1; }
sed -n '/^==> lintian/,$p' build.log
refute grep -E '^E: ' build.log
debs=()
for p in "${pkgs[@]}"; do
  debs+=("$(ls "$PWD"/deb/"${p}"_*.deb)")
done

# The version is the project's.
version=$(meson introspect --projectinfo "$builddir" |
          /usr/bin/python3 -c 'import json, sys; print(json.load(sys.stdin)["version"])')
[ "$(dpkg-deb -f "${debs[0]}" Version)" = "$version" ]

# Contents: where each file goes.
contents ()
{
  dpkg-deb -c "$1" | awk '{ print $6 }' | sed 's|^\.||; s|/$||' | sed '/^$/d'
}
contents "${debs[0]}" > lib.list
contents "${debs[1]}" > dev.list
contents "${debs[2]}" > plugin.list
cat lib.list dev.list plugin.list
grep -Fx "$libdir/lib64/libvixDiskLib.so.8" lib.list
grep -Fx "$libdir/lib64/libvixDiskLib.so" dev.list
grep -Fx "$libdir/include/vixDiskLib.h" dev.list
grep -Fx "/usr/lib/$arch_triplet/pkgconfig/vixdisklib.pc" dev.list
grep -Fx /usr/share/man/man3/libvixDiskLib.3.gz dev.list
grep -Fx "$plugin" plugin.list
grep -Fx /usr/share/man/man1/nbdkit-vddk-plugin.1.gz plugin.list
# No file of ours belongs to an installed package (Debian's nbdkit
# packages included): directories only may be shared.
cat lib.list dev.list plugin.list | sort -u > all.list
while read -r f; do
  if owner=$(dpkg-query -S "$f" 2>/dev/null) && [ ! -d "$f" ]; then
    echo "$f already belongs to: $owner"; exit 1
  fi
done < all.list
# What exists before installing, to compare after the purge.
while read -r f; do [ -e "$f" ] || [ -L "$f" ] && echo "$f"; done < all.list > before.list || true

# --- Install, serve -----------------------------------------------------
cleanup_fn dpkg --purge "${pkgs[@]}"
dpkg -i "${debs[@]}"

nbdkit vddk --dump-plugin > dump
cat dump
grep -Fx "path=$plugin" dump
grep -Fx "vddk_default_libdir=$libdir" dump
grep -Fx "vddk_library_version=8" dump
grep -E "^vddk_dll=$libdir/lib64/libvixDiskLib\.so\.8" dump

make_pattern in.raw $((8 << 20))
qemu-img convert -f raw -O vmdk -o subformat=monolithicSparse in.raw disk.vmdk
nbdkit -U - vddk "$PWD/disk.vmdk" --run 'nbdcopy "$uri" out.raw'
same_raw out.raw in.raw

# make install of a build tree whose plugin would land on the package's
# refuses, instead of overwriting a file dpkg owns.
if meson introspect --installed "$builddir" | grep -qF "\"$plugin\""; then
  expect_failure "belongs to the Debian package nbdkit-plugin-vddk-open" \
    env -u DESTDIR "$srcdir/scripts/install.sh" install "$builddir"
  [ -z "$(dpkg --verify nbdkit-plugin-vddk-open)" ]
fi

# man 3 libvixDiskLib: its compile line, as written, against the
# installed -dev package; the program runs without LD_LIBRARY_PATH.
# (The packaged page by its path: a "make install" to /usr/local would
# come first in man's search.)
manpage=$(dpkg -L libvixdisklib-open-dev | grep '/man3/libvixDiskLib\.3')
line=$(LC_ALL=C MANWIDTH=200 man -l "$manpage" 2>/dev/null | col -b |
       sed -n 's/^[[:space:]]*\(cc .*vixdisklib.*\)$/\1/p')
echo "man page: $line"
[ -n "$line" ]
cat > prog.c <<'EOF'
#include <stdio.h>
#include <vixDiskLib.h>

static void quiet (const char *fmt, va_list args) { (void) fmt; (void) args; }

int
main (int argc, char *argv[])
{
  VixDiskLibConnection conn;
  VixDiskLibHandle disk;
  VixDiskLibInfo *info;
  VixDiskLibConnectParams params = { 0 };

  if (argc != 2 ||
      VixDiskLib_InitEx (6, 5, quiet, quiet, quiet, NULL, NULL) != VIX_OK ||
      VixDiskLib_ConnectEx (&params, 1, NULL, NULL, &conn) != VIX_OK ||
      VixDiskLib_Open (conn, argv[1], VIXDISKLIB_FLAG_OPEN_READ_ONLY, &disk) != VIX_OK ||
      VixDiskLib_GetInfo (disk, &info) != VIX_OK)
    return 1;
  printf ("capacity=%llu\n", (unsigned long long) info->capacity);
  VixDiskLib_FreeInfo (info);
  VixDiskLib_Close (disk);
  VixDiskLib_Disconnect (conn);
  VixDiskLib_Exit ();
  return 0;
}
EOF
# pkg-config looks in /usr/local first, where a "make install" (as
# make demo does) puts its own vixdisklib.pc: only the system's
# directories here, so that the line builds against the package.
(unset PKG_CONFIG_PATH
 export PKG_CONFIG_LIBDIR=$(pkg-config --variable=pc_path pkg-config |
                            tr ':' '\n' | grep -v '^/usr/local/' | paste -sd:)
 sh -c "$line")
env -u LD_LIBRARY_PATH ./prog "$PWD/disk.vmdk" > prog.out
cat prog.out
grep -Fx "capacity=$(( (8 << 20) / 512 ))" prog.out
env -u LD_LIBRARY_PATH ldd prog | grep -F "$libdir/lib64/libvixDiskLib.so.8"

# --- Purge ----------------------------------------------------------------
dpkg --purge "${pkgs[@]}"
for p in "${pkgs[@]}"; do
  status=$(dpkg-query -W -f '${db:Status-Abbrev}' "$p" 2>/dev/null || true)
  case $status in ""|un*) ;; *) echo "$p still known to dpkg: $status"; exit 1 ;; esac
  refute ls /var/lib/dpkg/info/"$p".* /var/lib/dpkg/info/"$p":*.* 2>/dev/null
done
# The purge removed the plugin of an earlier "make install" too (dpkg
# had replaced it): that one is the user's, put back before comparing.
[ ! -e saved-plugin.so ] || cp -a saved-plugin.so "$plugin"
while read -r f; do [ -e "$f" ] || [ -L "$f" ] && echo "$f"; done < all.list > after.list || true
diff before.list after.list
