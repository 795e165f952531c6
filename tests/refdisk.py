#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""A reference of what a disk may hold, for the crash and fault loops
(test-crash-loop.sh, test-fault-inject.sh).

Every sector written holds its sector number and a tag (the number of
the write), so each sector read tells which write it came from: tag 0
is zeros, -1 is data no write put there.  For each sector the state file
keeps the tag that is durable (written and then flushed) and the tags
that may be there instead: written since the last successful flush, or
by a write that failed.  After a crash or a failure, each sector must
hold its durable tag or one of those; the disk as read is then adopted
as the new durable state.

usage:
  refdisk.py init STATE SIZE [START:LENGTH ...]
      a new, all-zero disk of SIZE bytes; only the windows START:LENGTH
      (bytes; default the whole disk) are written and checked
  refdisk.py check STATE SOURCE [--exact] [--keep]
      read the windows from SOURCE (an NBD URI, or a raw file) and check
      them; --exact: only durable tags allowed.  Then adopt what was read
      as durable, unless --keep.
  refdisk.py crash STATE URI PIDFILE SEED OPS
      check exactly, then up to OPS random writes (several in flight) and
      flushes; SIGKILL the server at a random moment
  refdisk.py fault STATE URI SEED OPS ERRNO FAULTLOG [PIDFILE]
      check exactly, then OPS writes and flushes one at a time, each read
      back; every failure must have errno ERRNO and come with an injected
      fault in FAULTLOG, a fault injected while the client worked must
      have failed a request, and no flush may succeed after a failed sync.
      Ends with a whole read of the windows; then, with PIDFILE, SIGKILL
      the server (a crash after the fault) instead of disconnecting.
  refdisk.py use STATE URI
      one write, flushed and read back (the disk is usable again)
