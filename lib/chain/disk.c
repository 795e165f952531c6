/* SPDX-License-Identifier: BSD-3-Clause */
/* Disks as chains of links: opening one (its parents too), sharing it
 * between handles (the registry), closing it, GetInfo, the disk
 * database, and whole-disk operations.  Reads, writes and flushes
 * through the chain are disk-io.c's.
 */
#include <errno.h>
#include <stdio.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "disk-internal.h"
#include "error.h"
#include "link.h"
#include "log.h"
#include "table-cache.h"

#define MAX_LINKS 255

static pthread_mutex_t registry_lock = PTHREAD_MUTEX_INITIALIZER;
static struct vdl_disk *registry;

uint64_t
vdl_disk_capacity (const struct vdl_disk *d)
{
  return d->capacity;
}

void
vdl_disk_top (struct vdl_disk *d, uint32_t *cid, char **path)
{
  pthread_mutex_lock (&d->meta_lock);
  *cid = d->links[0]->desc.cid;
  pthread_mutex_unlock (&d->meta_lock);
  *path = d->links[0]->path;
}

static void
free_disk (struct vdl_disk *d)
{
  size_t i;

  for (i = 0; i < d->n_links; i++)
    vdl_link_close (d->links[i]);
  free (d->links);
  pthread_mutex_destroy (&d->meta_lock);
  free (d->key);
  free (d);
}

static VixError
add_link (struct vdl_disk *d, struct vdl_link *l)
{
  struct vdl_link **n = realloc (d->links, (d->n_links + 1) * sizeof *n);

  if (!n) {
    vdl_link_close (l);
    return vdl_oom ();
  }
  d->links = n;
  n[d->n_links++] = l;
  return VIX_OK;
}

/* Open the parents named by parentFileNameHint, checking that each still
 * has the content its child was made from. */
static VixError
open_parents (struct vdl_disk *d, const struct vdl_store *st)
{
  struct vdl_link *child = d->links[0], *parent;
  char *path;
  VixError err;

  while (child->desc.parent_hint) {
    if (d->n_links >= MAX_LINKS)
      return vdl_error (VIX_E_DISK_INVALIDCHAIN, "%s: the chain of parent "
                        "disks is longer than %d links (a loop?)",
                        d->links[0]->path, MAX_LINKS);
    err = vdl_store_join (st, child->dir, child->desc.parent_hint, &path);
    if (err != VIX_OK)
      return err;
    err = vdl_link_open (st, path, false,
                         d->flags & VIXDISKLIB_FLAG_OPEN_UNBUFFERED, &parent);
    free (path);
    if (err != VIX_OK)
      return err;
    err = add_link (d, parent);
    if (err != VIX_OK)
      return err;
    if (parent->desc.cid != child->desc.parent_cid)
      return vdl_error (VIX_E_DISK_CID_MISMATCH, "%s: its parent %s was "
                        "modified after this child was created (parentCID "
                        "%08x, parent's CID %08x)", child->path, parent->path,
                        child->desc.parent_cid, parent->desc.cid);
    if (parent->capacity != child->capacity)
      return vdl_error (VIX_E_DISK_INVALIDCHAIN, "%s has %llu sectors but "
                        "its parent %s has %llu", child->path,
                        (unsigned long long) child->capacity, parent->path,
                        (unsigned long long) parent->capacity);
    child = parent;
  }
  return VIX_OK;
}

/* A disk whose newest link has an extent that cannot be written is
 * refused for writing at open, so that a server exports it read-only
 * rather than failing every write later. */
static VixError
check_writable (const struct vdl_link *l)
{
  const struct vdl_extent *x;
  size_t i;

  for (i = 0; i < l->n_extents; i++) {
    x = l->extents[i];
    if (x->access == VDL_ACCESS_RW && !x->no_write)
      continue;
    return vdl_error (VIX_E_FILE_READ_ONLY, "%s can only be opened "
                      "read-only: extent %zu (%s) %s", l->path, i + 1,
                      x->path ? x->path : "ZERO",
                      x->no_write ? x->no_write
                      : x->access == VDL_ACCESS_RDONLY
                      ? "is marked RDONLY in the descriptor"
                      : "is marked NOACCESS in the descriptor");
  }
  return VIX_OK;
}

