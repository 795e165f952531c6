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

import asyncio
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from proxy_base import ProxyBase, arg_parser, close_all, reset, run  # noqa: E402


def parse_args(argv):
    p = arg_parser("cut-proxy.py", __doc__)
    p.add_argument("--cut-after", type=int)
    p.add_argument("--cuts", type=int, default=1)
    p.add_argument("--stall-after", type=int)
    p.add_argument("--stalls", type=int, default=1)
    p.add_argument("--refuse", type=int, default=0)
    p.add_argument("--rst", action="store_true")
    a = p.parse_args(argv)
    if a.cut_after is not None and a.stall_after is not None:
        p.error("--cut-after and --stall-after exclude each other")
    for name in ("cut_after", "stall_after"):
        v = getattr(a, name)
        if v is not None and v < 0:
            p.error("--%s must not be negative" % name.replace("_", "-"))
    return a


class Proxy(ProxyBase):
    name = "cut-proxy"

    def __init__(self, args):
        super().__init__(args)
        self.cuts = 0
        self.stalls = 0
        self.refused = 0

    async def handle(self, creader, cwriter):
        self.conns += 1
        n = self.conns
        a = self.a
        if self.refused < a.refuse:
            self.refused += 1
            self.log("conn %d: refused (%d of %d)" % (n, self.refused, a.refuse))
            if a.rst:
                reset(cwriter)
            cwriter.close()
            return
        target = await self.connect(n)
        if target is None:
            cwriter.close()
            return
        sreader, swriter = target
        self.no_delay(cwriter, swriter)

        st = {"down": 0, "up": 0, "ended": False}
        done = asyncio.Event()

        def finish(how=None, rst=False):
            if st["ended"]:
                return
            st["ended"] = True
            if how:
                self.log("conn %d: %s" % (n, how))
            if rst:
                reset(cwriter)
            close_all(cwriter, swriter)
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


if __name__ == "__main__":
    sys.exit(run(Proxy, parse_args, sys.argv))
