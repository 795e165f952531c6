#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# A network that misbehaves between the plugin and the server (a proxy
# of the test's own, tests/cut-proxy.py):
#  - connections cut in the middle of a range are retried, resuming where
#    they stopped, and the bytes come out right;
#  - a server that stops answering makes the read fail with a message
#    naming the host and the file, in bounded time (no hang);
#  - more cuts than the library retries: the read fails cleanly, and
#    nbdkit's retry filter (which CDI uses) recovers by reopening.
source "$srcdir/tests/functions.sh"
source "$srcdir/tests/remote-functions.sh"
set -e
set -x

requires nbdcopy --version
requires nbdsh --version
vcsim_requires
vcsim_build

M=$((1 << 20))
size=$((32 * M))
start_vcsim
disk="[$VCSIM_DS] faults/flat.vmdk"
vcsim_put_flat in.raw $size "$disk"

# 1. Two cuts, each 3 MB into a transfer: the library resumes.
start_cut_proxy --cut-after 3000000 --cuts 2
VCSIM_PORT=$CUT_PROXY_PORT vcsim_nbdkit "$disk" --run 'nbdcopy "$uri" out.raw' 2> cut.err
cat cut.err "$CUT_PROXY_LOG"
cmp out.raw in.raw
[ "$(grep -c "cut after" "$CUT_PROXY_LOG")" = 2 ]

# 2. A server that stops answering (SIGSTOP) after the disk is open: the
# read fails in bounded time, naming host and file.  VDDK's time-outs
# from the config= file apply (5 s without data, 5 s to connect).
printf '%s\n' '# short time-outs for the test' \
  'vixDiskLib.nfc.ReadTimeoutMs = 5000' \
  'vixDiskLib.nfc.AcceptTimeoutMs = 5000' > timeouts.conf
SECONDS=0
vcsim_nbdkit "$disk" config="$PWD/timeouts.conf" --run 'nbdsh -u "$uri" -c "
import os, signal
pid = int(open(\"$VCSIM_DIR/pid\").read())
assert h.pread(65536, 0) == open(\"in.raw\", \"rb\").read(65536)
os.kill(pid, signal.SIGSTOP)
# wait until every thread of it has stopped
import glob, time
while any(open(t).read().split(\") \")[1].split()[0] != \"T\"
          for t in glob.glob(\"/proc/%d/task/*/stat\" % pid)):
    time.sleep(0.05)
try:
    h.pread(65536, 20 << 20)
except nbd.Error as e:
    print(\"failed as expected:\", e)
else:
    raise SystemExit(\"read from a stopped server\")
finally:
    os.kill(pid, signal.SIGCONT)
"' 2> stall.err || { cat stall.err; exit 1; }
cat stall.err
[ $SECONDS -lt 60 ]
grep -E "$VCSIM_HOST.*faults/flat-flat.vmdk|faults/flat-flat.vmdk.*$VCSIM_HOST" stall.err

# 3. Cuts beyond the library's retries: the plain read fails with EIO...
# (50 kB, so that even a read of one request's own 256 KiB, which is
# what a reader does when the read-ahead chunk it waited for failed,
# runs out of retries)
start_cut_proxy --cut-after 50000 --cuts 50
VCSIM_PORT=$CUT_PROXY_PORT refute vcsim_nbdkit "$disk" \
  --run 'nbdcopy "$uri" many.raw' 2> many.err
cat many.err
grep -E "faults/flat-flat.vmdk" many.err
# ...and nbdkit's retry filter gets through once the cuts stop.
start_cut_proxy --cut-after 200000 --cuts 12
VCSIM_PORT=$CUT_PROXY_PORT vcsim_nbdkit --filter=retry "$disk" retries=20 \
  retry-delay=1 --run 'nbdcopy "$uri" retried.raw' 2> retry.err ||
  { cat retry.err; exit 1; }
cmp retried.raw in.raw