/* Give every extent of the disk with grain tables a share of one
 * budget, in proportion to the bytes of its tables, so that memory is
 * bounded by disk and not by extent (a split disk of 2 GiB extents or
 * a long chain would otherwise keep every extent's tables).  live: the
 * disk is in use, so caches are only tightened. */
static void
share_table_budget (struct vdl_disk *d, bool live)
{
  uint64_t budget = table_cache_budget (), total = 0;
  size_t i, j;

  for (i = 0; i < d->n_links; i++)
    for (j = 0; j < d->links[i]->n_extents; j++)
      if (d->links[i]->extents[j]->tables)
        total += table_cache_bytes (d->links[i]->extents[j]->tables);
  if (total <= budget)
    return;
  for (i = 0; i < d->n_links; i++)
    for (j = 0; j < d->links[i]->n_extents; j++) {
      struct table_cache *c = d->links[i]->extents[j]->tables;

      if (c)
        table_cache_limit (c, (unsigned __int128) budget *
                           table_cache_bytes (c) / total, live);
    }
}

/* Open the links of a new disk object. */
static VixError
open_chain (struct vdl_disk *d, const struct vdl_store *st, const char *path)
{
  struct vdl_link *top;
  VixError err;

  err = vdl_link_open (st, path, d->writable,
                       d->flags & VIXDISKLIB_FLAG_OPEN_UNBUFFERED, &top);
  if (err == VIX_OK && d->writable && (err = check_writable (top)) != VIX_OK)
    vdl_link_close (top);
  if (err == VIX_OK)
    err = add_link (d, top);
  if (err == VIX_OK && !(d->flags & VIXDISKLIB_FLAG_OPEN_SINGLE_LINK))
    err = open_parents (d, st);
  if (err == VIX_OK) {
    d->capacity = top->capacity;
    share_table_budget (d, false);
  }
  return err;
}

static struct vdl_disk *
new_disk (uint32_t flags, char *key)
{
  struct vdl_disk *d = calloc (1, sizeof *d);

  if (!d) {
    free (key);
    return NULL;
  }
  pthread_mutex_init (&d->meta_lock, NULL);
  d->key = key;
  d->refs = 1;
  d->flags = flags;
  d->writable = !(flags & VIXDISKLIB_FLAG_OPEN_READ_ONLY);
  return d;
}

/* Another handle on a disk this process has open, if any.  Called with
 * registry_lock held. */
static VixError
share_open_disk (const char *key, const char *path, uint32_t flags,
                 struct vdl_disk **out)
{
  bool writable = !(flags & VIXDISKLIB_FLAG_OPEN_READ_ONLY);
  uint32_t view = flags & VIXDISKLIB_FLAG_OPEN_SINGLE_LINK;
  struct vdl_disk *d;

  *out = NULL;
  for (d = registry; d; d = d->next) {
    if (strcmp (d->key, key) != 0)
      continue;
    if ((writable && !d->writable) ||
        (d->flags & VIXDISKLIB_FLAG_OPEN_SINGLE_LINK) != view)
      return vdl_error (VIX_E_FILE_ALREADY_LOCKED, "%s is already open in "
                        "this process %s", path, writable && !d->writable
                        ? "read-only" : "with a different single-link "
                        "setting");
    d->refs++;
    *out = d;
    break;
  }
  return VIX_OK;
}

VixError
vdl_disk_open (const struct vdl_store *st, const char *path, uint32_t flags,
               struct vdl_disk **out)
{
  struct vdl_disk *d;
  struct vdl_link *top;
  char *key;
  VixError err;

