/* SPDX-License-Identifier: BSD-3-Clause */
/* Stream-optimized extents: reading them, and writing them so that
 * they stay streams.
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
 *
 * Reads decompress grains (stream-grain.c); grains being gathered are
 * read from the window.  Which grains and tables the file holds is
 * grained.c's, as for every grain-table extent; opening is
 * extent-grained.c's, which hands a compressed extent here
 * (stream_open_kind).
 */
#include <endian.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "log.h"
#include "grained-kinds.h"
#include "stream.h"

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

/* ---- the window of gathered grains ---- */

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
drop_pending (struct grained_extent *s, struct pending_grain *p)
{
  struct stream_writer *w = s->sw;

  forget_compressed (w, p);
  w->pending_bytes -= s->h.grain_size * SS;
  w->gathered[stream_table_of (s, p->gi)]--;
  free (p->data);
  *p = w->pending[--w->n_pending];
}

/* The grain is whole: compress it (NULL, 0 for zeros where no data
 * was: nothing to store).  Zeros over data, here or in a parent link,
 * are stored as a compressed grain of zeros, not as an empty table
 * entry, so that readers (front to back, or through the chain) see the
 * old data replaced. */
static VixError
complete_locked (struct grained_extent *s, struct pending_grain *p)
{
  size_t len = stream_grain_sectors (s, p->gi) * SS;
  VixError err = VIX_OK;

  if (p->complete)
    return VIX_OK;
  if (grained_state_of (s, p->old_entry) == VDL_RUN_DATA || p->over_parent ||
      !grained_is_zero (p->data, len))
    err = stream_compress_grain (s, p->gi, p->data, len, &p->compressed, &p->bytes);
  if (err == VIX_OK) {
    p->complete = true;
    s->sw->pending_bytes += p->bytes;
  }
  return err;
}

