/* Writing stream-optimized extents.
 *
 * Every grain is stored compressed, behind a marker giving its LBA, at
 * the end of the file; rewriting a grain appends a new copy.  A partial
 * write to a grain decompresses it, applies the write and stores it
 * again.  On flush the grain tables, the directory, a footer (a copy of
 * the header naming the directory) and the end-of-stream marker are
 * appended, so the file is a complete stream after every flush; readers
 * find the newest footer at the end.  Grains written after a flush
 * follow the previous footer, which a reader can fall back on after a
 * crash (see read_footer).
 */
#include <endian.h>
#include <libdeflate.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "sparse-extent.h"

static pthread_key_t compressor_key;
static pthread_once_t compressor_once = PTHREAD_ONCE_INIT;

static void
free_compressor (void *c)
{
  libdeflate_free_compressor (c);
}

static void
make_compressor_key (void)
{
  pthread_key_create (&compressor_key, free_compressor);
}

static struct libdeflate_compressor *
thread_compressor (void)
{
  struct libdeflate_compressor *c;

  pthread_once (&compressor_once, make_compressor_key);
  c = pthread_getspecific (compressor_key);
  if (!c && (c = libdeflate_alloc_compressor (6)) != NULL)
    pthread_setspecific (compressor_key, c);
  return c;
}

/* A grain marker (LBA, compressed size) and the zlib stream of data,
 * padded to whole sectors. */
static VixError
compress_grain (struct sparse_extent *s, uint64_t gi,
                const unsigned char *data, size_t len,
                unsigned char **marker, size_t *bytes)
{
  struct libdeflate_compressor *c = thread_compressor ();
  size_t bound, n;
  uint64_t lba = htole64 (gi * s->h.grain_size);
  uint32_t size;

  if (!c)
    return vdl_error (VIX_E_OUT_OF_MEMORY, "out of memory");
  bound = libdeflate_zlib_compress_bound (c, len);
  *marker = calloc (1, (12 + bound + SS - 1) / SS * SS);
  if (!*marker)
    return vdl_error (VIX_E_OUT_OF_MEMORY, "out of memory");
  n = libdeflate_zlib_compress (c, data, len, *marker + 12, bound);
  if (n == 0) {
    free (*marker);
    return vdl_error (VIX_E_FAIL, "%s: compressing grain %llu failed",
                      s->e.path, (unsigned long long) gi);
  }
  size = htole32 (n);
  memcpy (*marker, &lba, 8);
  memcpy (*marker + 8, &size, 4);
  *bytes = (12 + n + SS - 1) / SS * SS;
  return VIX_OK;
}

/* Point grain gi's table entry at "at" (0: no data). */
static void
set_entry_locked (struct sparse_extent *s, uint64_t sector, uint32_t *gt,
                  uint32_t at)
{
  __atomic_store_n (&gt[sparse_grain_index (s, sector)], at,
                    __ATOMIC_RELEASE);
  s->gt_dirty[sector / s->gt_cover] = s->any_dirty = true;
}

/* Append a compressed grain (bytes long) for the grain holding sector;
 * NULL means all zeros, which needs no data at all. */
static VixError
store_grain_locked (struct sparse_extent *s, uint64_t sector, uint32_t *gt,
                    const unsigned char *compressed, size_t bytes)
{
  uint64_t at = s->next_free;
  VixError err;

  if (!compressed) {
    if (get_entry (gt, sparse_grain_index (s, sector)) != 0)
      set_entry_locked (s, sector, gt, 0);
    return VIX_OK;
  }
  if (at + bytes / SS > UINT32_MAX)
    return vdl_error (VIX_E_FILE_TOO_BIG, "%s is full: a sparse extent "
                      "cannot grow beyond 2 TiB", s->e.path);
  err = vdl_file_pwrite (s->file, compressed, bytes, at * SS);
  if (err != VIX_OK)
    return err;
  __atomic_store_n (&s->next_free, at + bytes / SS, __ATOMIC_RELEASE);
  set_entry_locked (s, sector, gt, at);
  return VIX_OK;
}

