/* SPDX-License-Identifier: BSD-3-Clause */
/* What Create knows about laying out new disks, for the operations that
 * make or extend extents of existing disks (Grow, Shrink, Defragment,
 * SpaceNeededForClone): the same sizes and the same empty extents. */
#ifndef VDL_CREATE_H
#define VDL_CREATE_H

#include <stdbool.h>
#include <stdint.h>

#include "extent-create.h"
#include "file-local.h"
#include "vixDiskLib.h"

/* A new child's parent: its content ID and parentFileNameHint. */
struct vdl_parent_ref {
  uint32_t cid;
  const char *hint;
};

/* Make the disk of p at path (a child of parent, if not NULL) under
 * temporary names and give it its names once complete, or leave
 * nothing (VixDiskLib_Create, CreateChild). */
VixError vdl_create (const char *path, const VixDiskLibCreateParams *p,
                     const struct vdl_parent_ref *parent,
                     VixDiskLibProgressFunc progress, void *progress_data);

/* Extent size of split disks: the 2047 MiB of VMware's format note, a
 * whole number of grains. */
#define SPLIT_SECTORS UINT64_C (4192256)
#define MAX_EXTENT_FILES 999

/* Geometry as VMware products write it for an adapter and capacity. */
void vdl_create_geometry (VixDiskLibAdapterType a, uint64_t capacity,
                          VixDiskLibGeometry *g);
/* The capacity limit of a disk type, with Create's message. */
VixError vdl_create_check_capacity (VixDiskLibDiskType t, uint64_t capacity);

/* Create's checks, then an empty disk of p made under temporary names
 * (pending.h), for Clone to fill and commit.  overwrite: the final names
 * may be taken (Clone removes the old disk before the commit). */
struct vdl_pending;
VixError vdl_create_pending (const char *path,
                             const VixDiskLibCreateParams *p, bool overwrite,
                             struct vdl_pending **out);

#endif
