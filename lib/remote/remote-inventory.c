/* SPDX-License-Identifier: BSD-3-Clause */
/* Reading the inventory a connection needs: the VM's disks (and its
 * snapshot's) with the datastore of each file, and the VM's datastores
 * with their names, URLs, types and datacenters, published in the
 * session (r->ds, r->backings) for remote-datastore.c and remote-vm.c.
 *
 * The datacenter is found by walking up the parents of each datastore
 * (through datastore clusters and folders), which needs nothing above
 * the datacenter but the names of its folders.  Read at connect, in one
 * call with the VM itself, and again when a name is not found. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "log.h"
#include "remote-internal.h"
#include "remote-xml.h"

#define MAX_DEPTH 64            /* of folders, against cycles */

/* One inventory object of the walk. */
struct entity {
  char *moref, *type, *name, *parent, *url, *summary_type;
};

struct walk {
  struct entity *e;
  size_t n;
  bool oom;
};

static VixError
entity_object (void *ctx, xmlNode *object)
{
  struct walk *w = ctx;
  struct entity *e, *ne;
  char type[64];

  ne = realloc (w->e, (w->n + 1) * sizeof *w->e);
  if (!ne)
    return vdl_oom ();
  w->e = ne;
  e = &w->e[w->n++];
  vdl_remote_obj_type (object, type, sizeof type);
  e->moref = vdl_xml_vim_text (object, "obj");
  e->type = strdup (type);
  e->name = vdl_xml_text (vdl_remote_prop (object, "name"));
  e->parent = vdl_xml_text (vdl_remote_prop (object, "parent"));
  e->url = vdl_xml_text (vdl_remote_prop (object, "summary.url"));
  e->summary_type = vdl_xml_text (vdl_remote_prop (object, "summary.type"));
  if (!e->moref || !e->type)
    w->oom = true;
  return VIX_OK;
}

static void
walk_free (struct walk *w)
{
  size_t i;

  for (i = 0; i < w->n; i++) {
    free (w->e[i].moref);
    free (w->e[i].type);
    free (w->e[i].name);
    free (w->e[i].parent);
    free (w->e[i].url);
    free (w->e[i].summary_type);
  }
  free (w->e);
}

static struct entity *
find (struct walk *w, const char *moref)
{
  size_t i;

  for (i = 0; moref && moref[0] && i < w->n; i++)
    if (strcmp (w->e[i].moref, moref) == 0)
      return &w->e[i];
  return NULL;
}

/* "Folder/DC": the names from below the root folder down to dc, as the
 * inventory stores them (so a '/' inside a name stays "%2f").  NULL if
 * a folder on the way cannot be read. */
static char *
inventory_path (struct vdl_remote *r, struct walk *w, struct entity *dc)
{
  const char *names[MAX_DEPTH];
  struct entity *e = dc;
  size_t n = 0, len = 0, i;
  char *path, *p;

  while (e && n < MAX_DEPTH) {
    if (!e->name)
      return NULL;
    names[n++] = e->name;
    len += strlen (e->name) + 1;
    if (!e->parent || !e->parent[0] || strcmp (e->parent, r->root_folder) == 0)
      break;
    e = find (w, e->parent);
  }
  if (!e || n == MAX_DEPTH || !(path = p = malloc (len)))
    return NULL;
  for (i = n; i-- > 0;)
    p += sprintf (p, "%s%s", names[i], i ? "/" : "");
  return path;
}

/* Up from a datastore (through a StoragePod, folders) to its datacenter. */
static struct entity *
datacenter_of (struct walk *w, struct entity *ds)
{
  struct entity *e = find (w, ds->parent);
  int depth;

  for (depth = 0; e && depth < MAX_DEPTH; depth++, e = find (w, e->parent))
    if (strcmp (e->type, "Datacenter") == 0)
      return e;
  return NULL;
}

/* summary.url "ds:///vmfs/volumes/<uuid>/" -> "/vmfs/volumes/<uuid>" */
static char *
url_path (const char *url)
{
  char *p;
  size_t n;

  if (!url)
    return strdup ("");
  if (strncmp (url, "ds://", 5) == 0)
    url += 5;
  p = strdup (url);
  for (n = p ? strlen (p) : 0; n > 0 && p[n - 1] == '/'; n--)
    p[n - 1] = '\0';
  return p;
}

