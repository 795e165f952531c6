#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# Over a WAN every new HTTPS connection costs two round trips (TCP, then
# TLS) before its first request, every byte costs time, and nbdkit
# connects and opens the disk again for every NBD connection.  So
# connecting and opening a disk:
#  - uses two connections to the server, no more: the Login's own (its
#    TLS buffers held the password, so it is never reused) and one that
#    carries every other call and the file requests;
#  - downloads what it reads (descriptor, sparse header, grain
#    directory), not read-ahead: the header, descriptor and tables an
#    open reads one after the other are not a sequential copy;
#  - the plugin's first, writable, open (nbdkit without -r) fails
#    without asking the server anything: https is read-only anyway.
# Counted by a proxy in front of the simulator, in both models (vCenter
# and ESXi), for a flat disk and a sparse one holding 32 MiB of data.
source "$srcdir/tests/functions.sh"
source "$srcdir/tests/remote-functions.sh"
set -e
set -x

requires nbdinfo --version
vcsim_requires
vcsim_build

size=$((64 << 20))
head -c $((32 << 20)) /dev/urandom > in.raw
truncate -s $size in.raw
qemu-img convert -f raw -O vmdk -o subformat=monolithicFlat in.raw flat.vmdk
qemu-img convert -f raw -O vmdk -o subformat=monolithicSparse in.raw sparse.vmdk

# check_open MODEL NAME: open [ds] conn/NAME.vmdk through a new proxy
# and count its connections and the bytes the server sent.
check_open ()
{
  local model=$1 name=$2 opened bytes i
  start_wan_proxy --rate 0 --delay 0
  VCSIM_PORT=$WAN_PROXY_PORT vcsim_nbdkit -fv "$ds conn/$name.vmdk" \
    --run 'nbdinfo --size "$uri"' > size.out 2> open.log
  [ "$(cat size.out)" -eq $size ]
  # no SOAP call between the writable Open and the read-only fallback
  grep -q 'VixDiskLib_Open (connection, .*, 0, &handle)' open.log
  grep -q 'serving .* read-only' open.log
  awk '/VixDiskLib_Open \(connection, .*, 0, &handle\)/ { on = 1 }
       on && /SOAP / { bad = 1; print }
       /serving .* read-only/ { on = 0 }
       END { exit bad }' open.log
  # nbdkit has gone, so every connection ends: wait for the proxy to log it
  for (( i=0; i<100; i++ )); do
    [ "$(grep -c ': closed:' "$WAN_PROXY_LOG")" -eq \
      "$(grep -c ': open (' "$WAN_PROXY_LOG")" ] && break
    sleep 0.1
  done
  cat "$WAN_PROXY_LOG"
  opened=$(grep -c ': open (' "$WAN_PROXY_LOG")
  bytes=$(sed -n 's/.*closed: \([0-9]*\) bytes from server.*/\1/p' \
            "$WAN_PROXY_LOG" | awk '{ s += $1 } END { print s + 0 }')
  if [ "$opened" -ne 2 ]; then
    echo "$0: $model: opening $name took $opened connections, not 2" >&2
    exit 1
  fi
  if [ "$bytes" -gt $((1 << 20)) ]; then
    echo "$0: $model: opening $name downloaded $bytes bytes" >&2
    exit 1
  fi
}

for model in vcenter esx; do
  start_vcsim_model $model
  ds="[$VCSIM_DS]"
  vcsim_put flat.vmdk "$ds conn/flat.vmdk"
  vcsim_put flat-flat.vmdk "$ds conn/flat-flat.vmdk"
  vcsim_put sparse.vmdk "$ds conn/sparse.vmdk"
  vcsim_attach_disk "$VCSIM_VM" "$ds conn/flat.vmdk" $size
  vcsim_attach_disk "$VCSIM_VM" "$ds conn/sparse.vmdk" $size
  check_open $model flat
  check_open $model sparse
  stop_vcsim "$VCSIM_DIR"
done
