#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# make vddk-distrib: a directory laid out like VMware's VDDK, for
# programs that take a "vmware-vix-disklib-distrib" directory (KubeVirt
# CDI's and Forklift's VDDK images, virt-v2v, nbdkit libdir=...):
#
#   OUTDIR/vmware-vix-disklib-distrib/
#     lib64/libvixDiskLib.so.8       the open library (DT_RPATH $ORIGIN)
#     lib64/libvixDiskLib.so         -> libvixDiskLib.so.8
#     lib64/lib*.so.*                every library it needs beyond glibc
#     include/vixDiskLib.h
#     LICENSE.txt                    our licence, the bundled libraries'
#     doc/licenses/PACKAGE.copyright their Debian copyright files
#     Containerfile                  the VDDK image as CDI describes it
#   OUTDIR/open-vixdisklib-VERSION.ARCH.tar.gz   the directory, packed
#
# Usage: scripts/vddk-distrib.sh BUILDDIR OUTDIR
# Only reads the build tree and the system's libraries; installs nothing.
set -euo pipefail

srcdir=$(cd "$(dirname "$0")/.." && pwd)
builddir=$(cd "${1:?usage: vddk-distrib.sh BUILDDIR OUTDIR}" && pwd)
outdir=${2:?usage: vddk-distrib.sh BUILDDIR OUTDIR}
mkdir -p "$outdir"
outdir=$(cd "$outdir" && pwd)

lib=$builddir/distrib/libvixDiskLib.so.8
[ -f "$lib" ] || { echo "vddk-distrib: $lib not built (run make)" >&2; exit 1; }
version=$(meson introspect --projectinfo "$builddir" |
          python3 -c 'import json, sys; print(json.load(sys.stdin)["version"])')
arch=$(uname -m)

dist=$outdir/vmware-vix-disklib-distrib
rm -rf "$dist"
mkdir -p "$dist/lib64" "$dist/include" "$dist/doc/licenses"

# The library under its soname, as VMware ships it, and the link.
install -m 0755 "$lib" "$dist/lib64/libvixDiskLib.so.8"
strip --strip-unneeded "$dist/lib64/libvixDiskLib.so.8"
ln -s libvixDiskLib.so.8 "$dist/lib64/libvixDiskLib.so"
install -m 0644 "$srcdir/include/vixDiskLib.h" "$dist/include/vixDiskLib.h"

# glibc's own libraries stay out: they must be the ones of the system
# that runs the program (they depend on its dynamic linker and on each
# other's private interfaces).  Everything else ldd lists is copied.
is_glibc ()
{
  case $1 in
    ld-linux*|linux-vdso*|linux-gate*|libc.so.*|libm.so.*|libmvec.so.*| \
    libpthread.so.*|libdl.so.*|librt.so.*|libresolv.so.*|libutil.so.*| \
    libanl.so.*|libnsl.so.1|libBrokenLocale.so.*|libthread_db.so.*| \
    libc_malloc_debug.so.*|libnss_*) return 0 ;;
  esac
  return 1
}

declare -A bundled_path=()
bundled=()
while read -r soname path; do
  is_glibc "$soname" && continue
  if [ ! -f "$path" ]; then
    echo "vddk-distrib: ldd could not resolve $soname" >&2
    exit 1
  fi
  cp -L "$path" "$dist/lib64/$soname"
  chmod 0644 "$dist/lib64/$soname"
  bundled+=("$soname")
  bundled_path[$soname]=$path
done < <(ldd "$lib" | awk '$2 == "=>" && $3 ~ /^\// { print $1, $3 } $2 == "=>" && $3 == "not" { print $1, "not-found" }')

# The Debian package of each bundled library.  With /usr merged, dpkg
# may know a file by ldd's /lib/... path, by its real path, or by the
# real path without /usr: ask for all of them at once.
declare -A pkg_of=() owner=()
queries=()
for so in "${bundled[@]}"; do
  p=${bundled_path[$so]}
  real=$(readlink -f "$p")
  queries+=("$p" "$real" "${real#/usr}" "$(dirname "$p")/$(basename "$real")")