  err = vdl_store_identity (st, path, &key);
  if (err != VIX_OK)
    return err;
  if (!vdl_store_has (st, VDL_STORE_SHARED)) {
    /* Disks of a store that waits on a network (remote disks: read-only
     * and tied to their connection's session): not shared, and opened
     * without any lock held while the network answers. */
    d = new_disk (flags, key);
    if (!d)
      return vdl_oom ();
    d->unshared = true;
    err = open_chain (d, st, path);
    if (err != VIX_OK) {
      free_disk (d);
      return err;
    }
  }
  else {
    pthread_mutex_lock (&registry_lock);
    err = share_open_disk (key, path, flags, &d);
    if (err != VIX_OK || d) {
      pthread_mutex_unlock (&registry_lock);
      free (key);
      *out = d;
      return err;
    }
    d = new_disk (flags, key);
    if (!d) {
      pthread_mutex_unlock (&registry_lock);
      return vdl_oom ();
    }
    err = open_chain (d, st, path);
    if (err != VIX_OK) {
      pthread_mutex_unlock (&registry_lock);
      free_disk (d);
      return err;
    }
    d->next = registry;
    registry = d;
    pthread_mutex_unlock (&registry_lock);
  }
  top = d->links[0];
  vdl_debug ("VixDiskLib: opened %s (%s, %zu link%s, %llu sectors, %s)",
             path, top->desc.create_type, d->n_links,
             d->n_links == 1 ? "" : "s", (unsigned long long) d->capacity,
             d->writable ? "read-write" : "read-only");
  *out = d;
  return VIX_OK;
}

VixError
vdl_disk_close (struct vdl_disk *d)
{
  struct vdl_disk **p;
  VixError err = VIX_OK;

  pthread_mutex_lock (&registry_lock);
  if (--d->refs > 0) {
    pthread_mutex_unlock (&registry_lock);
    return VIX_OK;
  }
  for (p = &registry; *p; p = &(*p)->next)
    if (*p == d) {
      *p = d->next;
      break;
    }
  pthread_mutex_unlock (&registry_lock);
  if (d->writable)
    err = vdl_disk_flush (d);
  free_disk (d);
  return err;
}

/* Make every disk still open durable.  A process may unload the library
 * before all its handles are closed (nbdkit can exit while a connection
 * is still closing), and VixDiskLib_Close is where data is normally
 * flushed.  "quiet" is for process exit, when locks may be held by
 * threads that will never release them and the log callback may be gone. */
void
vdl_disk_flush_all (bool quiet)
{
  struct vdl_disk *d;

  if (quiet) {
    if (pthread_mutex_trylock (&registry_lock) != 0)
      return;
  }
  else
    pthread_mutex_lock (&registry_lock);
  for (d = registry; d; d = d->next)
    if (d->writable && vdl_disk_flush (d) != VIX_OK && !quiet)
      vdl_debug ("VixDiskLib: flushing %s failed", d->links[0]->path);
  pthread_mutex_unlock (&registry_lock);
}

static void __attribute__ ((destructor))
flush_at_exit (void)
{
  vdl_disk_flush_all (true);
}

/* ---- GetInfo ---- */

/* A DDB value, looked up from the newest link to the oldest. */
static const char *
ddb (struct vdl_disk *d, const char *key)
{
  const char *v;
  size_t i;

  for (i = 0; i < d->n_links; i++)
    if ((v = vdl_descriptor_ddb (&d->links[i]->desc, key)) != NULL)
      return v;
  return NULL;
}

static uint32_t
ddb_u32 (struct vdl_disk *d, const char *key, uint32_t dflt)
{
  const char *v = ddb (d, key);
  char *end;
  unsigned long n;

  if (!v)
    return dflt;
  errno = 0;
  n = strtoul (v, &end, 10);
  if (errno || end == v || *end || n > UINT32_MAX)
    return dflt;
  return n;
}

static VixDiskLibAdapterType
adapter_type (const char *name)
{
  if (!name) return VIXDISKLIB_ADAPTER_UNKNOWN;
  if (strcasecmp (name, "ide") == 0) return VIXDISKLIB_ADAPTER_IDE;
  if (strcasecmp (name, "buslogic") == 0) return VIXDISKLIB_ADAPTER_SCSI_BUSLOGIC;
  if (strcasecmp (name, "lsilogic") == 0) return VIXDISKLIB_ADAPTER_SCSI_LSILOGIC;
  return VIXDISKLIB_ADAPTER_UNKNOWN;
}

