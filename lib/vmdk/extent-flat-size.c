/* SPDX-License-Identifier: BSD-3-Clause */
/* Sizing flat extent files (FLAT, VMFS), the create and grow columns of
 * extent-kinds.c: a file must reach the end of its extent (offset +
 * sectors); a thin one is only made longer (holes read as zeros), any
 * other gets its blocks allocated. */
#include <sys/stat.h>

#include "error.h"
#include "extent-create.h"
#include "file-local.h"

#define SS VIXDISKLIB_SECTOR_SIZE

/* Make f long enough for x (never shorter). */
static VixError
size_flat (struct vdl_file *f, uint64_t offset, uint64_t sectors, bool thin)
{
  uint64_t need = (offset + sectors) * SS, size;
  VixError err = vdl_file_size (f, &size);

  if (err != VIX_OK || size >= need)
    return err;
  return thin ? vdl_file_truncate (f, need) : vdl_file_preallocate (f, need);
}

VixError
vdl_create_flat_kind (const struct vdl_extent_create_args *a)
{
  return size_flat (a->f, a->offset, a->sectors, a->thin);
}

VixError
vdl_grow_flat_extent (const char *path, const struct vdl_desc_extent *x,
                      bool thin)
{
  struct vdl_file *f;
  struct stat st;
  VixError err;

  if (stat (path, &st) == 0 && S_ISBLK (st.st_mode))
    return vdl_error (VIX_E_NOT_SUPPORTED, "Grow: the extent %s is a "
                      "block device, which cannot be made larger", path);
  /* No lock: the link holds the disk's locks. */
  err = vdl_file_open (path, true, false, VDL_LOCK_NONE, &f);
  if (err == VIX_OK) {
    err = size_flat (f, x->offset, x->sectors, thin);
    if (err == VIX_OK)
      err = vdl_file_sync (f);
    vdl_file_close (f);
  }
  return err;
}
