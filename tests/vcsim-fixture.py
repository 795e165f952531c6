#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""Test fixtures on a running vcsim (govmomi's vSphere simulator), with
pyvmomi.  Used by tests/remote-functions.sh; not part of the project's
code.  The server is taken from the environment that start_vcsim exports:

  VCSIM_URL          https://127.0.0.1:PORT/sdk
  VCSIM_THUMBPRINT   SHA-1 thumbprint: the TLS connection is pinned to it
  VCSIM_USER, VCSIM_PASSWORD

Subcommands (errors go to stderr with exit status 1, nothing on stdout):

  env [EXPECTED-VM-NAME]
      shell assignments VCSIM_DC, VCSIM_DC_MOREF, VCSIM_DS, VCSIM_DS_DIR,
      VCSIM_DS_URL, VCSIM_API (VirtualCenter/HostAgent), VCSIM_VM,
      VCSIM_VM_NAME (the VM named EXPECTED-VM-NAME, else the first one)
  vms                           "moref<TAB>name" of every VM
  dsdir DATASTORE [VM]          the local directory holding a datastore
                                (with VM: the one of that name on the VM's
                                host; names repeat across datacenters)
  attach [--replace OLD] VM FILE CAPACITY [PARENT...]
      make the datastore file FILE ("[ds] dir/f.vmdk") a VirtualDisk
      backing of VM, with the parent chain PARENT... (nearest first) and
      CAPACITY bytes: edits the disk backed by OLD (--replace; this is
      what ESXi does to a disk when it takes a snapshot: same device,
      new delta file whose parent is OLD) or by FILE, else adds a disk
      on the controller of the VM's first disk.  Every "[ds]" is the
      datastore of that name on the VM's host, set as the backing's
      datastore (as a real server reports it)
  snapshot VM NAME              create a snapshot, print its moref
  login USER PASSWORD           print a vmware_soap_session cookie value
                                (the session is left logged in)
  logout COOKIE                 end that session
  session COOKIE                print the user name of that session; fails
                                (NotAuthenticated) if it is not logged in
  sessions                      "key<TAB>userName" of every session the
                                server has (on vcsim a session's key is
                                its vmware_soap_session cookie value)
  datastores                    "moref<TAB>name<TAB>info.url" of every
                                datastore each Datacenter lists (fails on
                                a moref that does not exist)
  power VM on|off               power the VM on or off (PowerOnVM_Task,
                                PowerOffVM_Task); nothing if it already is
  disks VM [--snapshot SNAP] [--chain] [--long] [--key]
      backing fileNames of the VM's (or snapshot's) disks, one a line;
      --chain appends each parent's fileName (TAB separated), --long
      prefixes the capacity in bytes, --key the device key (before the
      capacity; TAB separated)
  cbt VM on|off                 turn changed block tracking on or off
                                (ReconfigVM_Task, changeTrackingEnabled)
                                and check config.changeTrackingEnabled
  changed-areas VM DEVICEKEY [--snapshot SNAP] [--start N] [--change-id ID]
      QueryChangedDiskAreas (changeId "*" unless --change-id) on the disk
      of that key, of the VM (or of its snapshot SNAP): "START LENGTH" of
      each area, one a line, as answered.  Calls again from startOffset +
      length of each answer until the disk's capacity is covered, as a
      client must; with --start, one call at N.  Each answer's window goes
      to stderr ("answer START LENGTH AREAS").  VM and SNAP are passed as
      morefs without looking them up, so a fault is the server's
