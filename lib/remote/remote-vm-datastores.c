/* SPDX-License-Identifier: BSD-3-Clause */
/* Which datastores the VM (or its snapshot) uses: the datastore moref of
 * each disk backing and of each parent in its chain, and the VM's
 * datastore list.  Datastore names repeat across datacenters, so a
 * "[name] path" is only ever looked up among these. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "remote-internal.h"
#include "remote-xml.h"

struct collect {
  struct vdl_vm_datastores *v;
  bool oom;
};

static void
add_ds (struct collect *c, const char *moref)
{
  struct vdl_vm_datastores *v = c->v;
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
    c->oom = true;
    return;
  }
  v->ds = n;
  v->nds++;
}

/* Takes file and ds. */
static void
add_backing (struct collect *c, char *file, char *ds)
{
  struct vdl_vm_datastores *v = c->v;
  struct vdl_backing *n = realloc (v->b, (v->nb + 1) * sizeof *n);

  if (!n) {
    free (file);
    free (ds);
    c->oom = true;
    return;
  }
  v->b = n;
  v->b[v->nb].file = file;
  v->b[v->nb].ds = ds;
  v->nb++;
}

static void
walk_backing (struct collect *c, xmlNode *b)
{
  char *file, *ds;

  for (; b; b = vdl_xml_child (b, VDL_NS_VIM, "parent")) {
    file = vdl_xml_vim_text (b, "fileName");
    ds = vdl_xml_vim_text (b, "datastore");
    add_ds (c, ds);
    if (file && ds && ds[0])
      add_backing (c, file, ds);
    else {
      free (file);
      free (ds);
    }
  }
}

static VixError
vm_object (void *ctx, xmlNode *object)
{
  struct collect *c = ctx;
  xmlNode *n;
  char type[64], *moref;

  for (n = vdl_xml_element (vdl_remote_prop (object, "config.hardware.device"));
       n; n = vdl_xml_next (n, VDL_NS_VIM, NULL)) {
    vdl_xml_type (n, type, sizeof type);
    if (strcmp (type, "VirtualDisk") == 0)
      walk_backing (c, vdl_xml_child (n, VDL_NS_VIM, "backing"));
  }
  /* ArrayOfManagedObjectReference */
  for (n = vdl_xml_element (vdl_remote_prop (object, "datastore"));
       n; n = vdl_xml_next (n, VDL_NS_VIM, NULL)) {
    moref = vdl_xml_text (n);
    add_ds (c, moref);
    free (moref);
  }
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
  struct collect c = { .v = v };
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
  err = vdl_remote_retrieve (r, spec, vm_object, &c, NULL);
  if (err == VIX_OK && c.oom)
    err = vdl_oom ();
  if (err != VIX_OK)
    vdl_vm_datastores_free (v);
  free (spec);
  free (snap);
  free (vm);
  return err;
}
