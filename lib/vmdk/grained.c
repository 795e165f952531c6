/* SPDX-License-Identifier: BSD-3-Clause */
/* The machinery every grain-table extent shares (hosted sparse, COWD and
 * stream-optimized): grain tables loaded through the table cache, the
 * index and state of a grain, checking an entry against the file, the
 * map operation, and recognising a header and a stream's footer.  The
 * kinds build on it (extent-sparse.c, extent-stream.c); it calls none
 * of them.
 */
#include <endian.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "grained.h"

/* Every table that holds only zeros shares this one, read-only, so that
 * mapping a big preallocated but empty disk (qemu-img creates all its
 * tables) does not keep gigabytes of zeros.  Writers get a private copy
 * (grained_get_gt_for_write). */
static uint32_t shared_zero_table[COWD_GTES_PER_GT];

static bool
all_zero (const uint32_t *gt, uint32_t n)
{
  uint32_t j;

  for (j = 0; j < n; j++)
    if (gt[j] != 0)
      return false;
  return true;
}

/* Read grain table i, len bytes at sector at of the file: through the
 * window where the file has one (see struct grained_extent), which then
 * holds the tables stored right after it too, else directly. */
static VixError
read_table_bytes (struct grained_extent *s, uint32_t i, uint32_t at,
                  void *buf, size_t len)
{
  size_t unit = vdl_file_read_unit (s->file), wlen = len;
  uint64_t offset = (uint64_t) at * SS;
  unsigned char *w;
  uint32_t j;
  bool hit;

  if (unit <= len || s->file->writable || len % SS)
    return vdl_file_pread (s->file, buf, len, offset);
  pthread_mutex_lock (&s->window_lock);
  hit = s->window && offset >= s->window_at &&
    offset - s->window_at <= s->window_len - len;
  if (hit)
    memcpy (buf, s->window + (offset - s->window_at), len);
  pthread_mutex_unlock (&s->window_lock);
  if (hit)
    return VIX_OK;
  /* The tables stored one after the other from this one, as far as the
   * unit goes (their bytes were checked to be in the file at open). */
  for (j = i + 1; j < s->n_gts && wlen + len <= unit &&
         __atomic_load_n (&s->gd[j], __ATOMIC_ACQUIRE) ==
         at + (uint64_t) (j - i) * (len / SS); j++)
    wlen += len;
  if (wlen == len)
    return vdl_file_pread (s->file, buf, len, offset);
  if (!(w = malloc (wlen)))
    return vdl_oom ();
  if (vdl_file_pread (s->file, w, wlen, offset) != VIX_OK) {
    /* Past the end of a truncated file, say: only this table's own
     * bytes decide whether it can be read. */
    free (w);
    return vdl_file_pread (s->file, buf, len, offset);
  }
  memcpy (buf, w, len);
  pthread_mutex_lock (&s->window_lock);
  free (s->window);
  s->window = w;
  s->window_at = offset;
  s->window_len = wlen;
  pthread_mutex_unlock (&s->window_lock);
  return VIX_OK;
}

/* Read grain table i (zeros if it has no place yet).  No lock is held:
 * on a remote disk this is a network round trip, and other requests
 * must keep flowing meanwhile. */
static VixError
read_gt (void *owner, uint32_t i, void **out)
{
  struct grained_extent *s = owner;
  uint32_t n = s->h.gtes_per_gt, j;
  uint32_t at = __atomic_load_n (&s->gd[i], __ATOMIC_ACQUIRE);
  uint64_t size;
  uint32_t *gt;
  VixError err;

  gt = calloc (n, sizeof *gt);
  if (!gt)
    return vdl_oom ();
  if (at != 0) {
    err = read_table_bytes (s, i, at, gt, (size_t) n * 4);
    if (err != VIX_OK) {
      free (gt);
      return err;
    }
    /* Entries are checked when used, so that one bad entry costs one
     * grain, not the 32 MiB the table covers.  One past the end of the
     * file as opened would become "valid" once grains are appended
     * there, and alias them: make it point where no grain can be.  A
     * table this process wrote (and the cache dropped) had its bad
     * entries replaced so before, and may point at appended grains. */
    size = __atomic_load_n (&s->gt_rewritten[i], __ATOMIC_ACQUIRE)
      ? grained_file_end (s) : __atomic_load_n (&s->file_sectors,
                                                 __ATOMIC_ACQUIRE);
    for (j = 0; j < n; j++) {
      gt[j] = le32toh (gt[j]);
      if (gt[j] >= size)
        gt[j] = UINT32_MAX;
    }
  }
  if (n <= COWD_GTES_PER_GT && all_zero (gt, n)) {
    free (gt);
    gt = shared_zero_table;
  }
  *out = gt;
  return VIX_OK;
}

