/* SPDX-License-Identifier: BSD-3-Clause */
/* Rebuilding the grain-table extents of a link, for Shrink, Defragment
 * and growing stream-optimized disks.
 *
 * Each extent is written anew beside the old one (name.vdl-tmp) through
 * the ordinary extent code, grain by grain in LBA order, so the new file
 * is laid out in order with no holes and no garbage, and holds only the
 * grains that hold something.  Every new file is flushed and synced
 * before the first rename, and each rename replaces one whole file: at
 * any moment each extent file is either the old one or the complete new
 * one, and both hold the same sectors, so a crash anywhere leaves a disk
 * that reads the same.  A failure removes the new files. */
#include <endian.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "create.h"
#include "error.h"
#include "rebuild.h"
#include "replace.h"
#include "sparse-format.h"
#include "grained.h"
#include "extent-kinds.h"
#include "grow.h"
#include "replace.h"

#define CHUNK 2048              /* sectors read at a time (1 MiB) */

void
vdl_progress_report (struct vdl_progress *p, uint64_t done, uint64_t total)
{
  int pc;

  if (!p || !p->fn)
    return;
  pc = p->lo + (total ? (double) done / total : 1.0) * (p->hi - p->lo);
  if (pc != p->last) {
    p->last = pc;
    p->fn (p->data, pc);
  }
}

bool
vdl_rebuild_can (const struct vdl_link *l, size_t i, bool *compressed)
{
  const struct vdl_extent_kind *k =
    vdl_extent_kind (l->desc.extents[i].type);

  *compressed = false;
  return k->remakable && k->remakable (l->extents[i]->path, compressed);
}

struct copy_ctx {
  const struct vdl_rebuild *r;
  struct vdl_extent *from;
  uint64_t done, total;         /* sectors, for progress */
};

/* Sectors the new extent must store around a write: what the chain
 * below the link holds there. */
static VixError
fill_below (void *vctx, uint64_t sector, uint64_t count, unsigned char *buf)
{
  struct copy_ctx *c = vctx;

  return vdl_disk_read_below (c->r->disk, 1, c->from->start + sector, count,
                              buf);
}

/* For a root link whose zero grains are to be kept: a fill makes the
 * extent store zeros that it would otherwise leave unallocated. */
static VixError
fill_zero (void *vctx, uint64_t sector, uint64_t count, unsigned char *buf)
{
  (void) vctx; (void) sector;
  memset (buf, 0, count * SS);
  return VIX_OK;
}

/* Copy [sector, sector+count) of one extent to the other, grain by
 * grain; all-zero grains are dropped unless fill says to keep them. */
static VixError
copy_run (struct copy_ctx *c, struct vdl_extent *to, uint64_t sector,
          uint64_t count, bool zero, vdl_fill_fn fill, unsigned char *buf)
{
  uint64_t n, g, k;
  VixError err = VIX_OK;

  while (count > 0 && err == VIX_OK) {
    n = count < CHUNK ? count : CHUNK;
    if (zero)
      memset (buf, 0, n * SS);
    else
      err = c->from->ops->read (c->from, sector, n, buf);
    for (k = 0; k < n && err == VIX_OK; k += g) {
      g = COWD_GRAIN - (sector + k) % COWD_GRAIN;
      if (g > n - k)
        g = n - k;
      if (!fill && grained_is_zero (buf + k * SS, g * SS))
        continue;
      err = to->ops->write (to, sector + k, g, buf + k * SS, fill, c);
    }
    sector += n;
    count -= n;
    c->done += n;
    vdl_progress_report (c->r->progress, c->done, c->total);
  }
  return err;
}

static VixError
copy_extent (struct copy_ctx *c, struct vdl_extent *to, unsigned char *buf)
{
  const struct vdl_rebuild *r = c->r;
  struct vdl_extent *from = c->from;
  bool below = r->disk && vdl_disk_n_links (r->disk) > 1;
  vdl_fill_fn fill = below ? fill_below
    : r->keep_zero_grains ? fill_zero : NULL;
  uint64_t sector = 0, run;
  enum vdl_run state;
  VixError err = VIX_OK;

  while (sector < from->sectors && err == VIX_OK) {
    err = from->ops->map (from, sector, from->sectors - sector, &state,
                          &run);
    if (err != VIX_OK)
      break;
    /* Explicit zeros matter only where they hide a parent. */
    if (state == VDL_RUN_DATA || (state == VDL_RUN_ZERO && below))
      err = copy_run (c, to, sector, run, state == VDL_RUN_ZERO, fill, buf);
    else {
      c->done += run;
      vdl_progress_report (r->progress, c->done, c->total);
    }
    sector += run;
  }
  return err;
}

