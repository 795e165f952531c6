/* SPDX-License-Identifier: BSD-3-Clause */
/* Opening grain-table extents, in steps: open the file, read the header
 * (and, for a stream, the footer that holds the real one), check it
 * against the descriptor and the file, load the grain directories,
 * then hand the extent to its kind: hosted sparse and COWD
 * (extent-sparse.c) or stream-optimized (extent-stream.c), which sets
 * the operations.  The descriptor calls all of them SPARSE (or
 * VMFSSPARSE): which kind a file is shows only in its header.
 */
#include <endian.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "store.h"
#include "log.h"
#include "grained-kinds.h"
#include "grained.h"

/* Identifies an extent in the per-thread cache of decompressed grains. */
static atomic_uint_fast64_t next_extent_id = 1;

/* After a crash while a stream was being appended to, its end is grains
 * without a footer; the newest footer before them describes everything
 * that was flushed.  Search backwards for it. */
static VixError
find_last_footer (struct grained_extent *s, uint64_t end)
{
  const size_t chunk = 1024 * 1024;
  unsigned char *buf = malloc (chunk + 2 * SS);
  uint64_t start, p;
  VixError err = VIX_OK;

  if (!buf)
    return vdl_oom ();
  while (end > 3 * SS) {
    start = end > chunk + 2 * SS ? end - chunk - 2 * SS : 0;
    err = vdl_file_pread (s->file, buf, end - start, start);
    if (err != VIX_OK)
      break;
    for (p = end - start - 3 * SS + SS; p-- > 0; )
      if (p % SS == 0 && grained_is_footer (buf + p, &s->h)) {
        s->footer_at = (start + p) / SS;
        vdl_debug ("VixDiskLib: %s: no footer at the end; using the one at "
                   "sector %llu (data written after it was never flushed)",
                   s->e.path, (unsigned long long) ((start + p) / SS));
        free (buf);
        return VIX_OK;
      }
    end = start + 2 * SS;
    if (start == 0)
      break;
  }
  free (buf);
  return err != VIX_OK ? err :
    vdl_error (VIX_E_DISK_NEEDSREPAIR, "%s is truncated or corrupt: no "
               "footer with the grain directory (the stream was probably "
               "cut short)", s->e.path);
}

/* Stream-optimized files may keep the real header in a footer. */
static VixError
read_footer (struct grained_extent *s, uint64_t size)
{
  unsigned char buf[3 * SS];
  uint64_t at = (size / SS) * SS;
  VixError err;

  if (at < 4 * SS)
    return vdl_error (VIX_E_DISK_NEEDSREPAIR, "%s is truncated: the header "
                      "says the grain directory is in a footer, but the "
                      "file is too small to have one", s->e.path);
  err = vdl_file_pread (s->file, buf, sizeof buf, at - 3 * SS);
  if (err != VIX_OK)
    return err;
  if (grained_is_footer (buf, &s->h)) {
    s->footer_at = at / SS - 3;
    return VIX_OK;
  }
  return find_last_footer (s, at);
}

/* Whether sectors [at, at + n) overlap the header or the embedded
 * descriptor.  No table or directory can be there: we would write it
 * over them, and descriptor updates would write over it. */
static bool
in_header (struct grained_extent *s, uint64_t at, uint64_t n)
{
  return at < grained_header_sectors (s) ||
    (s->h.desc_size && at < grained_desc_end (s) &&
     s->h.desc_offset < at + n);
}

static VixError
load_directory (struct grained_extent *s, uint64_t at, uint32_t **out,
                const char *what)
{
  uint64_t gt_sectors = kdmv_gt_sectors (&s->h);
  uint32_t *gd, j;
  VixError err;

  if (at == 0 || at + kdmv_gd_sectors (s->n_gts) > s->file_sectors)
    return vdl_error (VIX_E_DISK_NEEDSREPAIR, "%s is corrupt or truncated: "
                      "the %s at sector %llu lies outside the file "
                      "(%llu sectors)", s->e.path, what,
                      (unsigned long long) at,
                      (unsigned long long) s->file_sectors);
  if (in_header (s, at, kdmv_gd_sectors (s->n_gts)))
    return vdl_error (VIX_E_DISK_NEEDSREPAIR, "%s is corrupt: the %s at "
                      "sector %llu overlaps the header or the descriptor",
                      s->e.path, what, (unsigned long long) at);
  gd = malloc (s->n_gts * 4);
  if (!gd)
    return vdl_oom ();
  err = vdl_file_pread (s->file, gd, s->n_gts * 4, at * SS);
  if (err != VIX_OK) {
    free (gd);
    return err;
  }
  for (j = 0; j < s->n_gts; j++) {
    gd[j] = le32toh (gd[j]);
    if (gd[j] != 0 && (gd[j] + gt_sectors > s->file_sectors ||
                       in_header (s, gd[j], gt_sectors))) {
      err = vdl_error (VIX_E_DISK_NEEDSREPAIR, "%s is corrupt: %s entry "
                       "%u points to sector %u, %s", s->e.path, what, j,
                       gd[j], gd[j] + gt_sectors > s->file_sectors
                       ? "outside the file"
                       : "into the header or the descriptor");
      free (gd);
      return err;
    }
  }
  *out = gd;
  return VIX_OK;
}

