#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# Sessions that last as long as the copy (issue 17, section 4), in both
# models.  The bed (scripts/vcsim/sessions.go) requires a live session
# cookie on /folder and ends sessions idle for 4 s, /folder traffic not
# counting as use, as real servers do after ~30 minutes.
#  1. The bed works: with the keepalive interval far above the idle
#     time, a cookie-only connection that pauses longer than the idle
#     time loses its session, and the read fails (HTTP 401).
#  2. With a keepalive interval below the idle time, a cookie-only copy
#     that pauses several times, each time longer than the idle time,
#     completes and its bytes are right.
#  3. SOAP POSTs carry no "Expect: 100-continue" (ESXi never answers it
#     with the interim 100 libcurl waits for).  libcurl adds it for
#     bodies over 1 MiB (older versions: 1 KiB), so a Login with a
#     1.5 MB password shows what is sent; the bed records the header.
source "$srcdir/tests/functions.sh"
source "$srcdir/tests/remote-functions.sh"
set -e
set -x

requires nbdsh --version
requires nbdinfo --version
vcsim_requires
vcsim_build

M=$((1 << 20))
size=$((32 * M))
printf '%s\n' 'vixDiskLib.https.KeepAliveMs = 600000' > nokeep.conf
printf '%s\n' 'vixDiskLib.https.KeepAliveMs = 1000' > keep.conf

# pauses COOKIE CONF OUT: read the disk in 4 pieces of 8 MiB with the
# cookie only (the plugin wants a password: an empty one, so that the
# library cannot log in again), pausing 6 s (longer than the idle time)
# before each.
: > nopw
pauses ()
{
  printf %s "$1" > cookie
  nbdkit -fv -U - "$VDDK_PLUGIN" cookie=+cookie user="$VCSIM_USER" password=+nopw \
    server="$VCSIM_HOST" port="$VCSIM_PORT" thumbprint="$VCSIM_THUMBPRINT" \
    vm=moref="$VCSIM_VM" "$ds sess/flat.vmdk" config="$PWD/$2" \
    --run "nbdsh -u \"\$uri\" -c '
import time
out = open(\"$3\", \"wb\")
for i in range(4):
    time.sleep(6)
    out.write(h.pread(8 << 20, i * (8 << 20)))
out.close()
'"
}

for model in vcenter esx; do
  headers=$PWD/headers-$model
  start_vcsim_model $model -- -folder-auth -session-idle 4s \
    -record-headers "$headers"
  ds="[$VCSIM_DS]"
  vcsim_put_flat in.raw $size "$ds sess/flat.vmdk"

  # /folder without a session cookie: 401, as on real servers.
  code=$(curl -sk -o /dev/null -w '%{http_code}' "$(vcsim_folder_url "$ds sess/flat.vmdk")")
  [ "$code" = 401 ]

  # 1. No keepalive in time: the session is gone after the pause.
  refute pauses "$(vcsim_login "$VCSIM_USER" "$VCSIM_PASSWORD")" nokeep.conf \
    lost-$model.raw 2> lost-$model.err
  cat lost-$model.err
  grep -E "refused access.*sess/flat|HTTP 401" lost-$model.err
  grep "session expired" "$VCSIM_DIR/log"

  # 2. Kept alive: the copy outlives several idle time-outs.
  pauses "$(vcsim_login "$VCSIM_USER" "$VCSIM_PASSWORD")" keep.conf \
    kept-$model.raw 2> kept-$model.err || { cat kept-$model.err; exit 1; }
  cmp kept-$model.raw in.raw
  grep "session kept alive" kept-$model.err

  # 3. No Expect header on any SOAP POST, even a large one.
  head -c 1500000 /dev/zero | tr '\0' x > bigpw
  nbdkit -fv -U - "$VDDK_PLUGIN" user="$VCSIM_USER" password=+bigpw \
    server="$VCSIM_HOST" port="$VCSIM_PORT" thumbprint="$VCSIM_THUMBPRINT" \
    vm=moref="$VCSIM_VM" "$ds sess/flat.vmdk" \
    --run 'nbdinfo --size "$uri"' > big-$model.out 2> big-$model.err ||
    { cat big-$model.err; exit 1; }
  grep -qx $size big-$model.out
  cat "$headers"
  grep -q "^POST /sdk" "$headers"
  if grep "^POST /sdk expect=[^-]" "$headers"; then
    echo "a SOAP POST carried an Expect header"; exit 1
  fi

  stop_vcsim "$VCSIM_DIR"
done
