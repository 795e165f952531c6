#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# A sparse disk whose grains were written in random order (as a guest
# fills a thin hosted disk or a snapshot delta: grains land in the file
# in the order written), read whole over HTTPS, on loopback and through
# the WAN model.  Its grain tables lie together up front and are read a
# window at a time (read_unit), not one GET each; its grains, in no
# order in the file, are each one GET, or come from read-ahead chunks
# while those are read enough: the read-ahead (which starts on runs of
# grains written together) stops when the chunks it fetches go mostly
# unread before they are let go.  Checked: the copy equals qemu-img's
# reading of the same file; fewer GETs than grains plus a quarter of the
# tables; at most 4x the file's size fetched (before: 37x, whole chunks
# fetched again and again around single grains; now about 2x).
source "$srcdir/tests/functions.sh"
source "$srcdir/tests/remote-functions.sh"
set -e
set -x

requires qemu-img --version
requires qemu-io --version
requires nbdcopy --version
vcsim_requires
vcsim_build

size=$((32 << 30))
qemu-img create -q -f vmdk -o subformat=monolithicSparse big.vmdk $size
# 1600 single grains and 200 runs of 4 (256 KiB writes), at random places.
/usr/bin/python3 - > writes <<'PY'
import random
random.seed(11)
grains = (32 << 30) // 65536
for i in range(1800):
    n = 1 if i % 9 else 4
    print("-c")
    print("write -P %d %d %dk" % (i % 250 + 1,
                                  random.randrange(grains - 4) * 65536, 64 * n))
PY
mapfile -t args < writes
qemu-io -f vmdk "${args[@]}" big.vmdk > /dev/null
qemu-img map --output=json -f vmdk big.vmdk |
  /usr/bin/python3 -c 'import json, sys
print(sum(e["length"] for e in json.load(sys.stdin) if e["data"]) // 65536)' > grains
file_size=$(stat -c %s big.vmdk)
tables=$((size / (32 << 20)))
echo "$(cat grains) grains of 64 KiB, $tables tables, file $file_size bytes"

start_vcsim
dir="[$VCSIM_DS] scattered"
vcsim_put big.vmdk "$dir/big.vmdk"
vcsim_attach_disk "$VCSIM_VM" "$dir/big.vmdk" $size
vcsim_fixture power "$VCSIM_VM" off

for via in loopback wan; do
  port=$VCSIM_PORT
  if [ $via = wan ]; then
    start_wan_proxy --rate 50000000 --delay 2
    port=$WAN_PROXY_PORT
  fi
  VCSIM_PORT=$port vcsim_nbdkit -rfv "$dir/big.vmdk" \
    --run 'nbdcopy "$uri" --target-is-zero out.raw' 2> copy.log ||
    { cat copy.log; exit 1; }
  qemu-img compare -f vmdk -F raw big.vmdk out.raw
  rm -f out.raw
  read -r bytes gets < <(vcsim_fetched big.vmdk copy.log)
  echo "$via: $bytes bytes in $gets GETs"
  [ "$gets" -lt $(( $(cat grains) + tables / 4 )) ]
  [ "$bytes" -le $(( file_size * 4 )) ]
done
