#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# Benchmark: nbdkit vddk (this project's plugin + library) against peers
# measured in the same run, on the same machine and the same files.  One
# line per case: our number, the peer's, the ratio (> 1 = we are better)
# and the goal, with MET or MISSED.  Never fails because something is
# slow; it fails only if it cannot measure at all.
#
# Cases (see docs/performance.md for the goals and the latest numbers):
#   local   sparse disk read with nbdcopy (extents on / --no-extents)
#           vs the raw bytes served by nbdkit's file plugin
#   stream  streamOptimized sequential read vs qemu-nbd
#   random  random 4 KiB reads of the sparse disk, queue depth 1 and 32
#           (fio's nbd engine) vs qemu-nbd
#   write   random 4 KiB writes (QD1, QD32) and sequential writes into
#           existing sparse and flat disks vs qemu-nbd
#   map     peak RSS and time of nbdinfo --map on a 16 TiB nearly empty
#           sparse disk, vs qemu-img map; and on a 2 TiB seSparse delta
#   create  streamOptimized and monolithicSparse made from the raw disk
#           through nbdkit + nbdcopy, vs qemu-img convert
#   remote  1 GiB flat and sparse disks read from the vSphere simulator
#           (nbdkit vddk server=... + nbdcopy) vs curl downloading the
#           same file from the same server
#   wan     a 512 MiB flat disk through a modelled WAN (tests/wan-proxy.py:
#           50 MB/s and 2 ms each way per connection) and on loopback:
#           full copy vs one curl, QD1 random 4 KiB reads vs curl ranges,
#           and (WAN) CDI's 2 MiB reads one after the other vs one curl,
#           and a thin disk an eighth in use with change tracking on (only
#           the areas in use are read) vs one curl of its -flat file,
#           a snapshot delta over that flat disk vs one curl of the
#           base, and a sparse disk whose grains are in random order vs
#           one curl of its file; on loopback also both vs nbdkit's curl
#           plugin serving the file
#
# Images: the data disk (BENCH_SIZE, default 1 GiB) is 3/8 base64 text,
# 3/8 random bytes and 1/4 hole, with a 1 MiB hole every 8 MiB of data:
# 65 % allocated.  The VMDKs read are made by qemu-img convert (the
# layout VMware's tools write: grain tables placed up front); the 16 TiB
# one by qemu-img create (this project's create stops monolithicSparse
# at 2 TiB, as VMware does).  The page cache is warmed before timing.
#
# Every case runs BENCH_RUNS times (default 5), ours and the peer's
# alternately so that load from other processes hits both alike; the
# table shows medians.
#
# Usage: bench/run.sh BUILDDIR
# Environment: BENCH_RUNS=5  BENCH_SIZE=1G  BENCH_RANDOM_OPS=20000
#   BENCH_MAP_SIZE=16T  BENCH_CASES="local stream random write map create remote wan"
#   BENCH_WAN_SIZE=512M BENCH_WAN_OPS=500 BENCH_WAN_RATE=50000000 BENCH_WAN_DELAY=2
#   BENCH_TSV=FILE (also write the table as tab-separated values)
set -u

export PATH="/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:$PATH"
srcdir=$(cd "$(dirname "$0")/.." && pwd)
builddir=$(cd "${1:?usage: bench/run.sh BUILDDIR}" && pwd)
export srcdir builddir
runs=${BENCH_RUNS:-5}
size_h=${BENCH_SIZE:-1G}
random_ops=${BENCH_RANDOM_OPS:-20000}
map_size=${BENCH_MAP_SIZE:-16T}
cases=" ${BENCH_CASES:-local stream random write map create remote wan} "
want () { [[ $cases == *" $1 "* ]]; }

for cmd in nbdkit nbdcopy nbdinfo qemu-img qemu-io qemu-nbd fio python3; do
  command -v $cmd >/dev/null || { echo "bench: $cmd is required (make deps)" >&2; exit 1; }
done

# Same layout as tests/run-tests.sh: the test build of the plugin finds the
# build tree library through its compiled-in default libdir.
export VDDK_LIBDIR="$builddir/tests/vddk-libdir"
mkdir -p "$VDDK_LIBDIR/lib64"
ln -sf "$builddir/lib/libvixDiskLib.so.8" "$VDDK_LIBDIR/lib64/libvixDiskLib.so.8"
ln -sf libvixDiskLib.so.8 "$VDDK_LIBDIR/lib64/libvixDiskLib.so"
export VDDK_PLUGIN="$builddir/tests/nbdkit-vddk-plugin.so"
plugin=$VDDK_PLUGIN
[ -f "$plugin" ] || { echo "bench: $plugin not built (make build)" >&2; exit 1; }

work=$(mktemp -d /tmp/vddk-bench.XXXXXX)
cd "$work" || exit 1
# The test helpers: cleanup_fn (run at exit), and the simulator's.
# shellcheck source=../tests/functions.sh
source "$srcdir/tests/functions.sh"
# shellcheck source=../tests/remote-functions.sh
source "$srcdir/tests/remote-functions.sh"
cleanup_fn rm -rf "$work"
# Servers are this shell's background jobs; the simulator has its own
# cleanup (registered later, so run earlier).
stop_servers () { local p; for p in $(jobs -p); do kill "$p" 2>/dev/null; done; wait; }
cleanup_fn stop_servers
log="$work/bench.log"

# ---- measuring --------------------------------------------------------------
# secs CMD...: run CMD (output to the log), print its wall-clock seconds,
# or "n/a" if it failed.
secs ()
{
  local t0 t1
  t0=$EPOCHREALTIME
  if ! "$@" >>"$log" 2>&1; then
    echo "bench: failed: $*" >&2
    tail -n 5 "$log" >&2
    echo n/a
    return 1
  fi
  t1=$EPOCHREALTIME
  awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.4f\n", b - a }'
}

# cpu_ticks PID: the CPU time (user + system, in clock ticks) that PID
# and its reaped children have used so far.
cpu_ticks () { awk '{ print $14 + $15 + $16 + $17 }' "/proc/$1/stat"; }
tick=$(getconf CLK_TCK)

