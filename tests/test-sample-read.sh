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

# Checksums from PROVENANCE.md (the only hard-coded expected data).
ten_mib=a3bcf05f07a1c06a3380eeca8571f0efb2b85afafa1e21662b8cad436d1f7727
markers=92c0f8b4280377437056f57c51ef51a5f8aeb1462ac630ef0633febcbfc3db4e
thick=8d43c795d24bce01b49f92744f934c1072210dcac170bb1c83a5aa56df46ab7d
for sum in $ten_mib $markers $thick; do
  grep -qF "$sum" "$SAMPLES/PROVENANCE.md"
done

# image  expected-sha256  qemu-can-read(1/0)
samples=(
  "monolithicSparse.vmdk            $ten_mib 1"
  "twoGbMaxExtentSparse.vmdk        $ten_mib 1"
  "monolithicFlat.vmdk              $ten_mib 1"
  "twoGbMaxExtentFlat.vmdk          $ten_mib 1"
  "streamOptimized.vmdk             $ten_mib 1"
  "streamOptimizedWithMarkers.vmdk  $markers 1"
  "vdiskmanager-t4-vmfs/4.vmdk      $ten_mib 0"
  "vmfs_thick.vmdk                  $thick   1"
)

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
