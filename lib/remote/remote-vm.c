/* SPDX-License-Identifier: BSD-3-Clause */
/* Which disks may be opened: those of the VM named at connect (or of
 * its snapshot), with every file of their backing chains.  This keeps a
 * connection for one VM from reading other VMs' files by name. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "remote-internal.h"
#include "remote-xml.h"

/* A growing ", "-separated list for messages. */
struct list {
  char *text;
  size_t len;
  bool oom;
};

static void
list_add (struct list *l, const char *item, const char *note)
{
  char *n;
  size_t add = strlen (item) + (note ? strlen (note) + 3 : 0) + 2;

  if (l->oom || !(n = realloc (l->text, l->len + add + 1))) {
    l->oom = true;
    return;
  }
  l->text = n;
  l->len += snprintf (n + l->len, add + 1, "%s%s%s%s%s",
                      l->len ? ", " : "", item, note ? " (" : "",
                      note ? note : "", note ? ")" : "");
}

struct vm_props {
  char *name;
  struct list snapshots;        /* "snapshot-69 (name)", ... */
  bool snapshot_found;
  bool powered_on;
  const char *want;             /* the snapshot asked for */
};

/* Walk a VirtualMachineSnapshotTree list. */
static void
walk_snapshots (xmlNode *tree, struct vm_props *v)
{
  xmlNode *t;
  char *moref, *name;

  for (t = tree; t; t = vdl_xml_next (t, VDL_NS_VIM, NULL)) {
    if (!vdl_xml_is (t, VDL_NS_VIM, "rootSnapshotList") &&
        !vdl_xml_is (t, VDL_NS_VIM, "childSnapshotList"))
      continue;
    moref = vdl_xml_vim_text (t, "snapshot");
    name = vdl_xml_vim_text (t, "name");
    if (moref) {
      if (v->want && strcmp (moref, v->want) == 0)
        v->snapshot_found = true;
      list_add (&v->snapshots, moref, name);
    }
    free (moref);
    free (name);
    walk_snapshots (vdl_xml_child (t, VDL_NS_VIM, "childSnapshotList"), v);
  }
}

static VixError
vm_object (void *ctx, xmlNode *object)
{
  struct vm_props *v = ctx;
  xmlNode *info = vdl_remote_prop (object, "snapshot");
  char *power = vdl_xml_text (vdl_remote_prop (object, "runtime.powerState"));

  v->powered_on = power && strcmp (power, "poweredOn") == 0;
  free (power);
  free (v->name);
  v->name = vdl_xml_text (vdl_remote_prop (object, "name"));
  if (info)
    walk_snapshots (vdl_xml_element (info), v);
  return VIX_OK;
}

VixError
vdl_remote_check_vm (struct vdl_remote *r)
{
  struct vm_props v = { .want = r->snapshot };
  char fault[VDL_FAULT_LEN], *vm = vdl_xml_escape (r->vm), *spec = NULL;
  VixError err;

  if (!vm || asprintf (&spec, "<propSet><type>VirtualMachine</type>"
                       "<pathSet>name</pathSet><pathSet>snapshot</pathSet>"
                       "<pathSet>runtime.powerState</pathSet>"
                       "</propSet><objectSet><obj type=\"VirtualMachine\">"
                       "%s</obj><skip>false</skip></objectSet>", vm) < 0) {
    free (vm);
    return vdl_oom ();
  }
  err = vdl_remote_retrieve (r, spec, vm_object, &v, fault);
  if (err != VIX_OK && strcmp (fault, "ManagedObjectNotFound") == 0)
    err = vdl_error (VIX_E_OBJECT_NOT_FOUND, "VM %s not found on %s",
                     r->vm, r->host);
  else if (err == VIX_OK && !v.name)
    err = vdl_error (VIX_E_OBJECT_NOT_FOUND, "VM %s not found on %s (or "
                     "its name cannot be read)", r->vm, r->host);
  else if (err == VIX_OK && r->snapshot && !v.snapshot_found)
    err = vdl_error (VIX_E_OBJECT_NOT_FOUND,
                     "snapshot %s is not a snapshot of VM %s (%s) on %s; "
                     "its snapshots: %s", r->snapshot, r->vm, v.name,
                     r->host, v.snapshots.text ? v.snapshots.text : "none");
  if (err == VIX_OK) {
    r->vm_name = v.name;
    r->powered_on = v.powered_on;
    v.name = NULL;
  }
  free (v.name);
  free (v.snapshots.text);
  free (spec);
  free (vm);
  return err;
}

struct disks {
  const char *want;
  bool found;
  struct list all;
};

/* A VirtualDisk's backing and the parents of its backing chain. */
static void
walk_backing (xmlNode *backing, struct disks *d, bool top)
{
  char *file;

  for (; backing; backing = vdl_xml_child (backing, VDL_NS_VIM, "parent")) {
    file = vdl_xml_vim_text (backing, "fileName");
    if (file) {
      if (strcmp (file, d->want) == 0)
        d->found = true;
      list_add (&d->all, file, top ? NULL : "parent");
    }
    free (file);
    top = false;
  }
}

static VixError
devices_object (void *ctx, xmlNode *object)
{
  struct disks *d = ctx;
  xmlNode *dev;
  char type[64];

  for (dev = vdl_xml_element (vdl_remote_prop (object,
                                               "config.hardware.device"));
       dev; dev = vdl_xml_next (dev, VDL_NS_VIM, NULL)) {
    vdl_xml_type (dev, type, sizeof type);
    if (strcmp (type, "VirtualDisk") == 0)
      walk_backing (vdl_xml_child (dev, VDL_NS_VIM, "backing"), d, true);
  }
  return VIX_OK;
}

VixError
vdl_remote_check_disk (struct vdl_remote *r, const char *name)
{
  const char *type = r->snapshot ? "VirtualMachineSnapshot" : "VirtualMachine";
  char *obj = vdl_xml_escape (r->snapshot ? r->snapshot : r->vm);
  char *spec = NULL, *resolved = NULL, of[256];
  struct disks d = { 0 };
  VixError err;

  err = vdl_remote_resolve (r, name, &resolved);
  if (err != VIX_OK) {
    free (obj);
    return err;
  }
  d.want = resolved;
  if (!obj || asprintf (&spec, "<propSet><type>%s</type><pathSet>"
                        "config.hardware.device</pathSet></propSet>"
                        "<objectSet><obj type=\"%s\">%s</obj><skip>false"
                        "</skip></objectSet>", type, type, obj) < 0) {
    free (obj);
    free (resolved);
    return vdl_oom ();
  }
  err = vdl_remote_retrieve (r, spec, devices_object, &d, NULL);
  if (r->snapshot)
    snprintf (of, sizeof of, "snapshot %s of VM %s (%s)", r->snapshot,
              r->vm, r->vm_name);
  else
    snprintf (of, sizeof of, "VM %s (%s)", r->vm, r->vm_name);
  if (err == VIX_OK && d.all.oom)
    err = vdl_oom ();
  else if (err == VIX_OK && !d.found)
    err = vdl_error (VIX_E_FILE_NOT_FOUND,
                     "%s is not a disk of %s on %s; %s%s", resolved, of,
                     r->host, d.all.text ? "its disks: " : "it has no disks",
                     d.all.text ? d.all.text : "");
  free (d.all.text);
  free (spec);
  free (resolved);
  free (obj);
  return err;
}
