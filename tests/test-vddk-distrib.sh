#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# make vddk-distrib (scripts/vddk-distrib.sh): the directory in VMware's
# layout for CDI and Forklift.  Built in the test's own directory under
# /tmp, outside every library search path, it must
#  - have VMware's layout, the header and the licences, and pack into a
#    tarball with the same tree;
#  - hold exactly the libraries libvixDiskLib needs except glibc's, each
#    with its source package, version and licence in LICENSE.txt, so
#    that ldd with LD_LIBRARY_PATH=lib64 (and, through DT_RPATH $ORIGIN,
#    without it) finds each of them in lib64/ and nothing is missing;
#  - come with the build context of the VDDK init image in the layout
#    of CDI's instructions (scripts/check-vddk-image.sh);
#  - serve a local disk with nbdkit vddk libdir=<dir>, the bundled
#    libcurl, libxml2 and OpenSSL being the ones loaded, whether or not
#    the plugin re-execs with lib64 on LD_LIBRARY_PATH as upstream's does;
#  - read a remote disk from the vSphere simulator the same way.
# The directory is built in a Debian 11 root (scripts/bullseye-root.sh):
# the test is skipped when debootstrap cannot reach the Debian archive.
# tests/test-vddk-distrib-portable.sh loads it in that root.
source "$srcdir/tests/functions.sh"
source "$srcdir/tests/remote-functions.sh"
set -e
set -x

requires qemu-img --version
requires nbdcopy --version
requires nbdinfo --version
vcsim_requires

