#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""An NBD client for test-remote-chaos.sh: reads an export with several
requests in flight and checks every byte against a local raw file (the
disk as qemu-img decodes it).

usage: chaos-client.py URI EXPECTED.raw MODE SEED

MODE:
  copy     the whole disk in order, reads of 64 KiB to 4 MiB, up to 8 in
           flight (a sequential copy, as nbdcopy or qemu-img do)
  extents  block status first, then only what is not a hole, in order
           (nbdcopy's way with a thin disk)
  random   300 reads of 512 B to 1 MiB at random offsets, 1 to 4 in flight
           (a guest booting, or a backup tool reading changed areas)

Exit 0: every read succeeded with the right bytes.  Exit 1: a read
failed (the message names it); the client then waits for the reads still
in flight before it closes, so that the server never writes replies to
a client that has gone (nbdkit 1.32.5 aborts in raw_send_socket then:
the plugin's man page, BUGS).  Exit 2: WRONG BYTES, which the test
treats as the worst outcome of all.
"""

import random
import sys

import nbd

M = 1 << 20


class WrongBytes(Exception):
    pass


def reads_for(mode, h, expected, rng):
    """The (offset, length) reads of MODE, in the order they are sent."""
    size = len(expected)
    if mode == "copy":
        off = 0
        while off < size:
            n = min(size - off, rng.choice((64 << 10, 256 << 10, M, 4 * M)))
            yield off, n
            off += n
    elif mode == "extents":
        data, pos, wrong = [], [0], []

        # (libnbd does not pass an exception out of a callback: it fails
        # the command instead, so a wrong hole is noted and raised after)
        def on_extents(metacontext, offset, entries, err):
            if metacontext == nbd.CONTEXT_BASE_ALLOCATION:
                for i in range(0, len(entries), 2):
                    length, flags = entries[i], entries[i + 1]
                    if not flags & nbd.STATE_HOLE:
                        data.append((offset, length))
                    elif (expected.count(0, offset, offset + length) !=
                          min(length, size - offset)):
                        wrong.append("block status: a hole at %d (%d bytes) "
                                     "where the disk has data"
                                     % (offset, length))
                    offset += length
                pos[0] = offset
            return 0

        while pos[0] < size and not wrong:
            h.block_status(min(size - pos[0], 1 << 30), pos[0], on_extents)
        if wrong:
            raise WrongBytes(wrong[0])
        for o, length in data:
            length = min(length, size - o)
            while length > 0:
                n = min(length, 2 * M)
                yield o, n
                o += n
                length -= n
    elif mode == "random":
        for _ in range(300):
            n = rng.choice((512, 4096, 65536, M))
            yield rng.randrange(0, size - n + 1) // 512 * 512, n
    else:
        raise SystemExit("chaos-client: unknown mode %s" % mode)


def transfer(h, reads, depth, expected):
    """Send READS, DEPTH at most in flight, and check each reply; returns
    (reads sent, the first failure or None), or raises WrongBytes.  After
    a failure or wrong bytes no more are sent, but those in flight are
    waited for."""
    inflight = {}               # cookie -> (offset, buffer)
    failed = wrong = None
    count = 0
    while True:
        while failed is None and wrong is None and len(inflight) < depth:
            try:
                off, n = next(reads)
            except StopIteration:
                break
            buf = nbd.Buffer(n)
            inflight[h.aio_pread(buf, off)] = (off, buf)
            count += 1
        if not inflight:
            if wrong:
                raise WrongBytes(wrong)
            return count, failed
        h.poll(-1)
        for cookie in list(inflight):
            off, buf = inflight[cookie]
            try:
                if not h.aio_command_completed(cookie):
                    continue
            except nbd.Error as e:
                del inflight[cookie]
                failed = failed or "read of %d bytes at %d: %s" % (len(buf), off, e)
                continue
            del inflight[cookie]
            if buf.to_bytearray() != expected[off:off + len(buf)]:
                wrong = wrong or "read of %d bytes at %d" % (len(buf), off)


def main(uri, expected_path, mode, seed):
    rng = random.Random(int(seed))
    with open(expected_path, "rb") as f:
        expected = f.read()
    h = nbd.NBD()
    if mode == "extents":
        h.add_meta_context(nbd.CONTEXT_BASE_ALLOCATION)
    count, failed = 0, None
    try:
        h.connect_uri(uri)
        if h.get_size() != len(expected):
            raise WrongBytes("export is %d bytes, expected %d"
                             % (h.get_size(), len(expected)))
        depth = 8 if mode != "random" else rng.randint(1, 4)
        count, failed = transfer(h, reads_for(mode, h, expected, rng),
                                 depth, expected)
    except WrongBytes as e:
        print("chaos-client: WRONG BYTES: %s" % e)
        return 2
    except nbd.Error as e:
        failed = str(e)
    try:
        h.shutdown()
    except nbd.Error:
        pass
    if failed:
        print("chaos-client: %s" % failed)
        return 1
    print("chaos-client: %s: %d reads, all right" % (mode, count))
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 5:
        raise SystemExit(__doc__.split("\n\n")[1])
    sys.exit(main(*sys.argv[1:]))