VixError
grained_get_gt (struct grained_extent *s, uint64_t sector, uint32_t **out)
{
  void *gt;
  VixError err = table_cache_get (&s->cache, sector / s->gt_cover, read_gt,
                                  &gt);

  *out = gt;
  return err;
}

void
grained_release_gt (struct grained_extent *s, uint64_t sector)
{
  table_cache_release (&s->cache, sector / s->gt_cover);
}

VixError
grained_get_gt_for_write (struct grained_extent *s, uint64_t sector,
                         uint32_t **out)
{
  uint32_t i = sector / s->gt_cover, *gt;
  void *shared = shared_zero_table;
  VixError err = grained_get_gt (s, sector, &gt);
  bool replaced;

  if (err != VIX_OK || gt != shared_zero_table) {
    *out = gt;
    return err;
  }
  gt = calloc (s->h.gtes_per_gt, sizeof *gt);
  if (!gt)
    return vdl_oom ();
  err = table_cache_replace (&s->cache, i, &shared, gt, &replaced);
  if (!replaced) {
    free (gt);
    gt = shared;                /* another writer's private copy, or NULL
                                 * if dropped: the caller checks */
  }
  *out = gt;
  return err;
}

VixError
grained_lock_gt_for_write (struct grained_extent *s, uint64_t sector,
                          uint32_t **out)
{
  uint32_t i = sector / s->gt_cover, *gt;
  VixError err;

  /* Tables change only with the lock held, and the cache drops them
   * only with it held. */
  for (;;) {
    err = grained_get_gt_for_write (s, sector, &gt);
    if (err != VIX_OK) {
      grained_release_gt (s, sector);
      return err;
    }
    pthread_mutex_lock (&s->lock);
    if (gt && __atomic_load_n (&s->gts[i], __ATOMIC_ACQUIRE) == gt)
      break;
    pthread_mutex_unlock (&s->lock);
    grained_release_gt (s, sector);
  }
  *out = gt;
  return VIX_OK;
}

uint64_t
grained_grain_index (struct grained_extent *s, uint64_t sector)
{
  return (sector % s->gt_cover) / s->h.grain_size;
}

enum vdl_run
grained_state_of (struct grained_extent *s, uint32_t entry)
{
  if (entry == 0)
    return VDL_RUN_ABSENT;
  if (entry == 1 && (s->h.flags & KDMV_FLAG_ZERO_GTE))
    return VDL_RUN_ZERO;
  return VDL_RUN_DATA;
}

/* A grain table entry that points at data must point past the metadata
 * and into the file (or at a grain this process appended). */
uint64_t
grained_file_end (struct grained_extent *s)
{
  uint64_t end = __atomic_load_n (&s->next_free, __ATOMIC_ACQUIRE);
  uint64_t size = __atomic_load_n (&s->file_sectors, __ATOMIC_ACQUIRE);

  if (end < size)
    end = size;
  /* Entries are 32-bit, and UINT32_MAX marks one that pointed past the
   * end of the file (read_gt): it must never look valid, even when a
   * damaged header moved next_free beyond 2 TiB. */
  return end < UINT32_MAX ? end : UINT32_MAX;
}

/* The value of an entry read_gt replaced with UINT32_MAX, as the file
 * holds it, so that an error names what -e reports (read once more:
 * only errors pay for it). */
