/* SPDX-License-Identifier: BSD-3-Clause */
/* Writing stream-optimized extents, keeping them streams.
 *
 * A stream is read front to back by importers (OVF/OVA, vSphere
 * upload): header, compressed grains each behind a marker giving its
 * LBA, grain tables, directory, footer, end-of-stream.  After a create,
 * sequential writes and a close the file is exactly that.
 *
 * Grains are appended after the last complete tail (tables, directory,
 * footer, end-of-stream).  Before the first of them, the header's
 * gdOffset is pointed at that tail's directory, so a reader that opens
 * the file after a crash (qemu, libvmdk, us) finds everything that was
 * flushed and ignores the unflushed grains after it.  A flush appends
 * the tables that changed, a directory, a footer and an end-of-stream
 * marker, sets gdOffset back to "at the end" (the footer, as VMware
 * writes streams), then turns the previous footer and end-of-stream
 * marker into a skippable table marker, so that a sequential reader
 * does not stop there.
 *
 * Grains are gathered in memory before they go into the file (the
 * table entry holds STREAM_PENDING_ENTRY meanwhile) and leave in LBA
 * order: a grain is stored when it is the next one after the last
 * stored, or when the window is full (then the lowest goes first), or
 * at flush.  Clients such as nbdcopy write in parallel, slightly out of
 * order; the window puts their grains back in order.  A grain written in
 * parts is compressed once, when its last sector has been written, so
 * small sequential writes cost no more space than large ones.
 */
#include <endian.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "compress.h"
#include "error.h"
#include "log.h"
#include "sparse-extent.h"

/* Memory for gathered grains (bytes): the reordering window. */
#define PENDING_BYTES (32 * 1024 * 1024)

struct pending_grain {
  uint64_t gi;                  /* grain number in the extent */
  uint32_t old_entry;           /* table entry before it was gathered */
  bool over_parent;             /* old_entry let a parent link show */
  bool complete;                /* written to its end: compressed */
  unsigned char *data;          /* the whole grain, uncompressed */
  unsigned char *compressed;    /* marker and zlib data; NULL: zeros */
  size_t bytes;
};

struct stream_writer {
  /* The newest complete tail: its footer marker and where it ends
   * (sectors).  footer_at is 0 when there is none at the end of the
   * file (qemu keeps its directory after the header). */
  uint64_t footer_at, tail_end;
  /* A footer or end-of-stream marker that grains will follow, to be
   * made skippable once a newer tail is durable; 0 if none. */
  uint64_t stale_marker;
  uint32_t stale_span;          /* sectors after it that must be skipped */
  bool header_at_end;           /* sector 0 says "directory in footer" */
  bool appending;               /* header points at a durable directory */
  bool tail_current;            /* file ends with a tail of what is stored */
  struct pending_grain *pending;
  size_t n_pending, cap_pending;
  uint16_t *gathered;           /* per table: its grains in the window,
                                 * which pin it in the table cache */
  size_t pending_bytes;         /* memory they use */
  uint64_t next_gi;             /* the grain after the last one stored */
};

/* A grain marker (LBA, compressed size) and the zlib stream of data,
 * padded to whole sectors. */
static VixError
compress_grain (struct sparse_extent *s, uint64_t gi,
                const unsigned char *data, size_t len,
                unsigned char **marker, size_t *bytes)
{
  size_t bound = vdl_zlib_bound (len), n;
  uint64_t lba = htole64 (gi * s->h.grain_size);
  uint32_t size;
  unsigned char *shrunk;

  *marker = malloc ((12 + bound + SS - 1) / SS * SS);
  if (!*marker)
    return vdl_error (VIX_E_OUT_OF_MEMORY, "out of memory");
  n = vdl_zlib_compress (data, len, *marker + 12);
  if (n == 0) {
    free (*marker);
    return vdl_error (VIX_E_FAIL, "%s: compressing grain %llu failed",
                      s->e.path, (unsigned long long) gi);
  }
  size = htole32 (n);
  memcpy (*marker, &lba, 8);
  memcpy (*marker + 8, &size, 4);
  *bytes = (12 + n + SS - 1) / SS * SS;
  memset (*marker + 12 + n, 0, *bytes - 12 - n);
  /* Grains wait in the window: keep only what they need, not the
   * worst case of an incompressible grain. */
  if ((shrunk = realloc (*marker, *bytes)))
    *marker = shrunk;
  return VIX_OK;
}