static VixError get_info_locked (struct vdl_disk *d, VixDiskLibInfo **out);

uint64_t
vdl_disk_preferred_sectors (struct vdl_disk *d)
{
  const struct vdl_link *l = d->links[0];
  uint64_t best = 1;
  size_t i;

  for (i = 0; i < l->n_extents; i++)
    if (l->extents[i]->preferred_sectors > best)
      best = l->extents[i]->preferred_sectors;
  return best;
}

VixError
vdl_disk_get_info (struct vdl_disk *d, VixDiskLibInfo **out)
{
  VixError err;

  pthread_mutex_lock (&d->meta_lock);
  err = get_info_locked (d, out);
  pthread_mutex_unlock (&d->meta_lock);
  return err;
}

static VixError
get_info_locked (struct vdl_disk *d, VixDiskLibInfo **out)
{
  VixDiskLibInfo *info = calloc (1, sizeof *info);
  const char *hint = d->links[0]->desc.parent_hint, *uuid;

  if (!info)
    return vdl_oom ();
  info->capacity = d->capacity;
  info->physGeo.cylinders = ddb_u32 (d, "ddb.geometry.cylinders", 0);
  info->physGeo.heads = ddb_u32 (d, "ddb.geometry.heads", 0);
  info->physGeo.sectors = ddb_u32 (d, "ddb.geometry.sectors", 0);
  info->biosGeo.cylinders = ddb_u32 (d, "ddb.geometry.biosCylinders",
                                     info->physGeo.cylinders);
  info->biosGeo.heads = ddb_u32 (d, "ddb.geometry.biosHeads",
                                 info->physGeo.heads);
  info->biosGeo.sectors = ddb_u32 (d, "ddb.geometry.biosSectors",
                                   info->physGeo.sectors);
  info->adapterType = adapter_type (ddb (d, "ddb.adapterType"));
  info->numLinks = d->n_links;
  info->logicalSectorSize = ddb_u32 (d, "ddb.logicalSectorSize", SS);
  info->physicalSectorSize = ddb_u32 (d, "ddb.physicalSectorSize", SS);
  uuid = ddb (d, "ddb.uuid");
  if ((hint && !(info->parentFileNameHint = strdup (hint))) ||
      (uuid && !(info->uuid = strdup (uuid)))) {
    free (info->parentFileNameHint);
    free (info);
    return vdl_oom ();
  }
  *out = info;
  return VIX_OK;
}

/* ---- metadata (the DDB, keys without their "ddb." prefix) ---- */

#define DDB_PREFIX "ddb."

/* Whether key is defined again later in link i, or in a newer link: then
 * this definition is not the one that counts. */
static bool
shadowed (struct vdl_disk *d, size_t i, size_t j)
{
  const struct vdl_descriptor *desc = &d->links[i]->desc;
  const char *key = desc->ddb[j].key;
  size_t m;

  for (m = j + 1; m < desc->n_ddb; m++)
    if (strcasecmp (desc->ddb[m].key, key) == 0)
      return true;
  for (m = 0; m < i; m++)
    if (vdl_descriptor_ddb (&d->links[m]->desc, key))
      return true;
  return false;
}

VixError
vdl_disk_metadata_keys (struct vdl_disk *d, char **keys, size_t *len)
{
  char *buf = NULL;
  size_t size = 0, i, j;
  FILE *fp = open_memstream (&buf, &size);
  const struct vdl_descriptor *desc;

  if (!fp)
    return vdl_oom ();
  pthread_mutex_lock (&d->meta_lock);
  for (i = 0; i < d->n_links; i++) {
    desc = &d->links[i]->desc;
    for (j = 0; j < desc->n_ddb; j++)
      if (!shadowed (d, i, j)) {
        fputs (desc->ddb[j].key + strlen (DDB_PREFIX), fp);
        fputc ('\0', fp);
      }
  }
  pthread_mutex_unlock (&d->meta_lock);
  fputc ('\0', fp);
  if (fclose (fp) != 0) {
    free (buf);
    return vdl_oom ();
  }
  *keys = buf;
  *len = size;
  return VIX_OK;
}

