/* SPDX-License-Identifier: BSD-3-Clause */
/* Hosted sparse extents (KDMV: monolithicSparse, twoGbMaxExtentSparse
 * and hosted snapshot deltas) and ESX vmfsSparse (COWD) deltas, which
 * differ only in their header and table size.  Opened by
 * extent-grained.c; the grain tables are grained.c's.
 *
 * Grain tables are loaded on first use and kept in memory.  Writes that
 * allocate a grain append the whole grain at the end of the file and only
 * update the in-memory table; the tables (primary and redundant copies) go
 * to disk on flush, after the grain data is durable, and the directory
 * after the tables.  A crash before a flush therefore loses unflushed
 * allocations (as NBD allows) but never leaves a table pointing at a grain
 * that was not written.
 */
#include <endian.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "log.h"
#include "grained-kinds.h"
#include "grained.h"

/* ---- reading plain grains ---- */

/* Where the grain holding sector is (vdl_grain_place_fn). */
static VixError
sparse_place (struct vdl_extent *e, uint64_t sector, bool *data,
              uint64_t *at)
{
  uint32_t entry;
  VixError err = grained_lookup ((struct grained_extent *) e, sector, &entry,
                                 data, false);

  *at = entry;
  return err;
}

static VixError
sparse_read (struct vdl_extent *e, uint64_t sector, uint64_t count,
             unsigned char *buf)
{
  struct grained_extent *s = (struct grained_extent *) e;

  return vdl_extent_read_grains (e, s->file, s->h.grain_size, sector, count,
                                 buf, sparse_place);
}

/* ---- writing ---- */

/* Give GT i a place in the file (it had none: GD entry 0). */
static VixError
place_gt_locked (struct grained_extent *s, uint32_t i)
{
  /* Rounded up: tables of fewer than 128 entries still take a sector. */
  uint64_t gt_sectors = kdmv_gt_sectors (&s->h);
  uint64_t need = gt_sectors * (s->redundant ? 2 : 1);
  size_t bytes = need * SS;
  unsigned char *zero = calloc (1, bytes);
  uint64_t at = s->next_free;
  VixError err;

  if (!zero)
    return vdl_oom ();
  if (at + need > UINT32_MAX) {
    free (zero);
    return vdl_error (VIX_E_FILE_TOO_BIG, "%s is full: a sparse extent "
                      "cannot grow beyond 2 TiB", s->e.path);
  }
  err = vdl_file_pwrite (s->file, zero, bytes, at * SS);
  free (zero);
  if (err != VIX_OK)
    return err;
  /* Readers check entries against next_free without the lock. */
  __atomic_store_n (&s->next_free, at + (need + s->h.grain_size - 1)
                    / s->h.grain_size * s->h.grain_size, __ATOMIC_RELEASE);
  __atomic_store_n (&s->gd[i], (uint32_t) at, __ATOMIC_RELEASE);
  if (s->redundant)
    s->rgd[i] = at + gt_sectors;
  s->gd_dirty = s->gt_dirty[i] = s->any_dirty = true;
  return VIX_OK;
}

/* Write into a grain that has no storage yet: store the whole grain. */
static VixError
allocate_grain (struct grained_extent *s, uint64_t sector, uint64_t count,
                const unsigned char *buf, vdl_fill_fn fill, void *ctx)
{
  uint64_t g = s->h.grain_size, first = sector - sector % g;
  uint64_t i = first / s->gt_cover, gi = grained_grain_index (s, first), at, tail;
  size_t grain_bytes = g * SS;
  unsigned char *grain = NULL;
  const unsigned char *data = buf;
  uint32_t *gt, entry;
  VixError err = grained_lock_gt_for_write (s, first, &gt);

  if (err != VIX_OK)
    return err;
  entry = get_entry (gt, gi);
  if (grained_state_of (s, entry) == VDL_RUN_DATA) {
    /* Another writer allocated it meanwhile. */
    pthread_mutex_unlock (&s->lock);
    grained_release_gt (s, first);
    return vdl_file_pwrite (s->file, buf, count * SS,
                            ((uint64_t) entry + sector % g) * SS);
  }
  if (count != g) {
    grain = malloc (grain_bytes);
    if (!grain) {
      err = vdl_oom ();
      goto out;
    }
    memset (grain, 0, grain_bytes);
    if (entry == 0 && fill) {
      /* Sectors of the grain outside the write come from the parent. */
      tail = first + g > s->e.sectors ? s->e.sectors : first + g;
      if (sector > first)
        err = fill (ctx, first, sector - first, grain);
      if (err == VIX_OK && sector + count < tail)
        err = fill (ctx, sector + count, tail - sector - count,
                    grain + (sector + count - first) * SS);
      if (err != VIX_OK)
        goto out;
    }
    memcpy (grain + (sector - first) * SS, buf, count * SS);
    data = grain;
  }
  if (s->gd[i] == 0) {
    err = place_gt_locked (s, i);
    if (err != VIX_OK)
      goto out;
  }
  at = s->next_free;
  if (at + g > UINT32_MAX) {
    err = vdl_error (VIX_E_FILE_TOO_BIG, "%s is full: a sparse extent "
                     "cannot grow beyond 2 TiB", s->e.path);
    goto out;
  }
  err = vdl_file_pwrite (s->file, data, grain_bytes, at * SS);
  if (err != VIX_OK)
    goto out;
  __atomic_store_n (&s->next_free, at + g, __ATOMIC_RELEASE);
  __atomic_store_n (&gt[gi], (uint32_t) at, __ATOMIC_RELEASE);
  s->gt_dirty[i] = s->any_dirty = true;
 out:
  pthread_mutex_unlock (&s->lock);
  grained_release_gt (s, first);
  free (grain);
  return err;
}

