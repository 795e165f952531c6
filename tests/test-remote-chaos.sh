#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# Remote reads under faults drawn at random, many at once: the network
# (tests/cut-proxy.py --chaos: each connection cut with a reset or a
# close, stalled for good, or paused for a while, after a random number
# of bytes) and the server (the bed's fault rules: 502/503/504 on /sdk
# and /folder, resets in the TLS handshake, QueryChangedDiskAreas
# faults), in both models, for flat, sparse, stream and chain (hosted
# sparse and seSparse) disks, read in order, by block status, or at
# random with several requests in flight (tests/chaos-client.py).
#
# Every run must end one of two ways, and nothing else:
#  - every read succeeded and every byte equals qemu-img's decoding of
#    the same local file (and every hole block status claims is zero);
#  - a read failed, in bounded time, with an error from the plugin that
#    names the server or the file, and no crash.
# A hang, a crash, or a wrong byte fails the test.  The faults are
# repeatable (CHAOS_SEED); CHAOS_ITERATIONS runs (make check: 12;
# make remote-chaos: more).  The first run has no fault and must succeed,
# and so must every run whose faults are only pauses and busy answers.
source "$srcdir/tests/functions.sh"
source "$srcdir/tests/remote-functions.sh"
set -e

requires qemu-img --version
requires /usr/bin/python3 -c 'import nbd'
vcsim_requires
vcsim_build

iterations=${CHAOS_ITERATIONS:-12}
seed=${CHAOS_SEED:-1}
M=$((1 << 20))
size=$((24 * M))

# The disks, made locally, and what each must read as: qemu-img's
# decoding of the same file.
make_pattern in.raw $size
head -c $((6 * M)) /dev/urandom | dd of=in.raw bs=1M seek=8 conv=notrunc status=none
qemu-img convert -f raw -O vmdk -o subformat=monolithicFlat in.raw flat.vmdk
qemu-img convert -f raw -O vmdk -o subformat=monolithicSparse in.raw sparse.vmdk
qemu-img convert -f raw -O vmdk -o subformat=streamOptimized in.raw stream.vmdk
qemu-img create -q -f vmdk -b "$PWD/sparse.vmdk" -F vmdk child.vmdk
qemu-io -c "write -P 0x5a 1M 192k" -c "write -P 0x33 9M 4M" \
  -c "write -P 0x44 20M 64k" child.vmdk > /dev/null
vmdk_set_parent_hint child.vmdk sparse.vmdk
for d in flat sparse stream child; do
  qemu-img convert -f vmdk -O raw "$d.vmdk" "$d.expected"
done
# An ESXi snapshot delta (seSparse, 4 KiB grains: some scattered, 20 runs
# of 256 KiB) over the flat disk.
/usr/bin/python3 "$srcdir/tests/make-sesparse.py" in.raw se-sesparse.vmdk \
  se-written.raw se-single.raw 20
sesparse_descriptor flat.vmdk se-sesparse.vmdk $size > se.vmdk
qemu-img convert -f vmdk -O raw se.vmdk se.expected
cmp se.expected se-written.raw          # the bed agrees with qemu-img

# Both models, each with its own fault rules.  vCenter's also wants the
# session cookie on /folder and forgets sessions idle (no SOAP call) for
# 3 s, so that a copy lives through sessions ending under it (re-login
# with the password, on a 401 to a range read).  The VM is powered off
# with changed block tracking on, so that the flat disk's areas in use
# come from QueryChangedDiskAreas (its -flat file has holes), asked a
# part at a time as block status and the read-ahead go (2 areas an
# answer on vCenter, 8 MiB on ESXi).
for model in vcenter esx; do
  : > "faults-$model"
  flags=(-faults "$PWD/faults-$model")
  if [ $model = vcenter ]; then
    flags+=(-folder-auth -session-idle 3s -cbt-max-areas 2)
  else
    flags+=(-cbt-span $((8 * M)))
  fi
  start_vcsim_model $model -- "${flags[@]}"
  declare "dir_$model=$VCSIM_DIR"
  ds="[$VCSIM_DS] chaos"
  for f in flat.vmdk flat-flat.vmdk sparse.vmdk stream.vmdk child.vmdk \
           se.vmdk se-sesparse.vmdk; do
    vcsim_put "$f" "$ds/$f"
  done
  for d in flat sparse stream; do
    vcsim_attach_disk "$VCSIM_VM" "$ds/$d.vmdk" $size
  done
  vcsim_attach_disk "$VCSIM_VM" "$ds/child.vmdk" $size "$ds/sparse.vmdk"
  vcsim_attach_disk "$VCSIM_VM" "$ds/se.vmdk" $size "$ds/flat.vmdk"
  vcsim_fixture power "$VCSIM_VM" off
  vcsim_cbt "$VCSIM_VM" on
