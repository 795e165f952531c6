#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""A TCP proxy that drops or stalls connections on purpose, for testing
how a client recovers from a dropped or hung HTTPS transfer.  Bytes are
forwarded untouched (TLS passes through: the client still sees the
server's certificate and thumbprint).

usage: cut-proxy.py PORTFILE TARGET_HOST TARGET_PORT [options]

Listens on 127.0.0.1 (an ephemeral port unless --port), writes the port
number to PORTFILE once it accepts connections, and forwards every
connection to TARGET_HOST:TARGET_PORT.

  --cut-after BYTES  once a connection has passed BYTES bytes from the
                     server to the client, close both sides of it (the
                     client has received exactly BYTES bytes)
  --cuts N           cut at most N times in all (default 1): the first N
                     connections that reach BYTES are cut, every later
                     one passes through; connections that end before
                     BYTES are never cut and do not count
  --stall-after BYTES  instead of closing, stop forwarding in both
                     directions but keep both sides open (a hung server);
                     the connection ends only when the client gives up
  --stalls N         stall at most N times in all (default 1)
  --refuse N         close the first N connections at once, before
                     connecting to the target (then pass through)
  --rst              end cut and refused connections with a TCP reset
                     (SO_LINGER 0) instead of an orderly close
  --port PORT        listen on this port instead of an ephemeral one
  --log FILE         also append the event log to FILE

Each event is logged as one line on stderr, e.g.
  cut-proxy: conn 1: cut after 1048576 bytes from server
  cut-proxy: conn 2: closed: 8390656 bytes from server, 517 from client
"""

import argparse
import asyncio
import os
import socket
import struct
import sys


def parse_args(argv):
    p = argparse.ArgumentParser(prog="cut-proxy.py", add_help=True,
                                usage=__doc__.split("\n\n")[1])
    p.add_argument("portfile")
    p.add_argument("host")
    p.add_argument("port", type=int)
    p.add_argument("--cut-after", type=int)
    p.add_argument("--cuts", type=int, default=1)
    p.add_argument("--stall-after", type=int)
    p.add_argument("--stalls", type=int, default=1)
    p.add_argument("--refuse", type=int, default=0)
    p.add_argument("--rst", action="store_true")
    p.add_argument("--port", dest="listen_port", type=int, default=0)
    p.add_argument("--log")
    a = p.parse_args(argv)
    if a.cut_after is not None and a.stall_after is not None:
        p.error("--cut-after and --stall-after exclude each other")
    for name in ("cut_after", "stall_after"):
        v = getattr(a, name)
        if v is not None and v < 0:
            p.error("--%s must not be negative" % name.replace("_", "-"))
    return a


class Proxy:
    def __init__(self, args):
        self.a = args
        self.conns = 0
        self.cuts = 0
        self.stalls = 0
        self.refused = 0
        self.logf = open(args.log, "a", buffering=1) if args.log else None

    def log(self, msg):
        line = "cut-proxy: %s\n" % msg
        sys.stderr.write(line)
        sys.stderr.flush()
        if self.logf:
            self.logf.write(line)

    @staticmethod
    def reset(writer):
        sock = writer.get_extra_info("socket")
        if sock is not None:
            try:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                struct.pack("ii", 1, 0))
            except OSError:
                pass

    async def handle(self, creader, cwriter):
        self.conns += 1
        n = self.conns
        a = self.a
        if self.refused < a.refuse:
            self.refused += 1
            self.log("conn %d: refused (%d of %d)" % (n, self.refused, a.refuse))
            if a.rst:
                self.reset(cwriter)
            cwriter.close()
            return
        try:
            sreader, swriter = await asyncio.open_connection(a.host, a.port)
        except OSError as e:
            self.log("conn %d: cannot connect to %s:%d: %s" % (n, a.host, a.port, e))
            cwriter.close()
            return
        for w in (cwriter, swriter):
            sock = w.get_extra_info("socket")
            if sock is not None:
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

        st = {"down": 0, "up": 0, "ended": False}
        done = asyncio.Event()

        def finish(how=None, rst=False):
            if st["ended"]:
                return
            st["ended"] = True
            if how:
                self.log("conn %d: %s" % (n, how))
            if rst:
                self.reset(cwriter)
            for w in (cwriter, swriter):
                try:
                    w.close()
                except Exception:
                    pass
            done.set()

        async def upstream():
            # client -> server; while stalled, read and discard, so that
            # the client closing is still noticed
            while True:
                try:
                    data = await creader.read(65536)
                except OSError:
                    finish()                  # reset by the client
                    return
                if not data:
                    break
                st["up"] += len(data)
                if st.get("stalled"):
                    continue
                try:
                    swriter.write(data)
                    await swriter.drain()
                except OSError:
                    finish()
                    return
            # the client closed its side: pass the EOF on and let the
            # server finish its reply (unless nothing more will come)
            if st.get("stalled") or st.get("server_eof"):
                finish()
                return
            st["client_eof"] = True
            try:
                swriter.write_eof()
            except (OSError, RuntimeError):
                finish()

        async def downstream():
            # server -> client
            while True:
                try:
                    data = await sreader.read(65536)
                except OSError:
                    finish()                  # reset by the server
                    return
                if not data:
                    if st.get("client_eof"):
                        finish()
                        return
                    st["server_eof"] = True
                    try:
                        cwriter.write_eof()
                    except (OSError, RuntimeError):
                        finish()
                    return
                limit = None
                if a.cut_after is not None and self.cuts < a.cuts:
                    limit = a.cut_after
                elif a.stall_after is not None and self.stalls < a.stalls:
                    limit = a.stall_after
                if limit is not None and st["down"] + len(data) >= limit:
                    data = data[:limit - st["down"]]
                try:
                    cwriter.write(data)
                    await cwriter.drain()
                except OSError:
                    finish()
                    return
                st["down"] += len(data)
                if limit is not None and st["down"] >= limit:
                    if a.cut_after is not None:
                        self.cuts += 1
                        st["cut"] = True
                        finish("cut after %d bytes from server (cut %d of %d)"
                               % (st["down"], self.cuts, a.cuts), rst=a.rst)
                        return
                    self.stalls += 1
                    st["stalled"] = True
                    self.log("conn %d: stalled after %d bytes from server "
                             "(stall %d of %d)" % (n, st["down"], self.stalls,
                                                   a.stalls))
                    return        # stop reading the server; keep it open

        tasks = [asyncio.ensure_future(upstream()),
                 asyncio.ensure_future(downstream())]
        await done.wait()
        for t in tasks:
            t.cancel()
        if not st.get("cut"):
            self.log("conn %d: closed%s: %d bytes from server, %d from client"
                     % (n, " (stalled)" if st.get("stalled") else "",
                        st["down"], st["up"]))

    async def main(self):
        server = await asyncio.start_server(self.handle, "127.0.0.1",
                                            self.a.listen_port)
        port = server.sockets[0].getsockname()[1]
        tmp = self.a.portfile + ".tmp"
        with open(tmp, "w") as f:
            f.write("%d\n" % port)
        os.rename(tmp, self.a.portfile)
        self.log("listening on 127.0.0.1:%d, forwarding to %s:%d"
                 % (port, self.a.host, self.a.port))
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