/* Store a gathered grain in the file; it stays gathered on failure. */
static VixError
emit_locked (struct grained_extent *s, struct pending_grain *p)
{
  struct stream_writer *w = s->sw;
  uint64_t gi = p->gi;
  VixError err = complete_locked (s, p);

  if (err != VIX_OK)
    return err;
  if (!p->compressed)
    /* Zeros where no data was: no change. */
    __atomic_store_n (stream_entry_of (s, gi), p->old_entry, __ATOMIC_RELEASE);
  else {
    err = stream_store_grain_locked (s, gi, p->compressed, p->bytes);
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
settle_locked (struct grained_extent *s)
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
gather_locked (struct grained_extent *s, uint64_t gi, bool whole,
               vdl_fill_fn fill, void *ctx, struct pending_grain **out)
{
  struct stream_writer *w = s->sw;
  size_t grain_bytes = s->h.grain_size * SS;
  uint32_t *entry = stream_entry_of (s, gi);
  bool over_parent = fill && grained_state_of (s, *entry) == VDL_RUN_ABSENT;
  struct pending_grain *p;
  unsigned char *data;
  VixError err = VIX_OK;

  if (w->n_pending == w->cap_pending) {
    size_t cap = w->cap_pending ? 2 * w->cap_pending : 64;
    p = realloc (w->pending, cap * sizeof *p);
    if (!p)
      return vdl_oom ();
    w->pending = p;
    w->cap_pending = cap;
  }
  data = malloc (grain_bytes);
  if (!data)
    return vdl_oom ();
  if (!whole && grained_state_of (s, *entry) == VDL_RUN_DATA) {
    err = grained_check_entry (s, gi * s->h.grain_size, *entry);
    if (err == VIX_OK)
      err = stream_read_grain (s, gi, *entry, data);
  }
  else {
    memset (data, 0, grain_bytes);
    if (!whole && over_parent)
      err = fill (ctx, gi * s->h.grain_size, stream_grain_sectors (s, gi), data);
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
  w->gathered[stream_table_of (s, gi)]++;
  __atomic_store_n (entry, STREAM_PENDING_ENTRY, __ATOMIC_RELEASE);
  *out = p;
  return VIX_OK;
}

/* Write n sectors at in_grain of grain gi into the window.  A whole
 * grain comes with its compressed form (compressed, bytes), made
 * before the lock was taken (also for zeros when a parent link may
 * show through); it is owned by the window from here. */
static VixError
write_grain_locked (struct grained_extent *s, uint64_t gi, uint64_t in_grain,
                    uint64_t n, const unsigned char *buf,
                    unsigned char *compressed, size_t bytes,
                    vdl_fill_fn fill, void *ctx)
{
  uint64_t glen = stream_grain_sectors (s, gi);
  struct pending_grain *p = find_pending (s->sw, gi);
  VixError err;

  /* A whole grain of zeros (not compressed: no parent link) where no
   * data is changes nothing.  Gathering it would fill the window with
   * zeros, and a large zeroed range (nbdcopy sends holes that way)
   * would then push grains still arriving out of LBA order. */
  if (!p && n == glen && !compressed &&
      grained_state_of (s, *stream_entry_of (s, gi)) != VDL_RUN_DATA)
    return VIX_OK;
  if (!p &&
      (err = gather_locked (s, gi, n == glen, fill, ctx, &p)) != VIX_OK) {
    free (compressed);
    return err;
  }
  forget_compressed (s->sw, p);
  memcpy (p->data + in_grain * SS, buf, n * SS);
  if (n == glen && (compressed || (!p->over_parent &&
                    grained_state_of (s, p->old_entry) != VDL_RUN_DATA))) {
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

/* Copy n sectors from sector first of grain gi, being gathered, into
 * buf; or, if it was stored meanwhile, set *stored and, if its table
 * is in memory (*known), set *entry to its table entry as it is then.
 * Otherwise look it up again (and ask again if it is being gathered
 * again). */
static void
pending_grain (struct grained_extent *s, uint64_t gi, uint64_t first,
               uint64_t n, unsigned char *buf, bool *stored,
               uint32_t *entry, bool *known)
{
  struct pending_grain *p;
  uint32_t *gt = NULL;

  pthread_mutex_lock (&s->lock);
  p = find_pending (s->sw, gi);
  if (p)
    memcpy (buf, p->data + first * SS, n * SS);
  else {
    /* Its entry now, while no writer can gather it again. */
    gt = __atomic_load_n (&s->gts[stream_table_of (s, gi)],
                          __ATOMIC_ACQUIRE);
    if (gt)
      *entry = get_entry (gt, grained_grain_index (s, gi * s->h.grain_size));
  }
  pthread_mutex_unlock (&s->lock);
  *stored = p == NULL;
  *known = gt != NULL;
}

/* fill: the contents below this link where it has no grain (NULL if
 * there is no parent), as for every extent's write. */
static VixError
stream_write (struct vdl_extent *e, uint64_t sector, uint64_t count,
              const unsigned char *buf, vdl_fill_fn fill, void *ctx)
{
  struct grained_extent *s = (struct grained_extent *) e;
  uint64_t g = s->h.grain_size, gi, in_grain, n, glen;
  unsigned char *compressed;
  size_t bytes;
  uint32_t *gt;
  VixError err = VIX_OK;

  while (count > 0 && err == VIX_OK) {
    gi = sector / g;
    in_grain = sector % g;
    glen = stream_grain_sectors (s, gi);
    n = glen - in_grain < count ? glen - in_grain : count;
    compressed = NULL;
    bytes = 0;
    /* Whole grains are compressed outside the lock, in parallel;
     * zeros too when a parent link may show through where they go. */
    if (n == glen && (fill || !grained_is_zero (buf, n * SS)))
      err = stream_compress_grain (s, gi, buf, n * SS, &compressed, &bytes);
    if (err != VIX_OK)
      break;
    if ((err = grained_lock_gt_for_write (s, sector, &gt)) != VIX_OK) {
      free (compressed);
      break;
    }
    err = write_grain_locked (s, gi, in_grain, n, buf, compressed, bytes,
                              fill, ctx);
    pthread_mutex_unlock (&s->lock);
    grained_release_gt (s, sector);
    buf += n * SS;
    sector += n;
    count -= n;
  }
  return err;
}

/* ---- reading ---- */

static VixError
stream_read (struct vdl_extent *e, uint64_t sector, uint64_t count,
             unsigned char *buf)
{
  struct grained_extent *s = (struct grained_extent *) e;
  uint64_t g = s->h.grain_size, gi, in_grain, n;
  uint32_t entry;
  bool data;
  VixError err;

  while (count > 0) {
    gi = sector / g;
    in_grain = sector % g;
    n = g - in_grain < count ? g - in_grain : count;
    err = grained_table_entry (s, sector, &entry, false);
    if (err != VIX_OK)
      return err;
    while (entry == STREAM_PENDING_ENTRY && s->sw) {
      /* Being written: the data is in memory. */
      bool stored, known;
      pending_grain (s, gi, in_grain, n, buf, &stored, &entry, &known);
      if (!stored)
        goto next;
      /* Stored meanwhile: the entry the writer saw is final (it may
       * say sector 2: a grain right after a one-sector descriptor).
       * If its table was not in memory, look again: by then the grain
       * may be being gathered again. */
      if (known)
        break;
      if ((err = grained_table_entry (s, sector, &entry, false)) != VIX_OK)
        return err;
    }
    data = grained_state_of (s, entry) == VDL_RUN_DATA;
    if (data && (err = grained_check_entry (s, sector, entry)) != VIX_OK)
      return err;
    if (!data)
      memset (buf, 0, n * SS);
    else if ((err = stream_copy_grain (s, gi, entry, in_grain, n, buf))
             != VIX_OK)
      return err;
  next:
    buf += n * SS;
    sector += n;
    count -= n;
  }
  return VIX_OK;
}

/* ---- committing ---- */

/* Store gathered grains, then append the changed grain tables, a
 * directory, a footer and an end-of-stream marker.  s->lock held. */
static VixError
commit_locked (struct grained_extent *s)
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
  err = stream_prepare_append_locked (s);
  if (err == VIX_OK)
    err = stream_write_tail_locked (s);
  return err;
}

static VixError
stream_flush (struct vdl_extent *e)
{
  struct grained_extent *s = (struct grained_extent *) e;
  VixError err;

  if (!s->file->writable)
    return VIX_OK;
  pthread_mutex_lock (&s->lock);
  err = s->sw ? commit_locked (s) : VIX_OK;
  pthread_mutex_unlock (&s->lock);
  return err;
}

/* The disk was flushed before its extents are closed: leave a complete
 * stream. */
static void
stream_close (struct vdl_extent *e)
{
  struct grained_extent *s = (struct grained_extent *) e;
  struct stream_writer *w = s->sw;
  size_t i;

  if (w) {
    stream_restore_tail (s);
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
  grained_free (s);
}

static const struct vdl_extent_ops stream_ops = {
  .kind = "SPARSE",             /* as the descriptor calls it */
  .map = grained_map,
  .read = stream_read,
  .write = stream_write,
  .flush = stream_flush,
  .close = stream_close,
};

VixError
stream_open_kind (struct grained_extent *s,
                  const struct vdl_extent_open_args *a)
{
  s->e.ops = &stream_ops;
  if (!s->markers)
    s->e.no_write = "is compressed without grain markers (an old "
      "stream-optimized layout), which can only be read";
  s->next_free = s->file_sectors;       /* streams are not grain-aligned */
  s->e.preferred_sectors = s->h.grain_size;  /* grains are compressed whole */
  /* A stream shorter than the metadata area its header declares is
   * damaged: its first new grain would go at that overhead, which may
   * be terabytes away. */
  if (s->h.overhead > s->file_sectors)
    s->e.no_write = "is damaged (shorter than the metadata area its "
      "header declares), so it can only be read";
  /* A stream's descriptor precedes its grains; one past the metadata
   * area would be overwritten by the grains and tables appended. */
  if (s->h.desc_size && s->h.desc_offset + s->h.desc_size > s->h.overhead)
    s->e.no_write = "is damaged (its descriptor lies past the metadata "
      "area, where grains go), so it can only be read";
  if (s->markers && a->writable && !s->e.no_write)
    return stream_writer_open (s);
  return VIX_OK;
}
