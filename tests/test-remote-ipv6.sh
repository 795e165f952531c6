#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# A server reached at an IPv6 address (vCenter and ESXi hosts on
# IPv6-only management networks): server=::1 as VDDK users write it, and
# server=[::1] as a URL would, in both models.  The disk reads back byte
# for byte, through nbdkit and through a client of lib/remote/remote.h
# (the ASan build too, where there is one); the thumbprint is still
# checked (a wrong one is refused before any request), and an address
# nothing listens on fails with a message naming it.
source "$srcdir/tests/functions.sh"
source "$srcdir/tests/remote-functions.sh"
set -e
set -x

requires nbdcopy --version
requires qemu-img --version
vcsim_requires
if ! /usr/bin/python3 -c 'import socket; s = socket.socket(socket.AF_INET6); s.bind(("::1", 0))' 2>/dev/null; then
  echo "$0: SKIP: no IPv6 loopback (::1) on this machine"
  exit 77
fi
vcsim_build

size=$((3 << 20))
for model in vcenter esx; do
  start_vcsim_model $model --ipv6 -- -record-headers "$PWD/requests"
  [ "$VCSIM_HOST" = ::1 ]
  vcsim_put_flat in.raw $size "[$VCSIM_DS] v6/disk.vmdk"

  for host in ::1 '[::1]'; do
    rm -f out.raw
    VCSIM_HOST=$host vcsim_nbdkit -r "[$VCSIM_DS] v6/disk.vmdk" \
      --run 'nbdcopy "$uri" out.raw' 2> nbdkit.err || {
      cat nbdkit.err; exit 1; }
    cmp in.raw out.raw
  done

  for driver in "$builddir" ${ASAN_BUILDDIR:+"$ASAN_BUILDDIR"}; do
    driver=$driver/tests/remote-driver
    [ -x "$driver" ] || continue
    rm -f drv.raw
    ASAN_OPTIONS=detect_leaks=1 \
    VDL_TEST_USER=$VCSIM_USER VDL_TEST_PASSWORD=$VCSIM_PASSWORD \
    VDL_TEST_EXTENT="[$VCSIM_DS] v6/disk-flat.vmdk" \
      "$driver" "[::1]:$VCSIM_PORT" "$VCSIM_THUMBPRINT" "$VCSIM_VM" \
      "[$VCSIM_DS] v6/disk.vmdk" drv.raw 2> drv.err ||
      { cat drv.err; exit 1; }
    if grep -q Sanitizer drv.err; then cat drv.err; exit 1; fi
    cmp in.raw drv.raw
  done

  # A wrong thumbprint: refused, naming the address, before any request.
  : > "$PWD/requests"
  wrong=$(echo "$VCSIM_THUMBPRINT" | tr '0-9A-F' '1-9A-F0')
  VCSIM_THUMBPRINT=$wrong expect_failure '\[::1\]:'"$VCSIM_PORT"'.*thumbprint' \
    vcsim_nbdkit -r "[$VCSIM_DS] v6/disk.vmdk" --run 'nbdinfo --size "$uri"'
  [ ! -s "$PWD/requests" ]

  stop_vcsim "$VCSIM_DIR"
done

# Nothing listening there (the port the last simulator had).
expect_failure 'cannot connect to \[::1\]:'"$VCSIM_PORT" \
  vcsim_nbdkit -r "[$VCSIM_DS] v6/disk.vmdk" --run 'nbdinfo --size "$uri"'
