#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# The proxy variables of the environment do not apply to the library's
# connections: like VMware's library, it connects straight to the
# server.  CDI and Forklift give importer pods the cluster's proxy
# (HTTPS_PROXY and friends, for downloads from the internet), and a
# vCenter on the site's own network must still be reached the way VDDK
# reaches it.  A listener stands in for the proxy: the copy must come
# out right and the listener must see no connection at all.
source "$srcdir/tests/functions.sh"
source "$srcdir/tests/remote-functions.sh"
set -e
set -x

requires nbdcopy --version
vcsim_requires
vcsim_build

start_vcsim
disk="[$VCSIM_DS] proxy/flat.vmdk"
vcsim_put_flat in.raw $((4 << 20)) "$disk"

# The would-be proxy: logs every connection it accepts, then drops it.
/usr/bin/python3 -c '
import os, socket, sys
s = socket.socket()
s.bind(("127.0.0.1", 0))
s.listen(16)
with open("proxy.port.tmp", "w") as f:
    f.write("%d\n" % s.getsockname()[1])
os.rename("proxy.port.tmp", "proxy.port")
while True:
    c, peer = s.accept()
    with open("proxy.log", "a") as f:
        f.write("connection from %s:%d\n" % peer)
    c.close()
' & proxy_pid=$!
cleanup_fn kill $proxy_pid
for (( i=0; i<100; i++ )); do [ -s proxy.port ] && break; sleep 0.1; done
proxy="http://127.0.0.1:$(cat proxy.port)"
: > proxy.log

# Every spelling libcurl reads, and nothing exempt from them.
NO_PROXY= no_proxy= https_proxy="$proxy" HTTPS_PROXY="$proxy" \
  all_proxy="$proxy" ALL_PROXY="$proxy" \
  vcsim_nbdkit -fv "$disk" --run 'nbdcopy "$uri" out.raw'
cmp in.raw out.raw
if [ -s proxy.log ]; then
  cat proxy.log
  echo "$0: the library connected to the proxy of the environment" >&2
  exit 1
fi
