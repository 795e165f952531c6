#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# Datacenter, folder and datastore names with spaces, '+', '&', '%', '/',
# '\' and non-ASCII, stored escaped as vSphere stores them (%25, %2f,
# %5c), read through /folder as each server decodes its query: vCenter
# twice (so dcPath and dsName must be encoded twice), ESXi once.  First
# the bed itself is checked with curl (vCenter answers 404 to names
# encoded once and serves them encoded twice; ESXi serves them encoded
# once), then disks (a sparse disk with a parent, a flat disk and its
# extent) are read with the plugin and compared with qemu-img's reading
# of the same files.
source "$srcdir/tests/functions.sh"
source "$srcdir/tests/remote-functions.sh"
set -e
set -x

requires qemu-img --version
requires qemu-io --version
requires nbdcopy --version
vcsim_requires
vcsim_build

M=$((1 << 20))
size=$((4 * M))
ds_name='R&D store+1 %/é'
dc_name='DC 0+&%\ü'
folder_name='F/1 & +%'

make_pattern base.raw $size
qemu-img convert -q -f raw -O vmdk -o subformat=monolithicSparse base.raw base.vmdk
qemu-img convert -q -f raw -O vmdk -o subformat=monolithicFlat base.raw flat.vmdk
qemu-img create -q -f vmdk -b "$PWD/base.vmdk" -F vmdk child.vmdk
qemu-io -c "write -P 0x5a 1M 64k" child.vmdk > /dev/null
qemu-img convert -q -f vmdk -O raw child.vmdk child.raw
vmdk_set_parent_hint child.vmdk base.vmdk

enc () # STRING TIMES: percent-encode every reserved byte, TIMES times
{
  /usr/bin/python3 -c '
import sys, urllib.parse
s = sys.argv[1]
for _ in range(int(sys.argv[2])):
    s = urllib.parse.quote(s, safe="")
print(s)' "$1" "$2"
}

# status DCPATH DSNAME TIMES: HTTP status of a HEAD on names/flat.vmdk
# with both query values encoded TIMES times.
status ()
{
  curl -sk -o /dev/null -w '%{http_code}' -I -b "vmware_soap_session=$cookie" \
    "https://$VCSIM_HOST:$VCSIM_PORT/folder/names/flat.vmdk?dcPath=$(enc "$1" $3)&dsName=$(enc "$2" $3)"
}

serve ()
{
  rm -f out.raw
  vcsim_nbdkit "$1" --run 'nbdcopy "$uri" out.raw' 2> serve.err ||
    { cat serve.err; return 1; }
}

# check DCPATH: the names as stored, the bed's decoding, then the disks.
check ()
{
  local dc_path=$1 ds=$VCSIM_DS once twice f
  # The inventory stores '/', '\' and '%' escaped, the rest as it is.
  [ "$ds" = 'R&D store+1 %25%2fé' ]
  for f in base.vmdk flat.vmdk flat-flat.vmdk child.vmdk; do
    vcsim_put $f "[$ds] names/$f"
  done
  cookie=$(vcsim_login "$VCSIM_USER" "$VCSIM_PASSWORD")
  once=$(status "$dc_path" "$ds" 1)
  twice=$(status "$dc_path" "$ds" 2)
  if [ "$VCSIM_API" = VirtualCenter ]; then
    [ "$once" = 404 ] && [ "$twice" = 200 ]
  else
    [ "$once" = 200 ] && [ "$twice" = 404 ]
  fi
  vcsim_logout "$cookie"

  vcsim_attach_disk "$VCSIM_VM" "[$ds] names/flat.vmdk" $size
  vcsim_attach_disk "$VCSIM_VM" "[$ds] names/child.vmdk" $size \
    "[$ds] names/base.vmdk"
  serve "[$ds] names/flat.vmdk"
  same_raw out.raw base.raw
  serve "[$ds] names/child.vmdk"
  same_raw out.raw child.raw
}

echo "=== vCenter: datacenter in a folder, every name odd, double decoding"
start_vcsim -- -dc-folders 1 -rename "LocalDS_0=$ds_name" \
  -rename "DC0=$dc_name" -rename "F0=$folder_name"
[ "$VCSIM_DC" = 'DC 0+&%25%5cü' ]
check 'F%2f1 & +%25/DC 0+&%25%5cü'

echo "=== ESXi: an odd datastore name, single decoding"
start_vcsim --esx -- -rename "LocalDS_0=$ds_name"
check ha-datacenter
