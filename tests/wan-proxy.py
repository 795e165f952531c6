#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""A TCP proxy that models a wide-area network: every connection is
paced to a rate of its own and every byte is delayed, each way.  Bytes
are forwarded untouched (TLS passes through: the client still sees the
server's certificate and thumbprint).  Also counts connections, so that
tests can check how many a client keeps open at once.

usage: wan-proxy.py PORTFILE TARGET_HOST TARGET_PORT [options]

Listens on 127.0.0.1 (an ephemeral port unless --port), writes the port
number to PORTFILE once it accepts connections, and forwards every
connection to TARGET_HOST:TARGET_PORT.

  --rate BYTES_PER_S  pace each connection to this rate in each
                     direction (default 50000000; 0: no limit)
  --delay MS         delay every byte by MS milliseconds, each way
                     (default 2)
  --reset-after BYTES  reset connections (TCP RST) once they have passed
                     BYTES bytes from the server to the client: a
                     failure on one connection of several
  --reset-from N     only connection N (counted from 1) and later ones
                     (default 1)
  --resets K         at most K resets in all (default: no limit)
  --fine-timers      wait with select(2), whose time-outs are finer than
                     epoll's whole milliseconds (at most 1024 descriptors:
                     for the bench's few connections)
  --port PORT        listen on this port instead of an ephemeral one
  --log FILE         also append the event log to FILE

Events are logged one a line, on stderr and in the log:
  wan-proxy: conn 3: open (2 open, peak 3)
  wan-proxy: conn 3: closed: 8390656 bytes from server, 517 from client
  wan-proxy: conn 3: reset after 1000000 bytes from server
A connection counts as open from its accept until the proxy sees the
client close it.

The model: a piece read from one side at time t is written to the other
side no earlier than t + delay, and each direction of a connection sends
at most rate bytes per second (a piece of n bytes occupies the link for
n / rate seconds, with no credit saved up while idle).  The proxy stops
reading a side while more than about a second of data is queued, so the
sender sees TCP back-pressure as it would on a slow link.
"""

import asyncio
import collections
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from proxy_base import ProxyBase, arg_parser, close_all, reset, run  # noqa: E402

PIECE = 262144


def parse_args(argv):
    p = arg_parser("wan-proxy.py", __doc__)
    p.add_argument("--rate", type=int, default=50000000)
    p.add_argument("--delay", type=float, default=2.0)
    p.add_argument("--reset-after", type=int)
    p.add_argument("--reset-from", type=int, default=1)
    p.add_argument("--resets", type=int)
    p.add_argument("--fine-timers", action="store_true")
    a = p.parse_args(argv)
    if a.rate < 0 or a.delay < 0 or (a.reset_after or 0) < 0:
        p.error("--rate, --delay and --reset-after must not be negative")
    return a


class Pipe:
    """One direction of a connection: reads pieces, holds each until its
    time has come, writes it."""

    def __init__(self, proxy, reader, writer, rate, delay):
        self.reader, self.writer = reader, writer
        self.rate, self.delay = rate, delay
        self.queue = collections.deque()
        self.queued = 0
        self.limit = max(rate, 4 * PIECE) if rate else 8 << 20
        self.more = asyncio.Event()       # a piece or EOF was queued
        self.room = asyncio.Event()       # the queue fell below limit
        self.room.set()
        self.passed = 0                   # bytes written to the other side
        self.proxy = proxy

    async def pump_in(self):
        """Read pieces, stamped with the time they may leave."""
        while True:
            await self.room.wait()
            try:
                data = await self.reader.read(PIECE)
            except OSError:
                data = b""
            self.queue.append((time.monotonic() + self.delay, data))
            self.queued += len(data)
            if self.queued >= self.limit:
                self.room.clear()
            self.more.set()
            if not data:
                return

    async def pump_out(self, on_bytes):
        """Write pieces at their time, paced; returns at EOF."""
        free_at = 0.0                     # when the link is free again
        while True:
            while not self.queue:
                self.more.clear()
                await self.more.wait()
            ready, data = self.queue.popleft()
            self.queued -= len(data)
            if self.queued < self.limit:
                self.room.set()
            # store and forward: the piece is all there once the link
            # has carried it, after the earlier pieces and its delay
            due = max(ready, free_at)
            if self.rate:
                due += len(data) / self.rate
            free_at = due
            now = time.monotonic()
            if due > now:
                await asyncio.sleep(due - now)
            if not data:
                return
            data = on_bytes(data)
            if data is None:
                return
            self.writer.write(data)
            try:
                await self.writer.drain()
            except OSError:
                return
            self.passed += len(data)


class Proxy(ProxyBase):
    name = "wan-proxy"
    stream_limit = 4 * PIECE

    def __init__(self, args):
        super().__init__(args)
        self.open = 0
        self.peak = 0
        self.resets = 0

    def describe(self):
        return (", %d bytes/s and %g ms each way per connection"
                % (self.a.rate, self.a.delay))

    async def handle(self, creader, cwriter):
        a = self.a
        self.conns += 1
        n = self.conns
        self.open += 1
        self.peak = max(self.peak, self.open)
        self.log("conn %d: open (%d open, peak %d)" % (n, self.open, self.peak))
        closed = [False]

        def client_gone():
            if not closed[0]:
                closed[0] = True
                self.open -= 1

        target = await self.connect(n)
        if target is None:
            client_gone()
            cwriter.close()
            return
        sreader, swriter = target
        self.no_delay(cwriter, swriter)

        delay = a.delay / 1000.0
        up = Pipe(self, creader, swriter, a.rate, delay)
        down = Pipe(self, sreader, cwriter, a.rate, delay)
        state = {"reset": False}

        def up_bytes(data):
            return data

        def down_bytes(data):
            if (a.reset_after is not None and n >= a.reset_from and
                    (a.resets is None or self.resets < a.resets) and
                    down.passed + len(data) >= a.reset_after):
                self.resets += 1
                state["reset"] = True
                return None
            return data

        async def client_reader():
            await up.pump_in()
            client_gone()                 # the client closed or reset

        async def forward(pipe, on_bytes, w):
            await pipe.pump_out(on_bytes)
            if state["reset"]:
                return
            try:
                w.write_eof()
            except (OSError, RuntimeError):
                pass

        tasks = [asyncio.ensure_future(x) for x in (
            client_reader(), down.pump_in(),
            forward(up, up_bytes, swriter), forward(down, down_bytes, cwriter))]
        # Done when both directions have ended, or at a reset.
        out = tasks[2:]
        while True:
            finished, _ = await asyncio.wait(out, return_when=asyncio.FIRST_COMPLETED)
            if state["reset"] or all(t.done() for t in out):
                break
            out = [t for t in out if not t.done()]
        if state["reset"]:
            self.log("conn %d: reset after %d bytes from server" % (n, down.passed))
            reset(cwriter)
        for t in tasks:
            t.cancel()
        close_all(cwriter, swriter)
        client_gone()
        if not state["reset"]:
            self.log("conn %d: closed: %d bytes from server, %d from client"
                     % (n, down.passed, up.passed))


if __name__ == "__main__":
    sys.exit(run(Proxy, parse_args, sys.argv))