done

# Short time-outs, so that a stalled connection is given up in seconds;
# still well above the longest pause (1 s), which must not fail a run
# even on a loaded machine.
printf '%s\n' 'vixDiskLib.nfc.ReadTimeoutMs = 3000' \
  'vixDiskLib.nfc.AcceptTimeoutMs = 3000' \
  'vixDiskLib.nfc.RequestTimeoutMs = 10000' > chaos.conf

# Every other run loads the AddressSanitizer/UBSan build of the library
# into nbdkit, when there is one: errors on the paths that retry and
# resume are memory errors first.
asan_libdir=
if [ -n "${ASAN_BUILDDIR:-}" ]; then
  asan_libdir=$PWD/asan-libdir
  mkdir -p "$asan_libdir/lib64"
  ln -s "$ASAN_BUILDDIR/lib/libvixDiskLib.so.8" "$asan_libdir/lib64/"
  asan_preload="$(gcc -print-file-name=libasan.so) $(gcc -print-file-name=libubsan.so)"
fi

# serve_asan DISK MODE SEED: one run with that library.  nbdkit is not
# let exit: with a sanitizer runtime preloaded, p11-kit's destructor
# deadlocks in freelocale at exit (as under TSan, test-tsan.sh).  So it
# runs in the background (exec'd: no shell inherits the runtime), the
# client reads, and once every connection is closed (as many Disconnect
# as ConnectEx calls in its debug log) it is killed.  A sanitizer report
# aborts it (abort_on_error) in the middle of the run, which the client
# sees and its log shows.  Output as vcsim_nbdkit's; exit as the client's.
serve_asan ()
{
  local pid n rc=0 opened closed
  rm -f s.sock
  VCSIM_PORT=$CUT_PROXY_PORT vcsim_plugin_params
  ( LD_PRELOAD=$asan_preload \
    ASAN_OPTIONS=detect_leaks=0:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1 \
    exec nbdkit -f -v -r -U "$PWD/s.sock" "$VDDK_PLUGIN" \
      "${VCSIM_PLUGIN_PARAMS[@]}" "$ds/$1.vmdk" \
      libdir="$asan_libdir" config="$PWD/chaos.conf" ) 2> asan-nbdkit.log &
  pid=$!
  for (( n=0; n<200; n++ )); do
    [ -S s.sock ] && break
    kill -0 $pid 2>/dev/null || break
    sleep 0.1
  done
  timeout -k 5 150 /usr/bin/python3 "$srcdir/tests/chaos-client.py" \
    "nbd+unix:///?socket=$PWD/s.sock" "$PWD/$1.expected" "$2" "$3" || rc=$?
  for (( n=0; n<300; n++ )); do
    # a ConnectEx that failed has nothing to disconnect
    opened=$(( $(grep -c "VDDK call: VixDiskLib_ConnectEx" asan-nbdkit.log) -
               $(grep -c "error: VixDiskLib_ConnectEx" asan-nbdkit.log) ))
    closed=$(grep -c "VDDK call: VixDiskLib_Disconnect" asan-nbdkit.log || true)
    [ "$opened" = "$closed" ] && break
    kill -0 $pid 2>/dev/null || break
    sleep 0.1
  done
  if [ "$opened" != "$closed" ] && kill -0 $pid 2>/dev/null; then
    echo "serve_asan: a connection was not closed 30 s after the client ended" >&2
    rc=124
  fi
  kill -9 $pid 2>/dev/null || true
  wait $pid 2>/dev/null || true
  grep -v "debug:" asan-nbdkit.log >&2 || true
  return $rc
}

# pick WORD...: one of the words, from the seeded RANDOM.
pick ()
{
  local a=("$@")
  echo "${a[RANDOM % ${#a[@]}]}"
}

