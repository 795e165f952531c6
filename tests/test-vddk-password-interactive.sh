#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# password=-: the password typed at the prompt reaches ConnectEx intact
# after nbdkit re-execs itself.
source "$srcdir/tests/functions.sh"
set -e
set -x

requires expect -v
requires nbdinfo --version

export FAKE_VDDK_PRINT_PASSWORD=1
export VDDK_PLUGIN builddir

cat > run.exp <<'EXP'
set timeout 60
spawn nbdkit -U - $env(VDDK_PLUGIN) libdir=$env(builddir)/tests \
      server=noserver.example.com thumbprint=ab vm=novm user=root \
      /nofile password=- \
      --run {nbdinfo --size "$uri"}
expect {
  "ssword:" { send "abc xyz\r" }
  timeout { puts "no password prompt"; exit 1 }
}
expect {
  "fake-vddk: password=abc xyz\r" { }
  "fake-vddk: password=" { puts "wrong password"; exit 1 }
  timeout { puts "ConnectEx did not print the password"; exit 1 }
}
expect eof
lassign [wait] pid spawnid os_error status
exit $status
EXP
expect -f run.exp
