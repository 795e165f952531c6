/* SPDX-License-Identifier: BSD-3-Clause */
/* Making extent files and making them larger, per kind: empty grain-
 * table files (extent-create.c), flat files of the right size
 * (extent-flat-size.c), hosted sparse files grown in place
 * (grow-sparse.c).  The create, grow and remakable columns of
 * extent-kinds.c; their contracts are there. */
#ifndef VDL_EXTENT_CREATE_H
#define VDL_EXTENT_CREATE_H

#include <stdbool.h>
#include <stdint.h>

#include "descriptor.h"
#include "file.h"
#include "vixDiskLib.h"

#define DESC_SECTORS 20         /* room for an embedded descriptor */
#define COWD_GRAIN 128          /* sectors */

/* Write an empty extent of `sectors` into a new, empty file: hosted
 * sparse (with an embedded descriptor if desc is not NULL), stream-
 * optimized (desc required) or ESX COWD.  The file is synced. */
VixError vdl_create_sparse_extent (struct vdl_file *f, uint64_t sectors,
                                   const char *desc);
VixError vdl_create_stream_extent (struct vdl_file *f, uint64_t sectors,
                                   const char *desc);
VixError vdl_create_cowd_extent (struct vdl_file *f, uint64_t sectors);

/* What to lay out in a new, empty file (the create operation). */
struct vdl_extent_create_args {
  struct vdl_file *f;           /* new, empty, open for writing */
  uint64_t sectors;             /* the extent's size */
  uint64_t offset;              /* sectors before it in the file (flat) */
  bool thin;                    /* flat: leave holes, do not preallocate */
  bool stream;                  /* grain tables: stream-optimized */
  const char *desc;             /* grain tables: descriptor text to embed,
                                 * or NULL for none (required for stream) */
};

VixError vdl_create_flat_kind (const struct vdl_extent_create_args *a);
VixError vdl_create_sparse_kind (const struct vdl_extent_create_args *a);
VixError vdl_create_cowd_kind (const struct vdl_extent_create_args *a);
bool vdl_remakable_sparse (const char *path, bool *compressed);
bool vdl_remakable_cowd (const char *path, bool *compressed);
VixError vdl_grow_flat_extent (const char *path,
                               const struct vdl_desc_extent *x, bool thin);
VixError vdl_grow_sparse_kind (const char *path,
                               const struct vdl_desc_extent *x, bool thin);

#endif
