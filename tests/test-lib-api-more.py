#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""Drive the functions of VMware's header that whole-disk tools use
(ctypes): Grow, Shrink, Defragment, Rename, SpaceNeededForClone,
IsAttachPossible, Attach, CheckRepair, GetConnectParams, and the
OpenVixDiskLib_GetLinkInfo extension.  Results are checked with qemu-img.

usage: test-lib-api-more.py LIBRARY SAMPLES
"""
import ctypes as C
import os, re, shutil, struct, subprocess, sys

lib = C.CDLL(sys.argv[1])
samples = sys.argv[2]
Err = C.c_uint64

# Every function of VMware's 6.5-8 vixDiskLib.h is exported.
VMWARE_FUNCTIONS = """InitEx Init Exit ListTransportModes Cleanup Connect
ConnectEx PrepareForAccess EndAccess Disconnect Create CreateChild Open
GetInfo FreeInfo GetTransportMode Close Read ReadAsync Write WriteAsync Wait
Flush ReadMetadata WriteMetadata GetMetadataKeys Unlink Grow Shrink
Defragment Rename Clone GetErrorText FreeErrorText IsAttachPossible Attach
SpaceNeededForClone CheckRepair GetConnectParams FreeConnectParams
AllocateConnectParams QueryAllocatedBlocks FreeBlockList""".split()
for name in VMWARE_FUNCTIONS:
    assert hasattr(lib, "VixDiskLib_" + name), name
    f = getattr(lib, "VixDiskLib_" + name)
    f.restype = Err
lib.VixDiskLib_GetErrorText.restype = C.c_void_p
lib.VixDiskLib_AllocateConnectParams.restype = C.c_void_p
lib.OpenVixDiskLib_GetLinkInfo.restype = Err
print("all", len(VMWARE_FUNCTIONS), "functions exported")

VIX_E_INVALID_ARG, VIX_E_OBJECT_IS_BUSY, VIX_E_FILE_READ_ONLY = 3, 5, 11
VIX_E_FILE_ALREADY_EXISTS, VIX_E_FILE_ALREADY_LOCKED = 12, 15
VIX_E_INVALID_HANDLE, VIX_E_DISK_NEEDSREPAIR = 1000, 16006
VIX_E_DISK_CID_MISMATCH, VIX_E_DISK_CANTSHRINK = 16008, 16009
VIX_E_DISK_CANTREPAIR, VIX_E_DISK_CAPACITY_MISMATCH = 16062, 16067
VIX_E_DISK_PARENT_NOTALLOWED, VIX_E_DISK_ATTACH_ROOTLINK = 16068, 16069
SINGLE_LINK, READ_ONLY = 2, 4
MONOLITHIC_SPARSE, MONOLITHIC_FLAT, SPLIT_SPARSE, SPLIT_FLAT = 1, 2, 3, 4
VMFS_FLAT, STREAM, VMFS_THIN, VMFS_SPARSE, UNKNOWN = 5, 6, 7, 8, 256
S = 512

def text(err):
    p = lib.VixDiskLib_GetErrorText(Err(err), None)
    s = C.cast(p, C.c_char_p).value.decode()
    lib.VixDiskLib_FreeErrorText(C.c_void_p(p))
    return s

def ok(err, what):
    assert err == 0, "%s failed: %d %s" % (what, err, text(err))

def fails(err, code, what, words=""):
    assert err == code, "%s: expected %d, got %d %s" % (what, code, err,
                                                       text(err) if err else "")
    assert words in text(err), (what, text(err))

CLEAN_ENV = {k: v for k, v in os.environ.items() if k != "LD_PRELOAD"}

def qemu(*args, check=True):
    return subprocess.run(["qemu-img"] + list(args), check=check,
                          capture_output=True, text=True, env=CLEAN_ENV).stdout

def qemu_io(path, *cmds):
    args = ["qemu-io", "-f", "vmdk"]
    for c in cmds:
        args += ["-c", c]
    out = subprocess.run(args + [path], check=True, capture_output=True,
                         text=True, env=CLEAN_ENV).stdout
    assert "fail" not in out.lower(), out

def raw(path):
    qemu("convert", "-O", "raw", path, "tmp.raw")
    data = open("tmp.raw", "rb").read()
    os.unlink("tmp.raw")
    return data

def descriptor(path):
    data = open(path, "rb").read()
    if data[:4] == b"KDMV":
        off, size = struct.unpack_from("<QQ", data, 28)
        data = data[off * 512:(off + size) * 512]
    return data.split(b"\0")[0].decode("latin-1")

def copy_sample(name):
    for f in os.listdir(samples):
        if f == name + ".vmdk" or f.startswith(name + "-"):
            shutil.copy(os.path.join(samples, f), f)
    return os.path.abspath(name + ".vmdk")

ok(lib.VixDiskLib_InitEx(6, 5, None, None, None, None, None), "InitEx")
conn = C.c_void_p()
ok(lib.VixDiskLib_ConnectEx(None, 0, None, None, C.byref(conn)), "ConnectEx")

def open_disk(path, flags=0):
    h = C.c_void_p()
    ok(lib.VixDiskLib_Open(conn, path.encode(), flags, C.byref(h)), "Open " + path)
    return h

class CreateParams(C.Structure):
    _fields_ = [("diskType", C.c_int), ("adapterType", C.c_int),
                ("hwVersion", C.c_uint16), ("capacity", C.c_uint64),
                ("logicalSectorSize", C.c_uint32), ("physicalSectorSize", C.c_uint32)]

def create(path, dtype, sectors):
    p = CreateParams(dtype, 3, 7, sectors, 0, 0)
    ok(lib.VixDiskLib_Create(conn, os.path.abspath(path).encode(), C.byref(p),
                             None, None), "Create " + path)
    return os.path.abspath(path)

progress = []
PROGRESS = C.CFUNCTYPE(C.c_char, C.c_void_p, C.c_int)
cb = PROGRESS(lambda data, pct: progress.append(pct) or 1)

# ---- Grow
ms = copy_sample("monolithicSparse")
before = raw(ms)
progress.clear()
ok(lib.VixDiskLib_Grow(conn, ms.encode(), C.c_uint64(1 << 22), 1, cb, None), "Grow")
assert progress[-1] == 100 and progress == sorted(progress), progress
after = raw(ms)
assert len(after) == 2 << 30 and after[:len(before)] == before
assert after[len(before):].count(0) == len(after) - len(before)
qemu("check", ms)
cyl = re.search(r'geometry.cylinders = "(\d+)"', descriptor(ms)).group(1)
ok(lib.VixDiskLib_Grow(conn, ms.encode(), C.c_uint64(5 << 21), 0, None, None),
   "Grow keeping the geometry")
assert re.search(r'geometry.cylinders = "(\d+)"', descriptor(ms)).group(1) == cyl
fails(lib.VixDiskLib_Grow(conn, ms.encode(), C.c_uint64(1 << 20), 1, None, None),
      VIX_E_INVALID_ARG, "Grow smaller", "only grow")
h = open_disk(ms)
fails(lib.VixDiskLib_Grow(conn, ms.encode(), C.c_uint64(6 << 21), 1, None, None),
      VIX_E_FILE_ALREADY_LOCKED, "Grow while open")
ok(lib.VixDiskLib_CreateChild(h, os.path.abspath("child.vmdk").encode(),
                              MONOLITHIC_SPARSE, None, None), "CreateChild")
ok(lib.VixDiskLib_Close(h), "Close")
fails(lib.VixDiskLib_Grow(conn, os.path.abspath("child.vmdk").encode(),
                          C.c_uint64(6 << 21), 1, None, None),
      VIX_E_DISK_PARENT_NOTALLOWED, "Grow a child", "child")
fails(lib.VixDiskLib_Grow(None, ms.encode(), C.c_uint64(6 << 21), 1, None, None),
      VIX_E_INVALID_HANDLE, "Grow without a connection")
print("Grow OK")

# ---- Shrink and Defragment, through the handle, which stays usable.
d = create("s.vmdk", MONOLITHIC_SPARSE, 1 << 16)
qemu_io(d, "write -P 0x61 0 4M", "write -P 0 1M 2M", "write -P 0x62 20M 1M")
before = raw(d)
h = open_disk(d)
progress.clear()
ok(lib.VixDiskLib_Shrink(h, cb, None), "Shrink")
assert progress[-1] == 100, progress
buf = C.create_string_buffer(S * 8)
ok(lib.VixDiskLib_Read(h, C.c_uint64(2048 * 20), C.c_uint64(8), buf), "Read after Shrink")
assert buf.raw == b"\x62" * (S * 8)
ok(lib.VixDiskLib_Write(h, C.c_uint64(0), C.c_uint64(1), b"W" * S), "Write after Shrink")
ok(lib.VixDiskLib_Defragment(h, cb, None), "Defragment")
ok(lib.VixDiskLib_Close(h), "Close")
after = raw(d)
assert after[:S] == b"W" * S and after[S:] == before[S:]
qemu("check", d)
h = open_disk(d, READ_ONLY)
fails(lib.VixDiskLib_Shrink(h, None, None), VIX_E_FILE_READ_ONLY, "Shrink read-only")
h2 = open_disk(d, READ_ONLY)
ok(lib.VixDiskLib_Close(h2), "Close")
ok(lib.VixDiskLib_Close(h), "Close")
h, h2 = open_disk(d), open_disk(d)
fails(lib.VixDiskLib_Defragment(h, None, None), VIX_E_OBJECT_IS_BUSY,
      "Defragment with two handles", "other handles")
ok(lib.VixDiskLib_Close(h2), "Close")
ok(lib.VixDiskLib_Close(h), "Close")
f = create("flat.vmdk", MONOLITHIC_FLAT, 2048)
h = open_disk(f)
fails(lib.VixDiskLib_Shrink(h, None, None), VIX_E_DISK_CANTSHRINK,
      "Shrink preallocated", "preallocated")
ok(lib.VixDiskLib_Defragment(h, None, None), "Defragment flat (nothing to do)")
ok(lib.VixDiskLib_Close(h), "Close")
fails(lib.VixDiskLib_Shrink(None, None, None), VIX_E_INVALID_HANDLE, "Shrink NULL")
print("Shrink and Defragment OK")

# ---- Rename
sf = copy_sample("twoGbMaxExtentSparse")
ok(lib.VixDiskLib_Rename(sf.encode(), b"renamed.vmdk"), "Rename")
assert not os.path.exists(sf) and not os.path.exists("twoGbMaxExtentSparse-s001.vmdk")
assert '"renamed-s001.vmdk"' in descriptor("renamed.vmdk")
assert "Images are identical" in qemu("compare", "renamed.vmdk",
                                      os.path.join(samples, "twoGbMaxExtentSparse.vmdk"))
fails(lib.VixDiskLib_Rename(b"renamed.vmdk", os.path.basename(d).encode()),
      VIX_E_FILE_ALREADY_EXISTS, "Rename over a disk")
fails(lib.VixDiskLib_Rename(None, b"x.vmdk"), VIX_E_INVALID_ARG, "Rename NULL")
print("Rename OK")

# ---- SpaceNeededForClone: at least what a clone takes, and not much more.
src = copy_sample("monolithicSparse")
os.rename(src, "space-src.vmdk")
src = os.path.abspath("space-src.vmdk")
h = open_disk(src, READ_ONLY)
need = C.c_uint64()
for dtype in (MONOLITHIC_SPARSE, MONOLITHIC_FLAT, SPLIT_SPARSE, SPLIT_FLAT,
              VMFS_FLAT, STREAM, VMFS_THIN, VMFS_SPARSE):
    ok(lib.VixDiskLib_SpaceNeededForClone(h, dtype, C.byref(need)),
       "SpaceNeededForClone %d" % dtype)
    dst = os.path.abspath("space-%d.vmdk" % dtype)
    p = CreateParams(dtype, 3, 7, 0, 0, 0)
    ok(lib.VixDiskLib_Clone(conn, dst.encode(), conn, src.encode(), C.byref(p),
                            None, None, 0), "Clone %d" % dtype)
    files = [f for f in os.listdir(".") if f.startswith("space-%d" % dtype)]
    used = sum(os.stat(f).st_blocks * 512 for f in files)
    size = sum(os.stat(f).st_size for f in files)
    # (what the filesystem adds for its own bookkeeping aside)
    assert used <= need.value + 65536, (dtype, used, need.value)
    if dtype in (MONOLITHIC_FLAT, SPLIT_FLAT, VMFS_FLAT):
        assert size <= need.value <= size + 4096, (dtype, size, need.value)
    elif dtype == STREAM:
        # Grains are counted uncompressed: an upper bound.
        assert size <= need.value <= (4 << 20), (dtype, size, need.value)
    else:
        assert need.value <= max(size, used) + (1 << 20), (dtype, size, need.value)
    print("  type %d: needs %d, clone takes %d (files %d)" % (dtype, need.value, used, size))
ok(lib.VixDiskLib_SpaceNeededForClone(h, UNKNOWN, C.byref(need)), "UNKNOWN")
same = C.c_uint64()
ok(lib.VixDiskLib_SpaceNeededForClone(h, MONOLITHIC_SPARSE, C.byref(same)), "own type")
assert need.value == same.value
fails(lib.VixDiskLib_SpaceNeededForClone(h, 99, C.byref(need)), VIX_E_INVALID_ARG,
      "SpaceNeededForClone 99")
ok(lib.VixDiskLib_Close(h), "Close")
print("SpaceNeededForClone OK")

# ---- Attach: a child opened on its own goes on top of its parent.
base = create("abase.vmdk", MONOLITHIC_SPARSE, 8192)
qemu_io(base, "write -P 0x31 0 4M")
h = open_disk(base, READ_ONLY)
ok(lib.VixDiskLib_CreateChild(h, os.path.abspath("achild.vmdk").encode(),
                              MONOLITHIC_SPARSE, None, None), "CreateChild")
ok(lib.VixDiskLib_Close(h), "Close")
qemu_io("achild.vmdk", "write -P 0x32 1M 1M")
expect = raw(os.path.abspath("achild.vmdk"))
parent = open_disk(base, READ_ONLY)
child = open_disk(os.path.abspath("achild.vmdk"), SINGLE_LINK)
ok(lib.VixDiskLib_IsAttachPossible(parent, child), "IsAttachPossible")
fails(lib.VixDiskLib_IsAttachPossible(child, parent), VIX_E_DISK_ATTACH_ROOTLINK,
      "attach a base disk", "base disk")
ok(lib.VixDiskLib_Attach(parent, child), "Attach")
buf = C.create_string_buffer(S * 8192)
ok(lib.VixDiskLib_Read(child, C.c_uint64(0), C.c_uint64(8192), buf), "Read")
assert buf.raw == expect
fails(lib.VixDiskLib_Read(parent, C.c_uint64(0), C.c_uint64(1), buf),
      VIX_E_INVALID_HANDLE, "the spent parent handle")
ok(lib.VixDiskLib_Close(parent), "Close the parent handle")
ok(lib.VixDiskLib_Close(child), "Close")
# Refusals: the child opened with its parents; a different parent.
parent = open_disk(base, READ_ONLY)
child = open_disk(os.path.abspath("achild.vmdk"))
fails(lib.VixDiskLib_IsAttachPossible(parent, child), VIX_E_INVALID_ARG,
      "child with parents", "SINGLE_LINK")
ok(lib.VixDiskLib_Close(child), "Close")
child = open_disk(os.path.abspath("achild.vmdk"), SINGLE_LINK)
other = open_disk(d, READ_ONLY)
fails(lib.VixDiskLib_Attach(other, child), VIX_E_DISK_CAPACITY_MISMATCH,
      "different size")
other2 = open_disk(create("same-size.vmdk", MONOLITHIC_SPARSE, 8192), READ_ONLY)
fails(lib.VixDiskLib_Attach(other2, child), VIX_E_DISK_CID_MISMATCH,
      "different disk")
for x in (other, other2, child, parent):
    ok(lib.VixDiskLib_Close(x), "Close")
print("Attach OK")

# ---- CheckRepair
ok(lib.VixDiskLib_CheckRepair(conn, b"achild.vmdk", 0), "CheckRepair good")
bad = create("bad.vmdk", MONOLITHIC_SPARSE, 4096)
qemu_io(bad, "write -P 1 0 1M")
data = bytearray(open(bad, "rb").read())
gd, rgd = struct.unpack_from("<Q", data, 56)[0], struct.unpack_from("<Q", data, 48)[0]
for d_at in (gd, rgd):
    gt = struct.unpack_from("<I", data, d_at * 512)[0]
    struct.pack_into("<I", data, gt * 512 + 4, 0x7fffff00)
open(bad, "wb").write(data)
fails(lib.VixDiskLib_CheckRepair(conn, bad.encode(), 0), VIX_E_DISK_NEEDSREPAIR,
      "CheckRepair bad", "past the end of the file")
ok(lib.VixDiskLib_CheckRepair(conn, bad.encode(), 1), "CheckRepair repair")
ok(lib.VixDiskLib_CheckRepair(conn, bad.encode(), 0), "CheckRepair after repair")
qemu("check", bad)
os.unlink("renamed-s001.vmdk")
fails(lib.VixDiskLib_CheckRepair(conn, b"renamed.vmdk", 1), VIX_E_DISK_CANTREPAIR,
      "CheckRepair missing extent", "missing")
print("CheckRepair OK")

# ---- GetConnectParams: a copy, freed by FreeConnectParams.
pp = C.c_void_p()
ok(lib.VixDiskLib_GetConnectParams(conn, C.byref(pp)), "GetConnectParams")
assert C.string_at(pp, 128) == b"\0" * 128     # local: nothing set
lib.VixDiskLib_FreeConnectParams(pp)
fails(lib.VixDiskLib_GetConnectParams(None, C.byref(pp)), VIX_E_INVALID_HANDLE,
      "GetConnectParams NULL")
print("GetConnectParams OK")

# ---- OpenVixDiskLib_GetLinkInfo over a chain.
class ExtentInfo(C.Structure):
    _fields_ = [("fileName", C.c_char_p), ("type", C.c_char_p),
                ("access", C.c_char_p), ("sectors", C.c_uint64),
                ("offset", C.c_uint64), ("fileBytes", C.c_uint64),
                ("allocatedBytes", C.c_uint64)]
class LinkInfo(C.Structure):
    _fields_ = [("fileName", C.c_char_p), ("createType", C.c_char_p),
                ("diskType", C.c_int), ("cid", C.c_uint32),
                ("parentCid", C.c_uint32), ("parentFileNameHint", C.c_char_p),
                ("capacity", C.c_uint64), ("numExtents", C.c_uint32),
                ("extents", C.POINTER(ExtentInfo))]
h = open_disk(os.path.abspath("achild.vmdk"), READ_ONLY)
infos = []
for i in range(2):
    p = C.POINTER(LinkInfo)()
    ok(lib.OpenVixDiskLib_GetLinkInfo(h, i, C.byref(p)), "GetLinkInfo %d" % i)
    infos.append(p)
top, bottom = infos[0].contents, infos[1].contents
assert top.createType == b"monolithicSparse" and top.diskType == MONOLITHIC_SPARSE
assert top.parentCid == bottom.cid and bottom.parentCid == 0xffffffff
cid = re.search(r"^CID=(\w+)", descriptor("achild.vmdk"), re.M).group(1)
assert top.cid == int(cid, 16)
assert top.numExtents == 1 and top.extents[0].type == b"SPARSE"
assert top.extents[0].fileBytes == os.stat("achild.vmdk").st_size
p = C.POINTER(LinkInfo)()
fails(lib.OpenVixDiskLib_GetLinkInfo(h, 2, C.byref(p)), VIX_E_INVALID_ARG,
      "GetLinkInfo past the chain")
for p in infos:
    lib.OpenVixDiskLib_FreeLinkInfo(p)
ok(lib.VixDiskLib_Close(h), "Close")
print("GetLinkInfo OK")

ok(lib.VixDiskLib_Disconnect(conn), "Disconnect")
lib.VixDiskLib_Exit()
