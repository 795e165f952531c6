#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# Paged property retrieval (issue 17, section 6), in both models.  Real
# servers return RetrievePropertiesEx results in pages, with a token for
# ContinueRetrievePropertiesEx; govmomi's simulator never does, so the
# bed (scripts/vcsim/paging.go) cuts every result to one object a page
# (-page-size 1).  Every lookup of the library (the VM and its
# snapshots, its disks, the datastores and their datacenters, the power
# state and datastore types) must follow the tokens: the copy comes out
# right, the VM's power state is seen (the warning), and the bed logged
# pages and continuations.
source "$srcdir/tests/functions.sh"
source "$srcdir/tests/remote-functions.sh"
set -e
set -x

requires nbdcopy --version
vcsim_requires
vcsim_build

size=$((4 << 20))

for model in vcenter esx; do
  start_vcsim_model $model -- -page-size 1
  ds="[$VCSIM_DS]"
  vcsim_put_flat in.raw $size "$ds paging/flat.vmdk"
  vcsim_fixture power "$VCSIM_VM" on
  lines=$(wc -l < "$VCSIM_DIR/log")

  vcsim_nbdkit -fv "$ds paging/flat.vmdk" --run 'nbdcopy "$uri" out.raw' \
    2> $model.err || { cat $model.err; exit 1; }
  cmp out.raw in.raw
  grep "warning: VM $VCSIM_VM .* is powered on" $model.err
  # The library's calls were paged, and it asked for the rest.
  tail -n +$((lines + 1)) "$VCSIM_DIR/log" > ours.log
  grep -q "vcsim-paging: 1 objects, [0-9]* left for token" ours.log
  [ "$(grep -c "SOAP ContinueRetrievePropertiesEx" $model.err)" -ge 3 ]
  if grep "InvalidArgument\|unknown or used token" $model.err; then exit 1; fi
  stop_vcsim "$VCSIM_DIR"
done
