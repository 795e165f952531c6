#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
# client-hangup.py SOCKET ITERATIONS: again and again, a client connects,
# queues reads and writes and hangs up without waiting for the replies.
# Meanwhile a steady client writes and flushes its own region and reads
# it back; at the end it must still be served and read what it flushed.
import os
import sys

import nbd

sock, iterations = sys.argv[1], int(sys.argv[2])
M = 1 << 20

steady = nbd.NBD()
steady.connect_unix(sock)
for it in range(iterations):
    pid = os.fork()
    if pid == 0:
        h = nbd.NBD()
        h.connect_unix(sock)
        for i in range(32):
            off = (i * M) % (64 * M)
            if i % 4 == 3:
                h.aio_pwrite(nbd.Buffer.from_bytearray(bytearray([i]) * M),
                             off)
            else:
                h.aio_pread(nbd.Buffer(M), off)
        os._exit(0)             # hang up with the requests in flight
    pattern = bytes([it % 251 + 1]) * 65536
    at = 128 * M + (it % 16) * 65536
    steady.pwrite(pattern, at)
    steady.flush()
    assert steady.pread(65536, at) == pattern, "steady client lost a write"
    os.waitpid(pid, 0)
steady.shutdown()
print("served %d hang-ups; the steady client was served throughout"
      % iterations)
