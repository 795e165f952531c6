/* SPDX-License-Identifier: BSD-3-Clause */
/* Datastores: where a datastore's files are served (/folder needs the
 * datacenter's inventory path) and which datastore a /vmfs/volumes path
 * is on.  Read once per session from the inventory, and again when a
 * name is not found (a datastore added since). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "error.h"
#include "log.h"
#include "remote-internal.h"
#include "remote-xml.h"

#define MAX_DEPTH 64            /* of folders, against cycles */

/* One inventory object of the walk. */
struct entity {
  char *moref, *type, *name, *parent, *url;
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
  xmlNode *obj = vdl_xml_child (object, VDL_NS_VIM, "obj");
  xmlChar *type = obj ? xmlGetProp (obj, BAD_CAST "type") : NULL;

  ne = realloc (w->e, (w->n + 1) * sizeof *w->e);
  if (!ne) {
    xmlFree (type);
    return vdl_error (VIX_E_OUT_OF_MEMORY, "out of memory");
  }
  w->e = ne;
  e = &w->e[w->n++];
  e->moref = vdl_xml_text (obj);
  e->type = strdup (type ? (const char *) type : "");
  e->name = vdl_xml_text (vdl_remote_prop (object, "name"));
  e->parent = vdl_xml_text (vdl_remote_prop (object, "parent"));
  e->url = vdl_xml_text (vdl_remote_prop (object, "summary.url"));
  xmlFree (type);
  if (!e->moref || !e->type)
    w->oom = true;
  return VIX_OK;
}

static struct entity *
find (struct walk *w, const char *moref)
{
  size_t i;

  for (i = 0; moref && i < w->n; i++)
    if (strcmp (w->e[i].moref, moref) == 0)
      return &w->e[i];
  return NULL;
}

/* "Folder/DC": the names from below the root folder down to dc. */
static char *
inventory_path (struct vdl_remote *r, struct walk *w, struct entity *dc)
{
  const char *names[MAX_DEPTH];
  struct entity *e;
  size_t n = 0, len = 0, i;
  char *path, *p;

  for (e = dc; e && n < MAX_DEPTH && strcmp (e->moref, r->root_folder) != 0;
       e = find (w, e->parent)) {
    if (!e->name)
      return NULL;
    names[n++] = e->name;
    len += strlen (e->name) + 1;
  }
  if (n == 0 || !(path = p = malloc (len)))
    return NULL;
  for (i = n; i-- > 0;)
    p += sprintf (p, "%s%s", names[i], i ? "/" : "");
  return path;
}

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
    free (ds[i].name);
    free (ds[i].dc_path);
    free (ds[i].url_path);
  }
  free (ds);
}

static VixError
build_table (struct vdl_remote *r, struct walk *w,
             struct vdl_datastore **out, size_t *nout)
{
  struct vdl_datastore *t = calloc (w->n + 1, sizeof *t);
  struct entity *dc;
  size_t i, n = 0;

  if (!t || w->oom) {
    free (t);
    return vdl_error (VIX_E_OUT_OF_MEMORY, "out of memory");
  }
  for (i = 0; i < w->n; i++) {
    if (strcmp (w->e[i].type, "Datastore") != 0 || !w->e[i].name)
      continue;
    dc = datacenter_of (w, &w->e[i]);
    if (!dc) {
      vdl_debug ("VixDiskLib: %s: datastore %s is in no datacenter",
                 r->host, w->e[i].name);
      continue;
    }
    t[n].name = strdup (w->e[i].name);
    t[n].dc_path = inventory_path (r, w, dc);
    t[n].url_path = url_path (w->e[i].url);
    n++;
    if (!t[n - 1].name || !t[n - 1].dc_path || !t[n - 1].url_path) {
      free_table (t, n);
      return vdl_error (VIX_E_OUT_OF_MEMORY, "out of memory");
    }
    vdl_debug ("VixDiskLib: %s: datastore %s in datacenter %s", r->host,
               t[n - 1].name, t[n - 1].dc_path);
  }
  *out = t;
  *nout = n;
  return VIX_OK;
}

/* Read every datastore of every datacenter, with the folders and
 * datacenters above them (their names make the dcPath). */
