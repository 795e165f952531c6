/* SPDX-License-Identifier: BSD-3-Clause */
/* ZERO extents: a range with no storage that always reads as zeros. */
#include <stdlib.h>

#include "error.h"
#include "extent.h"

static VixError
zero_map (struct vdl_extent *e, uint64_t sector, uint64_t count,
          enum vdl_run *state, uint64_t *run)
{
  (void) e; (void) sector;
  *state = VDL_RUN_ZERO;
  *run = count;
  return VIX_OK;
}

static void
zero_close (struct vdl_extent *e)
{
  free (e);
}

static const struct vdl_extent_ops zero_ops = {
  .kind = "ZERO",
  .map = zero_map,
  .close = zero_close,
};

VixError
vdl_extent_zero_open (const struct vdl_extent_open_args *a,
                      struct vdl_extent **out)
{
  struct vdl_extent *e = calloc (1, sizeof *e);

  if (!e)
    return vdl_oom ();
  vdl_extent_init (e, &zero_ops, a);
  e->no_write = "is a ZERO extent, which has no storage";
  *out = e;
  return VIX_OK;
}