/* Sectors in grain gi (the last grain of a disk may be short). */
static uint64_t
grain_sectors (struct sparse_extent *s, uint64_t gi)
{
  uint64_t first = gi * s->h.grain_size;

  return s->h.capacity - first < s->h.grain_size
    ? s->h.capacity - first : s->h.grain_size;
}

static uint32_t *
entry_of (struct sparse_extent *s, uint64_t gi)
{
  uint64_t sector = gi * s->h.grain_size;

  /* The table is loaded: every caller looked the grain up first.  The
   * slot is read atomically: other threads load tables (CAS) unlocked. */
  uint32_t *gt = __atomic_load_n (&s->gts[sector / s->gt_cover],
                                  __ATOMIC_ACQUIRE);

  return &gt[sparse_grain_index (s, sector)];
}

static uint32_t
table_of (struct sparse_extent *s, uint64_t gi)
{
  return gi * s->h.grain_size / s->gt_cover;
}

static void
set_entry_locked (struct sparse_extent *s, uint64_t gi, uint32_t at)
{
  __atomic_store_n (entry_of (s, gi), at, __ATOMIC_RELEASE);
  s->gt_dirty[table_of (s, gi)] = s->any_dirty = true;
}

/* ---- the header and the file's end ---- */

static VixError
write_header_gd (struct sparse_extent *s, uint64_t gd)
{
  uint64_t v = htole64 (gd);
  VixError err = vdl_file_pwrite (s->file, &v, sizeof v,
                                  KDMV_GD_OFFSET_FIELD);

  return err == VIX_OK ? vdl_file_sync (s->file) : err;
}

static VixError
read_is_zero (struct sparse_extent *s, uint64_t sector, uint64_t count,
              bool *zero)
{
  unsigned char *buf = malloc (count * SS);
  VixError err;

  if (!buf)
    return vdl_error (VIX_E_OUT_OF_MEMORY, "out of memory");
  err = vdl_file_pread (s->file, buf, count * SS, sector * SS);
  *zero = err == VIX_OK && sparse_is_zero (buf, count * SS);
  free (buf);
  return err;
}

/* A footer and end-of-stream marker that a flush made skippable (a
 * table marker spanning both), as a crash during that flush can leave
 * the tail the header names. */
static bool
is_unmarked_footer (const unsigned char *buf, struct kdmv_header *h)
{
  unsigned char copy[3 * SS];

  kdmv_marker_format (copy, 2, KDMV_MARKER_GT);
  if (memcmp (copy, buf, SS) != 0)
    return false;
  memcpy (copy + SS, buf + SS, 2 * SS);
  kdmv_marker_format (copy, 1, KDMV_MARKER_FOOTER);
  return sparse_is_footer (copy, h);
}

/* Whether the directory at gd is followed by a footer and end-of-stream
 * marker, i.e. it belongs to a complete tail. */
static VixError
find_tail_after (struct sparse_extent *s, uint64_t gd)
{
  struct stream_writer *w = s->sw;
  uint64_t at = gd + kdmv_gd_sectors (s->n_gts);
  unsigned char buf[3 * SS];
  struct kdmv_header h;

  if (at + 3 > s->file_sectors)
    return VIX_OK;
  if (vdl_file_pread (s->file, buf, sizeof buf, at * SS) != VIX_OK)
    return vdl_error (VIX_E_FILE_ERROR, "%s: cannot read", s->e.path);
  if ((sparse_is_footer (buf, &h) || is_unmarked_footer (buf, &h)) &&
      h.gd_offset == gd) {
    w->footer_at = at;
    w->tail_end = at + 3;
  }
  return VIX_OK;
}

/* Where the directory and the tables it names end.  Appending must
 * not cut or overwrite them: a table of zeros looks like the padding
 * after an end-of-stream marker. */
static uint64_t
metadata_end (struct sparse_extent *s)
{
  uint64_t gt_sectors = kdmv_gt_sectors (&s->h);
  uint64_t end = s->h.gd_offset + kdmv_gd_sectors (s->n_gts);
  uint32_t i;

  for (i = 0; i < s->n_gts; i++)
    if (s->gd[i] && s->gd[i] + gt_sectors > end)
      end = s->gd[i] + gt_sectors;
  return end;
}