"""
import errno, os, pickle, random, signal, struct, sys, threading, time
import nbd

SS = 512
MAGIC = b"REFD"
GRAIN = 128                     # sectors
_fill = {}


def sector_data(s, tag):
    if tag == 0:
        return bytes(SS)
    f = _fill.get(tag)
    if f is None:
        f = _fill[tag] = bytes((tag * 7 + i) & 255 for i in range(SS - 16))
    return struct.pack("<QI4s", s, tag, MAGIC) + f


def make(start, n, tag):
    if tag == 0:
        return bytes(n * SS)
    return b"".join(sector_data(start + i, tag) for i in range(n))


ZERO = bytes(SS)


def tag_of(buf, s):
    """The tag of the write that left buf (one sector) at sector s."""
    if buf == ZERO:
        return 0
    sec, tag, magic = struct.unpack_from("<QI4s", buf)
    if magic != MAGIC or sec != s or tag == 0 or buf != sector_data(s, tag):
        return -1
    return tag


class State:
    def __init__(self, size, windows):
        self.size = size
        self.windows = windows                  # [(first sector, sectors)]
        self.durable = {}                       # sector -> tag (absent: 0)
        self.maybe = {}                         # sector -> set of tags
        self.next_tag = 1

    def sectors(self):
        for first, n in self.windows:
            yield from range(first, first + n)

    def allowed(self, s):
        return {self.durable.get(s, 0)} | self.maybe.get(s, set())


def load(path):
    with open(path, "rb") as f:
        return pickle.load(f)


def save(st, path):
    with open(path + ".tmp", "wb") as f:
        pickle.dump(st, f)
    os.replace(path + ".tmp", path)


class Source:
    def __init__(self, where):
        if "://" in where:
            self.h = nbd.NBD()
            self.h.connect_uri(where)
            self.f = None
        else:
            self.h = None
            self.f = open(where, "rb")

    def read(self, off, n):
        if self.h:
            return self.h.pread(n, off)
        self.f.seek(off)
        data = self.f.read(n)
        return data + bytes(n - len(data))

    def close(self):
        if self.h:
            self.h.shutdown()
        else:
            self.f.close()


def check(st, src, exact, what, adopt=True):
    """Check the windows against st; adopt what was read as durable."""
    bad, seen = [], {}
    for first, n in st.windows:
        for off in range(0, n, 2048):
            k = min(2048, n - off)
            data = src.read((first + off) * SS, k * SS)
            for i in range(k):
                s = first + off + i
                t = tag_of(data[i * SS:(i + 1) * SS], s)
                ok = {st.durable.get(s, 0)} if exact else st.allowed(s)
                if t not in ok:
                    bad.append("sector %d holds %s, expected %s" %
                               (s, "garbage" if t < 0 else "tag %d" % t,
                                " or ".join("tag %d" % x for x in sorted(ok))))
                if t:
                    seen[s] = t
    if bad:
        sys.exit("%s: %d sectors wrong:\n  %s" % (what, len(bad),
                                                  "\n  ".join(bad[:20])))
    if adopt:
        st.durable = seen
        st.maybe = {}


def window_range(st, rnd, max_sectors):
    """A random run of sectors inside one window: whole grains, parts of
    grains, runs across grains, and the last sector of the window."""
    first, n = rnd.choice(st.windows)
    kind = rnd.random()
    if kind < 0.3:                          # whole grains
        g = rnd.randrange(0, max(1, n // GRAIN))
        k = min(rnd.choice((1, 1, 2, 3)) * GRAIN, n - g * GRAIN)
        return first + g * GRAIN, k
    if kind < 0.35:                         # the last sectors
        k = rnd.randint(1, 8)
        return first + n - k, k
    k = rnd.randint(1, max_sectors)
    return first + rnd.randrange(0, n - k + 1), k


# ---- crash: random writes, flushes and a SIGKILL ----

def crash(st, uri, pidfile, seed, ops):
    rnd = random.Random(seed)
    src = Source(uri)
    h = src.h
    check(st, src, True, "before the writes")
    pid = int(open(pidfile).read())
    kill_at = rnd.randrange(1, ops + 1)
    written = {}                            # since the last flush: sector -> tag
    inflight = []                           # (cookie, first, n)

    def killer(delay):
        time.sleep(delay)
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass

    def reap():
        nonlocal inflight
        while True:
            inflight = [x for x in inflight
                        if not h.aio_command_completed(x[0])]
            if not inflight:
                return
            h.poll(-1)

    killed = None
    try:
        for op in range(1, ops + 1):
            if op == kill_at:
                killed = threading.Thread(target=killer,
                                          args=(rnd.random() * 0.02,))
                killed.start()
            if rnd.random() < 0.15:
                reap()
                h.flush()
                # Everything written before the flush is durable now.
                for s, t in written.items():
                    st.durable[s] = t
                    st.maybe.pop(s, None)
                written = {}
                continue
            while True:                         # no overlap with in-flight
                first, n = window_range(st, rnd, 256)
                if all(first + n <= f or f + k <= first for _, f, k in inflight):
                    break
            tag = 0 if rnd.random() < 0.05 else st.next_tag
            st.next_tag += 1
            for s in range(first, first + n):
                st.maybe.setdefault(s, set()).add(tag)
                written[s] = tag
            if tag == 0 and rnd.random() < 0.5:
                c = h.aio_zero(n * SS, first * SS)
            else:
                c = h.aio_pwrite(make(first, n, tag), first * SS)
            inflight.append((c, first, n))
            if len(inflight) >= 4:
                reap()
        reap()
    except nbd.Error:
        pass                                    # the server was killed
    if killed:
        killed.join()
    kill_and_wait(pid)
    print("crash: killed at op %d of %d" % (kill_at, ops))


# ---- fault: one request at a time, each failure accounted for ----

def faults_injected(log, calls=None):
    """How many faults were injected (only of these calls, if given)."""
    try:
        with open(log) as f:
            return sum(1 for line in f if line.startswith("FAULT") and
                       (calls is None or line.split()[2] in calls))
    except FileNotFoundError:
        return 0


def kill_and_wait(pid):
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        return                                  # dead and reaped already
    while True:
        try:
            os.kill(pid, 0)
            time.sleep(0.01)
        except ProcessLookupError:
            return


def fault(st, uri, seed, ops, want_errno, log, pidfile=None):
    rnd = random.Random(seed)
    src = Source(uri)
    h = src.h
    check(st, src, True, "before the writes")
    cur = {}            # sectors written this session: sector -> set of tags
    pending = set()     # sectors written since the last successful flush
    failures = []

    def now(s):
        return cur.get(s, {st.durable.get(s, 0)})

    def failed(what, e):
        failures.append(what)
        print("%s failed: %s" % (what, e))
        # libnbd gives the errno's name (or its number)
        got = errno.errorcode.get(e.errno, e.errno)
        if got != want_errno:
            sys.exit("%s failed with %s, not %s" % (what, got, want_errno))

    for op in range(ops):
        if op == ops - 1 or (op % 4 == 3):
            # After a failed sync, data written before it may be gone
            # (the kernel drops pages it could not write): no later
            # flush may say otherwise.
            sync_failed = faults_injected(log, ("fsync", "fdatasync"))
            try:
                h.flush()
            except nbd.Error as e:
                failed("flush %d" % op, e)
                continue
            if sync_failed:
                sys.exit("flush %d succeeded after a failed sync" % op)
            for s in pending:
                t = sorted(cur[s])
                st.durable[s] = t[-1]
                st.maybe[s] = set(t[:-1]) if len(t) > 1 else set()
                if not st.maybe[s]:
                    del st.maybe[s]
            pending.clear()
            continue
        first, n = window_range(st, rnd, 200)
        tag = 0 if op % 7 == 5 else st.next_tag
        st.next_tag += 1
        data = make(first, n, tag)
        try:
            h.pwrite(data, first * SS)
            ok = True
        except nbd.Error as e:
            failed("write %d (sectors %d+%d)" % (op, first, n), e)
            ok = False
        for s in range(first, first + n):
            cur[s] = {tag} if ok else now(s) | {tag}
            st.maybe.setdefault(s, set()).add(tag)
            pending.add(s)
        got = h.pread(n * SS, first * SS)
        for i in range(n):
            t = tag_of(got[i * SS:(i + 1) * SS], first + i)
            if t not in cur[first + i]:
                sys.exit("write %d: sector %d reads back tag %d, not %s" %
                         (op, first + i, t, cur[first + i]))
    # The whole windows, as the disk stands now.
    bad = []
    for first, n in st.windows:
        for off in range(0, n, 2048):
            k = min(2048, n - off)
            data = h.pread(k * SS, (first + off) * SS)
            for i in range(k):
                s = first + off + i
                if tag_of(data[i * SS:(i + 1) * SS], s) not in now(s):
                    bad.append(s)
    if bad:
        sys.exit("after the writes, %d sectors read wrong, first %s" %
                 (len(bad), bad[:10]))
    injected = faults_injected(log)
    if pidfile:
        # A crash after the fault: no close, no last flush.
        kill_and_wait(int(open(pidfile).read()))
    else:
        h.shutdown()
    if injected and not failures:
        sys.exit("a fault was injected but no request failed: lost silently")
    if failures and not injected:
        sys.exit("requests failed without an injected fault")
    print("fault: %d requests failed: %s" % (len(failures),
                                             ", ".join(failures) or "-"))


def use(st, uri):
    h = nbd.NBD()
    h.connect_uri(uri)
    first, n = st.windows[0][0], 8
    tag = st.next_tag
    st.next_tag += 1
    h.pwrite(make(first, n, tag), first * SS)
    h.flush()
    got = h.pread(n * SS, first * SS)
    h.shutdown()
    if got != make(first, n, tag):
        sys.exit("the write after reopening does not read back")
    for s in range(first, first + n):
        st.durable[s] = tag


def main():
    cmd, path = sys.argv[1], sys.argv[2]
    a = sys.argv[3:]
    if cmd == "init":
        size = int(a[0])
        wins = [tuple(int(x) // SS for x in w.split(":")) for w in a[1:]]
        save(State(size, wins or [(0, size // SS)]), path)
        return
    st = load(path)
    if cmd == "check":
        src = Source(a[0])
        check(st, src, "--exact" in a, a[0], "--keep" not in a)
        src.close()
    elif cmd == "crash":
        crash(st, a[0], a[1], int(a[2]), int(a[3]))
    elif cmd == "fault":
        fault(st, a[0], int(a[1]), int(a[2]), a[3], a[4],
              a[5] if len(a) > 5 else None)
    elif cmd == "use":
        use(st, a[0])
    else:
        sys.exit("unknown command " + cmd)
    save(st, path)


if __name__ == "__main__":
    main()
