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

import argparse
import asyncio
import collections
import os
import socket
import struct
import sys
import time

PIECE = 262144


def parse_args(argv):
    p = argparse.ArgumentParser(prog="wan-proxy.py",
                                usage=__doc__.split("\n\n")[1])
    p.add_argument("portfile")
    p.add_argument("host")
    p.add_argument("port", type=int)
    p.add_argument("--rate", type=int, default=50000000)
    p.add_argument("--delay", type=float, default=2.0)
    p.add_argument("--reset-after", type=int)
    p.add_argument("--reset-from", type=int, default=1)
    p.add_argument("--resets", type=int)
    p.add_argument("--port", dest="listen_port", type=int, default=0)
    p.add_argument("--log")
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


class Proxy:
    def __init__(self, args):
        self.a = args
        self.conns = 0
        self.open = 0
        self.peak = 0
        self.resets = 0
        self.logf = open(args.log, "a", buffering=1) if args.log else None

    def log(self, msg):
        line = "wan-proxy: %s\n" % msg
        sys.stderr.write(line)
        sys.stderr.flush()
        if self.logf:
            self.logf.write(line)

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

        try:
            sreader, swriter = await asyncio.open_connection(
                a.host, a.port, limit=4 * PIECE)
        except OSError as e:
            self.log("conn %d: cannot connect to %s:%d: %s" % (n, a.host, a.port, e))
            client_gone()
            cwriter.close()
            return
        for w in (cwriter, swriter):
            sock = w.get_extra_info("socket")
            if sock is not None:
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

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
            sock = cwriter.get_extra_info("socket")
            if sock is not None:
                try:
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                    struct.pack("ii", 1, 0))
                except OSError:
                    pass
        for t in tasks:
            t.cancel()
        for w in (cwriter, swriter):
            try:
                w.close()
            except Exception:
                pass
        client_gone()
        if not state["reset"]:
            self.log("conn %d: closed: %d bytes from server, %d from client"
                     % (n, down.passed, up.passed))

    async def main(self):
        server = await asyncio.start_server(self.handle, "127.0.0.1",
                                            self.a.listen_port,
                                            limit=4 * PIECE)
        port = server.sockets[0].getsockname()[1]
        tmp = self.a.portfile + ".tmp"
        with open(tmp, "w") as f:
            f.write("%d\n" % port)
        os.rename(tmp, self.a.portfile)
        self.log("listening on 127.0.0.1:%d, forwarding to %s:%d, %d bytes/s "
                 "and %g ms each way per connection"
                 % (port, self.a.host, self.a.port, self.a.rate, self.a.delay))
        async with server:
            await server.serve_forever()


def main(argv):
    args = parse_args(argv[1:])
    try:
        asyncio.run(Proxy(args).main())
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