static char *
ddb_key (const char *key)
{
  char *k;

  if (asprintf (&k, DDB_PREFIX "%s", key) == -1)
    return NULL;
  return k;
}

VixError
vdl_disk_read_metadata (struct vdl_disk *d, const char *key, char **value)
{
  char *k = ddb_key (key);
  const char *v;
  VixError err = VIX_OK;

  if (!k)
    return vdl_oom ();
  pthread_mutex_lock (&d->meta_lock);
  v = ddb (d, k);
  if (!v)
    err = vdl_error (VIX_E_DISK_KEY_NOTFOUND, "%s has no metadata key '%s'",
                     d->links[0]->path, key);
  else if (!(*value = strdup (v)))
    err = vdl_oom ();
  pthread_mutex_unlock (&d->meta_lock);
  free (k);
  return err;
}

VixError
vdl_disk_write_metadata (struct vdl_disk *d, const char *key,
                         const char *value)
{
  char *k = ddb_key (key);
  VixError err;

  if (!k)
    return vdl_oom ();
  pthread_mutex_lock (&d->meta_lock);
  err = vdl_link_set_ddb (d->links[0], k, value);
  pthread_mutex_unlock (&d->meta_lock);
  free (k);
  return err;
}

/* ---- whole-disk operations (api-shrink.c, api-attach.c, api-space.c) ---- */

size_t
vdl_disk_n_links (const struct vdl_disk *d)
{
  return d->n_links;
}

struct vdl_link *
vdl_disk_link (struct vdl_disk *d, size_t i)
{
  return i < d->n_links ? d->links[i] : NULL;
}

bool
vdl_disk_exclusive (struct vdl_disk *d)
{
  bool r;

  pthread_mutex_lock (&registry_lock);
  r = d->refs == 1;
  pthread_mutex_unlock (&registry_lock);
  return r;
}

VixError
vdl_disk_reopen_top (struct vdl_disk *d)
{
  struct vdl_link *old = d->links[0], *l;
  char *key;
  VixError err;

  /* Every file of the link is new (rebuild.c replaces them all), so the
   * old link's locks, on the old files, are no obstacle. */
  err = vdl_link_open (old->store, old->path, d->writable,
                       d->flags & VIXDISKLIB_FLAG_OPEN_UNBUFFERED, &l);
  if (err == VIX_OK && vdl_store_has (old->store, VDL_STORE_SHARED)) {
    err = vdl_store_identity (old->store, old->path, &key);
    if (err != VIX_OK)
      vdl_link_close (l);
  }
  if (err != VIX_OK) {
    /* The old link still reads the same content, but writes through it
     * would go to replaced files. */
    d->writable = false;
    return err;
  }
  pthread_mutex_lock (&registry_lock);
  if (vdl_store_has (old->store, VDL_STORE_SHARED)) {
    free (d->key);
    d->key = key;
  }
  d->links[0] = l;
  pthread_mutex_unlock (&registry_lock);
  vdl_link_close (old);
  share_table_budget (d, true);
  return VIX_OK;
}

VixError
vdl_disk_attach (struct vdl_disk *child, struct vdl_disk *parent)
{
  struct vdl_link **n;
  struct vdl_disk **p;

  n = realloc (child->links, (child->n_links + parent->n_links) * sizeof *n);
  if (!n)
    return vdl_oom ();
  child->links = n;
  memcpy (n + child->n_links, parent->links,
          parent->n_links * sizeof *n);
  child->n_links += parent->n_links;
  /* The child now shows its whole chain to whoever shares it. */
  child->flags &= ~VIXDISKLIB_FLAG_OPEN_SINGLE_LINK;
  parent->n_links = 0;
  pthread_mutex_lock (&registry_lock);
  for (p = &registry; *p; p = &(*p)->next)
    if (*p == parent) {
      *p = parent->next;
      break;
    }
  pthread_mutex_unlock (&registry_lock);
  free_disk (parent);
  share_table_budget (child, true);
  return VIX_OK;
}
