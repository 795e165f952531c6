/* SPDX-License-Identifier: BSD-3-Clause */
/* The table of extent kinds (extent-kinds.h): one row per type. */
#include <stddef.h>

#include "extent-kinds.h"

static const struct vdl_extent_kind kinds[] = {
  [VDL_EXTENT_FLAT] = {
    .open = vdl_extent_flat_open, .check = vdl_check_flat_extent,
    .grow = vdl_grow_flat_extent, .create = vdl_create_flat_kind,
    .in_place = true, .split_letter = 'f',
  },
  [VDL_EXTENT_VMFS] = {
    .open = vdl_extent_flat_open, .check = vdl_check_flat_extent,
    .grow = vdl_grow_flat_extent, .create = vdl_create_flat_kind,
    .in_place = true, .split_letter = 'f',
  },
  [VDL_EXTENT_SPARSE] = {
    .open = vdl_extent_sparse_open, .takes_file = true,
    .check = vdl_check_sparse_extent, .grow = vdl_grow_sparse_kind,
    .create = vdl_create_sparse_kind, .remakable = vdl_remakable_sparse,
    .split_letter = 's',
  },
  [VDL_EXTENT_VMFSSPARSE] = {
    .open = vdl_extent_cowd_open, .takes_file = true,
    .check = vdl_check_cowd_extent, .create = vdl_create_cowd_kind,
    .remakable = vdl_remakable_cowd, .split_letter = 'f',
  },
  [VDL_EXTENT_SESPARSE] = {
    .open = vdl_extent_sesparse_open, .split_letter = 'f',
  },
  [VDL_EXTENT_ZERO] = {
    .open = vdl_extent_zero_open, .split_letter = 'f',
  },
  [VDL_EXTENT_VMFSRDM] = {
    .check = vdl_check_device_extent, .split_letter = 'f',
  },
  [VDL_EXTENT_VMFSRAW] = {
    .check = vdl_check_device_extent, .split_letter = 'f',
  },
};

const struct vdl_extent_kind *
vdl_extent_kind (enum vdl_extent_type t)
{
  return &kinds[t];
}