/* qemu ends its streams with a bare end-of-stream marker, then zeros
 * up to a cluster boundary.  The marker is the first zero sector after
 * the last one that is not; grains will go right after it. */
static VixError
find_bare_eos (struct sparse_extent *s)
{
  const uint64_t chunk = 128, limit = 2048;     /* sectors */
  uint64_t end = s->file_sectors, start, i;
  unsigned char *buf = malloc (chunk * SS);
  VixError err = VIX_OK;

  if (!buf)
    return vdl_error (VIX_E_OUT_OF_MEMORY, "out of memory");
  while (end > s->h.overhead && s->file_sectors - end < limit) {
    start = end > s->h.overhead + chunk ? end - chunk : s->h.overhead;
    err = vdl_file_pread (s->file, buf, (end - start) * SS, start * SS);
    if (err != VIX_OK)
      break;
    for (i = end - start; i-- > 0; )
      if (!sparse_is_zero (buf + i * SS, SS)) {
        if (start + i + 1 < s->file_sectors &&
            start + i + 1 >= metadata_end (s)) {
          s->sw->stale_marker = start + i + 1;
          s->sw->stale_span = 0;
          s->next_free = start + i + 2;
        }
        free (buf);
        return VIX_OK;
      }
    end = start;
  }
  free (buf);
  return err;
}

static VixError stream_write_back (void *owner);

VixError
stream_writer_open (struct sparse_extent *s)
{
  struct stream_writer *w = calloc (1, sizeof *w);
  VixError err = VIX_OK;

  if (!w)
    return vdl_error (VIX_E_OUT_OF_MEMORY, "out of memory");
  s->sw = w;
  if (!(w->gathered = calloc (s->n_gts, sizeof *w->gathered)))
    return vdl_error (VIX_E_OUT_OF_MEMORY, "out of memory");
  s->cache.pinned = w->gathered;
  s->cache.write_back = stream_write_back;
  w->header_at_end = s->header_at_end;
  if (s->footer_at) {
    w->footer_at = s->footer_at;
    w->tail_end = s->footer_at + 3;
  }
  else
    err = find_tail_after (s, s->h.gd_offset);
  if (err != VIX_OK)
    return err;
  /* Tables named by the directory after that tail (a damaged stream)
   * must not be cut off with the grains that follow it. */
  if (w->tail_end && w->tail_end < metadata_end (s))
    w->tail_end = 0;
  w->tail_current = w->tail_end == s->file_sectors;
  if (w->footer_at) {
    w->stale_marker = w->footer_at;
    w->stale_span = 2;
  }
  else
    err = find_bare_eos (s);
  return err;
}

static bool
disk_is_empty (struct sparse_extent *s)
{
  uint32_t i;

  for (i = 0; i < s->n_gts; i++)
    if (s->gd[i] != 0)
      return false;
  return true;
}

/* Cut the file at sector end, before appending there.  The file may
 * have been larger when it was opened: lower that size too, first, or
 * readers would read grains near the end past the new end of the file
 * (a reader that already looked reads again, load_compressed_grain). */
static VixError
cut_to_locked (struct sparse_extent *s, uint64_t end)
{
  if (__atomic_load_n (&s->file_sectors, __ATOMIC_ACQUIRE) > end)
    __atomic_store_n (&s->file_sectors, end, __ATOMIC_RELEASE);
  __atomic_store_n (&s->next_free, end, __ATOMIC_RELEASE);
  return vdl_file_truncate (s->file, end * SS);
}

/* A stream that holds nothing yet (as Create leaves it) is rewritten
 * from its first grain on, so that grains come right after the header:
 * the header first points at an empty directory in the zeros between
 * descriptor and grains, then the empty tail is cut off. */
static VixError
restart_empty_locked (struct sparse_extent *s, bool *done)
{
  struct stream_writer *w = s->sw;
  uint64_t gd_sectors = kdmv_gd_sectors (s->n_gts);
  uint64_t gd = s->h.desc_offset + s->h.desc_size;
  bool zero = false;
  VixError err;

  *done = false;
  if (gd == 0)
    gd = 1;
  if (!w->footer_at || !disk_is_empty (s) || gd + gd_sectors > s->h.overhead)
    return VIX_OK;
  err = read_is_zero (s, gd, gd_sectors, &zero);
  if (err != VIX_OK || !zero)
    return err;
  err = write_header_gd (s, gd);
  if (err == VIX_OK)
    err = cut_to_locked (s, s->h.overhead);
  if (err != VIX_OK)
    return err;
  s->h.gd_offset = gd;
  w->header_at_end = false;
  w->footer_at = w->tail_end = w->stale_marker = 0;
  w->tail_current = false;
  *done = true;
  return VIX_OK;
}

