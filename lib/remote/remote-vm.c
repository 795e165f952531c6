/* SPDX-License-Identifier: BSD-3-Clause */
/* Which disks may be opened: those of the VM named at connect (or of
 * its snapshot), with every file of their backing chains.  This keeps a
 * connection for one VM from reading other VMs' files by name. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "log.h"
#include "remote-internal.h"
#include "remote-xml.h"

static void
vm_state_free (struct vdl_vm_state *st)
{
  free (st->name);
  free (st->snapshots.text);
  *st = (struct vdl_vm_state) { .want = st->want };
}

static VixError
vm_object (void *ctx, xmlNode *object)
{
  vdl_vm_state_add (ctx, object);
  return VIX_OK;
}

/* The VM alone, for a server that refused the one call: its faults tell
 * a VM that is not there from anything else. */
static VixError
read_vm (struct vdl_remote *r, struct vdl_vm_state *st,
         char fault[VDL_FAULT_LEN])
{
  char *vm = vdl_xml_escape (r->vm), *spec = NULL;
  VixError err;

  if (!vm || asprintf (&spec, "<propSet><type>VirtualMachine</type>"
                       "<pathSet>name</pathSet><pathSet>snapshot</pathSet>"
                       "<pathSet>runtime.powerState</pathSet>"
                       "<pathSet>config.changeTrackingEnabled</pathSet>"
                       "</propSet><objectSet><obj type=\"VirtualMachine\">"
                       "%s</obj><skip>false</skip></objectSet>", vm) < 0) {
    free (vm);
    return vdl_oom ();
  }
  err = vdl_remote_retrieve (r, spec, vm_object, st, fault);
  free (spec);
  free (vm);
  return err;
}

VixError
vdl_remote_check_vm (struct vdl_remote *r)
{
  struct vdl_vm_state st = { .want = r->snapshot };
  char fault[VDL_FAULT_LEN];
  VixError err;

  err = vdl_remote_load_all (r, &st, fault);
  if (err != VIX_OK && fault[0]) {
    vdl_debug ("VixDiskLib: %s: the VM with its disks and datastores in "
               "one call failed (%s); reading the VM alone", r->host, fault);
    vm_state_free (&st);
    err = read_vm (r, &st, fault);
  }
  if (err != VIX_OK && strcmp (fault, "ManagedObjectNotFound") == 0)
    err = vdl_error (VIX_E_OBJECT_NOT_FOUND, "VM %s not found on %s",
                     r->vm, r->host);
  else if (err == VIX_OK && !st.name)
    err = vdl_error (VIX_E_OBJECT_NOT_FOUND, "VM %s not found on %s (or "
                     "its name cannot be read)", r->vm, r->host);
  else if (err == VIX_OK && r->snapshot && !st.snapshot_found)
    err = vdl_error (VIX_E_OBJECT_NOT_FOUND,
                     "snapshot %s is not a snapshot of VM %s (%s) on %s; "
                     "its snapshots: %s", r->snapshot, r->vm, st.name,
                     r->host, st.snapshots.text ? st.snapshots.text : "none");
  if (err == VIX_OK) {
    r->vm_name = st.name;
    r->powered_on = st.powered_on;
    r->change_tracking = st.change_tracking;
    st.name = NULL;
  }
  vm_state_free (&st);
  return err;
}

VixError
vdl_remote_check_disk (struct vdl_remote *r, const char *name)
{
  struct vdl_list all = { 0 };
  char *resolved = NULL, of[256];
  const struct vdl_backing *b;
  bool found = false;
  size_t i;
  int pass;
  VixError err;

  err = vdl_remote_resolve (r, name, &resolved);
  /* The disks as read at connect, and again if this one is not there
   * (a disk added since). */
  for (pass = 0; err == VIX_OK && pass < 2 && !found; pass++) {
    if ((err = vdl_remote_datastores_load (r, pass > 0)) != VIX_OK)
      break;
    free (all.text);
    all = (struct vdl_list) { 0 };
    pthread_mutex_lock (&r->lock);
    for (i = 0; i < r->nbackings; i++) {
      b = &r->backings[i];
      if (b->of_snapshot != (r->snapshot != NULL))
        continue;
      if (strcmp (b->file, resolved) == 0)
        found = true;
      vdl_list_add (&all, b->file, b->parent ? "parent" : NULL);
    }
    pthread_mutex_unlock (&r->lock);
  }
  if (r->snapshot)
    snprintf (of, sizeof of, "snapshot %s of VM %s (%s)", r->snapshot,
              r->vm, r->vm_name);
  else
    snprintf (of, sizeof of, "VM %s (%s)", r->vm, r->vm_name);
  if (err == VIX_OK && all.oom)
    err = vdl_oom ();
  else if (err == VIX_OK && !found)
    err = vdl_error (VIX_E_FILE_NOT_FOUND,
                     "%s is not a disk of %s on %s; %s%s", resolved, of,
                     r->host, all.text ? "its disks: " : "it has no disks",
                     all.text ? all.text : "");
  free (all.text);
  free (resolved);
  return err;
}
