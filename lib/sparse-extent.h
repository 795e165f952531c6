/* SPDX-License-Identifier: BSD-3-Clause */
/* Internals shared by the grain-table extent code: reading and writing
 * hosted sparse and COWD extents (extent-sparse.c) and writing
 * stream-optimized ones (extent-stream.c). */
#ifndef VDL_SPARSE_EXTENT_H
#define VDL_SPARSE_EXTENT_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "extent.h"
#include "sparse-format.h"
#include "table-cache.h"

#define SS VIXDISKLIB_SECTOR_SIZE

struct sparse_extent {
  struct vdl_extent e;
  struct vdl_file *file;
  struct kdmv_header h;
  uint64_t id;                  /* identifies this extent in grain caches */
  uint64_t gt_cover;            /* sectors covered by one grain table */
  uint32_t n_gts;
  uint32_t *gd, *rgd;           /* sector of each GT (host order) */
  void **gts;                   /* loaded GTs (uint32_t *), NULL until
                                 * first use or dropped (cache) */
  bool *gt_dirty;               /* changed since written (lock held) */
  bool *gt_rewritten;           /* written by this process (set with
                                 * the lock held, read atomically) */
  bool gd_dirty, any_dirty;
  bool compressed, markers, redundant;
  struct stream_writer *sw;     /* writing a stream (extent-stream.c) */
  bool header_at_end;           /* stream header: directory in a footer */
  uint64_t footer_at;           /* stream: footer marker in use, or 0 */
  bool cowd;                    /* ESX vmfsSparse: keep freeSector */
  uint64_t file_sectors;        /* size when opened, rounded up; only
                                 * lowered by a stream writer cutting
                                 * off unflushed grains (atomic) */
  uint64_t next_free;           /* sector where the next grain goes */
  pthread_mutex_t lock;         /* allocation, flush, cache eviction */
  struct table_cache cache;
};

static inline uint32_t
get_entry (uint32_t *gt, uint64_t i)
{
  return __atomic_load_n (&gt[i], __ATOMIC_ACQUIRE);
}

/* The grain table covering extent sector, loaded if needed, and held
 * (the cache does not drop it) until sparse_release_gt, which must
 * follow whatever this returns.  Hold one table of an extent at a
 * time (see table-cache.h). */
VixError sparse_get_gt (struct sparse_extent *s, uint64_t sector,
                        uint32_t **out);
void sparse_release_gt (struct sparse_extent *s, uint64_t sector);
/* The same, with a table of this extent's own that writers may change
 * (tables of zeros are shared until written). */
VixError sparse_get_gt_for_write (struct sparse_extent *s, uint64_t sector,
                                  uint32_t **out);
/* Take s->lock with the table covering sector in memory, this extent's
 * own, in *out, held: look up again until the slot, with the lock
 * held, still holds it (another writer may have replaced a shared
 * table meanwhile).  On success the caller holds s->lock and the
 * table: unlock, then sparse_release_gt. */
VixError sparse_lock_gt_for_write (struct sparse_extent *s, uint64_t sector,
                                   uint32_t **out);
/* Index in its grain table of the grain holding sector. */
uint64_t sparse_grain_index (struct sparse_extent *s, uint64_t sector);
/* Whether a table entry means data, a zero grain or nothing. */
enum vdl_run sparse_state_of (struct sparse_extent *s, uint32_t entry);
/* Check that a table entry points at a possible grain location. */
VixError sparse_check_entry (struct sparse_extent *s, uint64_t sector,
                             uint32_t entry);
/* The end of the file as far as grains may go, in sectors. */
uint64_t sparse_file_end (struct sparse_extent *s);
/* Decompress grain gi stored at sector at into buf (one grain). */
VixError sparse_read_compressed_grain (struct sparse_extent *s, uint64_t gi,
                                       uint32_t at, unsigned char *buf);
bool sparse_is_zero (const unsigned char *buf, size_t len);

/* Whether buf holds a footer marker, a header naming its grain
 * directory (decoded into h) and an end-of-stream marker. */
bool sparse_is_footer (const unsigned char *buf, struct kdmv_header *h);

/* Stream-optimized writing (extent-stream.c). */

/* Table entry of a grain being gathered in memory.  A grain may also
 * really be at sector 2 (after a header and a one-sector descriptor):
 * readers ask the writer whether the grain is pending. */
#define STREAM_PENDING_ENTRY 2

/* Set up writing for an extent opened read-write (s->sw). */
VixError stream_writer_open (struct sparse_extent *s);
/* fill: the contents below this link where it has no grain (NULL if
 * there is no parent), as for the extent's write. */
VixError stream_write (struct sparse_extent *s, uint64_t sector,
                       uint64_t count, const unsigned char *buf,
                       vdl_fill_fn fill, void *ctx);
/* Copy grain gi, being gathered, into buf; or, if it was stored
 * meanwhile, set *stored and, if its table is in memory (*known), set
 * *entry to its table entry as it is then.  Otherwise look it up again
 * (and ask again if it is being gathered again). */
VixError stream_pending_grain (struct sparse_extent *s, uint64_t gi,
                               unsigned char *buf, bool *stored,
                               uint32_t *entry, bool *known);
/* Store gathered grains, then append the changed grain tables, a
 * directory, a footer and an end-of-stream marker.  s->lock held. */
VixError stream_commit_locked (struct sparse_extent *s);
/* Commit, leave a complete stream and free s->sw. */
void stream_writer_close (struct sparse_extent *s);

#endif
