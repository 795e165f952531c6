#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# An interrupted vdiskmanager -r (and -c) leaves nothing under the final
# names.  tests/hold-call.so stops the copy at its Nth write into the
# destination directory (or at the Nth time it gives a file its final
# name) until the test has sent the signal, so the signal always lands
# mid-way, whatever the machine's load.  For a single-file destination
# (-t 0, -t 5), split ones (-t 1 with two extents, -t 3) and a flat one
# (-t 2), and each of SIGINT, SIGTERM and SIGKILL:
#   - no file exists under the disk's name or its extents' names;
#   - after SIGINT/SIGTERM the tool removed its temporaries and died of
#     the signal (status 128+N), saying the copy was cancelled;
#   - the same command run again succeeds (after SIGKILL it removes the
#     hidden leftovers of the killed run first), leaves only the disk's
#     own files, and the copy matches the source (qemu-img compare).
# Then SIGKILL between the final names of two extents: the extent named
# already must not stop the next run, which removes it.
source "$srcdir/tests/functions.sh"
source "$srcdir/tests/vdiskmanager-functions.sh"
set -e

shim="$builddir/tests/hold-call.so"
[ -e "$shim" ] || { echo "SKIP: $shim was not built"; exit 77; }
# Background jobs get their own process group, and SIGINT is not
# ignored in them as it is without job control.
set -m

# Sources: 3 GiB (two extents when split) with data in both halves, and
# 64 MiB for the preallocated types.
truncate -s 3G big.raw
head -c 24M /dev/urandom | dd of=big.raw conv=notrunc status=none
head -c 8M /dev/urandom | dd of=big.raw bs=1M seek=2600 conv=notrunc \
  status=none
qemu-img convert -f raw -O vmdk big.raw big.vmdk
truncate -s 64M small.raw
head -c 40M /dev/urandom | dd of=small.raw bs=1M seek=8 conv=notrunc \
  status=none
qemu-img convert -f raw -O vmdk small.raw small.vmdk
rm -f big.raw small.raw

declare -A files=(
  [0]="d.vmdk" [1]="d.vmdk d-s001.vmdk d-s002.vmdk" [2]="d.vmdk d-flat.vmdk"
  [3]="d.vmdk d-f001.vmdk" [5]="d.vmdk"
)
declare -A status=( [INT]=130 [TERM]=143 [KILL]=137 )

# held KIND N CMD...: run CMD in the background, held before its Nth
# counted call of KIND (write, name) on a file in out/; sets $pid once
# the hold is reached.  Fails if CMD ends without reaching it.
held ()
{
  local kind=$1 at=$2 i
  shift 2
  rm -f ready go
  LD_PRELOAD="$shim" HOLD_CALLS=$kind HOLD_AT=$at \
    HOLD_PATTERN="$PWD/out/*" HOLD_READY="$PWD/ready" HOLD_GO="$PWD/go" \
    "$@" > run.out 2> run.err &
  pid=$!
  for (( i=0; i<6000; i++ )); do
    [ ! -e ready ] || break
    if ! kill -0 $pid 2>/dev/null; then
      cat run.out run.err
      echo "FAIL: $* ended before its $kind call $at in out/" >&2
      return 1
    fi
    sleep 0.05
  done
  [ -e ready ] || { echo "FAIL: $* never reached the hold" >&2; return 1; }
  echo "held at $kind $at: $(cat ready)"
}

# interrupt SIG T: signal the held process making a type T disk, let
# it go, check its end and what it left.
interrupt ()
{
  local sig=$1 t=$2 rc=0
  ls -la out
  # Evidence that the work is under way: the file being written exists.
  [ -e "$(cat ready)" ]
  kill -$sig $pid
  touch go
  wait $pid || rc=$?
  cat run.out run.err
  echo "exit status $rc after SIG$sig"
  [ $rc -eq ${status[$sig]} ] ||
    { echo "FAIL: expected death by SIG$sig (${status[$sig]})" >&2; return 1; }
  nothing_final $t
  if [ $sig != KILL ]; then
    grep -q "cancelled" run.err
    # Nothing left at all, not even the temporaries.
    [ -z "$(ls -A out)" ] ||
      { ls -la out; echo "FAIL: files left after SIG$sig" >&2; return 1; }
  fi
}

