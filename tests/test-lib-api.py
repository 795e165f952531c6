#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""Drive the library's API directly (ctypes) for the calls the plugin does
not use: metadata, CreateChild, Clone, Unlink and the local no-ops.
Checks against qemu-img decoding the files the library wrote.

usage: test-lib-api.py LIBRARY SAMPLES
"""
import ctypes as C
import os, re, shutil, struct, subprocess, sys

lib = C.CDLL(sys.argv[1])
samples = sys.argv[2]
Err = C.c_uint64
for name in ("InitEx", "ConnectEx", "Open", "Close", "Disconnect",
             "GetMetadataKeys", "ReadMetadata", "WriteMetadata",
             "Create", "CreateChild", "Clone", "Unlink", "PrepareForAccess",
             "EndAccess", "Cleanup", "Write"):
    getattr(lib, "VixDiskLib_" + name).restype = Err
lib.VixDiskLib_ListTransportModes.restype = C.c_char_p
lib.VixDiskLib_GetErrorText.restype = C.c_void_p

VIX_E_FILE_ALREADY_EXISTS, VIX_E_BUFFER_TOOSMALL = 12, 24
VIX_E_DISK_KEY_NOTFOUND, VIX_E_FILE_READ_ONLY = 16052, 11
READ_ONLY = 4

def text(err):
    p = lib.VixDiskLib_GetErrorText(Err(err), None)
    s = C.cast(p, C.c_char_p).value.decode()
    lib.VixDiskLib_FreeErrorText(C.c_void_p(p))
    return s

def ok(err, what):
    assert err == 0, "%s failed: %d %s" % (what, err, text(err))

def descriptor(path):
    """The descriptor text of a VMDK, embedded or not."""
    data = open(path, "rb").read()
    if data[:4] == b"KDMV":
        off, size = struct.unpack_from("<QQ", data, 28)
        data = data[off * 512:(off + size) * 512]
    return data.split(b"\0")[0].decode("latin-1")

# Under a sanitizer build this process runs with LD_PRELOAD; qemu-img
# must not.
CLEAN_ENV = {k: v for k, v in os.environ.items() if k != "LD_PRELOAD"}

def qemu(*args):
    return subprocess.run(["qemu-img"] + list(args), check=True,
                          capture_output=True, text=True,
                          env=CLEAN_ENV).stdout

ok(lib.VixDiskLib_InitEx(6, 5, None, None, None, None, None), "InitEx")
conn = C.c_void_p()
ok(lib.VixDiskLib_ConnectEx(None, 0, None, None, C.byref(conn)), "ConnectEx")

def open_disk(path, flags=0):
    h = C.c_void_p()
    ok(lib.VixDiskLib_Open(conn, path.encode(), flags, C.byref(h)), "Open " + path)
    return h

# ---- local no-ops
assert lib.VixDiskLib_ListTransportModes() == b"file:https"
ok(lib.VixDiskLib_PrepareForAccess(None, b"test"), "PrepareForAccess")
ok(lib.VixDiskLib_EndAccess(None, b"test"), "EndAccess")
a, b = C.c_uint32(9), C.c_uint32(9)
ok(lib.VixDiskLib_Cleanup(None, C.byref(a), C.byref(b)), "Cleanup")
assert a.value == 0 and b.value == 0

# ---- metadata
def keys(h):
    need = C.c_size_t()
    assert lib.VixDiskLib_GetMetadataKeys(h, None, 0, C.byref(need)) == VIX_E_BUFFER_TOOSMALL
    buf = C.create_string_buffer(need.value)
    ok(lib.VixDiskLib_GetMetadataKeys(h, buf, need, None), "GetMetadataKeys")
    raw = buf.raw
    assert raw.endswith(b"\0\0")
    return [k.decode() for k in raw[:-2].split(b"\0")]

def read(h, key):
    need = C.c_size_t()
    err = lib.VixDiskLib_ReadMetadata(h, key.encode(), None, 0, C.byref(need))
    if err == VIX_E_DISK_KEY_NOTFOUND:
        return None
    assert err == VIX_E_BUFFER_TOOSMALL, err
    buf = C.create_string_buffer(need.value)
    ok(lib.VixDiskLib_ReadMetadata(h, key.encode(), buf, need, None), "ReadMetadata")
    return buf.value.decode()

for sample, desc_file in (("monolithicSparse.vmdk", "monolithicSparse.vmdk"),
                          ("monolithicFlat.vmdk", "monolithicFlat.vmdk")):
    for f in os.listdir(samples):
        if f.startswith(sample[:-5]):
            shutil.copy(os.path.join(samples, f), f)
    before = qemu("convert", "-O", "raw", sample, "before.raw")
    desc = descriptor(desc_file)
    expect = {}
    for m in re.finditer(r'^ddb\.(\S+)\s*=\s*"([^"]*)"', desc, re.M):
        expect[m.group(1)] = m.group(2)
    h = open_disk(os.path.abspath(sample))
    assert sorted(keys(h)) == sorted(expect), (keys(h), expect)
    for k, v in expect.items():
        assert read(h, k) == v, (k, read(h, k), v)
    assert read(h, "no.such.key") is None
    ok(lib.VixDiskLib_WriteMetadata(h, b"toolsInstallType", b"4"), "WriteMetadata new")
    ok(lib.VixDiskLib_WriteMetadata(h, b"adapterType", b"lsilogic"), "WriteMetadata replace")
    assert lib.VixDiskLib_WriteMetadata(h, b"bad", b'with "quote"') != 0
    ok(lib.VixDiskLib_Close(h), "Close")
    h = open_disk(os.path.abspath(sample), READ_ONLY)
    assert read(h, "toolsInstallType") == "4"
    assert read(h, "adapterType") == "lsilogic"
    assert lib.VixDiskLib_WriteMetadata(h, b"x", b"y") == VIX_E_FILE_READ_ONLY
    ok(lib.VixDiskLib_Close(h), "Close")
    desc = descriptor(desc_file)
    assert 'ddb.adapterType = "lsilogic"' in desc and "buslogic" not in desc
    assert 'ddb.toolsInstallType = "4"' in desc
    qemu("convert", "-O", "raw", sample, "after.raw")
    assert open("before.raw", "rb").read() == open("after.raw", "rb").read()
    print("metadata OK on", sample)

# ---- CreateChild
base = os.path.abspath("monolithicSparse.vmdk")
h = open_disk(base, READ_ONLY)
for child, dtype in (("child.vmdk", 1), ("child-split.vmdk", 3)):
    ok(lib.VixDiskLib_CreateChild(h, os.path.abspath(child).encode(), dtype,
                                  None, None), "CreateChild " + child)
    info = qemu("info", child)
    assert "backing file: monolithicSparse.vmdk" in info, info
    assert "Images are identical" in qemu("compare", child, base)
    qemu("check", child)
assert lib.VixDiskLib_CreateChild(h, os.path.abspath("child.vmdk").encode(), 1,
                                  None, None) == VIX_E_FILE_ALREADY_EXISTS
ok(lib.VixDiskLib_Close(h), "Close")
# A write into the child leaves the base alone, and changes the child's
# content IDs: a new CID, and a longContentID ending in it.
def cids(path):
    d = descriptor(path)
    return (re.search(r"^CID=(\w+)", d, re.M).group(1),
            re.search(r'^ddb.longContentID = "(\w+)"', d, re.M).group(1))
cid0, long0 = cids("child.vmdk")
assert long0.endswith(cid0), (cid0, long0)
h = open_disk(os.path.abspath("child.vmdk"))
ok(lib.VixDiskLib_Write(h, C.c_uint64(100), C.c_uint64(1), b"Q" * 512), "Write")
ok(lib.VixDiskLib_Close(h), "Close")
cid1, long1 = cids("child.vmdk")
assert cid1 != cid0 and long1 != long0 and long1.endswith(cid1), (cid1, long1)
r = subprocess.run(["qemu-img", "compare", "child.vmdk", base],
                   capture_output=True, text=True, env=CLEAN_ENV)
assert r.returncode == 1 and "mismatch at offset 51200" in r.stdout, r.stdout
# after.raw is monolithicFlat's data, which is the same disk content.
qemu("convert", "-O", "raw", base, "base-now.raw")
assert open("base-now.raw", "rb").read() == open("after.raw", "rb").read()
print("CreateChild OK")

# ---- Clone
progress = []
PROGRESS = C.CFUNCTYPE(C.c_char, C.c_void_p, C.c_int)
cb = PROGRESS(lambda data, pct: progress.append(pct) or 1)
class CreateParams(C.Structure):
    _fields_ = [("diskType", C.c_int), ("adapterType", C.c_int),
                ("hwVersion", C.c_uint16), ("capacity", C.c_uint64),
                ("logicalSectorSize", C.c_uint32), ("physicalSectorSize", C.c_uint32)]
src = os.path.join(samples, "streamOptimized.vmdk")
for dst, dtype in (("clone-sparse.vmdk", 1), ("clone-flat.vmdk", 2),
                   ("clone-vmfs.vmdk", 5)):
    p = CreateParams(dtype, 3, 13, 0, 0, 0)
    progress.clear()
    ok(lib.VixDiskLib_Clone(conn, os.path.abspath(dst).encode(), conn,
                            src.encode(), C.byref(p), cb, None, 0), "Clone " + dst)
    assert progress and progress[-1] == 100, progress
    assert "Images are identical" in qemu("compare", dst, src), dst
    qemu("check", dst) if dtype == 1 else None
p = CreateParams(1, 3, 13, 0, 0, 0)
assert lib.VixDiskLib_Clone(conn, os.path.abspath("clone-sparse.vmdk").encode(), conn,
                            src.encode(), C.byref(p), None, None, 0) == VIX_E_FILE_ALREADY_EXISTS
ok(lib.VixDiskLib_Clone(conn, os.path.abspath("clone-sparse.vmdk").encode(), conn,
                        os.path.abspath("child.vmdk").encode(), C.byref(p), None, None, 1),
   "Clone with overWrite")
assert "Images are identical" in qemu("compare", "clone-sparse.vmdk", "child.vmdk")
assert "backing file" not in qemu("info", "clone-sparse.vmdk")   # flattened
# To a stream: a canonical stream, readable front to back.
p = CreateParams(6, 3, 13, 0, 0, 0)
ok(lib.VixDiskLib_Clone(conn, os.path.abspath("clone-stream.vmdk").encode(), conn,
                        os.path.abspath("child.vmdk").encode(), C.byref(p), None, None, 0),
   "Clone to a stream")
assert "Images are identical" in qemu("compare", "clone-stream.vmdk", "child.vmdk")
walk = subprocess.run(["/usr/bin/python3", os.path.join(os.path.dirname(__file__), "stream-walk.py"),
                       "clone-stream.vmdk", "walked.raw", "--canonical"],
                      capture_output=True, text=True, env=CLEAN_ENV)
assert walk.returncode == 0, walk.stdout + walk.stderr
qemu("convert", "-O", "raw", "child.vmdk", "child.raw")
assert open("walked.raw", "rb").read() == open("child.raw", "rb").read()
print("Clone OK")

# ---- Unlink
split_files = [f for f in os.listdir(".") if f.startswith("child-split")]
assert len(split_files) == 2, split_files
ok(lib.VixDiskLib_Unlink(conn, os.path.abspath("child-split.vmdk").encode()), "Unlink")
assert not [f for f in os.listdir(".") if f.startswith("child-split")]
ok(lib.VixDiskLib_Unlink(conn, os.path.abspath("clone-flat.vmdk").encode()), "Unlink flat")
assert not [f for f in os.listdir(".") if f.startswith("clone-flat")]
print("Unlink OK")

# ---- Create limits beyond what the plugin can ask for (its create-size
# stops at 8 EiB): refused before any file is made.
VIX_E_INVALID_ARG, VIX_E_FILE_NAME_INVALID = 3, 22
for dtype, cap, why in ((2, 1 << 60, "signed 64-bit"), (5, 1 << 55, "signed 64-bit"),
                        (1, (1 << 64) - 1, "32-bit sector numbers"),
                        (3, 1 << 40, "999 extent files")):
    p = CreateParams(dtype, 3, 13, cap, 0, 0)
    err = lib.VixDiskLib_Create(conn, os.path.abspath("huge.vmdk").encode(),
                                C.byref(p), None, None)
    assert err == VIX_E_INVALID_ARG and why in text(err), (dtype, err, text(err))
    assert not [f for f in os.listdir(".") if f.startswith("huge")]
print("Create limits OK")

# ---- A child cannot name a parent whose path has a double quote: the
# descriptor's parentFileNameHint is quoted.
os.mkdir('q"dir')
shutil.copy(os.path.join(samples, "monolithicSparse.vmdk"), 'q"dir/base.vmdk')
h = open_disk(os.path.abspath('q"dir/base.vmdk'), READ_ONLY)
err = lib.VixDiskLib_CreateChild(h, os.path.abspath("qchild.vmdk").encode(), 1,
                                 None, None)
assert err == VIX_E_FILE_NAME_INVALID and "double quote" in text(err), text(err)
assert not os.path.exists("qchild.vmdk")
ok(lib.VixDiskLib_Close(h), "Close")
print("CreateChild name check OK")

ok(lib.VixDiskLib_Disconnect(conn), "Disconnect")
lib.VixDiskLib_Exit()