static void
free_table (struct vdl_datastore *ds, size_t n)
{
  size_t i;

  for (i = 0; i < n; i++) {
    free (ds[i].moref);
    free (ds[i].name);
    free (ds[i].dc_path);
    free (ds[i].url_path);
  }
  free (ds);
}

static void
free_backings (struct vdl_backing *b, size_t n)
{
  size_t i;

  for (i = 0; i < n; i++) {
    free (b[i].file);
    free (b[i].ds);
  }
  free (b);
}

static VixError
build_table (struct vdl_remote *r, struct walk *w,
             const struct vdl_vm_datastores *v,
             struct vdl_datastore **out, size_t *nout)
{
  struct vdl_datastore *t = calloc (v->nds + 1, sizeof *t);
  struct entity *e, *dc;
  size_t i, n = 0;

  if (!t || w->oom) {
    free (t);
    return vdl_oom ();
  }
  for (i = 0; i < v->nds; i++) {
    e = find (w, v->ds[i]);
    if (!e || !e->name) {
      vdl_debug ("VixDiskLib: %s: datastore %s of VM %s cannot be read",
                 r->host, v->ds[i], r->vm);
      continue;
    }
    dc = datacenter_of (w, e);
    t[n].moref = strdup (e->moref);
    t[n].name = strdup (e->name);
    t[n].dc_path = dc ? inventory_path (r, w, dc) : NULL;
    t[n].url_path = url_path (e->url);
    t[n].object_kind = vdl_remote_object_kind (e->summary_type);
    n++;
    if (!t[n - 1].moref || !t[n - 1].name || !t[n - 1].url_path) {
      free_table (t, n);
      return vdl_oom ();
    }
    vdl_debug ("VixDiskLib: %s: VM %s uses datastore %s in datacenter %s "
               "(%s)", r->host, r->vm, t[n - 1].name,
               t[n - 1].dc_path ? t[n - 1].dc_path : "(unknown)",
               t[n - 1].moref);
  }
  *out = t;
  *nout = n;
  return VIX_OK;
}

/* The datastores ds[0..n) with every parent up to the root folder. */
static VixError
read_datastores (struct vdl_remote *r, char *const *ds, size_t n,
                 struct walk *w)
{
  static const char props[] =
    "<propSet><type>ManagedEntity</type><pathSet>name</pathSet>"
    "<pathSet>parent</pathSet></propSet>"
    "<propSet><type>Datastore</type><pathSet>summary.url</pathSet>"
    "<pathSet>summary.type</pathSet></propSet>";
  static const char object[] =
    "<objectSet><obj type=\"Datastore\">%s</obj><skip>false</skip>"
    "<selectSet xsi:type=\"TraversalSpec\"><name>up</name>"
    "<type>ManagedEntity</type><path>parent</path><skip>false</skip>"
    "<selectSet><name>up</name></selectSet></selectSet></objectSet>";
  char *spec = NULL, *e;
  size_t len, i;
  FILE *f;
  VixError err;

  if (n == 0)
    return VIX_OK;
  if (!(f = open_memstream (&spec, &len)))
    return vdl_oom ();
  fputs (props, f);
  for (i = 0; i < n; i++) {
    if (!(e = vdl_xml_escape (ds[i]))) {
      fclose (f);
      free (spec);
      return vdl_oom ();
    }
    fprintf (f, object, e);
    free (e);
  }
  if (fclose (f) != 0) {
    free (spec);
    return vdl_oom ();
  }
  err = vdl_remote_retrieve (r, spec, entity_object, w, NULL);
  free (spec);
  return err;
}

/* What the one call of vdl_remote_load_all collects. */
struct all {
  struct vdl_vm_state *st;
  struct vdl_vm_datastores *v;
  struct walk *w;
};