static VixError
sparse_write (struct vdl_extent *e, uint64_t sector, uint64_t count,
              const unsigned char *buf, vdl_fill_fn fill, void *ctx)
{
  struct grained_extent *s = (struct grained_extent *) e;
  uint64_t g = s->h.grain_size, n;
  uint32_t entry;
  bool data;
  VixError err;

  while (count > 0) {
    n = g - sector % g < count ? g - sector % g : count;
    err = grained_lookup (s, sector, &entry, &data, true);
    if (err != VIX_OK)
      return err;
    if (data)
      err = vdl_file_pwrite (s->file, buf, n * SS,
                             ((uint64_t) entry + sector % g) * SS);
    else if ((entry != 0 || !fill) && grained_is_zero (buf, n * SS))
      err = VIX_OK;             /* already reads as zeros: keep it sparse */
    else
      err = allocate_grain (s, sector, n, buf,
                            entry == 0 ? fill : NULL, ctx);
    if (err != VIX_OK)
      return err;
    buf += n * SS;
    sector += n;
    count -= n;
  }
  return VIX_OK;
}

static VixError
write_table (struct grained_extent *s, const uint32_t *entries, uint32_t n,
             uint64_t at_sector)
{
  uint32_t *le = malloc (n * 4), j;
  VixError err;

  if (!le)
    return vdl_oom ();
  for (j = 0; j < n; j++)
    le[j] = htole32 (__atomic_load_n (&entries[j], __ATOMIC_ACQUIRE));
  err = vdl_file_pwrite (s->file, le, n * 4, at_sector * SS);
  free (le);
  return err;
}

/* A COWD header records where the next grain goes; ESX appends there. */
static VixError
write_free_sector (struct grained_extent *s)
{
  uint32_t v = htole32 ((uint32_t) s->next_free);
  VixError err = vdl_file_pwrite (s->file, &v, sizeof v,
                                  COWD_FREE_SECTOR_OFFSET);

  return err == VIX_OK ? vdl_file_sync (s->file) : err;
}

/* Write every changed grain table in place (the grains they point at
 * must be synced first). */
static VixError
write_dirty_tables_locked (struct grained_extent *s)
{
  VixError err = VIX_OK;
  uint32_t *gt, i;

  for (i = 0; i < s->n_gts && err == VIX_OK; i++) {
    if (!s->gt_dirty[i])
      continue;
    gt = __atomic_load_n (&s->gts[i], __ATOMIC_ACQUIRE);
    err = write_table (s, gt, s->h.gtes_per_gt, s->gd[i]);
    /* A redundant directory may lack a table the primary has (a damaged
     * file): entry 0 is no place to write it, sector 0 is the header. */
    if (err == VIX_OK && s->redundant && s->rgd[i] != 0)
      err = write_table (s, gt, s->h.gtes_per_gt, s->rgd[i]);
    if (err == VIX_OK) {
      s->gt_dirty[i] = false;
      __atomic_store_n (&s->gt_rewritten[i], true, __ATOMIC_RELEASE);
    }
  }
  return err;
}

/* Before tables are written: grain data first, so that no table can
 * point at unwritten data; for COWD the header's free sector too, so
 * that no table points past it, where ESX would append next. */
static VixError
sync_grains_locked (struct grained_extent *s)
{
  VixError err = vdl_file_sync (s->file);

  if (err == VIX_OK && s->cowd)
    err = write_free_sector (s);
  return err;
}

/* The table cache is full of changed tables: write them back so that
 * it can drop some.  The directory waits for the next flush (a new
 * table is unreachable until then, as before).  s->lock held. */
static VixError
write_back_tables (void *owner)
{
  struct grained_extent *s = owner;
  VixError err = sync_grains_locked (s);

  return err == VIX_OK ? write_dirty_tables_locked (s) : err;
}

