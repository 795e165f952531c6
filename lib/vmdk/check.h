/* SPDX-License-Identifier: BSD-3-Clause */
/* VixDiskLib_CheckRepair's findings (check-report.c) and its checks of
 * grain-table files (check-sparse.c). */
#ifndef VDL_CHECK_H
#define VDL_CHECK_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "file-local.h"
#include "descriptor.h"
#include "file.h"
#include "vixDiskLib.h"

struct vdl_check {
  bool repair;                  /* fix what can be fixed */
  bool delta;                   /* the link has a parent (for messages) */
  uint64_t base;                /* first sector of the extent checked */
  FILE *list;                   /* "; "-separated problems not fixed */
  char *list_text;
  size_t list_len;
  unsigned found, fixed, unfixable;
};

#define VDL_CHECK_MAX_LISTED 6  /* problems spelled out in the error */

/* Record a problem of file (logged either way; repaired: it was fixed).
 * "fixable" problems count as unfixed when not repairing. */
void vdl_check_problem (struct vdl_check *c, const char *file, bool repaired,
                        const char *fmt, ...)
  __attribute__ ((format (printf, 4, 5)));

/* Check a hosted sparse (KDMV) or COWD extent file opened as f (writable
 * when repairing), whose descriptor gives it sectors. */
VixError vdl_check_grained (struct vdl_check *c, struct vdl_file *f,
                            bool cowd, uint64_t sectors);

/* The check column of extent-kinds.c (its contract is there), per kind
 * (check-extent.c). */
VixError vdl_check_flat_extent (struct vdl_check *c,
                                const struct vdl_desc_extent *x,
                                const char *path, struct vdl_file *self);
VixError vdl_check_sparse_extent (struct vdl_check *c,
                                  const struct vdl_desc_extent *x,
                                  const char *path, struct vdl_file *self);
VixError vdl_check_cowd_extent (struct vdl_check *c,
                                const struct vdl_desc_extent *x,
                                const char *path, struct vdl_file *self);
VixError vdl_check_device_extent (struct vdl_check *c,
                                  const struct vdl_desc_extent *x,
                                  const char *path, struct vdl_file *self);

#endif
