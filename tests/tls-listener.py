#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
# tls-listener.py PORTFILE CERT KEY LOG: a TLS server on 127.0.0.1 (its
# port written to PORTFILE) that answers nothing and appends to LOG, per
# connection, "handshake failed: ..." or "received N bytes" followed by
# those bytes.  It shows whether a client sent anything (a login with
# its password) to a server whose certificate it should have refused.
# Runs until killed.
import os
import socket
import ssl
import sys

portfile, cert, key, log = sys.argv[1:5]
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(cert, key)
listener = socket.socket()
listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
listener.bind(("127.0.0.1", 0))
listener.listen(16)
with open(portfile + ".tmp", "w") as f:
    f.write("%d\n" % listener.getsockname()[1])
os.rename(portfile + ".tmp", portfile)
while True:
    conn, _ = listener.accept()
    conn.settimeout(5)
    data = b""
    try:
        tls = ctx.wrap_socket(conn, server_side=True)
        try:
            while True:
                chunk = tls.recv(65536)
                if not chunk:
                    break
                data += chunk
        except (OSError, ssl.SSLError):
            pass
        line = b"received %d bytes\n%s\n" % (len(data), data)
    except (OSError, ssl.SSLError) as e:
        line = ("handshake failed: %s\n" % e).encode()
    with open(log, "ab") as f:
        f.write(line)
    conn.close()
