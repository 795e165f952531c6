/* SPDX-License-Identifier: BSD-3-Clause */
/* Grain-table extents: hosted sparse (KDMV: monolithicSparse,
 * twoGbMaxExtentSparse and hosted snapshot deltas), reading
 * streamOptimized (compressed) extents, and reading ESX vmfsSparse
 * (COWD) deltas, which differ only in their header and table size.
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
#include <libdeflate.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "store.h"
#include "log.h"
#include "extent.h"
#include "sparse-extent.h"


static atomic_uint_fast64_t next_extent_id = 1;

/* Every table that holds only zeros shares this one, read-only, so that
 * mapping a big preallocated but empty disk (qemu-img creates all its
 * tables) does not keep gigabytes of zeros.  Writers get a private copy
 * (sparse_get_gt_for_write). */
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

/* Read grain table i (zeros if it has no place yet).  No lock is held:
 * on a remote disk this is a network round trip, and other requests
 * must keep flowing meanwhile. */
static VixError
read_gt (void *owner, uint32_t i, void **out)
{
  struct sparse_extent *s = owner;
  uint32_t n = s->h.gtes_per_gt, j;
  uint32_t at = __atomic_load_n (&s->gd[i], __ATOMIC_ACQUIRE);
  uint64_t size;
  uint32_t *gt;
  VixError err;

  gt = calloc (n, sizeof *gt);
  if (!gt)
    return vdl_error (VIX_E_OUT_OF_MEMORY, "out of memory");
  if (at != 0) {
    err = vdl_file_pread (s->file, gt, n * 4, (uint64_t) at * SS);
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
      ? sparse_file_end (s) : __atomic_load_n (&s->file_sectors,
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
sparse_get_gt (struct sparse_extent *s, uint64_t sector, uint32_t **out)
{
  void *gt;
  VixError err = table_cache_get (&s->cache, sector / s->gt_cover, read_gt,
                                  &gt);

  *out = gt;
  return err;
}

void
sparse_release_gt (struct sparse_extent *s, uint64_t sector)
{
  table_cache_release (&s->cache, sector / s->gt_cover);
}

VixError
sparse_get_gt_for_write (struct sparse_extent *s, uint64_t sector,
                         uint32_t **out)
{
  uint32_t i = sector / s->gt_cover, *gt;
  void *shared = shared_zero_table;
  VixError err = sparse_get_gt (s, sector, &gt);
  bool replaced;

  if (err != VIX_OK || gt != shared_zero_table) {
    *out = gt;
    return err;
  }
  gt = calloc (s->h.gtes_per_gt, sizeof *gt);
  if (!gt)
    return vdl_error (VIX_E_OUT_OF_MEMORY, "out of memory");
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
sparse_lock_gt_for_write (struct sparse_extent *s, uint64_t sector,
                          uint32_t **out)
{
  uint32_t i = sector / s->gt_cover, *gt;
  VixError err;

  /* Tables change only with the lock held, and the cache drops them
   * only with it held. */
  for (;;) {
    err = sparse_get_gt_for_write (s, sector, &gt);
    if (err != VIX_OK) {
      sparse_release_gt (s, sector);
      return err;
    }
    pthread_mutex_lock (&s->lock);
    if (gt && __atomic_load_n (&s->gts[i], __ATOMIC_ACQUIRE) == gt)
      break;
    pthread_mutex_unlock (&s->lock);
    sparse_release_gt (s, sector);
  }
  *out = gt;
  return VIX_OK;
}

uint64_t
sparse_grain_index (struct sparse_extent *s, uint64_t sector)
{
  return (sector % s->gt_cover) / s->h.grain_size;
}

enum vdl_run
sparse_state_of (struct sparse_extent *s, uint32_t entry)
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
sparse_file_end (struct sparse_extent *s)
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
entry_in_file (struct sparse_extent *s, uint64_t sector, uint32_t entry)
{
  uint32_t at = __atomic_load_n (&s->gd[sector / s->gt_cover],
                                 __ATOMIC_ACQUIRE), raw;

  if (entry != UINT32_MAX || at == 0 ||
      vdl_file_pread (s->file, &raw, sizeof raw, (uint64_t) at * SS +
                      sparse_grain_index (s, sector) * sizeof raw) != VIX_OK)
    return entry;
  return le32toh (raw);
}

VixError
sparse_check_entry (struct sparse_extent *s, uint64_t sector, uint32_t entry)
{
  uint64_t end = sparse_file_end (s);
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
table_absent (struct sparse_extent *s, uint64_t sector)
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
get_gt_to_read (struct sparse_extent *s, uint64_t sector, uint32_t **out)
{
  VixError err = sparse_get_gt (s, sector, out);

  return *out ? VIX_OK : err;
}

/* The table entry of the grain holding sector, as it is (0 if its
 * table is absent).  writing: for a write, which fails if making room
 * for the table failed. */
static VixError
table_entry (struct sparse_extent *s, uint64_t sector, uint32_t *entry,
             bool writing)
{
  uint32_t *gt;
  VixError err;

  if (table_absent (s, sector)) {
    *entry = 0;
    return VIX_OK;
  }
  err = (writing ? sparse_get_gt : get_gt_to_read) (s, sector, &gt);
  if (err == VIX_OK)
    *entry = get_entry (gt, sparse_grain_index (s, sector));
  sparse_release_gt (s, sector);
  return err;
}

/* The entry of the grain holding sector; *data says whether it points
 * at data, which is then checked to lie in the file.  writing as for
 * table_entry. */
static VixError
lookup (struct sparse_extent *s, uint64_t sector, uint32_t *entry,
        bool *data, bool writing)
{
  VixError err = table_entry (s, sector, entry, writing);

  if (err != VIX_OK)
    return err;
  *data = sparse_state_of (s, *entry) == VDL_RUN_DATA;
  return *data ? sparse_check_entry (s, sector, *entry) : VIX_OK;
}

static VixError
grain_state (struct vdl_extent *e, uint64_t sector, enum vdl_run *state,
             uint64_t *span)
{
  struct sparse_extent *s = (struct sparse_extent *) e;
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
    i = sparse_grain_index (s, sector);
    *state = sparse_state_of (s, get_entry (gt, i));
    while (++i < s->h.gtes_per_gt &&
           sparse_state_of (s, get_entry (gt, i)) == *state)
      *span += s->h.grain_size;
  }
  sparse_release_gt (s, sector);
  return err;
}

static VixError
sparse_map (struct vdl_extent *e, uint64_t sector, uint64_t count,
            enum vdl_run *state, uint64_t *run)
{
  return vdl_extent_grain_runs (e, ((struct sparse_extent *) e)->h.grain_size,
                                sector, count, grain_state, state, run);
}

/* ---- reading compressed grains ---- */

struct grain_cache {
  uint64_t extent_id, grain;
  uint32_t at;                  /* where it was: rewritten grains move */
  unsigned char *data;
  size_t cap;
  unsigned char *in;
  size_t in_cap;
  struct libdeflate_decompressor *d;
};

static pthread_key_t cache_key;
static pthread_once_t cache_once = PTHREAD_ONCE_INIT;

static void
free_cache (void *p)
{
  struct grain_cache *c = p;
  if (c->d)
    libdeflate_free_decompressor (c->d);
  free (c->data);
  free (c->in);
  free (c);
}

static void
make_cache_key (void)
{
  pthread_key_create (&cache_key, free_cache);
}

static struct grain_cache *
thread_cache (void)
{
  struct grain_cache *c;

  pthread_once (&cache_once, make_cache_key);
  c = pthread_getspecific (cache_key);
  if (!c) {
    c = calloc (1, sizeof *c);
    if (!c || !(c->d = libdeflate_alloc_decompressor ())) {
      free (c);
      return NULL;
    }
    pthread_setspecific (cache_key, c);
  }
  return c;
}

static bool
ensure (unsigned char **buf, size_t *cap, size_t need)
{
  unsigned char *p;

  if (*cap >= need)
    return true;
  p = realloc (*buf, need);
  if (!p)
    return false;
  *buf = p;
  *cap = need;
  return true;
}

/* Decompress grain number gi (extent-relative) stored at sector "at". */
static VixError
load_compressed_grain (struct sparse_extent *s, struct grain_cache *c,
                       uint64_t gi, uint32_t at)
{
  size_t grain_bytes = s->h.grain_size * SS, hdr = s->markers ? 12 : 0;
  size_t max_in = 2 * grain_bytes + 4096, avail, want, in_len, out_len, used;
  uint64_t off = (uint64_t) at * SS, lba, end = sparse_file_end (s);
  uint64_t expect_sectors = s->h.capacity - gi * s->h.grain_size;
  uint32_t size;
  enum libdeflate_result r;
  VixError err;

  if (expect_sectors > s->h.grain_size)
    expect_sectors = s->h.grain_size;
  avail = (end - at) * SS;
  want = grain_bytes + SS;
  if (want > avail)
    want = avail;
  if (!ensure (&c->in, &c->in_cap, max_in + hdr) ||
      !ensure (&c->data, &c->cap, grain_bytes))
    return vdl_error (VIX_E_OUT_OF_MEMORY, "out of memory");
  err = vdl_file_pread (s->file, c->in, want, off);
  /* A stream writer cut unflushed grains off the end meanwhile; read
   * again within the new end. */
  if (err != VIX_OK && sparse_file_end (s) < end)
    return load_compressed_grain (s, c, gi, at);
  if (err != VIX_OK)
    return err;
  in_len = want - hdr;
  if (s->markers) {
    memcpy (&lba, c->in, 8);
    memcpy (&size, c->in + 8, 4);
    lba = le64toh (lba);
    size = le32toh (size);
    if (size == 0 || size > max_in || lba != gi * s->h.grain_size)
      return vdl_error (VIX_E_DISK_NEEDSREPAIR,
                        "%s is corrupt: the grain marker at sector %u "
                        "(LBA %llu, %u bytes) does not describe grain %llu",
                        s->e.path, at, (unsigned long long) lba, size,
                        (unsigned long long) gi);
    if (hdr + size > avail)
      return vdl_error (VIX_E_DISK_NEEDSREPAIR,
                        "%s is truncated: compressed grain at sector %u "
                        "goes past the end of the file", s->e.path, at);
    if (hdr + size > want) {
      err = vdl_file_pread (s->file, c->in + want, hdr + size - want,
                            off + want);
      if (err != VIX_OK)
        return err;
    }
    in_len = size;
  }
  r = libdeflate_zlib_decompress_ex (c->d, c->in + hdr, in_len, c->data,
                                     grain_bytes, &used, &out_len);
  if (r != LIBDEFLATE_SUCCESS)   /* the format note says raw deflate */
    r = libdeflate_deflate_decompress_ex (c->d, c->in + hdr, in_len,
                                          c->data, grain_bytes, &used,
                                          &out_len);
  if (r != LIBDEFLATE_SUCCESS ||
      (out_len != grain_bytes && out_len != expect_sectors * SS)) {
    c->extent_id = 0;
    return vdl_error (VIX_E_DISK_NEEDSREPAIR,
                      "%s is corrupt: compressed grain %llu at sector %u "
                      "does not decompress to a grain (zlib error %d, "
                      "%zu bytes)", s->e.path, (unsigned long long) gi, at,
                      (int) r, r == LIBDEFLATE_SUCCESS ? out_len : 0);
  }
  if (out_len < grain_bytes)
    memset (c->data + out_len, 0, grain_bytes - out_len);
  c->extent_id = s->id;
  c->grain = gi;
  c->at = at;
  return VIX_OK;
}

VixError
sparse_read_compressed_grain (struct sparse_extent *s, uint64_t gi,
                              uint32_t at, unsigned char *buf)
{
  struct grain_cache *c = thread_cache ();
  VixError err = VIX_OK;

  if (!c)
    return vdl_error (VIX_E_OUT_OF_MEMORY, "out of memory");
  if (c->extent_id != s->id || c->grain != gi || c->at != at)
    err = load_compressed_grain (s, c, gi, at);
  if (err == VIX_OK)
    memcpy (buf, c->data, s->h.grain_size * SS);
  return err;
}

static VixError
read_compressed (struct sparse_extent *s, uint64_t sector, uint64_t count,
                 unsigned char *buf)
{
  struct grain_cache *c = thread_cache ();
  uint64_t g = s->h.grain_size, gi, in_grain, n;
  uint32_t entry;
  bool data;
  VixError err;

  if (!c)
    return vdl_error (VIX_E_OUT_OF_MEMORY, "out of memory");
  while (count > 0) {
    gi = sector / g;
    in_grain = sector % g;
    n = g - in_grain < count ? g - in_grain : count;
    err = table_entry (s, sector, &entry, false);
    if (err != VIX_OK)
      return err;
    while (entry == STREAM_PENDING_ENTRY && s->sw) {
      /* Being written: the data is in memory. */
      bool stored, known;
      if (!ensure (&c->data, &c->cap, g * SS))
        return vdl_error (VIX_E_OUT_OF_MEMORY, "out of memory");
      c->extent_id = 0;
      err = stream_pending_grain (s, gi, c->data, &stored, &entry, &known);
      if (err != VIX_OK)
        return err;
      if (!stored) {
        memcpy (buf, c->data + in_grain * SS, n * SS);
        goto next;
      }
      /* Stored meanwhile: the entry the writer saw is final (it may
       * say sector 2: a grain right after a one-sector descriptor).
       * If its table was not in memory, look again: by then the grain
       * may be being gathered again. */
      if (known)
        break;
      if ((err = table_entry (s, sector, &entry, false)) != VIX_OK)
        return err;
    }
    data = sparse_state_of (s, entry) == VDL_RUN_DATA;
    if (data && (err = sparse_check_entry (s, sector, entry)) != VIX_OK)
      return err;
    if (!data)
      memset (buf, 0, n * SS);
    else {
      if (c->extent_id != s->id || c->grain != gi || c->at != entry) {
        err = load_compressed_grain (s, c, gi, entry);
        if (err != VIX_OK)
          return err;
      }
      memcpy (buf, c->data + in_grain * SS, n * SS);
    }
  next:
    buf += n * SS;
    sector += n;
    count -= n;
  }
  return VIX_OK;
}

/* ---- reading plain grains ---- */

static VixError
sparse_read (struct vdl_extent *e, uint64_t sector, uint64_t count,
             unsigned char *buf)
{
  struct sparse_extent *s = (struct sparse_extent *) e;
  uint64_t g = s->h.grain_size, n, run_start = 0, run_len = 0;
  unsigned char *run_buf = NULL;
  uint32_t entry;
  bool data;
  VixError err;

  if (s->compressed)
    return read_compressed (s, sector, count, buf);

  /* Coalesce grains that are consecutive in the file into one pread. */
  while (count > 0) {
    n = g - sector % g < count ? g - sector % g : count;
    err = lookup (s, sector, &entry, &data, false);
    if (err != VIX_OK)
      return err;
    if (data) {
      uint64_t at = (uint64_t) entry + sector % g;
      if (run_len && run_start + run_len == at)
        run_len += n;
      else {
        if (run_len) {
          err = vdl_file_pread (s->file, run_buf, run_len * SS,
                                run_start * SS);
          if (err != VIX_OK)
            return err;
        }
        run_start = at;
        run_len = n;
        run_buf = buf;
      }
    }
    else
      memset (buf, 0, n * SS);
    buf += n * SS;
    sector += n;
    count -= n;
  }
  if (run_len)
    return vdl_file_pread (s->file, run_buf, run_len * SS, run_start * SS);
  return VIX_OK;
}

/* ---- writing ---- */

/* Give GT i a place in the file (it had none: GD entry 0). */
static VixError
place_gt_locked (struct sparse_extent *s, uint32_t i)
{
  /* Rounded up: tables of fewer than 128 entries still take a sector. */
  uint64_t gt_sectors = kdmv_gt_sectors (&s->h);
  uint64_t need = gt_sectors * (s->redundant ? 2 : 1);
  size_t bytes = need * SS;
  unsigned char *zero = calloc (1, bytes);
  uint64_t at = s->next_free;
  VixError err;

  if (!zero)
    return vdl_error (VIX_E_OUT_OF_MEMORY, "out of memory");
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
allocate_grain (struct sparse_extent *s, uint64_t sector, uint64_t count,
                const unsigned char *buf, vdl_fill_fn fill, void *ctx)
{
  uint64_t g = s->h.grain_size, first = sector - sector % g;
  uint64_t i = first / s->gt_cover, gi = sparse_grain_index (s, first), at, tail;
  size_t grain_bytes = g * SS;
  unsigned char *grain = NULL;
  const unsigned char *data = buf;
  uint32_t *gt, entry;
  VixError err = sparse_lock_gt_for_write (s, first, &gt);

  if (err != VIX_OK)
    return err;
  entry = get_entry (gt, gi);
  if (sparse_state_of (s, entry) == VDL_RUN_DATA) {
    /* Another writer allocated it meanwhile. */
    pthread_mutex_unlock (&s->lock);
    sparse_release_gt (s, first);
    return vdl_file_pwrite (s->file, buf, count * SS,
                            ((uint64_t) entry + sector % g) * SS);
  }
  if (count != g) {
    grain = malloc (grain_bytes);
    if (!grain) {
      err = vdl_error (VIX_E_OUT_OF_MEMORY, "out of memory");
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
  sparse_release_gt (s, first);
  free (grain);
  return err;
}

bool
sparse_is_zero (const unsigned char *buf, size_t len)
{
  return buf[0] == 0 && memcmp (buf, buf + 1, len - 1) == 0;
}

static VixError
sparse_write (struct vdl_extent *e, uint64_t sector, uint64_t count,
              const unsigned char *buf, vdl_fill_fn fill, void *ctx)
{
  struct sparse_extent *s = (struct sparse_extent *) e;
  uint64_t g = s->h.grain_size, n;
  uint32_t entry;
  bool data;
  VixError err;

  if (s->compressed)
    return stream_write (s, sector, count, buf, fill, ctx);
  while (count > 0) {
    n = g - sector % g < count ? g - sector % g : count;
    err = lookup (s, sector, &entry, &data, true);
    if (err != VIX_OK)
      return err;
    if (data)
      err = vdl_file_pwrite (s->file, buf, n * SS,
                             ((uint64_t) entry + sector % g) * SS);
    else if ((entry != 0 || !fill) && sparse_is_zero (buf, n * SS))
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
write_table (struct sparse_extent *s, const uint32_t *entries, uint32_t n,
             uint64_t at_sector)
{
  uint32_t *le = malloc (n * 4), j;
  VixError err;

  if (!le)
    return vdl_error (VIX_E_OUT_OF_MEMORY, "out of memory");
  for (j = 0; j < n; j++)
    le[j] = htole32 (__atomic_load_n (&entries[j], __ATOMIC_ACQUIRE));
  err = vdl_file_pwrite (s->file, le, n * 4, at_sector * SS);
  free (le);
  return err;
}

/* A COWD header records where the next grain goes; ESX appends there. */
static VixError
write_free_sector (struct sparse_extent *s)
{
  uint32_t v = htole32 ((uint32_t) s->next_free);
  VixError err = vdl_file_pwrite (s->file, &v, sizeof v,
                                  COWD_FREE_SECTOR_OFFSET);

  return err == VIX_OK ? vdl_file_sync (s->file) : err;
}

/* Write every changed grain table in place (the grains they point at
 * must be synced first). */
static VixError
write_dirty_tables_locked (struct sparse_extent *s)
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
sync_grains_locked (struct sparse_extent *s)
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
  struct sparse_extent *s = owner;
  VixError err = sync_grains_locked (s);

  return err == VIX_OK ? write_dirty_tables_locked (s) : err;
}

static VixError
sparse_flush (struct vdl_extent *e)
{
  struct sparse_extent *s = (struct sparse_extent *) e;
  VixError err = VIX_OK;

  if (!s->file->writable)
    return VIX_OK;
  pthread_mutex_lock (&s->lock);
  if (s->compressed) {
    err = s->sw ? stream_commit_locked (s) : VIX_OK;
    goto out;
  }
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
  struct sparse_extent *s = (struct sparse_extent *) e;

  stream_writer_close (s);
  table_cache_free (&s->cache);
  free (s->gts);
  free (s->gt_dirty);
  free (s->gt_rewritten);
  free (s->gd);
  free (s->rgd);
  vdl_file_close (s->file);
  pthread_mutex_destroy (&s->lock);
  free (e->path);
  free (s);
}

static const struct vdl_extent_ops sparse_ops = {
  .kind = "SPARSE",
  .map = sparse_map,
  .read = sparse_read,
  .write = sparse_write,
  .flush = sparse_flush,
  .close = sparse_close,
};

/* ---- opening ---- */

bool
sparse_is_footer (const unsigned char *buf, struct kdmv_header *h)
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

/* After a crash while a stream was being appended to, its end is grains
 * without a footer; the newest footer before them describes everything
 * that was flushed.  Search backwards for it. */
static VixError
find_last_footer (struct sparse_extent *s, uint64_t end)
{
  const size_t chunk = 1024 * 1024;
  unsigned char *buf = malloc (chunk + 2 * SS);
  uint64_t start, p;
  VixError err = VIX_OK;

  if (!buf)
    return vdl_error (VIX_E_OUT_OF_MEMORY, "out of memory");
  while (end > 3 * SS) {
    start = end > chunk + 2 * SS ? end - chunk - 2 * SS : 0;
    err = vdl_file_pread (s->file, buf, end - start, start);
    if (err != VIX_OK)
      break;
    for (p = end - start - 3 * SS + SS; p-- > 0; )
      if (p % SS == 0 && sparse_is_footer (buf + p, &s->h)) {
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
read_footer (struct sparse_extent *s, uint64_t size)
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
  if (sparse_is_footer (buf, &s->h)) {
    s->footer_at = at / SS - 3;
    return VIX_OK;
  }
  return find_last_footer (s, at);
}

/* The sectors the header takes, and the end of the embedded
 * descriptor (UINT64_MAX if a damaged header makes it wrap; 0 if there
 * is none). */
static uint64_t
header_sectors (const struct sparse_extent *s)
{
  return s->cowd ? COWD_HEADER_SIZE / SS : 1;
}

static uint64_t
desc_end (const struct sparse_extent *s)
{
  uint64_t end = s->h.desc_offset + s->h.desc_size;

  if (!s->h.desc_size)
    return 0;
  return end < s->h.desc_offset ? UINT64_MAX : end;
}

/* Whether sectors [at, at + n) overlap the header or the embedded
 * descriptor.  No table or directory can be there: we would write it
 * over them, and descriptor updates would write over it. */
static bool
in_header (struct sparse_extent *s, uint64_t at, uint64_t n)
{
  return at < header_sectors (s) ||
    (s->h.desc_size && at < desc_end (s) && s->h.desc_offset < at + n);
}

static VixError
load_directory (struct sparse_extent *s, uint64_t at, uint32_t **out,
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
    return vdl_error (VIX_E_OUT_OF_MEMORY, "out of memory");
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
overlapping_metadata (struct sparse_extent *s, bool *oom)
{
  uint64_t gd_sectors = kdmv_gd_sectors (s->n_gts);
  uint64_t gt_sectors = kdmv_gt_sectors (&s->h);
  uint64_t end = 0, at = 0;
  struct span *sp = malloc ((2 * (size_t) s->n_gts + 4) * sizeof *sp);
  size_t n = 0, i;

  *oom = !sp;
  if (!sp)
    return 0;
  sp[n++] = (struct span) { 0, header_sectors (s) };
  if (s->h.desc_size)
    sp[n++] = (struct span) { s->h.desc_offset, desc_end (s) };
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

static VixError
read_kdmv_header (struct sparse_extent *s, uint64_t size)
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
read_cowd_header (struct sparse_extent *s, uint64_t size)
{
  s->cowd = true;
  return vdl_sparse_read_header (s->file, true, size, &s->h);
}

/* Both kinds of extent share everything but the header. */
static VixError
open_grained (const struct vdl_extent_open_args *a,
              VixError (*read_header) (struct sparse_extent *, uint64_t),
              struct vdl_extent **out)
{
  struct sparse_extent *s = calloc (1, sizeof *s);
  uint64_t size, n_gts;
  VixError err;

  if (!s || !(s->e.path = strdup (a->path))) {
    free (s);
    return vdl_error (VIX_E_OUT_OF_MEMORY, "out of memory");
  }
  pthread_mutex_init (&s->lock, NULL);
  vdl_extent_init (&s->e, &sparse_ops, a);
  s->id = atomic_fetch_add (&next_extent_id, 1);
  s->file = a->file;
  if (!s->file) {
    /* Sparse I/O is mostly small and unaligned metadata: no O_DIRECT. */
    err = vdl_store_open (a->store, a->path, a->writable, false, a->lock,
                          &s->file);
    if (err != VIX_OK) {
      s->file = NULL;
      goto fail;
    }
  }
  err = vdl_file_size (s->file, &size);
  if (err != VIX_OK)
    goto fail;
  s->file_sectors = (size + SS - 1) / SS;
  err = read_header (s, size);
  if (err != VIX_OK)
    goto fail;
  if (s->h.capacity < a->desc->sectors) {
    err = vdl_error (VIX_E_DISK_NEEDSREPAIR, "%s holds %llu sectors but the "
                     "descriptor's extent line says %llu", a->path,
                     (unsigned long long) s->h.capacity,
                     (unsigned long long) a->desc->sectors);
    goto fail;
  }
  s->compressed = s->h.flags & KDMV_FLAG_COMPRESSED;
  s->markers = s->h.flags & KDMV_FLAG_MARKERS;
  if (s->compressed && !s->markers)
    s->e.no_write = "is compressed without grain markers (an old "
      "stream-optimized layout), which can only be read";
  s->gt_cover = (uint64_t) s->h.gtes_per_gt * s->h.grain_size;
  n_gts = kdmv_num_gts (&s->h);
  /* Each table has a 4-byte directory entry in the file.  A header
   * claiming more tables than that is corrupt; believing it would
   * allocate for them, or wrap the 32-bit count and index past it. */
  if (n_gts > s->file_sectors * (SS / 4)) {
    err = vdl_error (VIX_E_DISK_NEEDSREPAIR, "%s is corrupt or truncated: "
                     "its header describes %llu grain tables, more than "
                     "its %llu sectors can list", a->path,
                     (unsigned long long) n_gts,
                     (unsigned long long) s->file_sectors);
    goto fail;
  }
  s->n_gts = n_gts;
  s->redundant = a->writable && !s->compressed &&
    (s->h.flags & KDMV_FLAG_RGD) && s->h.rgd_offset != 0;
  s->gts = calloc (s->n_gts, sizeof *s->gts);
  s->gt_dirty = calloc (s->n_gts, sizeof *s->gt_dirty);
  s->gt_rewritten = calloc (s->n_gts, sizeof *s->gt_rewritten);
  if (!s->gts || !s->gt_dirty || !s->gt_rewritten) {
    err = vdl_error (VIX_E_OUT_OF_MEMORY, "out of memory");
    goto fail;
  }
  table_cache_init (&s->cache, s->gts, s->n_gts,
                    (size_t) s->h.gtes_per_gt * 4, shared_zero_table,
                    &s->lock);
  s->cache.dirty = s->gt_dirty;
  s->cache.write_back = write_back_tables;
  s->cache.owner = s;
  s->e.tables = &s->cache;
  err = load_directory (s, s->h.gd_offset, &s->gd, "grain directory");
  if (err == VIX_OK && s->redundant)
    err = load_directory (s, s->h.rgd_offset, &s->rgd,
                          "redundant grain directory");
  if (err != VIX_OK)
    goto fail;
  if (a->writable && !s->compressed) {
    bool oom;
    uint64_t at = overlapping_metadata (s, &oom);
    if (oom) {
      err = vdl_error (VIX_E_OUT_OF_MEMORY, "out of memory");
      goto fail;
    }
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
  if (s->compressed)                    /* streams are not grain-aligned */
    s->next_free = s->file_sectors;
  /* Never append into an embedded descriptor area that a damaged
   * header puts past the end of the file.  One beyond the 32-bit
   * sectors of table entries is out of the grains' reach anyway. */
  if (!s->compressed && desc_end (s) > s->next_free &&
      desc_end (s) != UINT64_MAX && s->h.desc_offset < UINT32_MAX)
    s->next_free = (desc_end (s) + s->h.grain_size - 1)
      / s->h.grain_size * s->h.grain_size;
  if (s->compressed)                    /* grains are compressed whole */
    s->e.preferred_sectors = s->h.grain_size;
  /* A stream shorter than the metadata area its header declares is
   * damaged: its first new grain would go at that overhead, which may
   * be terabytes away. */
  if (s->compressed && s->h.overhead > s->file_sectors)
    s->e.no_write = "is damaged (shorter than the metadata area its "
      "header declares), so it can only be read";
  /* A stream's descriptor precedes its grains; one past the metadata
   * area would be overwritten by the grains and tables appended. */
  if (s->compressed && s->h.desc_size &&
      s->h.desc_offset + s->h.desc_size > s->h.overhead)
    s->e.no_write = "is damaged (its descriptor lies past the metadata "
      "area, where grains go), so it can only be read";
  if (s->compressed && s->markers && a->writable && !s->e.no_write &&
      (err = stream_writer_open (s)) != VIX_OK)
    goto fail;
  *out = &s->e;
  return VIX_OK;

 fail:
  if (s->file == a->file)
    s->file = NULL;             /* the caller still owns it */
  sparse_close (&s->e);
  return err;
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
