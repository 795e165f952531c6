/* SPDX-License-Identifier: BSD-3-Clause */
/* What the VM and its snapshot say, read from their <objects>: the VM's
 * name, snapshots and power state (checked by remote-vm.c), and which
 * datastores they use: the datastore moref of each disk backing and of
 * each parent in its chain, and the VM's datastore list.  Datastore
 * names repeat across datacenters, so a "[name] path" is only ever
 * looked up among these.  The backings also say which files may be
 * opened (remote-vm.c), and of which disk device (key, capacity) they
 * are, for QueryChangedDiskAreas (remote-areas.c). */
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "remote-internal.h"
#include "remote-xml.h"

void
vdl_list_add (struct vdl_list *l, const char *item, const char *note)
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

/* Walk a VirtualMachineSnapshotTree list. */
static void
walk_snapshots (xmlNode *tree, struct vdl_vm_state *st)
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
      if (st->want && strcmp (moref, st->want) == 0)
        st->snapshot_found = true;
      vdl_list_add (&st->snapshots, moref, name);
    }
    free (moref);
    free (name);
    walk_snapshots (vdl_xml_child (t, VDL_NS_VIM, "childSnapshotList"), st);
  }
}

void
vdl_vm_state_add (struct vdl_vm_state *st, xmlNode *object)
{
  xmlNode *info = vdl_remote_prop (object, "snapshot");
  char *power = vdl_xml_text (vdl_remote_prop (object, "runtime.powerState"));

  char *cbt = vdl_xml_text (vdl_remote_prop (object,
                                             "config.changeTrackingEnabled"));

  st->powered_on = power && strcmp (power, "poweredOn") == 0;
  st->change_tracking = cbt && strcmp (cbt, "true") == 0;
  free (power);
  free (cbt);
  free (st->name);
  st->name = vdl_xml_text (vdl_remote_prop (object, "name"));
  if (info)
    walk_snapshots (vdl_xml_element (info), st);
}

static void
add_ds (struct vdl_vm_datastores *v, const char *moref)
{
  char **n;
  size_t i;

  if (!moref || !moref[0])
    return;
  for (i = 0; i < v->nds; i++)
    if (strcmp (v->ds[i], moref) == 0)
      return;
  if (!(n = realloc (v->ds, (v->nds + 1) * sizeof *n)) ||
      !(n[v->nds] = strdup (moref))) {
    if (n)
      v->ds = n;
    v->oom = true;
    return;
  }
  v->ds = n;
  v->nds++;
}

/* What a backing's VirtualDisk says of itself. */
struct device {
  int key;
  uint64_t capacity;
};

/* Takes file and ds (which may be NULL: the server did not say). */
static void
add_backing (struct vdl_vm_datastores *v, char *file, char *ds,
             bool of_snapshot, bool parent, const struct device *d)
{
  struct vdl_backing *n = realloc (v->b, (v->nb + 1) * sizeof *n);

  if (!n) {
    free (file);
    free (ds);
    v->oom = true;
    return;
  }
  v->b = n;
  v->b[v->nb] = (struct vdl_backing) { .file = file, .ds = ds,
                                       .of_snapshot = of_snapshot,
                                       .parent = parent,
                                       .device_key = d->key,
                                       .capacity = d->capacity };
  v->nb++;
}

static void
read_device (const xmlNode *disk, struct device *d)
{
  uint64_t key, bytes, kb;

  d->key = vdl_xml_vim_number (disk, "key", &key) && key <= INT_MAX
    ? (int) key : -1;
  if (vdl_xml_vim_number (disk, "capacityInBytes", &bytes) && bytes > 0)
    d->capacity = bytes;
  else if (vdl_xml_vim_number (disk, "capacityInKB", &kb) &&
           kb <= UINT64_MAX / 1024)
    d->capacity = kb * 1024;
  else
    d->capacity = 0;
}

static void
walk_backing (struct vdl_vm_datastores *v, xmlNode *b, bool of_snapshot,
              const struct device *d)
{
  char *file, *ds;
  bool parent = false;

  for (; b; b = vdl_xml_child (b, VDL_NS_VIM, "parent"), parent = true) {
    file = vdl_xml_vim_text (b, "fileName");
    ds = vdl_xml_vim_text (b, "datastore");
    add_ds (v, ds);
    if (ds && !ds[0]) {
      free (ds);
      ds = NULL;
    }
    if (file)
      add_backing (v, file, ds, of_snapshot, parent, d);
    else
      free (ds);
  }
}

void
vdl_vm_datastores_add (struct vdl_vm_datastores *v, xmlNode *object)
{
  xmlNode *n;
  char type[64], *moref;
  bool of_snapshot;

  vdl_remote_obj_type (object, type, sizeof type);
  of_snapshot = strcmp (type, "VirtualMachineSnapshot") == 0;
  for (n = vdl_xml_element (vdl_remote_prop (object, "config.hardware.device"));
       n; n = vdl_xml_next (n, VDL_NS_VIM, NULL)) {
    vdl_xml_type (n, type, sizeof type);
    if (strcmp (type, "VirtualDisk") == 0) {
      struct device d;

      read_device (n, &d);
      walk_backing (v, vdl_xml_child (n, VDL_NS_VIM, "backing"), of_snapshot,
                    &d);
    }
  }
  /* ArrayOfManagedObjectReference */
  for (n = vdl_xml_element (vdl_remote_prop (object, "datastore"));
       n; n = vdl_xml_next (n, VDL_NS_VIM, NULL)) {
    moref = vdl_xml_text (n);
    add_ds (v, moref);
    free (moref);
  }
}

static VixError
vm_object (void *ctx, xmlNode *object)
{
  vdl_vm_datastores_add (ctx, object);
  return VIX_OK;
}

void
vdl_vm_datastores_free (struct vdl_vm_datastores *v)
{
  size_t i;

  for (i = 0; i < v->nb; i++) {
    free (v->b[i].file);
    free (v->b[i].ds);
  }
  for (i = 0; i < v->nds; i++)
    free (v->ds[i]);
  free (v->b);
  free (v->ds);
  memset (v, 0, sizeof *v);
}

VixError
vdl_remote_vm_datastores (struct vdl_remote *r, struct vdl_vm_datastores *v)
{
  static const char fmt[] =
    "<propSet><type>VirtualMachine</type><pathSet>datastore</pathSet>"
    "<pathSet>config.hardware.device</pathSet></propSet>"
    "%s<objectSet><obj type=\"VirtualMachine\">%s</obj><skip>false</skip>"
    "</objectSet>%s%s%s";
  char *vm = vdl_xml_escape (r->vm), *snap = NULL, *spec = NULL;
  VixError err;

  memset (v, 0, sizeof *v);
  if (r->snapshot)
    snap = vdl_xml_escape (r->snapshot);
  if (!vm || (r->snapshot && !snap) ||
      asprintf (&spec, fmt,
                snap ? "<propSet><type>VirtualMachineSnapshot</type>"
                "<pathSet>config.hardware.device</pathSet></propSet>" : "",
                vm,
                snap ? "<objectSet><obj type=\"VirtualMachineSnapshot\">" : "",
                snap ? snap : "",
                snap ? "</obj><skip>false</skip></objectSet>" : "") < 0) {
    free (vm);
    free (snap);
    return vdl_oom ();
  }
  err = vdl_remote_retrieve (r, spec, vm_object, v, NULL);
  if (err == VIX_OK && v->oom)
    err = vdl_oom ();
  if (err != VIX_OK)
    vdl_vm_datastores_free (v);
  free (spec);
  free (snap);
  free (vm);
  return err;
}
