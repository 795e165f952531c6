/* SPDX-License-Identifier: BSD-3-Clause */
/* What check-sparse.c (the header and directories of a grain-table
 * extent) shares with check-tables.c (its tables, and their repair from
 * the redundant copies). */
#ifndef VDL_CHECK_GRAINED_H
#define VDL_CHECK_GRAINED_H

#include <stdbool.h>
#include <stdint.h>

#include "check.h"
#include "file.h"
#include "sparse-format.h"

struct grained {
  struct vdl_check *c;
  struct vdl_file *f;
  struct kdmv_header h;
  bool cowd, stream, changed;
  /* The file's size before any repair: entries must point below it
   * (tables copied by the repair go after it). */
  uint64_t file_sectors;
  uint64_t append_at;           /* where the next copied table goes */
  uint64_t n_gts, gt_entries, gt_bytes, gt_sectors, gd_sectors;
  uint64_t min_entry, min_gt;
  uint32_t *gd, *rgd;           /* rgd: NULL when there is no copy */
  /* 1 (primary) or 2 (redundant): that directory was lost as a whole
   * and is being rebuilt in a new place, its entries 0 until then. */
  int rebuilt_dir;
  bool gd_dirty, rgd_dirty;     /* changed in memory, to be committed */
  bool hold;                    /* this table is left as it is */
  unsigned char *shared;        /* per table: 1 primary, 2 redundant
                                 * entry names a table another names */
  uint32_t *grains;             /* every grain location, for duplicates */
  uint64_t n_grains, cap_grains;
};

/* Check (and with c->repair, repair) every grain table pair of g and
 * the directory entries naming them. */
VixError vdl_check_tables (struct grained *g);

/* Write the directories repaired in memory after the end of the file
 * and switch the header to them (hosted sparse files only). */
VixError vdl_check_commit_dirs (struct grained *g);

#define KDMV_RGD_OFFSET_FIELD 48  /* byte offsets in a KDMV header */

#endif
