/* SPDX-License-Identifier: BSD-3-Clause */
/* Internals of stream-optimized extents, shared by their files, from
 * the bottom up: a grain's compressed form (stream-grain.c), the end of
 * the file where grains, tables and tails are appended
 * (stream-append.c), and the extent's operations with the window that
 * puts written grains in order (extent-stream.c).  Each file calls
 * only those before it. */
#ifndef VDL_STREAM_H
#define VDL_STREAM_H

#include <stdbool.h>
#include <stdint.h>

#include "grained.h"

/* Table entry of a grain being gathered in memory.  A grain may also
 * really be at sector 2 (after a header and a one-sector descriptor):
 * readers ask the writer whether the grain is pending. */
#define STREAM_PENDING_ENTRY 2

/* The state of an extent opened for writing (s->sw). */
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

/* Sectors in grain gi (the last grain of a disk may be short). */
static inline uint64_t
stream_grain_sectors (struct grained_extent *s, uint64_t gi)
{
  uint64_t first = gi * s->h.grain_size;

  return s->h.capacity - first < s->h.grain_size
    ? s->h.capacity - first : s->h.grain_size;
}

static inline uint32_t *
stream_entry_of (struct grained_extent *s, uint64_t gi)
{
  uint64_t sector = gi * s->h.grain_size;

  /* The table is loaded: every caller looked the grain up first.  The
   * slot is read atomically: other threads load tables (CAS) unlocked. */
  uint32_t *gt = __atomic_load_n (&s->gts[sector / s->gt_cover],
                                  __ATOMIC_ACQUIRE);

  return &gt[grained_grain_index (s, sector)];
}

static inline uint32_t
stream_table_of (struct grained_extent *s, uint64_t gi)
{
  return gi * s->h.grain_size / s->gt_cover;
}

static inline void
stream_set_entry_locked (struct grained_extent *s, uint64_t gi, uint32_t at)
{
  __atomic_store_n (stream_entry_of (s, gi), at, __ATOMIC_RELEASE);
  s->gt_dirty[stream_table_of (s, gi)] = s->any_dirty = true;
}

/* ---- a grain's compressed form (stream-grain.c) ---- */

/* A grain marker (LBA, compressed size) and the zlib stream of len
 * bytes of data, padded to whole sectors, in a new *marker. */
VixError stream_compress_grain (struct grained_extent *s, uint64_t gi,
                                const unsigned char *data, size_t len,
                                unsigned char **marker, size_t *bytes);
/* Decompress grain gi stored at sector at into buf (one grain). */
VixError stream_read_grain (struct grained_extent *s, uint64_t gi,
                            uint32_t at, unsigned char *buf);
/* Copy n sectors from sector first of that grain into buf.  The last
 * grain decompressed by each thread is kept for the next call. */
VixError stream_copy_grain (struct grained_extent *s, uint64_t gi,
                            uint32_t at, uint64_t first, uint64_t n,
                            unsigned char *buf);

/* ---- the end of the file (stream-append.c) ---- */

/* Set up writing for an extent opened read-write (s->sw): find the
 * tail that the grains will follow. */
VixError stream_writer_open (struct grained_extent *s);
/* Before the first grain goes into the file: make the header name the
 * directory that describes the file as it is.  s->lock held. */
VixError stream_prepare_append_locked (struct grained_extent *s);
/* Append a compressed grain (bytes long) as grain gi; NULL means all
 * zeros, which needs no data at all.  s->lock held. */
VixError stream_store_grain_locked (struct grained_extent *s, uint64_t gi,
                                    const unsigned char *compressed,
                                    size_t bytes);
/* Append the changed grain tables, a directory, a footer and an
 * end-of-stream marker, and make the header name them.  s->lock held,
 * and every grain stored. */
VixError stream_write_tail_locked (struct grained_extent *s);
/* At close: if the last flush failed, cut the stream back to what the
 * flush before it left. */
void stream_restore_tail (struct grained_extent *s);

#endif
