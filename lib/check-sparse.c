/* SPDX-License-Identifier: BSD-3-Clause */
/* Checking grain-table extents (hosted sparse, stream-optimized, COWD):
 * the header, each directory entry and each table entry must point
 * inside the file and past the metadata, no two entries may share a
 * grain, and the redundant tables must match the primary ones.
 * Repairs change only metadata: an entry pointing outside the file is
 * cleared (its grain reads as unallocated: zeros, or the parent), a
 * redundant table is rewritten from the primary one, the unclean-
 * shutdown flag is cleared.  Grains are never moved or rewritten. */
#include <endian.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "error.h"
#include "sparse-extent.h"
#include "sparse-format.h"

#define UNCLEAN_FIELD 72        /* byte offset in a KDMV header */

struct grained {
  struct vdl_check *c;
  struct vdl_file *f;
  struct kdmv_header h;
  bool cowd, stream, changed;
  uint64_t file_sectors, n_gts, gt_bytes, min_entry, min_gt;
  uint32_t *gd, *rgd;
  uint32_t *grains;             /* every grain location, for duplicates */
  uint64_t n_grains, cap_grains;
};

static int
cmp_u32 (const void *a, const void *b)
{
  uint32_t x = *(const uint32_t *) a, y = *(const uint32_t *) b;

  return x < y ? -1 : x > y;
}

static VixError
read_dir (struct grained *g, uint64_t at, uint32_t **out)
{
  uint32_t *d = malloc (g->n_gts * 4);
  uint64_t i;
  VixError err;

  if (!d)
    return vdl_error (VIX_E_OUT_OF_MEMORY, "out of memory");
  err = vdl_file_pread (g->f, d, g->n_gts * 4, at * SS);
  for (i = 0; i < g->n_gts; i++)
    d[i] = le32toh (d[i]);
  if (err != VIX_OK)
    free (d);
  else
    *out = d;
  return err;
}

static VixError
write_entry (struct grained *g, uint64_t sector, uint64_t index,
             uint32_t value)
{
  uint32_t v = htole32 (value);

  g->changed = true;
  return vdl_file_pwrite (g->f, &v, 4, sector * SS + index * 4);
}

/* Check table t (located at gd[t]); clear entries outside the file. */
static VixError
check_table (struct grained *g, uint64_t t, uint32_t *gt)
{
  struct vdl_check *c = g->c;
  uint64_t i, n = g->gt_bytes / 4;
  VixError err = VIX_OK;

  for (i = 0; i < n && err == VIX_OK; i++) {
    uint32_t e = le32toh (gt[i]);
    if (e == 0 || (e == 1 && (g->h.flags & KDMV_FLAG_ZERO_GTE)))
      continue;
    if (e >= g->min_entry && e < g->file_sectors) {
      if (g->n_grains == g->cap_grains) {
        uint64_t nc = g->cap_grains ? 2 * g->cap_grains : 4096;
        uint32_t *ng = realloc (g->grains, nc * 4);
        if (!ng)
          return vdl_error (VIX_E_OUT_OF_MEMORY, "out of memory");
        g->grains = ng;
        g->cap_grains = nc;
      }
      g->grains[g->n_grains++] = e;
      continue;
    }
    vdl_check_problem (c, g->f->path, c->repair && !g->stream,
                       "grain table %" PRIu64 " entry %" PRIu64 " points "
                       "to sector %u, %s", t, i, e, e >= g->file_sectors
                       ? "past the end of the file" : "into the metadata");
    if (c->repair && !g->stream) {
      gt[i] = 0;
      err = write_entry (g, g->gd[t], i, 0);
      if (err == VIX_OK && g->rgd && g->rgd[t])
        err = write_entry (g, g->rgd[t], i, 0);
    }
  }
  return err;
}

/* The redundant copy of table t must equal the primary one. */
static VixError
check_redundant (struct grained *g, uint64_t t, const uint32_t *gt,
                 uint32_t *rgt)
{
  struct vdl_check *c = g->c;
  VixError err;

  if (g->rgd[t] == 0 || g->rgd[t] + g->gt_bytes / SS > g->file_sectors) {
    if (g->gd[t] != 0)
      vdl_check_problem (c, g->f->path, false, "redundant grain directory "
                         "entry %" PRIu64 " is %u, but the table is at %u",
                         t, g->rgd[t], g->gd[t]);
    return VIX_OK;
  }
  err = vdl_file_pread (g->f, rgt, g->gt_bytes, (uint64_t) g->rgd[t] * SS);
  if (err != VIX_OK || memcmp (gt, rgt, g->gt_bytes) == 0)
    return err;
  vdl_check_problem (c, g->f->path, c->repair, "the redundant copy of "
                     "grain table %" PRIu64 " differs from the primary one",
                     t);
  if (!c->repair)
    return VIX_OK;
  g->changed = true;
  return vdl_file_pwrite (g->f, gt, g->gt_bytes, (uint64_t) g->rgd[t] * SS);
}

