#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# bullseye-root.sh ROOT: make ROOT a Debian 11 (bullseye, glibc 2.31)
# root with a C compiler, once.  make vddk-distrib builds the VDDK
# directory in it so that the directory loads on glibc 2.31 and newer
# (scripts/vddk-distrib.sh), and tests/test-vddk-distrib-portable.sh
# runs a VDDK client in it.
#
# The root is made with mmdebstrap or debootstrap from the Debian mirror the host's
# apt uses (or $VDDK_DEBIAN_MIRROR), under a lock (ROOT.lock) so that
# parallel callers make it once; ROOT/.complete marks a finished root.
# Exit status: 0 the root is ready; 3 the archive cannot be reached
# (callers skip or fail with that reason); anything else an error.
set -euo pipefail

root=${1:?usage: bullseye-root.sh ROOT}
mkdir -p "$(dirname "$root")"
root=$(cd "$(dirname "$root")" && pwd)/$(basename "$root")

# What the builds and the tests need; nothing that bundles a library
# the VDDK directory also bundles (curl, libxml2, OpenSSL...).
# patchelf sets the bundled libraries' run path; busybox-static is the
# image's cp (distrib/Containerfile).
packages=gcc,libc6-dev,make,perl,pkg-config,dpkg-dev,xz-utils,patchelf,busybox-static
stamp="bullseye $packages"

if [ "$(cat "$root/.complete" 2>/dev/null)" = "$stamp" ]; then
  exit 0
fi
if [ "$(id -u)" != 0 ]; then
  echo "bullseye-root: debootstrap and chroot need root" >&2
  exit 3
fi
command -v debootstrap >/dev/null || command -v mmdebstrap >/dev/null || {
  echo "bullseye-root: neither debootstrap nor mmdebstrap is installed (scripts/install-deps.sh)" >&2
  exit 3
}

# The host's Debian mirror: the first URI of a "debian" archive in
# apt's sources (one-line or deb822 format).
mirror=${VDDK_DEBIAN_MIRROR:-}
if [ -z "$mirror" ]; then
  mirror=$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list \
               /etc/apt/sources.list.d/*.sources 2>/dev/null |
           grep -Eo '(^deb(-src)? +(\[[^]]*\] +)?|^URIs: *)https?://[^ ]*/debian/?( |$)' |
           grep -Eo 'https?://[^ ]*' | sed 's|/$||' | head -n 1 || true)
  mirror=${mirror:-http://deb.debian.org/debian}
fi

exec 9> "$root.lock"
flock 9
# Another caller may have finished it while we waited.
if [ "$(cat "$root/.complete" 2>/dev/null)" = "$stamp" ]; then
  exit 0
fi
# A half-made root (an interrupted run) is made again, unless something
# is still mounted in it.
if [ -e "$root" ]; then
  if grep -qF " $root/" /proc/self/mounts; then
    echo "bullseye-root: $root is incomplete and has mounts; unmount them first" >&2
    exit 1
  fi
  rm -rf "$root"
fi

# mmdebstrap where it is installed: it downloads with apt and unpacks
# without fsync, several minutes faster than debootstrap here.
start=$(date +%s)
if command -v mmdebstrap >/dev/null; then
  tool=mmdebstrap
  make_root () { mmdebstrap --variant=minbase --include="$packages" \
                   --dpkgopt=force-unsafe-io bullseye "$root" "$mirror"; }
else
  tool=debootstrap
  make_root () { debootstrap --variant=minbase --include="$packages" \
                   bullseye "$root" "$mirror"; }
fi
echo "bullseye-root: $tool bullseye from $mirror into $root"
if ! make_root > "$root.log" 2>&1; then
  tail -n 20 "$root.log" >&2
  if grep -qiE 'Failed getting release file|Couldn.t download|Failed to fetch|Temporary failure|Could not resolve|Connection refused|unable to fetch|Release.*(not found|does not have)' "$root.log"; then
    echo "bullseye-root: cannot reach the Debian archive at $mirror" >&2
    rm -rf "$root"
    exit 3
  fi
  echo "bullseye-root: $tool failed (log: $root.log)" >&2
  exit 1
fi

# Sources for "apt-get source" in the root: Debian 12's (bookworm)
# maintained packages of the bundled libraries (scripts/vddk-deps.sh).
cat > "$root/etc/apt/sources.list" <<EOF
deb $mirror bullseye main
deb-src $mirror bookworm main
deb-src ${mirror%/debian}/debian-security bookworm-security main
EOF
# The root resolves names with the host's resolver.
cp -L /etc/resolv.conf "$root/etc/resolv.conf" 2>/dev/null || true
if ! chroot "$root" apt-get update -qq > "$root.log" 2>&1; then
  tail -n 20 "$root.log" >&2
  echo "bullseye-root: apt-get update in the root failed" >&2
  exit 3
fi
chroot "$root" apt-get clean
echo "$stamp" > "$root/.complete"
echo "bullseye-root: ready in $(( $(date +%s) - start )) s"
