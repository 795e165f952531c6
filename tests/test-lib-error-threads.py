#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""An error's text belongs to the call that failed: many threads failing
at once on different files each get a message naming their own file,
and a thread that did not fail never gets another thread's message.

usage: test-lib-error-threads.py LIBRARY DIR
DIR holds bad-N.vmdk (corrupt: reading grain 3 fails) for N in 0..15.
"""
import ctypes as C
import os, re, sys, threading, traceback

lib = C.CDLL(sys.argv[1])
d = sys.argv[2]
N = 16
Err = C.c_uint64
for name in ("InitEx", "ConnectEx", "Open", "Close", "Read", "ReadAsync",
             "Wait"):
    getattr(lib, "VixDiskLib_" + name).restype = Err
lib.VixDiskLib_GetErrorText.restype = C.c_void_p
CB = C.CFUNCTYPE(None, C.c_void_p, Err)

def text(err):
    p = lib.VixDiskLib_GetErrorText(Err(err), None)
    s = C.cast(p, C.c_char_p).value.decode()
    lib.VixDiskLib_FreeErrorText(C.c_void_p(p))
    return s

assert lib.VixDiskLib_InitEx(6, 5, None, None, None, None, None) == 0
conn = C.c_void_p()
assert lib.VixDiskLib_ConnectEx(None, 0, None, None, C.byref(conn)) == 0
barrier = threading.Barrier(N)
problems = []

FILE = re.compile(r"/((?:connection|bad)-\d+\.vmdk)")

def check(i, what, message, own):
    names = set(FILE.findall(message))
    mine = {"connection-%d.vmdk" % i, "bad-%d.vmdk" % i}
    if own and not names & mine:
        problems.append("%s %d: not its own file: %s" % (what, i, message))
    if names - mine:
        problems.append("%s %d: another thread's file: %s" % (what, i, message))

def worker(i):
    # 1. Open a missing file, all threads at once.
    h = C.c_void_p()
    barrier.wait()
    err = lib.VixDiskLib_Open(conn, os.path.join(d, "connection-%d.vmdk" % i).encode(),
                              4, C.byref(h))
    assert err != 0
    barrier.wait()              # everybody has failed before anyone asks
    check(i, "open", text(err), True)

    # 2. Asynchronous reads that fail: the callback gets the text.
    h = C.c_void_p()
    assert lib.VixDiskLib_Open(conn, os.path.join(d, "bad-%d.vmdk" % i).encode(),
                               4, C.byref(h)) == 0
    buf = C.create_string_buffer(4 * 65536)
    got = {}
    def done(data, result):
        got["err"] = result
        got["text"] = text(result) if result else ""
    cb = CB(done)
    barrier.wait()
    # more than 64 KiB, so that it runs on the library's pool, not inline
    err = lib.VixDiskLib_ReadAsync(h, C.c_uint64(2 * 128), C.c_uint64(4 * 128),
                                   buf, cb, None)
    lib.VixDiskLib_Wait(h)
    assert got.get("err"), ("read of the bad grain succeeded", i, err)
    check(i, "async read callback", got["text"], True)
    # 3. Asking later, from this thread, which did not run the request:
    # a generic text at most, never another thread's message.
    barrier.wait()
    check(i, "async read, asked elsewhere", text(got["err"]), False)

    # 4. Synchronous reads: the text on the calling thread.
    barrier.wait()
    err = lib.VixDiskLib_Read(h, C.c_uint64(3 * 128), C.c_uint64(128), buf)
    assert err != 0
    barrier.wait()
    check(i, "read", text(err), True)
    lib.VixDiskLib_Close(h)

def run(i):
    try:
        worker(i)
    except Exception:
        problems.append("thread %d: %s" % (i, traceback.format_exc()))
        barrier.abort()

threads = [threading.Thread(target=run, args=(i,)) for i in range(N)]
for t in threads: t.start()
for t in threads: t.join()
for p in problems: print(p)
print("%d problems" % len(problems))
sys.exit(1 if problems else 0)
