/* SPDX-License-Identifier: BSD-3-Clause */
/* What every kind of extent shares. */
#include "extent.h"

void
vdl_extent_init (struct vdl_extent *e, const struct vdl_extent_ops *ops,
                 const struct vdl_extent_open_args *a)
{
  e->ops = ops;
  e->sectors = a->desc->sectors;
  e->access = a->desc->access;
}

VixError
vdl_extent_grain_runs (struct vdl_extent *e, uint64_t grain_size,
                       uint64_t sector, uint64_t count,
                       vdl_grain_state_fn state_of, enum vdl_run *state,
                       uint64_t *run)
{
  uint64_t done = 0, span;
  enum vdl_run st;
  VixError err;

  while (done < count) {
    span = grain_size - (sector + done) % grain_size;
    err = state_of (e, sector + done, &st, &span);
    if (err != VIX_OK)
      return err;
    if (done == 0)
      *state = st;
    else if (st != *state)
      break;
    done += span;
  }
  *run = done < count ? done : count;
  return VIX_OK;
}
