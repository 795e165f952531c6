#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# Parameter parsing and checking: every bad value gives the reference
# plugin's message, and good values reach the library as they should.
source "$srcdir/tests/functions.sh"
set -e
set -x

requires nbdinfo --version

fake=(libdir="$builddir/tests")     # the VDDK 6.5 stand-in
remote=(server=s user=u password=p vm=v)

# bad REGEX ARGS...: nbdkit with the plugin and ARGS fails with REGEX.
bad ()
{
  local regex=$1
  shift
  expect_failure "$regex" nbdkit -U - "$VDDK_PLUGIN" "$@" --run true
}

# ---- Values rejected while parsing ----

bad '^nbdkit: error: unknown compression type: ZLIB$' /f compression=ZLIB
bad 'unknown compression type: gzip$' /f compression=gzip
bad 'unknown create-adapter-type: scsi$' /f create-adapter-type=scsi
bad 'unknown create-adapter-type: IDE$' /f create-adapter-type=IDE
bad 'unknown create-hwversion: esx99$' /f create-hwversion=esx99
bad 'unknown create-hwversion: 65536$' /f create-hwversion=65536
bad 'unknown create-hwversion: -1$' /f create-hwversion=-1
for size in 0 1000 1025 513; do
  bad 'create-size must be greater than zero and a multiple of 512$' \
      /f create-size=$size
done
bad "could not parse size" /f create-size=lots
# (VMware's createType names, monolithicSparse..., are accepted: see
# test-vddk-messages.sh.)  An unknown name gets the list of names.
bad 'unknown create-type: Monolithic-Sparse \(monolithic-sparse, ' \
    /f create-type=Monolithic-Sparse
bad 'unknown create-type: flat \(.*streamOptimized, vmfsThin, vmfsSparse\)$' \
    /f create-type=flat
bad "unknown parameter 'foo'$" /f foo=bar
bad "unknown parameter 'File'$" File=/f
for key in create single-link unbuffered noreexec; do
  bad 'could not decipher boolean \(maybe\)' /f $key=maybe
done
bad 'port' /f port=65536
bad 'nfchostport' /f nfchostport=x
bad 'config' /f config=/nonexistent/config

# ---- Checks in config_complete, in the reference order ----

bad '^nbdkit: error: you must supply the file=<FILENAME> parameter after the plugin name on the command line$'
bad 'you must supply the file=<FILENAME> parameter' "${remote[@]}"

missing='remote connection requested, missing parameter'
bad "$missing: server$" /f user=u password=p vm=v
bad "$missing: user$" /f server=s password=p vm=v
bad "$missing: password$" /f server=s user=u vm=v
bad "$missing: vm$" /f server=s user=u password=p
bad "$missing: server$" /f thumbprint=ab
bad "$missing: server$" /f cookie=c
bad "$missing: server$" /f port=443
bad "$missing: server$" /f nfchostport=902
bad "$missing: server$" /f password=p
# The cookie does not replace the password.
bad "$missing: password$" /f server=s user=u vm=v cookie=c
bad "$missing: server$" /f vm=v create=true

bad '^nbdkit: error: create=true can only be used to create local VMDK files$' \
    /f create=true create-size=1M "${remote[@]}"
bad '^nbdkit: error: if using create=true you must specify the size using the create-size parameter$' \
    /f create=true

# ---- Good values ----

# run ARGS...: serve /f with the stand-in, connect once (read-only if
# -r is first) and print the library's trace.  Succeeds if nbdinfo did.
run ()
{
  local opts=()
  if [ "$1" = "-r" ]; then opts=(-r); shift; fi
  FAKE_VDDK_TRACE=1 nbdkit "${opts[@]}" -U - "$VDDK_PLUGIN" "${fake[@]}" \
    "$@" --run 'nbdinfo --size "$uri"' 2>&1
}

# Local: port=0 is not a remote connection; ignored vimapiver.
run /f port=0 vimapiver=6.0 | tee out
grep -Fx '524288' out
grep -Fx 'fake-vddk: ConnectEx readonly=0 snapshot=NULL transports=NULL server=NULL vm=NULL port=0 nfchostport=0' out
grep -Fx 'fake-vddk: Open path=/f flags=0' out

# Open flags: READ_ONLY 4, SINGLE_LINK 2, UNBUFFERED 1, ZLIB 16 ...
run -r file=/f single-link=true unbuffered=yes compression=zlib | tee out
grep -Fx 'fake-vddk: Open path=/f flags=23' out
grep -F 'fake-vddk: ConnectEx readonly=1 ' out
run /f single-link=off unbuffered=0 compression=fastlz | tee out
grep -Fx 'fake-vddk: Open path=/f flags=32' out
run /f compression=skipz | tee out
grep -Fx 'fake-vddk: Open path=/f flags=64' out
run /f compression=none | tee out
grep -Fx 'fake-vddk: Open path=/f flags=0' out

# Remote parameters reach ConnectEx (the file name is used verbatim).
run "[datastore1] guest/guest.vmdk" "${remote[@]}" thumbprint=ab \
    port=443 nfchostport=902 snapshot=snapshot-1 transports=nbd:nbdssl \
    cookie=c | tee out
grep -Fx 'fake-vddk: ConnectEx readonly=0 snapshot=snapshot-1 transports=nbd:nbdssl server=s vm=v port=443 nfchostport=902' out
grep -Fx 'fake-vddk: Open path=[datastore1] guest/guest.vmdk flags=0' out

# create=true: the Create parameters, then the stand-in's refusal.
create ()
{
  if run /f create=true "$@" > out; then
    cat out >&2; echo "create unexpectedly succeeded" >&2; return 1
  fi
  cat out >&2
  grep -F 'VixDiskLib_Create: /f: fake-vddk: error 6' out >&2
  grep '^fake-vddk: Create ' out
}
test "$(create create-size=1M)" = \
     "fake-vddk: Create path=/f type=1 adapter=2 hw=4 capacity=2048"
test "$(create create-size=512 create-type=vmfs-thin \
          create-adapter-type=ide create-hwversion=esx65)" = \
     "fake-vddk: Create path=/f type=7 adapter=1 hw=13 capacity=1"
test "$(create create-size=1G create-type=stream-optimized \
          create-adapter-type=scsi-lsilogic create-hwversion=14)" = \
     "fake-vddk: Create path=/f type=6 adapter=3 hw=14 capacity=2097152"

i=1
for t in monolithic-sparse monolithic-flat split-sparse split-flat \
         vmfs-flat stream-optimized vmfs-thin vmfs-sparse; do
  create create-size=4k create-type=$t | grep -F " type=$i "
  i=$((i+1))
done
for h in workstation4:3 workstation5:4 workstation6:6 esx30:4 esx4x:7 \
         esx50:8 esx51:9 esx55:10 esx60:11 esx65:13 0:0 65535:65535; do
  create create-size=4k create-hwversion=${h%:*} | grep -F " hw=${h#*:} "
done
