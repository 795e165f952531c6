/* SPDX-License-Identifier: BSD-3-Clause */
/* The end of a stream-optimized file, where a writer appends: finding
 * the tail that grains will follow when the extent is opened, pointing
 * the header at a durable directory before the first grain goes in,
 * appending grains and (when the table cache needs room) tables, and at
 * flush a new tail: the changed tables, a directory, a footer and an
 * end-of-stream marker.  extent-stream.c says how (see there).
 */
#include <endian.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "log.h"
#include "stream.h"

/* ---- the header and the file's end ---- */

static VixError
write_header_gd (struct grained_extent *s, uint64_t gd)
{
  uint64_t v = htole64 (gd);
  VixError err = vdl_file_pwrite (s->file, &v, sizeof v,
                                  KDMV_GD_OFFSET_FIELD);

  return err == VIX_OK ? vdl_file_sync (s->file) : err;
}

static VixError
read_is_zero (struct grained_extent *s, uint64_t sector, uint64_t count,
              bool *zero)
{
  unsigned char *buf = malloc (count * SS);
  VixError err;

  if (!buf)
    return vdl_oom ();
  err = vdl_file_pread (s->file, buf, count * SS, sector * SS);
  *zero = err == VIX_OK && grained_is_zero (buf, count * SS);
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
  return grained_is_footer (copy, h);
}

/* Whether the directory at gd is followed by a footer and end-of-stream
 * marker, i.e. it belongs to a complete tail. */
static VixError
find_tail_after (struct grained_extent *s, uint64_t gd)
{
  struct stream_writer *w = s->sw;
  uint64_t at = gd + kdmv_gd_sectors (s->n_gts);
  unsigned char buf[3 * SS];
  struct kdmv_header h;

  if (at + 3 > s->file_sectors)
    return VIX_OK;
  if (vdl_file_pread (s->file, buf, sizeof buf, at * SS) != VIX_OK)
    return vdl_error (VIX_E_FILE_ERROR, "%s: cannot read", s->e.path);
  if ((grained_is_footer (buf, &h) || is_unmarked_footer (buf, &h)) &&
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
metadata_end (struct grained_extent *s)
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
find_bare_eos (struct grained_extent *s)
{
  const uint64_t chunk = 128, limit = 2048;     /* sectors */
  uint64_t end = s->file_sectors, start, i;
  unsigned char *buf = malloc (chunk * SS);
  VixError err = VIX_OK;

  if (!buf)
    return vdl_oom ();
  while (end > s->h.overhead && s->file_sectors - end < limit) {
    start = end > s->h.overhead + chunk ? end - chunk : s->h.overhead;
    err = vdl_file_pread (s->file, buf, (end - start) * SS, start * SS);
    if (err != VIX_OK)
      break;
    for (i = end - start; i-- > 0; )
      if (!grained_is_zero (buf + i * SS, SS)) {
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
stream_writer_open (struct grained_extent *s)
{
  struct stream_writer *w = calloc (1, sizeof *w);
  VixError err = VIX_OK;

  if (!w)
    return vdl_oom ();
  s->sw = w;
  if (!(w->gathered = calloc (s->n_gts, sizeof *w->gathered)))
    return vdl_oom ();
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
disk_is_empty (struct grained_extent *s)
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
cut_to_locked (struct grained_extent *s, uint64_t end)
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
restart_empty_locked (struct grained_extent *s, bool *done)
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
VixError
stream_prepare_append_locked (struct grained_extent *s)
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
VixError
stream_store_grain_locked (struct grained_extent *s, uint64_t gi,
                           const unsigned char *compressed, size_t bytes)
{
  uint64_t at;
  VixError err;

  if (!compressed) {
    if (get_entry (stream_entry_of (s, gi), 0) != 0)
      stream_set_entry_locked (s, gi, 0);
    return VIX_OK;
  }
  err = stream_prepare_append_locked (s);
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
  stream_set_entry_locked (s, gi, at);
  return VIX_OK;
}

/* ---- making room in the table cache ---- */

/* Append changed table i behind a table marker (where VMware's streams
 * have each table: after its grains) and name it in the directory in
 * memory; the file's directory names it from the next flush on, and a
 * crash before that cuts it off with the unflushed grains. */
static VixError
append_table_locked (struct grained_extent *s, uint32_t i)
{
  uint64_t gt_sectors = kdmv_gt_sectors (&s->h), at;
  uint32_t *gt = __atomic_load_n (&s->gts[i], __ATOMIC_ACQUIRE), gd = 0;
  unsigned char *buf;
  VixError err;

  if (kdmv_gt_in_use (&s->h, gt)) {
    err = stream_prepare_append_locked (s);
    if (err != VIX_OK)
      return err;
    at = s->next_free < s->h.overhead ? s->h.overhead : s->next_free;
    if (at + 1 + gt_sectors > UINT32_MAX)
      return vdl_error (VIX_E_FILE_TOO_BIG, "%s is full: its grain tables "
                        "cannot go beyond 2 TiB", s->e.path);
    if (!(buf = calloc (1 + gt_sectors, SS)))
      return vdl_oom ();
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
  struct grained_extent *s = owner;
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
mark_stale_locked (struct grained_extent *s, bool skip)
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
cut_after (struct grained_extent *s, uint64_t end)
{
  uint64_t size;
  VixError err = vdl_file_size (s->file, &size);

  if (err == VIX_OK && size > end * SS)
    err = vdl_file_truncate (s->file, end * SS);
  return err;
}

VixError
stream_write_tail_locked (struct grained_extent *s)
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
    return vdl_oom ();
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

void
stream_restore_tail (struct grained_extent *s)
{
  struct stream_writer *w = s->sw;

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
}
