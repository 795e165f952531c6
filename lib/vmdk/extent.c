/* SPDX-License-Identifier: BSD-3-Clause */
/* What every kind of extent shares. */
#include <string.h>

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

VixError
vdl_extent_read_grains (struct vdl_extent *e, struct vdl_file *file,
                        uint64_t grain_size, uint64_t sector, uint64_t count,
                        unsigned char *buf, vdl_grain_place_fn place_of)
{
  uint64_t n, at, run_at = 0, run_len = 0;
  unsigned char *run_buf = NULL;
  bool data;
  VixError err = VIX_OK;

  while (count > 0 && err == VIX_OK) {
    n = grain_size - sector % grain_size < count
      ? grain_size - sector % grain_size : count;
    if ((err = place_of (e, sector, &data, &at)) != VIX_OK)
      break;
    at += sector % grain_size;
    if (data && run_len > 0 && at == run_at + run_len)
      run_len += n;
    else {
      /* The run ends: read it. */
      if (run_len > 0)
        err = vdl_file_pread (file, run_buf, run_len * VIXDISKLIB_SECTOR_SIZE,
                              run_at * VIXDISKLIB_SECTOR_SIZE);
      run_len = 0;
      if (data) {
        run_buf = buf;
        run_at = at;
        run_len = n;
      }
      else
        memset (buf, 0, n * VIXDISKLIB_SECTOR_SIZE);
    }
    buf += n * VIXDISKLIB_SECTOR_SIZE;
    sector += n;
    count -= n;
  }
  if (err == VIX_OK && run_len > 0)
    err = vdl_file_pread (file, run_buf, run_len * VIXDISKLIB_SECTOR_SIZE,
                          run_at * VIXDISKLIB_SECTOR_SIZE);
  return err;
}