/* Before the first grain goes into the file: make the header name the
 * directory that describes the file as it is, so that grains appended
 * after it (and perhaps never flushed) do not hide it. */
static VixError
prepare_append_locked (struct sparse_extent *s)
{
  struct stream_writer *w = s->sw;
  bool restarted;
  VixError err;

  if (w->appending)
    return VIX_OK;
  err = restart_empty_locked (s, &restarted);
  if (err != VIX_OK)
    return err;
  if (!restarted) {
    if (w->header_at_end) {
      err = write_header_gd (s, s->h.gd_offset);
      if (err != VIX_OK)
        return err;
      w->header_at_end = false;
    }
    if (w->tail_end && w->tail_end < s->next_free) {
      /* Grains after the last tail were never flushed: drop them. */
      vdl_debug ("VixDiskLib: %s: dropping %llu unflushed sectors after "
                 "the last footer", s->e.path,
                 (unsigned long long) (s->next_free - w->tail_end));
      err = cut_to_locked (s, w->tail_end);
      if (err != VIX_OK)
        return err;
    }
  }
  w->appending = true;
  return VIX_OK;
}

/* ---- storing grains ---- */

/* Append a compressed grain (bytes long) as grain gi; NULL means all
 * zeros, which needs no data at all. */
static VixError
store_grain_locked (struct sparse_extent *s, uint64_t gi,
                    const unsigned char *compressed, size_t bytes)
{
  uint64_t at;
  VixError err;

  if (!compressed) {
    if (get_entry (entry_of (s, gi), 0) != 0)
      set_entry_locked (s, gi, 0);
    return VIX_OK;
  }
  err = prepare_append_locked (s);
  if (err != VIX_OK)
    return err;
  at = s->next_free;
  /* Readers refuse grains inside the metadata area, which a file may
   * claim beyond its end: grains start after it, whatever the file. */
  if (at < s->h.overhead)
    at = s->h.overhead;
  if (at + bytes / SS > UINT32_MAX)
    return vdl_error (VIX_E_FILE_TOO_BIG, "%s is full: a sparse extent "
                      "cannot grow beyond 2 TiB", s->e.path);
  s->sw->tail_current = false;
  err = vdl_file_pwrite (s->file, compressed, bytes, at * SS);
  if (err != VIX_OK)
    return err;               /* the partial grain is cut off at commit */
  __atomic_store_n (&s->next_free, at + bytes / SS, __ATOMIC_RELEASE);
  set_entry_locked (s, gi, at);
  return VIX_OK;
}

static struct pending_grain *
find_pending (struct stream_writer *w, uint64_t gi)
{
  size_t i;

  for (i = 0; i < w->n_pending; i++)
    if (w->pending[i].gi == gi)
      return &w->pending[i];
  return NULL;
}

static struct pending_grain *
lowest_pending (struct stream_writer *w)
{
  struct pending_grain *low = NULL;
  size_t i;

  for (i = 0; i < w->n_pending; i++)
    if (!low || w->pending[i].gi < low->gi)
      low = &w->pending[i];
  return low;
}

static void
forget_compressed (struct stream_writer *w, struct pending_grain *p)
{
  w->pending_bytes -= p->bytes;
  free (p->compressed);
  p->compressed = NULL;
  p->bytes = 0;
  p->complete = false;
}

static void
drop_pending (struct sparse_extent *s, struct pending_grain *p)
{
  struct stream_writer *w = s->sw;

  forget_compressed (w, p);
  w->pending_bytes -= s->h.grain_size * SS;
  w->gathered[table_of (s, p->gi)]--;
  free (p->data);
  *p = w->pending[--w->n_pending];
}

/* The grain is whole: compress it (NULL, 0 for zeros where no data
 * was: nothing to store).  Zeros over data, here or in a parent link,
 * are stored as a compressed grain of zeros, not as an empty table
 * entry, so that readers (front to back, or through the chain) see the
 * old data replaced. */