# nothing_final T: no file under the final names of a type T disk.
nothing_final ()
{
  local f
  for f in ${files[$1]}; do
    if [ -e out/$f ]; then
      ls -la out
      echo "FAIL: out/$f exists after the interrupted run" >&2
      return 1
    fi
  done
}

# only_final T: exactly the disk's own files, no temporaries.
only_final ()
{
  local want got
  want=$(printf '%s\n' ${files[$1]} | sort)
  got=$(ls -A out | sort)
  [ "$want" = "$got" ] ||
    { echo "FAIL: expected [$want], found [$got]" >&2; return 1; }
}

check_copy ()
{
  local t=$1 src=$2
  vdm -q -e out/d.vmdk
  only_final $t
  qemu-img compare -f vmdk -F vmdk $src out/d.vmdk
}

for t in 0 1 2 3 5; do
  case $t in 0|1) src=big.vmdk ;; *) src=small.vmdk ;; esac
  # Flat extents take 1 MiB per write; sparse ones a grain at a time.
  case $t in 2|3) at=12 ;; *) at=60 ;; esac
  for sig in INT TERM KILL; do
    echo "==== -r -t $t, SIG$sig at write $at"
    rm -rf out
    mkdir out
    held write $at "$VDM" -q -r $src -t $t out/d.vmdk
    interrupt $sig $t
    vdm -q -r $src -t $t out/d.vmdk
    check_copy $t $src
  done
done

# kill -9 between the final names of the two extents of a split disk:
# the first is there (a hard link to its temporary), the descriptor not.
echo "==== -r -t 1, SIGKILL between the extents' final names"
rm -rf out
mkdir out
held name 2 "$VDM" -q -r big.vmdk -t 1 out/d.vmdk
ls -la out
[ -e out/d-s001.vmdk ]
kill -KILL $pid
wait $pid || true
[ ! -e out/d.vmdk ]
vdm -q -r big.vmdk -t 1 out/d.vmdk
check_copy 1 big.vmdk

# -c: interrupted while it writes the empty extents.
for sig in INT TERM KILL; do
  echo "==== -c -t 1, SIG$sig"
  rm -rf out
  mkdir out
  held write 3 "$VDM" -q -c -s 3GB -t 1 out/d.vmdk
  interrupt $sig 1
  vdm -q -c -s 3GB -t 1 out/d.vmdk
  vdm -q -e out/d.vmdk
  only_final 1
done

# A name as long as a filesystem takes (NAME_MAX 255 with its extents'
# "-s001"): the temporaries must still fit, and a killed run's leftovers
# are still found and removed by the next run of the same command.
long=$(printf 'n%.0s' {1..244})
echo "==== -r -t 1 to a ${#long}-byte stem, SIGKILL"
rm -rf out
mkdir out
files[L]="$long.vmdk $long-s001.vmdk $long-s002.vmdk"
held write 60 "$VDM" -q -r big.vmdk -t 1 "out/$long.vmdk"
kill -KILL $pid
wait $pid || true
nothing_final L
vdm -q -r big.vmdk -t 1 "out/$long.vmdk"
only_final L
qemu-img compare -f vmdk -F vmdk big.vmdk "out/$long.vmdk"
rm -rf out
mkdir out
vdm -q -c -s 10MB -t 0 "out/$long-s001.vmdk"
[ "$(ls -A out)" = "$long-s001.vmdk" ]

# A file of the user's that looks like a leftover is never removed: a
# final extent name that is not linked to a temporary stops the run.
rm -rf out
mkdir out
echo mine > out/d-s001.vmdk
vdm_fails 1 "d-s001.vmdk already exists" -r big.vmdk -t 1 out/d.vmdk
[ "$(cat out/d-s001.vmdk)" = mine ]
[ "$(ls -A out)" = d-s001.vmdk ]
echo PASS
