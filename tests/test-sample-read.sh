#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# Every real VMware-made sample in $SAMPLES, served by nbdkit vddk, reads
# back with the raw sha256 recorded in PROVENANCE.md - read-only (-r, straight
# from the read-only samples directory) and read-write (on a private copy,
# because a read-write open takes a lock and may update the image).
# Where qemu-img can decode the sample too, its decoding must agree.
source "$srcdir/tests/functions.sh"
set -e
set -x

requires nbdcopy --version
requires qemu-img --version

# image  expected-sha256  qemu-can-read(1/0), from PROVENANCE.md
mapfile -t samples < <(vmware_samples)
[ ${#samples[@]} -gt 0 ]

# A private copy for the read-write runs (keeps relative extent names valid).
cp -a "$SAMPLES" samples-rw
chmod -R u+w samples-rw
touch stamp
sleep 1

failed=
for row in "${samples[@]}"; do
  read -r img expected qemu_ok <<<"$row"
  [ -f "$SAMPLES/$img" ] || { echo "missing sample $img"; exit 1; }

  if [ "$qemu_ok" = 1 ]; then
    q=$(raw_sha256 "$SAMPLES/$img")
    [ "$q" = "$expected" ] || { echo "qemu-img disagrees with PROVENANCE on $img"; exit 1; }
  fi

  got_ro=$(vddk_sha256 -r "$SAMPLES/$img") || got_ro="(serving failed)"
  echo "$img -r: $got_ro"
  [ "$got_ro" = "$expected" ] || { echo "FAIL: $img read-only: $got_ro != $expected"; failed="$failed $img(-r)"; }

  got_rw=$(vddk_sha256 "$PWD/samples-rw/$img") || got_rw="(serving failed)"
  echo "$img rw: $got_rw"
  [ "$got_rw" = "$expected" ] || { echo "FAIL: $img read-write: $got_rw != $expected"; failed="$failed $img(rw)"; }
done

# Serving read-only must not have touched the samples directory.
if [ -n "$(find "$SAMPLES" -newer stamp -print -quit 2>/dev/null)" ]; then
  find "$SAMPLES" -newer stamp -ls
  echo "FAIL: serving with -r modified files in \$SAMPLES"
  failed="$failed samples-modified"
fi

if [ -n "$failed" ]; then
  echo "FAILED:$failed"
  exit 1
fi
