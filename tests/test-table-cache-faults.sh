#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# A grain-table write-back that fails is never silent.  With a cache of
# two tables, writes to four tables of a 128 MiB sparse disk make the
# library write its changed tables back before the flush (sync the
# grains, then write the tables).  tests/fault-inject.so fails each
# call of that write-back in turn.  Either way the write that needed
# the room fails with EIO (the client then writes it again), and:
#   - the sync: the client's next flush must fail with EIO too (the
#     data may not be on disk), and so must the close;
#   - a table write: nothing is lost, the tables stay changed in memory,
#     the flush writes them and succeeds;
# and in both cases qemu-img finds the image clean and, for the table
# write, every written sector there.
source "$srcdir/tests/functions.sh"
set -e
set -x

requires qemu-img --version
requires qemu-io --version
requires nbdsh --version
shim="$builddir/tests/fault-inject.so"
[ -e "$shim" ] || { echo "SKIP: $shim was not built"; exit 77; }

qemu-img create -q -f vmdk "$PWD/empty.vmdk" 128M
echo "vixDiskLib.grainTableCacheKB = 4" > cache.conf
write='
for t in range(4):
    try:
        h.pwrite(b"q" * 512, t * (32 << 20))
    except nbd.Error as e:
        print("write %d: failed:" % t, e)
        h.pwrite(b"q" * 512, t * (32 << 20))
try:
    h.flush()
    print("flush: ok")
except nbd.Error as e:
    print("flush: failed:", e)
'

# run [FAULT_AT]: the writes and a flush on a fresh copy of the disk,
# the shim counting (and failing call FAULT_AT) on d.vmdk; calls listed
# in calls.log, the client's output in out, nbdkit's in nbdkit.log.
# nbdkit is stopped only once it has closed the disk (the plugin
# disconnects after VixDiskLib_Close returns): with --run, nbdkit 1.32
# may exit before the connection's close, and the library then closes
# the disk at VixDiskLib_Exit instead.
run ()
{
  local i
  rm -f d.vmdk calls.log sock
  cp empty.vmdk d.vmdk
  set +x                        # (the trace would go into the log)
  FAULT_PATTERN="$PWD/d.vmdk" FAULT_AT=${1:-0} FAULT_LOG="$PWD/calls.log" \
    LD_PRELOAD="$shim" start_nbdkit -P nbdkit.pid -U "$PWD/sock" -v \
    --log=stderr "$VDDK_PLUGIN" "$PWD/d.vmdk" config="$PWD/cache.conf" \
    2> nbdkit.log
  set -x
  nbdsh -u "nbd+unix:///?socket=$PWD/sock" -c "$write" > out
  for (( i=0; i<100; i++ )); do
    grep -q "VDDK call: VixDiskLib_Disconnect (" nbdkit.log && break
    sleep 0.1
  done
  kill_nbdkit nbdkit.pid
  cat out
}

# Without a fault: the write-back happens, then find its calls: the
# first fdatasync is its sync of the grains (nothing before it syncs),
# the pwrite after it one of its table writes.
run
grep -qx "flush: ok" out
if grep "failed" out; then
  echo "FAIL: a request failed without a fault" >&2
  exit 1
fi
grep -q "changed tables written back to make room" nbdkit.log
sync_at=$(awk '$3 == "fdatasync" { print $2; exit }' calls.log)
table_at=$((sync_at + 1))
awk -v n=$table_at '$2 == n { print; f = 1 } END { exit !f }' calls.log |
  grep -q ' pwrite '

# The sync fails: the flush and the close say so.
run "$sync_at"
grep -q "could not write grain tables back" nbdkit.log
grep -q "^write [0-9]: failed:.*EIO" out
grep -q "flush: failed:.*EIO" out
grep -q "VixDiskLib_Close: an earlier flush of $PWD/d.vmdk to stable storage failed" nbdkit.log
qemu-img check d.vmdk

# A table write fails: kept in memory, written by the flush.
run "$table_at"
grep -q "could not write grain tables back" nbdkit.log
grep -q "^write [0-9]: failed:.*EIO" out
grep -qx "flush: ok" out
qemu-img check d.vmdk
for t in 0 1 2 3; do
  qemu-io -r -f vmdk -c "read -P 0x71 $((t * 32))M 512" d.vmdk | grep -q "^read 512/512"
done
