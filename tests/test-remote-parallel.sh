#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# Remote reads over several connections at once, through a modelled WAN
# (tests/wan-proxy.py: each connection paced, 2 ms each way):
#  - a sequential copy of a flat and of a sparse disk equals the source
#    (cmp), and uses as many connections at once as allowed: the default
#    (4), and vixDiskLib.https.MaxConnections from config= (2), never
#    more (counted at the proxy);
#  - one connection reset in the middle of a read-ahead transfer: the
#    copy still comes out right;
#  - every connection reset: the read fails with an error naming the
#    file, and nothing hangs;
#  - closing while read-ahead transfers are in flight returns;
#  - with the AddressSanitizer build (make asan): the library alone
#    (tests/remote-driver, 4 threads reading in order) through the WAN,
#    right bytes with a reset, a clean failure with every connection
#    reset, no leak, no error.
source "$srcdir/tests/functions.sh"
source "$srcdir/tests/remote-functions.sh"
set -e
set -x

requires nbdcopy --version
requires nbdsh --version
vcsim_requires
vcsim_build

M=$((1 << 20))
size=$((48 * M))
# sparse: data with holes between
make_pattern sparse.raw $size
for (( off = 4 * M; off < size; off += 12 * M )); do
  dd if=/dev/zero of=sparse.raw bs=1M seek=$((off / M)) count=3 conv=notrunc status=none
done
qemu-img convert -f raw -O vmdk sparse.raw sparse.vmdk
start_vcsim
ds="[$VCSIM_DS]"
vcsim_put_flat flat.raw $size "$ds par/flat.vmdk"
vcsim_put sparse.vmdk "$ds par/sparse.vmdk"
vcsim_attach_disk "$VCSIM_VM" "$ds par/sparse.vmdk" $size
printf '%s\n' 'vixDiskLib.https.MaxConnections = 2' > two.conf

# copy PORT DISK [PARAMS...] -- COMMAND: par/DISK.vmdk through PORT (a
# proxy's), at most 300 s.
copy ()
{
  local port=$1 disk=$2 params=()
  shift 2
  while [ "$1" != -- ]; do params+=("$1"); shift; done
  shift
  VCSIM_PORT=$port vcsim_nbdkit --timeout 300 "$ds par/$disk.vmdk" \
    "${params[@]}" --run "$*"
}

# 1. The default: 4 connections at once, and the bytes right.  20 MB/s
# per connection, so that transfers overlap however loaded the machine.
for disk in flat sparse; do
  start_wan_proxy --rate 20000000 --delay 2
  copy "$WAN_PROXY_PORT" $disk -- 'nbdcopy "$uri" out.raw'
  cmp out.raw $disk.raw
  cat "$WAN_PROXY_LOG"
  peak=$(wan_proxy_peak)
  [ "$peak" -eq 4 ] || { echo "FAIL: $disk: $peak connections at once, not 4"; exit 1; }
  rm out.raw
done

# 2. config= bounds them: 2 at once, never more, still right.
for disk in flat sparse; do
  start_wan_proxy --rate 20000000 --delay 2
  copy "$WAN_PROXY_PORT" $disk config="$PWD/two.conf" -- 'nbdcopy "$uri" out.raw'
  cmp out.raw $disk.raw
  peak=$(wan_proxy_peak)
  [ "$peak" -eq 2 ] || { echo "FAIL: $disk: $peak connections at once, not 2"; exit 1; }
  rm out.raw
done

# 3. One connection reset (TCP RST) 1 MB into its transfer: resumed on
# a new one, the copy is right.
start_wan_proxy --rate 20000000 --delay 2 --reset-after 1000000 --resets 1
copy "$WAN_PROXY_PORT" flat -- 'nbdcopy "$uri" out.raw'
cat "$WAN_PROXY_LOG"
grep -q "reset after" "$WAN_PROXY_LOG"
cmp out.raw flat.raw
rm out.raw

# 4. Every transfer reset 50 kB in, so that not even a direct read of
# one request (256 KiB, 3 resumes) gets through: the copy fails, naming
# the file, and ends.
start_wan_proxy --rate 20000000 --delay 2 --reset-after 50000
refute copy "$WAN_PROXY_PORT" flat -- 'nbdcopy "$uri" out.raw' 2> reset.err
cat reset.err
grep -q "par/flat-flat.vmdk" reset.err
[ "$(grep -c "reset after" "$WAN_PROXY_LOG")" -ge 2 ]

# 5. Closing while read-ahead transfers are in flight (2 MB/s: each
# chunk takes seconds) returns; the first bytes read are right.
start_wan_proxy --rate 2000000 --delay 2
copy "$WAN_PROXY_PORT" flat -- 'nbdsh -u "$uri" -c "
data = h.pread(1 << 20, 0)
assert data == open(\"flat.raw\", \"rb\").read(1 << 20)
h.shutdown()
"'

# 6. The library alone under AddressSanitizer and ThreadSanitizer, when
# those builds exist (make asan, make tsan).
# remote-driver copies one datastore file (a disk of the VM: the raw
# bytes put as par/raw.vmdk) with 4 threads reading 256 KiB pieces in
# order, so that the read-ahead runs, and closes everything at the end.
vcsim_put flat.raw "$ds par/raw.vmdk"
vcsim_attach_disk "$VCSIM_VM" "$ds par/raw.vmdk" $size
if [ -x "${ASAN_BUILDDIR:-/nonexistent}/tests/remote-driver" ]; then
  export ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=halt_on_error=1
  export VDL_TEST_USER=$VCSIM_USER VDL_TEST_PASSWORD=$VCSIM_PASSWORD
  drv () { timeout 300 "$ASAN_BUILDDIR/tests/remote-driver" "$VCSIM_HOST:$1" \
             "$VCSIM_THUMBPRINT" "$VCSIM_VM" "$ds par/raw.vmdk" "$2"; }
  start_wan_proxy --rate 20000000 --delay 2 --reset-after 1000000 --resets 1
  drv "$WAN_PROXY_PORT" asan.raw 2> asan.err || { cat asan.err; exit 1; }
  cat asan.err
  cmp asan.raw flat.raw
  [ "$(wan_proxy_peak)" -eq 4 ]
  start_wan_proxy --rate 20000000 --delay 2 --reset-after 50000
  refute drv "$WAN_PROXY_PORT" asan2.raw 2> asan.err
  cat asan.err
  grep -q "par/raw.vmdk" asan.err
  refute grep -E "Sanitizer|runtime error" asan.err
fi
if [ -x "${TSAN_BUILDDIR:-/nonexistent}/tests/remote-driver" ]; then
  export TSAN_OPTIONS="halt_on_error=0 exitcode=66 history_size=4"
  export VDL_TEST_USER=$VCSIM_USER VDL_TEST_PASSWORD=$VCSIM_PASSWORD
  start_wan_proxy --rate 20000000 --delay 2 --reset-after 1000000 --resets 1
  timeout 300 "$TSAN_BUILDDIR/tests/remote-driver" "$VCSIM_HOST:$WAN_PROXY_PORT" \
    "$VCSIM_THUMBPRINT" "$VCSIM_VM" "$ds par/raw.vmdk" tsan.raw 2> tsan.err ||
    { cat tsan.err; exit 1; }
  cat tsan.err
  refute grep -q "ThreadSanitizer" tsan.err
  cmp tsan.raw flat.raw
fi
