/* SPDX-License-Identifier: BSD-3-Clause */
/* VixDiskLib_Grow: a larger capacity for a local disk nobody has open.
 *
 * Flat extents are extended (preallocated unless the disk is thin or its
 * file already has holes), hosted sparse extents grow in place
 * (grow-sparse.c), split disks fill their last extent up to the extent
 * size and then get new extent files, and stream-optimized disks, whose
 * directory sits in a footer, are rewritten beside and renamed over
 * (rebuild.c).  The descriptor changes last (sizes, a new CID, and the
 * geometry if asked): until then the disk has its old size and content,
 * so a crash leaves a usable disk. */
#include <errno.h>
#include <inttypes.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "api.h"
#include "create.h"
#include "descriptor-file.h"
#include "error.h"
#include "extent-kinds.h"
#include "grow.h"
#include "handle.h"
#include "rebuild.h"
#include "replace.h"

struct grow {
  struct vdl_link *l;
  uint64_t capacity;
  struct vdl_desc_extent *x;    /* the new extent list */
  size_t n;
  bool thin;                    /* flat files stay sparse */
  char *text;                   /* the new descriptor */
  struct vdl_progress p;
  char *created[MAX_EXTENT_FILES];
  size_t n_created;
};

static bool
is_split (const struct vdl_link *l)
{
  return strncasecmp (l->desc.create_type, "twoGbMaxExtent", 14) == 0;
}

/* The name of a new extent after last ("disk-s003.vmdk" ->
 * "disk-s004.vmdk" for k = 1), or made from the descriptor's name. */
static char *
next_name (const struct vdl_link *l, const char *last, size_t index,
           size_t k, char letter)
{
  size_t len = strlen (last), end = len, start;
  char *r = NULL, *copy, *base;

  if (len > 5 && strcasecmp (last + len - 5, ".vmdk") == 0)
    end = len - 5;
  for (start = end; start > 0 && last[start - 1] >= '0' &&
         last[start - 1] <= '9'; start--)
    ;
  if (start < end) {
    unsigned long v = strtoul (last + start, NULL, 10) + k;
    if (asprintf (&r, "%.*s%0*lu%s", (int) start, last, (int) (end - start),
                  v, last + end) == -1)
      return NULL;
    return r;
  }
  if (!(copy = strdup (l->path)))
    return NULL;
  base = basename (copy);
  len = strlen (base);
  if (len > 5 && strcasecmp (base + len - 5, ".vmdk") == 0)
    base[len - 5] = '\0';
  if (asprintf (&r, "%s-%c%03zu.vmdk", base, letter,
                index + 1) == -1)
    r = NULL;
  free (copy);
  return r;
}

/* The new list of extents: the last one filled up to the extent size of
 * a split disk (any size otherwise), then new ones like it. */
static VixError
plan_extents (struct grow *g)
{
  const struct vdl_link *l = g->l;
  const struct vdl_desc_extent *last = &l->desc.extents[l->n_extents - 1];
  uint64_t max = UINT64_MAX, left = g->capacity - l->capacity, take;
  size_t i, n_max = l->n_extents + (is_split (l) ? MAX_EXTENT_FILES : 0);

  if (is_split (l)) {
    max = l->n_extents > 1 ? l->desc.extents[0].sectors : last->sectors;
    if (max < SPLIT_SECTORS)
      max = SPLIT_SECTORS;
  }
  g->x = calloc (n_max, sizeof *g->x);
  if (!g->x)
    return vdl_oom ();
  for (i = 0; i < l->n_extents; i++) {
    g->x[i] = l->desc.extents[i];
    g->x[i].filename = NULL;
    if (l->desc.extents[i].filename &&
        !(g->x[i].filename = strdup (l->desc.extents[i].filename)))
      return vdl_oom ();
  }
  g->n = l->n_extents;
  take = max - last->sectors < left ? max - last->sectors : left;
  g->x[g->n - 1].sectors += take;
  left -= take;
  while (left > 0) {
    if (g->n >= MAX_EXTENT_FILES)
      return vdl_error (VIX_E_INVALID_ARG, "Grow: %s would need more than "
                        "%d extent files", l->path, MAX_EXTENT_FILES);
    take = left < max ? left : max;
    g->x[g->n] = *last;
    g->x[g->n].access = VDL_ACCESS_RW;
    g->x[g->n].offset = 0;
    g->x[g->n].sectors = take;
    g->x[g->n].filename = next_name (l, last->filename, g->n,
                                     g->n - l->n_extents + 1,
                                     vdl_extent_kind (last->type)
                                     ->split_letter);
    if (!g->x[g->n].filename)
      return vdl_oom ();
    g->n++;
    left -= take;
  }
  return VIX_OK;
}


static VixDiskLibAdapterType
adapter_of (const struct vdl_link *l)
{
  const char *a = vdl_descriptor_ddb (&l->desc, "ddb.adapterType");

  if (a && strcasecmp (a, "ide") == 0)
    return VIXDISKLIB_ADAPTER_IDE;
  if (a && strcasecmp (a, "buslogic") == 0)
    return VIXDISKLIB_ADAPTER_SCSI_BUSLOGIC;
  return VIXDISKLIB_ADAPTER_SCSI_LSILOGIC;
}

