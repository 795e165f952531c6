#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# ThreadSanitizer on the concurrent paths (make tsan builds build-tsan;
# make check builds it too).  Two drivers:
#  - tests/race-driver (TSan-built, the library alone) on every writable
#    format: writers racing to allocate the same grains through several
#    handles, readers checking what they see meanwhile, flushes during
#    writes, Close with writes in flight, then a check of every sector;
#  - nbdkit (not TSan-built) with the TSan runtime preloaded, serving
#    the TSan-built plugin and library to several NBD connections doing
#    the same, and a connection dropped with requests in flight.
# Any ThreadSanitizer report fails the test.
# TSAN_ROUNDS (default 3) sets the race-driver's rounds.
source "$srcdir/tests/functions.sh"
set -e
set -x

tsan=${TSAN_BUILDDIR:-}
if [ -z "$tsan" ] || [ ! -x "$tsan/tests/race-driver" ]; then
  echo "SKIP: no ThreadSanitizer build (make tsan)"
  exit 77
fi
requires /usr/bin/python3 -c 'import nbd'
rounds=${TSAN_ROUNDS:-3}
# Reports go to stderr; exitcode makes a run with reports fail even if
# its own checks pass.
export TSAN_OPTIONS="halt_on_error=0 exitcode=66 history_size=4"

no_reports ()
{
  if grep -q "ThreadSanitizer" "$1"; then
    grep -A40 "WARNING: ThreadSanitizer" "$1" | head -n 200 >&2
    echo "FAIL: ThreadSanitizer reports in $1" >&2
    return 1
  fi
}

# ---- the library alone.  Grain-table formats get 256 MiB, eight grain
# tables or more, so that tables are still being loaded for the first
# time while flushes move others (a race found so in stream-optimized
# disks); flat ones need no more than a few grains.
for type in 1 2 3 6 7 8; do
  rm -f d*.vmdk
  case $type in 2|7) mib=32 ;; *) mib=256 ;; esac
  timeout -k 5 600 "$tsan/tests/race-driver" "$PWD/d.vmdk" $type "$rounds" $mib \
    > race-$type.log 2>&1 || { cat race-$type.log; exit 1; }
  cat race-$type.log
  no_reports race-$type.log
done

# ---- the same on the grain-table formats with a cache of two tables,
# so that tables are written back (streams: appended), dropped and read
# again while writers and readers race (table-cache.c).
# (A COWD table covers 256 MiB: that disk gets 1 GiB, four tables.)
echo "vixDiskLib.grainTableCacheKB = 4" > tiny-cache.conf
for type in 1 3 6 8; do
  rm -f d*.vmdk
  case $type in 8) mib=1024 ;; *) mib=256 ;; esac
  timeout -k 5 600 "$tsan/tests/race-driver" "$PWD/d.vmdk" $type "$rounds" $mib \
    "$PWD/tiny-cache.conf" > race-tiny-$type.log 2>&1 ||
    { cat race-tiny-$type.log; exit 1; }
  cat race-tiny-$type.log
  no_reports race-tiny-$type.log
done

# ---- through nbdkit, with the runtime preloaded (the plugin and the
# library are instrumented; nbdkit itself is not).
plugin="$tsan/tests/nbdkit-vddk-plugin.so"
runtime=$(ldd "$plugin" | awk '/libtsan|clang_rt.tsan/ { print $3; exit }')
[ -n "$runtime" ] && [ -e "$runtime" ]
mkdir -p "$tsan/tests/vddk-libdir/lib64"
ln -sf "$tsan/lib/libvixDiskLib.so.8" "$tsan/tests/vddk-libdir/lib64/libvixDiskLib.so.8"

# nbdkit before 1.33.10 (Debian 12 has 1.32.5) can abort in raw_send_socket
# when a client hangs up with replies in flight, as the dropped connection
# does (the plugin's man page, BUGS).  If that abort, and only that, ends
# the server after the drop, a new server must still read every flushed
# write.
v=$(nbdkit --version | awk '{ print $2 }')
old_nbdkit=false
if [ "$(printf '%s\n' "$v" 1.33.10 | sort -V | head -n 1)" != 1.33.10 ]; then
  old_nbdkit=true
fi
known_abort="raw_send_socket: Assertion \`sock >= 0' failed"

# -f and exec, so that only nbdkit has the runtime (not a shell spawned
# by --run).  Its exit would hang: p11-kit's destructor deadlocks under
# the TSan runtime, so it is killed once the connections are closed.
start_tsan_nbdkit ()
{
  rm -f s.sock
  ( LD_PRELOAD=$runtime exec nbdkit -f -v -U "$PWD/s.sock" "$plugin" \
      "$PWD/n.vmdk" ) > "$1" 2>&1 &
  pid=$!
  cleanup_fn kill -9 $pid
  for (( i=0; i<100; i++ )); do [ -S s.sock ] && break; sleep 0.2; done
}

# Every connection must have been closed (VixDiskLib_Close, then
# Disconnect) before nbdkit is killed.
stop_tsan_nbdkit ()
{
  for (( i=0; i<100; i++ )); do
    opened=$(grep -c "VDDK call: VixDiskLib_ConnectEx" "$1" || true)
    closed=$(grep -c "VDDK call: VixDiskLib_Disconnect" "$1" || true)
    [ "$opened" -gt 0 ] && [ "$opened" -eq "$closed" ] && break
    sleep 0.2
  done
  [ "$opened" -eq "$closed" ]
  kill -9 $pid
  wait $pid || true
}

show_log ()
{
  echo "nbdkit log ($1):"
  grep -v -e "VDDK call" -e datapath "$1" | tail -n 60
  # What ended it, last, where a short excerpt of the output shows it.
  grep -e "Assertion" -e "ThreadSanitizer" -e "error:" "$1" | tail -n 5
}

uri="nbd+unix:///?socket=$PWD/s.sock"
for type in monolithic-sparse stream-optimized vmfs-sparse; do
  rm -f n*.vmdk
  nbdkit -U - "$VDDK_PLUGIN" "$PWD/n.vmdk" create=true create-type=$type \
    create-size=64M --run 'nbdinfo "$uri" > /dev/null'
  log=nbdkit-$type.log
  start_tsan_nbdkit $log
  rc=0
  /usr/bin/python3 "$srcdir/tests/tsan-clients.py" race "$uri" || rc=$?
  if [ $rc -eq 3 ] && $old_nbdkit && ! kill -0 $pid 2>/dev/null &&
       grep -q "$known_abort" $log; then
    echo "nbdkit $v aborted after the drop (its known bug); reading back"
    wait $pid || true
    no_reports $log
    log=nbdkit-$type-again.log
    start_tsan_nbdkit $log
    rc=0
    /usr/bin/python3 "$srcdir/tests/tsan-clients.py" verify "$uri" || rc=$?
  fi
  if [ $rc -ne 0 ]; then
    show_log $log
    exit 1
  fi
  stop_tsan_nbdkit $log
  no_reports $log
done