static uint32_t
entry_in_file (struct grained_extent *s, uint64_t sector, uint32_t entry)
{
  uint32_t at = __atomic_load_n (&s->gd[sector / s->gt_cover],
                                 __ATOMIC_ACQUIRE), raw;

  if (entry != UINT32_MAX || at == 0 ||
      vdl_file_pread (s->file, &raw, sizeof raw, (uint64_t) at * SS +
                      grained_grain_index (s, sector) * sizeof raw) != VIX_OK)
    return entry;
  return le32toh (raw);
}

VixError
grained_check_entry (struct grained_extent *s, uint64_t sector,
                     uint32_t entry)
{
  uint64_t end = grained_file_end (s);
  if (entry >= s->h.overhead && entry < end)
    return VIX_OK;
  entry = entry_in_file (s, sector, entry);
  return vdl_error (VIX_E_DISK_NEEDSREPAIR,
                    "%s is corrupt: the grain table entry for sector %llu "
                    "points to sector %u, %s%llu sectors)", s->e.path,
                    (unsigned long long) sector, entry,
                    entry >= end ? "outside the file ("
                    : "inside the metadata area (the first ",
                    (unsigned long long) (entry >= end ? end
                                          : s->h.overhead));
}

/* Whether the grain table covering sector has no place in the file and
 * is not in memory: then every grain it covers is absent, and neither
 * reads nor maps need to build it (a nearly empty 16 TiB disk would
 * otherwise cost 1 GiB of zeroed tables). */
static bool
table_absent (struct grained_extent *s, uint64_t sector)
{
  uint32_t i = sector / s->gt_cover;

  return !__atomic_load_n (&s->gts[i], __ATOMIC_ACQUIRE) &&
    __atomic_load_n (&s->gd[i], __ATOMIC_ACQUIRE) == 0;
}

/* The table covering sector, for readers and maps.  A write-back that
 * failed to make room for it is the writers' error (the write that
 * needed the room and the next flush report it): the table itself is
 * in memory, and reads stay possible. */
static VixError
get_gt_to_read (struct grained_extent *s, uint64_t sector, uint32_t **out)
{
  VixError err = grained_get_gt (s, sector, out);

  return *out ? VIX_OK : err;
}

/* The table entry of the grain holding sector, as it is (0 if its
 * table is absent).  writing: for a write, which fails if making room
 * for the table failed. */
VixError
grained_table_entry (struct grained_extent *s, uint64_t sector,
                     uint32_t *entry, bool writing)
{
  uint32_t *gt;
  VixError err;

  if (table_absent (s, sector)) {
    *entry = 0;
    return VIX_OK;
  }
  err = (writing ? grained_get_gt : get_gt_to_read) (s, sector, &gt);
  if (err == VIX_OK)
    *entry = get_entry (gt, grained_grain_index (s, sector));
  grained_release_gt (s, sector);
  return err;
}

/* The entry of the grain holding sector; *data says whether it points
 * at data, which is then checked to lie in the file.  writing as for
 * grained_table_entry. */
VixError
grained_lookup (struct grained_extent *s, uint64_t sector, uint32_t *entry,
                bool *data, bool writing)
{
  VixError err = grained_table_entry (s, sector, entry, writing);

  if (err != VIX_OK)
    return err;
  *data = grained_state_of (s, *entry) == VDL_RUN_DATA;
  return *data ? grained_check_entry (s, sector, *entry) : VIX_OK;
}

static VixError
grain_state (struct vdl_extent *e, uint64_t sector, enum vdl_run *state,
             uint64_t *span)
{
  struct grained_extent *s = (struct grained_extent *) e;
  uint32_t *gt;
  uint64_t i;
  VixError err;

  if (table_absent (s, sector)) {
    *state = VDL_RUN_ABSENT;
    *span = s->gt_cover - sector % s->gt_cover;
    return VIX_OK;
  }
  err = get_gt_to_read (s, sector, &gt);
  if (err == VIX_OK) {
    /* Extend the span over the following grains of the same table in
     * the same state: a tight loop, not a call per grain. */
    i = grained_grain_index (s, sector);
    *state = grained_state_of (s, get_entry (gt, i));
    while (++i < s->h.gtes_per_gt &&
           grained_state_of (s, get_entry (gt, i)) == *state)
      *span += s->h.grain_size;
  }
  grained_release_gt (s, sector);
  return err;
}

