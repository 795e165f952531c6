#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# The -D vddk.* debug flags: diskinfo, extents, datapath, stats, and
# direct=0 (the worker thread and asynchronous calls that VMware's library
# needs, which the open library, being thread-safe, can do without).
source "$srcdir/tests/functions.sh"
set -e
set -x

requires nbdinfo --version
requires nbdcopy --version

disk="$SAMPLES/monolithicSparse.vmdk"

# serve FLAGS... -- COMMAND: nbdkit -v with the flags; log in "log".
serve ()
{
  local flags=()
  while [ "$1" != "--" ]; do flags+=("$1"); shift; done
  shift
  nbdkit -v -r -U - "${flags[@]}" "$VDDK_PLUGIN" "$disk" --run "$1" \
    > log 2>&1 || { cat log; return 1; }
  cat log
}

# Default: every library call is logged, the data path included, but
# none of the optional output.
serve -- 'nbdcopy "$uri" /dev/null'
grep -F "VDDK call: VixDiskLib_InitEx (6, 5, &debug_fn, &error_fn, &error_fn, $VDDK_LIBDIR, NULL)" log
grep -F "VDDK call: VixDiskLib_ConnectEx (h->params, 1, NULL, NULL, &connection)" log
grep -F "VDDK call: VixDiskLib_Open (connection, $disk, 4, &handle)" log
grep -F "VDDK call: VixDiskLib_GetInfo (handle, info)" log
grep -E "VDDK call: VixDiskLib_Read \(handle, 0 sectors, [0-9]+ sectors, buffer\)" log
grep -F "debug: transport mode: " log
grep -F "VDDK call: VixDiskLib_Exit ()" log
if grep -E "disk info:|adding extent|VDDK function stats" log; then
  echo "optional debug output without its flag"; exit 1
fi

# direct=0: requests go through the worker as asynchronous calls, as
# they must with VMware's library.
serve -D vddk.direct=0 -- 'nbdcopy "$uri" /dev/null'
grep -E "VDDK call: VixDiskLib_ReadAsync \(handle, 0 sectors, [0-9]+ sectors, buffer, callback, [0-9]+\)" log
grep -E "debug: command [0-9]+ completed" log
refute grep -E "VixDiskLib_Read \(" log

# diskinfo: after each GetInfo.  Version 8 has the sector sizes.
serve -D vddk.diskinfo=1 -- 'nbdinfo --size "$uri"'
grep -F "disk info: capacity: 20480 sectors" log
grep -E "disk info: biosGeo: C:[0-9]+ H:[0-9]+ S:[0-9]+$" log
grep -E "disk info: physGeo: C:[0-9]+ H:[0-9]+ S:[0-9]+$" log
grep -E "disk info: adapter type: [0-9]+$" log
grep -E "disk info: num links: [0-9]+$" log
grep -E "disk info: parent filename hint: " log
grep -E "disk info: uuid: " log
grep -E "disk info: sector size: logical [0-9]+ physical [0-9]+$" log

# extents: one line per extent found.
serve -D vddk.extents=1 -- 'nbdinfo --map "$uri"'
grep -E "adding extent type (hole|allocated data) at \[[0-9]+\.\.\.[0-9]+\]$" log

# datapath=0: no read/write call lines or completions, other calls
# still logged.
serve -D vddk.datapath=0 -- 'nbdcopy "$uri" /dev/null'
grep -F "VDDK call: VixDiskLib_GetInfo (handle, info)" log
if grep -E "VixDiskLib_(Read|Write)|command [0-9]+ completed" log; then
  echo "data path logged despite -D vddk.datapath=0"; exit 1
fi

# stats: the table at exit, slowest first, zero rows left out.
serve -D vddk.stats=1 -- 'nbdcopy "$uri" /dev/null'
grep -Fx "nbdkit: debug: VDDK function stats (-D vddk.stats=1):" log
grep -Fx "nbdkit: debug: VixDiskLib_...                        µs calls           bytes" log
grep -E "^nbdkit: debug:   Read +[0-9]+ +[1-9][0-9]* +[1-9][0-9]*$" log
grep -E "^nbdkit: debug:   Open +[1-9][0-9]* +1$" log
sed -n '/VDDK function stats/,$p' log | sed -n 's/^nbdkit: debug:   [A-Za-z]\+ \+\([0-9]\+\) .*/\1/p' > usecs
cat usecs
test "$(wc -l < usecs)" -ge 3
sort -rn usecs | cmp - usecs
if grep -E "^nbdkit: debug:   [A-Za-z]+ +0 " log; then
  echo "rows with 0 µs shown"; exit 1
fi
# Exit is the last call; the table comes after it.
sed -n '/VDDK call: VixDiskLib_Exit/,$p' log | grep -F "VDDK function stats"
