#!/bin/bash
# create-type=stream-optimized is not implemented yet: it must fail with a
# clear "not supported" error (and no crash).  When it becomes supported,
# move it from UNSUPPORTED to SUPPORTED below: it is then checked like the
# other create-types.
source "$srcdir/tests/functions.sh"
set -e
set -x

requires nbdcopy --version
requires qemu-img --version

UNSUPPORTED="stream-optimized"
SUPPORTED=""            # e.g. "stream-optimized"

size=$((8 << 20))
make_pattern in.raw $size
qemu-img convert -f raw -O qcow2 in.raw input.qcow2

for t in $UNSUPPORTED; do
  ECF_FILTER='^nbdkit: .*error' expect_clean_failure 'not supported|unsupported' \
    nbdkit -U - "$VDDK_PLUGIN" "$PWD/out-$t.vmdk" create=true \
      create-type=$t create-size=$size \
      --run 'qemu-img convert input.qcow2 "$uri"'
  ls -l out-$t* 2>/dev/null || true
done

for t in $SUPPORTED; do
  case $t in
    stream-optimized) ct=streamOptimized ;;
    vmfs-sparse)      ct=vmfsSparse ;;
  esac
  create_roundtrip $t $ct $size
done
