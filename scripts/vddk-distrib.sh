#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# make vddk-distrib: a directory laid out like VMware's VDDK, for
# programs that take a "vmware-vix-disklib-distrib" directory (KubeVirt
# CDI's and Forklift's VDDK images, virt-v2v, nbdkit libdir=...):
#
#   OUTDIR/vmware-vix-disklib-distrib/
#     lib64/libvixDiskLib.so.8       the open library (DT_RPATH $ORIGIN)
#     lib64/libvixDiskLib.so         -> libvixDiskLib.so.8
#     lib64/lib*.so.*                the libraries it needs beyond glibc
#     include/vixDiskLib.h
#     LICENSE.txt                    our licence, the bundled libraries'
#     doc/licenses/PACKAGE.copyright their Debian copyright files
#   OUTDIR/open-vixdisklib-VERSION.ARCH.tar.gz   the directory, packed
#   OUTDIR/vddk-image/               the build context of the VDDK init
#                                    image (distrib/Containerfile)
#
# Portable by construction: the library and every bundled library are
# compiled in a Debian 11 root (glibc 2.31; scripts/bullseye-root.sh,
# cached in BUILDDIR/bullseye-root or $VDDK_BULLSEYE_ROOT), the bundled
# ones from Debian 12's source packages configured with only what the
# library uses (scripts/vddk-deps.sh).  scripts/glibc-floor.sh then
# checks that nothing needs a glibc newer than $VDDK_GLIBC_MAX (2.31).
#
# Usage: scripts/vddk-distrib.sh BUILDDIR OUTDIR
# Reads the source tree (the file list from BUILDDIR's meson setup);
# writes only OUTDIR and the root.  Exit status 3: the Debian archive
# (or root, for chroot) is out of reach, so the root cannot be made.
set -euo pipefail

srcdir=$(cd "$(dirname "$0")/.." && pwd)
builddir=$(cd "${1:?usage: vddk-distrib.sh BUILDDIR OUTDIR}" && pwd)
outdir=${2:?usage: vddk-distrib.sh BUILDDIR OUTDIR}
mkdir -p "$outdir"
outdir=$(cd "$outdir" && pwd)
root=${VDDK_BULLSEYE_ROOT:-$builddir/bullseye-root}
glibc_max=${VDDK_GLIBC_MAX:-2.31}
start=$(date +%s)

version=$(meson introspect --projectinfo "$builddir" |
          python3 -c 'import json, sys; print(json.load(sys.stdin)["version"])')
arch=$(uname -m)

rc=0
"$srcdir/scripts/bullseye-root.sh" "$root" || rc=$?
[ "$rc" = 0 ] || exit "$rc"
"$srcdir/scripts/vddk-deps.sh" "$root"
deps=/opt/vddk-deps

# --- The library, compiled in the root ----------------------------------
# Its sources as meson compiles them into lib/libvixDiskLib.so.8.
mapfile -t sources < <(python3 - "$builddir" "$srcdir" <<'EOF'
import json, os, sys
builddir, srcdir = sys.argv[1], sys.argv[2]
for c in json.load(open(os.path.join(builddir, "compile_commands.json"))):
    if c["output"].startswith("lib/libvixDiskLib.so.8.0.0.p/"):
        f = os.path.normpath(os.path.join(c["directory"], c["file"]))
        print(os.path.relpath(f, srcdir))
EOF
)
[ "${#sources[@]}" -gt 10 ] || { echo "vddk-distrib: no sources of libvixDiskLib in $builddir/compile_commands.json" >&2; exit 1; }

