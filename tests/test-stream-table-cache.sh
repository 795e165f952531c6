#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# A stream-optimized disk being written keeps a bounded grain-table
# cache too.  Before, it kept every table it changed until the next
# flush: 64 MiB for 1 TiB written in one go (nbdcopy flushes once).
# Now, when only changed tables are left to drop, those whose grains
# are all in the file are appended behind table markers (where VMware's
# streams have each table: after its grains) and can be dropped; the
# directory written at the flush names them.
#  1. 1 TiB, one 64 KiB grain (1 KiB of random bytes, then zeros)
#     written in each of its 32768 tables from four connections, then
#     flushed: nbdkit's peak RSS is at most 24 MiB above that of the
#     same on 64 GiB (it was 130 MiB above: 248 MB against 115 MB; now
#     66 MB against 57 MB).
#     qemu-img finds the stream clean, and qemu-nbd (an independent
#     reader) and a new nbdkit both read exactly the grains written.
#  2. 1 GiB with a budget of 4 tables (vixDiskLib.grainTableCacheKB =
#     8): nbdcopy fills it from a raw file with four connections; the
#     stream equals the raw file for qemu-img and for a reader going
#     front to back (tests/stream-walk.py), which meets tables before
#     the last directory.  Then random writes and reads from four
#     connections (tests/table-cache-driver.py), with tables dropped and
#     reloaded meanwhile, and qemu-img compares again.
source "$srcdir/tests/functions.sh"
source "$srcdir/tests/table-cache-functions.sh"
set -e
set -x

requires qemu-img --version
requires qemu-nbd --version
requires nbdcopy --version
requires /usr/bin/python3 -c 'import nbd'

# log_checks LOG: changed tables were written back to make room, and
# nbdkit (-v) reported no error.
log_checks ()
{
  local n
  n=$(grep -cF "changed tables written back to make room" "$1") || true
  echo "$1: changed tables written back $n times"
  [ "$n" -gt 0 ]
  grep -F "debug: vddk: unload plugin" "$1"
  if grep -Ei 'error|could not|assert|abort' "$1" |
       grep -Ev 'VDDK call: VixDiskLib_InitEx \(.*&error_fn|TLS disabled'; then
    echo "FAIL: errors in nbdkit's log" >&2
    return 1
  fi
}

# ---- 1: 1 TiB, peak RSS.

# one_per_table SIZE NAME: create stream NAME.vmdk of SIZE, write one
# grain in each of its tables from four connections, flush; the grains
# go into NAME.json (a manifest for check_reads), nbdkit's peak RSS in
# KiB into NAME.hwm.
one_per_table ()
{
  rm -f "$2.sock"
  start_nbdkit -P "$2.pid" -U "$PWD/$2.sock" -v "$VDDK_PLUGIN" \
    "$PWD/$2.vmdk" create=true create-type=stream-optimized \
    create-size="$1" 2> "$2.log"
  /usr/bin/python3 - "nbd+unix:///?socket=$PWD/$2.sock" "$2.json" <<'PY'
import hashlib, json, nbd, random, sys, threading
uri, manifest = sys.argv[1:3]
G, T = 65536, 32 << 20
rnd = random.Random(5)
h0 = nbd.NBD()
h0.connect_uri(uri)
size = h0.get_size()
grains = {}
for off in range(0, size, T):
    grains[off] = rnd.randbytes(1024) + bytes(G - 1024)
errors = []

def writer(k):
    try:
        h = nbd.NBD()
        h.connect_uri(uri)
        for off in sorted(grains)[k::4]:
            h.pwrite(grains[off], off)
        h.shutdown()
    except Exception as e:
        errors.append(repr(e))

threads = [threading.Thread(target=writer, args=(k,)) for k in range(4)]
for t in threads: t.start()
for t in threads: t.join()
assert not errors, errors
h0.flush()
h0.shutdown()
json.dump({"capacity": size, "grain": G, "zero": [o + G for o in grains],
           "data": [[o, hashlib.sha256(b).hexdigest()]
                    for o, b in grains.items()]}, open(manifest, "w"))
print("wrote %d grains" % len(grains))
PY
  peak_rss "$2.pid" > "$2.hwm"
  echo "$1 stream, a grain in every table: peak RSS $(cat "$2.hwm") KiB"
  kill_nbdkit "$2.pid"
}

# The stream writer's window of gathered grains (32 MiB and their
# compressed forms) costs the same at any size; the tables of 1 TiB,
# 64 MiB, must not be added to it.
one_per_table 64G mid
one_per_table 1T big
log_checks big.log
[ "$(cat big.hwm)" -lt $(( $(cat mid.hwm) + 24 * 1024 )) ]
qemu-img check big.vmdk
start_qemu_nbd -P qemu.pid -t -r -e 4 -f vmdk -k "$PWD/qemu.sock" \
  "$PWD/big.vmdk"
check_reads "nbd+unix:///?socket=$PWD/qemu.sock" big.json 4
kill_nbdkit qemu.pid
rm -f big.sock
start_nbdkit -P big.pid -U "$PWD/big.sock" -r "$VDDK_PLUGIN" "$PWD/big.vmdk"
check_reads "nbd+unix:///?socket=$PWD/big.sock" big.json 4
kill_nbdkit big.pid
rm -f big.vmdk

# ---- 2: 1 GiB, a budget of 4 tables.
echo 'vixDiskLib.grainTableCacheKB = 8' > cache.conf
size=$((1 << 30))
truncate -s $size ref.raw
/usr/bin/python3 - ref.raw <<'PY'
import os, random, sys
rnd = random.Random(8)
fd = os.open(sys.argv[1], os.O_WRONLY)
# Random bytes, text and zeros over every table, with holes.
for off in range(0, 1 << 30, 3 << 20):
    n = rnd.randrange(1, 40) * 32768
    kind = rnd.random()
    buf = (rnd.randbytes(n) if kind < 0.5 else
           (b"stream table cache %d " % off) * (n // 24) if kind < 0.9 else
           bytes(n))
    os.pwrite(fd, buf[:n], off + rnd.randrange(0, 1 << 20) // 512 * 512)
PY
rm -f small.sock
start_nbdkit -P small.pid -U "$PWD/small.sock" -v "$VDDK_PLUGIN" \
  "$PWD/small.vmdk" create=true create-type=stream-optimized \
  create-size=$size config="$PWD/cache.conf" 2> small-1.log
nbdcopy -C 4 ref.raw "nbd+unix:///?socket=$PWD/small.sock"
kill_nbdkit small.pid
log_checks small-1.log
qemu-img check small.vmdk
qemu-img compare -f vmdk -F raw small.vmdk ref.raw
/usr/bin/python3 "$srcdir/tests/stream-walk.py" small.vmdk walked.raw |
  tee walk.out
cmp walked.raw ref.raw
# Tables came before the directory that names them.
grep -E 'T(\*[0-9]+)?G' walk.out

rm -f small.sock
start_nbdkit -P small.pid -U "$PWD/small.sock" -v "$VDDK_PLUGIN" \
  "$PWD/small.vmdk" config="$PWD/cache.conf" 2> small-2.log
timeout -k 5 300 /usr/bin/python3 "$srcdir/tests/table-cache-driver.py" \
  "nbd+unix:///?socket=$PWD/small.sock" ref.raw state.json 2 4 40
kill_nbdkit small.pid
log_checks small-2.log
qemu-img check small.vmdk
qemu-img compare -f vmdk -F raw small.vmdk ref.raw
