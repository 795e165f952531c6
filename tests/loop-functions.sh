# SPDX-License-Identifier: BSD-3-Clause
# Helpers for the crash and fault loops (test-crash-loop.sh,
# test-fault-inject.sh), sourced after functions.sh.

# Every create-type that can be written, as the issue lists them:
# monolithic sparse, split sparse, monolithic flat, vmfs thin (a sparse
# flat file), stream-optimized and vmfs-sparse (COWD).
LOOP_FORMATS=${LOOP_FORMATS:-"monolithic-sparse split-sparse monolithic-flat vmfs-thin stream-optimized vmfs-sparse"}
refdisk=(/usr/bin/python3 "$srcdir/tests/refdisk.py")

# Plugin parameters that serve adds (e.g. a config file).
loop_plugin_args=()

# loop_disk FORMAT STATE [SIZE WINDOW...]: create $PWD/d.vmdk of FORMAT
# and a refdisk STATE for it.  40 MiB has two grain tables in monolithic
# sparse disks; split-sparse gets a second extent (2047 MiB each), and
# only 4 MiB windows at the start and around the extent boundary are
# used.  Or SIZE bytes, with the refdisk windows START:LENGTH given.
loop_disk ()
{
  local fmt=$1 state=$2 size=$((40 << 20)) M=$((1 << 20)) wins=()
  if [ $# -gt 2 ]; then
    size=$3
    wins=("${@:4}")
  elif [ "$fmt" = split-sparse ]; then
    size=$((2051 * M))
    wins=("0:$((4 * M))" "$((2045 * M)):$((6 * M))")
  fi
  rm -f d*.vmdk
  nbdkit -U - "$VDDK_PLUGIN" "$PWD/d.vmdk" create=true create-type="$fmt" \
    create-size=$size --run 'nbdinfo "$uri" > /dev/null'
  "${refdisk[@]}" init "$state" $size "${wins[@]}"
}

# with_tiny_cache FUNC: for each grain-table format, FUNC FORMAT SIZE
# WINDOW... (the arguments of loop_disk after STATE), with serve giving
# the library a budget of two grain tables on a disk of five and
# writes in 2 MiB at the start of each table (and across the last
# boundary): changed tables are then written back between flushes (in
# place, or appended to a stream) and dropped.
with_tiny_cache ()
{
  local fmt T M=$((1 << 20))
  echo "vixDiskLib.grainTableCacheKB = 4" > tiny-cache.conf
  loop_plugin_args=(config="$PWD/tiny-cache.conf")
  for fmt in monolithic-sparse stream-optimized vmfs-sparse; do
    echo "$fmt with a two-table cache:"
    case $fmt in
      vmfs-sparse) T=$((256 * M)) ;;  # a COWD table covers 256 MiB
      *) T=$((32 * M)) ;;
    esac
    "$1" "$fmt" $((5 * T)) \
      "0:$((2 * M))" "$T:$((2 * M))" "$((2 * T)):$((2 * M))" \
      "$((3 * T)):$((2 * M))" "$((4 * T - M)):$((2 * M))"
  done
  loop_plugin_args=()
}

# serve PIDFILE SOCKET LOG [ENV=VALUE...]: nbdkit in the foreground, in
# the background, on $PWD/d.vmdk, with the given environment (only
# nbdkit gets it: no --run shell), its messages in LOG.
serve ()
{
  local pidfile=$1 sock=$2 log=$3 i
  shift 3
  rm -f "$sock" "$pidfile"
  env "$@" nbdkit -f --log=stderr -P "$pidfile" -U "$sock" "$VDDK_PLUGIN" \
    "$PWD/d.vmdk" "${loop_plugin_args[@]}" 2> "$log" &
  for (( i=0; i<100; i++ )); do
    [ -S "$sock" ] && [ -s "$pidfile" ] && break
    sleep 0.1
  done
  [ -s "$pidfile" ] || { cat "$log"; echo "serve: nbdkit did not start" >&2; return 1; }
}

# gone PIDFILE: wait until the process has exited.
gone ()
{
  local pid i
  pid=$(cat "$1")
  for (( i=0; i<200; i++ )); do
    kill -0 "$pid" 2>/dev/null || { rm -f "$1"; return 0; }
    sleep 0.05
  done
  echo "gone: process $pid is still there" >&2
  return 1
}

# after_stop STATE: the disk as it is left: qemu-img check is clean, what
# qemu reads is allowed by STATE (and becomes its durable state), nbdkit
# opens it read-write again and reads the same, and it can be written.
after_stop ()
{
  local state=$1 sock="nbd+unix:///?socket=$PWD/reopen.sock"
  # (Called in conditions, where set -e does not stop at failures.)
  if ! qemu-img check "$PWD/d.vmdk" > check.out 2>&1; then
    cat check.out; echo "FAIL: qemu-img check" >&2; return 1
  fi
  # A stream stays one: read front to back, it loses nothing flushed
  # either.  (It may differ from what qemu reads: a crash while a flush
  # was writing the header leaves the new tail readable front to back
  # while the header still names the previous directory.)
  if head -c 65536 d.vmdk | grep -aq 'createType="streamOptimized"'; then
    rm -f walked.raw
    /usr/bin/python3 "$srcdir/tests/stream-walk.py" d.vmdk walked.raw \
      > walk.out && "${refdisk[@]}" check "$state" walked.raw --keep || {
      cat walk.out; echo "FAIL: read front to back, the stream lost data" >&2
      return 1; }
    rm -f walked.raw
  fi
  rm -f qemu.raw
  qemu-img convert -f vmdk -O raw "$PWD/d.vmdk" qemu.raw &&
    "${refdisk[@]}" check "$state" qemu.raw || return 1
  rm -f qemu.raw
  serve reopen.pid "$PWD/reopen.sock" reopen.log || return 1
  if ! "${refdisk[@]}" check "$state" "$sock" --exact ||
     ! "${refdisk[@]}" use "$state" "$sock"; then
    kill "$(cat reopen.pid)"; gone reopen.pid; cat reopen.log; return 1
  fi
  kill "$(cat reopen.pid)"
  gone reopen.pid || return 1
  if ! qemu-img check "$PWD/d.vmdk" > check.out 2>&1; then
    cat check.out; echo "FAIL: qemu-img check after reopening" >&2; return 1
  fi
}
