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
  --blackhole-idle SECS  a connection that has been idle (no bytes
                     either way) for SECS, then carries a new request,
                     is stalled as by --stall-after from then on: a
                     middlebox (NAT, firewall, load balancer) that
                     forgot an idle connection and drops its packets
                     without a reset
  --chaos SEED       instead of the fixed faults above, each connection
                     draws its own fate from SEED and its number (so a
                     run is repeatable): with probability --chaos-cut
                     it is cut (RST or close, by a coin) after a random
                     number of bytes from the server up to --chaos-bytes;
                     else with --chaos-stall it stalls there for good;
                     else with --chaos-pause it stops there for a random
                     time up to --chaos-pause-secs, then goes on (a
                     hiccup); else it passes untouched
  --chaos-cut P, --chaos-stall P, --chaos-pause P   (default 0 each)
  --chaos-bytes N    (default 4194304)
  --chaos-pause-secs S  (default 2)
  --port PORT        listen on this port instead of an ephemeral one
  --log FILE         also append the event log to FILE

Each event is logged as one line on stderr, e.g.
  cut-proxy: conn 1: cut after 1048576 bytes from server
  cut-proxy: conn 2: closed: 8390656 bytes from server, 517 from client
  cut-proxy: conn 3: paused 1.20 s after 77000 bytes from server
"""

import asyncio
import os
import random
import sys
import time

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
    p.add_argument("--blackhole-idle", type=float)
    p.add_argument("--chaos", type=int)
    p.add_argument("--chaos-cut", type=float, default=0.0)
    p.add_argument("--chaos-stall", type=float, default=0.0)
    p.add_argument("--chaos-pause", type=float, default=0.0)
    p.add_argument("--chaos-bytes", type=int, default=4 << 20)
    p.add_argument("--chaos-pause-secs", type=float, default=2.0)
    a = p.parse_args(argv)
    if a.chaos is not None and (a.cut_after is not None or
                                a.stall_after is not None):
        p.error("--chaos excludes --cut-after and --stall-after")
    if a.cut_after is not None and a.stall_after is not None:
        p.error("--cut-after and --stall-after exclude each other")
    for name in ("cut_after", "stall_after"):
        v = getattr(a, name)
        if v is not None and v < 0:
            p.error("--%s must not be negative" % name.replace("_", "-"))
    return a


def chaos_plan(a, n):
    """Connection n's fate under --chaos: (kind, after, secs, rst) with
    kind one of cut, stall, pause, or None to pass untouched."""
    rng = random.Random(a.chaos * 1000003 + n)
    after = rng.randrange(a.chaos_bytes + 1)
    draw = rng.random()
    if draw < a.chaos_cut:
        return ("cut", after, 0.0, rng.random() < 0.5)
    draw -= a.chaos_cut
    if draw < a.chaos_stall:
        return ("stall", after, 0.0, False)
    draw -= a.chaos_stall
    if draw < a.chaos_pause:
        return ("pause", after, rng.uniform(0.05, a.chaos_pause_secs), False)
    return None


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

        st = {"down": 0, "up": 0, "ended": False, "last": time.monotonic()}
        plan = chaos_plan(a, n) if a.chaos is not None else None
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
                idle = time.monotonic() - st["last"]
                if (a.blackhole_idle is not None and not st.get("stalled")
                        and idle >= a.blackhole_idle):
                    st["stalled"] = True
                    self.log("conn %d: blackholed: a request after %.1f s "
                             "idle" % (n, idle))
                if st.get("stalled"):
                    continue
                try:
                    swriter.write(data)
                    await swriter.drain()
                except OSError:
                    finish()
                    return
                st["last"] = time.monotonic()
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

        async def to_client(data):
            """Pass data on to the client: False (the connection ended)
            if it has gone."""
            try:
                cwriter.write(data)
                await cwriter.drain()
            except OSError:
                finish()
                return False
            st["down"] += len(data)
            st["last"] = time.monotonic()
            return True

        async def downstream():
            # server -> client
            nonlocal plan
            while True:
                try:
                    data = await sreader.read(65536)
                except OSError:
                    finish()                  # reset by the server
                    return
                if st.get("stalled"):
                    if data:
                        continue          # dropped, as the request was
                    return                # the server closed: unseen
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
                limit = kind = None
                if plan is not None:
                    kind, limit = plan[0], plan[1]
                elif a.cut_after is not None and self.cuts < a.cuts:
                    kind, limit = "cut", a.cut_after
                elif a.stall_after is not None and self.stalls < a.stalls:
                    kind, limit = "stall", a.stall_after
                rest = b""
                if limit is not None and st["down"] + len(data) >= limit:
                    rest = data[limit - st["down"]:]
                    data = data[:limit - st["down"]]
                if not await to_client(data):
                    return
                if limit is not None and st["down"] >= limit:
                    if kind == "pause":
                        secs, plan = plan[2], None    # once, then pass on
                        self.log("conn %d: paused %.2f s after %d bytes from "
                                 "server" % (n, secs, st["down"]))
                        await asyncio.sleep(secs)
                        if not await to_client(rest):
                            return
                        continue
                    if kind == "cut":
                        self.cuts += 1
                        st["cut"] = True
                        if plan is not None:
                            finish("cut after %d bytes from server (chaos, %s)"
                                   % (st["down"], "rst" if plan[3] else "close"),
                                   rst=plan[3])
                        else:
                            finish("cut after %d bytes from server (cut %d of %d)"
                                   % (st["down"], self.cuts, a.cuts), rst=a.rst)
                        return
                    self.stalls += 1
                    st["stalled"] = True
                    self.log("conn %d: stalled after %d bytes from server "
                             "(%s)" % (n, st["down"], "chaos" if plan else
                                       "stall %d of %d" % (self.stalls, a.stalls)))
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
