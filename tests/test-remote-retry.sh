#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# Busy servers (issue 17, section 3), in both models: the bed answers
# 503, 502 or 504 (scripts/vcsim/faults.go) or resets connections in the
# middle of the TLS handshake, a few times, then serves normally.  The
# library retries on fresh connections with back-off, on SOAP calls and
# on /folder HEAD and GET, and the copy comes out right.  A server that
# stays busy longer than the request time-out makes the open fail with
# a message naming the status.
source "$srcdir/tests/functions.sh"
source "$srcdir/tests/remote-functions.sh"
set -e
set -x

requires nbdcopy --version
requires nbdinfo --version
vcsim_requires
vcsim_build

size=$((8 << 20))
printf '%s\n' 'vixDiskLib.nfc.RequestTimeoutMs = 4000' > short.conf

# copy OUT [PARAMS...]: copy the disk with nbdcopy through the plugin.
copy ()
{
  local out=$1
  shift
  vcsim_nbdkit -fv "$ds busy/flat.vmdk" "$@" --run "nbdcopy \"\$uri\" $out"
}

# injected KIND: how many injections of KIND the bed logged.
injected ()
{
  grep -c "vcsim-fault: $1" "$VCSIM_DIR/log" || true
}

for model in vcenter esx; do
  faults=$PWD/faults-$model
  : > "$faults"
  start_vcsim_model $model -- -faults "$faults"
  ds="[$VCSIM_DS]"
  vcsim_put_flat in.raw $size "$ds busy/flat.vmdk"

  # 1. SOAP calls (the first ones: RetrieveServiceContent, Login) busy.
  printf '%s\n' '503 2 /sdk' '504 1 /sdk' > "$faults"
  copy soap-$model.raw 2> soap-$model.err || { cat soap-$model.err; exit 1; }
  cmp soap-$model.raw in.raw
  [ "$(injected 'HTTP 503 to POST')" = 2 ]
  [ "$(injected 'HTTP 504 to POST')" = 1 ]
  grep -q "busy.*retry" soap-$model.err

  # 2. /folder HEAD and GET busy: 502, 503 and 504.
  printf '%s\n' '502 1 /folder' '503 2 /folder' '504 1 /folder' > "$faults"
  copy folder-$model.raw 2> folder-$model.err || { cat folder-$model.err; exit 1; }
  cmp folder-$model.raw in.raw
  [ "$(injected 'HTTP 50[234] to (HEAD|GET)')" = 0 ] || true
  [ "$(grep -cE 'vcsim-fault: HTTP 50[234] to (HEAD|GET)' "$VCSIM_DIR/log")" = 4 ]

  # 3. Connections reset during the TLS handshake (too many
  # connections): new connections are tried until one gets through.
  printf '%s\n' 'reset 4' > "$faults"
  copy reset-$model.raw 2> reset-$model.err || { cat reset-$model.err; exit 1; }
  cmp reset-$model.raw in.raw
  [ "$(injected 'reset the connection')" = 4 ]
  grep -E "retry|retrying" reset-$model.err

  # 4. Busy for good: the open fails within the request time-out, with
  # a message that says what the server answered.
  printf '%s\n' '503 -1 /folder' > "$faults"
  refute copy never-$model.raw config="$PWD/short.conf" 2> never-$model.err
  cat never-$model.err
  grep -E "HTTP 503.*busy/flat|busy/flat.*HTTP 503" never-$model.err
  : > "$faults"

  # 5. The same paths under the sanitizers, when that build exists.
  if [ $model = vcenter ] &&
     [ -x "${ASAN_BUILDDIR:-/nonexistent}/tests/remote-driver" ]; then
    printf '%s\n' '503 2 /sdk' '502 1 /folder' 'reset 2' > "$faults"
    ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=halt_on_error=1 \
      VDL_TEST_USER="$VCSIM_USER" VDL_TEST_PASSWORD="$VCSIM_PASSWORD" \
      "$ASAN_BUILDDIR/tests/remote-driver" "$VCSIM_HOST:$VCSIM_PORT" \
      "$VCSIM_THUMBPRINT" "$VCSIM_VM" "$ds busy/flat.vmdk" asan.out
    cmp asan.out flat.vmdk
    [ "$(injected 'reset the connection')" = 6 ]
    : > "$faults"
  fi

  stop_vcsim "$VCSIM_DIR"
done