make_vddk_distrib "$PWD/out"
lib64=$dist/lib64
case $dist in
  /lib/*|/lib64/*|/usr/lib/*|/usr/lib64/*|/usr/local/lib/*)
    echo "the test directory is on a system library path"; exit 1 ;;
esac
refute grep -qF "$lib64" <(ldconfig -p)

# --- Layout -----------------------------------------------------------
test -f "$lib64/libvixDiskLib.so.8"
test ! -L "$lib64/libvixDiskLib.so.8"
test -L "$lib64/libvixDiskLib.so"
[ "$(readlink "$lib64/libvixDiskLib.so")" = libvixDiskLib.so.8 ]
cmp "$dist/include/vixDiskLib.h" "$srcdir/include/vixDiskLib.h"
readelf -d "$lib64/libvixDiskLib.so.8" | grep -E 'SONAME.*\[libvixDiskLib\.so\.8\]'
readelf -d "$lib64/libvixDiskLib.so.8" | grep -E '\(RPATH\).*\[\$ORIGIN\]'

# Our licence, and one line per bundled library naming its package and
# its copyright file, which is there.
grep -q 'BSD 3-Clause License' "$dist/LICENSE.txt"
grep -q 'glibc [0-9.]* or newer' "$dist/LICENSE.txt"
for so in libcurl.so.4 libxml2.so.2 libdeflate.so.0 libssl.so.3 libcrypto.so.3; do
  test -f "$lib64/$so"
  line=$(grep -E "^lib64/$so: Debian source package [a-z0-9]+ [^ ]+, main licence [^;]+; see " "$dist/LICENSE.txt")
  copyright=$(sed -n 's/.*see \(doc\/licenses\/[^ ]*\.copyright\)$/\1/p' <<<"$line")
  test -s "$dist/$copyright"
done

# The image's build context, checked by script; and the image built
# offline with buildah where buildah can build at all here (a trivial
# FROM scratch image first, or the step is skipped, saying why), its
# filesystem and entrypoint checked the same way.
"$srcdir/scripts/check-vddk-image.sh" --context "$PWD/out/vddk-image"
diff -r "$dist" "$PWD/out/vddk-image/vmware-vix-disklib-distrib"
if command -v buildah >/dev/null; then
  B=(buildah --root "$PWD/storage/root" --runroot "$PWD/storage/run" --storage-driver vfs)
  cleanup_fn rm -rf "$PWD/storage"
  mkdir probe && echo probe > probe/f && printf 'FROM scratch\nCOPY f /f\n' > probe/Containerfile
  if "${B[@]}" bud --isolation chroot -t localhost/probe:1 probe > probe.log 2>&1; then
    "${B[@]}" bud --isolation chroot -t localhost/vddk:test "$PWD/out/vddk-image"
    "${B[@]}" inspect --type image localhost/vddk:test > image.json
    entrypoint=$(python3 -c 'import json, sys; print(json.dumps(json.load(sys.stdin)["OCIv1"]["config"]["Entrypoint"]))' < image.json)
    workdir=$(python3 -c 'import json, sys; print(json.load(sys.stdin)["OCIv1"]["config"]["WorkingDir"])' < image.json)
    ctr=$("${B[@]}" from localhost/vddk:test)
    mnt=$("${B[@]}" mount "$ctr")
    "$srcdir/scripts/check-vddk-image.sh" --rootfs "$mnt" --entrypoint "$entrypoint" --workdir "$workdir"
    diff -r "$dist" "$mnt/vmware-vix-disklib-distrib"
    "${B[@]}" umount "$ctr"
  else
    cat probe.log
    echo "buildah cannot build an image here: the image was checked by script only"
  fi
fi

# The tarball holds the same tree under one top directory, the link
# kept as a link.
tarball=$(ls "$PWD"/out/open-vixdisklib-*.tar.gz)
tar -tzf "$tarball" | sed 's|/$||' | sort > tar.list
(cd "$PWD/out" && find vmware-vix-disklib-distrib | sort) > dir.list
diff tar.list dir.list
tar -tvzf "$tarball" vmware-vix-disklib-distrib/lib64/libvixDiskLib.so |
  grep -E '^l.*libvixDiskLib\.so -> libvixDiskLib\.so\.8$'

# --- Libraries ----------------------------------------------------------
is_glibc_name ()
{
  [[ $1 =~ ^(ld-linux.*|linux-vdso.*|lib(c|m|mvec|pthread|dl|rt|resolv|util|anl)\.so\..*)$ ]]
}
# No glibc library is bundled.
for f in "$lib64"/*; do
  if is_glibc_name "$(basename "$f")"; then echo "glibc's $f is bundled"; exit 1; fi
done

# check_ldd OBJECT [ENV...]: every dependency of OBJECT resolves, glibc's
# from the system and all the others from lib64/.
check_ldd ()
{
  local obj=$1 so arrow path rest
  shift
  env "$@" ldd "$obj" > ldd.out
  cat ldd.out
  refute grep -q 'not found' ldd.out
  while read -r so arrow path rest; do
    [ "$arrow" = "=>" ] || continue
    if is_glibc_name "$so"; then
      case $path in "$lib64"/*) echo "$so came from lib64"; return 1 ;; esac
    elif [ "$path" != "$lib64/$so" ]; then
      echo "$obj: $so resolved to $path, not $lib64/$so"; return 1
    fi
  done < ldd.out
}
check_ldd "$lib64/libvixDiskLib.so.8" LD_LIBRARY_PATH="$lib64"
# Without LD_LIBRARY_PATH too: the library's DT_RPATH is $ORIGIN.
check_ldd "$lib64/libvixDiskLib.so.8" -u LD_LIBRARY_PATH
# Every bundled library finds its own dependencies there as well, by
# its own run path too.
for f in "$lib64"/lib*.so.*; do
  [ -L "$f" ] && continue
  readelf -d "$f" | grep -E '\(RPATH\).*\[\$ORIGIN\]'
  check_ldd "$f" LD_LIBRARY_PATH="$lib64"
  check_ldd "$f" -u LD_LIBRARY_PATH
done
# Nothing is bundled that the library does not need.
LD_LIBRARY_PATH="$lib64" ldd "$lib64/libvixDiskLib.so.8" |
  awk '$2 == "=>" { print $1 }' | while read -r so; do
    is_glibc_name "$so" || echo "$so"
  done | sort > needed.list
(cd "$lib64" && ls | grep -v '^libvixDiskLib\.so') | sort > bundled.list
diff needed.list bundled.list

# --- Serving a local disk -----------------------------------------------
M=$((1 << 20))
size=$((8 * M))
make_pattern in.raw $size
qemu-img convert -f raw -O vmdk -o subformat=monolithicSparse in.raw local.vmdk

nbdkit "$VDDK_PLUGIN" --dump-plugin libdir="$dist" > dump
grep -Fx "vddk_library_version=8" dump
grep -Fx "vddk_dll=$lib64/libvixDiskLib.so.8" dump

# check_maps FILE: the copy of nbdkit's /proc/PID/maps in FILE shows
# libvixDiskLib and the bundled libraries loaded from lib64 only.
check_maps ()
{
  local so
  for so in libvixDiskLib.so.8 libcurl.so.4 libxml2.so.2 libssl.so.3 libcrypto.so.3 libdeflate.so.0; do
    grep -F "/$so" "$1" | awk '{ print $6 }' | sort -u > mapped
    cat mapped
    [ -s mapped ] || { echo "$so is not loaded"; return 1; }
    refute grep -v "^$lib64/$so\$" mapped
  done
}

unset LD_LIBRARY_PATH
nbdkit -v -r -U - "$VDDK_PLUGIN" libdir="$dist" "$PWD/local.vmdk" \
  --run 'cat /proc/$PPID/maps > maps.local
         echo "child LD_LIBRARY_PATH=${LD_LIBRARY_PATH-<unset>}"
         nbdcopy "$uri" local.raw' > local.log 2>&1 || { cat local.log; exit 1; }
cat local.log
# The plugin may re-exec with lib64 on LD_LIBRARY_PATH, as upstream's
# does (then cleaning up after itself), or not: the library's run path
# makes that unnecessary.
if grep -F "re-executing with" local.log; then
  grep -Fx "nbdkit: debug: re-executing with updated LD_LIBRARY_PATH=$lib64" local.log
  grep -F "cleaning up after re-exec" local.log
fi
grep -Fx "child LD_LIBRARY_PATH=<unset>" local.log
check_maps maps.local
same_raw local.raw in.raw

# --- Reading a remote disk from the simulator ---------------------------
start_vcsim --user root --password Distrib-secret-8d1
printf %s "$VCSIM_PASSWORD" > pw
remote="[$VCSIM_DS] distrib/local.vmdk"
vcsim_put local.vmdk "$remote"
vcsim_attach_disk "$VCSIM_VM" "$remote" $size
nbdkit -v -r -U - "$VDDK_PLUGIN" libdir="$dist" \
  user="$VCSIM_USER" password=+pw server="$VCSIM_HOST" port="$VCSIM_PORT" \
  thumbprint="$VCSIM_THUMBPRINT" vm=moref="$VCSIM_VM" "$remote" \
  --run 'cat /proc/$PPID/maps > maps.remote
         nbdcopy "$uri" remote.raw' > remote.log 2>&1 || { cat remote.log; exit 1; }
if grep -F "re-executing with" remote.log; then
  grep -Fx "nbdkit: debug: re-executing with updated LD_LIBRARY_PATH=$lib64" remote.log
fi
# The password survived the re-exec (it is handed over on an fd).
refute grep -F "$VCSIM_PASSWORD" remote.log
check_maps maps.remote
same_raw remote.raw in.raw
