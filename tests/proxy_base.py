# SPDX-License-Identifier: BSD-3-Clause
"""What the test proxies (cut-proxy.py, wan-proxy.py) share: the
command line's fixed part, the event log, connecting to the target,
TCP resets, and listening on 127.0.0.1 with the port written to a file
once connections are accepted."""

import argparse
import asyncio
import os
import selectors
import socket
import struct
import sys


def arg_parser(prog, doc):
    """A parser with PORTFILE TARGET_HOST TARGET_PORT, --port and --log;
    the usage is the second paragraph of the proxy's docstring."""
    p = argparse.ArgumentParser(prog=prog, usage=doc.split("\n\n")[1])
    p.add_argument("portfile")
    p.add_argument("host")
    p.add_argument("port", type=int)
    p.add_argument("--port", dest="listen_port", type=int, default=0)
    p.add_argument("--log")
    return p


def reset(writer):
    """End the connection with a TCP reset when it is closed (SO_LINGER
    with a zero time-out), not an orderly FIN."""
    sock = writer.get_extra_info("socket")
    if sock is not None:
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                            struct.pack("ii", 1, 0))
        except OSError:
            pass


def close_all(*writers):
    for w in writers:
        try:
            w.close()
        except Exception:
            pass


class ProxyBase:
    """Subclasses define handle(creader, cwriter) and describe()."""

    name = "proxy"
    stream_limit = 2 ** 16            # asyncio's default buffer limit

    def __init__(self, args):
        self.a = args
        self.conns = 0
        self.logf = open(args.log, "a", buffering=1) if args.log else None

    def log(self, msg):
        line = "%s: %s\n" % (self.name, msg)
        sys.stderr.write(line)
        sys.stderr.flush()
        if self.logf:
            self.logf.write(line)

    async def connect(self, n):
        """Connect connection n to the target, both sides without Nagle's
        delay; None (logged) if the target cannot be reached."""
        a = self.a
        try:
            sreader, swriter = await asyncio.open_connection(
                a.host, a.port, limit=self.stream_limit)
        except OSError as e:
            self.log("conn %d: cannot connect to %s:%d: %s"
                     % (n, a.host, a.port, e))
            return None
        return sreader, swriter

    @staticmethod
    def no_delay(*writers):
        for w in writers:
            sock = w.get_extra_info("socket")
            if sock is not None:
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def describe(self):
        return ""

    async def serve(self):
        server = await asyncio.start_server(self.handle, "127.0.0.1",
                                            self.a.listen_port,
                                            limit=self.stream_limit)
        port = server.sockets[0].getsockname()[1]
        tmp = self.a.portfile + ".tmp"
        with open(tmp, "w") as f:
            f.write("%d\n" % port)
        os.rename(tmp, self.a.portfile)
        self.log("listening on 127.0.0.1:%d, forwarding to %s:%d%s"
                 % (port, self.a.host, self.a.port, self.describe()))
        async with server:
            await server.serve_forever()


def run(proxy_class, parse_args, argv):
    args = parse_args(argv[1:])
    try:
        if getattr(args, "fine_timers", False):
            # epoll's time-outs are whole milliseconds, so every delayed
            # piece would wait up to 1 ms longer; select's are finer.
            loop = asyncio.SelectorEventLoop(selectors.SelectSelector())
            try:
                loop.run_until_complete(proxy_class(args).serve())
            finally:
                loop.close()
        else:
            asyncio.run(proxy_class(args).serve())
    except KeyboardInterrupt:
        pass
    return 0
