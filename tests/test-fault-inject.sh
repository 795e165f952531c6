#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# Faults below the library: tests/fault-inject.so (LD_PRELOAD into
# nbdkit) fails the Nth pwrite/pwritev/fsync/fdatasync/ftruncate/
# fallocate on the disk's files with EIO or ENOSPC.  For every writable
# format, a fixed sequence of writes and flushes (tests/refdisk.py fault,
# one request at a time, each read back) is first run without faults to
# list the calls and the places in the library that make them; then it
# is run again from the same starting disk with a failure at call N:
#   - the failing call reaches the client as an error with that errno
#     (never silently: a fault while the client works fails a request;
#     one during the final close, after the client is done, is logged);
#   - requests that succeed read back, before and after the failure;
#   - after nbdkit exits, nothing flushed before is lost, qemu-img check
#     is clean, and the disk opens read-write again and takes writes.
# Then the grain-table formats again with a two-table cache, so that the
# writes that make room in it are among the calls that fail.
# make check fails the first call of each place in the code once, with
# EIO or ENOSPC and a close or a crash in turn, plus a disk that stays
# full from the middle of the sequence on; make fault-loop (FAULT_ALL=1)
# fails every call number with both errnos, each then closed and killed.
source "$srcdir/tests/functions.sh"
source "$srcdir/tests/loop-functions.sh"
set -e

requires qemu-img --version
requires /usr/bin/python3 -c 'import nbd'
shim="$builddir/tests/fault-inject.so"
[ -e "$shim" ] || { echo "SKIP: $shim was not built"; exit 77; }

ops=${FAULT_OPS:-16}
seed=${FAULT_SEED:-5}
uri="nbd+unix:///?socket=$PWD/f.sock"

# run_fault FMT N ERRNO COUNT STOP: one run from the saved starting
# disk; STOP is "close" (the client disconnects, nbdkit exits) or "kill"
# (SIGKILL while the client is still connected: a crash after the fault).
run_fault ()
{
  local fmt=$1 at=$2 err=$3 cnt=$4 stop=$5 rc=0 what
  what="$fmt: $err at call $at (count $cnt, then $stop)"
  rm -f d*.vmdk fault.log
  cp -a start/. .
  cp start.state state
  serve f.pid "$PWD/f.sock" nbdkit.log LD_PRELOAD="$shim" \
    FAULT_PATTERN="$PWD/d*.vmdk" FAULT_AT="$at" FAULT_ERRNO="$err" \
    FAULT_COUNT="$cnt" FAULT_LOG="$PWD/fault.log"
  "${refdisk[@]}" fault state "$uri" "$seed" "$ops" "$err" fault.log \
    $([ "$stop" = kill ] && echo f.pid) > client.out 2>&1 || rc=$?
  [ "$stop" = kill ] || kill "$(cat f.pid)"
  gone f.pid
  wait 2>/dev/null || true           # (bash would report the kill)
  if [ $rc -ne 0 ]; then
    cat client.out fault.log nbdkit.log
    echo "FAIL: $what: the client saw the above" >&2
    return 1
  fi
  # Faults after the client was done (the close's flush) are logged.
  if [ "$stop" = close ] && grep -q "^FAULT" fault.log &&
     grep -q "0 requests failed" client.out && ! grep -q "error" nbdkit.log; then
    cat fault.log nbdkit.log
    echo "FAIL: $what: the close failed silently" >&2
    return 1
  fi
  if ! after_stop state > after.out 2>&1; then
    cat client.out fault.log nbdkit.log after.out
    echo "FAIL: $what: the disk afterwards" >&2
    return 1
  fi
  echo "$what: $(tail -n 1 client.out)"
}

# fault_format FORMAT [SIZE WINDOW...]: the runs for one format, on a
# disk made by loop_disk with those arguments.
fault_format ()
{
  local fmt=$1 total k at err stop
  # The starting disk: some data written and flushed, so that faults
  # meet allocated grains as well as new ones, and have data to lose.
  loop_disk "$fmt" start.state "${@:2}"
  serve f.pid "$PWD/f.sock" nbdkit.log
  "${refdisk[@]}" fault start.state "$uri" 1 12 EIO none
  kill "$(cat f.pid)"
  gone f.pid
  rm -rf start
  mkdir start
  cp -a d*.vmdk start/

  # The calls of a run without faults, and where they come from.
  run_fault "$fmt" 0 EIO 1 close
  cp fault.log calls.log
  total=$(grep -c "^CALL" calls.log)
  # A place is the innermost three return addresses in the library.
  awk '{ split($4, f, "<"); site = $3 " " f[1] "<" f[2] "<" f[3];
         if (!(site in seen)) { seen[site] = 1; print $2 } }' calls.log \
    > sites.txt
  echo "$fmt: $total calls, $(wc -l < sites.txt) places"
  if [ -n "${FAULT_ALL:-}" ]; then
    for (( at=1; at<=total; at++ )); do
      for err in EIO ENOSPC; do
        for stop in close kill; do
          run_fault "$fmt" $at $err 1 $stop
          runs=$((runs + 1))
        done
      done
    done
  else
    # Each place once, the errnos and the stops taking turns so that
    # every pair comes up (ENOSPC first: the first place is the first
    # write, which records the new content ID).
    k=0
    while read -r at; do
      err=ENOSPC stop=close
      [ $((k % 2)) -eq 1 ] && err=EIO
      [ $((k / 2 % 2)) -eq 1 ] && stop=kill
      run_fault "$fmt" "$at" $err 1 $stop
      k=$((k + 1))
      runs=$((runs + 1))
    done < sites.txt
  fi
  # A disk that stays full from the middle of the sequence on.
  run_fault "$fmt" $((total / 2)) ENOSPC 0 close
  run_fault "$fmt" $((total / 2)) ENOSPC 0 kill
  runs=$((runs + 2))
}

runs=0
for fmt in $LOOP_FORMATS; do
  fault_format "$fmt"
done

# The grain-table formats again with a two-table cache, so that the
# writes that make room in it are among the calls that fail.
with_tiny_cache fault_format
echo "$runs runs with faults"
