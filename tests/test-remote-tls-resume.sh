#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# The connections of one remote session resume its first TLS session:
# the Login's own connection, the pool's, and the read-ahead's, each a
# round trip less on a TLS 1.2 server (ESXi and vCenter 7), where a full
# handshake takes two.  With TLS 1.2 only the first connection of each
# session (each NBD connection under nbdkit) makes a full handshake,
# checked against the pin (with TLS 1.3 also one that starts before a
# ticket came); a wrong thumbprint is still refused before anything is
# sent.
# In both models, with TLS 1.2 (-tls12) and TLS 1.3; the bed records
# each TLS connection (-record-tls).
source "$srcdir/tests/functions.sh"
source "$srcdir/tests/remote-functions.sh"
set -e
set -x

requires nbdinfo --version
requires nbdcopy --version
vcsim_requires
vcsim_build

size=$((24 << 20))
for model in vcenter esx; do
  for tls in -tls12 ""; do
    start_vcsim_model $model -- $tls -record-tls "$PWD/tls"
    vcsim_put_flat in.raw $size "[$VCSIM_DS] tls/flat.vmdk"
    # Two NBD connections (nbdkit opens the disk for each): two sessions.
    : > tls
    vcsim_nbdkit -r "[$VCSIM_DS] tls/flat.vmdk" \
      --run 'nbdinfo --size "$uri" && nbdcopy "$uri" out.raw'
    cmp in.raw out.raw
    cat tls
    want=$([ "$tls" = -tls12 ] && echo TLS1.2 || echo TLS1.3)
    [ "$(grep -vc "^$want " tls)" -eq 0 ]
    # The copy's read-ahead used several connections: resumed.
    [ "$(grep -c "^$want resumed$" tls)" -ge 2 ]
    # TLS 1.2 sends its ticket in the handshake, so every connection
    # after a session's first resumes.  TLS 1.3 sends tickets after it:
    # a connection started before the first one has read its ticket
    # makes a full handshake too.
    if [ $want = TLS1.2 ]; then
      [ "$(grep -c "^$want full$" tls)" -eq 2 ]
    fi

    # The pin still decides: a wrong thumbprint is refused, nothing sent.
    : > tls
    if VCSIM_THUMBPRINT=12 vcsim_nbdkit -r "[$VCSIM_DS] tls/flat.vmdk" \
         --run 'nbdinfo --size "$uri"' 2> wrong.err; then
      exit 1
    fi
    grep "thumbprint" wrong.err
    [ ! -s tls ]
    stop_vcsim "$VCSIM_DIR"
  done
done