static VixError
sparse_flush (struct vdl_extent *e)
{
  struct grained_extent *s = (struct grained_extent *) e;
  VixError err = VIX_OK;

  if (!s->file->writable)
    return VIX_OK;
  pthread_mutex_lock (&s->lock);
  if (!s->any_dirty) {
    err = vdl_file_sync (s->file);
    goto out;
  }
  err = sync_grains_locked (s);
  if (err == VIX_OK)
    err = write_dirty_tables_locked (s);
  if (err == VIX_OK)
    err = vdl_file_sync (s->file);
  if (err == VIX_OK && s->gd_dirty) {
    err = write_table (s, s->gd, s->n_gts, s->h.gd_offset);
    if (err == VIX_OK && s->redundant)
      err = write_table (s, s->rgd, s->n_gts, s->h.rgd_offset);
    if (err == VIX_OK)
      err = vdl_file_sync (s->file);
    if (err == VIX_OK)
      s->gd_dirty = false;
  }
  if (err == VIX_OK)
    s->any_dirty = false;
 out:
  pthread_mutex_unlock (&s->lock);
  return err;
}

static void
sparse_close (struct vdl_extent *e)
{
  grained_free ((struct grained_extent *) e);
}

static const struct vdl_extent_ops sparse_ops = {
  .kind = "SPARSE",
  .map = grained_map,
  .read = sparse_read,
  .write = sparse_write,
  .flush = sparse_flush,
  .close = sparse_close,
};

/* ---- opening ---- */

struct span {
  uint64_t start, end;          /* sectors */
};

static int
span_cmp (const void *a, const void *b)
{
  const struct span *x = a, *y = b;

  return x->start < y->start ? -1 : x->start > y->start;
}

/* Tables and directories are written in place: if two of them (or one
 * and the header or descriptor) share sectors in a damaged file, a
 * write would change the other.  Such a file can be read as it is, but
 * not written.  Returns the first shared sector, or 0. */
static uint64_t
overlapping_metadata (struct grained_extent *s, bool *oom)
{
  uint64_t gd_sectors = kdmv_gd_sectors (s->n_gts);
  uint64_t gt_sectors = kdmv_gt_sectors (&s->h);
  uint64_t end = 0, at = 0;
  struct span *sp = malloc ((2 * (size_t) s->n_gts + 4) * sizeof *sp);
  size_t n = 0, i;

  *oom = !sp;
  if (!sp)
    return 0;
  sp[n++] = (struct span) { 0, grained_header_sectors (s) };
  if (s->h.desc_size)
    sp[n++] = (struct span) { s->h.desc_offset, grained_desc_end (s) };
  sp[n++] = (struct span) { s->h.gd_offset, s->h.gd_offset + gd_sectors };
  if (s->redundant)
    sp[n++] = (struct span) { s->h.rgd_offset, s->h.rgd_offset + gd_sectors };
  for (i = 0; i < s->n_gts; i++) {
    if (s->gd[i])
      sp[n++] = (struct span) { s->gd[i], s->gd[i] + gt_sectors };
    if (s->redundant && s->rgd[i])
      sp[n++] = (struct span) { s->rgd[i], s->rgd[i] + gt_sectors };
  }
  qsort (sp, n, sizeof *sp, span_cmp);
  for (i = 0; i < n && !at; i++) {
    if (sp[i].start < end)
      at = sp[i].start;
    end = sp[i].end > end ? sp[i].end : end;
  }
  free (sp);
  return at;
}


VixError
sparse_open_kind (struct grained_extent *s,
                  const struct vdl_extent_open_args *a)
{
  s->e.ops = &sparse_ops;
  s->cache.write_back = write_back_tables;
  if (a->writable) {
    bool oom;
    uint64_t at = overlapping_metadata (s, &oom);
    if (oom)
      return vdl_oom ();
    if (at) {
      vdl_debug ("VixDiskLib: %s: grain tables, directories, header or "
                 "descriptor overlap at sector %llu", a->path,
                 (unsigned long long) at);
      s->e.no_write = "is damaged (its grain tables or directories "
        "overlap each other or the header), so it can only be read";
    }
  }
  s->next_free = (s->file_sectors + s->h.grain_size - 1)
    / s->h.grain_size * s->h.grain_size;
  if (s->next_free < s->h.overhead)
    s->next_free = s->h.overhead;
  if (s->next_free < s->h.free_sector)  /* COWD files may be preallocated */
    s->next_free = s->h.free_sector;
  /* Never append into an embedded descriptor area that a damaged
   * header puts past the end of the file.  One beyond the 32-bit
   * sectors of table entries is out of the grains' reach anyway. */
  if (grained_desc_end (s) > s->next_free &&
      grained_desc_end (s) != UINT64_MAX && s->h.desc_offset < UINT32_MAX)
    s->next_free = (grained_desc_end (s) + s->h.grain_size - 1)
      / s->h.grain_size * s->h.grain_size;
  return VIX_OK;
}