static VixError
check_tables (struct grained *g)
{
  struct vdl_check *c = g->c;
  uint32_t *gt = malloc (g->gt_bytes), *rgt = malloc (g->gt_bytes);
  uint64_t t, i;
  VixError err = VIX_OK;

  if (!gt || !rgt)
    err = vdl_error (VIX_E_OUT_OF_MEMORY, "out of memory");
  for (t = 0; t < g->n_gts && err == VIX_OK; t++) {
    if (g->gd[t] == 0)
      continue;
    if (g->gd[t] < g->min_gt ||
        (uint64_t) g->gd[t] + g->gt_bytes / SS > g->file_sectors) {
      vdl_check_problem (c, g->f->path, c->repair && !g->stream,
                         "grain directory entry %" PRIu64 " points to "
                         "sector %u, outside the file", t, g->gd[t]);
      if (c->repair && !g->stream) {
        err = write_entry (g, g->h.gd_offset, t, 0);
        if (err == VIX_OK && g->rgd)
          err = write_entry (g, g->h.rgd_offset, t, 0);
      }
      continue;
    }
    err = vdl_file_pread (g->f, gt, g->gt_bytes, (uint64_t) g->gd[t] * SS);
    if (err == VIX_OK)
      err = check_table (g, t, gt);
    if (err == VIX_OK && g->rgd)
      err = check_redundant (g, t, gt, rgt);
  }
  /* Two entries naming one grain: a write to either changes both. */
  if (err == VIX_OK && g->n_grains > 1 && !g->stream) {
    qsort (g->grains, g->n_grains, 4, cmp_u32);
    for (i = 1; i < g->n_grains; i++)
      if (g->grains[i] == g->grains[i - 1])
        vdl_check_problem (c, g->f->path, false, "the grain at sector %u "
                           "is named by more than one table entry",
                           g->grains[i]);
  }
  free (gt);
  free (rgt);
  return err;
}

/* Where a stream's directory is when its header says "at the end": in
 * the footer before the end-of-stream marker. */
static bool
stream_footer (struct grained *g)
{
  unsigned char buf[3 * SS];
  struct kdmv_header fh;

  if (g->file_sectors < 4 ||
      vdl_file_pread (g->f, buf, sizeof buf,
                      (g->file_sectors - 3) * SS) != VIX_OK ||
      !sparse_is_footer (buf, &fh))
    return false;
  g->h.gd_offset = fh.gd_offset;
  return true;
}

VixError
vdl_check_grained (struct vdl_check *c, struct vdl_file *f, bool cowd,
                   uint64_t sectors)
{
  struct grained g = { .c = c, .f = f, .cowd = cowd };
  uint64_t size, gd_sectors;
  VixError err;
  char *text;

  err = vdl_file_size (f, &size);
  if (err == VIX_OK)
    err = vdl_sparse_read_header (f, cowd, size, &g.h);
  if (err != VIX_OK) {
    /* The message names the file and what is wrong with its header. */
    text = vdl_error_text (err);
    vdl_check_problem (c, f->path, false, "%s", text ? text : "bad header");
    free (text);
    return err == VIX_E_OUT_OF_MEMORY ? err : VIX_OK;
  }
  g.file_sectors = (size + SS - 1) / SS;
  g.stream = g.h.flags & KDMV_FLAG_COMPRESSED;
  if (g.h.capacity < sectors)
    vdl_check_problem (c, f->path, false, "it holds %" PRIu64 " sectors "
                       "but the descriptor gives it %" PRIu64,
                       g.h.capacity, sectors);
  if (!cowd && !g.stream && g.h.unclean_shutdown) {
    vdl_check_problem (c, f->path, c->repair, "it was not closed cleanly "
                       "(the unclean-shutdown flag is set)");
    if (c->repair) {
      unsigned char zero = 0;
      g.changed = true;
      err = vdl_file_pwrite (f, &zero, 1, UNCLEAN_FIELD);
    }
  }
  if (g.stream && g.h.gd_offset == KDMV_GD_AT_END && !stream_footer (&g)) {
    vdl_check_problem (c, f->path, false, "the stream ends without a "
                       "footer naming its grain directory (an interrupted "
                       "write?)");
    return VIX_OK;
  }
  g.n_gts = kdmv_num_gts (&g.h);
  g.gt_bytes = (uint64_t) g.h.gtes_per_gt * 4;
  gd_sectors = (g.n_gts * 4 + SS - 1) / SS;
  g.min_gt = cowd ? g.h.gd_offset + gd_sectors : 1;
  g.min_entry = g.stream ? 1 : cowd ? g.min_gt : g.h.overhead;
  if (g.h.gd_offset == 0 || g.h.gd_offset + gd_sectors > g.file_sectors) {
    vdl_check_problem (c, f->path, false, "its grain directory (sector "
                       "%" PRIu64 ") lies outside the file (%" PRIu64
                       " sectors)", g.h.gd_offset, g.file_sectors);
    return VIX_OK;
  }
  if (err == VIX_OK)
    err = read_dir (&g, g.h.gd_offset, &g.gd);
  if (err == VIX_OK && !cowd && !g.stream && (g.h.flags & KDMV_FLAG_RGD) &&
      g.h.rgd_offset != 0) {
    if (g.h.rgd_offset + gd_sectors > g.file_sectors)
      vdl_check_problem (c, f->path, false, "its redundant grain directory "
                         "lies outside the file");
    else
      err = read_dir (&g, g.h.rgd_offset, &g.rgd);
  }
  if (err == VIX_OK)
    err = check_tables (&g);
  if (err == VIX_OK && g.changed)
    err = vdl_file_sync (f);
  free (g.gd);
  free (g.rgd);
  free (g.grains);
  return err;
}
