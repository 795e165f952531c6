#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# Remote messages say what happened (issue 16, section 4):
# - a cookie= the server rejects is reported as a rejected cookie, with
#   whether a password login was tried after it (and why that failed),
#   not as "wrong user name or password" alone; a good password after a
#   rejected cookie still connects;
# - a remote disk served without -r is read-only with a warning, not an
#   error.
# Neither the password nor the cookie appears in any output.
source "$srcdir/tests/functions.sh"
source "$srcdir/tests/remote-functions.sh"
set -e
set -x

requires nbdinfo --version
vcsim_requires
vcsim_build
# fail MESSAGE: record a failed check and go on, so that one run shows
# every behaviour that is wrong; the test fails at the end.
failures=0
fail () { echo "FAIL: $*" >&2; failures=$((failures + 1)); }

secret="S3cret-$RANDOM-pw"
start_vcsim --user admin --password "$secret"
ds="[$VCSIM_DS]"
qemu-img create -q -f vmdk disk.vmdk 4M
vcsim_put disk.vmdk "$ds msg/disk.vmdk"
vcsim_attach_disk "$VCSIM_VM" "$ds msg/disk.vmdk" $((4 << 20))
printf %s "$secret" > pw
printf %s "session-key-$RANDOM" > key
bogus="vmware_soap_session=\"bogus-$RANDOM-cookie\""
printf %s "$bogus" > cookie
: > all.log

# serve OUT [PARAMS...]: nbdkit -v on the VM's disk, nbdinfo --size as
# the client; everything it prints in OUT (and all.log).
serve ()
{
  local out=$1 rc=0
  shift
  timeout 60 nbdkit -fv -U - "$VDDK_PLUGIN" server="$VCSIM_HOST" \
    port="$VCSIM_PORT" vm=moref="$VCSIM_VM" \
    thumbprint="$VCSIM_THUMBPRINT" "$@" "$ds msg/disk.vmdk" \
    --run 'nbdinfo "$uri"' > "$out" 2>&1 || rc=$?
  cat "$out" >> all.log
  return $rc
}

# A rejected cookie, then a password login that fails too.
refute serve bad.out cookie=+cookie user=admin password=+key
grep 'error:' bad.out
grep -q 'session cookie given (cookie=) was rejected' bad.out ||
  fail "a rejected cookie is not reported as such"
grep -q 'the password login tried after it failed: login to .* as admin failed: wrong user name or password' bad.out ||
  fail "the error does not say that a password login was tried after the cookie"

# A rejected cookie and a good password: connects, and says why it
# logged in (in the debug log).
serve good.out cookie=+cookie user=admin password=+pw ||
  fail "a good password after a rejected cookie does not connect"
grep -q "export-size: $((4 << 20))" good.out || fail "wrong size served"
grep -q 'the session cookie given was rejected; logging in as admin' good.out ||
  fail "the debug log does not say why it logged in after a cookie"

# Remote disks are read-only: a warning line, no error.
grep -q 'is_read_only: true' good.out || fail "a remote disk is not read-only"
grep -Eq '^nbdkit: vddk: warning: serving .*msg/disk.vmdk read-only' good.out ||
  fail "serving a remote disk read-only is not a warning line"
refute grep -q 'error: warning' good.out || fail "a warning is logged as an error"

# The secrets never appear.
refute grep -F -- "$secret" all.log
refute grep -F -- "bogus-" all.log
refute grep -F -- "$(cat key)" all.log

[ "$failures" -eq 0 ] || { echo "$failures check(s) failed" >&2; exit 1; }
