#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
# tcp-cutter.py PORTFILE TARGET-PORT CUT-BYTES: a TCP proxy on 127.0.0.1
# (its port is written to PORTFILE) to 127.0.0.1:TARGET-PORT that drops
# every connection once it has passed CUT-BYTES from the server to the
# client: a network that breaks long transfers, for the retry tests.
# TLS passes through untouched, so the client still sees the server's
# certificate.  Runs until killed.
import os
import socket
import sys
import threading

portfile, target, cut = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])


def pump(src, dst, limit, both):
    passed = 0
    try:
        while True:
            data = src.recv(65536)
            if not data:
                break
            if limit is not None and passed + len(data) >= limit:
                dst.sendall(data[:limit - passed])
                break
            dst.sendall(data)
            passed += len(data)
    except OSError:
        pass
    for s in both:
        try:
            s.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        s.close()


def serve(client):
    try:
        server = socket.create_connection(("127.0.0.1", target))
    except OSError:
        client.close()
        return
    both = (client, server)
    threading.Thread(target=pump, args=(client, server, None, both),
                     daemon=True).start()
    threading.Thread(target=pump, args=(server, client, cut, both),
                     daemon=True).start()


listener = socket.socket()
listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
listener.bind(("127.0.0.1", 0))
listener.listen(64)
with open(portfile + ".tmp", "w") as f:
    f.write("%d\n" % listener.getsockname()[1])
os.rename(portfile + ".tmp", portfile)
while True:
    conn, _ = listener.accept()
    serve(conn)
