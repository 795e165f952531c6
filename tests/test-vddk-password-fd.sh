#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# password=-FD: the password read from the fd reaches ConnectEx intact,
# although nbdkit re-execs itself after reading it.
source "$srcdir/tests/functions.sh"
set -e
set -x

requires nbdinfo --version

export FAKE_VDDK_PRINT_PASSWORD=1

# run: serve a remote-looking disk with the VDDK stand-in, password
# from fd 3 = pwfile; connect once and print the ConnectEx line.
run ()
{
  nbdkit -v -U - "$VDDK_PLUGIN" libdir="$builddir/tests" \
         server=noserver.example.com thumbprint=ab vm=novm user=root \
         /nofile password=-3 \
         --run 'nbdinfo --size "$uri"' 3< pwfile > out 2>&1 ||
    { cat out >&2; return 1; }
  # Only meaningful if nbdkit did re-exec.
  grep -F "re-executing with updated LD_LIBRARY_PATH=" out >&2
  grep '^fake-vddk: password=' out
}

printf '123' > pwfile
test "$(run)" = "fake-vddk: password=123"

# A trailing newline is not part of the password.
printf 'abc def\n' > pwfile
test "$(run)" = "fake-vddk: password=abc def"

# An empty file is an empty password.
: > pwfile
test "$(run)" = "fake-vddk: password="

# The password is not on the re-exec'd command line (nbdkit -v logs
# every parameter).
printf 'sekrit' > pwfile
test "$(run)" = "fake-vddk: password=sekrit"
if grep -F sekrit out | grep -v '^fake-vddk: password=sekrit$'; then
  echo "password leaked into the log"
  exit 1
fi

# stdin, stdout and stderr are refused.
expect_failure "stdin/stdout/stderr" \
  nbdkit -U - "$VDDK_PLUGIN" libdir="$builddir/tests" server=s vm=v \
         user=u /nofile password=-0 --run true
