#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# A kept-alive connection that went stale while idle: a NAT, firewall
# or load balancer between the plugin and the server forgot it and now
# drops its packets without a reset (tests/cut-proxy.py
# --blackhole-idle).  The next request on it gets no answer at all.  The
# library gives up on it after the read time-out and asks again on a new
# connection, because the connection had served requests before (a
# connection that never answered from the start is a dead server, and
# is not asked again: test-remote-faults.sh).  Reads, the
# QueryChangedDiskAreas walk and the logout at the end all come through.
source "$srcdir/tests/functions.sh"
source "$srcdir/tests/remote-functions.sh"
set -e
set -x

requires /usr/bin/python3 -c 'import nbd'
vcsim_requires
vcsim_build

M=$((1 << 20))
size=$((16 * M))
# Changed areas answered 4 MiB at a time, so that block status asks
# the server again as it goes.
start_vcsim -- -cbt-span $((4 << 20))
disk="[$VCSIM_DS] stale/flat.vmdk"
vcsim_put_flat in.raw $size "$disk"
vcsim_fixture power "$VCSIM_VM" off
vcsim_cbt "$VCSIM_VM" on
printf '%s\n' 'vixDiskLib.nfc.ReadTimeoutMs = 3000' \
  'vixDiskLib.nfc.AcceptTimeoutMs = 3000' > timeouts.conf

start_cut_proxy --blackhole-idle 2
cat > reads.py <<'EOT'
import sys, time
expected = open("in.raw", "rb").read()
M = 1 << 20
h.pread(65536, 0)                      # the disk is open and warm
for off, n in ((5 * M, 65536), (9 * M + 512, 4096), (0, 16 * M)):
    time.sleep(2.5)                    # every kept connection goes stale
    start = time.monotonic()
    got = h.pread(n, off)
    assert got == expected[off:off + n], "wrong bytes at %d" % off
    print("read %d at %d in %.1f s" % (n, off, time.monotonic() - start))
# Block status over the whole disk, after a pause: the areas past the
# first answer are asked for now, on stale connections too.
time.sleep(2.5)
entries = []
pos = 0
while pos < 16 * M:
    def cb(metacontext, offset, e, err):
        global pos
        if metacontext == nbd.CONTEXT_BASE_ALLOCATION:
            entries.extend(e)
            pos = offset + sum(e[0::2])
        return 0
    h.block_status(16 * M - pos, pos, cb)
print("block status: %d extents" % (len(entries) // 2))
time.sleep(2.5)
EOT
SECONDS=0
VCSIM_PORT=$CUT_PROXY_PORT vcsim_nbdkit --timeout 120 -rfv "$disk" \
  config="$PWD/timeouts.conf" \
  --run 'nbdsh --base-allocation -u "$uri" -c "exec(open(\"reads.py\").read())"' \
  > reads.out 2> reads.err || { cat reads.out reads.err "$CUT_PROXY_LOG"; exit 1; }
cat reads.out "$CUT_PROXY_LOG"
grep -E "error|retry" reads.err || true
[ "$(grep -c "^read " reads.out)" = 3 ]
grep -q "^block status: " reads.out
grep -q "SOAP QueryChangedDiskAreas" reads.err
# The requests after each pause met stale connections, and were asked
# again on new ones.
[ "$(grep -c "blackholed" "$CUT_PROXY_LOG")" -ge 3 ]
grep -q "retrying on a new connection" reads.err
refute grep -E "^nbdkit: [^ ]*: error:" reads.err
# Each retry costs the read time-out once, not more.
[ $SECONDS -lt 60 ]

# The other side: a new connection that gets nowhere is not tried again.
# A listener whose accept queue is full drops every SYN (the kernel's
# behaviour, tcp_abort_on_overflow off), so connecting times out after
# AcceptTimeoutMs, as to a host behind a firewall that drops packets.
# That server is down, not a stale connection: the open fails after one
# time-out, naming the host, with no retry.
/usr/bin/python3 - full.port <<'EOT' &
import os, socket, sys, time
s = socket.socket()
s.bind(("127.0.0.1", 0))
s.listen(0)
port = s.getsockname()[1]
fill = []
for _ in range(4):                      # more than the queue holds
    c = socket.socket()
    c.setblocking(False)
    c.connect_ex(("127.0.0.1", port))
    fill.append(c)
time.sleep(0.5)
with open(sys.argv[1] + ".tmp", "w") as f:
    f.write("%d\n" % port)
os.rename(sys.argv[1] + ".tmp", sys.argv[1])
time.sleep(120)
EOT
cleanup_fn _stop_pid $!
for (( i=0; i<100; i++ )); do [ -s full.port ] && break; sleep 0.1; done
port=$(cat full.port)
rc=0
VCSIM_PORT=$port vcsim_nbdkit --timeout 60 -rfv "$disk" \
  config="$PWD/timeouts.conf" --run 'nbdinfo --size "$uri"' 2> down.err || rc=$?
[ $rc != 0 ]
grep -E "^nbdkit: [^ ]*: error:.*127\.0\.0\.1:$port.*(Timeout was reached|timed out)" down.err
refute grep -q "retrying on a new connection" down.err
