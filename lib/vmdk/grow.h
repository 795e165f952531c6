/* SPDX-License-Identifier: BSD-3-Clause */
/* Growing the hosted sparse extent files of existing disks in place
 * (grow-sparse.c), for VixDiskLib_Grow (api-grow.c).  The other extent
 * kinds grow by rebuilding (rebuild.h) or by new extent files. */
#ifndef VDL_GROW_H
#define VDL_GROW_H

#include <stdint.h>

#include "vixDiskLib.h"

/* Grow the hosted sparse extent file at path to sectors, in place and
 * crash-safely (grow-sparse.c).  The caller holds the disk's locks. */
VixError vdl_grow_sparse_extent (const char *path, uint64_t sectors);

#endif
