#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# Every input of the fuzz corpus (tests/fuzz/corpus) and every crasher
# found so far (tests/fuzz/crashers) goes through its fuzz target again,
# built without libFuzzer: with the normal build, and with the
# AddressSanitizer/UBSan build when there is one.  A crash, sanitizer
# report, leak or failed check (the targets abort) fails the test.
source "$srcdir/tests/functions.sh"
set -e

fuzzdir="$srcdir/tests/fuzz"
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:exitcode=97
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1:exitcode=98

builds=("$builddir")
if [ -n "${ASAN_BUILDDIR:-}" ] &&
   [ -x "$ASAN_BUILDDIR/tests/fuzz/fuzz-descriptor-replay" ]; then
  builds+=("$ASAN_BUILDDIR")
else
  echo "no sanitizer build (ASAN_BUILDDIR): replaying with the normal one only"
fi

n=0
for b in "${builds[@]}"; do
  for t in descriptor sparse stream disk soap; do
    dirs=()
    for d in "$fuzzdir/corpus/$t" "$fuzzdir/crashers/$t"; do
      [ -d "$d" ] && dirs+=("$d")
    done
    [ ${#dirs[@]} -gt 0 ] || continue
    # A hang is a finding too.
    timeout 300 "$b/tests/fuzz/fuzz-$t-replay" "${dirs[@]}" > replay.out 2> replay.err ||
      { echo "FAIL: $b: fuzz-$t"; cat replay.out; tail -n 40 replay.err; exit 1; }
    if grep -q -e Sanitizer -e "runtime error" replay.err; then
      echo "FAIL: $b: fuzz-$t: sanitizer report"; cat replay.err; exit 1
    fi
    # A server's reply must not make libxml2 print on stderr (it would
    # show bytes of the reply in nbdkit's log).
    if [ "$t" = soap ] &&
       grep -q -e "encoding error" -e "I/O error" -e "parser error" replay.err; then
      echo "FAIL: $b: fuzz-soap: libxml2 printed on stderr"; head replay.err; exit 1
    fi
    cat replay.out
    n=$((n + 1))
  done
done
if [ "$n" -eq 0 ]; then
  echo "SKIP: no corpus or crashers in tests/fuzz yet"
  exit 77
fi