static VixError
complete_locked (struct sparse_extent *s, struct pending_grain *p)
{
  size_t len = grain_sectors (s, p->gi) * SS;
  VixError err = VIX_OK;

  if (p->complete)
    return VIX_OK;
  if (sparse_state_of (s, p->old_entry) == VDL_RUN_DATA || p->over_parent ||
      !sparse_is_zero (p->data, len))
    err = compress_grain (s, p->gi, p->data, len, &p->compressed, &p->bytes);
  if (err == VIX_OK) {
    p->complete = true;
    s->sw->pending_bytes += p->bytes;
  }
  return err;
}

/* Store a gathered grain in the file; it stays gathered on failure. */
static VixError
emit_locked (struct sparse_extent *s, struct pending_grain *p)
{
  struct stream_writer *w = s->sw;
  uint64_t gi = p->gi;
  VixError err = complete_locked (s, p);

  if (err != VIX_OK)
    return err;
  if (!p->compressed)
    /* Zeros where no data was: no change. */
    __atomic_store_n (entry_of (s, gi), p->old_entry, __ATOMIC_RELEASE);
  else {
    err = store_grain_locked (s, gi, p->compressed, p->bytes);
    if (err != VIX_OK)
      return err;
  }
  drop_pending (s, p);
  w->next_gi = gi + 1;
  return VIX_OK;
}

/* Store what can leave the window in order: the next grain while it is
 * complete, and the lowest ones while the window is over its size. */
static VixError
settle_locked (struct sparse_extent *s)
{
  struct stream_writer *w = s->sw;
  struct pending_grain *p;
  VixError err = VIX_OK;

  while (err == VIX_OK) {
    p = find_pending (w, w->next_gi);
    if (p && p->complete)
      err = emit_locked (s, p);
    else if (w->pending_bytes > PENDING_BYTES)
      err = emit_locked (s, lowest_pending (w));
    else
      break;
  }
  return err;
}

/* Gather grain gi, from its current contents (here, or through fill
 * from the parent links) if it will be written only in part. */
static VixError
gather_locked (struct sparse_extent *s, uint64_t gi, bool whole,
               vdl_fill_fn fill, void *ctx, struct pending_grain **out)
{
  struct stream_writer *w = s->sw;
  size_t grain_bytes = s->h.grain_size * SS;
  uint32_t *entry = entry_of (s, gi);
  bool over_parent = fill && sparse_state_of (s, *entry) == VDL_RUN_ABSENT;
  struct pending_grain *p;
  unsigned char *data;
  VixError err = VIX_OK;

  if (w->n_pending == w->cap_pending) {
    size_t cap = w->cap_pending ? 2 * w->cap_pending : 64;
    p = realloc (w->pending, cap * sizeof *p);
    if (!p)
      return vdl_error (VIX_E_OUT_OF_MEMORY, "out of memory");
    w->pending = p;
    w->cap_pending = cap;
  }
  data = malloc (grain_bytes);
  if (!data)
    return vdl_error (VIX_E_OUT_OF_MEMORY, "out of memory");
  if (!whole && sparse_state_of (s, *entry) == VDL_RUN_DATA) {
    err = sparse_check_entry (s, gi * s->h.grain_size, *entry);
    if (err == VIX_OK)
      err = sparse_read_compressed_grain (s, gi, *entry, data);
  }
  else {
    memset (data, 0, grain_bytes);
    if (!whole && over_parent)
      err = fill (ctx, gi * s->h.grain_size, grain_sectors (s, gi), data);
  }
  if (err != VIX_OK) {
    free (data);
    return err;
  }
  p = &w->pending[w->n_pending++];
  *p = (struct pending_grain) {
    .gi = gi, .old_entry = *entry, .data = data,
    .over_parent = over_parent,
  };
  w->pending_bytes += grain_bytes;
  w->gathered[table_of (s, gi)]++;
  __atomic_store_n (entry, STREAM_PENDING_ENTRY, __ATOMIC_RELEASE);
  *out = p;
  return VIX_OK;
}

/* Write n sectors at in_grain of grain gi into the window.  A whole
 * grain comes with its compressed form (compressed, bytes), made
 * before the lock was taken (also for zeros when a parent link may
 * show through); it is owned by the window from here. */
