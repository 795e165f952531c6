/* SPDX-License-Identifier: BSD-3-Clause */
/* What the VM's state means for reading its disks over HTTPS:
 *  - a powered-on VM writes to its disks while we read them: the copy
 *    is not consistent (VMware tells VDDK users to snapshot first), and
 *    vCenter answers HTTP 500 for the files the running VM has locked;
 *  - vSAN and vVol datastores keep disks as objects (extents named
 *    vsan://... or vvol://...), with no -flat file /folder could serve.
 * Both are read once at connect, with one property retrieval: the VM's
 * runtime.powerState, and name and summary.type of its datastores.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "error.h"
#include "log.h"
#include "remote-internal.h"
#include "remote-xml.h"

struct vdl_object_ds {
  char *name;
  const char *kind;             /* "vSAN" or "vVol" */
};

struct state {
  struct vdl_remote *r;
  bool oom;
};

/* summary.type as vSphere reports it ("vsan", "VVOL"): our wording. */
static const char *
object_kind (const char *type)
{
  if (!type)
    return NULL;
  if (strcasecmp (type, "vsan") == 0)
    return "vSAN";
  if (strcasecmp (type, "vvol") == 0)
    return "vVol";
  return NULL;
}

static VixError
state_object (void *ctx, xmlNode *object)
{
  struct state *s = ctx;
  struct vdl_remote *r = s->r;
  struct vdl_object_ds *n;
  char *power, *name, *type;
  const char *kind;

  power = vdl_xml_text (vdl_remote_prop (object, "runtime.powerState"));
  if (power)
    r->powered_on = strcmp (power, "poweredOn") == 0;
  free (power);
  name = vdl_xml_text (vdl_remote_prop (object, "name"));
  type = vdl_xml_text (vdl_remote_prop (object, "summary.type"));
  kind = object_kind (type);
  if (name && kind) {
    n = realloc (r->object_ds, (r->nobject_ds + 1) * sizeof *n);
    if (!n)
      s->oom = true;
    else {
      r->object_ds = n;
      n[r->nobject_ds].name = name;
      n[r->nobject_ds].kind = kind;
      r->nobject_ds++;
      name = NULL;
    }
  }
  free (name);
  free (type);
  return VIX_OK;
}

VixError
vdl_remote_check_state (struct vdl_remote *r)
{
  static const char fmt[] =
    "<propSet><type>VirtualMachine</type><pathSet>runtime.powerState"
    "</pathSet></propSet>"
    "<propSet><type>Datastore</type><pathSet>name</pathSet>"
    "<pathSet>summary.type</pathSet></propSet>"
    "<objectSet><obj type=\"VirtualMachine\">%s</obj><skip>false</skip>"
    "<selectSet xsi:type=\"TraversalSpec\"><type>VirtualMachine</type>"
    "<path>datastore</path><skip>false</skip></selectSet></objectSet>";
  struct state s = { .r = r };
  char *vm = vdl_xml_escape (r->vm), *spec = NULL;
  VixError err;

  if (!vm || asprintf (&spec, fmt, vm) < 0) {
    free (vm);
    return vdl_error (VIX_E_OUT_OF_MEMORY, "out of memory");
  }
  err = vdl_remote_retrieve (r, spec, state_object, &s, NULL);
  free (spec);
  free (vm);
  if (err == VIX_OK && s.oom)
    return vdl_error (VIX_E_OUT_OF_MEMORY, "out of memory");
  if (err != VIX_OK) {
    /* Only advice depends on it (an account may lack the right to read
     * datastores): the VM itself was found, so go on without. */
    char *text = vdl_error_text (err);

    vdl_debug ("VixDiskLib: %s: cannot read the power state of VM %s or "
               "the types of its datastores: %s", r->host, r->vm,
               text ? text : "?");
    free (text);
    return VIX_OK;
  }
  if (err == VIX_OK && r->powered_on && !r->snapshot)
    vdl_warning ("VixDiskLib: warning: VM %s (%s) on %s is powered on: "
                 "its disks change while they are read, so the copy will "
                 "not be consistent (and files the VM has locked cannot "
                 "be read); take a snapshot and read that (snapshot=...), "
                 "or power the VM off first", r->vm,
                 r->vm_name ? r->vm_name : "?", r->host);
  return err;
}

void
vdl_remote_state_free (struct vdl_remote *r)
{
  size_t i;

  for (i = 0; i < r->nobject_ds; i++)
    free (r->object_ds[i].name);
  free (r->object_ds);
  r->object_ds = NULL;
  r->nobject_ds = 0;
}

VixError
vdl_remote_check_transport (struct vdl_remote *r, const char *name)
{
  const char *close = name[0] == '[' ? strchr (name, ']') : NULL;
  size_t i, n;

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
  if (!close)
    return VIX_OK;
  n = close - name - 1;
  for (i = 0; i < r->nobject_ds; i++)
    if (strlen (r->object_ds[i].name) == n &&
        strncmp (r->object_ds[i].name, name + 1, n) == 0)
      return vdl_error (VIX_E_NOT_SUPPORTED, "%s on %s is on %s, a %s "
                        "datastore: its disks are %s objects with no -flat "
                        "file, which cannot be read over HTTPS (/folder); "
                        "use VMware's VDDK with the nbd or nbdssl "
                        "transport, or move the disk to a VMFS or NFS "
                        "datastore", name, r->host, r->object_ds[i].name,
                        r->object_ds[i].kind, r->object_ds[i].kind);
  return VIX_OK;
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
