#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# When a read-write open fails, "(open the disk read-only instead)" is
# added only where -r helps: the disk cannot be written (permissions, an
# immutable file) or only readers hold it - not when it cannot be read
# either, nor when a writer holds it (then -r fails too).
source "$srcdir/tests/functions.sh"
set -e
set -x

requires nbdinfo --version
requires qemu-img --version
requires /usr/bin/python3 -c 'import nbd'

hint='open the disk read-only instead'

# hold URI NAME: keep a connection to URI open in the background until
# NAME.release exists; NAME.ready appears once it has read sector 0.
hold ()
{
  /usr/bin/python3 -c '
import nbd, os, sys, time
h = nbd.NBD(); h.connect_uri(sys.argv[1]); h.pread(512, 0)
open(sys.argv[2] + ".ready", "w").close()
for _ in range(1200):
    if os.path.exists(sys.argv[2] + ".release"): break
    time.sleep(0.05)
h.shutdown()' "$1" "$2" &
  cleanup_fn kill $!
  local i
  for (( i=0; i<100; i++ )); do [ -e "$2.ready" ] && return 0; sleep 0.1; done
  echo "hold: could not connect to $1" >&2
  return 1
}

# fails_with REGEX [RUN...] [-r] FILE: serving FILE (with RUN, a command
# prefix such as setpriv, in front of nbdkit) fails with REGEX.
# hinted REGEX [RUN...] [-r] FILE: ... then the hint.
# not_hinted [RUN...] [-r] FILE: fails, without the hint.
fails_with ()
{
  local regex=$1 run=()
  shift
  while [ $# -gt 0 ] && [ "$1" != -r ] && [[ $1 != /* ]]; do
    run+=("$1"); shift
  done
  ECF_FILTER='^nbdkit: .*error' expect_clean_failure "$regex" \
    "${run[@]}" nbdkit -U - "$VDDK_PLUGIN" "$@" --run 'nbdinfo --size "$uri"'
}
hinted () { fails_with "$1.*\($hint\)" "${@:2}"; }
not_hinted ()
{
  local out
  out=$(fails_with 'error' "$@") || { echo "$out"; return 1; }
  echo "$out"
  if grep -q "$hint" <<<"$out"; then
    echo "FAIL: the read-only hint was given where -r cannot help" >&2
    return 1
  fi
}
serves () { "${@:1:$#-1}" nbdkit -r -U - "$VDDK_PLUGIN" "${@: -1}" --run 'nbdinfo --size "$uri"'; }

make_pattern in.raw $((4 << 20))
qemu-img convert -f raw -O vmdk in.raw "$PWD/img.vmdk"

# ---- Locks.  Only readers: -r helps.
start_nbdkit -P r.pid -U "$PWD/r.sock" -r "$VDDK_PLUGIN" "$PWD/img.vmdk"
hold "nbd+unix:///?socket=$PWD/r.sock" r
hinted 'lock' "$PWD/img.vmdk"
serves "$PWD/img.vmdk"
touch r.release
kill_nbdkit r.pid
# A writer: -r fails too, so no hint.
start_nbdkit -P w.pid -U "$PWD/w.sock" "$VDDK_PLUGIN" "$PWD/img.vmdk"
hold "nbd+unix:///?socket=$PWD/w.sock" w
not_hinted "$PWD/img.vmdk"
not_hinted -r "$PWD/img.vmdk"
touch w.release
kill_nbdkit w.pid

# ---- An immutable file (EPERM even for root): -r helps.
cp img.vmdk immutable.vmdk
if chattr +i immutable.vmdk 2>/dev/null; then
  cleanup_fn chattr -i "$PWD/immutable.vmdk"
  hinted 'Operation not permitted' "$PWD/immutable.vmdk"
  serves "$PWD/immutable.vmdk"
  chattr -i immutable.vmdk
else
  echo "chattr +i not permitted here: immutable file not checked"
fi

# ---- Permissions, as an unprivileged user (root ignores them).
as=()
if [ "$(id -u)" = 0 ]; then
  if setpriv --reuid=nobody --regid=nogroup --clear-groups -- \
       test -r "$VDDK_PLUGIN" 2>/dev/null; then
    as=(setpriv --reuid=nobody --regid=nogroup --clear-groups --)
    chmod 755 "$PWD"
  else
    echo "SKIP: cannot run nbdkit as nobody: permission cases not checked"
    exit 0
  fi
fi
mkdir perm
cp img.vmdk perm/readable.vmdk
cp img.vmdk perm/unreadable.vmdk
cp "$SAMPLES/monolithicFlat.vmdk" "$SAMPLES/monolithicFlat-flat.vmdk" perm/
chmod 755 perm
chmod 444 perm/readable.vmdk perm/monolithicFlat-flat.vmdk
chmod 000 perm/unreadable.vmdk
chmod 666 perm/monolithicFlat.vmdk
# readable but not writable: -r helps (also when only an extent is so)
hinted 'readable\.vmdk for writing: Permission denied' "${as[@]}" "$PWD/perm/readable.vmdk"
serves "${as[@]}" "$PWD/perm/readable.vmdk"
hinted 'monolithicFlat-flat\.vmdk for writing: Permission denied' "${as[@]}" \
  "$PWD/perm/monolithicFlat.vmdk"
serves "${as[@]}" "$PWD/perm/monolithicFlat.vmdk"
# not readable either: -r cannot help
not_hinted "${as[@]}" "$PWD/perm/unreadable.vmdk"
not_hinted "${as[@]}" -r "$PWD/perm/unreadable.vmdk"