static VixError
all_object (void *ctx, xmlNode *object)
{
  struct all *a = ctx;
  char type[64];

  vdl_remote_obj_type (object, type, sizeof type);
  if (strcmp (type, "VirtualMachine") == 0 && a->st)
    vdl_vm_state_add (a->st, object);
  if (strcmp (type, "VirtualMachine") == 0 ||
      strcmp (type, "VirtualMachineSnapshot") == 0) {
    vdl_vm_datastores_add (a->v, object);
    return VIX_OK;
  }
  return entity_object (a->w, object);
}

/* The VM with its disks (and the snapshot's), and from the VM down its
 * datastore property to each datastore and up its parents: one round
 * trip where separate calls took four (the VM, its disks and datastores,
 * their parents, the disks again to check one).  The properties are named per
 * concrete type (not ManagedEntity, which the VM is too); StoragePod
 * only on vCenter, where datastore clusters exist. */
static VixError
retrieve_all (struct vdl_remote *r, struct all *a, char fault[VDL_FAULT_LEN])
{
  static const char entity[] =
    "<propSet><type>%s</type><pathSet>name</pathSet>"
    "<pathSet>parent</pathSet></propSet>";
  char *vm = vdl_xml_escape (r->vm), *snap = NULL, *spec = NULL;
  size_t len;
  FILE *f;
  VixError err;

  if (r->snapshot)
    snap = vdl_xml_escape (r->snapshot);
  if (!vm || (r->snapshot && !snap) || !(f = open_memstream (&spec, &len))) {
    free (vm);
    free (snap);
    return vdl_oom ();
  }
  fputs ("<propSet><type>VirtualMachine</type><pathSet>name</pathSet>"
         "<pathSet>snapshot</pathSet><pathSet>runtime.powerState</pathSet>"
         "<pathSet>config.changeTrackingEnabled</pathSet>"
         "<pathSet>datastore</pathSet>"
         "<pathSet>config.hardware.device</pathSet></propSet>", f);
  if (snap)
    fputs ("<propSet><type>VirtualMachineSnapshot</type>"
           "<pathSet>config.hardware.device</pathSet></propSet>", f);
  fputs ("<propSet><type>Datastore</type><pathSet>name</pathSet>"
         "<pathSet>parent</pathSet><pathSet>summary.url</pathSet>"
         "<pathSet>summary.type</pathSet></propSet>", f);
  fprintf (f, entity, "Folder");
  fprintf (f, entity, "Datacenter");
  if (r->vcenter)
    fprintf (f, entity, "StoragePod");
  fprintf (f, "<objectSet><obj type=\"VirtualMachine\">%s</obj>"
           "<skip>false</skip><selectSet xsi:type=\"TraversalSpec\">"
           "<name>ds</name><type>VirtualMachine</type><path>datastore</path>"
           "<skip>false</skip><selectSet xsi:type=\"TraversalSpec\">"
           "<name>up</name><type>ManagedEntity</type><path>parent</path>"
           "<skip>false</skip><selectSet><name>up</name></selectSet>"
           "</selectSet></selectSet></objectSet>", vm);
  if (snap)
    fprintf (f, "<objectSet><obj type=\"VirtualMachineSnapshot\">%s</obj>"
             "<skip>false</skip></objectSet>", snap);
  free (vm);
  free (snap);
  if (fclose (f) != 0) {
    free (spec);
    return vdl_oom ();
  }
  err = vdl_remote_retrieve (r, spec, all_object, a, fault);
  free (spec);
  if (err == VIX_OK && (a->v->oom || a->w->oom))
    err = vdl_oom ();
  return err;
}

/* Make t, n and v's backings the session's. */
static void
publish (struct vdl_remote *r, struct vdl_datastore *t, size_t n,
         struct vdl_vm_datastores *v)
{
  struct vdl_datastore *old;
  struct vdl_backing *oldb;
  size_t nold, noldb;

  pthread_mutex_lock (&r->lock);
  old = r->ds;
  nold = r->nds;
  oldb = r->backings;
  noldb = r->nbackings;
  r->ds = t;
  r->nds = n;
  r->backings = v->b;
  r->nbackings = v->nb;
  r->ds_loaded = true;
  pthread_mutex_unlock (&r->lock);
  v->b = NULL;
  v->nb = 0;
  free_table (old, nold);
  free_backings (oldb, noldb);
}

