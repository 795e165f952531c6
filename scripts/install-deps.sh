#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# Install the Debian packages needed to build and test, if any is missing
# (install-deps.sh [build|deb|all]).
# Safe to run repeatedly: it only calls apt-get when something is absent.
set -e

build_pkgs="gcc binutils make meson ninja-build pkg-config perl nbdkit nbdkit-plugin-dev
  zlib1g-dev libdeflate-dev libcurl4-openssl-dev libxml2-dev libssl-dev"
test_pkgs="qemu-utils libnbd-bin python3-libnbd nbdkit expect valgrind
  coreutils procps strace e2fsprogs bsdextrautils util-linux mount
  python3-libvmdk golang-go golang-github-vmware-govmomi-dev python3-pyvmomi
  openssl curl patchelf debootstrap mmdebstrap buildah"
# debootstrap or mmdebstrap (faster): make vddk-distrib builds the VDDK
# directory in a Debian 11 root (scripts/bullseye-root.sh), and its tests
# load it there; buildah builds its init image offline.
# make fuzz only: libFuzzer comes with clang (libclang-common); the
# standalone libFuzzer package is listed for builds that link it directly.
fuzz_pkgs="clang-14 libfuzzer-14-dev"

# Only for "make deb" and "make check-deb" (tests/test-deb.sh): the Debian
# packaging tools.  A package build itself never installs anything.
deb_pkgs="dpkg-dev debhelper fakeroot lintian"

# make bench: fio's nbd engine for the random-read cases.
bench_pkgs="fio"

case "${1:-all}" in
  build) pkgs="$build_pkgs" ;;
  deb)   pkgs="$build_pkgs $deb_pkgs" ;;
  fuzz)  pkgs="$build_pkgs $fuzz_pkgs" ;;
  bench) pkgs="$build_pkgs $test_pkgs $bench_pkgs" ;;
  *)     pkgs="$build_pkgs $test_pkgs" ;;
esac

missing=
for p in $pkgs; do
  status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
  case "$status" in
    *" installed") ;;
    *) missing="$missing $p" ;;
  esac
done

[ -z "$missing" ] && exit 0

echo "install-deps: installing:$missing"
if [ "$(id -u)" != 0 ]; then
  sudo=sudo
else
  sudo=
fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
# shellcheck disable=SC2086
$sudo apt-get install -y -qq --no-install-recommends $missing
