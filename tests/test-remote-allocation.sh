#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# A thin disk read over HTTPS reports its unused areas as holes when the
# server can say which areas are in use: with changed block tracking on,
# QueryChangedDiskAreas with change ID "*" (lib/remote/remote-areas.c).
# Copies that read only data (nbdcopy, CDI's importer, virt-v2v through
# block status) then skip the rest instead of fetching zeros over the
# network.  In both models, for a thin monolithicFlat disk with data at
# known places (the datastore file itself sparse):
#  - change tracking off: everything is data, nothing is asked;
#  - on, VM powered off: the data areas are exactly the 64 KiB blocks
#    written (the bed's granularity), over several answers (vCenter
#    model: 2 areas an answer, -cbt-max-areas; ESXi model: 8 MiB an
#    answer, -cbt-span); a copy reads back the disk byte for byte, fetching
#    little more than the data (the read-ahead skips the holes), and so
#    does one that reads the holes too;
#  - on, powered on, no snapshot (the API refuses): everything is data,
#    nothing is asked; with snapshot=, the snapshot's areas;
#  - a fault from the server, a device capacity that is not the -flat
#    file's size, a -flat file that does not start at the disk's start,
#    or vixDiskLib.https.IgnoreChangedAreas = 1: everything is data
#    (never fewer areas than are in use);
#  - the answers are asked for only as far as block status needs them:
#    an NBD connection that asks for none costs one call (the plugin's
#    can_extents probe), block status in the middle of the disk the
#    calls up to there, a map of the whole disk every answer, once; an
#    answer refused after the first leaves the rest of the disk data.
# What is expected is computed from the raw image here, not by the bed.
source "$srcdir/tests/functions.sh"
source "$srcdir/tests/remote-functions.sh"
set -e
set -x

requires nbdinfo --version
requires nbdcopy --version
requires qemu-img --version
vcsim_requires
vcsim_build

size=$((64 << 20))
block=65536

