/* SPDX-License-Identifier: BSD-3-Clause */
/* Datastores: which datastore a "[name] path" of the VM is on, where its
 * files are served (/folder needs the inventory path of the datastore's
 * own datacenter), and which datastore a /vmfs/volumes path is on.
 *
 * Datastore names are unique only within their parent: two datacenters
 * may both have a LocalDS_0.  So a name is never looked up in the whole
 * inventory, only among the datastores the VM uses (read by
 * remote-inventory.c), and a disk file the server lists with its
 * datastore moref uses that datastore. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "error.h"
#include "log.h"
#include "remote-internal.h"

/* Whether a name as written in a file name ("R&D %", "a/b") is the
 * stored name (its %25, %2f, %5c escaped, any case) or the stored name
 * itself. */
static bool
same_name (const char *stored, const char *given)
{
  if (strcmp (stored, given) == 0)
    return true;
  while (*stored && *given) {
    if (stored[0] == '%' && stored[1] && stored[2]) {
      if ((strncasecmp (stored, "%25", 3) == 0 && *given == '%') ||
          (strncasecmp (stored, "%2f", 3) == 0 && *given == '/') ||
          (strncasecmp (stored, "%5c", 3) == 0 && *given == '\\')) {
        stored += 3;
        given++;
        continue;
      }
    }
    if (*stored++ != *given++)
      return false;
  }
  return !*stored && !*given;
}

/* "[name] rest" if path is on one of the VM's datastores. */
static char *
match_path (struct vdl_remote *r, const char *path, bool *oom)
{
  static const char volumes[] = "/vmfs/volumes/";
  const char *rest = NULL, *p;
  char *out = NULL, *first;
  size_t i, n;

  pthread_mutex_lock (&r->lock);
  for (i = 0; i < r->nds && !rest; i++) {
    n = strlen (r->ds[i].url_path);
    if (n > 0 && strncmp (path, r->ds[i].url_path, n) == 0 && path[n] == '/')
      rest = path + n + 1;
    if (!rest && strncmp (path, volumes, sizeof volumes - 1) == 0) {
      p = path + sizeof volumes - 1;
      first = strndup (p, strcspn (p, "/"));
      if (!first)
        *oom = true;
      else if (same_name (r->ds[i].name, first) && p[strlen (first)] == '/')
        rest = p + strlen (first) + 1;
      free (first);
    }
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
      return vdl_oom ();
    return VIX_OK;
  }
  if (path[0] != '/')
    return vdl_error (VIX_E_FILE_NAME_INVALID,
                      "%s is neither a datastore path (\"[datastore] "
                      "dir/file.vmdk\") nor a /vmfs/volumes path on %s",
                      path, r->host);
  for (pass = 0; pass < 2; pass++) {
    err = vdl_remote_datastores_load (r, pass > 0);
    if (err != VIX_OK)
      return err;
    if ((*out = match_path (r, path, &oom)) != NULL)
      return VIX_OK;
    if (oom)
      return vdl_oom ();
  }
  return vdl_error (VIX_E_FILE_NOT_FOUND, "%s is on no datastore of VM %s "
                    "on %s", path, r->vm, r->host);
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
    return vdl_oom ();
  *path = p;
  return VIX_OK;
}

/* What the lookup of a file's datastore found. */
struct found {
  char *name, *dc_path, *moref;  /* of the datastore */
  const char *object_kind;
  char *all;                    /* the VM's datastores, for messages */
  bool ambiguous, no_dc, oom;
};

static void
found_free (struct found *f)
{
  free (f->name);
  free (f->dc_path);
  free (f->moref);
  free (f->all);
}

static void
take (struct found *f, const struct vdl_datastore *d)
{
  f->name = strdup (d->name);
  f->moref = strdup (d->moref);
  f->dc_path = d->dc_path ? strdup (d->dc_path) : NULL;
  f->object_kind = d->object_kind;
  if (!d->dc_path)
    f->no_dc = true;
  if (!f->name || !f->moref || (d->dc_path && !f->dc_path))
    f->oom = true;
}

/* The datastore of file name ("[ds] path"): the one the server lists
 * with that very file, else the VM's datastore named ds (and only if
 * exactly one is).  Called with r->lock held. */
