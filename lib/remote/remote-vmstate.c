/* SPDX-License-Identifier: BSD-3-Clause */
/* What the VM's state means for reading its disks over HTTPS:
 *  - a powered-on VM writes to its disks while we read them: the copy
 *    is not consistent (VMware tells VDDK users to snapshot first), and
 *    vCenter answers HTTP 500 for the files the running VM has locked;
 *  - vSAN and vVol datastores keep disks as objects (extents named
 *    vsan://... or vvol://...), with no -flat file /folder could serve.
 * The power state is read with the VM at connect (remote-vm.c), and
 * each datastore's summary.type with the VM's datastores
 * (remote-datastore.c), so neither costs a round trip of its own.
 */
#include <string.h>
#include <strings.h>

#include "error.h"
#include "log.h"
#include "remote-internal.h"

const char *
vdl_remote_object_kind (const char *summary_type)
{
  if (!summary_type)
    return NULL;
  if (strcasecmp (summary_type, "vsan") == 0)
    return "vSAN";
  if (strcasecmp (summary_type, "vvol") == 0)
    return "vVol";
  return NULL;
}

void
vdl_remote_warn_state (struct vdl_remote *r)
{
  if (r->powered_on && !r->snapshot)
    vdl_warning ("VixDiskLib: warning: VM %s (%s) on %s is powered on: "
                 "its disks change while they are read, so the copy will "
                 "not be consistent (and files the VM has locked cannot "
                 "be read); take a snapshot and read that (snapshot=...), "
                 "or power the VM off first", r->vm,
                 r->vm_name ? r->vm_name : "?", r->host);
}

VixError
vdl_remote_check_transport (struct vdl_remote *r, const char *name)
{
  const char *object = strstr (name, "vsan://");

  if (!object)
    object = strstr (name, "vvol://");
  if (object)
    return vdl_error (VIX_E_NOT_SUPPORTED, "the extent %s (on %s) is a %s "
                      "object, not a file: disks on vSAN and vVol "
                      "datastores cannot be read over HTTPS (/folder); use "
                      "VMware's VDDK with the nbd or nbdssl transport, or "
                      "move the disk to a VMFS or NFS datastore", object,
                      r->host, object[1] == 's' ? "vSAN" : "vVol");
  return VIX_OK;
}

VixError
vdl_remote_object_ds_error (struct vdl_remote *r, const char *name,
                            const char *ds, const char *kind)
{
  return vdl_error (VIX_E_NOT_SUPPORTED, "%s on %s is on %s, a %s "
                    "datastore: its disks are %s objects with no -flat "
                    "file, which cannot be read over HTTPS (/folder); "
                    "use VMware's VDDK with the nbd or nbdssl "
                    "transport, or move the disk to a VMFS or NFS "
                    "datastore", name, r->host, ds, kind, kind);
}

VixError
vdl_remote_locked_error (struct vdl_remote *r, const char *name,
                         const char *method)
{
  if (r->powered_on && !r->snapshot)
    return vdl_error (VIX_E_FILE_ACCESS_ERROR,
                      "%s on %s is locked, probably by the running VM %s "
                      "(%s) (HTTP 500 to %s); read a snapshot "
                      "(snapshot=...) or power it off", name, r->host,
                      r->vm, r->vm_name ? r->vm_name : "?", method);
  return vdl_error (VIX_E_FILE_ACCESS_ERROR,
                    "%s on %s cannot be read (HTTP 500 to %s): it is "
                    "probably locked by a running VM or another host", name,
                    r->host, method);
}
