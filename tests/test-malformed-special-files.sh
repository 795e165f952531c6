#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# Files that are not disks are refused by what they are, read-only and
# read-write: /dev/zero and /dev/null (character devices, which used to be
# called "empty"), a FIFO (whose open used to wait forever for a writer),
# a socket and a directory - given as the disk, or named by a descriptor
# as its extent.  A block device holding a disk is served.
source "$srcdir/tests/functions.sh"
set -e
set -x

requires nbdcopy --version
requires /usr/bin/python3 --version
requires qemu-img --version

mkfifo "$PWD/fifo.vmdk"
/usr/bin/python3 -c '
import socket, sys
socket.socket(socket.AF_UNIX).bind(sys.argv[1])' "$PWD/sock.vmdk"
mkdir "$PWD/dir.vmdk"

for ro in -r ""; do
  vddk_serve_fails '/dev/zero is a character device, not a VMDK file' \
    $ro /dev/zero
  vddk_serve_fails '/dev/null is a character device, not a VMDK file' \
    $ro /dev/null
  vddk_serve_fails 'fifo\.vmdk is a FIFO \(named pipe\), not a VMDK file' \
    $ro "$PWD/fifo.vmdk"
  vddk_serve_fails 'sock\.vmdk is a socket, not a VMDK file' \
    $ro "$PWD/sock.vmdk"
  vddk_serve_fails 'dir\.vmdk is a directory, not a VMDK file' \
    $ro "$PWD/dir.vmdk"
done

# A descriptor naming a FIFO as its flat extent, or a character device.
mkdir x
cp "$SAMPLES/monolithicFlat.vmdk" x/
chmod u+w x/monolithicFlat.vmdk
mkfifo x/monolithicFlat-flat.vmdk
for ro in -r ""; do
  vddk_serve_fails 'monolithicFlat-flat\.vmdk is a FIFO \(named pipe\)' \
    $ro "$PWD/x/monolithicFlat.vmdk"
done
rm x/monolithicFlat-flat.vmdk
ln -s /dev/zero x/monolithicFlat-flat.vmdk
vddk_serve_fails 'monolithicFlat-flat\.vmdk is a character device' \
  -r "$PWD/x/monolithicFlat.vmdk"

# Nothing was written into the FIFO or the directory.
[ -p fifo.vmdk ] && [ -z "$(ls -A dir.vmdk)" ]

# A block device holding a disk is fine: e.g. a VMDK written to a raw
# device or a logical volume.  (Needs root and a free loop device.)
if [ "$(id -u)" = 0 ] &&
   dev=$(losetup -f --show -r "$SAMPLES/monolithicSparse.vmdk" 2>/dev/null); then
  cleanup_fn losetup -d "$dev"
  [ "$(vddk_sha256 -r "$dev")" = "$(raw_sha256 "$SAMPLES/monolithicSparse.vmdk")" ]
else
  echo "no loop device: serving from a block device not checked"
fi
