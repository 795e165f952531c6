#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# Locking: while one nbdkit serves an image read-write (with a client
# connected, as the plugin opens the disk per connection), a second
# read-write nbdkit on the same image is refused with an error mentioning a
# lock, and so is a read-only one; once the first server has gone the lock
# is released.  Two read-only (-r) servers can serve the same image at the
# same time, but not alongside a writer.  The locks are qemu's (see
# test-qemu-lock-*.sh): /proc/locks shows exactly the bytes qemu-nbd holds.
source "$srcdir/tests/functions.sh"
set -e
set -x

requires nbdinfo --version
requires nbdcopy --version
requires /usr/bin/python3 -c 'import nbd'
requires qemu-img --version

# held_bytes FILE: the byte ranges locked on FILE, as /proc/locks shows
# them (adjacent bytes of one holder merged), without duplicates.
held_bytes ()
{
  local ino
  ino=$(stat -c %i "$1")
  awk -v ino="$ino" '{ n = split($6, d, ":"); if (d[n] == ino) print $7 "-" $8 }' \
    /proc/locks | sort -u | tr '\n' ' '
}

make_pattern in.raw $((4 << 20))
qemu-img convert -f raw -O vmdk in.raw "$PWD/img.vmdk"
want=$(sha256sum < in.raw | cut -d' ' -f1)

# 1. read-write server A with a connected client
start_nbdkit -P a.pid -U "$PWD/a.sock" "$VDDK_PLUGIN" "$PWD/img.vmdk"
hold "nbd+unix:///?socket=$PWD/a.sock" a
ls -la
# qemu's bytes for a writer: consistent read, write, resize held (100,
# 101, 103); write and resize not shared (201, 203).
[ "$(held_bytes img.vmdk)" = "100-101 103-103 201-201 203-203 " ]

# 2. a second read-write server must be refused, mentioning a lock
ECF_FILTER='^nbdkit: .*error' expect_clean_failure 'lock' \
  nbdkit -U - "$VDDK_PLUGIN" "$PWD/img.vmdk" --run 'nbdinfo --size "$uri"'
# ... also when it is asked to write
ECF_FILTER='^nbdkit: .*error' expect_clean_failure 'lock' \
  nbdkit -U - "$VDDK_PLUGIN" "$PWD/img.vmdk" --run 'nbdcopy in.raw "$uri"'
# ... and so is a reader, who would see the disk change under it
ECF_FILTER='^nbdkit: .*error' expect_clean_failure \
  'img.vmdk is locked: another process has it open for writing' \
  nbdkit -U - -r "$VDDK_PLUGIN" "$PWD/img.vmdk" --run 'nbdinfo --size "$uri"'

# 3. release: A's client disconnects, A exits; the image is intact and a
# read-write server can open it again.
touch a.release
sleep 0.5
kill_nbdkit a.pid
ls -la
[ "$(raw_sha256 img.vmdk)" = "$want" ]
[ "$(vddk_sha256 "$PWD/img.vmdk")" = "$want" ]

# 4. two read-only servers at the same time, both with a client connected,
# and a third read-only reader while both are open.
start_nbdkit -P b.pid -U "$PWD/b.sock" -r "$VDDK_PLUGIN" "$PWD/img.vmdk"
start_nbdkit -P c.pid -U "$PWD/c.sock" -r "$VDDK_PLUGIN" "$PWD/img.vmdk"
hold "nbd+unix:///?socket=$PWD/b.sock" b
hold "nbd+unix:///?socket=$PWD/c.sock" c
[ "$(nbd_sha256 "nbd+unix:///?socket=$PWD/b.sock")" = "$want" ]
[ "$(nbd_sha256 "nbd+unix:///?socket=$PWD/c.sock")" = "$want" ]
[ "$(vddk_sha256 -r "$PWD/img.vmdk")" = "$want" ]
# a reader holds consistent read (100) and shares nothing that writes
[ "$(held_bytes img.vmdk)" = "100-100 201-201 203-203 " ]
# ... so a writer is refused while readers are there
ECF_FILTER='^nbdkit: .*error' expect_clean_failure \
  'img.vmdk is locked: another process has it open for reading' \
  nbdkit -U - "$VDDK_PLUGIN" "$PWD/img.vmdk" --run 'nbdinfo --size "$uri"'
touch b.release c.release