echo "chaos: seed $seed, $iterations runs (CHAOS_SEED=$seed repeats them)"
RANDOM=$seed
ok=0 failed=0 hiccups_ok=0 hiccups=0
for (( i=0; i<iterations; i++ )); do
  model=$(pick vcenter esx)
  dir=dir_$model
  vcsim_use "${!dir}"
  ds="[$VCSIM_DS] chaos"
  faults=$PWD/faults-$model
  disk=$(pick flat sparse stream child se)
  mode=$(pick copy extents random)
  if [ $i = 0 ]; then
    cut=0 stall=0 pause=0 within=0 rules=()
  else
    cut=$(pick 0 0 0.1 0.3 0.6 1)
    stall=$(pick 0 0 0.1 0.3)
    pause=$(pick 0 0.2 0.5)
    within=$(pick $((256 << 10)) $((2 * M)) $((10 * M)))
    rules=()
    [ $((RANDOM % 3)) = 0 ] && rules+=("$(pick 502 503 504) $((RANDOM % 3 + 1)) /folder")
    [ $((RANDOM % 4)) = 0 ] && rules+=("503 $((RANDOM % 2 + 1)) /sdk")
    [ $((RANDOM % 4)) = 0 ] && rules+=("reset $((RANDOM % 3 + 1))")
    [ $((RANDOM % 4)) = 0 ] &&
      rules+=("fault:$(pick FileFault InvalidArgument) $((RANDOM % 2 + 1)) QueryChangedDiskAreas")
  fi
  printf '%s\n' "${rules[@]}" > "$faults"
  start_cut_proxy --chaos $((seed * 1000 + i)) --chaos-cut "$cut" \
    --chaos-stall "$stall" --chaos-pause "$pause" --chaos-bytes "$within" \
    --chaos-pause-secs 1
  how=
  [ -n "$asan_libdir" ] && [ $((i % 2)) = 1 ] && how=" (ASan)"
  what="run $i$how: $model, $disk, $mode; cut $cut, stall $stall, pause $pause within $within bytes; server: ${rules[*]:-none}"
  echo "== $what"
  rc=0
  SECONDS=0
  if [ -n "$how" ]; then
    serve_asan "$disk" "$mode" $((seed * 1000 + i)) > run.out 2> run.err || rc=$?
  else
    VCSIM_PORT=$CUT_PROXY_PORT vcsim_nbdkit --timeout 150 -r "$ds/$disk.vmdk" \
      config="$PWD/chaos.conf" \
      --run "/usr/bin/python3 '$srcdir/tests/chaos-client.py' \"\$uri\" \
             '$PWD/$disk.expected' $mode $((seed * 1000 + i))" \
      > run.out 2> run.err || rc=$?
  fi
  secs=$SECONDS
  _stop_pid "$CUT_PROXY_PID"
  cat run.out
  grep -E "error|chaos" run.err | head -n 5 || true
  echo "proxy faults: $(grep -cE "cut after|stalled|paused" "$CUT_PROXY_LOG" || true)"
  if [ $rc = 124 ] || [ $rc = 137 ]; then
    echo "FAIL: $what: no end after $secs s (a hang)"; cat run.err; exit 1
  fi
  if [ $rc -ge 128 ] ||
     grep -Eq 'Segmentation fault|core dumped|Aborted|Assertion .* failed|double free|AddressSanitizer|runtime error:' run.err; then
    echo "FAIL: $what: a crash (exit $rc)"; cat run.err; exit 1
  fi
  if [ $rc = 2 ] || grep -q "WRONG BYTES" run.out; then
    echo "FAIL: $what: wrong bytes"; cat run.err; exit 1
  fi
  if [ $rc = 0 ]; then
    grep -q "all right" run.out
    ok=$((ok + 1))
  else
    # A clear error from the plugin: it names the server or the file.
    if ! grep -E '^nbdkit: .*error' run.err |
         grep -Eq "$VCSIM_HOST|chaos/|\.vmdk"; then
      echo "FAIL: $what: the read failed (exit $rc) without an error naming the server or the file"
      cat run.err; exit 1
    fi
    failed=$((failed + 1))
  fi
  if [ "$cut" = 0 ] && [ "$stall" = 0 ]; then
    hiccups=$((hiccups + 1))
    [ $rc = 0 ] && hiccups_ok=$((hiccups_ok + 1))
  fi
  if [ $i = 0 ] && [ $rc != 0 ]; then
    echo "FAIL: $what: the run without faults failed"; cat run.err; exit 1
  fi
  echo "-- run $i: exit $rc in $secs s"
done
echo "chaos: $iterations runs: $ok read everything right, $failed failed cleanly;" \
     "$hiccups_ok of $hiccups runs with only pauses and server faults succeeded"
# Pauses shorter than the read time-out and a few busy answers are
# what the retries are for.
[ $hiccups_ok = $hiccups ]
