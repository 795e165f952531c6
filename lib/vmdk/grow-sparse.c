/* SPDX-License-Identifier: BSD-3-Clause */
/* Growing a hosted sparse (KDMV) extent in place, for VixDiskLib_Grow.
 *
 * The grain tables the larger capacity needs are added at the end of the
 * file (zeros: no grain yet), and their entries at the end of the grain
 * directory.  When the directory no longer fits in the sectors it has,
 * a new, larger copy is written after the new tables.  The redundant
 * directory gets the same.  Only then, once all that is durable, does
 * the header change (capacity and directory locations, one sector): a
 * crash before leaves the old header, which never looks past the old
 * tables, and the old directory, which was not touched beyond its last
 * entry.  Grains written later are appended after the new metadata, as
 * always. */
#include <endian.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "file-local.h"
#include "extent-create.h"
#include "grow.h"
#include "sparse-format.h"

#define SS VIXDISKLIB_SECTOR_SIZE

/* Byte offsets of header fields changed here (VMware's
 * SparseExtentHeader). */
#define HDR_CAPACITY 12
#define HDR_RGD_OFFSET 48

static void
put64 (unsigned char *p, uint64_t v)
{
  v = htole64 (v);
  memcpy (p, &v, 8);
}

/* Read n directory entries at sector at, and append the new tables'
 * locations: first + k * gt_sectors for k < added. */
static VixError
extended_directory (struct vdl_file *f, uint64_t at, uint64_t n,
                    uint64_t added, uint64_t first, uint64_t gt_sectors,
                    uint32_t **out)
{
  uint32_t *gd = calloc (n + added, 4);
  uint64_t k;
  VixError err;

  if (!gd)
    return vdl_oom ();
  err = vdl_file_pread (f, gd, n * 4, at * SS);
  for (k = 0; k < added; k++)
    gd[n + k] = htole32 ((uint32_t) (first + k * gt_sectors));
  if (err != VIX_OK)
    free (gd);
  else
    *out = gd;
  return err;
}

/* Write the grown directory: all of it at new_at if it moves, else only
 * the new entries after the old ones. */
static VixError
write_directory (struct vdl_file *f, const uint32_t *gd, uint64_t old_at,
                 uint64_t new_at, uint64_t n_old, uint64_t n_new)
{
  if (new_at != old_at)
    return vdl_file_pwrite (f, gd, n_new * 4, new_at * SS);
  return vdl_file_pwrite (f, gd + n_old, (n_new - n_old) * 4,
                          old_at * SS + n_old * 4);
}

VixError
vdl_grow_sparse_extent (const char *path, uint64_t sectors)
{
  unsigned char raw[SS];
  struct kdmv_header h, g;
  struct vdl_file *f;
  uint64_t size, n_old, n_new, gt_sectors, at, next, gd_at, rgd_at;
  uint64_t old_gd_sectors, new_gd_sectors, added;
  uint32_t *gd = NULL, *rgd = NULL;
  bool redundant;
  char msg[200];
  VixError err;

  /* No lock: the caller holds the disk's locks through its own open. */
  err = vdl_file_open (path, true, false, VDL_LOCK_NONE, &f);
  if (err != VIX_OK)
    return err;
  err = vdl_file_size (f, &size);
  if (err == VIX_OK)
    err = vdl_file_pread (f, raw, SS, 0);
  if (err == VIX_OK && kdmv_header_parse (raw, &h, msg, sizeof msg) == -1)
    err = vdl_error (VIX_E_DISK_NEEDSREPAIR, "%s: %s", path, msg);
  if (err != VIX_OK || h.capacity >= sectors)
    goto out;                   /* (a grow interrupted after the header) */
  if (h.flags & KDMV_FLAG_COMPRESSED) {
    err = vdl_error (VIX_E_NOT_SUPPORTED, "%s is compressed "
                     "(stream-optimized): it cannot grow in place", path);
    goto out;
  }
  g = h;
  g.capacity = sectors;
  n_old = kdmv_num_gts (&h);
  n_new = kdmv_num_gts (&g);
  gt_sectors = h.gtes_per_gt * 4 / SS;
  redundant = (h.flags & KDMV_FLAG_RGD) && h.rgd_offset != 0;
  gd_at = h.gd_offset;
  rgd_at = h.rgd_offset;
  if (n_new > n_old) {
    if (gt_sectors == 0 || h.gd_offset == KDMV_GD_AT_END) {
      err = vdl_error (VIX_E_NOT_SUPPORTED, "%s: grain tables of %u "
                       "entries (less than a sector) cannot be added",
                       path, h.gtes_per_gt);
      goto out;
    }
    added = n_new - n_old;
    old_gd_sectors = (n_old * 4 + SS - 1) / SS;
    new_gd_sectors = (n_new * 4 + SS - 1) / SS;
    /* New tables start on a grain boundary, as grains do. */
    at = (size + SS - 1) / SS;
    at = (at + h.grain_size - 1) / h.grain_size * h.grain_size;
    next = at + added * gt_sectors * (redundant ? 2 : 1);
    if (new_gd_sectors > old_gd_sectors) {
      gd_at = next;
      next += new_gd_sectors;
      if (redundant) {
        rgd_at = next;
        next += new_gd_sectors;
      }
    }
    if (next + h.grain_size > UINT32_MAX) {
      err = vdl_error (VIX_E_FILE_TOO_BIG, "%s cannot grow to %" PRIu64
                       " sectors: its grain tables would lie beyond 2 TiB "
                       "into the file, which 32-bit entries cannot address",
                       path, sectors);
      goto out;
    }
    /* Zeros for the tables: extending the file is enough. */
    err = vdl_file_truncate (f, next * SS);
    if (err == VIX_OK)
      err = extended_directory (f, h.gd_offset, n_old, added, at,
                                gt_sectors, &gd);
    if (err == VIX_OK && redundant)
      err = extended_directory (f, h.rgd_offset, n_old, added,
                                at + added * gt_sectors, gt_sectors, &rgd);
    if (err == VIX_OK)
      err = write_directory (f, gd, h.gd_offset, gd_at, n_old, n_new);
    if (err == VIX_OK && redundant)
      err = write_directory (f, rgd, h.rgd_offset, rgd_at, n_old, n_new);
    if (err == VIX_OK)
      err = vdl_file_sync (f);
    if (err != VIX_OK)
      goto out;
  }
  /* The header last, changing only the fields that moved (other bytes,
   * padding included, stay as their writer left them). */
  put64 (raw + HDR_CAPACITY, sectors);
  put64 (raw + KDMV_GD_OFFSET_FIELD, gd_at);
  if (redundant)
    put64 (raw + HDR_RGD_OFFSET, rgd_at);
  err = vdl_file_pwrite (f, raw, SS, 0);
  if (err == VIX_OK)
    err = vdl_file_sync (f);
 out:
  free (gd);
  free (rgd);
  vdl_file_close (f);
  return err;
}

/* The grow column of extent-kinds.c for hosted sparse extents. */
VixError
vdl_grow_sparse_kind (const char *path, const struct vdl_desc_extent *x,
                      bool thin)
{
  (void) thin;                  /* grains are allocated when written */
  return vdl_grow_sparse_extent (path, x->sectors);
}