# The thin disk: data at the start, unaligned in the middle, and at the
# very end; zeros (holes) elsewhere.
truncate -s $size thin.raw
for at in 0:1024 $(( (10 << 10) + 4 )):300 $((40 << 10)):2048 \
          $(( (size >> 10) - 64 )):64; do
  head -c $(( ${at#*:} << 10 )) /dev/urandom |
    dd of=thin.raw bs=1024 seek=${at%:*} conv=notrunc status=none
done
qemu-img convert -f raw -O vmdk -o subformat=monolithicFlat thin.raw thin.vmdk
# The 64 KiB blocks holding data, one offset a line.
/usr/bin/python3 - thin.raw $block > want-blocks <<'PY'
import sys
path, block = sys.argv[1], int(sys.argv[2])
with open(path, "rb") as f:
    off = 0
    while True:
        b = f.read(block)
        if not b:
            break
        if any(b):
            print(off)
        off += block
PY
[ "$(wc -l < want-blocks)" -eq $(( (1024 + 320 + 2048 + 64) / 64 )) ]

# map [PARAMS...]: the 64 KiB blocks nbdkit reports as data, one offset a
# line (into blocks), with its debug log in map.log.
map ()
{
  vcsim_nbdkit -rfv "[$VCSIM_DS] alloc/thin.vmdk" "$@" \
    --run 'nbdinfo --map "$uri"' > map.out 2> map.log || {
    cat map.log >&2; return 1; }
  awk -v b=$block '$3 == 0 { for (o = $1; o < $1 + $2; o += b) print o }' \
    map.out > blocks
}

# asked: how many QueryChangedDiskAreas calls the last map made.
asked ()
{
  grep -c ': SOAP QueryChangedDiskAreas$' map.log || true
}

all_data ()
{
  [ "$(wc -l < blocks)" -eq $((size / block)) ]
}

for model in vcenter esx; do
  bed=(-faults "$PWD/faults")
  if [ $model = esx ]; then
    bed+=(-cbt-span $((8 << 20)))
    calls=$((size / (8 << 20)))       # answers for the whole disk
    calls_to_40m=$((40 / 8 + 1))      # and up to the area at 40 MiB
    second_at=$((8 << 20))            # where the second answer starts
  else
    bed+=(-cbt-max-areas 2)
    calls=2 calls_to_40m=2
    # the end of the second area, rounded out to the bed's 64 KiB
    second_at=$(( ((10 << 20) + (304 << 10) + block - 1) / block * block ))
  fi
  start_vcsim_model $model -- "${bed[@]}"
  : > faults
  # Straight into the datastore's directory, so that the -flat file
  # keeps its holes (an upload writes every zero).
  vcsim_put thin.vmdk "[$VCSIM_DS] alloc/thin.vmdk"
  cp --sparse=always thin-flat.vmdk \
    "$(vcsim_ds_path "[$VCSIM_DS] alloc/thin-flat.vmdk")"
  vcsim_attach_disk "$VCSIM_VM" "[$VCSIM_DS] alloc/thin.vmdk" $size
  vcsim_fixture power "$VCSIM_VM" off

  # Change tracking off.
  vcsim_cbt "$VCSIM_VM" off
  map
  all_data
  [ "$(asked)" -eq 0 ]
  grep "changed block tracking is off" map.log

  # On, powered off.
  vcsim_cbt "$VCSIM_VM" on
  map
  diff want-blocks blocks
  # Every answer once, for the whole map.
  [ "$(asked)" -eq $calls ]
  grep "in use in 4 areas (QueryChangedDiskAreas, $calls calls)" map.log
  vcsim_nbdkit -rfv "[$VCSIM_DS] alloc/thin.vmdk" \
    --run 'nbdcopy "$uri" copy.raw' 2> copy.log
  cmp thin.raw copy.raw
  # Little more than the areas in use crossed the network: the
  # read-ahead fetched the next chunks holding data, from their first
  # data to their last, not the holes (before: 8 MiB chunks, holes and
  # all, 11 MiB and more).  (nbdcopy reads whole 256 KiB requests
  # around small areas, and a run's first reads go alone.)
  read -r got _ < <(vcsim_fetched thin-flat.vmdk copy.log)
  [ "$got" -le $(( 2 * (1024 + 320 + 2048 + 64) << 10 )) ]
  # The library's answer straight from a client of lib/remote/remote.h
  # (and from the ASan and TSan builds where they exist), asked while
  # four threads copy the -flat file.
  for driver in "$builddir" ${ASAN_BUILDDIR:+"$ASAN_BUILDDIR"} \
                ${TSAN_BUILDDIR:+"$TSAN_BUILDDIR"}; do
    driver=$driver/tests/remote-driver
    [ -x "$driver" ] || continue
    ASAN_OPTIONS=detect_leaks=1 \
    TSAN_OPTIONS="halt_on_error=0 exitcode=66 history_size=4" \
    VDL_TEST_USER=$VCSIM_USER VDL_TEST_PASSWORD=$VCSIM_PASSWORD \
    VDL_TEST_EXTENT="[$VCSIM_DS] alloc/thin-flat.vmdk" \
    VDL_TEST_AREAS=areas.txt \
      "$driver" "$VCSIM_HOST:$VCSIM_PORT" "$VCSIM_THUMBPRINT" "$VCSIM_VM" \
      "[$VCSIM_DS] alloc/thin.vmdk" drv.raw 2> drv.err ||
      { cat drv.err; exit 1; }
    if grep -q Sanitizer drv.err; then cat drv.err; exit 1; fi
    cmp thin.raw drv.raw
    awk -v b=$block '{ for (o = $1 - $1 % b; o < $2; o += b) print o }' \
      areas.txt > drv-blocks
    diff want-blocks drv-blocks
  done
  # A reader that reads the holes too gets them, read ahead as well.
  vcsim_nbdkit -rfv "[$VCSIM_DS] alloc/thin.vmdk" \
    --run 'nbdcopy --no-extents "$uri" copy.raw' 2> copy.log
  cmp thin.raw copy.raw
  grep "reading ahead through unused areas too" copy.log
  # A connection that asks no block status asks once: the probe.
  vcsim_nbdkit -rfv "[$VCSIM_DS] alloc/thin.vmdk" \
    --run 'nbdinfo --size "$uri"' 2> map.log
  [ "$(asked)" -eq 1 ]
  # Block status at 40 MiB: the answers up to there, not the rest.
  vcsim_nbdkit -rfv "[$VCSIM_DS] alloc/thin.vmdk" \
    --run 'nbdsh --base-allocation -u "$uri" -c "
got = []
h.block_status(1 << 20, 40 << 20,
               lambda ctx, off, ents, err: got.extend(ents))
print(got)
assert got[0] == 1 << 20 and got[1] & nbd.STATE_HOLE == 0, got
"' 2> map.log || { cat map.log; exit 1; }
  [ "$(asked)" -eq $calls_to_40m ]

  # The server refuses: everything is data; the next connection asks
  # again and gets the areas.
  echo "fault:FileFault 1 QueryChangedDiskAreas" > faults
  map
  all_data
  grep "QueryChangedDiskAreas for .* failed (FileFault)" map.log
  map
  diff want-blocks blocks
  # Refused after the first answer: what the first said stands, the
  # rest of the disk is data.
  echo "fault:FileFault 1 <startOffset>$second_at</startOffset>" > faults
  map
  grep "every sector from offset $second_at counts as data" map.log
  { awk -v e=$second_at '$1 < e' want-blocks
    seq $second_at $block $((size - 1)); } | diff - blocks

  # Asked not to.
  echo "vixDiskLib.https.IgnoreChangedAreas = 1" > ignore.conf
  map config="$PWD/ignore.conf"
  all_data
  [ "$(asked)" -eq 0 ]

  # Powered on: not without a snapshot, the snapshot's areas with one.
  vcsim_fixture power "$VCSIM_VM" on
  map
  all_data
  [ "$(asked)" -eq 0 ]
  snap=$(vcsim_snapshot "$VCSIM_VM" alloc)
  map snapshot="$snap"
  diff want-blocks blocks
  vcsim_fixture power "$VCSIM_VM" off

  # A device whose capacity is not the -flat file's size: the areas
  # would not be the file's, so they are not asked for.
  vcsim_put thin.vmdk "[$VCSIM_DS] alloc2/thin.vmdk"
  cp --sparse=always thin-flat.vmdk \
    "$(vcsim_ds_path "[$VCSIM_DS] alloc2/thin-flat.vmdk")"
  vcsim_attach_disk "$VCSIM_VM" "[$VCSIM_DS] alloc2/thin.vmdk" $((size * 2))
  vcsim_nbdkit -rfv "[$VCSIM_DS] alloc2/thin.vmdk" \
    --run 'nbdinfo --map "$uri"' > map.out 2> map.log
  [ "$(asked)" -eq 0 ]
  grep "not asking which areas are in use" map.log
  [ "$(awk '$3 == 0 { n += $2 } END { print n }' map.out)" -eq $size ]

  # The -flat file placed elsewhere than at the disk's start (after a
  # ZERO extent here): the areas are the disk's, not the file's, so they
  # are not asked for.
  sed "s/^RW $((size / 512)) FLAT \"thin-flat.vmdk\" 0\$/RW 2048 ZERO\\
RW $((size / 512 - 2048)) FLAT \"thin-flat.vmdk\" 0/" thin.vmdk > moved.vmdk
  grep -c '^RW ' moved.vmdk | grep -qx 2
  vcsim_put moved.vmdk "[$VCSIM_DS] alloc3/thin.vmdk"
  cp --sparse=always thin-flat.vmdk \
    "$(vcsim_ds_path "[$VCSIM_DS] alloc3/thin-flat.vmdk")"
  vcsim_attach_disk "$VCSIM_VM" "[$VCSIM_DS] alloc3/thin.vmdk" $size
  vcsim_nbdkit -rfv "[$VCSIM_DS] alloc3/thin.vmdk" \
    --run 'nbdinfo --map "$uri"' > map.out 2> map.log
  [ "$(asked)" -eq 0 ]
  grep "is not the whole of its disk from the start" map.log
  [ "$(awk '$3 == 0 { n += $2 } END { print n }' map.out)" -eq $((size - (1 << 20))) ]

  stop_vcsim "$VCSIM_DIR"
done
