#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# Crash loop: for every writable format, CRASH_ITERATIONS times (default
# 3; make crash-loop runs 100) on the same disk:
#   nbdkit opens the disk read-write and must serve exactly what was left
#   durable; random writes (several in flight, zeros among them) and
#   flushes; SIGKILL at a random moment (during a write or a flush);
#   then qemu-img check is clean, every sector holds what was flushed or
#   something written after the last flush (old or new, per sector; see
#   tests/refdisk.py), qemu and nbdkit read the same, and the disk takes
#   a write again.
# Then the grain-table formats with a two-table cache, so that changed
# tables are written back and dropped between flushes.
# CRASH_SEED picks another sequence of writes and kill moments.
source "$srcdir/tests/functions.sh"
source "$srcdir/tests/loop-functions.sh"
set -e

requires qemu-img --version
requires /usr/bin/python3 -c 'import nbd'

iterations=${CRASH_ITERATIONS:-3}
seed=${CRASH_SEED:-$RANDOM}
ops=${CRASH_OPS:-60}
echo "crash loop: $iterations iterations, seed $seed, up to $ops requests each"

# crash_iterations FORMAT: the loop on the d.vmdk that loop_disk made.
crash_iterations ()
{
  local fmt=$1 n i
  n=$(( $(cksum <<<"$fmt" | cut -d' ' -f1) % 100 ))
  for (( i=1; i<=iterations; i++ )); do
    serve c.pid "$PWD/c.sock" nbdkit.log
    if ! "${refdisk[@]}" crash state "nbd+unix:///?socket=$PWD/c.sock" c.pid \
         $((seed * 100000 + n * 1000 + i)) "$ops"; then
      cat nbdkit.log
      echo "FAIL: $fmt, iteration $i (seed $seed)" >&2
      exit 1
    fi
    gone c.pid
    wait 2>/dev/null || true           # (bash would report the kill)
    if ! after_stop state; then
      echo "FAIL: $fmt, after the crash of iteration $i (seed $seed)" >&2
      ls -ls d*.vmdk
      exit 1
    fi
  done
  ls -ls d*.vmdk
  echo "$fmt: $iterations crashes survived"
}

for fmt in $LOOP_FORMATS; do
  loop_disk "$fmt" state
  crash_iterations "$fmt"
done

# The grain-table formats again with a two-table cache.
crash_format ()
{
  loop_disk "$1" state "${@:2}"
  crash_iterations "$1, two-table cache"
}
with_tiny_cache crash_format
