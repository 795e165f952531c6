#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# Several client connections to one nbdkit write concurrently into the
# same unallocated grains of a sparse disk (each a different part of each
# grain).  The library shares one disk object between the connections'
# handles, so every write must survive and the image stay consistent.
source "$srcdir/tests/functions.sh"
set -e
set -x

requires /usr/bin/python3 -c 'import nbd'
qemu-img create -q -f vmdk "$PWD/d.vmdk" 64M
truncate -s 64M ref.raw
rm -f s.sock
start_nbdkit -P s.pid -U "$PWD/s.sock" "$VDDK_PLUGIN" "$PWD/d.vmdk"

/usr/bin/python3 - "nbd+unix:///?socket=$PWD/s.sock" <<'PY'
import nbd, random, sys
uri = sys.argv[1]
conns = []
for _ in range(4):
    h = nbd.NBD()
    h.connect_uri(uri)
    conns.append(h)
rnd = random.Random(7)
ref = open("ref.raw", "r+b")
grain = 65536
# Each grain is split in 4 quarters; connection k writes quarter k, so
# the four writes to a grain race to allocate it.
grains = list(range(0, 64 << 20, grain))
rnd.shuffle(grains)
cookies = []
for g in grains[:600]:
    for k, h in enumerate(conns):
        off = g + k * (grain // 4)
        data = bytes([rnd.randrange(1, 256)]) * (grain // 4)
        ref.seek(off); ref.write(data)
        cookies.append((h, h.aio_pwrite(data, off)))
    if len(cookies) > 64:
        for h, c in cookies:
            while not h.aio_command_completed(c):
                h.poll(-1)
        cookies = []
for h, c in cookies:
    while not h.aio_command_completed(c):
        h.poll(-1)
for h in conns:
    h.flush()
    h.shutdown()
print("wrote", 600 * 4, "quarter grains over 4 connections")
PY
kill_nbdkit s.pid
qemu-img check d.vmdk
qemu-img compare -f vmdk -F raw d.vmdk ref.raw
# Exactly the 600 grains written are allocated: no grain allocated twice.
alloc=$(qemu-img map --output=json d.vmdk | /usr/bin/python3 -c '
import json, sys
print(sum(e["length"] for e in json.load(sys.stdin) if e["data"]) // 65536)')
[ "$alloc" -eq 600 ]
size=$(stat -c %s d.vmdk)
[ "$size" -lt $(( (600 + 64) * 65536 )) ]
