/* SPDX-License-Identifier: BSD-3-Clause */
/* CheckRepair's checks of one extent file, per kind (the check column
 * of extent-kinds.c): flat files must be long enough (and are extended
 * with zeros when repairing), grain-table files are checked by
 * check-sparse.c, raw devices cannot be checked here. */
#include <inttypes.h>

#include "error.h"
#include "check.h"

#define SS VIXDISKLIB_SECTOR_SIZE

VixError
vdl_check_flat_extent (struct vdl_check *c, const struct vdl_desc_extent *x,
                       const char *path, struct vdl_file *self)
{
  uint64_t need = (x->offset + x->sectors) * SS, size;
  struct vdl_file *f;
  VixError err = vdl_file_open (path, c->repair, false,
                                c->repair ? VDL_LOCK_WRITE : VDL_LOCK_READ,
                                &f);

  (void) self;                  /* a flat file has no descriptor in it */
  if (err != VIX_OK)
    return err;
  err = vdl_file_size (f, &size);
  if (err == VIX_OK && size < need) {
    vdl_check_problem (c, path, c->repair, "it has %" PRIu64 " bytes, %"
                       PRIu64 " fewer than its extent needs", size,
                       need - size);
    if (c->repair)
      err = vdl_file_truncate (f, need);
  }
  vdl_file_close (f);
  return err;
}

static VixError
check_grained (struct vdl_check *c, const struct vdl_desc_extent *x,
               const char *path, struct vdl_file *self, bool cowd)
{
  struct vdl_file *f = self;
  VixError err = VIX_OK;

  if (!self)
    err = vdl_file_open (path, c->repair, false,
                         c->repair ? VDL_LOCK_WRITE : VDL_LOCK_READ, &f);
  if (err == VIX_OK)
    err = vdl_check_grained (c, f, cowd, x->sectors);
  if (!self && f)
    vdl_file_close (f);
  return err;
}

VixError
vdl_check_sparse_extent (struct vdl_check *c, const struct vdl_desc_extent *x,
                         const char *path, struct vdl_file *self)
{
  return check_grained (c, x, path, self, false);
}

VixError
vdl_check_cowd_extent (struct vdl_check *c, const struct vdl_desc_extent *x,
                       const char *path, struct vdl_file *self)
{
  return check_grained (c, x, path, self, true);
}

VixError
vdl_check_device_extent (struct vdl_check *c, const struct vdl_desc_extent *x,
                         const char *path, struct vdl_file *self)
{
  (void) self;
  vdl_check_problem (c, path, false, "%s extents (raw devices) cannot be "
                     "checked here", vdl_extent_type_name (x->type));
  return VIX_OK;
}