/* The datastores of v that the walk has not read. */
static VixError
missing (const struct vdl_vm_datastores *v, struct walk *w, char ***out,
         size_t *nout)
{
  char **m = calloc (v->nds + 1, sizeof *m);
  size_t i;

  if (!m)
    return vdl_oom ();
  *nout = 0;
  for (i = 0; i < v->nds; i++)
    if (!find (w, v->ds[i]))
      m[(*nout)++] = v->ds[i];
  *out = m;
  return VIX_OK;
}

/* The one call; then any datastore of a disk that the VM's datastore
 * property did not lead to, unless connecting (st: then the first open
 * reads them, and any error is that open's). */
static VixError
load_all (struct vdl_remote *r, struct vdl_vm_state *st,
          char fault[VDL_FAULT_LEN])
{
  const bool connecting = st != NULL;
  struct vdl_vm_datastores v = { 0 };
  struct walk w = { 0 };
  struct all a = { .st = st, .v = &v, .w = &w };
  struct vdl_datastore *t = NULL;
  char **m = NULL;
  size_t n = 0, nm = 0;
  VixError err;

  err = retrieve_all (r, &a, fault);
  if (err == VIX_OK)
    err = missing (&v, &w, &m, &nm);
  if (err == VIX_OK && nm > 0 && !connecting)
    err = read_datastores (r, m, nm, &w);
  if (err == VIX_OK && (nm == 0 || !connecting))
    err = build_table (r, &w, &v, &t, &n);
  if (err == VIX_OK && t)
    publish (r, t, n, &v);
  free (m);
  walk_free (&w);
  vdl_vm_datastores_free (&v);
  return err;
}

/* The same in two calls, for a server that refused the one. */
static VixError
load_separate (struct vdl_remote *r)
{
  struct vdl_vm_datastores v;
  struct walk w = { 0 };
  struct vdl_datastore *t = NULL;
  size_t n = 0;
  VixError err;

  err = vdl_remote_vm_datastores (r, &v);
  if (err != VIX_OK)
    return err;
  err = read_datastores (r, v.ds, v.nds, &w);
  if (err == VIX_OK)
    err = build_table (r, &w, &v, &t, &n);
  if (err == VIX_OK)
    publish (r, t, n, &v);
  walk_free (&w);
  vdl_vm_datastores_free (&v);
  return err;
}

static VixError
load (struct vdl_remote *r)
{
  char fault[VDL_FAULT_LEN];
  bool separate;
  VixError err;

  pthread_mutex_lock (&r->lock);
  separate = r->separate_calls;
  pthread_mutex_unlock (&r->lock);
  if (separate)
    return load_separate (r);
  err = vdl_remote_load_all (r, NULL, fault);
  if (err != VIX_OK && fault[0]) {
    vdl_debug ("VixDiskLib: %s: reading the VM's disks and datastores in "
               "one call failed (%s); using separate calls", r->host, fault);
    err = load_separate (r);
  }
  return err;
}

VixError
vdl_remote_load_all (struct vdl_remote *r, struct vdl_vm_state *st,
                     char fault[VDL_FAULT_LEN])
{
  VixError err = load_all (r, st, fault);

  if (err != VIX_OK && fault[0]) {
    pthread_mutex_lock (&r->lock);
    r->separate_calls = true;
    pthread_mutex_unlock (&r->lock);
  }
  return err;
}

static VixError
ensure_loaded (struct vdl_remote *r)
{
  bool loaded;

  pthread_mutex_lock (&r->lock);
  loaded = r->ds_loaded;
  pthread_mutex_unlock (&r->lock);
  return loaded ? VIX_OK : load (r);
}

VixError
vdl_remote_datastores_load (struct vdl_remote *r, bool again)
{
  return again ? load (r) : ensure_loaded (r);
}

void
vdl_remote_datastores_free (struct vdl_remote *r)
{
  free_table (r->ds, r->nds);
  free_backings (r->backings, r->nbackings);
  r->ds = NULL;
  r->nds = 0;
  r->backings = NULL;
  r->nbackings = 0;
  r->ds_loaded = false;
}
