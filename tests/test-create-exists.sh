#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# create=true on a file that already exists must fail with a clear error
# (mentioning that it exists) and must leave the existing file untouched;
# also when the existing file is not a VMDK at all.
source "$srcdir/tests/functions.sh"
set -e
set -x

requires qemu-img --version
requires nbdinfo --version

make_pattern in.raw $((4 << 20))
qemu-img convert -f raw -O vmdk in.raw "$PWD/exists.vmdk"
echo "not a disk, must not be overwritten" > other.vmdk
for f in exists.vmdk other.vmdk; do
  before=$(sha256sum < $f)
  for t in monolithic-sparse monolithic-flat; do
    ECF_FILTER='^nbdkit: .*error' expect_clean_failure 'exist' \
      nbdkit -U - "$VDDK_PLUGIN" "$PWD/$f" create=true create-type=$t \
        create-size=4M --run 'nbdinfo --size "$uri"'
    [ "$(sha256sum < $f)" = "$before" ] || { echo "FAIL: $f was modified"; exit 1; }
  done
done
[ ! -e exists-flat.vmdk ]
[ ! -e other-flat.vmdk ]
# The existing image still reads as before.
[ "$(raw_sha256 exists.vmdk)" = "$(sha256sum < in.raw | cut -d' ' -f1)" ]