# cpu_during PID CMD...: the CPU seconds PID uses while CMD runs ("n/a"
# if CMD fails).
cpu_during ()
{
  local pid=$1 t0 t1
  shift
  t0=$(cpu_ticks "$pid")
  "$@" >>"$log" 2>&1 || { echo n/a; return 1; }
  t1=$(cpu_ticks "$pid")
  awk -v a="$t0" -v b="$t1" -v k="$tick" 'BEGIN { printf "%.3f\n", (b - a) / k }'
}

# cpu_secs CMD...: the CPU seconds CMD itself uses (user + system).
cpu_secs ()
{
  local TIMEFORMAT='%U %S' t
  t=$( { time "$@" >>"$log" 2>&1; } 2>&1 ) || { echo n/a; return 1; }
  awk -v t="$t" 'BEGIN { split(t, x, " "); printf "%.3f\n", x[1] + x[2] }'
}

# median VALUES...: the median of the numbers given ("n/a" if none).
median ()
{
  printf '%s\n' "$@" | grep -E '^[0-9.]+$' | sort -g |
    awk '{ v[NR] = $1 } END { if (NR == 0) print "n/a";
           else if (NR % 2) print v[(NR + 1) / 2];
           else printf "%.4f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# rate BYTES SECONDS: MB/s.
rate () { awk -v b="$1" -v s="$2" 'BEGIN { if (s + 0 > 0) printf "%.1f\n", b / 1e6 / s; else print "n/a" }'; }

# ---- the table --------------------------------------------------------------
# row CASE OURS PEER UNIT HIGHER-IS-BETTER GOAL
# GOAL is "ratio>=X" (ratio = ours/peer, or peer/ours when lower is
# better) or "ours<=X" (an absolute bound in UNIT).
rows=()
row ()
{
  local name=$1 ours=$2 peer=$3 unit=$4 hib=$5 goal=$6 ratio verdict
  ratio=$(awk -v a="$ours" -v b="$peer" -v hib="$hib" 'BEGIN {
    if (a !~ /^[0-9.]+$/ || b !~ /^[0-9.]+$/ || a + 0 == 0 || b + 0 == 0) { print "n/a"; exit }
    printf "%.2f\n", hib ? a / b : b / a }')
  verdict=$(awk -v g="$goal" -v r="$ratio" -v a="$ours" 'BEGIN {
    if (g == "info") { print "info"; exit }
    split(g, p, /(>=|<=)/); v = (p[1] == "ratio") ? r : a
    if (v !~ /^[0-9.]+$/) { print "n/a"; exit }
    if (g ~ />=/) print (v + 0 >= p[2] + 0) ? "MET" : "MISSED"
    else print (v + 0 <= p[2] + 0) ? "MET" : "MISSED" }')
  rows+=("$name"$'\t'"$ours"$'\t'"$peer"$'\t'"$unit"$'\t'"$ratio"$'\t'"$goal"$'\t'"$verdict")
  printf 'bench: %s: ours %s %s, peer %s %s, ratio %s (goal %s: %s)\n' \
    "$name" "$ours" "$unit" "$peer" "$unit" "$ratio" "$goal" "$verdict"
}

# runs OURS PEER: print every run's number (space-separated lists), to
# show how noisy a median is.
runs () { echo "bench:   runs: ours $1 | peer $2"; }

# pair I OURS-CMD... -- PEER-CMD...: run both, appending what each prints
# to the arrays o and p; ours first on even runs I, the peer first on odd
# ones, so that neither always gets the warmer cache and CPU.
pair ()
{
  local i=$1 ours=() peer=()
  shift
  while [ "$1" != -- ]; do ours+=("$1"); shift; done
  shift
  peer=("$@")
  if (( i % 2 )); then
    p+=("$("${peer[@]}")")
    o+=("$("${ours[@]}")")
  else
    o+=("$("${ours[@]}")")
    p+=("$("${peer[@]}")")
  fi
}

# ---- servers ----------------------------------------------------------------
# serve NAME CMD...: start a server in the foreground of a background job,
# listening on $work/NAME.sock; sets SERVER_PID.  Stopped at exit or by
# unserve.
serve ()
{
  local name=$1 i
  shift
  rm -f "$work/$name.sock"
  "$@" >>"$log" 2>&1 &
  SERVER_PID=$!
  for (( i=0; i<200; i++ )); do
    [ -S "$work/$name.sock" ] && return 0
    kill -0 "$SERVER_PID" 2>/dev/null || break
    sleep 0.05
  done
  echo "bench: server $name did not start: $*" >&2
  tail -n 5 "$log" >&2
  return 1
}
unserve ()
{
  kill "$1" 2>/dev/null
  wait "$1" 2>/dev/null
}
uri () { echo "nbd+unix:///?socket=$work/$1.sock"; }
vddk_local () { echo nbdkit -f -r -U "$work/$1.sock" "$plugin" "$work/$2"; }

# ---- the data disk ------------------------------------------------------------
size=$(/usr/bin/python3 -c '
import sys; s = sys.argv[1]; m = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}
print(int(s[:-1]) * m[s[-1].upper()] if s[-1].upper() in m else int(s))' "$size_h")
q=$((size / 8))
echo "bench: $(nproc) CPUs, $runs runs per case (medians); work directory $work"
echo "bench: making a $size-byte disk (3/8 text, 3/8 random, 1/4 hole, 65 % allocated) ..."
truncate -s "$size" disk.raw
head -c $((q * 3 / 4 * 3)) /dev/urandom | base64 -w 0 | head -c $((q * 3)) |
  dd of=disk.raw conv=notrunc,sparse bs=1M iflag=fullblock status=none
head -c $((q * 3)) /dev/urandom |
  dd of=disk.raw seek=$((q * 3)) oflag=seek_bytes conv=notrunc bs=1M iflag=fullblock status=none
for (( off = 0; off < q * 6; off += 8 << 20 )); do
  fallocate -p -o $((off + (4 << 20))) -l $((1 << 20)) disk.raw 2>/dev/null ||
    dd if=/dev/zero of=disk.raw seek=$((off + (4 << 20))) oflag=seek_bytes bs=1M count=1 \
       conv=notrunc status=none
done
qemu-img convert -f raw -O vmdk -o subformat=monolithicSparse disk.raw sparse.vmdk
qemu-img convert -f raw -O vmdk -o subformat=streamOptimized disk.raw stream.vmdk
qemu-img map --output=json -f raw disk.raw |
  /usr/bin/python3 -c 'import json, sys
m = json.load(sys.stdin); d = sum(e["length"] for e in m if e["data"])
print("bench: %.1f %% of the disk is allocated" % (100.0 * d / sum(e["length"] for e in m)))'
ls -ls disk.raw sparse.vmdk stream.vmdk
warm () { cat "$@" > /dev/null; }

# ---- local reads: sparse vs raw, streamOptimized vs qemu-nbd ------------------
if want local; then
  warm disk.raw sparse.vmdk
  serve vddk $(vddk_local vddk sparse.vmdk) && vpid=$SERVER_PID &&
  serve file nbdkit -f -r -U "$work/file.sock" file "$work/disk.raw" && fpid=$SERVER_PID &&
  for opt in "" --no-extents; do
    o=() p=()
    nbdcopy $opt "$(uri vddk)" null: && nbdcopy $opt "$(uri file)" null:  # warm up
    for (( i=0; i<runs; i++ )); do
      pair $i secs nbdcopy $opt "$(uri vddk)" null: \
        -- secs nbdcopy $opt "$(uri file)" null:
    done
    runs "${o[*]}" "${p[*]}"
    row "sparse read, nbdcopy ${opt:-(extents)}, vs raw file" \
      "$(rate $size "$(median "${o[@]}")")" "$(rate $size "$(median "${p[@]}")")" \
      MB/s 1 "ratio>=0.95"
  done
  unserve "$vpid"; unserve "$fpid"
fi

if want stream; then
  warm stream.vmdk
  serve vddk $(vddk_local vddk stream.vmdk) && vpid=$SERVER_PID &&
  serve qemu qemu-nbd -r -f vmdk -t -e 8 -k "$work/qemu.sock" "$work/stream.vmdk" && qpid=$SERVER_PID && {
    o=() p=()
    for (( i=0; i<runs; i++ )); do
      pair $i secs nbdcopy --no-extents "$(uri vddk)" null: \
        -- secs nbdcopy --no-extents "$(uri qemu)" null:
    done
    runs "${o[*]}" "${p[*]}"
    row "streamOptimized seq read (--no-extents) vs qemu-nbd" \
      "$(rate $size "$(median "${o[@]}")")" "$(rate $size "$(median "${p[@]}")")" \
      MB/s 1 "ratio>=3"
  }
  unserve "$vpid"; unserve "$qpid"
fi

# ---- random 4 KiB reads (fio, nbd engine) -------------------------------------
# fio_iops URI DEPTH [RW]: IOPS of BENCH_RANDOM_OPS random 4 KiB reads
# (or RW: randwrite) over the whole disk, fixed seed (the same offsets
# every time).
fio_iops ()
{
  fio --name=rand --ioengine=nbd --uri="$1" --rw="${3:-randread}" --bs=4k \
      --iodepth="$2" --size="$size" --number_ios="$random_ops" \
      --randrepeat=1 --norandommap --output-format=json --output=fio.json \
      >>"$log" 2>&1 || { echo n/a; return; }
  /usr/bin/python3 -c 'import json, sys
j = json.load(open("fio.json"))["jobs"][0]
print("%.0f" % (j["read"]["iops"] + j["write"]["iops"]))' || echo n/a
}
if want random; then
  warm sparse.vmdk
  serve vddk $(vddk_local vddk sparse.vmdk) && vpid=$SERVER_PID &&
  serve qemu qemu-nbd -r -f vmdk -t -e 8 -k "$work/qemu.sock" "$work/sparse.vmdk" && qpid=$SERVER_PID &&
  for depth in 1 32; do
    o=() p=()
    fio_iops "$(uri vddk)" $depth >/dev/null; fio_iops "$(uri qemu)" $depth >/dev/null
    for (( i=0; i<runs; i++ )); do
      pair $i fio_iops "$(uri vddk)" $depth \
        -- fio_iops "$(uri qemu)" $depth
    done
    runs "${o[*]}" "${p[*]}"
    row "sparse random 4K read, QD$depth (fio) vs qemu-nbd" \
      "$(median "${o[@]}")" "$(median "${p[@]}")" IOPS 1 \
      "ratio>=$([ $depth = 1 ] && echo 1.5 || echo 2)"
  done
  # nbdkit's own ceiling at QD1: its null plugin does no I/O at all, so
  # no plugin can beat it; when qemu-nbd is faster than this, the QD1
  # goal above is out of any nbdkit plugin's reach.
  serve null nbdkit -f -r -U "$work/null.sock" null "$size" && npid=$SERVER_PID && {
    o=() p=()
    fio_iops "$(uri null)" 1 >/dev/null
    for (( i=0; i<runs; i++ )); do
      pair $i fio_iops "$(uri vddk)" 1 -- fio_iops "$(uri null)" 1
    done
    runs "${o[*]}" "${p[*]}"
    row "sparse random 4K read, QD1 (fio) vs nbdkit null plugin (nbdkit's ceiling)" \
      "$(median "${o[@]}")" "$(median "${p[@]}")" IOPS 1 "ratio>=0.9"
    unserve "$npid"
  }
  unserve "$vpid"; unserve "$qpid"
fi

# ---- writes into existing disks ----------------------------------------------
# "Ahead of qemu-nbd everywhere" covers writes too.  Every run writes into
# fresh copies of the same disk, one per server, so that both allocate
# the same grains; the copies are made outside the timing.  Random 4 KiB
# writes go into the sparse disk (65 % allocated: some overwrite, some
# allocate) and into a monolithicFlat one; sequential writes (nbdcopy
# --flush, so the bytes reach the disk) into an empty sparse disk made
# by qemu-img create and into the flat one.
if want write; then
  qemu-img convert -f raw -O vmdk -o subformat=monolithicFlat disk.raw wflat.vmdk
  qemu-img create -q -f vmdk wempty.vmdk "$size"
  # fresh NAME: copies of NAME.vmdk and its extent files in ours/ and peer/
  fresh ()
  {
    rm -rf ours peer; mkdir ours peer
    cp --sparse=always "$1".vmdk "$1"-*.vmdk ours/ 2>/dev/null
    cp --sparse=always "$1".vmdk "$1"-*.vmdk peer/ 2>/dev/null
    warm ours/* peer/*
  }
  # write_pair I NAME CMD...: one run of CMD URI against each server, on
  # fresh copies of NAME (@URI@ in CMD is replaced by its URI).
  write_pair ()
  {
    local i=$1 name=$2 vpid qpid ours=() peer=() a
    shift 2
    fresh "$name"
    for a in "$@"; do ours+=("${a/@URI@/$(uri vddk)}"); peer+=("${a/@URI@/$(uri qemu)}"); done
    serve vddk nbdkit -f -U "$work/vddk.sock" "$plugin" "$work/ours/$name.vmdk" && vpid=$SERVER_PID &&
    serve qemu qemu-nbd -f vmdk -t -e 8 -k "$work/qemu.sock" "$work/peer/$name.vmdk" && qpid=$SERVER_PID &&
      pair "$i" "${ours[@]}" -- "${peer[@]}"
    unserve "$vpid"; unserve "$qpid"
  }
  for t in sparse:1 sparse:32 wflat:32; do
    IFS=: read -r name depth <<<"$t"
    o=() p=()
    for (( i=0; i<runs; i++ )); do
      write_pair $i $name fio_iops @URI@ $depth randwrite
    done
    runs "${o[*]}" "${p[*]}"
    row "${name#w} random 4K write, QD$depth (fio) vs qemu-nbd" \
      "$(median "${o[@]}")" "$(median "${p[@]}")" IOPS 1 "ratio>=1"
  done
  for t in wempty:"empty sparse" wflat:flat; do
    IFS=: read -r name what <<<"$t"
    o=() p=()
    for (( i=0; i<runs; i++ )); do
      write_pair $i $name secs nbdcopy --flush "$work/disk.raw" @URI@
    done
    qemu-img compare -q -f raw -F vmdk disk.raw "ours/$name.vmdk" ||
      echo "bench: warning: the $what disk written through nbdkit differs from the input" >&2
    runs "${o[*]}" "${p[*]}"
    row "$what seq write (nbdcopy --flush) vs qemu-nbd" \
      "$(rate $size "$(median "${o[@]}")")" "$(rate $size "$(median "${p[@]}")")" \
      MB/s 1 "ratio>=1"
  done
  rm -rf ours peer wflat*.vmdk wempty.vmdk
fi

# ---- mapping a 16 TiB nearly empty disk ---------------------------------------
if want map; then
  qemu-img create -q -f vmdk big.vmdk "$map_size"
  qemu-io -f vmdk -c 'write -P 0x11 5G 1M' -c 'write -P 0x22 1T 64k' \
    -c "write -P 0x33 $(( $(qemu-img info --output=json big.vmdk |
        /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["virtual-size"])') - (1 << 20) )) 1M" \
    big.vmdk >>"$log"
  ls -ls big.vmdk
  warm big.vmdk
  o=() p=() r=() pr=()
  for (( i=0; i<runs; i++ )); do
    # a new server each time: its grain tables start uncached
    if serve vddk $(vddk_local vddk big.vmdk); then
      o+=("$(secs nbdinfo --map "$(uri vddk)")")
      r+=("$(awk '/^VmHWM:/ { printf "%.1f\n", $2 / 1024 }' "/proc/$SERVER_PID/status")")
      unserve "$SERVER_PID"
    fi
    # qemu-img map takes about a minute here: at most 3 runs.
    if [ "$i" -lt 3 ]; then
      m=$(/usr/bin/python3 -c '
import resource, subprocess, sys, time
t = time.perf_counter()
rc = subprocess.call(sys.argv[1:], stdout=subprocess.DEVNULL)
t = time.perf_counter() - t
print("%.4f %.1f" % (t, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024) if rc == 0 else "n/a n/a")
' qemu-img map -f vmdk big.vmdk)
      p+=("${m% *}"); pr+=("${m#* }")
    fi
  done
  runs "${r[*]}" "${pr[*]}"
  row "peak RSS (VmHWM) mapping $map_size sparse vs qemu-img map" \
    "$(median "${r[@]}")" "$(median "${pr[@]}")" MiB 0 "ours<=64"
  runs "${o[*]}" "${p[*]}"
  row "time to map $map_size sparse (nbdinfo --map) vs qemu-img map" \
    "$(median "${o[@]}")" "$(median "${p[@]}")" s 0 "ours<=5"
  rm -f big.vmdk

  # A 2 TiB seSparse delta (the format's limit) with every grain table
  # present, as ESXi preallocates them, and data in every 64th.  No
  # peer: qemu-img map needs about 250 s for it here.
  /usr/bin/python3 "$srcdir/tests/make-sesparse-big.py" --sectors $((4 << 30)) \
    --directory all --every 64 "$work" ses >>"$log"
  warm ses-sesparse.vmdk
  o=() r=()
  for (( i=0; i<runs; i++ )); do
    if serve vddk $(vddk_local vddk ses.vmdk); then
      o+=("$(secs nbdinfo --map "$(uri vddk)")")
      r+=("$(awk '/^VmHWM:/ { printf "%.1f\n", $2 / 1024 }' "/proc/$SERVER_PID/status")")
      unserve "$SERVER_PID"
    fi
  done
  runs "${r[*]}" ""
  row "peak RSS (VmHWM) mapping a 2 TiB seSparse delta" \
    "$(median "${r[@]}")" n/a MiB 0 "ours<=64"
  runs "${o[*]}" ""
  row "time to map a 2 TiB seSparse delta (nbdinfo --map)" \
    "$(median "${o[@]}")" n/a s 0 "ours<=5"
  rm -f ses-sesparse.vmdk
fi

# ---- creating VMDKs from the raw disk -----------------------------------------
if want create; then
  warm disk.raw
  for t in stream-optimized:streamOptimized:3 monolithic-sparse:monolithicSparse:1; do
    IFS=: read -r ctype sub goal <<<"$t"
    o=() p=()
    for (( i=0; i<runs; i++ )); do
      rm -f out.vmdk qout.vmdk
      pair $i secs nbdkit -U - "$plugin" "$work/out.vmdk" create=true \
          create-type=$ctype create-size=$size \
          --run "nbdcopy $work/disk.raw \"\$uri\"" \
        -- secs qemu-img convert -f raw -O vmdk -o subformat=$sub disk.raw qout.vmdk
    done
    qemu-img compare -q -f raw -F vmdk disk.raw out.vmdk ||
      echo "bench: warning: the $ctype disk made through nbdkit differs from the input" >&2
    ls -ls out.vmdk qout.vmdk >>"$log"
    runs "${o[*]}" "${p[*]}"
    row "create $sub via nbdkit+nbdcopy vs qemu-img convert" \
      "$(median "${o[@]}")" "$(median "${p[@]}")" s 0 "ratio>=$goal"
  done
  rm -f out.vmdk qout.vmdk
fi

# ---- remote: the vSphere simulator ----------------------------------------------
# The same server through a modelled WAN (tests/wan-proxy.py: every
# connection paced to BENCH_WAN_RATE bytes/s, default 50 MB/s, and
# BENCH_WAN_DELAY ms each way, default 2), as a datastore download from a
# real vCenter or ESXi behaves.  A 512 MiB (BENCH_WAN_SIZE) monolithicFlat
# disk: a full copy with nbdcopy against one curl of the -flat file, and
# QD1 random 4 KiB reads (fio, BENCH_WAN_OPS of them) against one curl
# making the same number of ranged GETs on one kept-alive connection.
# Then the same copy and reads on loopback, without the proxy.
remote_wan ()
{
  local wsize=${BENCH_WAN_SIZE:-512M} wbytes ops=${BENCH_WAN_OPS:-500} i port where
  local dir="[$VCSIM_DS] $VCSIM_VM_NAME" url rpid
  wbytes=$(numfmt --from=iec "$wsize")
  head -c "$wbytes" /dev/urandom > wan.raw
  qemu-img convert -f raw -O vmdk -o subformat=monolithicFlat wan.raw wan.vmdk
  vcsim_put wan.vmdk "$dir/wan.vmdk"
  vcsim_put wan-flat.vmdk "$dir/wan-flat.vmdk"
  vcsim_attach_disk "$VCSIM_VM" "$dir/wan.vmdk" "$wbytes" || return 1
  rm -f wan.raw wan-flat.vmdk
  warm "$(vcsim_ds_path "$dir/wan-flat.vmdk")"
  start_wan_proxy --fine-timers --rate "${BENCH_WAN_RATE:-50000000}" \
    --delay "${BENCH_WAN_DELAY:-2}" \
    >>"$log" 2>&1 || return 1
  # the same random offsets for curl as for fio's: a fixed seed
  /usr/bin/python3 -c '
import random, sys
random.seed(1); n, size, url = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
for i in range(n):
    o = random.randrange(size // 4096) * 4096
    print("url = \"%s\"\nrange = %d-%d\noutput = /dev/null\ninsecure\nsilent\nshow-error\n%s"
          % (url, o, o + 4095, "next" if i < n - 1 else ""))
' "$ops" "$wbytes" "@URL@" > ranges.tmpl
  for where in WAN:"$WAN_PROXY_PORT" loopback:"$VCSIM_PORT"; do
    port=${where#*:} where=${where%%:*}
    serve rem nbdkit -f -r -U "$work/rem.sock" "$plugin" server="$VCSIM_HOST" \
      port="$port" user="$VCSIM_USER" password=+"$work/pw" \
      thumbprint="$VCSIM_THUMBPRINT" vm=moref="$VCSIM_VM" "$dir/wan.vmdk" || continue
    rpid=$SERVER_PID
    url="https://$VCSIM_HOST:$port/folder/$VCSIM_VM_NAME/wan-flat.vmdk?dcPath=$VCSIM_DC&dsName=$VCSIM_DS"
    sed "s|@URL@|$url|" ranges.tmpl > ranges.cfg
    o=() p=()
    nbdcopy "$(uri rem)" null: >>"$log" 2>&1         # warm up
    for (( i=0; i<runs; i++ )); do
      pair $i secs nbdcopy "$(uri rem)" null: \
        -- secs curl -sS -k -o /dev/null "$url"
    done
    runs "${o[*]}" "${p[*]}"
    row "REMOTE $where flat $wsize, nbdkit+nbdcopy vs one curl" \
      "$(median "${o[@]}")" "$(median "${p[@]}")" s 0 \
      "ratio>=$([ $where = WAN ] && echo 3 || echo 0.9)"
    if [ $where = loopback ]; then
      # On loopback every process is CPU-bound on the same cores, so the
      # wall-clock row above also charges us for the simulator's extra
      # connections and for nbdcopy (a second process the bytes cross).
      # The CPU our server process spends against what curl's spends for
      # the same bytes shows what the library itself costs.
      o=() p=()
      for (( i=0; i<runs; i++ )); do
        pair $i cpu_during "$rpid" nbdcopy "$(uri rem)" null: \
          -- cpu_secs curl -sS -k -o /dev/null "$url"
      done
      runs "${o[*]}" "${p[*]}"
      row "REMOTE loopback flat $wsize, CPU seconds: nbdkit process vs curl" \
        "$(median "${o[@]}")" "$(median "${p[@]}")" s 0 info
      remote_vs_curl_plugin "$url" "$wbytes" "$ops" "$wsize"
    fi
    if [ $where = WAN ]; then
      # What 4 connections can carry here at best: 4 curls of a quarter
      # each, at once (on a loaded machine the proxy and TLS run short
      # of CPU before the model's 4 x 50 MB/s).
      o=() p=()
      for (( i=0; i<runs; i++ )); do
        pair $i secs nbdcopy "$(uri rem)" null: \
          -- secs curl_parallel 4 "$url" "$wbytes"
      done
      runs "${o[*]}" "${p[*]}"
      row "REMOTE WAN flat $wsize, nbdkit+nbdcopy vs 4 curls of a quarter at once" \
        "$(median "${o[@]}")" "$(median "${p[@]}")" s 0 "ratio>=0.75"
      # CDI's cold copy: one reader, 2 MiB at a time in order, each read
      # waiting for the one before (its MaxPreadLengthVC on vCenter).
      o=() p=()
      for (( i=0; i<runs; i++ )); do
        pair $i secs reads_in_order "$(uri rem)" $((2 << 20)) \
          -- secs curl -sS -k -o /dev/null "$url"
      done
      runs "${o[*]}" "${p[*]}"
      row "REMOTE WAN flat $wsize, 2 MiB reads in order at QD1 (CDI) vs one curl" \
        "$(median "${o[@]}")" "$(median "${p[@]}")" s 0 "ratio>=2"
    fi
    o=() p=()
    for (( i=0; i<runs; i++ )); do
      pair $i fio_wan "$(uri rem)" "$wbytes" "$ops" \
        -- iops_of "$ops" curl -K ranges.cfg
    done
    runs "${o[*]}" "${p[*]}"
    row "REMOTE $where random 4K read QD1 (fio) vs curl ranges, one connection" \
      "$(median "${o[@]}")" "$(median "${p[@]}")" IOPS 1 "ratio>=0.8"
    unserve "$rpid"
  done
  grep -h "peak" "$WAN_PROXY_LOG" | tail -n 1 >>"$log"
  remote_thin "$wbytes" "$wsize" || return 1
  remote_chain "$wbytes" "$wsize" || return 1
  remote_scattered || return 1
  # QD1 again with 20 ms each way, where a round trip (40 ms) outweighs
  # the thread hand-offs a loaded machine adds: one round trip per read
  # gives the same IOPS as curl.
  start_wan_proxy --fine-timers --rate "${BENCH_WAN_RATE:-50000000}" --delay 20 \
    >>"$log" 2>&1 || return 1
  serve rem nbdkit -f -r -U "$work/rem.sock" "$plugin" server="$VCSIM_HOST" \
    port="$WAN_PROXY_PORT" user="$VCSIM_USER" password=+"$work/pw" \
    thumbprint="$VCSIM_THUMBPRINT" vm=moref="$VCSIM_VM" "$dir/wan.vmdk" || return 1
  rpid=$SERVER_PID
  url="https://$VCSIM_HOST:$WAN_PROXY_PORT/folder/$VCSIM_VM_NAME/wan-flat.vmdk?dcPath=$VCSIM_DC&dsName=$VCSIM_DS"
  sed "s|@URL@|$url|" ranges.tmpl | awk -v n=100 '/^url/ { k++ } k <= n' |
    sed '$ s/^next$//' > ranges.cfg
  o=() p=()
  for (( i=0; i<runs; i++ )); do
    pair $i fio_wan "$(uri rem)" "$wbytes" 100 -- iops_of 100 curl -K ranges.cfg
  done
  runs "${o[*]}" "${p[*]}"
  row "REMOTE WAN 20 ms each way, random 4K read QD1 vs curl ranges" \
    "$(median "${o[@]}")" "$(median "${p[@]}")" IOPS 1 "ratio>=0.8"
  unserve "$rpid"
}
# remote_thin BYTES LABEL: a thin monolithicFlat disk of BYTES with an
# eighth of it in use (8 runs of BYTES/64 spread over it), the -flat file
# sparse on the datastore, changed block tracking on and the VM powered
# off: the areas in use come from QueryChangedDiskAreas, so nbdcopy
# through the WAN model reads only those, against one curl of the whole
# -flat file (what a copy without allocation information downloads).
remote_thin ()
{
  local bytes=$1 label=$2 dir="[$VCSIM_DS] $VCSIM_VM_NAME" k
  truncate -s "$bytes" thin.raw
  for (( k=0; k<8; k++ )); do
    head -c $((bytes / 64)) /dev/urandom |
      dd of=thin.raw bs=64K seek=$((k * bytes / 8 / 65536)) conv=notrunc \
        status=none
  done
  qemu-img convert -f raw -O vmdk -o subformat=monolithicFlat thin.raw thin.vmdk
  rm -f thin.raw
  vcsim_put thin.vmdk "$dir/thin.vmdk" &&
    cp --sparse=always thin-flat.vmdk "$(vcsim_ds_path "$dir/thin-flat.vmdk")" &&
    vcsim_attach_disk "$VCSIM_VM" "$dir/thin.vmdk" "$bytes" &&
    vcsim_cbt "$VCSIM_VM" on && vcsim_fixture power "$VCSIM_VM" off ||
    return 1
  rm -f thin-flat.vmdk
  warm "$(vcsim_ds_path "$dir/thin-flat.vmdk")"
  copy_vs_one_curl thin.vmdk thin-flat.vmdk \
    "REMOTE WAN thin flat $label, 1/8 in use, change tracking on, nbdkit+nbdcopy vs one curl" \
    "ratio>=8" || return 1
  vcsim_fixture power "$VCSIM_VM" on
}
# remote_chain BYTES LABEL: a snapshot delta over the flat disk of
# remote_wan, with 2000 grains of 64 KiB written at random places (in
# the delta in the order written, as on ESXi), read whole with nbdcopy
# through the WAN model, against one curl of the base's -flat file (what
# the same disk flattened costs on one connection).  The chain fetches
# the delta's grains one GET each and the base's chunks between them.
remote_chain ()
{
  local bytes=$1 label=$2 dir="[$VCSIM_DS] $VCSIM_VM_NAME" args
  qemu-img create -q -f vmdk -b "$(vcsim_ds_path "$dir/wan.vmdk")" -F vmdk \
    chain.vmdk || return 1
  mapfile -t args < <(/usr/bin/python3 -c '
import random, sys
random.seed(7); grains = int(sys.argv[1]) // 65536
for i in range(2000):
    print("-c"); print("write -P %d %d 64k" % (i % 250 + 1, random.randrange(grains) * 65536))
' "$bytes")
  qemu-io -f vmdk "${args[@]}" chain.vmdk > /dev/null &&
    vmdk_set_parent_hint chain.vmdk wan.vmdk &&
    vcsim_put chain.vmdk "$dir/chain.vmdk" &&
    vcsim_attach_disk "$VCSIM_VM" "$dir/chain.vmdk" "$bytes" "$dir/wan.vmdk" ||
    return 1
  rm -f chain.vmdk
  copy_vs_one_curl chain.vmdk wan-flat.vmdk \
    "REMOTE WAN delta (2000 grains) over flat $label, nbdkit+nbdcopy vs one curl of the base" \
    "ratio>=1.3"
}
# remote_scattered: a 64 GiB monolithicSparse disk with 2000 grains of
# 64 KiB written at random places, so stored in no order (a thin hosted
# disk a guest filled, a delta), read whole with nbdcopy through the WAN
# model, against one curl of the whole file (the least a copy could
# download, on one connection).  Each grain is a GET of its own: the
# read-ahead cannot help a reader hopping around the file.
remote_scattered ()
{
  local dir="[$VCSIM_DS] $VCSIM_VM_NAME" args
  qemu-img create -q -f vmdk -o subformat=monolithicSparse scattered.vmdk 64G ||
    return 1
  mapfile -t args < <(/usr/bin/python3 -c '
import random
random.seed(5); grains = (64 << 30) // 65536
for i in range(2000):
    print("-c"); print("write -P %d %d 64k" % (i % 250 + 1, random.randrange(grains) * 65536))
')
  qemu-io -f vmdk "${args[@]}" scattered.vmdk > /dev/null &&
    vcsim_put scattered.vmdk "$dir/scattered.vmdk" &&
    vcsim_attach_disk "$VCSIM_VM" "$dir/scattered.vmdk" $((64 << 30)) ||
    return 1
  rm -f scattered.vmdk
  copy_vs_one_curl scattered.vmdk scattered.vmdk \
    "REMOTE WAN sparse 64G, 2000 grains in random order, nbdkit+nbdcopy vs one curl of the file" \
    "ratio>=0.5"
}
# copy_vs_one_curl DISK FILE LABEL GOAL: nbdcopy of DISK, a disk of the
# VM in its directory, through the WAN model, against one curl of FILE
# in that directory; one row.
copy_vs_one_curl ()
{
  local disk=$1 file=$2 label=$3 goal=$4 rpid url i
  serve rem nbdkit -f -r -U "$work/rem.sock" "$plugin" server="$VCSIM_HOST" \
    port="$WAN_PROXY_PORT" user="$VCSIM_USER" password=+"$work/pw" \
    thumbprint="$VCSIM_THUMBPRINT" vm=moref="$VCSIM_VM" \
    "[$VCSIM_DS] $VCSIM_VM_NAME/$disk" || return 1
  rpid=$SERVER_PID
  url="https://$VCSIM_HOST:$WAN_PROXY_PORT/folder/$VCSIM_VM_NAME/$file?dcPath=$VCSIM_DC&dsName=$VCSIM_DS"
  o=() p=()
  for (( i=0; i<runs; i++ )); do
    pair $i secs nbdcopy "$(uri rem)" null: -- secs curl -sS -k -o /dev/null "$url"
  done
  runs "${o[*]}" "${p[*]}"
  row "$label" "$(median "${o[@]}")" "$(median "${p[@]}")" s 0 "$goal"
  unserve "$rpid"
}
# remote_vs_curl_plugin URL BYTES OPS LABEL: the same copy and QD1 reads through
# nbdkit's curl plugin serving the -flat file: the open-source way to
# read a datastore file over NBD today (virt-v2v's), with nbdkit, the NBD
# hop and nbdcopy or fio costing the same on both sides, so that the
# ratio is the library against libcurl used plainly.  Needs the running
# vddk server (uri rem).
remote_vs_curl_plugin ()
{
  local url=$1 bytes=$2 ops=$3 label=$4 cpid i
  nbdkit curl --version >/dev/null 2>&1 || {
    echo "bench: nbdkit's curl plugin is missing: no rows against it" >&2; return 0; }
  serve cur nbdkit -f -r -U "$work/cur.sock" curl "$url" sslverify=false || return 0
  cpid=$SERVER_PID
  o=() p=()
  nbdcopy "$(uri cur)" null: >>"$log" 2>&1         # warm up
  for (( i=0; i<runs; i++ )); do
    pair $i secs nbdcopy "$(uri rem)" null: -- secs nbdcopy "$(uri cur)" null:
  done
  runs "${o[*]}" "${p[*]}"
  row "REMOTE loopback flat $label, nbdkit vddk vs nbdkit curl plugin (nbdcopy)" \
    "$(median "${o[@]}")" "$(median "${p[@]}")" s 0 "ratio>=1"
  o=() p=()
  for (( i=0; i<runs; i++ )); do
    pair $i fio_wan "$(uri rem)" "$bytes" "$ops" -- fio_wan "$(uri cur)" "$bytes" "$ops"
  done
  runs "${o[*]}" "${p[*]}"
  row "REMOTE loopback random 4K read QD1 (fio), nbdkit vddk vs nbdkit curl plugin" \
    "$(median "${o[@]}")" "$(median "${p[@]}")" IOPS 1 "ratio>=0.8"
  unserve "$cpid"
}
# reads_in_order URI LEN: read the whole export LEN bytes at a time, one
# read after the other (libnbd's Python binding).
reads_in_order ()
{
  /usr/bin/python3 -c '
import nbd, sys
h = nbd.NBD()
h.connect_uri(sys.argv[1])
size, n, off = h.get_size(), int(sys.argv[2]), 0
while off < size:
    h.pread(min(n, size - off), off)
    off += n
h.shutdown()
' "$1" "$2"
}
# curl_parallel N URL BYTES: N curls of a range of BYTES/N each, at once.
curl_parallel ()
{
  local n=$1 url=$2 q=$(( $3 / $1 )) i pids=() rc=0
  for (( i=0; i<n; i++ )); do
    curl -sS -k -o /dev/null -r $((i * q))-$(((i + 1) * q - 1)) "$url" & pids+=($!)
  done
  for i in "${pids[@]}"; do wait "$i" || rc=1; done
  return $rc
}
# fio_wan URI SIZE OPS: IOPS of OPS random 4 KiB reads at QD1.
fio_wan ()
{
  fio --name=rand --ioengine=nbd --uri="$1" --rw=randread --bs=4k \
      --iodepth=1 --size="$2" --number_ios="$3" --randrepeat=1 --norandommap \
      --output-format=json --output=fio.json >>"$log" 2>&1 || { echo n/a; return; }
  /usr/bin/python3 -c 'import json
print("%.0f" % json.load(open("fio.json"))["jobs"][0]["read"]["iops"])' || echo n/a
}
# iops_of OPS CMD...: OPS divided by the seconds CMD takes.
iops_of ()
{
  local n=$1 t
  shift
  t=$(secs "$@")
  awk -v n="$n" -v t="$t" 'BEGIN { if (t + 0 > 0) printf "%.0f\n", n / t; else print "n/a" }'
}

if want remote || want wan; then
  if ! ( vcsim_requires ) >>"$log" 2>&1; then
    echo "bench: skipping the remote cases: the simulator cannot be built or run (make deps)" >&2
  elif start_vcsim >>"$log" 2>&1; then
    qemu-img convert -f raw -O vmdk -o subformat=monolithicFlat disk.raw flat.vmdk
    dir="[$VCSIM_DS] $VCSIM_VM_NAME"
    for f in flat.vmdk flat-flat.vmdk sparse.vmdk; do vcsim_put "$f" "$dir/$f"; done
    vcsim_attach_disk "$VCSIM_VM" "$dir/flat.vmdk" "$size" &&
      vcsim_attach_disk "$VCSIM_VM" "$dir/sparse.vmdk" "$size" || exit 1
    warm "$(vcsim_ds_path "$dir/flat-flat.vmdk")" "$(vcsim_ds_path "$dir/sparse.vmdk")"
    printf %s "$VCSIM_PASSWORD" > pw
    want remote &&
    for d in flat:flat-flat.vmdk sparse:sparse.vmdk; do
      IFS=: read -r disk file <<<"$d"
      serve rem nbdkit -f -r -U "$work/rem.sock" "$plugin" server="$VCSIM_HOST" \
        port="$VCSIM_PORT" user="$VCSIM_USER" password=+"$work/pw" \
        thumbprint="$VCSIM_THUMBPRINT" vm=moref="$VCSIM_VM" "$dir/$disk.vmdk" || continue
      rpid=$SERVER_PID
      url=$(vcsim_folder_url "$dir/$file")
      o=() p=()
      nbdcopy "$(uri rem)" null: >>"$log" 2>&1         # warm up
      for (( i=0; i<runs; i++ )); do
        # each nbdcopy connects anew: a new session, nothing cached
        pair $i secs nbdcopy "$(uri rem)" null: \
          -- secs curl -sS -k -o /dev/null "$url"
      done
      runs "${o[*]}" "${p[*]}"
      row "REMOTE $disk 1 GiB, loopback, nbdkit+nbdcopy vs curl of $file" \
        "$(median "${o[@]}")" "$(median "${p[@]}")" s 0 "ratio>=0.9"
      # curl writes to /dev/null in its own process; our bytes also
      # cross a socket to a second process (nbdcopy).  The same hop
      # behind curl (a pipe to cat) shows what the pipeline itself costs.
      o=() p=()
      for (( i=0; i<runs; i++ )); do
        pair $i secs nbdcopy "$(uri rem)" null: \
          -- secs sh -c 'curl -sS -k "$1" | cat > /dev/null' curl "$url"
      done
      runs "${o[*]}" "${p[*]}"
      row "REMOTE $disk 1 GiB, nbdkit+nbdcopy vs curl | cat" \
        "$(median "${o[@]}")" "$(median "${p[@]}")" s 0 "ratio>=0.8"
      unserve "$rpid"
    done
    if want wan; then remote_wan; fi
  else
    echo "bench: the simulator did not start; see $log" >&2
    tail -n 20 "$log" >&2
  fi
fi

# ---- summary ------------------------------------------------------------------
echo
echo "nbdkit vddk vs peers, $size-byte disk, $(nproc) CPUs, medians of $runs runs" \
     "(ratio > 1: ours is better)"
fmt='%-64s %12s %12s %-5s %7s  %-11s %s\n'
printf "$fmt" case ours peer unit ratio goal ""
printf "$fmt" ---- ---- ---- ---- ----- ---- ""
for r in "${rows[@]}"; do
  IFS=$'\t' read -r name ours peer unit ratio goal verdict <<<"$r"
  printf "$fmt" "$name" "$ours" "$peer" "$unit" "$ratio" "$goal" "$verdict"
done
if [ -n "${BENCH_TSV:-}" ]; then
  printf 'case\tours\tpeer\tunit\tratio\tgoal\tverdict\n' > "$BENCH_TSV"
  printf '%s\n' "${rows[@]}" >> "$BENCH_TSV"
fi
exit 0
