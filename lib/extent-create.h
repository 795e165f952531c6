/* SPDX-License-Identifier: BSD-3-Clause */
/* Writing empty extent files (extent-create.c). */
#ifndef VDL_EXTENT_CREATE_H
#define VDL_EXTENT_CREATE_H

#include <stdint.h>

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

#endif