done
if command -v dpkg-query >/dev/null; then
  while IFS= read -r line; do
    owner[${line#*: }]=$(sed 's/:.*//' <<<"$line")
  done < <(dpkg-query -S "${queries[@]}" 2>/dev/null | grep -v ', ' || true)
fi
for so in "${bundled[@]}"; do
  p=${bundled_path[$so]}
  real=$(readlink -f "$p")
  for q in "$p" "$real" "${real#/usr}" "$(dirname "$p")/$(basename "$real")"; do
    if [ -n "${owner[$q]:-}" ]; then pkg_of[$so]=${owner[$q]}; break; fi
  done
done

# main_licence COPYRIGHT: the licence of "Files: *" in a machine-readable
# Debian copyright file, or nothing.
main_licence ()
{
  awk '/^Files: *\*[ \t]*$/ { m = 1; next }
       m && /^License:/ { sub(/^License: */, ""); print; exit }
       /^$/ { m = 0 }' "$1"
}

# The glibc the bundle needs: the newest GLIBC_x.y any of its objects
# refers to.
glibc_needed=$(for f in "$dist"/lib64/*.so*; do
                 [ -L "$f" ] || objdump -T "$f" | awk '/\*UND\*/' | grep -o 'GLIBC_[0-9.]*'
               done | sed 's/GLIBC_//' | sort -uV | tail -n 1)

# Licences: ours, then one line per bundled library with the licences
# named in its Debian copyright file, which is copied in full.
{
  echo "open-vixdisklib $version: an open implementation of VMware's VixDiskLib"
  echo "(lib64/libvixDiskLib.so.8, include/vixDiskLib.h)."
  echo
  cat "$srcdir/LICENSE"
  echo
  echo "Bundled libraries"
  echo "================="
  echo
  echo "lib64/ also holds the libraries libvixDiskLib.so.8 needs, copied from"
  echo "the Debian system that built it ($(. /etc/os-release && echo "$PRETTY_NAME")), so that the directory works"
  echo "on a system without them.  They are not part of open-vixdisklib and"
  echo "keep their own licences.  The full copyright and licence text of each"
  echo "is in doc/licenses/PACKAGE.copyright (Debian's /usr/share/doc/PACKAGE/copyright);"
  echo "the source of each is Debian's source package for that version"
  echo "(apt-get source PACKAGE=VERSION)."
  echo
  for so in "${bundled[@]}"; do
    p=${pkg_of[$so]:-}
    if [ -n "$p" ]; then
      v=$(dpkg-query -W -f '${Version}' "$p" 2>/dev/null | head -n 1)
      c=/usr/share/doc/$p/copyright
      lic=
      if [ -f "$c" ]; then
        cp -L "$c" "$dist/doc/licenses/$p.copyright"
        lic=$(main_licence "$c")
      fi
      echo "lib64/$so: Debian package $p $v, ${lic:+main licence $lic; }see doc/licenses/$p.copyright"
    else
      echo "lib64/$so: not from a Debian package; see its own distribution"
    fi
  done
  echo
  echo "These libraries need glibc $glibc_needed or newer on the system that uses"
  echo "this directory."
} > "$dist/LICENSE.txt"

install -m 0644 "$srcdir/distrib/Containerfile" "$dist/Containerfile"

# The tarball, as VMware ships its VDDK: one top directory.
tarball=$outdir/open-vixdisklib-$version.$arch.tar.gz
tar -C "$outdir" --owner=0 --group=0 --numeric-owner --sort=name \
  -czf "$tarball" vmware-vix-disklib-distrib

echo "vddk-distrib: $dist"
echo "vddk-distrib: $tarball"
echo "vddk-distrib: ${#bundled[@]} bundled libraries; needs glibc >= $glibc_needed"
