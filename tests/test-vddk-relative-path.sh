#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# A local file named relative to the directory nbdkit starts in works when
# nbdkit daemonizes (no -f), although it then changes directory to /: the
# plugin makes local names absolute while parsing its parameters.  libdir=
# and config= are resolved then too.  Remote names ("[datastore] path")
# are the server's and reach the library as given.
source "$srcdir/tests/functions.sh"
set -e
set -x

requires nbdcopy --version
requires qemu-img --version

mkdir -p sub/dir
cp "$SAMPLES/monolithicSparse.vmdk" sub/dir/ms.vmdk
cp "$SAMPLES/monolithicFlat.vmdk" "$SAMPLES/monolithicFlat-flat.vmdk" sub/
chmod u+w sub/dir/ms.vmdk sub/monolithicFlat*
want=$(raw_sha256 sub/dir/ms.vmdk)
[ "$want" = "$(raw_sha256 sub/monolithicFlat.vmdk)" ]

# serve NAME [PARAMS...]: nbdkit in the background (daemonized, so in /),
# serving NAME; prints the sha256 of the export.
n=0
serve ()
{
  n=$((n + 1))
  rm -f "s$n.sock"
  start_nbdkit -P "$PWD/s$n.pid" -U "$PWD/s$n.sock" "$VDDK_PLUGIN" "$@"
  nbd_sha256 "nbd+unix:///?socket=$PWD/s$n.sock"
  kill_nbdkit "$PWD/s$n.pid"
}

[ "$(serve sub/dir/ms.vmdk)" = "$want" ]
[ "$(serve ./sub/dir/ms.vmdk)" = "$want" ]
[ "$(serve -r file=sub/monolithicFlat.vmdk)" = "$want" ]
# the flat extent is found beside the descriptor, through a symlink too
ln -s sub/monolithicFlat.vmdk link.vmdk
ln -s sub/monolithicFlat-flat.vmdk monolithicFlat-flat.vmdk
[ "$(serve -r link.vmdk)" = "$want" ]
# From a subdirectory, with ..
( cd sub/dir && [ "$(serve ../monolithicFlat.vmdk)" = "$want" ] )

# Read-write, and writes land in the file named.
qemu-img convert -f vmdk -O raw sub/dir/ms.vmdk ref.raw
start_nbdkit -P "$PWD/rw.pid" -U "$PWD/rw.sock" "$VDDK_PLUGIN" sub/dir/ms.vmdk
nbd_write_mirror "nbd+unix:///?socket=$PWD/rw.sock" ref.raw 0:4096 \
  $((5 << 20)):65536
kill_nbdkit "$PWD/rw.pid"
qemu-img compare -f vmdk -F raw sub/dir/ms.vmdk ref.raw

# create=true: the new disk is made here, not in /.
make_pattern in.raw $((4 << 20))
start_nbdkit -P "$PWD/c.pid" -U "$PWD/c.sock" "$VDDK_PLUGIN" sub/new.vmdk \
  create=true create-type=monolithic-flat create-size=4M
nbdcopy in.raw "nbd+unix:///?socket=$PWD/c.sock"
kill_nbdkit "$PWD/c.pid"
[ ! -e /new.vmdk ] && [ ! -e /sub/new.vmdk ]
qemu-img compare -f vmdk -F raw sub/new.vmdk in.raw

# libdir= relative to the starting directory.
mkdir -p mylib/lib64
ln -s "$VDDK_LIBDIR/lib64/libvixDiskLib.so.8" mylib/lib64/
[ "$(serve -r libdir=mylib sub/monolithicFlat.vmdk)" = "$want" ]

# What reaches the library (the VDDK 6.5 stand-in traces its calls).
trace ()
{
  FAKE_VDDK_TRACE=1 nbdkit -U - "$VDDK_PLUGIN" libdir="$builddir/tests" \
    "$@" --run 'nbdinfo --size "$uri"' 2>&1 | grep 'fake-vddk: Open path='
}
[ "$(trace some/disk.vmdk)" = "fake-vddk: Open path=$PWD/some/disk.vmdk flags=0" ]
[ "$(trace ./disk.vmdk)" = "fake-vddk: Open path=$PWD/disk.vmdk flags=0" ]
[ "$(trace /abs/disk.vmdk)" = "fake-vddk: Open path=/abs/disk.vmdk flags=0" ]
[ "$(trace "[datastore1] guest/guest.vmdk" server=s user=u password=p vm=v)" = \
  "fake-vddk: Open path=[datastore1] guest/guest.vmdk flags=0" ]
