/* SPDX-License-Identifier: BSD-3-Clause */
/* VixDiskLib_SpaceNeededForClone: the bytes a Clone of the open disk
 * (its whole chain, flattened) to a given type would write, computed
 * from the chain's allocation and the layouts Create and the extent
 * writers use.  Preallocated types need the full capacity; growable ones
 * their metadata plus one grain per 64 KiB grain holding data.  For
 * stream-optimized disks each grain is counted uncompressed (plus its
 * marker), so the figure is an upper bound.  A separate descriptor is
 * counted as one 4 KiB filesystem block. */
#include <stdint.h>

#include "api.h"
#include "create.h"
#include "error.h"
#include "handle.h"
#include "link.h"
#include "sparse-format.h"

#define GRAIN 128                       /* sectors, in every new extent */
#define KDMV_GT_COVER (GRAIN * 512)     /* sectors a hosted table covers */
#define COWD_GT_COVER ((uint64_t) GRAIN * COWD_GTES_PER_GT)
#define DESC_FILE 4096

struct usage {
  uint64_t grains;              /* grains holding data */
  uint64_t kdmv_gts, cowd_gts;  /* tables with at least one grain */
  int64_t last_grain, last_kdmv, last_cowd;
};

static VixError
count_run (void *vctx, uint64_t sector, uint64_t count, bool allocated)
{
  struct usage *u = vctx;
  int64_t g, first, last;

  if (!allocated || count == 0)
    return VIX_OK;
  first = sector / GRAIN;
  last = (sector + count - 1) / GRAIN;
  if (first <= u->last_grain)
    first = u->last_grain + 1;
  for (g = first; g <= last; g++) {
    u->grains++;
    if ((int64_t) (g * GRAIN / KDMV_GT_COVER) != u->last_kdmv) {
      u->last_kdmv = g * GRAIN / KDMV_GT_COVER;
      u->kdmv_gts++;
    }
    if ((int64_t) (g * GRAIN / COWD_GT_COVER) != u->last_cowd) {
      u->last_cowd = g * GRAIN / COWD_GT_COVER;
      u->cowd_gts++;
    }
  }
  if (last > u->last_grain)
    u->last_grain = last;
  return VIX_OK;
}

/* Metadata of an empty hosted sparse extent, in bytes. */
static uint64_t
sparse_overhead (uint64_t sectors, uint64_t desc_sectors)
{
  struct kdmv_header h;

  kdmv_new_layout (&h, sectors, desc_sectors);
  return h.overhead * SS;
}

static uint64_t
bytes_for (VixDiskLibDiskType t, uint64_t cap, const struct usage *u)
{
  uint64_t data = u->grains * GRAIN * SS, n, i, total = 0, n_gts;
  struct kdmv_header h = { .capacity = cap, .grain_size = GRAIN,
                           .gtes_per_gt = 512 };

  if (data > cap * SS)
    data = cap * SS;
  switch (t) {
  case VIXDISKLIB_DISK_MONOLITHIC_SPARSE:
    return sparse_overhead (cap, DESC_SECTORS) + u->grains * GRAIN * SS;
  case VIXDISKLIB_DISK_SPLIT_SPARSE:
    n = (cap + SPLIT_SECTORS - 1) / SPLIT_SECTORS;
    for (i = 0; i < n; i++)
      total += sparse_overhead (i + 1 < n ? SPLIT_SECTORS
                                : cap - i * SPLIT_SECTORS, 0);
    return total + u->grains * GRAIN * SS + DESC_FILE;
  case VIXDISKLIB_DISK_MONOLITHIC_FLAT:
  case VIXDISKLIB_DISK_SPLIT_FLAT:
  case VIXDISKLIB_DISK_VMFS_FLAT:
    return cap * SS + DESC_FILE;
  case VIXDISKLIB_DISK_VMFS_THIN:
    return data + DESC_FILE;
  case VIXDISKLIB_DISK_STREAM_OPTIMIZED:
    n_gts = kdmv_num_gts (&h);
    /* Header and descriptor area, each grain with its marker, each
     * table and the directory with theirs, the footer and the
     * end-of-stream marker. */
    return 128 * SS + u->grains * (GRAIN + 1) * SS
      + u->kdmv_gts * (1 + 4) * SS + (1 + (n_gts * 4 + SS - 1) / SS) * SS
      + 3 * SS;
  case VIXDISKLIB_DISK_VMFS_SPARSE:
    n_gts = (cap + COWD_GT_COVER - 1) / COWD_GT_COVER;
    total = COWD_HEADER_SIZE + (n_gts * 4 + SS - 1) / SS * SS;
    total = (total + GRAIN * SS - 1) / (GRAIN * SS) * (GRAIN * SS);
    return total + (u->cowd_gts + u->grains) * GRAIN * SS + DESC_FILE;
  default:
    return 0;
  }
}

API VixError
VixDiskLib_SpaceNeededForClone (VixDiskLibHandle diskHandle,
                                VixDiskLibDiskType cloneDiskType,
                                uint64_t *spaceNeeded)
{
  struct usage u = { .last_grain = -1, .last_kdmv = -1, .last_cowd = -1 };
  VixError err;
  struct vdl_handle *h = vdl_handle_check (diskHandle, &err);
  uint64_t cap;

  if (!h)
    return err;
  if (!spaceNeeded)
    return vdl_error (VIX_E_INVALID_ARG, "SpaceNeededForClone: spaceNeeded "
                      "is NULL");
  if (cloneDiskType == VIXDISKLIB_DISK_UNKNOWN)
    cloneDiskType = vdl_link_disk_type (vdl_disk_link (h->disk, 0));
  cap = vdl_disk_capacity (h->disk);
  if (bytes_for (cloneDiskType, cap, &u) == 0)
    return vdl_error (VIX_E_INVALID_ARG, "SpaceNeededForClone: a clone "
                      "cannot be of type %d", (int) cloneDiskType);
  err = vdl_disk_allocation (h->disk, 0, cap, count_run, &u);
  if (err == VIX_OK)
    *spaceNeeded = bytes_for (cloneDiskType, cap, &u);
  return err;
}
