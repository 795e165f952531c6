#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# vSAN and vVol datastores (issue 17, section 3): their disks are
# objects, named in descriptors as "vsan://..." or "vvol://..." extents,
# with no -flat file that /folder could serve.  The open fails with one
# sentence that names what is not supported over HTTPS:
#  - a disk on a datastore whose summary.type is "vsan" (vCenter model)
#    or "VVOL" (ESXi model), set by the bed (scripts/vcsim/vsan.go) while
#    the files stay downloadable, so that only the type can tell;
#  - a descriptor with vsan:// or vvol:// extents on an ordinary
#    datastore (one copied from vSAN).
source "$srcdir/tests/functions.sh"
source "$srcdir/tests/remote-functions.sh"
set -e
set -x

requires nbdinfo --version
vcsim_requires
vcsim_build

size=$((4 << 20))

# info NAME: nbdinfo --size of the disk NAME of the default VM.
info ()
{
  vcsim_nbdkit -fv "$1" --run 'nbdinfo --size "$uri"'
}

# object_descriptor SCHEME: a descriptor as vSAN or vVol writes it.
object_descriptor ()
{
  cat <<DESC
# Disk DescriptorFile
version=1
CID=3a7c51e2
parentCID=ffffffff
createType="vmfs"

# Extent description
RW 8192 VMFS "$1://52e1a6c5f1f94e28-7d2a8bd4b4ef57f0/7a3b2c5d-01a4-4bd3-9a55-2f8c0d8e6b11"

# The Disk Data Base
#DDB

ddb.adapterType = "lsilogic"
ddb.virtualHWVersion = "14"
DESC
}

for model in vsan vvol; do
  if [ $model = vsan ]; then
    start_vcsim -- -ds-type LocalDS_0=vsan
    kind=vSAN
  else
    start_vcsim --esx -- -ds-type LocalDS_0=VVOL
    kind=vVol
  fi
  ds="[$VCSIM_DS]"
  vcsim_put_flat flat.raw $size "$ds obj/flat.vmdk"
  # The files are there: only the datastore's type says they are not
  # what the VM really uses.
  [ "$(curl -sk -o /dev/null -w '%{http_code}' -I "$(vcsim_folder_url "$ds obj/flat-flat.vmdk")")" = 200 ]
  refute info "$ds obj/flat.vmdk" > $model.out 2> $model.err
  cat $model.err
  grep "obj/flat.vmdk on .* is on $VCSIM_DS, a $kind datastore: its disks are $kind objects with no -flat file, which cannot be read over HTTPS" $model.err
  [ "$(grep -c "VixDiskLib_Open:.*$kind datastore" $model.err)" = 1 ]
  stop_vcsim "$VCSIM_DIR"
done

# Object extents in a descriptor on an ordinary datastore.
start_vcsim
ds="[$VCSIM_DS]"
for scheme in vsan vvol; do
  object_descriptor $scheme > $scheme.vmdk
  vcsim_put $scheme.vmdk "$ds obj/$scheme.vmdk"
  vcsim_attach_disk "$VCSIM_VM" "$ds obj/$scheme.vmdk" $size
  refute info "$ds obj/$scheme.vmdk" 2> ext-$scheme.err
  cat ext-$scheme.err
  [ $scheme = vsan ] && kind=vSAN || kind=vVol
  grep "the extent $scheme://52e1a6c5f1f94e28.* is a $kind object, not a file: disks on vSAN and vVol datastores cannot be read over HTTPS" ext-$scheme.err
done
