#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# A copy of a disk with a snapshot delta over a flat base, over HTTPS,
# fetches the base about once.  The chain reads the base between the
# delta's grains, and nbdcopy's requests finish out of order, so some
# reads of the base come late, behind chunks the read-ahead already let
# go; they must get their own bytes, not the whole chunk again and the
# chunks after it.  At most 1.25x the base's size crosses the network
# (before: 1.4x on loopback, 2x through the WAN model; now 1.01-1.08x).
# The copy is byte for byte what qemu-img reads from the same local
# chain.
# Also an ESX seSparse delta (4 KiB grains) over the same base, with 200
# runs of 64 grains written in order and 40 single grains (a 50 MiB
# file, more than the read-ahead keeps): a run is one GET, not 64, at
# most 500 GETs in all (before: 6500 on loopback; now about 250).
source "$srcdir/tests/functions.sh"
source "$srcdir/tests/remote-functions.sh"
set -e
set -x

requires qemu-img --version
requires qemu-io --version
requires nbdcopy --version
vcsim_requires
vcsim_build

size=$((256 << 20))
head -c $size /dev/urandom > base.raw
qemu-img convert -f raw -O vmdk -o subformat=monolithicFlat base.raw base.vmdk
qemu-img create -q -f vmdk -b "$PWD/base.vmdk" -F vmdk delta.vmdk
# 1000 writes of 64 KiB at random places (grains land in the delta in the
# order written, as on ESXi).
/usr/bin/python3 - > writes <<'PY'
import random
random.seed(17)
for i in range(1000):
    print("-c")
    print("write -P %d %d 64k" % (i % 250 + 1, random.randrange(0, 4096) * 65536))
PY
mapfile -t args < writes
qemu-io -f vmdk "${args[@]}" delta.vmdk > /dev/null
vmdk_set_parent_hint delta.vmdk base.vmdk
qemu-img convert -f vmdk -O raw delta.vmdk want.raw
/usr/bin/python3 "$srcdir/tests/make-sesparse.py" base.raw se-sesparse.vmdk \
  se-want.raw se-single.raw 200
sesparse_descriptor base.vmdk se-sesparse.vmdk $size > se.vmdk

start_vcsim
dir="[$VCSIM_DS] chain"
vcsim_put base.vmdk "$dir/base.vmdk"
vcsim_put base-flat.vmdk "$dir/base-flat.vmdk"
vcsim_put delta.vmdk "$dir/delta.vmdk"
vcsim_attach_disk "$VCSIM_VM" "$dir/delta.vmdk" $size "$dir/base.vmdk"
vcsim_put se.vmdk "$dir/se.vmdk"
vcsim_put se-sesparse.vmdk "$dir/se-sesparse.vmdk"
vcsim_attach_disk "$VCSIM_VM" "$dir/se.vmdk" $size "$dir/base.vmdk"
vcsim_fixture power "$VCSIM_VM" off

for via in loopback wan; do
  port=$VCSIM_PORT
  if [ $via = wan ]; then
    start_wan_proxy --rate 50000000 --delay 2
    port=$WAN_PROXY_PORT
  fi
  rm -f out.raw
  VCSIM_PORT=$port vcsim_nbdkit -rfv "$dir/delta.vmdk" \
    --run 'nbdcopy "$uri" out.raw' 2> copy.log || { cat copy.log; exit 1; }
  cmp want.raw out.raw
  read -r got _ < <(vcsim_fetched base-flat.vmdk copy.log)
  echo "$via: the base's $size bytes took $got bytes of GETs"
  [ "$got" -gt 0 ]
  [ "$got" -le $((size * 5 / 4)) ]

  rm -f out.raw
  VCSIM_PORT=$port vcsim_nbdkit -rfv "$dir/se.vmdk" \
    --run 'nbdcopy "$uri" out.raw' 2> copy.log || { cat copy.log; exit 1; }
  cmp se-want.raw out.raw
  read -r _ gets < <(vcsim_fetched se-sesparse.vmdk copy.log)
  echo "$via: the seSparse delta took $gets GETs"
  [ "$gets" -gt 0 ]
  [ "$gets" -le 500 ]
done