static VixError
write_grain_locked (struct sparse_extent *s, uint64_t gi, uint64_t in_grain,
                    uint64_t n, const unsigned char *buf,
                    unsigned char *compressed, size_t bytes,
                    vdl_fill_fn fill, void *ctx)
{
  uint64_t glen = grain_sectors (s, gi);
  struct pending_grain *p = find_pending (s->sw, gi);
  VixError err;

  /* A whole grain of zeros (not compressed: no parent link) where no
   * data is changes nothing.  Gathering it would fill the window with
   * zeros, and a large zeroed range (nbdcopy sends holes that way)
   * would then push grains still arriving out of LBA order. */
  if (!p && n == glen && !compressed &&
      sparse_state_of (s, *entry_of (s, gi)) != VDL_RUN_DATA)
    return VIX_OK;
  if (!p &&
      (err = gather_locked (s, gi, n == glen, fill, ctx, &p)) != VIX_OK) {
    free (compressed);
    return err;
  }
  forget_compressed (s->sw, p);
  memcpy (p->data + in_grain * SS, buf, n * SS);
  if (n == glen && (compressed || (!p->over_parent &&
                    sparse_state_of (s, p->old_entry) != VDL_RUN_DATA))) {
    p->compressed = compressed;
    p->bytes = bytes;
    p->complete = true;
    s->sw->pending_bytes += bytes;
  }
  /* Sequential writers are done with a grain when they reach its end. */
  else if (in_grain + n == glen && (err = complete_locked (s, p)) != VIX_OK)
    return err;
  return settle_locked (s);
}

VixError
stream_pending_grain (struct sparse_extent *s, uint64_t gi,
                      unsigned char *buf, bool *stored, uint32_t *entry,
                      bool *known)
{
  struct pending_grain *p;
  uint32_t *gt = NULL;

  pthread_mutex_lock (&s->lock);
  p = find_pending (s->sw, gi);
  if (p)
    memcpy (buf, p->data, s->h.grain_size * SS);
  else {
    /* Its entry now, while no writer can gather it again. */
    gt = __atomic_load_n (&s->gts[table_of (s, gi)], __ATOMIC_ACQUIRE);
    if (gt)
      *entry = get_entry (gt, sparse_grain_index (s, gi * s->h.grain_size));
  }
  pthread_mutex_unlock (&s->lock);
  *stored = p == NULL;
  *known = gt != NULL;
  return VIX_OK;
}

VixError
stream_write (struct sparse_extent *s, uint64_t sector, uint64_t count,
              const unsigned char *buf, vdl_fill_fn fill, void *ctx)
{
  uint64_t g = s->h.grain_size, gi, in_grain, n, glen;
  unsigned char *compressed;
  size_t bytes;
  uint32_t *gt;
  VixError err = VIX_OK;

  while (count > 0 && err == VIX_OK) {
    gi = sector / g;
    in_grain = sector % g;
    glen = grain_sectors (s, gi);
    n = glen - in_grain < count ? glen - in_grain : count;
    compressed = NULL;
    bytes = 0;
    /* Whole grains are compressed outside the lock, in parallel;
     * zeros too when a parent link may show through where they go. */
    if (n == glen && (fill || !sparse_is_zero (buf, n * SS)))
      err = compress_grain (s, gi, buf, n * SS, &compressed, &bytes);
    if (err != VIX_OK)
      break;
    if ((err = sparse_lock_gt_for_write (s, sector, &gt)) != VIX_OK) {
      free (compressed);
      break;
    }
    err = write_grain_locked (s, gi, in_grain, n, buf, compressed, bytes,
                              fill, ctx);
    pthread_mutex_unlock (&s->lock);
    sparse_release_gt (s, sector);
    buf += n * SS;
    sector += n;
    count -= n;
  }
  return err;
}

/* ---- making room in the table cache ---- */

/* Append changed table i behind a table marker (where VMware's streams
 * have each table: after its grains) and name it in the directory in
 * memory; the file's directory names it from the next flush on, and a
 * crash before that cuts it off with the unflushed grains. */