VixError
grained_map (struct vdl_extent *e, uint64_t sector, uint64_t count,
             enum vdl_run *state, uint64_t *run)
{
  return vdl_extent_grain_runs (e, ((struct grained_extent *) e)->h.grain_size,
                                sector, count, grain_state, state, run);
}

bool
grained_is_zero (const unsigned char *buf, size_t len)
{
  return buf[0] == 0 && memcmp (buf, buf + 1, len - 1) == 0;
}

bool
grained_is_footer (const unsigned char *buf, struct kdmv_header *h)
{
  static const unsigned char zero[16];
  uint32_t msize, mtype;
  char msg[200];

  memcpy (&msize, buf + 8, 4);
  memcpy (&mtype, buf + 12, 4);
  return le32toh (msize) == 0 && le32toh (mtype) == KDMV_MARKER_FOOTER &&
    kdmv_header_parse (buf + SS, h, msg, sizeof msg) == 0 &&
    h->gd_offset != KDMV_GD_AT_END &&
    memcmp (buf + 2 * SS, zero, sizeof zero) == 0;
}

/* The sectors the header takes, and the end of the embedded
 * descriptor (UINT64_MAX if a damaged header makes it wrap; 0 if there
 * is none). */
uint64_t
grained_header_sectors (const struct grained_extent *s)
{
  return s->cowd ? COWD_HEADER_SIZE / SS : 1;
}

uint64_t
grained_desc_end (const struct grained_extent *s)
{
  uint64_t end = s->h.desc_offset + s->h.desc_size;

  if (!s->h.desc_size)
    return 0;
  return end < s->h.desc_offset ? UINT64_MAX : end;
}

VixError
vdl_sparse_read_header (struct vdl_file *f, bool cowd, uint64_t size,
                        struct kdmv_header *h)
{
  unsigned char hdr[COWD_HEADER_SIZE];
  size_t bytes = cowd ? COWD_HEADER_SIZE : SS;
  char msg[200];
  VixError err;

  if (size < bytes)
    return vdl_error (VIX_E_DISK_NEEDSREPAIR, "%s is truncated: %llu bytes "
                      "is too small for a %s header", f->path,
                      (unsigned long long) size,
                      cowd ? "COWD" : "sparse extent");
  err = vdl_file_pread (f, hdr, bytes, 0);
  if (err != VIX_OK)
    return err;
  if ((cowd ? cowd_header_parse : kdmv_header_parse) (hdr, h, msg,
                                                      sizeof msg) == -1)
    return vdl_error (VIX_E_DISK_NEEDSREPAIR, "%s: %s", f->path, msg);
  return VIX_OK;
}

VixError
grained_init_tables (struct grained_extent *s)
{
  s->gts = calloc (s->n_gts, sizeof *s->gts);
  s->gt_dirty = calloc (s->n_gts, sizeof *s->gt_dirty);
  s->gt_rewritten = calloc (s->n_gts, sizeof *s->gt_rewritten);
  if (!s->gts || !s->gt_dirty || !s->gt_rewritten)
    return vdl_oom ();
  table_cache_init (&s->cache, s->gts, s->n_gts,
                    (size_t) s->h.gtes_per_gt * 4, shared_zero_table,
                    &s->lock);
  s->cache.dirty = s->gt_dirty;
  s->cache.owner = s;
  s->e.tables = &s->cache;
  return VIX_OK;
}

void
grained_free (struct grained_extent *s)
{
  table_cache_free (&s->cache);
  free (s->window);
  pthread_mutex_destroy (&s->window_lock);
  free (s->gts);
  free (s->gt_dirty);
  free (s->gt_rewritten);
  free (s->gd);
  free (s->rgd);
  vdl_file_close (s->file);
  pthread_mutex_destroy (&s->lock);
  free (s->e.path);
  free (s);
}