static VixError
read_kdmv_header (struct grained_extent *s, uint64_t size)
{
  const uint32_t layout = KDMV_FLAG_COMPRESSED | KDMV_FLAG_MARKERS |
    KDMV_FLAG_ZERO_GTE;
  VixError err = vdl_sparse_read_header (s->file, false, size, &s->h);
  struct kdmv_header head = s->h;

  if (err == VIX_OK && s->h.gd_offset == KDMV_GD_AT_END) {
    s->header_at_end = true;
    err = read_footer (s, size);
    /* The footer is the header naming its directory.  One describing
     * another layout is not this file's: trusted, it turned a stream
     * into a plain sparse extent, written in place. */
    if (err == VIX_OK &&
        (s->h.capacity != head.capacity ||
         s->h.grain_size != head.grain_size ||
         s->h.gtes_per_gt != head.gtes_per_gt ||
         ((s->h.flags ^ head.flags) & layout)))
      err = vdl_error (VIX_E_DISK_NEEDSREPAIR, "%s is corrupt: its footer "
                       "(sector %llu) describes another disk than its "
                       "header (capacity, grain size, table size or "
                       "compression)", s->e.path,
                       (unsigned long long) s->footer_at + 1);
  }
  return err;
}

static VixError
read_cowd_header (struct grained_extent *s, uint64_t size)
{
  s->cowd = true;
  return vdl_sparse_read_header (s->file, true, size, &s->h);
}

static VixError
new_extent (const struct vdl_extent_open_args *a,
            struct grained_extent **out)
{
  struct grained_extent *s = calloc (1, sizeof *s);

  if (!s || !(s->e.path = strdup (a->path))) {
    free (s);
    return vdl_oom ();
  }
  pthread_mutex_init (&s->lock, NULL);
  pthread_mutex_init (&s->window_lock, NULL);
  vdl_extent_init (&s->e, NULL, a);     /* the kind sets the operations */
  s->id = atomic_fetch_add (&next_extent_id, 1);
  *out = s;
  return VIX_OK;
}

/* Open the file, unless the caller did, and note its size. */
static VixError
open_file (struct grained_extent *s, const struct vdl_extent_open_args *a,
           uint64_t *size)
{
  VixError err;

  s->file = a->file;
  if (!s->file) {
    /* Sparse I/O is mostly small and unaligned metadata: no O_DIRECT. */
    err = vdl_store_open (a->store, a->path, a->writable, false, a->lock,
                          &s->file);
    if (err != VIX_OK) {
      s->file = NULL;
      return err;
    }
  }
  err = vdl_file_size (s->file, size);
  if (err == VIX_OK)
    s->file_sectors = (*size + SS - 1) / SS;
  return err;
}

/* Check the header against the descriptor and the file, and take the
 * layout from it. */
static VixError
check_header (struct grained_extent *s, const struct vdl_extent_open_args *a)
{
  uint64_t n_gts;

  if (s->h.capacity < a->desc->sectors)
    return vdl_error (VIX_E_DISK_NEEDSREPAIR, "%s holds %llu sectors but "
                      "the descriptor's extent line says %llu", a->path,
                      (unsigned long long) s->h.capacity,
                      (unsigned long long) a->desc->sectors);
  s->compressed = s->h.flags & KDMV_FLAG_COMPRESSED;
  s->markers = s->h.flags & KDMV_FLAG_MARKERS;
  s->gt_cover = (uint64_t) s->h.gtes_per_gt * s->h.grain_size;
  n_gts = kdmv_num_gts (&s->h);
  /* Each table has a 4-byte directory entry in the file.  A header
   * claiming more tables than that is corrupt; believing it would
   * allocate for them, or wrap the 32-bit count and index past it. */
  if (n_gts > s->file_sectors * (SS / 4))
    return vdl_error (VIX_E_DISK_NEEDSREPAIR, "%s is corrupt or truncated: "
                      "its header describes %llu grain tables, more than "
                      "its %llu sectors can list", a->path,
                      (unsigned long long) n_gts,
                      (unsigned long long) s->file_sectors);
  s->n_gts = n_gts;
  s->redundant = a->writable && !s->compressed &&
    (s->h.flags & KDMV_FLAG_RGD) && s->h.rgd_offset != 0;
  return VIX_OK;
}

static VixError
load_directories (struct grained_extent *s)
{
  VixError err = load_directory (s, s->h.gd_offset, &s->gd,
                                 "grain directory");

  if (err == VIX_OK && s->redundant)
    err = load_directory (s, s->h.rgd_offset, &s->rgd,
                          "redundant grain directory");
  return err;
}

/* Every kind shares these steps; only the header differs (KDMV or
 * COWD), and what the kind does last. */
static VixError
open_grained (const struct vdl_extent_open_args *a,
              VixError (*read_header) (struct grained_extent *, uint64_t),
              struct vdl_extent **out)
{
  struct grained_extent *s = NULL;
  uint64_t size;
  VixError err = new_extent (a, &s);

  if (err != VIX_OK)
    return err;
  err = open_file (s, a, &size);
  if (err == VIX_OK)
    err = read_header (s, size);
  if (err == VIX_OK)
    err = check_header (s, a);
  if (err == VIX_OK)
    err = grained_init_tables (s);
  if (err == VIX_OK)
    err = load_directories (s);
  if (err != VIX_OK) {
    if (s->file == a->file)
      s->file = NULL;           /* the caller still owns it */
    grained_free (s);
    return err;
  }
  err = (s->compressed ? stream_open_kind : sparse_open_kind) (s, a);
  if (err != VIX_OK) {
    if (s->file == a->file)
      s->file = NULL;
    s->e.ops->close (&s->e);
    return err;
  }
  *out = &s->e;
  return VIX_OK;
}

VixError
vdl_extent_sparse_open (const struct vdl_extent_open_args *a,
                        struct vdl_extent **out)
{
  return open_grained (a, read_kdmv_header, out);
}

VixError
vdl_extent_cowd_open (const struct vdl_extent_open_args *a,
                      struct vdl_extent **out)
{
  return open_grained (a, read_cowd_header, out);
}
