#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# A descriptor quotes its extent file names and ends each line with a
# newline, so a disk named with a double quote or a line break (from which
# the extent names are made) could never be read back: create=true refuses
# such names with a clear error and leaves no file behind.  A quote or a
# newline in the directory part is harmless (it is not written) and works.
source "$srcdir/tests/functions.sh"
set -e
set -x

requires nbdinfo --version
requires qemu-img --version

names=('a"b.vmdk' $'new\nline.vmdk' $'cr\rname.vmdk' '"quoted".vmdk')
for name in "${names[@]}"; do
  for t in monolithic-sparse monolithic-flat split-sparse vmfs-thin \
           stream-optimized vmfs-sparse; do
    mkdir d
    # (the plugin prints the name as it is, so a newline splits its line)
    ECF_FILTER='^nbdkit: .*error|^[a-z]*line\.vmdk: ' expect_clean_failure \
      'cannot create .*: its file name contains (a double quote|a line break), which a VMDK descriptor cannot hold' \
      nbdkit -U - "$VDDK_PLUGIN" "$PWD/d/$name" create=true create-type=$t \
        create-size=1M --run 'nbdinfo --size "$uri"'
    if [ -n "$(ls -A d)" ]; then
      ls -la d; echo "FAIL: $t: files left behind"; exit 1
    fi
    rmdir d
  done
done

# In the directory part they do no harm.
for dir in 'q"dir' $'nl\ndir'; do
  mkdir "$dir"
  for t in monolithic-sparse monolithic-flat split-sparse; do
    size=$(nbdkit -U - "$VDDK_PLUGIN" "$PWD/$dir/ok-$t.vmdk" create=true \
             create-type=$t create-size=1M --run 'nbdinfo --size "$uri"')
    [ "$size" = $((1 << 20)) ]
    qemu-img check "$dir/ok-$t.vmdk" 2>/dev/null || qemu-img info "$dir/ok-$t.vmdk"
    [ "$(vddk_sha256 -r "$PWD/$dir/ok-$t.vmdk")" = \
      "$(head -c $((1 << 20)) /dev/zero | sha256sum | cut -d' ' -f1)" ]
  done
done
