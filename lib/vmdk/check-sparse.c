/* SPDX-License-Identifier: BSD-3-Clause */
/* Checking grain-table extents (hosted sparse, stream-optimized, COWD):
 * the header, and where the directories lie; the tables and the
 * directory entries naming them are checked (and repaired from their
 * redundant copies) by check-tables.c.  Repairs change only metadata:
 * grains are never moved or rewritten.  The unclean-shutdown flag is
 * cleared last, after every other repair is durable. */
#include <endian.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "check-grained.h"
#include "error.h"
#include "grained.h"
#include "sparse-format.h"

#define UNCLEAN_FIELD 72        /* byte offset in a KDMV header */

static VixError
read_dir (struct grained *g, uint64_t at, uint32_t **out)
{
  uint32_t *d = malloc (g->n_gts * 4);
  uint64_t i;
  VixError err;

  if (!d)
    return vdl_oom ();
  err = vdl_file_pread (g->f, d, g->n_gts * 4, at * SS);
  for (i = 0; i < g->n_gts; i++)
    d[i] = le32toh (d[i]);
  if (err != VIX_OK)
    free (d);
  else
    *out = d;
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
      !grained_is_footer (buf, &fh))
    return false;
  g->h.gd_offset = fh.gd_offset;
  return true;
}

/* Can a directory of g lie at sector at? */
static bool
dir_fits (const struct grained *g, uint64_t at, uint64_t other)
{
  uint64_t n = g->gd_sectors;

  return at != 0 && at >= (g->cowd ? COWD_HEADER_SIZE / SS : 1) &&
    at + n <= g->file_sectors &&
    !(g->h.desc_size && at < g->h.desc_offset + g->h.desc_size &&
      g->h.desc_offset < at + n) &&
    !(other && at < other + n && other < at + n);
}

VixError
vdl_check_grained (struct vdl_check *c, struct vdl_file *f, bool cowd,
                   uint64_t sectors)
{
  struct grained g = { .c = c, .f = f, .cowd = cowd };
  uint64_t size;
  bool has_rgd, gd_ok, rgd_ok = false, repair;
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
  repair = c->repair && !g.stream;
  if (g.h.capacity < sectors)
    vdl_check_problem (c, f->path, false, "it holds %" PRIu64 " sectors "
                       "but the descriptor gives it %" PRIu64,
                       g.h.capacity, sectors);
  if (!cowd && !g.stream && g.h.unclean_shutdown)
    vdl_check_problem (c, f->path, c->repair, "it was not closed cleanly "
                       "(the unclean-shutdown flag is set)");
  if (g.stream && g.h.gd_offset == KDMV_GD_AT_END && !stream_footer (&g)) {
    vdl_check_problem (c, f->path, false, "the stream ends without a "
                       "footer naming its grain directory (an interrupted "
                       "write?)");
    return VIX_OK;
  }
  g.n_gts = kdmv_num_gts (&g.h);
  g.gt_entries = g.h.gtes_per_gt;
  g.gt_bytes = g.gt_entries * 4;
  g.gt_sectors = kdmv_gt_sectors (&g.h);
  g.gd_sectors = kdmv_gd_sectors (g.n_gts);
  g.min_gt = cowd ? g.h.gd_offset + g.gd_sectors : 1;
  g.min_entry = g.stream ? 1 : cowd ? g.min_gt : g.h.overhead;
  /* Copies go where the library would put its next grain. */
  g.append_at = g.file_sectors > g.h.overhead ? g.file_sectors
    : g.h.overhead;
  if (g.h.grain_size)
    g.append_at = (g.append_at + g.h.grain_size - 1) / g.h.grain_size
      * g.h.grain_size;
  has_rgd = !cowd && !g.stream && (g.h.flags & KDMV_FLAG_RGD) &&
    g.h.rgd_offset != 0;
  gd_ok = dir_fits (&g, g.h.gd_offset, has_rgd ? g.h.rgd_offset : 0);
  if (has_rgd)
    rgd_ok = dir_fits (&g, g.h.rgd_offset, g.h.gd_offset);
  if (!gd_ok && !rgd_ok) {
    vdl_check_problem (c, f->path, false, "its grain directory (sector "
                       "%" PRIu64 ") lies outside the file (%" PRIu64
                       " sectors)%s", g.h.gd_offset, g.file_sectors,
                       has_rgd ? ", and so does its redundant copy" : "");
    return VIX_OK;
  }
  if (gd_ok)
    err = read_dir (&g, g.h.gd_offset, &g.gd);
  if (err == VIX_OK && rgd_ok)
    err = read_dir (&g, g.h.rgd_offset, &g.rgd);
  /* One directory lost as a whole: rebuilt from the other, in a new
   * place (check-tables.c fills it and commits it). */
  if (err == VIX_OK && (!gd_ok || (has_rgd && !rgd_ok))) {
    vdl_check_problem (c, f->path, repair, "its %sgrain directory (sector "
                       "%" PRIu64 ") lies outside the file or over other "
                       "metadata; %s the %s one", gd_ok ? "redundant " : "",
                       gd_ok ? g.h.rgd_offset : g.h.gd_offset,
                       repair ? "rebuilt from" : "it can be rebuilt from",
                       gd_ok ? "primary" : "redundant");
    g.rebuilt_dir = gd_ok ? 2 : 1;
    if (repair) {
      uint32_t **d = gd_ok ? &g.rgd : &g.gd;
      if (!(*d = calloc (g.n_gts ? g.n_gts : 1, 4)))
        err = vdl_oom ();
      g.gd_dirty = !gd_ok;
      g.rgd_dirty = gd_ok;
    }
  }
  if (err == VIX_OK && g.gd)
    err = vdl_check_tables (&g);
  if (err == VIX_OK && repair && !cowd)
    err = vdl_check_commit_dirs (&g);
  /* Last: the flag says the metadata may be stale until all is done. */
  if (err == VIX_OK && c->repair && !cowd && !g.stream &&
      g.h.unclean_shutdown) {
    unsigned char zero = 0;
    g.changed = true;
    err = vdl_file_pwrite (f, &zero, 1, UNCLEAN_FIELD);
  }
  if (err == VIX_OK && g.changed)
    err = vdl_file_sync (f);
  free (g.gd);
  free (g.rgd);
  free (g.grains);
  return err;
}
