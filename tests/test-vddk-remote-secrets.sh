#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# A remote command line (as virt-v2v builds it) against our library, with
# no server listening: the connection fails with a clear message and no
# crash, and the password (from a file) or the session cookie never shows
# in nbdkit's verbose log, on its command line or in the library's
# messages.  (test-remote-errors.sh does the same against a real server.)
source "$srcdir/tests/functions.sh"
set -e
set -x

requires nbdinfo --version
secret="s3cret-$$-password"
cookie="c00kie-$$-session"
printf '%s\n' "$secret" > pw
chmod 600 pw

for creds in "password=+$PWD/pw" "password=+$PWD/pw cookie=$cookie"; do
  rc=0
  # shellcheck disable=SC2086
  nbdkit -f -v -U - "$VDDK_PLUGIN" server=127.0.0.1 user=root $creds \
         thumbprint=2C:11:ED:D7:13:87:7D:B5:74:18:B8:1C:42:C2:56:1F:0D:B9:5B:B9 \
         vm=moref=vm-57 "[LocalDS_0] DC0_H0_VM0/disk1.vmdk" \
         --run 'cat /proc/$PPID/cmdline | tr "\0" " "; echo; nbdinfo "$uri"' \
         > log 2>&1 || rc=$?
  cat log
  [ $rc -ne 0 ]
  [ $rc -lt 128 ]                                 # no crash
  grep -q "VixDiskLib_ConnectEx: cannot connect to 127.0.0.1:443" log
  # The password read from the file appears nowhere.  The cookie was
  # typed on the command line, which nbdkit itself echoes ("config key=",
  # the process's command line); nothing from the plugin or library may
  # repeat it.
  refute grep -F -e "$secret" log
  grep -v -e "config key=cookie" -e "^nbdkit -f -v" log > ours || true
  refute grep -F -e "$cookie" ours
  refute grep -E "Segmentation|Aborted|Assertion" log
done
