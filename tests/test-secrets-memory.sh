#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# The password and the session cookies stay secret in a running nbdkit,
# against vcsim, at every debug level (-v and all -D vddk.* flags):
#  - not in nbdkit's output;
#  - not in /proc/PID/cmdline or /proc/PID/environ of the nbdkit that
#    serves: the re-exec'd one (a VDDK-like libdir with a bundled
#    library), which gets them through pipes, and one that was not
#    re-exec'd, whose command line values are blanked out;
#  - not in a core dump (gcore) taken while it serves a client: neither
#    the password, nor the cookie given with cookie=, nor the session
#    cookie the library got from Login (on vcsim a session's key is its
#    cookie, so every session key the server lists is looked for).
#    The plugin still holds them (a second client connects after the
#    dump): they live in pages core dumps leave out, and every other
#    copy (SOAP bodies, libcurl's buffers, the Login answer) was zeroed.
# Forms: password=+FILE with cookie=+FILE, password=-FD (Login), and
# password=VALUE cookie=VALUE (without -v, as nbdkit -v itself prints
# every value it is given).
source "$srcdir/tests/functions.sh"
source "$srcdir/tests/remote-functions.sh"
set -e
set -x

requires nbdinfo --version
requires gdb --version
requires command -v gcore
requires /usr/bin/python3 -c 'import nbd'
vcsim_requires
vcsim_build

secret="Pw-$RANDOM$RANDOM-s3cret"
start_vcsim --user admin --password "$secret"
ds="[$VCSIM_DS]"
disk_name="$ds sec/disk.vmdk"
qemu-img create -q -f vmdk disk.vmdk 4M
vcsim_put disk.vmdk "$disk_name"
vcsim_attach_disk "$VCSIM_VM" "$disk_name" $((4 << 20))
printf '%s\n' "$secret" > pw
chmod 600 pw
cookie=$(vcsim_login admin "$secret")
printf '%s\n' "$cookie" > cookie
chmod 600 cookie

# A VDDK-like directory, so that the plugin re-execs nbdkit.
mkdir -p bundle/lib64
ln -s "$builddir/lib/libvixDiskLib.so.8" bundle/lib64/libvixDiskLib.so.8
ln -s "$(readlink -f /lib/x86_64-linux-gnu/libz.so.1)" bundle/lib64/libz.so.1

debug=(-v -D vddk.diskinfo=1 -D vddk.extents=1 -D vddk.datapath=1
       -D vddk.stats=1)
remote=(server="$VCSIM_HOST" port="$VCSIM_PORT" vm=moref="$VCSIM_VM"
        thumbprint="$VCSIM_THUMBPRINT" user=admin)

# refute_secrets FILE: none of the secrets (and no session cookie at
# all) is in FILE.  The session keys are read now, while nbdkit's own
# session is logged in.
refute_secrets ()
{
  local k keys=()
  while IFS=$'\t' read -r k _; do keys+=(-e "$k"); done \
    < <(vcsim_fixture sessions)
  [ ${#keys[@]} -gt 0 ]
  refute grep -q -a -F -e "$secret" -e "$cookie" "${keys[@]}" "$1"
  refute grep -q -a -E 'vmware_soap_session=["0-9a-f]' "$1"
}

# check NAME REEXEC [NBDKIT-ARGS...]: start nbdkit (re-exec'd or not),
# hold a client connection (which has read sector 0), then check what
# /proc shows, dump the core and look for the secrets in it.
check ()
{
  local name=$1 reexec=$2 pid core i
  shift 2
  env -u VCSIM_PASSWORD nbdkit -f -P "$PWD/$name.pid" -U "$PWD/$name.sock" \
    "$@" "$disk_name" 2> "$name.log" &
  for (( i=0; i<300; i++ )); do
    [ -s "$name.pid" ] && [ -S "$name.sock" ] && break
    sleep 0.1
  done
  [ -s "$name.pid" ] || { cat "$name.log"; return 1; }
  cleanup_fn kill_nbdkit "$PWD/$name.pid"
  pid=$(cat "$name.pid")
  hold "nbd+unix:///?socket=$PWD/$name.sock" "$name"

  tr '\0' '\n' < "/proc/$pid/cmdline" > "$name.cmdline"
  tr '\0' '\n' < "/proc/$pid/environ" > "$name.environ"
  cat "$name.cmdline"
  refute_secrets "$name.cmdline"
  refute_secrets "$name.environ"
  if [ "$reexec" = reexec ]; then
    grep -q '^reexeced_=' "$name.cmdline"
    grep -q "^LD_LIBRARY_PATH=$PWD/bundle/lib64" "$name.environ"
  else
    refute grep -q '^reexeced_=' "$name.cmdline"
  fi

  # Let the read-ahead that sector 0 started finish: a request in
  # flight holds the cookie in libcurl's buffers (see reliability.md).
  sleep 1
  # A dump of nbdkit here takes about 1.3 GB.
  if [ "$(df --output=avail -k . | tail -n 1)" -lt $((3 << 20)) ]; then
    echo "SKIP: less than 3 GiB free in $PWD for a core dump"
    exit 77
  fi
  gcore -o "$PWD/$name.core" "$pid" > "$name.gcore" 2>&1 || true
  core=$name.core.$pid
  if [ ! -s "$core" ]; then
    cat "$name.gcore"
    echo "SKIP: gcore cannot dump nbdkit (is ptrace allowed here?)"
    exit 77
  fi
  # The dump is the serving process: it holds the disk's name.
  grep -q -a -F "$disk_name" "$core"
  refute_secrets "$core"
  rm -f "$core"

  # The secrets are still there, only not in the dump: a new client
  # connects (a new ConnectEx) and reads.
  nbdinfo --size "nbd+unix:///?socket=$PWD/$name.sock" | grep -x 4194304

  touch "$name.release"
  kill_nbdkit "$PWD/$name.pid"
  cat "$name.log"
  refute_secrets "$name.log"
  refute grep -E "Segmentation|Aborted|Assertion" "$name.log"
}

# Re-exec'd, password and cookie from files, every debug flag.
check files reexec "${debug[@]}" "$VDDK_PLUGIN" libdir="$PWD/bundle" \
  "${remote[@]}" password=+"$PWD/pw" cookie=+"$PWD/cookie"
grep -F "re-executing with updated LD_LIBRARY_PATH" files.log
grep -x 'password=-[0-9]*' files.cmdline
grep -x 'cookie=-[0-9]*' files.cmdline

# Re-exec'd, the password from a file descriptor: the library logs in,
# and the session cookie it gets must stay as secret.
check fd reexec "${debug[@]}" "$VDDK_PLUGIN" libdir="$PWD/bundle" \
  "${remote[@]}" password=-3 3< pw
grep -F "logged in as admin" fd.log

# Not re-exec'd (only libvixDiskLib in the default libdir), both on the
# command line: blanked out there once nbdkit has read them.
check values noreexec "$VDDK_PLUGIN" "${remote[@]}" \
  password="$secret" cookie="$cookie"
grep -x 'password=\*\+' values.cmdline
grep -x 'cookie=\*\+' values.cmdline
