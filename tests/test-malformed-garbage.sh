#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# Files that are not VMDKs: a plain text file, random binary data, and a
# text descriptor without any extent line.  Opening fails cleanly with an
# error saying it is not a valid descriptor/VMDK (or has no extents).
source "$srcdir/tests/functions.sh"
set -e
set -x

requires nbdcopy --version
requires qemu-img --version

printf 'hello world\nthis is not a VMDK descriptor\n\x01\x02 binary\n' > text.vmdk
vddk_serve_fails 'descriptor|not a (valid )?(vmdk|virtual disk)' \
  -r "$PWD/text.vmdk"

/usr/bin/python3 -c 'import random; random.seed(42); open("random.vmdk","wb").write(bytes(random.getrandbits(8) for _ in range(1 << 20)))'
vddk_serve_fails 'descriptor|not a (valid )?(vmdk|virtual disk)|magic' \
  -r "$PWD/random.vmdk"

printf '# Disk DescriptorFile\nversion=1\nCID=12345678\nparentCID=ffffffff\ncreateType="monolithicFlat"\n\n# Extent description\n\n# The Disk Data Base\nddb.adapterType = "ide"\n' > noext.vmdk
vddk_serve_fails 'no extent|extent.*(missing|none)|without extent' -r "$PWD/noext.vmdk"
