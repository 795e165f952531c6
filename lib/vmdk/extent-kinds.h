/* SPDX-License-Identifier: BSD-3-Clause */
/* The kinds of extent, one row each, for everything but the data path
 * (which is the vdl_extent_ops an open extent carries, extent.h):
 * opening, checking, growing, making and remaking extents of a kind.
 * The table is indexed by the descriptor's extent type (descriptor.h),
 * whose word ("FLAT", "SPARSE"...) and extent-line syntax are the
 * descriptor grammar's (vdl_extent_type_name).
 *
 * A new kind of extent is its own file (its vdl_extent_ops and open,
 * and what it supports of the operations below) plus one row in
 * extent-kinds.c.  Callers never test the type: they ask the row.  The
 * kinds' files declare their operations in the headers of their layer
 * (extent.h, extent-create.h, check.h), never in this one, which only
 * the table and its callers include.
 *
 * Every operation here works on one extent file, never on a link or a
 * chain: the callers (link.c, api-check.c, api-grow.c, api-shrink.c,
 * rebuild.c, create.c) walk those. */
#ifndef VDL_EXTENT_KINDS_H
#define VDL_EXTENT_KINDS_H

#include <stdbool.h>
#include <stdint.h>

#include "check.h"
#include "descriptor.h"
#include "extent-create.h"
#include "extent.h"
#include "file.h"
#include "vixDiskLib.h"

struct vdl_extent_kind {
  /* Open an extent of this kind as extent.h's open arguments say.
   * NULL: extents of this kind cannot be opened here (raw devices that
   * exist only on the ESXi host); the caller says so. */
  VixError (*open) (const struct vdl_extent_open_args *a,
                    struct vdl_extent **out);

  /* true: on success open has taken a->file (an already-open file given
   * to it) and closes it with the extent.  false: the kind is never
   * given one (only grain-table files carry an embedded descriptor or
   * are opened bare, so only they come already open). */
  bool takes_file;

  /* Check (with c->repair, repair) the extent file at path, which
   * exists, for extent x of a link.  self is the file already open when
   * the extent is the link's own file (an embedded descriptor), else
   * NULL and the check opens path itself (writable when c->repair).
   * Problems go to vdl_check_problem; the return is for I/O failures.
   * NULL: nothing of this kind is checked (none reported either). */
  VixError (*check) (struct vdl_check *c, const struct vdl_desc_extent *x,
                     const char *path, struct vdl_file *self);

  /* Make the existing extent file at path hold x, now larger, in place
   * and crash-safely; thin: a flat file keeps its holes.  The caller
   * holds the disk's locks.  NULL: extents of this kind do not grow.
   * Grow asks remakable first when the kind has one: a file it refuses
   * does not grow, and a compressed one is rebuilt at the new size
   * instead (if it is the link's only extent).  A kind that grows must
   * also have create: Grow adds files like the last extent. */
  VixError (*grow) (const char *path, const struct vdl_desc_extent *x,
                    bool thin);

  /* Lay out an empty extent in a new file (Create, Grow, rebuild.c).
   * Durable only once the caller syncs a->f.  NULL: cannot be made. */
  VixError (*create) (const struct vdl_extent_create_args *a);

  /* Whether the extent file at path (NULL: none) is one rebuild.c can
   * remake (copy into a new file of this kind's create, LBA order), and
   * *compressed whether it is stream-optimized.  NULL: never remade
   * (rebuild.c leaves such extents as they are). */
  bool (*remakable) (const char *path, bool *compressed);

  /* The file holds the sectors as they are, from x->offset, so ranges
   * of zeros can be punched out of a thin one (Shrink). */
  bool in_place;

  /* Letter of split extent file names made by Grow when the last name
   * has no number to count on ("disk-s001.vmdk", "disk-f001.vmdk"). */
  char split_letter;
};

/* The row of type t (any value of enum vdl_extent_type). */
const struct vdl_extent_kind *vdl_extent_kind (enum vdl_extent_type t);

#endif
