/* SPDX-License-Identifier: BSD-3-Clause */
/* FLAT and VMFS extents: the sectors stored in order in a plain file,
 * starting at a sector offset.  Allocation comes from the filesystem's
 * holes, so thin flat files report their unallocated ranges. */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "store.h"
#include "extent.h"

#define SS VIXDISKLIB_SECTOR_SIZE

struct flat_extent {
  struct vdl_extent e;
  struct vdl_file *file;
  uint64_t offset;              /* bytes */
};

static VixError
flat_map (struct vdl_extent *e, uint64_t sector, uint64_t count,
          enum vdl_run *state, uint64_t *run)
{
  (void) e; (void) sector;
  *state = VDL_RUN_DATA;
  *run = count;
  return VIX_OK;
}

static VixError
flat_allocation (struct vdl_extent *e, uint64_t sector, uint64_t count,
                 enum vdl_run *state, uint64_t *run)
{
  struct flat_extent *f = (struct flat_extent *) e;
  uint64_t pos = f->offset + sector * SS, end = pos + count * SS;
  uint64_t ds, de;

  *state = VDL_RUN_DATA;
  *run = count;
  if (!vdl_file_next_data (f->file, pos, &ds, &de))
    return VIX_OK;
  if (ds > pos) {
    /* A hole up to the next data, in whole sectors. */
    *state = VDL_RUN_ZERO;
    *run = ds >= end ? count : (ds - pos) / SS;
    if (*run == 0) {
      *state = VDL_RUN_DATA;
      *run = 1;
    }
  }
  else if (de < end)
    *run = (de - pos + SS - 1) / SS;
  return VIX_OK;
}

static VixError
flat_read (struct vdl_extent *e, uint64_t sector, uint64_t count,
           unsigned char *buf)
{
  struct flat_extent *f = (struct flat_extent *) e;
  return vdl_file_pread (f->file, buf, count * SS, f->offset + sector * SS);
}

/* Whether [pos, pos+len) of the file is all hole. */
static bool
is_hole (struct vdl_file *file, uint64_t pos, uint64_t len)
{
  uint64_t ds, de;

  return vdl_file_next_data (file, pos, &ds, &de) && ds >= pos + len;
}

static VixError
flat_write (struct vdl_extent *e, uint64_t sector, uint64_t count,
            const unsigned char *buf, vdl_fill_fn fill, void *ctx)
{
  struct flat_extent *f = (struct flat_extent *) e;
  uint64_t pos = f->offset + sector * SS, len = count * SS;

  (void) fill; (void) ctx;
  /* Zeros over a hole of a thin file would only allocate space.  (A
   * preallocated file has no holes, so it is written as asked.) */
  if (buf[0] == 0 && memcmp (buf, buf + 1, len - 1) == 0 &&
      is_hole (f->file, pos, len))
    return VIX_OK;
  return vdl_file_pwrite (f->file, buf, len, pos);
}

static VixError
flat_flush (struct vdl_extent *e)
{
  return vdl_file_sync (((struct flat_extent *) e)->file);
}

static void
flat_close (struct vdl_extent *e)
{
  struct flat_extent *f = (struct flat_extent *) e;
  vdl_file_close (f->file);
  free (e->path);
  free (f);
}

static const struct vdl_extent_ops flat_ops = {
  .kind = "FLAT",
  .map = flat_map,
  .allocation = flat_allocation,
  .read = flat_read,
  .write = flat_write,
  .flush = flat_flush,
  .close = flat_close,
};

VixError
vdl_extent_flat_open (const struct vdl_extent_open_args *a,
                      struct vdl_extent **out)
{
  struct flat_extent *f = calloc (1, sizeof *f);
  uint64_t size, need;
  VixError err;

  if (!f || !(f->e.path = strdup (a->path))) {
    free (f);
    return vdl_oom ();
  }
  vdl_extent_init (&f->e, &flat_ops, a);
  f->offset = a->desc->offset * SS;
  f->file = a->file;
  if (!f->file) {
    err = vdl_store_open (a->store, a->path, a->writable, a->unbuffered,
                          a->lock, &f->file);
    if (err != VIX_OK)
      goto fail;
  }
  err = vdl_file_size (f->file, &size);
  if (err != VIX_OK)
    goto fail;
  need = f->offset + a->desc->sectors * SS;
  vdl_file_place (f->file, a->disk_sector * SS, f->offset);
  if (size < need) {
    err = vdl_error (VIX_E_DISK_OUTOFRANGE,
                     "flat extent %s is too small: the descriptor needs "
                     "%llu bytes but the file has %llu",
                     a->path, (unsigned long long) need,
                     (unsigned long long) size);
    goto fail;
  }
  *out = &f->e;
  return VIX_OK;

 fail:
  if (f->file != a->file)
    vdl_file_close (f->file);
  free (f->e.path);
  free (f);
  return err;
}