static VixError
append_table_locked (struct sparse_extent *s, uint32_t i)
{
  uint64_t gt_sectors = kdmv_gt_sectors (&s->h), at;
  uint32_t *gt = __atomic_load_n (&s->gts[i], __ATOMIC_ACQUIRE), gd = 0;
  unsigned char *buf;
  VixError err;

  if (kdmv_gt_in_use (&s->h, gt)) {
    err = prepare_append_locked (s);
    if (err != VIX_OK)
      return err;
    at = s->next_free < s->h.overhead ? s->h.overhead : s->next_free;
    if (at + 1 + gt_sectors > UINT32_MAX)
      return vdl_error (VIX_E_FILE_TOO_BIG, "%s is full: its grain tables "
                        "cannot go beyond 2 TiB", s->e.path);
    if (!(buf = calloc (1 + gt_sectors, SS)))
      return vdl_error (VIX_E_OUT_OF_MEMORY, "out of memory");
    kdmv_marked_gt_format (&s->h, gt, buf);
    s->sw->tail_current = false;
    err = vdl_file_pwrite (s->file, buf, (1 + gt_sectors) * SS, at * SS);
    free (buf);
    if (err != VIX_OK)
      return err;
    __atomic_store_n (&s->next_free, at + 1 + gt_sectors, __ATOMIC_RELEASE);
    gd = at + 1;
    /* Its entries may point at grains appended after the file's end
     * as opened (read_gt). */
    __atomic_store_n (&s->gt_rewritten[i], true, __ATOMIC_RELEASE);
  }
  __atomic_store_n (&s->gd[i], gd, __ATOMIC_RELEASE);
  s->gt_dirty[i] = false;
  s->any_dirty = true;          /* the directory changed */
  return VIX_OK;
}

/* The table cache's write_back: only changed tables are left to drop.
 * Append those whose grains are all stored (the others are pinned).
 * s->lock held. */
static VixError
stream_write_back (void *owner)
{
  struct sparse_extent *s = owner;
  VixError err = VIX_OK;
  uint32_t i;

  for (i = 0; i < s->n_gts && err == VIX_OK; i++)
    if (s->gt_dirty[i] && !s->sw->gathered[i])
      err = append_table_locked (s, i);
  return err;
}

/* ---- committing ---- */

/* Make the old footer and end-of-stream marker, which grains now
 * follow, one table marker that a sequential reader skips (skip), or
 * put them back as they were (a footer marker, or a bare end-of-stream
 * marker: zeros) when the flush that unmarked them fails. */
static VixError
mark_stale_locked (struct sparse_extent *s, bool skip)
{
  struct stream_writer *w = s->sw;
  unsigned char marker[SS];

  if (!w->stale_marker)
    return VIX_OK;
  if (skip)
    kdmv_marker_format (marker, w->stale_span, KDMV_MARKER_GT);
  else if (w->stale_span)
    kdmv_marker_format (marker, 1, KDMV_MARKER_FOOTER);
  else
    memset (marker, 0, SS);
  return vdl_file_pwrite (s->file, marker, SS, w->stale_marker * SS);
}

/* Cut anything a failed write left after sector end. */
static VixError
cut_after (struct sparse_extent *s, uint64_t end)
{
  uint64_t size;
  VixError err = vdl_file_size (s->file, &size);

  if (err == VIX_OK && size > end * SS)
    err = vdl_file_truncate (s->file, end * SS);
  return err;
}