/* Replace *text by a copy with key set to the number v. */
static int
set_number (char **text, const char *key, uint64_t v)
{
  char value[32], *t;

  snprintf (value, sizeof value, "%" PRIu64, v);
  t = vdl_descriptor_set_ddb_text (*text, key, value);
  if (!t)
    return -1;
  free (*text);
  *text = t;
  return 0;
}

/* The descriptor after growing: new extent lines, a new CID (the disk's
 * content changed: children made before no longer match), and the
 * geometry of the new size if asked. */
static VixError
new_descriptor (struct grow *g, bool update_geometry)
{
  const struct vdl_link *l = g->l;
  VixDiskLibGeometry geo;
  const char *bh, *bs;
  char *t = vdl_descriptor_set_extents_text (l->desc_text, g->x, g->n);
  struct vdl_content_id id;
  int r = 0;

  if (t) {
    if (vdl_descriptor_new_cid_text (&l->desc, t, &id, &g->text) == -1)
      g->text = NULL;
    free (t);
  }
  if (!g->text)
    return vdl_oom ();
  if (update_geometry) {
    vdl_create_geometry (adapter_of (l), g->capacity, &geo);
    r |= set_number (&g->text, "ddb.geometry.cylinders", geo.cylinders);
    r |= set_number (&g->text, "ddb.geometry.heads", geo.heads);
    r |= set_number (&g->text, "ddb.geometry.sectors", geo.sectors);
    bh = vdl_descriptor_ddb (&l->desc, "ddb.geometry.biosHeads");
    bs = vdl_descriptor_ddb (&l->desc, "ddb.geometry.biosSectors");
    if (bh && bs && atoi (bh) > 0 && atoi (bs) > 0) {
      uint64_t c = g->capacity / ((uint64_t) atoi (bh) * atoi (bs));
      r |= set_number (&g->text, "ddb.geometry.biosCylinders",
                       c > 1024 ? 1024 : c ? c : 1);
    }
    if (r)
      return vdl_oom ();
  }
  if (l->embed_file && strlen (g->text) > l->embed_size)
    return vdl_error (VIX_E_DISK_FULL, "Grow: %s: the new descriptor (%zu "
                      "bytes) does not fit in the %" PRIu64 " bytes "
                      "reserved for it", l->path, strlen (g->text),
                      l->embed_size);
  return VIX_OK;
}

/* Whether flat files of the disk are thin: said so, or already sparse. */
static bool
flat_is_thin (const struct vdl_link *l)
{
  const char *t = vdl_descriptor_ddb (&l->desc, "ddb.thinProvisioned");
  const struct vdl_extent *x = l->extents[l->n_extents - 1];
  struct stat st;

  if (t && strcmp (t, "1") == 0)
    return true;
  return x->path && stat (x->path, &st) == 0 &&
    (uint64_t) st.st_blocks * 512 < (uint64_t) st.st_size;
}

/* Extend extent i (the last of the old list) to its new size. */
static VixError
grow_last (struct grow *g, size_t i)
{
  if (g->x[i].sectors == g->l->desc.extents[i].sectors)
    return VIX_OK;
  return vdl_extent_kind (g->x[i].type)->grow (g->l->extents[i]->path,
                                               &g->x[i], g->thin);
}

/* Create the new extent file i. */
static VixError
add_extent (struct grow *g, size_t i)
{
  char *path = vdl_path_join (g->l->dir, g->x[i].filename);
  struct vdl_file *f;
  struct vdl_extent_create_args a = {
    .sectors = g->x[i].sectors, .offset = g->x[i].offset, .thin = g->thin,
  };
  VixError err;

  if (!path)
    return vdl_oom ();
  err = vdl_file_create (path, &f);
  if (err != VIX_OK) {
    free (path);
    return err;
  }
  a.f = f;
  g->created[g->n_created++] = path;
  err = vdl_extent_kind (g->x[i].type)->create (&a);
  if (err == VIX_OK)
    err = vdl_file_sync (f);
  vdl_file_close (f);
  return err;
}

/* Store the new descriptor text: a separate file is replaced whole; an
 * embedded one is rewritten where it is. */
static VixError
write_descriptor (struct grow *g)
{
  const struct vdl_link *l = g->l;

  if (!l->embed_file)
    return vdl_replace_text (l->path, g->text);
  return vdl_descfile_rewrite_embedded (l->path, g->text, l->embed_offset,
                                        l->embed_size);
}

/* Check that every extent can grow the way it is stored; *stream if the
 * link is one stream-optimized extent (rewritten, not extended). */
