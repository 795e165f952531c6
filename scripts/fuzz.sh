#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# Run the libFuzzer targets of tests/fuzz (built by make fuzz).
#
#   scripts/fuzz.sh run BUILDDIR SECONDS [TARGET...]
#       fuzz each target for SECONDS, one after the other, at low
#       priority, from the committed corpus and the seeds; new inputs
#       go to BUILDDIR/fuzz/work/TARGET, crashes to
#       BUILDDIR/fuzz/artifacts/TARGET, logs to BUILDDIR/fuzz/TARGET.log
#   scripts/fuzz.sh merge BUILDDIR [TARGET...]
#       minimize the committed corpus and what runs found into
#       tests/fuzz/corpus/TARGET (-merge=1 on edges only: the smallest
#       inputs that together reach every edge reached; hit counts are
#       left to the runs, which keep their full corpus in work/)
#
# Exit status 1 if any target found something (see its log).
set -u

srcdir=$(cd "$(dirname "$0")/.." && pwd)
cmd=${1:?usage: fuzz.sh run|merge BUILDDIR ...}
builddir=$(cd "${2:?usage: fuzz.sh run|merge BUILDDIR ...}" && pwd)
shift 2
if [ "$cmd" = run ]; then
  seconds=${1:?usage: fuzz.sh run BUILDDIR SECONDS [TARGET...]}
  shift
fi
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(descriptor sparse stream disk soap)

out="$builddir/fuzz"
seeds="$out/seeds"
mkdir -p "$out"
if [ ! -d "$seeds" ]; then
  /usr/bin/python3 "$srcdir/tests/fuzz/make-seeds.py" "$seeds.tmp" \
    "$srcdir/tests/data/vmware" "$builddir/tests/vdl-driver" &&
    mv "$seeds.tmp" "$seeds"
fi

# Sanitizer reports end the run, so that libFuzzer saves the input.
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}"

status=0
for t in "${targets[@]}"; do
  fuzzer="$builddir/tests/fuzz/fuzz-$t"
  corpus="$srcdir/tests/fuzz/corpus/$t"
  work="$out/work/$t"
  mkdir -p "$work" "$out/artifacts/$t" "$corpus"
  dict=()
  [ -f "$srcdir/tests/fuzz/$t.dict" ] && dict=(-dict="$srcdir/tests/fuzz/$t.dict")
  case $cmd in
  run)
    echo "== fuzz-$t for ${seconds}s (log: $out/$t.log)"
    # The first directory receives new inputs; the others are read.
    nice -n 10 "$fuzzer" -max_total_time="$seconds" -timeout=20 \
      -rss_limit_mb=2048 -print_final_stats=1 "${dict[@]}" \
      -artifact_prefix="$out/artifacts/$t/" \
      "$work" "$corpus" "$seeds/$t" > "$out/$t.log" 2>&1
    rc=$?
    # The last status line and the totals.
    grep -E '^#[0-9]+' "$out/$t.log" | tail -n 1
    grep -E '^stat::(number_of_executed_units|average_exec_per_sec|peak_rss_mb)' \
      "$out/$t.log" | tr '\n' ' '
    echo
    if [ $rc -ne 0 ]; then
      echo "fuzz-$t: FOUND SOMETHING (exit $rc):"
      grep -E 'ERROR|SUMMARY|check failed|Test unit written' "$out/$t.log" | head -n 5
      status=1
    fi
    ;;
  merge)
    echo "== merging into tests/fuzz/corpus/$t"
    new="$out/merged/$t"
    rm -rf "$new"
    mkdir -p "$new"
    nice -n 10 "$fuzzer" -merge=1 -use_counters=0 -timeout=20 -rss_limit_mb=2048 \
      "$new" "$corpus" "$work" "$seeds/$t" > "$out/$t-merge.log" 2>&1 ||
      { echo "merge failed: $out/$t-merge.log"; status=1; continue; }
    rm -f "$corpus"/*
    cp "$new"/* "$corpus"/
    echo "$(ls "$corpus" | wc -l) inputs, $(du -sh "$corpus" | cut -f1)"
    ;;
  *)
    echo "fuzz.sh: unknown command $cmd" >&2
    exit 2
    ;;
  esac
done
exit $status
