/* SPDX-License-Identifier: BSD-3-Clause */
/* Which VixDiskLibDiskType a link is, from its createType. */
#include <string.h>
#include <strings.h>

#include "link.h"

VixDiskLibDiskType
vdl_link_disk_type (const struct vdl_link *l)
{
  static const struct { const char *name; VixDiskLibDiskType t; } types[] = {
    { "monolithicSparse", VIXDISKLIB_DISK_MONOLITHIC_SPARSE },
    { "monolithicFlat", VIXDISKLIB_DISK_MONOLITHIC_FLAT },
    { "twoGbMaxExtentSparse", VIXDISKLIB_DISK_SPLIT_SPARSE },
    { "twoGbMaxExtentFlat", VIXDISKLIB_DISK_SPLIT_FLAT },
    { "streamOptimized", VIXDISKLIB_DISK_STREAM_OPTIMIZED },
    { "vmfs", VIXDISKLIB_DISK_VMFS_FLAT },
    { "vmfsPreallocated", VIXDISKLIB_DISK_VMFS_FLAT },
    { "vmfsEagerZeroedThick", VIXDISKLIB_DISK_VMFS_FLAT },
    { "vmfsThin", VIXDISKLIB_DISK_VMFS_THIN },
    { "vmfsSparse", VIXDISKLIB_DISK_VMFS_SPARSE },
  };
  const char *ct = l->desc.create_type, *thin;
  size_t i;

  for (i = 0; i < sizeof types / sizeof *types; i++)
    if (strcasecmp (ct, types[i].name) == 0) {
      /* ESXi writes thin disks as "vmfs" plus this key. */
      thin = vdl_descriptor_ddb (&l->desc, "ddb.thinProvisioned");
      if (types[i].t == VIXDISKLIB_DISK_VMFS_FLAT && thin &&
          strcmp (thin, "1") == 0)
        return VIXDISKLIB_DISK_VMFS_THIN;
      return types[i].t;
    }
  return VIXDISKLIB_DISK_UNKNOWN;
}