static VixError
load (struct vdl_remote *r)
{
  static const char fmt[] =
    "<propSet><type>Datastore</type><pathSet>name</pathSet>"
    "<pathSet>summary.url</pathSet><pathSet>parent</pathSet></propSet>"
    "<propSet><type>Datacenter</type><pathSet>name</pathSet>"
    "<pathSet>parent</pathSet></propSet>"
    "<propSet><type>Folder</type><pathSet>name</pathSet>"
    "<pathSet>parent</pathSet></propSet>"
    "<objectSet><obj type=\"Folder\">%s</obj><skip>false</skip>"
    "<selectSet xsi:type=\"TraversalSpec\"><name>folders</name>"
    "<type>Folder</type><path>childEntity</path><skip>false</skip>"
    "<selectSet><name>folders</name></selectSet>"
    "<selectSet><name>datastores</name></selectSet></selectSet>"
    "<selectSet xsi:type=\"TraversalSpec\"><name>datastores</name>"
    "<type>Datacenter</type><path>datastoreFolder</path><skip>false</skip>"
    "<selectSet><name>folders</name></selectSet></selectSet>"
    "</objectSet>";
  struct walk w = { 0 };
  struct vdl_datastore *t = NULL, *old;
  size_t n = 0, nold, i;
  char *root = vdl_xml_escape (r->root_folder), *spec = NULL;
  VixError err;

  if (!root || asprintf (&spec, fmt, root) < 0) {
    free (root);
    return vdl_error (VIX_E_OUT_OF_MEMORY, "out of memory");
  }
  err = vdl_remote_retrieve (r, spec, entity_object, &w, NULL);
  if (err == VIX_OK)
    err = build_table (r, &w, &t, &n);
  for (i = 0; i < w.n; i++) {
    free (w.e[i].moref);
    free (w.e[i].type);
    free (w.e[i].name);
    free (w.e[i].parent);
    free (w.e[i].url);
  }
  free (w.e);
  free (spec);
  free (root);
  if (err != VIX_OK)
    return err;

  pthread_mutex_lock (&r->lock);
  old = r->ds;
  nold = r->nds;
  r->ds = t;
  r->nds = n;
  r->ds_loaded = true;
  pthread_mutex_unlock (&r->lock);
  free_table (old, nold);
  return VIX_OK;
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

void
vdl_remote_datastores_free (struct vdl_remote *r)
{
  free_table (r->ds, r->nds);
  r->ds = NULL;
  r->nds = 0;
  r->ds_loaded = false;
}

/* "[name] rest" if path is on one of the known datastores. */
static char *
match_path (struct vdl_remote *r, const char *path, bool *oom)
{
  static const char volumes[] = "/vmfs/volumes/";
  const char *rest = NULL;
  char *out = NULL;
  size_t i, n;

  pthread_mutex_lock (&r->lock);
  for (i = 0; i < r->nds && !rest; i++) {
    n = strlen (r->ds[i].url_path);
    if (n > 0 && strncmp (path, r->ds[i].url_path, n) == 0 && path[n] == '/')
      rest = path + n + 1;
    n = strlen (r->ds[i].name);
    if (!rest && strncmp (path, volumes, sizeof volumes - 1) == 0 &&
        strncmp (path + sizeof volumes - 1, r->ds[i].name, n) == 0 &&
        path[sizeof volumes - 1 + n] == '/')
      rest = path + sizeof volumes - 1 + n + 1;
    if (rest && asprintf (&out, "[%s] %s", r->ds[i].name, rest) < 0) {
      out = NULL;
      *oom = true;
    }
  }
  pthread_mutex_unlock (&r->lock);
  return out;
}

VixError
vdl_remote_resolve (struct vdl_remote *r, const char *path, char **out)
{
  bool oom = false;
  int pass;
  VixError err;

  if (path[0] == '[') {
    if (!(*out = strdup (path)))
      return vdl_error (VIX_E_OUT_OF_MEMORY, "out of memory");
    return VIX_OK;
  }
  if (path[0] != '/')
    return vdl_error (VIX_E_FILE_NAME_INVALID,
                      "%s is neither a datastore path (\"[datastore] "
                      "dir/file.vmdk\") nor a /vmfs/volumes path on %s",
                      path, r->host);
  for (pass = 0; pass < 2; pass++) {
    err = pass == 0 ? ensure_loaded (r) : load (r);
    if (err != VIX_OK)
      return err;
    if ((*out = match_path (r, path, &oom)) != NULL)
      return VIX_OK;
    if (oom)
      return vdl_error (VIX_E_OUT_OF_MEMORY, "out of memory");
  }
  return vdl_error (VIX_E_FILE_NOT_FOUND, "%s is on no datastore of %s",
                    path, r->host);
}

/* Split "[ds] dir/file" into its datastore and path (malloc'd). */
static VixError
split_name (struct vdl_remote *r, const char *name, char **ds,
            const char **path)
{
  const char *close = name[0] == '[' ? strchr (name, ']') : NULL;
  const char *p = close ? close + 1 : NULL;

  while (p && *p == ' ')
    p++;
  if (!close || close == name + 1 || !*p)
    return vdl_error (VIX_E_FILE_NAME_INVALID, "%s is not a datastore "
                      "path like \"[datastore] dir/file.vmdk\" (on %s)",
                      name, r->host);
  if (!(*ds = strndup (name + 1, close - name - 1)))
    return vdl_error (VIX_E_OUT_OF_MEMORY, "out of memory");
  *path = p;
  return VIX_OK;
}

static char *
dc_path_of (struct vdl_remote *r, const char *ds, bool *oom)
{
  char *dc = NULL;
  size_t i;

  pthread_mutex_lock (&r->lock);
  for (i = 0; i < r->nds && !dc; i++)
    if (strcmp (r->ds[i].name, ds) == 0 && !(dc = strdup (r->ds[i].dc_path)))
      *oom = true;
  pthread_mutex_unlock (&r->lock);
  return dc;
}

/* https://HOST/folder/<path>?dcPath=<dc>&dsName=<ds>, every path
 * component and query value percent-encoded. */
static char *
build_url (struct vdl_remote *r, const char *path, const char *dc,
           const char *ds)
{
  char *url = NULL, *e, *comp, *edc, *eds;
  const char *p = path, *slash;
  size_t len;
  FILE *f = open_memstream (&url, &len);

  if (!f)
    return NULL;
  fprintf (f, "%s/folder", r->base);
  for (;;) {
    slash = strchr (p, '/');
    comp = slash ? strndup (p, slash - p) : strdup (p);
    e = comp ? curl_easy_escape (NULL, comp, 0) : NULL;
    free (comp);
    if (!e)
      goto fail;
    fprintf (f, "/%s", e);
    curl_free (e);
    if (!slash)
      break;
    p = slash + 1;
  }
  edc = curl_easy_escape (NULL, dc, 0);
  eds = curl_easy_escape (NULL, ds, 0);
  if (edc && eds)
    fprintf (f, "?dcPath=%s&dsName=%s", edc, eds);
  curl_free (edc);
  curl_free (eds);
  if (!edc || !eds)
    goto fail;
  if (fclose (f) != 0) {
    free (url);
    return NULL;
  }
  return url;

 fail:
  fclose (f);
  free (url);
  return NULL;
}

VixError
vdl_remote_file_url (struct vdl_remote *r, const char *name, char **url)
{
  char *ds = NULL, *dc = NULL;
  const char *path = NULL;
  bool oom = false;
  int pass;
  VixError err;

  err = split_name (r, name, &ds, &path);
  for (pass = 0; err == VIX_OK && pass < 2 && !dc && !oom; pass++) {
    err = pass == 0 ? ensure_loaded (r) : load (r);
    if (err == VIX_OK)
      dc = dc_path_of (r, ds, &oom);
  }
  if (err == VIX_OK && oom)
    err = vdl_error (VIX_E_OUT_OF_MEMORY, "out of memory");
  else if (err == VIX_OK && !dc)
    err = vdl_error (VIX_E_FILE_NOT_FOUND, "cannot open %s: there is no "
                     "datastore %s on %s", name, ds, r->host);
  else if (err == VIX_OK && !(*url = build_url (r, path, dc, ds)))
    err = vdl_error (VIX_E_OUT_OF_MEMORY, "out of memory");
  free (dc);
  free (ds);
  return err;
}
