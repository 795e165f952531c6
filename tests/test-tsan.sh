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

for type in monolithic-sparse stream-optimized vmfs-sparse; do
  rm -f n*.vmdk s.sock
  nbdkit -U - "$VDDK_PLUGIN" "$PWD/n.vmdk" create=true create-type=$type \
    create-size=64M --run 'nbdinfo "$uri" > /dev/null'
  # -f and exec, so that only nbdkit has the runtime (not a shell
  # spawned by --run).  Its exit would hang: p11-kit's destructor
  # deadlocks under the TSan runtime, so it is killed once the
  # connections are closed.
  ( LD_PRELOAD=$runtime exec nbdkit -f -v -U "$PWD/s.sock" "$plugin" \
      "$PWD/n.vmdk" ) > nbdkit-$type.log 2>&1 &
  pid=$!
  cleanup_fn kill -9 $pid
  for (( i=0; i<100; i++ )); do [ -S s.sock ] && break; sleep 0.2; done
  if ! /usr/bin/python3 - "nbd+unix:///?socket=$PWD/s.sock" <<'PY'
import nbd, random, struct, sys, threading
uri = sys.argv[1]
grain, size = 65536, 64 << 20
rnd = random.Random(11)
ref = bytearray(size)
stop = threading.Event()
errors = []

def sector(off, tag):
    return (struct.pack("<QQ", off // 512, tag) * 32)

def reader(seed):
    h = nbd.NBD(); h.connect_uri(uri)
    r = random.Random(seed)
    while not stop.is_set():
        off = r.randrange(0, size // 512 - 64) * 512
        data = h.pread(64 * 512, off)
        for i in range(0, len(data), 512):
            s = data[i:i + 512]
            if any(s) and struct.unpack_from("<Q", s)[0] != (off + i) // 512:
                errors.append("sector %d holds another sector's data" % ((off + i) // 512))
    h.shutdown()

def flusher():
    h = nbd.NBD(); h.connect_uri(uri)
    while not stop.is_set():
        h.flush()
    h.shutdown()

threads = [threading.Thread(target=reader, args=(k,)) for k in range(2)]
threads.append(threading.Thread(target=flusher))
for t in threads: t.start()
# Four writers race for the same grains, a quarter each.
conns = []
for _ in range(4):
    h = nbd.NBD(); h.connect_uri(uri); conns.append(h)
grains = list(range(0, size, grain)); rnd.shuffle(grains)
pending = []
for n, g in enumerate(grains[:200]):
    for k, h in enumerate(conns):
        off = g + k * grain // 4
        data = b"".join(sector(off + i, n + 1) for i in range(0, grain // 4, 512))
        ref[off:off + grain // 4] = data
        pending.append((h, h.aio_pwrite(data, off)))
    if len(pending) > 32:
        for h, c in pending:
            while not h.aio_command_completed(c): h.poll(-1)
        pending = []
for h, c in pending:
    while not h.aio_command_completed(c): h.poll(-1)
# A connection dropped with writes in flight (their outcome is unknown:
# the sectors are left out of the comparison).
h = nbd.NBD(); h.connect_uri(uri)
dropped = []
for g in grains[200:216]:
    h.aio_pwrite(b"".join(sector(g + i, 999) for i in range(0, grain, 512)), g)
    dropped.append(g)
del h
for h in conns:
    h.flush(); h.shutdown()
stop.set()
for t in threads: t.join()
h = nbd.NBD(); h.connect_uri(uri)
for off in range(0, size, 1 << 20):
    got = h.pread(1 << 20, off)
    for g in range(off, off + (1 << 20), grain):
        if g not in dropped and got[g - off:g - off + grain] != ref[g:g + grain]:
            errors.append("grain at %d differs after the writes" % g)
h.shutdown()
if errors:
    sys.exit("\n".join(errors[:20]))
print("nbdkit: 4 writers, 2 readers, a flusher and a dropped connection: OK")
PY
  then
    echo "nbdkit log:"
    grep -v -e "VDDK call" -e datapath nbdkit-$type.log | tail -n 60
    exit 1
  fi
  # Every connection must have been closed (VixDiskLib_Close, then
  # Disconnect) before nbdkit is killed.
  for (( i=0; i<100; i++ )); do
    opened=$(grep -c "VDDK call: VixDiskLib_ConnectEx" nbdkit-$type.log || true)
    closed=$(grep -c "VDDK call: VixDiskLib_Disconnect" nbdkit-$type.log || true)
    [ "$opened" -gt 0 ] && [ "$opened" -eq "$closed" ] && break
    sleep 0.2
  done
  [ "$opened" -eq "$closed" ]
  kill -9 $pid
  wait $pid || true
  no_reports nbdkit-$type.log
done
