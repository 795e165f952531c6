#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
# tsan-clients.py race|verify URI: the NBD clients of test-tsan.sh.
#
# race: four writers race for the same grains (a quarter each) while two
# readers check that no sector ever holds another sector's data and a
# flusher flushes; then everything is flushed and read back.  Last, a
# connection is dropped with writes in flight and the disk is read back
# once more on a new connection.  Exit 3 means the server was gone after
# the drop (the caller decides whether that is nbdkit's own known abort).
#
# verify: only the read-back, on a disk the race mode has written.
import random
import struct
import sys
import threading

import nbd

mode, uri = sys.argv[1], sys.argv[2]
GRAIN, SIZE = 65536, 64 << 20


def sector(off, tag):
    return struct.pack("<QQ", off // 512, tag) * 32


def planned_writes():
    """The racing writes (offset, data), in order, and the dropped grains:
    the same on every run, so that verify can rebuild them."""
    rnd = random.Random(11)
    grains = list(range(0, SIZE, GRAIN))
    rnd.shuffle(grains)
    writes = []
    for n, g in enumerate(grains[:200]):
        for k in range(4):
            off = g + k * GRAIN // 4
            data = b"".join(sector(off + i, n + 1)
                            for i in range(0, GRAIN // 4, 512))
            writes.append((k, off, data))
    return writes, grains[200:216]


def expected():
    ref = bytearray(SIZE)
    writes, dropped = planned_writes()
    for _, off, data in writes:
        ref[off:off + len(data)] = data
    return ref, dropped


def read_back(ref, skip):
    """Every grain but those in skip must read as ref says."""
    errors = []
    h = nbd.NBD()
    h.connect_uri(uri)
    for off in range(0, SIZE, 1 << 20):
        got = h.pread(1 << 20, off)
        for g in range(off, off + (1 << 20), GRAIN):
            if g not in skip and got[g - off:g - off + GRAIN] != ref[g:g + GRAIN]:
                errors.append("grain at %d differs after the writes" % g)
    h.shutdown()
    return errors


def race():
    stop = threading.Event()
    errors = []

    def reader(seed):
        h = nbd.NBD()
        h.connect_uri(uri)
        r = random.Random(seed)
        while not stop.is_set():
            off = r.randrange(0, SIZE // 512 - 64) * 512
            data = h.pread(64 * 512, off)
            for i in range(0, len(data), 512):
                s = data[i:i + 512]
                if any(s) and struct.unpack_from("<Q", s)[0] != (off + i) // 512:
                    errors.append("sector %d holds another sector's data"
                                  % ((off + i) // 512))
        h.shutdown()

    def flusher():
        h = nbd.NBD()
        h.connect_uri(uri)
        while not stop.is_set():
            h.flush()
        h.shutdown()

    threads = [threading.Thread(target=reader, args=(k,)) for k in range(2)]
    threads.append(threading.Thread(target=flusher))
    for t in threads:
        t.start()
    try:
        conns = []
        for _ in range(4):
            h = nbd.NBD()
            h.connect_uri(uri)
            conns.append(h)
        pending = []
        writes, dropped = planned_writes()
        for i, (k, off, data) in enumerate(writes):
            h = conns[k]
            pending.append((h, h.aio_pwrite(data, off)))
            if len(pending) > 32 and k == 3 or i == len(writes) - 1:
                for h, c in pending:
                    while not h.aio_command_completed(c):
                        h.poll(-1)
                pending = []
        for h in conns:
            h.flush()
            h.shutdown()
    finally:
        stop.set()
        for t in threads:
            t.join()
    ref, _ = expected()
    errors += read_back(ref, ())
    if errors:
        sys.exit("\n".join(errors[:20]))
    print("4 writers, 2 readers and a flusher: OK")

    # A connection dropped with writes in flight: their outcome is
    # unknown, so those grains are left out of the comparison.  Everything
    # before was flushed, so it must survive even if the server does not.
    h = nbd.NBD()
    h.connect_uri(uri)
    for g in dropped:
        h.aio_pwrite(b"".join(sector(g + i, 999) for i in range(0, GRAIN, 512)), g)
    del h
    try:
        errors = read_back(ref, dropped)
    except nbd.Error as e:
        print("the server is gone after the drop: %s" % e, file=sys.stderr)
        sys.exit(3)
    if errors:
        sys.exit("\n".join(errors[:20]))
    print("a connection dropped with writes in flight: OK")


if mode == "race":
    race()
else:
    ref, dropped = expected()
    errors = read_back(ref, dropped)
    if errors:
        sys.exit("\n".join(errors[:20]))
    print("every flushed write is there: OK")