static VixError
write_tail_locked (struct sparse_extent *s)
{
  struct stream_writer *w = s->sw;
  uint64_t sectors, at = s->next_free, gd_at;
  uint32_t **dirty, *gd, i;
  unsigned char *tail = NULL;
  bool unmarked = false, header_written = false;
  VixError err;

  /* Only changed tables are written again; the others stay put. */
  dirty = calloc (s->n_gts, sizeof *dirty);
  gd = malloc (s->n_gts * sizeof *gd);
  if (dirty && gd) {
    for (i = 0; i < s->n_gts; i++)
      dirty[i] = s->gt_dirty[i]
        ? __atomic_load_n (&s->gts[i], __ATOMIC_ACQUIRE) : NULL;
    memcpy (gd, s->gd, s->n_gts * sizeof *gd);
    tail = kdmv_stream_tail (&s->h, dirty, at, gd, &sectors);
  }
  free (dirty);
  if (!tail) {
    free (gd);
    return vdl_error (VIX_E_OUT_OF_MEMORY, "out of memory");
  }
  gd_at = at + sectors - 3 - kdmv_gd_sectors (s->n_gts);
  /* Directory entries are 32-bit: tables past 2 TiB would wrap. */
  if (at + sectors > UINT32_MAX) {
    free (tail);
    free (gd);
    return vdl_error (VIX_E_FILE_TOO_BIG, "%s is full: its grain tables "
                      "cannot go beyond 2 TiB", s->e.path);
  }
  err = vdl_file_pwrite (s->file, tail, sectors * SS, at * SS);
  free (tail);
  /* The old end becomes skippable before the header says "at the end",
   * durable with the new tail: whenever the header names the new tail,
   * a reader going front to back finds no end before it; if this
   * fails, the header still names the old directory, which the old end
   * closes (a full disk, test-fault-inject.sh).  A crash before the
   * header is written leaves the old tail unmarked, which
   * find_tail_after recognises; a failure puts it back. */
  if (err == VIX_OK) {
    unmarked = true;
    err = mark_stale_locked (s, true);
  }
  if (err == VIX_OK)
    err = vdl_file_sync (s->file);
  if (err == VIX_OK)
    err = cut_after (s, at + sectors);
  if (err == VIX_OK) {
    header_written = true;
    err = write_header_gd (s, KDMV_GD_AT_END);
  }
  if (err != VIX_OK) {
    /* Back to the previous directory.  The header may say "at the
     * end" already (written, but its sync failed): name the previous
     * directory again before cutting the new tail, or a crash would
     * leave a header pointing at a footer that is not there; and the
     * old end must end the stream again. */
    if (header_written)
      write_header_gd (s, s->h.gd_offset);
    if (unmarked)
      mark_stale_locked (s, false);
    cut_after (s, at);
    free (gd);
    return err;
  }
  /* Readers load tables they have not seen yet without the lock. */
  for (i = 0; i < s->n_gts; i++)
    __atomic_store_n (&s->gd[i], gd[i], __ATOMIC_RELEASE);
  free (gd);
  s->h.gd_offset = gd_at;
  __atomic_store_n (&s->next_free, at + sectors, __ATOMIC_RELEASE);
  for (i = 0; i < s->n_gts; i++)
    if (s->gt_dirty[i]) {
      s->gt_dirty[i] = false;
      /* Dropped and read again, it may point past the file as opened. */
      __atomic_store_n (&s->gt_rewritten[i], true, __ATOMIC_RELEASE);
    }
  s->any_dirty = false;
  w->footer_at = w->stale_marker = at + sectors - 3;
  w->stale_span = 2;
  w->tail_end = at + sectors;
  w->tail_current = w->header_at_end = true;
  w->appending = false;
  return VIX_OK;
}

VixError
stream_commit_locked (struct sparse_extent *s)
{
  struct stream_writer *w = s->sw;
  VixError err = VIX_OK;

  while (w->n_pending > 0 && err == VIX_OK)
    err = emit_locked (s, lowest_pending (w));
  if (err == VIX_OK)
    err = vdl_file_sync (s->file);
  /* Nothing changed since the last tail, or nothing was ever stored. */
  if (err != VIX_OK || (!s->any_dirty && (w->tail_current || !w->appending)))
    return err;
  err = prepare_append_locked (s);
  if (err == VIX_OK)
    err = write_tail_locked (s);
  return err;
}

void
stream_writer_close (struct sparse_extent *s)
{
  struct stream_writer *w = s->sw;
  size_t i;

  /* The disk was flushed before its extents are closed. */
  if (!w)
    return;
  if (w->appending && !w->tail_current && w->tail_end) {
    /* That flush failed (a full disk): leave the stream as it was last
     * flushed, whole, rather than ending in grains no table names. */
    unsigned char marker[SS];

    vdl_debug ("VixDiskLib: %s: the last flush failed; cutting the stream "
               "back to what was flushed before", s->e.path);
    /* That flush may have made its footer skippable already. */
    kdmv_marker_format (marker, 1, KDMV_MARKER_FOOTER);
    if (vdl_file_truncate (s->file, w->tail_end * SS) == VIX_OK &&
        vdl_file_pwrite (s->file, marker, SS, w->footer_at * SS) == VIX_OK)
      write_header_gd (s, KDMV_GD_AT_END);
  }
  for (i = 0; i < w->n_pending; i++) {
    free (w->pending[i].data);
    free (w->pending[i].compressed);
  }
  free (w->pending);
  s->cache.pinned = NULL;
  free (w->gathered);
  free (w);
  s->sw = NULL;
}