static bool
lookup (struct vdl_remote *r, const char *name, const char *ds,
        struct found *f)
{
  const struct vdl_datastore *hit = NULL;
  const char *moref = NULL;
  size_t i, len = 0;
  FILE *m;

  for (i = 0; i < r->nbackings && !moref; i++)
    if (strcmp (r->backings[i].file, name) == 0)
      moref = r->backings[i].ds;
  for (i = 0; moref && i < r->nds && !hit; i++)
    if (strcmp (r->ds[i].moref, moref) == 0)
      hit = &r->ds[i];
  for (i = 0; !hit && i < r->nds; i++)
    if (same_name (r->ds[i].name, ds)) {
      /* The same name twice among the VM's own datastores: which one
       * is not ours to guess. */
      if (hit && strcmp (hit->moref, r->ds[i].moref) != 0) {
        f->ambiguous = true;
        return false;
      }
      hit = &r->ds[i];
    }
  if (hit) {
    take (f, hit);
    return true;
  }
  if ((m = open_memstream (&f->all, &len)) != NULL) {
    for (i = 0; i < r->nds; i++)
      fprintf (m, "%s%s", i ? ", " : "", r->ds[i].name);
    if (fclose (m) != 0) {
      free (f->all);
      f->all = NULL;
    }
  }
  return false;
}

/* A query value encoded for the server: vCenter decodes the query of a
 * /folder URL twice (first the whole query, then each value), so a '&',
 * '+' or '%' in a name must be encoded twice there; ESXi decodes once. */
static char *
encode_value (struct vdl_remote *r, const char *s)
{
  char *once = curl_easy_escape (NULL, s, 0), *twice, *out;

  if (!once)
    return NULL;
  if (!r->vcenter) {
    out = strdup (once);
    curl_free (once);
    return out;
  }
  twice = curl_easy_escape (NULL, once, 0);
  curl_free (once);
  out = twice ? strdup (twice) : NULL;
  curl_free (twice);
  return out;
}

/* https://HOST/folder/<path>?dcPath=<dc>&dsName=<ds>, every path
 * component percent-encoded, the query values as the server wants. */
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
  edc = encode_value (r, dc);
  eds = encode_value (r, ds);
  if (edc && eds)
    fprintf (f, "?dcPath=%s&dsName=%s", edc, eds);
  free (edc);
  free (eds);
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
  struct found f = { 0 };
  char *ds = NULL;
  const char *path = NULL;
  bool hit = false;
  int pass;
  VixError err;

  err = split_name (r, name, &ds, &path);
  for (pass = 0; err == VIX_OK && pass < 2 && !hit; pass++) {
    err = vdl_remote_datastores_load (r, pass > 0);
    if (err != VIX_OK)
      break;
    found_free (&f);
    memset (&f, 0, sizeof f);
    pthread_mutex_lock (&r->lock);
    hit = lookup (r, name, ds, &f);
    pthread_mutex_unlock (&r->lock);
    if (f.ambiguous || f.oom)
      break;
  }
  if (err != VIX_OK)
    ;
  else if (f.oom)
    err = vdl_oom ();
  else if (f.ambiguous)
    err = vdl_error (VIX_E_FILE_NOT_FOUND, "cannot open %s: VM %s on %s "
                     "uses more than one datastore named %s, and the "
                     "server does not say which one holds this file",
                     name, r->vm, r->host, ds);
  else if (!hit)
    err = vdl_error (VIX_E_FILE_NOT_FOUND, "cannot open %s: %s is not a "
                     "datastore of VM %s on %s (its datastores: %s)",
                     name, ds, r->vm, r->host,
                     f.all && f.all[0] ? f.all : "none");
  else if (f.object_kind)
    err = vdl_remote_object_ds_error (r, name, f.name, f.object_kind);
  else if (f.no_dc)
    err = vdl_error (VIX_E_FILE_NOT_FOUND, "cannot open %s: the datacenter "
                     "of datastore %s (%s) on %s cannot be found (the "
                     "folders above it cannot be read)", name, f.name,
                     f.moref, r->host);
  else if (!(*url = build_url (r, path, f.dc_path, f.name)))
    err = vdl_oom ();
  else
    vdl_debug ("VixDiskLib: %s: %s is on datastore %s (%s) of datacenter %s",
               r->host, name, f.name, f.moref, f.dc_path);
  found_free (&f);
  free (ds);
  return err;
}
