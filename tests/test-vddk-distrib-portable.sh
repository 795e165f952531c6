#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# The VDDK directory of make vddk-distrib loads in an older userland
# than the build machine's: a Debian 11 root (glibc 2.31, made once with
# debootstrap and cached in $builddir/bullseye-root; skipped only when
# debootstrap cannot reach the Debian archive).  In that root:
#  - scripts/glibc-floor.sh finds no object in lib64/ needing a glibc
#    newer than 2.31, nor libstdc++ or libgcc_s;
#  - a plain VDDK client (tests/distrib-client.c) compiles against the
#    directory's include/ and lib64/ alone, with a DT_RUNPATH of its own
#    (which, unlike DT_RPATH, does not reach the library's
#    dependencies: they must come from the library's $ORIGIN run path),
#    and ldd finds every library, the non-glibc ones in lib64/;
#  - without LD_LIBRARY_PATH, the client reads every VMware sample of
#    tests/data/vmware with the checksums of PROVENANCE.md, and fails
#    clearly on the one whose delta is missing;
#  - it reads a disk of the vSphere simulator (running outside the
#    root; a chroot shares the network) over HTTPS with the bundled
#    libcurl and OpenSSL.
source "$srcdir/tests/functions.sh"
source "$srcdir/tests/remote-functions.sh"
set -e
set -x

requires qemu-img --version
vcsim_requires
root=${VDDK_BULLSEYE_ROOT:-$builddir/bullseye-root}
make_vddk_distrib "$PWD/out"

# --- The glibc floor ---------------------------------------------------
"$srcdir/scripts/glibc-floor.sh" --max 2.31 "$dist/lib64" | tee floor.txt
grep -Fx 'glibcxx none' floor.txt
grep -Fx 'c++ runtime none' floor.txt
grep -F "glibc $("$srcdir/scripts/glibc-floor.sh" --number "$dist/lib64") or newer" "$dist/LICENSE.txt"

# The root's glibc is the older one.
chroot "$root" /usr/bin/ldd --version > root-glibc.txt
head -n 1 root-glibc.txt
grep -E '^ldd .* 2\.31$' root-glibc.txt

# --- A client built in the root ----------------------------------------
# Its own directory in the root's /tmp; the directory is copied there
# as a user would unpack the tarball.
inside=$(mktemp -d "$root/tmp/distrib-portable.XXXXXX")
cleanup_fn rm -rf "$inside"
rel=${inside#"$root"}
tar -C "$inside" -xzf "$(ls "$PWD"/out/open-vixdisklib-*.tar.gz)"
cp "$srcdir/tests/distrib-client.c" "$inside/"
cp -a "$SAMPLES" "$inside/samples"
d=$rel/vmware-vix-disklib-distrib

# in_root CMD...: run CMD in the root, in $rel, with a clean environment
# (no LD_LIBRARY_PATH).
in_root ()
{
  chroot "$root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LC_ALL=C \
    /bin/sh -c 'cd "$0" && exec "$@"' "$rel" "$@"
}

in_root gcc -std=gnu11 -Wall -Wextra -Werror -D_GNU_SOURCE -I"$d/include" \
  distrib-client.c -o distrib-client -L"$d/lib64" -lvixDiskLib \
  -Wl,--enable-new-dtags -Wl,-rpath,"$d/lib64"
readelf -d "$inside/distrib-client" | grep -F "(RUNPATH)"

in_root ldd ./distrib-client | tee ldd.out
refute grep -q 'not found' ldd.out
for so in libvixDiskLib.so.8 libcurl.so.4 libxml2.so.2 libssl.so.3 libcrypto.so.3 libdeflate.so.0; do
  grep -E "^[[:space:]]*$so => $d/lib64/$so " ldd.out
done
# Nothing else but glibc.
awk '$2 == "=>" { print $1 }' ldd.out |
  grep -vE '^(libvixDiskLib|libcurl|libxml2|libssl|libcrypto|libdeflate)\.so\.' |
  grep -vxE '(libc|libm|libpthread|libdl|librt)\.so\.[0-9]+' > others || true
[ ! -s others ] || { cat others; echo "unexpected libraries"; exit 1; }

# --- Every VMware sample, read in the root --------------------------------
mapfile -t samples < <(vmware_samples)
[ ${#samples[@]} -gt 0 ]
failed=
for row in "${samples[@]}"; do
  read -r img expected _ <<<"$row"
  got=$(in_root sh -c "./distrib-client local samples/$img | sha256sum" | cut -d' ' -f1)
  echo "$img: $got"
  [ "$got" = "$expected" ] || failed="$failed $img"
done
[ -z "$failed" ] || { echo "FAIL: wrong contents:$failed"; exit 1; }
# The client checks every read, so an empty or short output is caught
# above; a sample that cannot open must fail with a clear error.
if in_root ./distrib-client local samples/vmfs_thick-000001.vmdk > /dev/null 2> delta.err; then
  echo "reading a disk whose delta is missing succeeded"; exit 1
fi
cat delta.err
grep -F 'vmfs_thick-000001-delta.vmdk' delta.err

# --- A remote disk of the simulator, read in the root ----------------------
M=$((1 << 20))
size=$((4 * M))
make_pattern in.raw $size
qemu-img convert -f raw -O vmdk -o subformat=monolithicSparse in.raw remote.vmdk
start_vcsim --user root --password Portable-secret-41c
remote="[$VCSIM_DS] portable/remote.vmdk"
vcsim_put remote.vmdk "$remote"
vcsim_attach_disk "$VCSIM_VM" "$remote" $size
printf %s "$VCSIM_PASSWORD" > "$inside/pw"
in_root ./distrib-client remote "$VCSIM_HOST" "$VCSIM_PORT" "$VCSIM_THUMBPRINT" \
  "$VCSIM_VM" "$VCSIM_USER" pw "$remote" > remote.raw 2> remote.err ||
  { cat remote.err; exit 1; }
cat remote.err
same_raw remote.raw in.raw
refute grep -F "$VCSIM_PASSWORD" remote.err

# A wrong thumbprint is refused there too: the bundled OpenSSL does the
# pin check, not something of the host's.
bad=$(sed 's/^../00/' <<<"$VCSIM_THUMBPRINT")
[ "$bad" != "$VCSIM_THUMBPRINT" ] || bad=$(sed 's/^../11/' <<<"$VCSIM_THUMBPRINT")
if in_root ./distrib-client remote "$VCSIM_HOST" "$VCSIM_PORT" "$bad" \
     "$VCSIM_VM" "$VCSIM_USER" pw "$remote" > /dev/null 2> badfp.err; then
  echo "a wrong thumbprint was accepted"; exit 1
fi
cat badfp.err
grep -i 'thumbprint' badfp.err