mkdir -p "$root/build"
work=$(mktemp -d "$root/build/vixdisklib.XXXXXX")
trap 'rm -rf "$work"' EXIT
tar -C "$srcdir" -cf - include common lib | tar -C "$work" -xf -
rel=${work#"$root"}
# The flags meson uses (meson.build, lib/meson.build: every folder of
# lib/ is an include directory), with the
# bundled libraries' headers; -Wl,--no-undefined so that a symbol the
# bundled libraries lack fails here, not at dlopen.
if ! chroot "$root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LC_ALL=C \
       /bin/bash -euc '
  cd "$1"; deps=$2; shift 2
  cflags="-std=gnu11 -O2 -g -fPIC -pthread -D_GNU_SOURCE -D_FILE_OFFSET_BITS=64
          -fno-strict-aliasing -fvisibility=hidden -Wall -Wextra -Werror
          -fstack-protector-strong -D_FORTIFY_SOURCE=2
          -Iinclude -Icommon -I$deps/include -I$deps/include/libxml2"
  for d in lib/*/; do cflags="$cflags -I${d%/}"; done   # one folder a layer
  export cflags
  mkdir -p obj
  printf "%s\n" "$@" |
    xargs -P "$(nproc)" -I{} sh -c '\''gcc $cflags -c "$1" -o "obj/$(echo "$1" | tr / _).o"'\'' sh {}
  gcc -shared -o libvixDiskLib.so.8 obj/*.o -pthread \
    -Wl,-soname,libvixDiskLib.so.8 -Wl,--version-script=lib/libvixDiskLib.syms \
    -Wl,--no-undefined -Wl,--as-needed -Wl,-z,relro -Wl,-z,now \
    -Wl,--disable-new-dtags -Wl,-rpath,\$ORIGIN \
    -L"$deps/lib" -lcurl -lxml2 -lssl -lcrypto -ldeflate
' vddk-distrib "$rel" "$deps" "${sources[@]}" > "$work.log" 2>&1; then
  cat "$work.log" >&2
  echo "vddk-distrib: compiling the library in $root failed" >&2
  exit 1
fi
rm -f "$work.log"

# --- The directory ---------------------------------------------------------
dist=$outdir/vmware-vix-disklib-distrib
rm -rf "$dist" "$outdir/vddk-image"
mkdir -p "$dist/lib64" "$dist/include" "$dist/doc/licenses"

install -m 0755 "$work/libvixDiskLib.so.8" "$dist/lib64/libvixDiskLib.so.8"
strip --strip-unneeded "$dist/lib64/libvixDiskLib.so.8"
ln -s libvixDiskLib.so.8 "$dist/lib64/libvixDiskLib.so"
install -m 0644 "$srcdir/include/vixDiskLib.h" "$dist/include/vixDiskLib.h"

# The bundled libraries: those of the manifest the library needs
# (all of them, unless the library stops using one).
needed=$(readelf -d "$dist/lib64/libvixDiskLib.so.8" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p')
declare -a bundled=()
while read -r so pkg ver lic; do
  cp -L "$root$deps/lib/$so" "$dist/lib64/$so"
  chmod 0644 "$dist/lib64/$so"
  bundled+=("$so")
  cp "$root$deps/share/copyright/$pkg.copyright" "$dist/doc/licenses/$pkg.copyright"
done < "$root$deps/MANIFEST"
for so in $needed; do
  case $so in
    libc.so.*|libm.so.*|libpthread.so.*|libdl.so.*|librt.so.*|ld-linux*) ;;
    *) [ -f "$dist/lib64/$so" ] || { echo "vddk-distrib: $so is needed but not built" >&2; exit 1; } ;;
  esac
done
# Each bundled library finds the others beside it, whoever loads it.
chroot "$root" patchelf --version > /dev/null
for so in "${bundled[@]}"; do
  strip --strip-unneeded "$dist/lib64/$so"
  cp "$dist/lib64/$so" "$work/$so"
  chroot "$root" patchelf --force-rpath --set-rpath '$ORIGIN' "$rel/$so"
  cp "$work/$so" "$dist/lib64/$so"
done

floor=$("$srcdir/scripts/glibc-floor.sh" --number --max "$glibc_max" "$dist/lib64")

{
  echo "open-vixdisklib $version: an open implementation of VMware's VixDiskLib"
  echo "(lib64/libvixDiskLib.so.8, include/vixDiskLib.h)."
  echo
  cat "$srcdir/LICENSE"
  echo
  echo "Bundled libraries"
  echo "================="
  echo
  echo "lib64/ also holds the libraries libvixDiskLib.so.8 needs beyond glibc,"
  echo "built from Debian 12's source packages (apt-get source PACKAGE=VERSION)"
  echo "with only the features the library uses.  They are not part of"
  echo "open-vixdisklib and keep their own licences; the full copyright and"
  echo "licence text of each is in doc/licenses/PACKAGE.copyright (Debian's"
  echo "debian/copyright of that source package)."
  echo
  while read -r so pkg ver lic; do
    echo "lib64/$so: Debian source package $pkg $ver, main licence $lic; see doc/licenses/$pkg.copyright"
  done < "$root$deps/MANIFEST"
  echo
  echo "These libraries need glibc $floor or newer on the system that uses"
  echo "this directory, and no C++ runtime."
} > "$dist/LICENSE.txt"

# --- The tarball, as VMware ships its VDDK: one top directory -----------
tarball=$outdir/open-vixdisklib-$version.$arch.tar.gz
rm -f "$outdir"/open-vixdisklib-*.tar.gz
tar -C "$outdir" --owner=0 --group=0 --numeric-owner --sort=name \
  -czf "$tarball" vmware-vix-disklib-distrib

# --- The image's build context (distrib/Containerfile) -------------------
# FROM scratch: the directory, Debian 11's static busybox as the cp of
# the entrypoint, and an empty /opt.
image=$outdir/vddk-image
mkdir -p "$image/rootfs/bin" "$image/rootfs/usr/share/doc/busybox-static"
install -m 0644 "$srcdir/distrib/Containerfile" "$image/Containerfile"
cp -a "$dist" "$image/vmware-vix-disklib-distrib"
install -m 0755 "$root/bin/busybox" "$image/rootfs/bin/busybox"
ln -s busybox "$image/rootfs/bin/cp"
cp "$root/usr/share/doc/busybox-static/copyright" "$image/rootfs/usr/share/doc/busybox-static/copyright"

size=$(du -sk "$dist" | cut -f1)
echo "vddk-distrib: $dist (${size} KiB)"
echo "vddk-distrib: $tarball"
echo "vddk-distrib: image context $image"
echo "vddk-distrib: ${#bundled[@]} bundled libraries; needs glibc >= $floor"
echo "vddk-distrib: done in $(( $(date +%s) - start )) s"
