#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# password=+FILE and password=PASSWORD: the password reaches ConnectEx
# intact after nbdkit re-execs itself.
source "$srcdir/tests/functions.sh"
set -e
set -x

requires nbdinfo --version

export FAKE_VDDK_PRINT_PASSWORD=1

# run PASSWORD-ARG: serve a remote-looking disk with the VDDK stand-in,
# connect once and print the ConnectEx line.
run ()
{
  nbdkit -v -U - "$VDDK_PLUGIN" libdir="$builddir/tests" \
         server=noserver.example.com thumbprint=ab vm=novm user=root \
         /nofile "$1" \
         --run 'nbdinfo --size "$uri"' > out 2>&1 ||
    { cat out >&2; return 1; }
  grep -F "re-executing with updated LD_LIBRARY_PATH=" out >&2
  grep '^fake-vddk: password=' out
}

printf 'file password\n' > pwfile
test "$(run password=+pwfile)" = "fake-vddk: password=file password"

# Only the first line counts.
printf 'first\nsecond\n' > pwfile
test "$(run password=+"$PWD/pwfile")" = "fake-vddk: password=first"

: > pwfile
test "$(run password=+pwfile)" = "fake-vddk: password="

# A literal password, which the re-exec passes on through a file too.
test "$(run password=literal)" = "fake-vddk: password=literal"
test "$(run 'password=with spaces')" = "fake-vddk: password=with spaces"

# A missing file is an error.
expect_failure "nonexistent" \
  nbdkit -U - "$VDDK_PLUGIN" libdir="$builddir/tests" server=s vm=v \
         user=u /nofile password=+nonexistent --run true
