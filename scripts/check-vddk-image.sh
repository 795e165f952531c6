#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# check-vddk-image.sh: the VDDK init image has the layout of CDI's
# instructions (an image with /vmware-vix-disklib-distrib, an /opt, and
# the entrypoint ["cp", "-r", "/vmware-vix-disklib-distrib", "/opt"],
# which the importer pod runs as an init container with an emptyDir on
# /opt before nbdkit vddk libdir=/opt/vmware-vix-disklib-distrib).
#
#   check-vddk-image.sh --context DIR
#       DIR is the build context make vddk-distrib writes (vddk-image/):
#       checks the Containerfile, then lays the image's filesystem out
#       as its steps say and checks that;
#   check-vddk-image.sh --rootfs DIR --entrypoint JSON [--workdir W]
#       DIR is a built image's filesystem (buildah mount), JSON its
#       entrypoint as the image's config has it.
#
# The filesystem check runs the entrypoint in it (chroot, as root) with
# an empty /opt, as the init container does, and compares the copy with
# the image's directory.
set -euo pipefail

want_entrypoint='["cp", "-r", "/vmware-vix-disklib-distrib", "/opt"]'
context= rootfs= entrypoint= workdir=
while [ $# -gt 0 ]; do
  case $1 in
    --context) context=$2; shift 2 ;;
    --rootfs) rootfs=$2; shift 2 ;;
    --entrypoint) entrypoint=$2; shift 2 ;;
    --workdir) workdir=$2; shift 2 ;;
    *) echo "check-vddk-image: unknown argument $1" >&2; exit 2 ;;
  esac
done

fail () { echo "check-vddk-image: $*" >&2; exit 1; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

if [ -n "$context" ]; then
  cf=$context/Containerfile
  [ -f "$cf" ] || fail "no Containerfile in $context"
  # The steps, comments and blank lines left out, must be these: an
  # offline build (FROM scratch, no RUN) of CDI's layout.
  grep -vE '^[[:space:]]*(#|$)' "$cf" > "$tmp/steps"
  cat > "$tmp/want" <<EOF
FROM scratch
COPY rootfs/ /
COPY vmware-vix-disklib-distrib /vmware-vix-disklib-distrib
ENV PATH=/bin
WORKDIR /opt
ENTRYPOINT $want_entrypoint
EOF
  diff -u "$tmp/want" "$tmp/steps" >&2 || fail "$cf: unexpected steps"
  # Lay the filesystem out as those steps do.
  rootfs=$tmp/rootfs
  mkdir -p "$rootfs"
  cp -a "$context/rootfs/." "$rootfs/"
  cp -a "$context/vmware-vix-disklib-distrib" "$rootfs/vmware-vix-disklib-distrib"
  mkdir -p "$rootfs/opt"
  entrypoint=$want_entrypoint workdir=/opt
fi
[ -n "$rootfs" ] || { echo "usage: check-vddk-image.sh --context DIR | --rootfs DIR --entrypoint JSON" >&2; exit 2; }

# The entrypoint, compared as JSON (an image config writes it compactly).
python3 -c 'import json, sys; sys.exit(json.loads(sys.argv[1]) != json.loads(sys.argv[2]))' \
  "$entrypoint" "$want_entrypoint" || fail "entrypoint $entrypoint, not $want_entrypoint"
[ -z "$workdir" ] || [ "$workdir" = /opt ] || fail "working directory $workdir, not /opt"

d=$rootfs/vmware-vix-disklib-distrib
[ -d "$rootfs/opt" ] || fail "no /opt in the image"
[ -f "$d/lib64/libvixDiskLib.so.8" ] || fail "no /vmware-vix-disklib-distrib/lib64/libvixDiskLib.so.8"
[ "$(readlink "$d/lib64/libvixDiskLib.so")" = libvixDiskLib.so.8 ] ||
  fail "/vmware-vix-disklib-distrib/lib64/libvixDiskLib.so is not a link to libvixDiskLib.so.8"
[ -f "$d/include/vixDiskLib.h" ] || fail "no /vmware-vix-disklib-distrib/include/vixDiskLib.h"
# cp must run with nothing else in the image: a static program.
cp_path=$rootfs/bin/cp
[ -e "$cp_path" ] || fail "no /bin/cp in the image"
# (A link in the image is relative, or absolute within the image.)
real=$cp_path
while [ -L "$real" ]; do
  t=$(readlink "$real")
  case $t in /*) real=$rootfs$t ;; *) real=$(dirname "$real")/$t ;; esac
done
[ -f "$real" ] || fail "/bin/cp leads nowhere in the image"
if readelf -l "$real" | grep -q 'INTERP'; then
  fail "/bin/cp is dynamically linked, but the image has no libraries"
fi

# Run the entrypoint as the init container does: /opt an empty volume.
if [ "$(id -u)" = 0 ]; then
  # The entrypoint's "cp", found on the image's PATH.
  env -i PATH=/bin "$(command -v chroot)" "$rootfs" cp -r /vmware-vix-disklib-distrib /opt
  diff -r "$d" "$rootfs/opt/vmware-vix-disklib-distrib" >&2 ||
    fail "the entrypoint's copy in /opt differs from the image's directory"
  [ -L "$rootfs/opt/vmware-vix-disklib-distrib/lib64/libvixDiskLib.so" ] ||
    fail "the entrypoint's copy lost the libvixDiskLib.so link"
  rm -rf "$rootfs/opt/vmware-vix-disklib-distrib"
else
  echo "check-vddk-image: not root: the entrypoint was not run" >&2
fi
echo "check-vddk-image: the image has CDI's layout"
