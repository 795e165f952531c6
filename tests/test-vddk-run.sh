#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# Serving the sample VMDKs: size, contents, read-only mode and writes.
source "$srcdir/tests/functions.sh"
set -e
set -x

requires nbdinfo --version
requires nbdcopy --version
requires nbdsh --version

size=10485760
sum=a3bcf05f07a1c06a3380eeca8571f0efb2b85afafa1e21662b8cad436d1f7727

# Read-write (the library locks the file, so use a writable copy).
cp "$SAMPLES/monolithicSparse.vmdk" sparse.vmdk
chmod u+w sparse.vmdk
nbdkit -U - "$VDDK_PLUGIN" "$PWD/sparse.vmdk" --run 'nbdinfo "$uri"' > out
cat out
grep -E "^[[:space:]]*export-size: $size( |$)" out
grep -E "is_read_only: false" out
grep -E "can_flush: true" out
grep -E "can_fua: true" out
grep -E "block_size_minimum: 512$" out
grep -E "block_size_preferred: [0-9]+" out
grep -E "block_size_maximum: 4294967295$" out

# Read-only, straight from the read-only samples directory, and with
# file= spelled out.
nbdkit -r -U - "$VDDK_PLUGIN" file="$SAMPLES/monolithicSparse.vmdk" \
  --run 'nbdinfo "$uri"' > out
cat out
grep -E "^[[:space:]]*export-size: $size( |$)" out
grep -E "is_read_only: true" out

# The whole contents.
test "$(nbdkit -r -U - "$VDDK_PLUGIN" "$SAMPLES/monolithicSparse.vmdk" \
          --run 'nbdcopy "$uri" - | sha256sum | cut -d" " -f1')" = "$sum"

# Writes, with FUA and flush, survive into a new nbdkit.
nbdkit -U - "$VDDK_PLUGIN" "$PWD/sparse.vmdk" --run '
  nbdsh -u "$uri" \
    -c "h.pwrite(b\"A\" * 4096, 1048576, nbd.CMD_FLAG_FUA)" \
    -c "h.pwrite(b\"B\" * 512, 9999872)" \
    -c "h.flush()"'
nbdkit -r -U - "$VDDK_PLUGIN" "$PWD/sparse.vmdk" --run '
  nbdsh -u "$uri" \
    -c "assert h.pread(4096, 1048576) == b\"A\" * 4096" \
    -c "assert h.pread(512, 9999872) == b\"B\" * 512"'

# Writing to a read-only export is refused.
if nbdkit -r -U - "$VDDK_PLUGIN" "$PWD/sparse.vmdk" \
     --run 'nbdsh -u "$uri" -c "h.pwrite(b\"C\" * 512, 0)"'; then
  echo "write to read-only export succeeded"; exit 1
fi

# Many requests in flight over several connections, with the library
# completing them before ReadAsync/WriteAsync returns (the stand-in's
# default) and later on its own threads.
for late in "" 1; do
  FAKE_VDDK_LATE_CALLBACK=$late \
  nbdkit -U - "$VDDK_PLUGIN" libdir="$builddir/tests" /nofile --run '
    nbdcopy --connections=4 --requests=32 --request-size=4096 \
      -- [ nbdkit pattern 512K ] "$uri" &&
    nbdcopy --connections=4 --requests=32 --request-size=4096 "$uri" copy.raw'
  nbdkit -U - pattern 512K --run 'nbdcopy "$uri" pattern.raw'
  cmp pattern.raw copy.raw
  rm copy.raw pattern.raw
done