static VixError
check_kinds (const struct vdl_link *l, bool *stream)
{
  bool compressed;
  size_t i;

  *stream = false;
  for (i = 0; i < l->n_extents; i++) {
    enum vdl_extent_type t = l->desc.extents[i].type;
    const struct vdl_extent_kind *k = vdl_extent_kind (t);
    /* A grain-table file grows in place unless compressed: a single
     * stream is rebuilt at the new size. */
    if (k->grow && l->desc.extents[i].access == VDL_ACCESS_RW) {
      if (!k->remakable)
        continue;
      if (vdl_rebuild_can (l, i, &compressed)) {
        if (!compressed)
          continue;
        if (l->n_extents == 1) {
          *stream = true;
          continue;
        }
      }
    }
    return vdl_error (VIX_E_NOT_SUPPORTED, "Grow: %s cannot grow: its "
                      "extent %zu (%s%s%s) %s", l->path, i + 1,
                      vdl_extent_type_name (t),
                      l->desc.extents[i].filename ? " " : "",
                      l->desc.extents[i].filename
                      ? l->desc.extents[i].filename : "",
                      l->desc.extents[i].access != VDL_ACCESS_RW
                      ? "is not read-write (RW)" : "cannot be extended");
  }
  return VIX_OK;
}

static VixError
grow_link (struct grow *g, bool update_geometry)
{
  struct vdl_link *l = g->l;
  struct vdl_rebuild r = { .link = l, .capacity = g->capacity,
                           .progress = &g->p };
  VixDiskLibDiskType type = vdl_link_disk_type (l);
  struct stat st;
  size_t i, n_done;
  bool stream;
  char *path;
  VixError err;

  if (!l->desc_file && !l->embed_file)
    return vdl_error (VIX_E_NOT_SUPPORTED, "Grow: %s is an extent without "
                      "a descriptor: grow the disk through its descriptor",
                      l->path);
  if (l->desc.parent_hint)
    return vdl_error (VIX_E_DISK_PARENT_NOTALLOWED, "Grow: %s is a child "
                      "(redo log) of %s and must keep its parent's size: "
                      "grow the disk before making children", l->path,
                      l->desc.parent_hint);
  if (g->capacity < l->capacity)
    return vdl_error (VIX_E_INVALID_ARG, "Grow: %s has %" PRIu64 " sectors, "
                      "more than the %" PRIu64 " asked: disks only grow",
                      l->path, l->capacity, g->capacity);
  if (g->capacity == l->capacity)
    return VIX_OK;
  err = check_kinds (l, &stream);
  if (err == VIX_OK && type != VIXDISKLIB_DISK_UNKNOWN)
    err = vdl_create_check_capacity (type, g->capacity);
  if (err == VIX_OK)
    err = plan_extents (g);
  if (err == VIX_OK)
    err = new_descriptor (g, update_geometry);
  if (err != VIX_OK)
    return err;
  if (stream) {
    /* The new stream carries the new descriptor. */
    r.desc_text = g->text;
    return vdl_rebuild_link (&r, &n_done);
  }
  /* New names must be free before anything changes. */
  for (i = l->n_extents; i < g->n; i++) {
    if (!(path = vdl_path_join (l->dir, g->x[i].filename)))
      return vdl_oom ();
    err = lstat (path, &st) == 0
      ? vdl_error (VIX_E_FILE_ALREADY_EXISTS, "Grow: %s cannot get the new "
                   "extent file %s: it exists already", l->path, path)
      : VIX_OK;
    free (path);
    if (err != VIX_OK)
      return err;
  }
  g->thin = flat_is_thin (l);
  err = grow_last (g, l->n_extents - 1);
  vdl_progress_report (&g->p, 1, 3);
  for (i = l->n_extents; i < g->n && err == VIX_OK; i++) {
    err = add_extent (g, i);
    /* A third of the way after the last extent, the rest for new ones. */
    vdl_progress_report (&g->p, g->n - l->n_extents
                         + 2 * (i + 1 - l->n_extents),
                         3 * (g->n - l->n_extents));
  }
  if (err == VIX_OK)
    err = write_descriptor (g);
  if (err != VIX_OK) {
    /* The old descriptor does not name them: they would only be litter. */
    for (i = 0; i < g->n_created; i++)
      unlink (g->created[i]);
  }
  return err;
}

API VixError
VixDiskLib_Grow (VixDiskLibConnection connection, const char *path,
                 uint64_t capacity, char updateGeometry,
                 VixDiskLibProgressFunc progressFunc,
                 void *progressCallbackData)
{
  struct grow g = { .capacity = capacity,
                    .p = { .fn = progressFunc, .data = progressCallbackData,
                           .lo = 0, .hi = 100, .last = -1 } };
  VixError err;
  size_t i;

  if (!vdl_connection_check_local (connection, "Grow", &err))
    return err;
  if (!path || !*path)
    return vdl_error (VIX_E_INVALID_ARG, "Grow: no file name");
  /* Opening for writing takes the locks: nobody else has the disk open
   * (VMware requires that too), and nobody opens it meanwhile. */
  err = vdl_link_open (&vdl_local_store, path, true, false, &g.l);
  if (err != VIX_OK)
    return err;
  err = grow_link (&g, updateGeometry);
  vdl_link_close (g.l);
  for (i = 0; g.x && i < g.n; i++)
    free (g.x[i].filename);
  free (g.x);
  free (g.text);
  for (i = 0; i < g.n_created; i++)
    free (g.created[i]);
  if (err == VIX_OK && progressFunc)
    progressFunc (progressCallbackData, 100);
  return err;
}
