/* SPDX-License-Identifier: BSD-3-Clause */
/* Empty extent files of the grain-table kinds (extent-create.h), as
 * Create lays them out and Grow, Shrink and Defragment remake them.
 * Only the file is written: no descriptor file, no chain.  Also which
 * grain-table files rebuild.c can remake. */
#include <endian.h>
#include <stdlib.h>
#include <string.h>

#include "descriptor-file.h"
#include "error.h"
#include "extent-create.h"
#include "file-local.h"
#include "sparse-format.h"

#define SS VIXDISKLIB_SECTOR_SIZE

/* Write an empty sparse extent: header, optional embedded descriptor,
 * redundant and primary directories pointing at zeroed grain tables. */
VixError
vdl_create_sparse_extent (struct vdl_file *f, uint64_t capacity,
                          const char *desc)
{
  uint64_t desc_sectors = desc ? DESC_SECTORS : 0, n_gts, gt_sectors, i;
  struct kdmv_header h;
  unsigned char hdr[SS];
  uint32_t *gd;
  VixError err;

  if (desc && strlen (desc) > desc_sectors * SS)
    desc_sectors = (strlen (desc) + SS - 1) / SS;
  kdmv_new_layout (&h, capacity, desc_sectors);
  n_gts = kdmv_num_gts (&h);
  gt_sectors = h.gtes_per_gt * 4 / SS;
  err = vdl_file_truncate (f, h.overhead * SS);
  if (err != VIX_OK)
    return err;
  gd = malloc (n_gts * 4);
  if (!gd)
    return vdl_oom ();
  for (i = 0; i < n_gts; i++)           /* redundant copy first */
    gd[i] = htole32 (h.rgd_offset + (n_gts * 4 + SS - 1) / SS + i * gt_sectors);
  err = vdl_file_pwrite (f, gd, n_gts * 4, h.rgd_offset * SS);
  for (i = 0; err == VIX_OK && i < n_gts; i++)
    gd[i] = htole32 (h.gd_offset + (n_gts * 4 + SS - 1) / SS + i * gt_sectors);
  if (err == VIX_OK)
    err = vdl_file_pwrite (f, gd, n_gts * 4, h.gd_offset * SS);
  free (gd);
  if (err == VIX_OK && desc) {
    err = vdl_descfile_write_area (f, desc, desc_sectors * SS,
                                   h.desc_offset * SS);
    if (err != VIX_OK)
      return err;
  }
  /* The header last: until it is there the file is not a disk. */
  kdmv_header_format (&h, hdr);
  if (err == VIX_OK)
    err = vdl_file_pwrite (f, hdr, SS, 0);
  if (err == VIX_OK)
    err = vdl_file_sync (f);
  return err;
}

/* Write an empty stream-optimized extent as VMware's format note lays it
 * out: header (directory "at the end"), descriptor, then where grains
 * would start an empty directory, the footer and end-of-stream. */
VixError
vdl_create_stream_extent (struct vdl_file *f, uint64_t capacity,
                          const char *desc)
{
  struct kdmv_header h = {
    .version = 3,
    .flags = KDMV_FLAG_NEWLINE | KDMV_FLAG_COMPRESSED | KDMV_FLAG_MARKERS,
    .capacity = capacity, .grain_size = 128, .gtes_per_gt = 512,
    .desc_offset = 1, .desc_size = 20, .overhead = 128,
    .gd_offset = KDMV_GD_AT_END,
    .compress_algorithm = KDMV_COMPRESS_DEFLATE,
  };
  uint64_t n_gts = kdmv_num_gts (&h), sectors;
  /* Room for an empty directory between descriptor and grains, which
   * the first write points the header at (extent-stream.c). */
  uint64_t room = h.desc_offset + h.desc_size + (n_gts * 4 + SS - 1) / SS;
  uint32_t **gts = calloc (n_gts, sizeof *gts), *gd = calloc (n_gts, 4);
  unsigned char hdr[SS], *tail = NULL;
  VixError err;

  if (room > h.overhead)
    h.overhead = (room + 127) / 128 * 128;
  if (strlen (desc) > h.desc_size * SS)
    err = vdl_error (VIX_E_INVALID_ARG, "the descriptor is too long");
  else if (!gts || !gd ||
           !(tail = kdmv_stream_tail (&h, gts, h.overhead, gd, &sectors)))
    err = vdl_oom ();
  else {
    kdmv_header_format (&h, hdr);
    err = vdl_file_pwrite (f, hdr, SS, 0);
    if (err == VIX_OK)
      err = vdl_descfile_write_area (f, desc, h.desc_size * SS, SS);
    if (err == VIX_OK)
      err = vdl_file_pwrite (f, tail, sectors * SS, h.overhead * SS);
    if (err == VIX_OK)
      err = vdl_file_sync (f);
  }
  free (tail);
  free (gd);
  free (gts);
  return err;
}

/* Write an empty ESX vmfsSparse (COWD) extent: header and an empty
 * grain directory; tables and grains are appended as data is written.
 * Grains of 64 KiB rather than ESX's default 512 bytes keep a written
 * disk's tables small and its I/O large; the format allows both. */
VixError
vdl_create_cowd_extent (struct vdl_file *f, uint64_t capacity)
{
  unsigned char hdr[COWD_HEADER_SIZE];
  struct kdmv_header h = {
    .version = 1, .capacity = capacity, .grain_size = COWD_GRAIN,
    .gtes_per_gt = COWD_GTES_PER_GT, .gd_offset = COWD_HEADER_SIZE / SS,
  };
  uint64_t n_gd = kdmv_num_gts (&h);
  VixError err;

  h.free_sector = h.gd_offset + (n_gd * 4 + SS - 1) / SS;
  cowd_header_format (&h, n_gd, hdr);
  err = vdl_file_truncate (f, h.free_sector * SS);
  if (err == VIX_OK)
    err = vdl_file_pwrite (f, hdr, sizeof hdr, 0);
  if (err == VIX_OK)
    err = vdl_file_sync (f);
  return err;
}

/* ---- The create and remakable columns of extent-kinds.c ---- */

VixError
vdl_create_sparse_kind (const struct vdl_extent_create_args *a)
{
  if (a->stream)
    return vdl_create_stream_extent (a->f, a->sectors, a->desc);
  return vdl_create_sparse_extent (a->f, a->sectors, a->desc);
}

VixError
vdl_create_cowd_kind (const struct vdl_extent_create_args *a)
{
  return vdl_create_cowd_extent (a->f, a->sectors);
}

bool
vdl_remakable_sparse (const char *path, bool *compressed)
{
  unsigned char raw[SS];
  struct kdmv_header h;
  struct vdl_file *f;
  char msg[200];
  bool ok;

  *compressed = false;
  if (!path)
    return false;
  if (vdl_file_open (path, false, false, VDL_LOCK_NONE, &f) != VIX_OK)
    return false;
  ok = vdl_file_pread (f, raw, SS, 0) == VIX_OK &&
    kdmv_header_parse (raw, &h, msg, sizeof msg) == 0;
  vdl_file_close (f);
  *compressed = ok && (h.flags & KDMV_FLAG_COMPRESSED);
  return ok;
}

/* Any COWD extent: rebuild.c reads it through the ordinary extent code,
 * which reports a damaged one. */
bool
vdl_remakable_cowd (const char *path, bool *compressed)
{
  (void) path;
  *compressed = false;
  return true;
}
