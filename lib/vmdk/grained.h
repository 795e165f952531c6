/* SPDX-License-Identifier: BSD-3-Clause */
/* Grain-table extents: what hosted sparse and COWD extents
 * (extent-sparse.c) and stream-optimized ones (extent-stream.c) share,
 * implemented in grained.c.  extent-grained.c opens them: it reads and
 * checks the header and the directory, then hands the extent to its
 * kind, which gives it its operations (grained-kinds.h). */
#ifndef VDL_GRAINED_H
#define VDL_GRAINED_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "extent.h"
#include "sparse-format.h"
#include "table-cache.h"

#define SS VIXDISKLIB_SECTOR_SIZE

struct grained_extent {
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
  /* A file that is read-only and whose small reads cost a round trip
   * (vdl_file_read_unit): the bytes last read around a grain table, so
   * that the tables stored after it (all together, up front, in
   * VMware's layout) come from one read, not one read each. */
  pthread_mutex_t window_lock;
  unsigned char *window;
  uint64_t window_at;
  size_t window_len;
};

static inline uint32_t
get_entry (uint32_t *gt, uint64_t i)
{
  return __atomic_load_n (&gt[i], __ATOMIC_ACQUIRE);
}

/* The grain table covering extent sector, loaded if needed, and held
 * (the cache does not drop it) until grained_release_gt, which must
 * follow whatever this returns.  Hold one table of an extent at a
 * time (see table-cache.h). */
VixError grained_get_gt (struct grained_extent *s, uint64_t sector,
                         uint32_t **out);
void grained_release_gt (struct grained_extent *s, uint64_t sector);
/* The same, with a table of this extent's own that writers may change
 * (tables of zeros are shared until written). */
VixError grained_get_gt_for_write (struct grained_extent *s, uint64_t sector,
                                   uint32_t **out);
/* Take s->lock with the table covering sector in memory, this extent's
 * own, in *out, held: look up again until the slot, with the lock
 * held, still holds it (another writer may have replaced a shared
 * table meanwhile).  On success the caller holds s->lock and the
 * table: unlock, then grained_release_gt. */
VixError grained_lock_gt_for_write (struct grained_extent *s, uint64_t sector,
                                    uint32_t **out);
/* Index in its grain table of the grain holding sector. */
uint64_t grained_grain_index (struct grained_extent *s, uint64_t sector);
/* Whether a table entry means data, a zero grain or nothing. */
enum vdl_run grained_state_of (struct grained_extent *s, uint32_t entry);
/* Check that a table entry points at a possible grain location. */
VixError grained_check_entry (struct grained_extent *s, uint64_t sector,
                              uint32_t entry);
/* The end of the file as far as grains may go, in sectors. */
uint64_t grained_file_end (struct grained_extent *s);
/* The table entry of the grain holding sector, as it is (0 if its
 * table is absent).  writing: for a write, which fails if making room
 * for the table failed; a reader gets the table whatever happened to
 * the write-back that made room for it. */
VixError grained_table_entry (struct grained_extent *s, uint64_t sector,
                              uint32_t *entry, bool writing);
/* The same, and *data says whether it points at data, which is then
 * checked to lie in the file (grained_check_entry). */
VixError grained_lookup (struct grained_extent *s, uint64_t sector,
                         uint32_t *entry, bool *data, bool writing);
/* The map operation of every grain-table extent. */
VixError grained_map (struct vdl_extent *e, uint64_t sector, uint64_t count,
                      enum vdl_run *state, uint64_t *run);
bool grained_is_zero (const unsigned char *buf, size_t len);

/* Whether buf holds a footer marker, a header naming its grain
 * directory (decoded into h) and an end-of-stream marker. */
bool grained_is_footer (const unsigned char *buf, struct kdmv_header *h);

/* The sectors the header takes, and the end of the embedded
 * descriptor (UINT64_MAX if a damaged header makes it wrap; 0 if there
 * is none). */
uint64_t grained_header_sectors (const struct grained_extent *s);
uint64_t grained_desc_end (const struct grained_extent *s);

/* Allocate the table slots for s->n_gts tables and set up the table
 * cache (its write_back is the kind's to set). */
VixError grained_init_tables (struct grained_extent *s);
/* Free what every kind has, close the file, free s. */
void grained_free (struct grained_extent *s);

#endif
