/* SPDX-License-Identifier: BSD-3-Clause */
/* One extent of a link: a contiguous range of the link's virtual sectors
 * stored in one way (flat file, hosted sparse file, nothing at all...).
 * Each storage format implements these operations in its own file.
 * Sector numbers passed to the operations are relative to the extent.
 */
#ifndef VDL_EXTENT_H
#define VDL_EXTENT_H

#include <stdbool.h>
#include <stdint.h>

#include "descriptor.h"
#include "file.h"
#include "sparse-format.h"
#include "vixDiskLib.h"

/* What a range of an extent holds. */
enum vdl_run {
  VDL_RUN_DATA,                 /* stored here */
  VDL_RUN_ZERO,                 /* reads as zeros, hides any parent */
  VDL_RUN_ABSENT,               /* not here: ask the parent link */
};

/* Supplies the current contents of sectors that a write does not cover
 * but which must be stored with it (the rest of a newly allocated grain). */
typedef VixError (*vdl_fill_fn) (void *ctx, uint64_t sector, uint64_t count,
                                 unsigned char *buf);

struct vdl_extent;
struct table_cache;

struct vdl_extent_ops {
  const char *kind;
  /* State of sector, and how many sectors from there (<= count) share it. */
  VixError (*map) (struct vdl_extent *e, uint64_t sector, uint64_t count,
                   enum vdl_run *state, uint64_t *run);
  /* Like map, but as precise as the storage allows (e.g. holes in a flat
   * file).  Optional: map is used if NULL. */
  VixError (*allocation) (struct vdl_extent *e, uint64_t sector,
                          uint64_t count, enum vdl_run *state, uint64_t *run);
  /* Read sectors that map reported as DATA (NULL if it never does). */
  VixError (*read) (struct vdl_extent *e, uint64_t sector, uint64_t count,
                    unsigned char *buf);
  /* Write (NULL, with no_write set, for extents that cannot be written);
   * fill(ctx, extent sector, count, buf) supplies unwritten parts
   * of newly allocated storage that would otherwise fall through.  fill
   * is NULL when nothing is below (absent ranges read as zeros). */
  VixError (*write) (struct vdl_extent *e, uint64_t sector, uint64_t count,
                     const unsigned char *buf, vdl_fill_fn fill, void *ctx);
  /* Make every completed write durable.  Optional for extents that
   * cannot be written. */
  VixError (*flush) (struct vdl_extent *e);
  void (*close) (struct vdl_extent *e);
};

struct vdl_extent {
  const struct vdl_extent_ops *ops;
  uint64_t start;               /* first sector within the link */
  uint64_t sectors;
  enum vdl_access access;
  char *path;                   /* file, for messages; NULL for ZERO */
  uint64_t preferred_sectors;   /* writes of multiples avoid extra work */
  const char *no_write;         /* why it cannot be written, to follow
                                 * "the extent": "is a ZERO extent..." */
  struct table_cache *tables;   /* grain tables, which share the disk's
                                 * budget; NULL if it has none */
};

struct vdl_store;

struct vdl_extent_open_args {
  const struct vdl_store *store; /* where path is */
  const char *path;             /* file name in the store (NULL for ZERO) */
  struct vdl_file *file;        /* already-open file, or NULL to open path */
  const struct vdl_desc_extent *desc;
  uint64_t disk_sector;         /* where the extent starts in the disk */
  bool writable;
  bool unbuffered;
  enum vdl_lock lock;
};

VixError vdl_extent_flat_open (const struct vdl_extent_open_args *a,
                               struct vdl_extent **out);
VixError vdl_extent_zero_open (const struct vdl_extent_open_args *a,
                               struct vdl_extent **out);
VixError vdl_extent_sparse_open (const struct vdl_extent_open_args *a,
                                 struct vdl_extent **out);
/* ESX seSparse deltas (read-only). */
VixError vdl_extent_sesparse_open (const struct vdl_extent_open_args *a,
                                   struct vdl_extent **out);
/* ESX vmfsSparse ("COWD") deltas. */
VixError vdl_extent_cowd_open (const struct vdl_extent_open_args *a,
                               struct vdl_extent **out);

/* Read and decode the header of a grain-table file (KDMV or COWD). */
VixError vdl_sparse_read_header (struct vdl_file *f, bool cowd, uint64_t size,
                                 struct kdmv_header *h);

/* State of the grain holding sector, and in *span how many sectors from
 * sector are known to share it (at least to the end of the grain; a
 * whole grain table's range when the table does not exist). */
typedef VixError (*vdl_grain_state_fn) (struct vdl_extent *e, uint64_t sector,
                                        enum vdl_run *state, uint64_t *span);

/* A map operation for grain-based extents: the state of the grain at
 * sector and how many sectors (<= count) of following grains share it. */
VixError vdl_extent_grain_runs (struct vdl_extent *e, uint64_t grain_size,
                                uint64_t sector, uint64_t count,
                                vdl_grain_state_fn state_of,
                                enum vdl_run *state, uint64_t *run);

/* Where the grain holding sector keeps its data: *data false if it
 * has none here (read as zeros), else *at, the grain's first sector in
 * the file. */
typedef VixError (*vdl_grain_place_fn) (struct vdl_extent *e,
                                        uint64_t sector, bool *data,
                                        uint64_t *at);

/* A read operation for grain-based extents with plain (uncompressed)
 * grains in file: grains that follow each other in the disk and in the
 * file (written in order) are one read, not one each (a round trip
 * each over HTTPS). */
VixError vdl_extent_read_grains (struct vdl_extent *e, struct vdl_file *file,
                                 uint64_t grain_size, uint64_t sector,
                                 uint64_t count, unsigned char *buf,
                                 vdl_grain_place_fn place_of);

/* Common fields, set by every *_open. */
void vdl_extent_init (struct vdl_extent *e, const struct vdl_extent_ops *ops,
                      const struct vdl_extent_open_args *a);

#endif
