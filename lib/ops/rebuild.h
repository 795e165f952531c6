/* SPDX-License-Identifier: BSD-3-Clause */
/* Remaking the grain-table extents of existing disks (rebuild.c): what
 * Shrink and Defragment do (api-shrink.c), and how Grow enlarges
 * stream-optimized disks (api-grow.c). */
#ifndef VDL_REBUILD_H
#define VDL_REBUILD_H

#include <stdbool.h>
#include <stdint.h>

#include "disk.h"
#include "link.h"
#include "vixDiskLib.h"

/* Progress over a range of percentages. */
struct vdl_progress {
  VixDiskLibProgressFunc fn;
  void *data;
  int lo, hi;                   /* report from lo to hi percent */
  int last;                     /* last value reported, -1 at first */
};
void vdl_progress_report (struct vdl_progress *p, uint64_t done,
                          uint64_t total);

struct vdl_rebuild {
  struct vdl_link *link;        /* the link to rebuild, open */
  struct vdl_disk *disk;        /* its disk (for parents), or NULL */
  bool keep_zero_grains;        /* keep allocated grains of zeros */
  uint64_t capacity;            /* new size of a single-extent link, or 0 */
  const char *desc_text;        /* embedded descriptor for the new file
                                 * (NULL: the link's text) */
  struct vdl_progress *progress;
};

/* Write new copies of the link's grain-table extents (hosted sparse,
 * stream-optimized, COWD) beside them, in LBA order, with only the
 * grains that hold something, then rename them over the old ones
 * (rebuild.c).  Flat extents are left alone.  *n_rebuilt counts the
 * files replaced.  The caller holds the disk's locks and reopens the
 * link afterwards. */
VixError vdl_rebuild_link (const struct vdl_rebuild *r, size_t *n_rebuilt);

/* Whether extent i of the link is a grain-table extent rebuild.c can
 * remake, and whether it is compressed.  A link is rebuilt only if all
 * its extents with files are (vdl_rebuild_link refuses others). */
bool vdl_rebuild_can (const struct vdl_link *l, size_t i, bool *compressed);

#endif
