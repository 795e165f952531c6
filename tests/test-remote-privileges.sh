#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# An account that may log in and read the inventory but lacks the
# privileges of datastore downloads (Datastore.Browse and
# Datastore.FileManagement on the datastore and its datacenter, and
# System.View): vCenter answers its /folder requests 401, as it does
# for an expired session (the bed's -folder-deny, see
# docs/testing-remote.md).  The open fails at once with a message that
# names the privileges, after one new login with a password, and also
# names an expired session when only a cookie was given.  Both models.
source "$srcdir/tests/functions.sh"
source "$srcdir/tests/remote-functions.sh"
set -e
set -x

requires nbdinfo --version
vcsim_requires
vcsim_build

for model in vcenter esx; do
  start_vcsim_model $model -- -folder-deny
  disk="[$VCSIM_DS] priv/flat.vmdk"
  vcsim_put_flat in.raw $((1 << 20)) "$disk"

  # with a password: one new login, then the privileges
  SECONDS=0
  refute vcsim_nbdkit -fv -r "$disk" --run 'nbdinfo --size "$uri"' 2> pw.err
  cat pw.err
  (( SECONDS < 30 ))
  grep -E "refused access to \[$VCSIM_DS\] priv/flat.vmdk \(HTTP 401, also after logging in again\): reading datastore files over HTTPS needs the Datastore.Browse and Datastore.FileManagement privileges on the datastore and its datacenter, and System.View$" pw.err
  [ "$(grep -c "SOAP Login" pw.err)" -eq 2 ]

  # with a cookie only (and an empty password): no new login is possible
  vcsim_login "$VCSIM_USER" "$VCSIM_PASSWORD" > cookie
  VCSIM_PASSWORD= refute vcsim_nbdkit -fv -r "$disk" cookie=+cookie \
    --run 'nbdinfo --size "$uri"' 2> cookie.err
  cat cookie.err
  grep -E "refused access to .*priv/flat.vmdk \(HTTP 401\): .*Datastore.Browse.*; or the session has expired$" cookie.err
  refute grep "SOAP Login" cookie.err
  stop_vcsim "$VCSIM_DIR"
done
