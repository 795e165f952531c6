/* SPDX-License-Identifier: BSD-3-Clause */
/* The chain's data path: reads fall through a link to its parent
 * wherever the link has no data, writes go to the newest link (with
 * the parent's contents for the rest of a new grain), flushes make the
 * newest link durable, and allocation maps the chain.  Opening,
 * sharing and closing disks is disk.c's.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "disk-internal.h"
#include "error.h"
#include "link.h"

/* The extent holding sector, the sector's offset in it (*rel) and how
 * many of count sectors from there it holds (*n). */
static struct vdl_extent *
extent_at (struct vdl_link *l, uint64_t sector, uint64_t count,
           uint64_t *rel, uint64_t *n)
{
  struct vdl_extent *x = l->extents[vdl_link_find_extent (l, sector)];

  *rel = sector - x->start;
  *n = x->sectors - *rel < count ? x->sectors - *rel : count;
  return x;
}

static VixError
link_read (struct vdl_disk *d, size_t li, uint64_t sector, uint64_t count,
           unsigned char *buf)
{
  struct vdl_link *l = d->links[li];
  struct vdl_extent *x;
  enum vdl_run state;
  uint64_t rel, n, run;
  VixError err;

  while (count > 0) {
    x = extent_at (l, sector, count, &rel, &n);
    if (x->access == VDL_ACCESS_NOACCESS)
      return vdl_error (VIX_E_FILE_ACCESS_ERROR, "%s: sector %llu is in a "
                        "NOACCESS extent", l->path,
                        (unsigned long long) sector);
    err = x->ops->map (x, rel, n, &state, &run);
    if (err != VIX_OK)
      return err;
    if (state == VDL_RUN_DATA)
      err = x->ops->read (x, rel, run, buf);
    else if (state == VDL_RUN_ABSENT && li + 1 < d->n_links)
      err = link_read (d, li + 1, sector, run, buf);
    else
      memset (buf, 0, run * SS);
    if (err != VIX_OK)
      return err;
    buf += run * SS;
    sector += run;
    count -= run;
  }
  return VIX_OK;
}

VixError
vdl_disk_read (struct vdl_disk *d, uint64_t sector, uint64_t count,
               unsigned char *buf)
{
  return link_read (d, 0, sector, count, buf);
}

struct fill_ctx {
  struct vdl_disk *d;
  uint64_t extent_start;
};

/* Contents below the top link, for the unwritten part of a new grain. */
static VixError
fill_from_parent (void *vctx, uint64_t sector, uint64_t count,
                  unsigned char *buf)
{
  struct fill_ctx *c = vctx;

  return link_read (c->d, 1, c->extent_start + sector, count, buf);
}

static VixError
change_cid_once (struct vdl_disk *d)
{
  VixError err = VIX_OK;

  if (__atomic_load_n (&d->cid_changed, __ATOMIC_ACQUIRE))
    return VIX_OK;
  pthread_mutex_lock (&d->meta_lock);
  if (!d->cid_changed) {
    err = vdl_link_new_cid (d->links[0]);
    if (err == VIX_OK)
      __atomic_store_n (&d->cid_changed, true, __ATOMIC_RELEASE);
  }
  pthread_mutex_unlock (&d->meta_lock);
  return err;
}

VixError
vdl_disk_write (struct vdl_disk *d, uint64_t sector, uint64_t count,
                const unsigned char *buf)
{
  struct vdl_link *l = d->links[0];
  struct vdl_extent *x;
  struct fill_ctx ctx = { .d = d };
  uint64_t rel, n;
  VixError err;

  if (!d->writable)
    return vdl_error (VIX_E_FILE_READ_ONLY, "%s is open read-only", l->path);
  while (count > 0) {
    x = extent_at (l, sector, count, &rel, &n);
    if (x->access != VDL_ACCESS_RW || x->no_write)
      return vdl_error (VIX_E_FILE_READ_ONLY, "%s: cannot write sector "
                        "%llu: its extent %s", l->path,
                        (unsigned long long) sector,
                        x->no_write ? x->no_write : "is not read-write (RW)");
    /* The content ID changes before the first modification. */
    err = change_cid_once (d);
    if (err != VIX_OK)
      return err;
    ctx.extent_start = x->start;
    err = x->ops->write (x, rel, n, buf,
                         d->n_links > 1 ? fill_from_parent : NULL, &ctx);
    if (err != VIX_OK)
      return err;
    buf += n * SS;
    sector += n;
    count -= n;
  }
  return VIX_OK;
}

VixError
vdl_disk_flush (struct vdl_disk *d)
{
  struct vdl_link *l = d->links[0];
  VixError err = VIX_OK, e;
  size_t i;

  if (!d->writable)
    return VIX_OK;
  for (i = 0; i < l->n_extents; i++) {
    if (!l->extents[i]->ops->flush)
      continue;
    e = l->extents[i]->ops->flush (l->extents[i]);
    if (err == VIX_OK)
      err = e;
  }
  if (l->desc_file && __atomic_load_n (&d->cid_changed, __ATOMIC_ACQUIRE)) {
    e = vdl_file_sync (l->desc_file);
    if (err == VIX_OK)
      err = e;
  }
  return err;
}

static VixError
link_allocation (struct vdl_disk *d, size_t li, uint64_t sector,
                 uint64_t count, vdl_alloc_fn fn, void *ctx)
{
  struct vdl_link *l = d->links[li];
  struct vdl_extent *x;
  enum vdl_run state;
  uint64_t rel, n, run;
  VixError err;

  while (count > 0) {
    x = extent_at (l, sector, count, &rel, &n);
    err = (x->ops->allocation ? x->ops->allocation : x->ops->map)
      (x, rel, n, &state, &run);
    if (err != VIX_OK)
      return err;
    if (state == VDL_RUN_ABSENT && li + 1 < d->n_links)
      err = link_allocation (d, li + 1, sector, run, fn, ctx);
    else
      err = fn (ctx, sector, run, state == VDL_RUN_DATA);
    if (err != VIX_OK)
      return err;
    sector += run;
    count -= run;
  }
  return VIX_OK;
}

VixError
vdl_disk_allocation (struct vdl_disk *d, uint64_t sector, uint64_t count,
                     vdl_alloc_fn fn, void *ctx)
{
  return link_allocation (d, 0, sector, count, fn, ctx);
}

VixError
vdl_disk_read_below (struct vdl_disk *d, size_t li, uint64_t sector,
                     uint64_t count, unsigned char *buf)
{
  if (li >= d->n_links) {
    memset (buf, 0, count * SS);
    return VIX_OK;
  }
  return link_read (d, li, sector, count, buf);
}
