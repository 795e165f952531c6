#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# Remote disks through the man page's command lines, with the open library
# (no libdir=), against the simulator in its vCenter and ESXi models:
# every format the local library reads is served over the datastore's
# HTTPS interface and nbdcopy's output equals qemu-img's decoding of the
# same local file.  Also: a parent/child chain (a relative parent hint and
# an /vmfs/volumes one), single-link, the map of a sparse disk, a
# snapshot's disk, and the read-only export (said once; writes refused).
source "$srcdir/tests/functions.sh"
source "$srcdir/tests/remote-functions.sh"
set -e
set -x

requires qemu-img --version
requires nbdcopy --version
requires nbdinfo --version
requires /usr/bin/python3 -c 'import nbd'
vcsim_requires
vcsim_build

M=$((1 << 20))
size=$((8 * M))

# The local files: qemu-img's formats, our stream, and ESX deltas.
make_pattern in.raw $size
qemu-img convert -f raw -O vmdk -o subformat=monolithicSparse in.raw sparse.vmdk
qemu-img convert -f raw -O vmdk -o subformat=monolithicFlat in.raw flat.vmdk
qemu-img convert -f raw -O vmdk -o subformat=twoGbMaxExtentSparse in.raw split.vmdk
qemu-img convert -f raw -O vmdk -o subformat=streamOptimized in.raw stream.vmdk
nbdkit -U - "$VDDK_PLUGIN" "$PWD/ours.vmdk" create=true create-size=$size \
  create-type=stream-optimized --run 'nbdcopy in.raw "$uri"'
# A child over sparse.vmdk with some new data, hint relative.
qemu-img create -q -f vmdk -b "$PWD/sparse.vmdk" -F vmdk child.vmdk
qemu-io -c "write -P 0x5a 1M 192k" -c "write -P 0x33 7M 4k" child.vmdk > /dev/null
vmdk_set_parent_hint child.vmdk sparse.vmdk
# ESX seSparse and vmfsSparse (COWD) deltas over a flat base.
cp "$SAMPLES/vmfs_thick.vmdk" "$SAMPLES/vmfs_thick-flat.vmdk" .
/usr/bin/python3 "$srcdir/tests/make-sesparse.py" vmfs_thick-flat.vmdk \
  se-sesparse.vmdk se-expected.raw se-single.raw
sesparse_descriptor vmfs_thick.vmdk se-sesparse.vmdk $((4096 * 512)) > se.vmdk
thick_size=$(( $(stat -c %s vmfs_thick-flat.vmdk) ))

# serve IMAGE [PARAMS...]: the man page's command line for this simulator,
# copying the export to out.raw.
serve ()
{
  local img=$1
  shift
  rm -f out.raw
  vcsim_nbdkit "$img" "$@" --run 'nbdcopy "$uri" out.raw' 2> serve.err ||
    { cat serve.err; return 1; }
  cat serve.err
}

check_models ()
{
  local ds="[$VCSIM_DS]" f
  for f in sparse.vmdk flat.vmdk flat-flat.vmdk split.vmdk split-s001.vmdk \
           stream.vmdk ours.vmdk child.vmdk vmfs_thick.vmdk \
           vmfs_thick-flat.vmdk se.vmdk se-sesparse.vmdk; do
    vcsim_put "$f" "$ds remote/$f"
  done
  for f in sparse flat split stream ours; do
    vcsim_attach_disk "$VCSIM_VM" "$ds remote/$f.vmdk" $size
  done
  vcsim_attach_disk "$VCSIM_VM" "$ds remote/child.vmdk" $size \
    "$ds remote/sparse.vmdk"
  vcsim_attach_disk "$VCSIM_VM" "$ds remote/se.vmdk" $thick_size \
    "$ds remote/vmfs_thick.vmdk"

  for f in sparse flat split stream ours child se; do
    if [ $f = se ]; then cp se-expected.raw expected.raw
    else qemu-img convert -O raw $f.vmdk expected.raw; fi
    serve "$ds remote/$f.vmdk"
    same_raw out.raw expected.raw
    # Remote disks are read-only: said once at open.
    grep -c "serving .*read-only" serve.err | grep -qx 1
  done

  # single-link: the child alone (zeros where it has no data).
  serve "$ds remote/child.vmdk" single-link=true
  qemu-img convert -O raw "json:{\"file\":{\"driver\":\"file\",\"filename\":\"$PWD/child.vmdk\"},\"driver\":\"vmdk\",\"backing\":null}" single.raw
  same_raw out.raw single.raw

  # The map of a remote sparse disk equals the local one.
  m1=$(vcsim_nbdkit "$ds remote/sparse.vmdk" --run 'nbdinfo --map --json "$uri"' |
       /usr/bin/python3 -c '
import json, sys
print([(e["offset"], e["length"], e["type"]) for e in json.load(sys.stdin)])')
  m2=$(nbdkit -r -U - "$VDDK_PLUGIN" "$PWD/sparse.vmdk" --run 'nbdinfo --map --json "$uri"' |
       /usr/bin/python3 -c '
import json, sys
print([(e["offset"], e["length"], e["type"]) for e in json.load(sys.stdin)])')
  [ "$m1" = "$m2" ]

  # The export is read-only: writes are refused, the disk is unchanged.
  vcsim_nbdkit "$ds remote/sparse.vmdk" --run 'nbdinfo "$uri" | grep "is_read_only: true" &&
      nbdsh -u "$uri" -c "
try:
    h.pwrite(b\"x\" * 512, 0)
except nbd.Error as e:
    print(\"refused:\", e)
else:
    raise SystemExit(\"a remote write succeeded\")
"'
  cmp sparse.vmdk "$VCSIM_DS_DIR/remote/sparse.vmdk"

  # A snapshot's disk: served with snapshot=.
  snap=$(vcsim_snapshot "$VCSIM_VM" before)
  serve "$ds remote/sparse.vmdk" snapshot="$snap"
  same_raw out.raw in.raw
}

start_vcsim
check_models
stop_vcsim

start_vcsim --esx
check_models