VixError
stream_write (struct sparse_extent *s, uint64_t sector, uint64_t count,
              const unsigned char *buf)
{
  uint64_t g = s->h.grain_size, gi, first, in_grain, n, glen;
  unsigned char *grain = NULL, *compressed;
  size_t bytes;
  uint32_t *gt, entry;
  VixError err = VIX_OK;

  while (count > 0 && err == VIX_OK) {
    gi = sector / g;
    first = gi * g;
    in_grain = sector - first;
    glen = s->h.capacity - first < g ? s->h.capacity - first : g;
    n = g - in_grain < count ? g - in_grain : count;
    err = sparse_get_gt (s, sector, &gt);
    if (err != VIX_OK)
      break;
    compressed = NULL;
    if (in_grain == 0 && n >= glen) {
      /* A whole grain: compress it before taking the lock. */
      if (!sparse_is_zero (buf, glen * SS))
        err = compress_grain (s, gi, buf, glen * SS, &compressed, &bytes);
      if (err == VIX_OK) {
        pthread_mutex_lock (&s->lock);
        err = store_grain_locked (s, sector, gt, compressed, bytes);
        pthread_mutex_unlock (&s->lock);
      }
    }
    else {
      /* Part of a grain: read, modify and store it again, all under the
       * lock so that writes to other parts of it are not lost. */
      if (!grain && !(grain = malloc (g * SS))) {
        err = vdl_error (VIX_E_OUT_OF_MEMORY, "out of memory");
        break;
      }
      pthread_mutex_lock (&s->lock);
      entry = get_entry (gt, sparse_grain_index (s, sector));
      if (sparse_state_of (s, entry) == VDL_RUN_DATA)
        err = sparse_check_entry (s, sector, entry);
      if (err == VIX_OK && sparse_state_of (s, entry) == VDL_RUN_DATA)
        err = sparse_read_compressed_grain (s, gi, entry, grain);
      else
        memset (grain, 0, g * SS);
      if (err == VIX_OK) {
        memcpy (grain + in_grain * SS, buf, n * SS);
        if (!sparse_is_zero (grain, glen * SS))
          err = compress_grain (s, gi, grain, glen * SS, &compressed, &bytes);
      }
      if (err == VIX_OK)
        err = store_grain_locked (s, sector, gt, compressed, bytes);
      pthread_mutex_unlock (&s->lock);
    }
    free (compressed);
    buf += n * SS;
    sector += n;
    count -= n;
  }
  free (grain);
  return err;
}

VixError
stream_commit_locked (struct sparse_extent *s)
{
  unsigned char *tail;
  uint64_t sectors, at = s->next_free;
  uint32_t i, *gd;
  VixError err = vdl_file_sync (s->file);

  if (err != VIX_OK || !s->any_dirty)
    return err;
  gd = malloc (s->n_gts * sizeof *gd);
  if (!gd)
    return vdl_error (VIX_E_OUT_OF_MEMORY, "out of memory");
  memcpy (gd, s->gd, s->n_gts * sizeof *gd);
  tail = kdmv_stream_tail (&s->h, s->gts, at, gd, &sectors);
  if (!tail) {
    free (gd);
    return vdl_error (VIX_E_OUT_OF_MEMORY, "out of memory");
  }
  err = vdl_file_pwrite (s->file, tail, sectors * SS, at * SS);
  if (err == VIX_OK)
    err = vdl_file_sync (s->file);
  free (tail);
  if (err == VIX_OK) {
    memcpy (s->gd, gd, s->n_gts * sizeof *gd);
    __atomic_store_n (&s->next_free, at + sectors, __ATOMIC_RELEASE);
    for (i = 0; i < s->n_gts; i++)
      s->gt_dirty[i] = false;
    s->any_dirty = false;
  }
  free (gd);
  return err;
}