"""

import os
import re
import ssl
import sys
import time
from urllib.parse import urlsplit

from pyVim.connect import SmartConnect, Disconnect
from pyVmomi import vim, vmodl, SoapStubAdapter

PROG = "vcsim-fixture"


class Fail(Exception):
    pass


def ssl_context():
    # The certificate is self-signed, as on a real ESXi host: no CA check;
    # pyvmomi checks the SHA-1 thumbprint instead (thumbprint= below).
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


def server():
    url = os.environ.get("VCSIM_URL")
    if not url:
        raise Fail("VCSIM_URL is not set (call start_vcsim first)")
    u = urlsplit(url)
    thumb = os.environ.get("VCSIM_THUMBPRINT") or None
    return u.hostname, u.port or 443, thumb


def connect(user=None, password=None):
    host, port, thumb = server()
    if user is None:
        user = os.environ.get("VCSIM_USER", "root")
        password = os.environ.get("VCSIM_PASSWORD", "vcsim")
    return SmartConnect(host=host, port=port, user=user, pwd=password,
                        sslContext=ssl_context(), thumbprint=thumb)


def cookie_value(stub):
    # pyvmomi keeps the Set-Cookie text: 'vmware_soap_session="X"; Path=/..'
    m = re.search(r'vmware_soap_session="?([^";]+)"?', stub.cookie or "")
    if not m:
        raise Fail("no vmware_soap_session cookie in the login reply: %r"
                   % stub.cookie)
    return m.group(1)


def wait_task(task, what):
    for _ in range(600):
        state = task.info.state
        if state == vim.TaskInfo.State.success:
            return task.info.result
        if state == vim.TaskInfo.State.error:
            raise Fail("%s: %s" % (what, fault_text(task.info.error)))
        time.sleep(0.05)
    raise Fail("%s: task %s did not finish in 30 s" % (what, task._moId))


def fault_text(e):
    name = type(e).__name__.split(".")[-1]
    parts = [name]
    msg = getattr(e, "msg", None) or getattr(e, "localizedMessage", None)
    if msg:
        parts.append(str(msg))
    for attr in ("file", "obj", "name", "property"):
        v = getattr(e, attr, None)
        if v:
            parts.append("%s=%s" % (attr, getattr(v, "_moId", v)))
    return ": ".join(parts)


def content(si):
    return si.RetrieveContent()


def all_of(si, kind, root=None):
    c = content(si)
    view = c.viewManager.CreateContainerView(root or c.rootFolder, [kind], True)
    try:
        return list(view.view)
    finally:
        view.Destroy()


def get_vm(si, moref):
    for vm in all_of(si, vim.VirtualMachine):
        if vm._moId == moref:
            return vm
    raise Fail("no VM with moref %s (VMs: %s)" % (
        moref, ", ".join(v._moId for v in all_of(si, vim.VirtualMachine))))


def get_snapshot(vm, moref):
    def walk(trees):
        for t in trees or []:
            if t.snapshot._moId == moref:
                return t.snapshot
            s = walk(t.childSnapshotList)
            if s is not None:
                return s
    s = walk(vm.snapshot.rootSnapshotList if vm.snapshot else [])
    if s is None:
        raise Fail("VM %s has no snapshot %s" % (vm._moId, moref))
    return s


def datastores(si):
    # Not Datacenter.datastore: in the ESX model it also lists a moref from
    # the captured template that does not exist (ManagedObjectNotFound).
    return all_of(si, vim.Datastore)


def vm_datastores(vm):
    # The datastores the VM can use: its host's (names are unique there,
    # not across datacenters).
    return list(vm.runtime.host.datastore) if vm.runtime.host else []


def find_ds(si, name, vm=None):
    for ds in (vm_datastores(vm) if vm else datastores(si)):
        if ds.name == name:
            return ds
    return None


def ds_dir(si, name, vm=None):
    for ds in (vm_datastores(vm) if vm else datastores(si)):
        if ds.name == name:
            d = ds.info.url
            if not os.path.isdir(d):
                raise Fail("datastore %s: info.url %s is not a local directory"
                           % (name, d))
            return d
    raise Fail("no datastore named %r (have: %s)" % (
        name, ", ".join(d.name for d in datastores(si))))


def split_ds_path(name):
    m = re.match(r"^\[([^\]]+)\] (.+)$", name)
    if not m:
        raise Fail('%r is not a datastore path "[ds] dir/file.vmdk"' % name)
    return m.group(1), m.group(2)


def local_path(si, name, vm=None):
    ds, rel = split_ds_path(name)
    return os.path.join(ds_dir(si, ds, vm), rel)


def disks_of(devices):
    return [d for d in devices if isinstance(d, vim.vm.device.VirtualDisk)]


# ---------------------------------------------------------------- commands

def cmd_env(si, expected=None):
    c = content(si)
    dcs = all_of(si, vim.Datacenter)
    if not dcs:
        raise Fail("no datacenter")
    dc = dcs[0]
    dss = datastores(si)
    if not dss:
        raise Fail("no datastore")
    ds = dss[0]
    vms = sorted(all_of(si, vim.VirtualMachine),
                 key=lambda v: int(re.sub(r"\D", "", v._moId) or 0))
    if not vms:
        raise Fail("no VM")
    vm = next((v for v in vms if v.name == expected), vms[0])
    out = {
        "VCSIM_API": c.about.apiType,
        "VCSIM_DC": dc.name,
        "VCSIM_DC_MOREF": dc._moId,
        "VCSIM_DS": ds.name,
        "VCSIM_DS_DIR": ds.info.url,
        "VCSIM_DS_URL": ds.summary.url,
        "VCSIM_VM": vm._moId,
        "VCSIM_VM_NAME": vm.name,
    }
    for k, v in out.items():
        print("%s=%s" % (k, shq(v)))


def shq(s):
    return "'" + str(s).replace("'", "'\\''") + "'"


def cmd_vms(si):
    for vm in all_of(si, vim.VirtualMachine):
        print("%s\t%s" % (vm._moId, vm.name))


def cmd_dsdir(si, name, vmref=None):
    print(ds_dir(si, name, get_vm(si, vmref) if vmref else None))


def cmd_attach(si, *args):
    replace = None
    if args and args[0] == "--replace":
        if len(args) < 5:
            raise Fail("usage: attach [--replace OLD] VM FILE CAPACITY [PARENT...]")
        replace, args = args[1], args[2:]
    if len(args) < 3:
        raise Fail("usage: attach [--replace OLD] VM FILE CAPACITY [PARENT...]")
    vmref, name, capacity, parents = args[0], args[1], args[2], tuple(args[3:])
    try:
        capacity = int(capacity)
    except ValueError:
        raise Fail("capacity %r is not a number of bytes" % capacity)
    if capacity <= 0:
        raise Fail("capacity must be positive")
    vm = get_vm(si, vmref)
    for f in (name,) + parents:
        p = local_path(si, f, vm)
        if not os.path.isfile(p):
            raise Fail("%s: no such file on the datastore (%s); upload it "
                       "first with vcsim_put" % (f, p))
    # The simulator's existence check for a disk backing (vdmCreateVirtualDisk
    # without fileOperation) stats "<name>-flat.vmdk" (the first ".vmdk" of
    # the local path replaced), never the descriptor itself: a single-file
    # disk (sparse, streamOptimized, a delta) needs an empty placeholder.
    top = local_path(si, name, vm)
    flat = top.replace(".vmdk", "-flat.vmdk", 1)
    if flat != top and not os.path.exists(flat):
        open(flat, "wb").close()

    def backing(fname):
        return vim.vm.device.VirtualDisk.FlatVer2BackingInfo(
            fileName=fname, diskMode="persistent",
            datastore=find_ds(si, split_ds_path(fname)[0], vm))

    b = top_backing = backing(name)
    for p in parents:
        b.parent = backing(p)
        b = b.parent

    devices = vm.config.hardware.device
    disks = disks_of(devices)
    same = [d for d in disks if d.backing.fileName == (replace or name)]
    if replace and not same:
        raise Fail("VM %s has no disk backed by %s (disks: %s)" % (
            vmref, replace, ", ".join(d.backing.fileName for d in disks)))
    if replace and [d for d in disks if d.backing.fileName == name]:
        raise Fail("VM %s already has a disk backed by %s" % (vmref, name))
    if same:
        disk = same[0]
        op = vim.vm.device.VirtualDeviceSpec.Operation.edit
        top_backing.datastore = disk.backing.datastore
        disk.backing = top_backing
    else:
        if disks:
            ckey = disks[0].controllerKey
        else:
            ctl = [d for d in devices
                   if isinstance(d, vim.vm.device.VirtualSCSIController)]
            if not ctl:
                raise Fail("VM %s has neither a disk nor a SCSI controller"
                           % vmref)
            ckey = ctl[0].key
        used = {d.unitNumber for d in devices
                if d.controllerKey == ckey and d.unitNumber is not None}
        free = [u for u in range(16) if u != 7 and u not in used]
        if not free:
            raise Fail("VM %s: controller %d has no free unit" % (vmref, ckey))
        disk = vim.vm.device.VirtualDisk(key=-1, controllerKey=ckey,
                                         unitNumber=free[0],
                                         backing=top_backing)
        op = vim.vm.device.VirtualDeviceSpec.Operation.add
    disk.capacityInKB = capacity // 1024
    disk.capacityInBytes = capacity
    spec = vim.vm.ConfigSpec(deviceChange=[
        vim.vm.device.VirtualDeviceSpec(operation=op, device=disk)])
    wait_task(vm.ReconfigVM_Task(spec=spec),
              "attaching %s to %s" % (name, vmref))
    # Check the result rather than trust the task.
    got = [d for d in disks_of(vm.config.hardware.device)
           if d.backing.fileName == name]
    if len(got) != 1:
        raise Fail("after ReconfigVM_Task, VM %s has %d disks backed by %s"
                   % (vmref, len(got), name))
    chain, b = [], got[0].backing.parent
    while b is not None:
        chain.append(b.fileName)
        b = b.parent
    if chain != list(parents):
        raise Fail("VM %s: disk %s has parent chain %r, wanted %r"
                   % (vmref, name, chain, list(parents)))


def cmd_snapshot(si, vmref, name):
    vm = get_vm(si, vmref)
    snap = wait_task(vm.CreateSnapshot_Task(name=name, description="",
                                            memory=False, quiesce=False),
                     "snapshot %s of %s" % (name, vmref))
    print(snap._moId)


def cmd_disks(si, vmref, *opts):
    opts = list(opts)
    chain = "--chain" in opts
    long_ = "--long" in opts
    key = "--key" in opts
    snap = None
    if "--snapshot" in opts:
        i = opts.index("--snapshot")
        if i + 1 >= len(opts):
            raise Fail("--snapshot needs a moref")
        snap = opts[i + 1]
        del opts[i:i + 2]
    bad = [o for o in opts if o not in ("--chain", "--long", "--key")]
    if bad:
        raise Fail("unknown option %s" % bad[0])
    vm = get_vm(si, vmref)
    config = get_snapshot(vm, snap).config if snap else vm.config
    for d in disks_of(config.hardware.device):
        cols = [d.backing.fileName]
        if chain:
            b = d.backing.parent
            while b is not None:
                cols.append(b.fileName)
                b = b.parent
        if long_:
            cap = d.capacityInBytes or (d.capacityInKB or 0) * 1024
            cols.insert(0, str(cap))
        if key:
            cols.insert(0, str(d.key))
        print("\t".join(cols))


def cmd_cbt(si, vmref, state):
    if state not in ("on", "off"):
        raise Fail("cbt: on or off, not %s" % state)
    vm = get_vm(si, vmref)
    spec = vim.vm.ConfigSpec(changeTrackingEnabled=(state == "on"))
    wait_task(vm.ReconfigVM_Task(spec=spec),
              "turning change tracking %s on %s" % (state, vmref))
    if bool(vm.config.changeTrackingEnabled) != (state == "on"):
        raise Fail("VM %s: config.changeTrackingEnabled is %r after "
                   "ReconfigVM_Task" % (vmref, vm.config.changeTrackingEnabled))


def cmd_changed_areas(si, vmref, devkey, *opts):
    opts = list(opts)
    got = {}
    for name in ("--snapshot", "--start", "--change-id"):
        if name in opts:
            i = opts.index(name)
            if i + 1 >= len(opts):
                raise Fail("%s needs a value" % name)
            got[name] = opts[i + 1]
            del opts[i:i + 2]
    if opts:
        raise Fail("unknown option %s" % opts[0])
    try:
        devkey = int(devkey)
        start = int(got.get("--start", 0))
    except ValueError:
        raise Fail("the device key and --start are numbers")
    change_id = got.get("--change-id", "*")
    # Morefs as given: an unknown VM or snapshot is the server's fault.
    vm = vim.VirtualMachine(vmref, si._stub)
    snap = got.get("--snapshot")
    snap = vim.vm.Snapshot(snap, si._stub) if snap else None

    lines = []

    def ask(offset):
        info = vm.QueryChangedDiskAreas(snapshot=snap, deviceKey=devkey,
                                        startOffset=offset, changeId=change_id)
        areas = info.changedArea or []
        sys.stderr.write("answer %d %d %d\n"
                         % (info.startOffset, info.length, len(areas)))
        lines.extend("%d %d" % (a.start, a.length) for a in areas)
        if info.startOffset != offset or info.length <= 0:
            raise Fail("the answer for %d covers [%d, +%d)"
                       % (offset, info.startOffset, info.length))
        return info.startOffset + info.length

    offset = ask(start)
    if "--start" not in got:
        # The first answer proved the disk is there: its capacity tells
        # when the whole disk is covered.
        config = snap.config if snap else vm.config
        caps = [d.capacityInBytes or (d.capacityInKB or 0) * 1024
                for d in disks_of(config.hardware.device) if d.key == devkey]
        if len(caps) != 1:
            raise Fail("the server answered for disk %d, which %s does not "
                       "have" % (devkey, (snap or vm)._moId))
        while offset < caps[0]:
            offset = ask(offset)
    for line in lines:
        print(line)


def cmd_power(si, vmref, state):
    vm = get_vm(si, vmref)
    if state not in ("on", "off"):
        raise Fail("power: on or off, not %s" % state)
    want = "poweredOn" if state == "on" else "poweredOff"
    if vm.runtime.powerState != want:
        task = vm.PowerOnVM_Task() if state == "on" else vm.PowerOffVM_Task()
        wait_task(task, "powering %s %s" % (state, vmref))


def cookie_si(cookie):
    host, port, thumb = server()
    stub = SoapStubAdapter(host=host, port=port, version="vim.version.version9",
                           sslContext=ssl_context(), thumbprint=thumb)
    stub.cookie = 'vmware_soap_session="%s"' % cookie
    return vim.ServiceInstance("ServiceInstance", stub)


def cmd_logout(cookie):
    cookie_si(cookie).RetrieveContent().sessionManager.Logout()


def cmd_session(cookie):
    s = cookie_si(cookie).RetrieveContent().sessionManager.currentSession
    if s is None:
        raise Fail("the session is not logged in")
    print(s.userName)


def cmd_sessions(si):
    for s in content(si).sessionManager.sessionList or []:
        print("%s\t%s" % (s.key, s.userName))


def cmd_datastores(si):
    for dc in all_of(si, vim.Datacenter):
        for ds in dc.datastore:
            print("%s\t%s\t%s" % (ds._moId, ds.name, ds.info.url))


def main(argv):
    if len(argv) < 2:
        sys.stderr.write(__doc__)
        return 2
    cmd, args = argv[1], argv[2:]
    nargs = {"env": (0, 1), "vms": (0, 0), "dsdir": (1, 2),
             "attach": (3, 99), "snapshot": (2, 2), "login": (2, 2),
             "logout": (1, 1), "session": (1, 1), "sessions": (0, 0),
             "datastores": (0, 0), "power": (2, 2),
             "disks": (1, 6), "cbt": (2, 2), "changed-areas": (2, 8)}
    if cmd not in nargs:
        sys.stderr.write("%s: unknown subcommand %s\n" % (PROG, cmd))
        return 2
    lo, hi = nargs[cmd]
    if not lo <= len(args) <= hi:
        sys.stderr.write("%s %s: wrong number of arguments\n" % (PROG, cmd))
        return 2
    try:
        if cmd == "login":
            si = connect(args[0], args[1])
            print(cookie_value(si._stub))
            return 0          # no Disconnect: the session must stay valid
        if cmd in ("logout", "session"):
            globals()["cmd_" + cmd](args[0])
            return 0
        si = connect()
        try:
            globals()["cmd_" + cmd.replace("-", "_")](si, *args)
        finally:
            Disconnect(si)
        return 0
    except Fail as e:
        sys.stderr.write("%s %s: %s\n" % (PROG, cmd, e))
    except vmodl.MethodFault as e:
        sys.stderr.write("%s %s: %s\n" % (PROG, cmd, fault_text(e)))
    except (OSError, ssl.SSLError) as e:
        sys.stderr.write("%s %s: %s: %s\n" % (PROG, cmd, type(e).__name__, e))
    except Exception as e:   # pyvmomi's ThumbprintMismatchException etc.
        sys.stderr.write("%s %s: %s: %s\n" % (PROG, cmd, type(e).__name__, e))
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
