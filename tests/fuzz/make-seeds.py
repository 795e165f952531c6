#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""Write the seed inputs of the fuzz targets (tests/fuzz/fuzz.h).

usage: make-seeds.py OUTDIR SAMPLES [VDL_DRIVER]

OUTDIR/<target>/ receives: descriptors of the VMware samples and of
images made by qemu-img and by this library (VDL_DRIVER, tests/vdl-driver),
and tiny images of every format crafted here (a few grains of one or a
few sectors, so that mutations hit metadata rather than zeros).  The
committed corpus (tests/fuzz/corpus) was made by running libFuzzer from
these seeds and minimizing with -merge=1 (scripts/fuzz.sh merge).
"""
import os, shutil, struct, subprocess, sys, tempfile, zlib

out, samples = sys.argv[1], sys.argv[2]
driver = sys.argv[3] if len(sys.argv) > 3 else None
SEP = b"\n--vmdk-part--\n"
SS = 512


def put(target, name, data):
    d = os.path.join(out, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def sample(name):
    with open(os.path.join(samples, name), "rb") as f:
        return f.read()


def desc(create_type, extents, cid=0x11223344, parent_cid=0xffffffff,
         parent=None, ddb=True):
    t = ("# Disk DescriptorFile\nversion=1\nencoding=\"UTF-8\"\n"
         "CID=%08x\nparentCID=%08x\ncreateType=\"%s\"\n"
         % (cid, parent_cid, create_type))
    if parent:
        t += "parentFileNameHint=\"%s\"\n" % parent
    t += "\n# Extent description\n" + "".join(e + "\n" for e in extents)
    if ddb:
        t += ("\n# The Disk Data Base\n#DDB\n\n"
              "ddb.adapterType = \"lsilogic\"\n"
              "ddb.geometry.cylinders = \"1\"\nddb.geometry.heads = \"16\"\n"
              "ddb.geometry.sectors = \"63\"\n"
              "ddb.longContentID = \"0123456789abcdef0123456711223344\"\n"
              "ddb.uuid = \"60 00 C2 9a 12 34 56 78-9a bc de f0 12 34 56 78\"\n"
              "ddb.virtualHWVersion = \"4\"\n")
    return t.encode()


def pad(b, n=SS):
    return b + bytes(-len(b) % n)


def grain_data(gi, grain):
    return bytes([(gi * 37 + 1) & 0xff]) * (grain * SS)


def kdmv_header(capacity, grain, gtes, desc_off, desc_size, rgd, gd,
                overhead, flags=0x3, version=1, compress=0):
    h = bytearray(SS)
    struct.pack_into("<4sIIQQQQIQQQB", h, 0, b"KDMV", version, flags,
                     capacity, grain, desc_off, desc_size, gtes, rgd, gd,
                     overhead, 0)
    h[73:77] = b"\n \r\n"
    struct.pack_into("<H", h, 77, compress)
    return bytes(h)


def sparse(capacity, grain, gtes, grains, descriptor=None, flags=0x3,
           version=1, zero=()):
    """A hosted sparse extent with a redundant directory; grains maps
    grain numbers to data; zero lists grains marked zero (entry 1)."""
    n_gts = -(-capacity // grain // gtes)
    gd_sectors = -(-n_gts * 4 // SS)
    gt_sectors = -(-gtes * 4 // SS)
    desc_size = -(-len(descriptor) // SS) if descriptor else 0
    desc_off = 1 if descriptor else 0
    rgd = 1 + desc_size
    gd = rgd + gd_sectors + n_gts * gt_sectors
    overhead = gd + gd_sectors + n_gts * gt_sectors
    overhead = -(-overhead // grain) * grain
    gt = [0] * (n_gts * gtes)
    body = b""
    for gi in sorted(grains):
        gt[gi] = overhead + len(body) // SS
        body += grains[gi]
    for gi in zero:
        gt[gi] = 1
    f = bytearray(overhead * SS)
    f[0:SS] = kdmv_header(capacity, grain, gtes, desc_off, desc_size, rgd,
                          gd, overhead, flags, version)
    if descriptor:
        f[SS:SS + len(descriptor)] = descriptor
    for base in (rgd, gd):
        gts_at = base + gd_sectors
        struct.pack_into("<%dI" % n_gts, f, base * SS,
                         *[gts_at + i * gt_sectors for i in range(n_gts)])
        struct.pack_into("<%dI" % len(gt), f, gts_at * SS, *gt)
    return bytes(f) + body


def marker(val, mtype):
    return pad(struct.pack("<QII", val, 0, mtype))


def stream(capacity, grain, gtes, grains, descriptor=None, footer=True,
           raw_deflate=False):
    """A stream-optimized extent: header (directory in the footer),
    descriptor, grains behind markers, tables, directory, footer, end."""
    n_gts = -(-capacity // grain // gtes)
    gd_sectors = -(-n_gts * 4 // SS)
    gt_sectors = -(-gtes * 4 // SS)
    desc_size = -(-len(descriptor) // SS) if descriptor else 0
    overhead = 1 + desc_size
    flags = 0x30001
    f = bytearray()
    f += bytes(SS)                          # header, filled in below
    if descriptor:
        f += pad(descriptor)
    gt = [0] * (n_gts * gtes)
    for gi in sorted(grains):
        data = grains[gi]
        if raw_deflate:
            c = zlib.compressobj(6, zlib.DEFLATED, -15)
            z = c.compress(data) + c.flush()
        else:
            z = zlib.compress(data)
        gt[gi] = len(f) // SS
        f += pad(struct.pack("<QI", gi * grain, len(z)) + z)
    gd = []
    for i in range(n_gts):
        entries = gt[i * gtes:(i + 1) * gtes]
        if any(entries):
            f += marker(gt_sectors, 1)
            gd.append(len(f) // SS)
            f += pad(struct.pack("<%dI" % gtes, *entries))
        else:
            gd.append(0)
    f += marker(gd_sectors, 2)
    gd_at = len(f) // SS
    f += pad(struct.pack("<%dI" % n_gts, *gd))
    if footer:
        f += marker(1, 3)
        f += kdmv_header(capacity, grain, gtes, 1 if descriptor else 0,
                         desc_size, 0, gd_at, overhead, flags, 3, 1)
        head_gd = 0xffffffffffffffff
    else:
        head_gd = gd_at
    f += bytes(SS)                          # end of stream
    f[0:SS] = kdmv_header(capacity, grain, gtes, 1 if descriptor else 0,
                          desc_size, 0, head_gd, overhead, flags, 3, 1)
    return bytes(f)


def cowd(capacity, grain, grains, n_gd=None):
    gtes = 4096
    n_gd = n_gd or -(-capacity // grain // gtes)
    gd_sector = 4
    base = gd_sector + -(-n_gd * 4 // SS)
    gt_sectors = gtes * 4 // SS
    gt = [0] * gtes
    body = bytearray(gt_sectors * SS)
    for gi in sorted(grains):
        gt[gi] = base + len(body) // SS
        body += grains[gi]
    struct.pack_into("<%dI" % gtes, body, 0, *gt)
    h = bytearray(2048)
    next_free = base + len(body) // SS
    struct.pack_into("<4sIIIIIII", h, 0, b"COWD", 1, 3, capacity, grain,
                     gd_sector, n_gd, next_free)
    gd = pad(struct.pack("<%dI" % n_gd, base, *([0] * (n_gd - 1))))
    return bytes(h) + gd + bytes(body)


def sesparse(capacity, grains, zero=(), unmapped=()):
    grain, gtes = 8, 4096
    n_gd = -(-capacity // (grain * gtes))
    gd_off, gd_size = 8, 1
    gt_off = gd_off + gd_size
    gt_size = n_gd * 64
    grains_off = gt_off + gt_size + 2
    gt = [0] * (n_gd * gtes)
    data = b""
    for gi in sorted(grains):
        cl = len(data) // (grain * SS)
        gt[gi] = (3 << 60) | ((cl & 0xfff) << 48) | (cl >> 12)
        data += grains[gi]
    for gi in zero:
        gt[gi] = 2 << 60
    for gi in unmapped:
        gt[gi] = 1 << 60
    const = bytearray(SS)
    struct.pack_into("<QQQQQQ", const, 0, 0xcafebabe, 0x0000000200000001,
                     capacity, grain, 64, 0)
    struct.pack_into("<" + "Q" * 16, const, 72, 0, 1, 1, 2, 1, 3, 1,
                     gd_off, gd_size, gt_off, gt_size, gt_off + gt_size, 1,
                     gt_off + gt_size + 1, 1, grains_off)
    struct.pack_into("<Q", const, 200, len(data) // SS)
    vol = pad(struct.pack("<QQQQ", 0xcafecafe, n_gd, 1, 0))
    gd = pad(struct.pack("<%dQ" % n_gd,
                         *[0x10000000 << 32 | i for i in range(n_gd)]))
    gts = struct.pack("<%dQ" % len(gt), *gt)
    return bytes(const) + vol + bytes(6 * SS) + gd + gts + bytes(2 * SS) + data


def run(*cmd):
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)


def embedded_descriptor(f):
    off, size = struct.unpack_from("<QQ", f, 28)
    return f[off * SS:(off + size) * SS].rstrip(b"\0")


# ---- crafted images ----
g4 = {0: grain_data(0, 4), 3: grain_data(3, 4), 9: grain_data(9, 4)}
mono = sparse(64, 4, 8, g4, desc("monolithicSparse", ['RW 64 SPARSE "disk.vmdk"']))
mono_zero = sparse(64, 4, 8, g4, desc("monolithicSparse",
                                      ['RW 64 SPARSE "disk.vmdk"']),
                   flags=0x7, version=2, zero=(5, 6))
bare = sparse(64, 4, 8, g4)                 # a split disk's extent
g1 = {i: grain_data(i, 1) for i in (0, 1, 7, 30)}
tiny = sparse(40, 1, 4, g1, desc("monolithicSparse", ['RW 40 SPARSE "x"']))
big_gt = sparse(2048, 128, 512, {2: grain_data(2, 128)},
                desc("monolithicSparse", ['RW 2048 SPARSE "disk.vmdk"']))
streamed = stream(64, 4, 8, g4, desc("streamOptimized",
                                     ['RW 64 SPARSE "disk.vmdk"']))
streamed_raw = stream(64, 4, 8, g4, desc("streamOptimized",
                                         ['RW 64 SPARSE "disk.vmdk"']),
                      raw_deflate=True)
streamed_nofooter = stream(64, 4, 8, g4, desc("streamOptimized",
                                              ['RW 64 SPARSE "disk.vmdk"']),
                           footer=False)
# A stream cut short after grains were appended past its footer.
streamed_cut = streamed + pad(struct.pack("<QI", 12 * 4, 20) + bytes(20))
streamed_short = stream(50, 4, 8, {12: grain_data(12, 4)[:2 * SS]},
                        desc("streamOptimized", ['RW 50 SPARSE "disk.vmdk"']))
cowd_delta = cowd(64, 2, {0: grain_data(0, 2), 5: grain_data(5, 2)})
ses = sesparse(128, {0: grain_data(0, 8), 3: grain_data(3, 8)},
               zero=(5,), unmapped=(6,))
flat = bytes(range(256)) * 2 * 64           # 64 sectors

for name, img in [("mono", mono), ("mono-zero-gte", mono_zero),
                  ("bare", bare), ("tiny-grains", tiny),
                  ("big-gt", big_gt), ("cowd", cowd_delta),
                  ("sesparse", ses)]:
    put("sparse", name, img)
for name, img in [("stream", streamed), ("stream-raw", streamed_raw),
                  ("stream-no-footer", streamed_nofooter),
                  ("stream-cut", streamed_cut),
                  ("stream-short", streamed_short)]:
    put("stream", name, img)
    put("sparse", name, img)

# Whole disks: the file opened, then the files it names.
disks = {
    "mono": [mono],
    "mono-zero-gte": [mono_zero],
    "tiny-grains": [tiny],
    "stream": [streamed],
    "stream-cut": [streamed_cut],
    "flat": [desc("monolithicFlat", ['RW 64 FLAT "f1.vmdk" 0']), flat],
    "split-flat": [desc("twoGbMaxExtentFlat",
                        ['RW 32 FLAT "f1.vmdk" 0', 'RW 32 FLAT "f2.vmdk" 0']),
                   flat[:32 * SS], flat[32 * SS:]],
    "split-sparse": [desc("twoGbMaxExtentSparse",
                          ['RW 64 SPARSE "f1.vmdk"', 'RW 64 SPARSE "f2.vmdk"']),
                     bare, bare],
    "zero-and-flat": [desc("custom", ['RW 16 ZERO', 'RW 48 VMFS "f1.vmdk"',
                                      'RDONLY 8 FLAT "f1.vmdk" 8']), flat],
    "chain-sparse": [desc("monolithicSparse", ['RW 64 SPARSE "f2.vmdk"'],
                          cid=0x22, parent_cid=0x11223344, parent="f1.vmdk"),
                     mono, sparse(64, 4, 8, {1: grain_data(1, 4)})],
    "vmfs-sparse": [desc("vmfsSparse", ['RW 64 VMFSSPARSE "f1.vmdk"'],
                         cid=0x33, parent_cid=0x11223344, parent="f2.vmdk"),
                    cowd_delta,
                    desc("vmfs", ['RW 64 VMFS "f3.vmdk"']), flat],
    "sesparse": [desc("seSparse", ['RW 128 SESPARSE "f1.vmdk"'],
                      cid=0x44, parent_cid=0x11223344, parent="f2.vmdk"),
                 ses, desc("vmfs", ['RW 128 VMFS "f3.vmdk"']), flat * 2],
}
for name, files in disks.items():
    put("disk", name, SEP.join(files))

# ---- descriptors ----
for name in ("monolithicFlat.vmdk", "twoGbMaxExtentFlat.vmdk",
             "twoGbMaxExtentSparse.vmdk", "vmfs_thick.vmdk",
             "vmfs_thick-000001.vmdk", "vdiskmanager-t4-vmfs/4.vmdk"):
    if os.path.exists(os.path.join(samples, name)):
        put("descriptor", os.path.basename(name), sample(name))
for name in ("streamOptimized.vmdk", "monolithicSparse.vmdk"):
    put("descriptor", "embedded-" + name, embedded_descriptor(sample(name)))
put("descriptor", "crafted-chain", disks["chain-sparse"][0])
put("descriptor", "crafted-mixed", disks["zero-and-flat"][0])
put("descriptor", "crafted-crlf",
    disks["sesparse"][0].replace(b"\n", b"\r\n"))

# ---- made by qemu-img and by this library ----
tmp = tempfile.mkdtemp()
try:
    if shutil.which("qemu-img"):
        for sub in ("monolithicSparse", "monolithicFlat", "streamOptimized",
                    "twoGbMaxExtentSparse", "twoGbMaxExtentFlat"):
            p = os.path.join(tmp, "q-%s.vmdk" % sub)
            run("qemu-img", "create", "-q", "-f", "vmdk", "-o",
                "subformat=" + sub, p, "1M")
            with open(p, "rb") as f:
                d = f.read()
            put("descriptor", "qemu-" + sub,
                embedded_descriptor(d) if d[:4] == b"KDMV" else d)
        p = os.path.join(tmp, "q-monolithicSparse.vmdk")
        run("qemu-io", "-f", "vmdk", "-c", "write -P 7 0 4k",
            "-c", "write -P 9 600k 1k", p)
        s = os.path.join(tmp, "q-stream.vmdk")
        run("qemu-img", "convert", "-O", "vmdk", "-o",
            "subformat=streamOptimized", p, s)
        for target in ("sparse", "disk"):
            put(target, "qemu-monolithicSparse", open(p, "rb").read())
        for target in ("stream", "disk"):
            put(target, "qemu-streamOptimized", open(s, "rb").read())
    if driver:
        for t, n in ((1, "monolithicSparse"), (2, "monolithicFlat"),
                     (6, "streamOptimized"), (5, "vmfs")):
            p = os.path.join(tmp, "l-%s.vmdk" % n)
            run(driver, "create", p, str(t), "2048")
            with open(p, "rb") as f:
                d = f.read()
            put("descriptor", "lib-" + n,
                embedded_descriptor(d) if d[:4] == b"KDMV" else d)
        p = os.path.join(tmp, "l-stream.vmdk")
        run(driver, "create", p, "6", "2048")
        run(driver, "write", p, "0", "8", "7")
        run(driver, "write", p, "700", "300", "9")
        for target in ("stream", "disk"):
            put(target, "lib-streamOptimized", open(p, "rb").read())
finally:
    shutil.rmtree(tmp)

put("stream", "vmware-streamOptimized", sample("streamOptimized.vmdk"))

# ---- SOAP sessions: options, then one reply per call ----
ENV = ('<?xml version="1.0" encoding="UTF-8"?>\n<soapenv:Envelope '
       'xmlns:soapenc="http://schemas.xmlsoap.org/soap/encoding/" '
       'xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" '
       'xmlns:xsd="http://www.w3.org/2001/XMLSchema" '
       'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">\n'
       '<soapenv:Body>%s</soapenv:Body></soapenv:Envelope>')


def reply(method, inner):
    return (ENV % ('<%sResponse xmlns="urn:vim25">%s</%sResponse>'
                   % (method, inner, method))).encode()


def fault(code, detail):
    return (ENV % ('<soapenv:Fault><faultcode>ServerFaultCode</faultcode>'
                   '<faultstring>%s</faultstring><detail>%s</detail>'
                   '</soapenv:Fault>' % (code, detail))).encode()


def props(objects, token=None, method="RetrievePropertiesEx"):
    objs = ""
    for obj_type, moref, plist in objects:
        objs += '<objects><obj type="%s">%s</obj>' % (obj_type, moref)
        for name, val in plist:
            objs += "<propSet><name>%s</name>%s</propSet>" % (name, val)
        objs += "</objects>"
    if token:
        objs += "<token>%s</token>" % token
    return reply(method, "<returnval>%s</returnval>" % objs)


service = reply("RetrieveServiceContent",
                '<returnval><rootFolder type="Folder">group-d1</rootFolder>'
                '<propertyCollector type="PropertyCollector">propertyCollector'
                '</propertyCollector><about><name>VMware vCenter Server</name>'
                '<apiVersion>7.0.3.0</apiVersion></about><sessionManager '
                'type="SessionManager">SessionManager</sessionManager>'
                '</returnval>')
login = reply("Login", "<returnval><key>52b7-fuzz</key><userName>root"
              "</userName></returnval>")
logout = reply("Logout", "")
snap_tree = ('<val xsi:type="VirtualMachineSnapshotInfo"><currentSnapshot '
             'type="VirtualMachineSnapshot">snapshot-2</currentSnapshot>'
             '<rootSnapshotList><snapshot type="VirtualMachineSnapshot">'
             'snapshot-1</snapshot><vm type="VirtualMachine">vm-16</vm><name>'
             'first</name><childSnapshotList><snapshot type='
             '"VirtualMachineSnapshot">snapshot-2</snapshot><name>second'
             '</name></childSnapshotList></rootSnapshotList></val>')
vm = props([("VirtualMachine", "vm-16",
             [("name", '<val xsi:type="xsd:string">fuzz-vm</val>'),
              ("snapshot", snap_tree)])])
devices = props([("VirtualMachine", "vm-16", [(
    "config.hardware.device",
    '<val xsi:type="ArrayOfVirtualDevice"><VirtualDevice xsi:type='
    '"VirtualIDEController"><key>200</key></VirtualDevice><VirtualDevice '
    'xsi:type="VirtualDisk"><key>2000</key><backing xsi:type='
    '"VirtualDiskFlatVer2BackingInfo"><fileName>[ds1] vm/vm-000001.vmdk'
    '</fileName><parent xsi:type="VirtualDiskFlatVer2BackingInfo"><fileName>'
    '[ds1] vm/vm.vmdk</fileName></parent></backing></VirtualDevice></val>')])])


def ref(t, v):
    return '<val type="%s" xsi:type="ManagedObjectReference">%s</val>' % (t, v)


def s(v):
    return '<val xsi:type="xsd:string">%s</val>' % v


walk_objects = [
    ("Folder", "group-d1", [("name", s("Datacenters"))]),
    ("Datacenter", "datacenter-2", [("name", s("DC0")),
                                    ("parent", ref("Folder", "group-d1"))]),
    ("Folder", "group-s5", [("name", s("datastore")),
                            ("parent", ref("Datacenter", "datacenter-2"))]),
    ("Datastore", "datastore-10",
     [("name", s("ds1")), ("parent", ref("Folder", "group-s5")),
      ("summary.url", s("ds:///vmfs/volumes/5f1e-uuid/"))]),
]
walk = props(walk_objects)
walk_page1 = props(walk_objects[:2], token="page-2")
walk_page2 = props(walk_objects[2:], method="ContinueRetrievePropertiesEx")
not_auth = fault("The session is not authenticated.",
                 '<NotAuthenticatedFault xmlns="urn:vim25" xsi:type='
                 '"NotAuthenticated"><object type="Folder">group-d1</object>'
                 '<privilegeId>System.View</privilegeId>'
                 '</NotAuthenticatedFault>')
bad_login = fault("Cannot complete login due to an incorrect user name or "
                  "password.", '<InvalidLoginFault xmlns="urn:vim25" '
                  'xsi:type="InvalidLogin"></InvalidLoginFault>')
vcsim_not_auth = props([("VirtualMachine", "vm-16", [])]).replace(
    b"</objects>", b'<missingSet><path>name</path><fault><fault xsi:type='
    b'"NotAuthenticated"></fault><localizedMessage></localizedMessage>'
    b'</fault></missingSet></objects>')
not_found = fault("The object has already been deleted or has not been "
                  "completely created", '<ManagedObjectNotFoundFault '
                  'xmlns="urn:vim25" xsi:type="ManagedObjectNotFound">'
                  '<obj type="VirtualMachine">vm-16</obj>'
                  '</ManagedObjectNotFoundFault>')
# The one call at connect: the VM with its disks and datastores, the
# snapshot's disks, and the datastores up to the root folder.
disk_backing = (
    '<VirtualDevice xsi:type="VirtualDisk"><key>2000</key><backing '
    'xsi:type="VirtualDiskFlatVer2BackingInfo"><fileName>%s</fileName>'
    '<datastore type="Datastore">datastore-10</datastore><parent xsi:type='
    '"VirtualDiskFlatVer2BackingInfo"><fileName>[ds1] vm/vm.vmdk</fileName>'
    '<datastore type="Datastore">datastore-10</datastore></parent>'
    '</backing></VirtualDevice>')
one_call = props([
    ("VirtualMachine", "vm-16",
     [("name", s("fuzz-vm")), ("snapshot", snap_tree),
      ("runtime.powerState",
       '<val xsi:type="VirtualMachinePowerState">poweredOff</val>'),
      ("datastore", '<val xsi:type="ArrayOfManagedObjectReference">'
       '<ManagedObjectReference type="Datastore">datastore-10'
       '</ManagedObjectReference></val>'),
      ("config.hardware.device", '<val xsi:type="ArrayOfVirtualDevice">%s'
       '</val>' % (disk_backing % "[ds1] vm/vm-000002.vmdk"))]),
    ("VirtualMachineSnapshot", "snapshot-2",
     [("config.hardware.device", '<val xsi:type="ArrayOfVirtualDevice">%s'
       '</val>' % (disk_backing % "[ds1] vm/vm-000001.vmdk"))]),
] + walk_objects)
# Changed block tracking on, the disk 1 GiB: which areas of its base are
# in use, in two answers (as a client must loop).
GIB = 1 << 30
cbt_disk = disk_backing.replace(
    "<key>2000</key>", "<key>2000</key><capacityInBytes>%d</capacityInBytes>"
    % GIB) % "[ds1] vm/vm-000002.vmdk"
cbt_call = props([
    ("VirtualMachine", "vm-16",
     [("name", s("fuzz-vm")), ("snapshot", snap_tree),
      ("runtime.powerState",
       '<val xsi:type="VirtualMachinePowerState">poweredOff</val>'),
      ("config.changeTrackingEnabled", '<val xsi:type="xsd:boolean">true'
       '</val>'),
      ("datastore", '<val xsi:type="ArrayOfManagedObjectReference">'
       '<ManagedObjectReference type="Datastore">datastore-10'
       '</ManagedObjectReference></val>'),
      ("config.hardware.device", '<val xsi:type="ArrayOfVirtualDevice">%s'
       '</val>' % cbt_disk)]),
] + walk_objects)


def changed(start, length, areas):
    return reply("QueryChangedDiskAreas",
                 '<returnval><startOffset>%d</startOffset><length>%d</length>'
                 '%s</returnval>' % (start, length, "".join(
                     '<changedArea><start>%d</start><length>%d</length>'
                     '</changedArea>' % a for a in areas)))


refused = fault("A specified parameter was not correct: ",
                '<InvalidArgumentFault xmlns="urn:vim25" xsi:type='
                '"InvalidArgument"></InvalidArgumentFault>')
sessions = {
    "one-call": [b"", service, login, one_call, logout],
    "one-call-snapshot": [b"s", service, login, one_call, logout],
    "one-call-vmfs-path": [b"v", service, login, one_call, logout],
    "one-call-refused": [b"s", service, login, refused, vm, devices, walk,
                         logout],
    "areas": [b"a", service, login, cbt_call,
              changed(0, GIB // 2, [(0, 1 << 20), (40 << 20, 2 << 20)]),
              changed(GIB // 2, GIB // 2, [(GIB - 65536, 65536)]), logout],
    "areas-refused": [b"a", service, login, cbt_call,
                      fault("Error caused by file [ds1] vm/vm.vmdk",
                            '<FileFaultFault xmlns="urn:vim25" xsi:type='
                            '"FileFault"><file>[ds1] vm/vm.vmdk</file>'
                            '</FileFaultFault>'), logout],
    "plain": [b"", service, login, vm, devices, walk, logout],
    "snapshot": [b"s", service, login, vm, devices, walk, logout],
    "cookie": [b"c", service, vm, devices, walk_page1, walk_page2],
    "vmfs-path": [b"v", service, login, vm, walk, devices, logout],
    "relogin": [b"", service, login, not_auth, login, vm, devices,
                b"drop", walk, logout],
    "vcsim-relogin": [b"s", service, login, vcsim_not_auth, login, vm,
                      devices, walk, logout],
    "bad-login": [b"", service, bad_login],
    "vm-not-found": [b"", service, login, not_found, logout],
    "http-500": [b"", service, b"status 500\n" + not_auth],
}
for name, parts in sessions.items():
    put("soap", name, SEP.join(parts))