/* Create the new file of extent i at tmp and open it as an extent. */
static VixError
new_extent (const struct vdl_rebuild *r, size_t i, bool compressed,
            const char *tmp, struct vdl_desc_extent *x,
            struct vdl_extent **out)
{
  struct vdl_link *l = r->link;
  struct vdl_extent *old = l->extents[i];
  const char *desc = r->desc_text ? r->desc_text : l->desc_text;
  const struct vdl_extent_kind *k =
    vdl_extent_kind (l->desc.extents[i].type);
  struct vdl_extent_create_args c = { .stream = compressed };
  struct vdl_extent_open_args a = {
    .store = &vdl_local_store, .path = tmp, .desc = x, .writable = true,
    .lock = VDL_LOCK_WRITE,
  };
  struct vdl_file *f;
  VixError err;

  *x = l->desc.extents[i];
  x->access = VDL_ACCESS_RW;
  if (r->capacity && l->n_extents == 1)
    x->sectors = r->capacity;
  err = vdl_temp_create (old->path, tmp, &f);
  if (err != VIX_OK)
    return err;
  c.f = f;
  c.sectors = x->sectors;
  c.desc = compressed || l->embed_file ? desc : NULL;
  err = k->create (&c);
  vdl_file_close (f);
  if (err == VIX_OK)
    err = k->open (&a, out);
  return err;
}

VixError
vdl_rebuild_link (const struct vdl_rebuild *r, size_t *n_rebuilt)
{
  struct vdl_link *l = r->link;
  struct copy_ctx c = { .r = r };
  char **tmps = calloc (l->n_extents, sizeof *tmps);
  unsigned char *buf = malloc (CHUNK * SS);
  struct vdl_desc_extent x;
  struct vdl_extent *to;
  bool compressed;
  size_t i;
  VixError err = VIX_OK, e;

  *n_rebuilt = 0;
  if (!tmps || !buf) {
    err = vdl_oom ();
    goto out;
  }
  for (i = 0; i < l->n_extents; i++) {
    if (vdl_rebuild_can (l, i, &compressed))
      c.total += l->extents[i]->sectors;
    else if (l->extents[i]->path) {
      err = vdl_error (VIX_E_NOT_SUPPORTED, "%s mixes grain-table and "
                       "flat extents (extent %zu, %s): it cannot be "
                       "rebuilt", l->path, i + 1, l->extents[i]->path);
      goto out;
    }
  }
  for (i = 0; i < l->n_extents && err == VIX_OK; i++) {
    if (!vdl_rebuild_can (l, i, &compressed))
      continue;
    if (!(tmps[i] = vdl_temp_name (l->extents[i]->path))) {
      err = vdl_oom ();
      break;
    }
    err = new_extent (r, i, compressed, tmps[i], &x, &to);
    if (err != VIX_OK)
      break;
    c.from = l->extents[i];
    err = copy_extent (&c, to, buf);
    /* Everything durable before any file is replaced. */
    e = to->ops->flush (to);
    if (err == VIX_OK)
      err = e;
    to->ops->close (to);
  }
  for (i = 0; i < l->n_extents && err == VIX_OK; i++)
    if (tmps[i]) {
      err = vdl_replace_commit (tmps[i], l->extents[i]->path);
      if (err == VIX_OK) {
        free (tmps[i]);
        tmps[i] = NULL;
        ++*n_rebuilt;
      }
    }
  /* A separate descriptor is replaced too (by the same text), so that
   * every file of the new link is a new file: the link can be opened
   * before the old one, whose locks stay on the old files, is closed. */
  if (err == VIX_OK && *n_rebuilt > 0 && l->desc_file)
    err = vdl_replace_text (l->path, l->desc_text);
 out:
  for (i = 0; tmps && i < l->n_extents; i++) {
    if (tmps[i])
      unlink (tmps[i]);
    free (tmps[i]);
  }
  free (tmps);
  free (buf);
  return err;
}
