/* SPDX-License-Identifier: BSD-3-Clause */
/* ReadAsync/WriteAsync/Wait on top of the thread pool. */
#include <stdlib.h>

#include "api.h"
#include "error.h"
#include "handle.h"

#define INLINE_SECTORS 128      /* 64 KiB */

static VixError
run_read (struct vdl_job *job)
{
  return vdl_disk_read (job->target, job->sector, job->count, job->buf);
}

static VixError
run_write (struct vdl_job *job)
{
  return vdl_disk_write (job->target, job->sector, job->count, job->buf);
}

static VixError
submit (VixDiskLibHandle diskHandle, uint64_t sector, uint64_t count,
        const uint8_t *buf, VixDiskLibCompletionCB callback, void *data,
        bool write)
{
  VixError err;
  struct vdl_handle *h = vdl_handle_check (diskHandle, &err);
  struct vdl_job *job;

  if (!h)
    return err;
  if (write && (err = vdl_handle_check_writable (h)) != VIX_OK)
    return err;
  err = vdl_handle_check_range (h, sector, count, buf);
  if (err != VIX_OK)
    return err;
  /* A small request with nothing else in flight is done right here:
   * handing it to a pool thread would cost more than the read itself
   * (page cache hits take microseconds).  VDDK allows the callback to
   * run before ReadAsync/WriteAsync returns. */
  if (count <= INLINE_SECTORS && vdl_inflight_enter_if_idle (&h->inflight)) {
    err = write ? vdl_disk_write (h->disk, sector, count, buf)
      : vdl_disk_read (h->disk, sector, count, (unsigned char *) buf);
    if (callback)
      callback (data, err);
    vdl_inflight_leave (&h->inflight);
    return VIX_ASYNC;
  }
  job = calloc (1, sizeof *job);
  if (!job)
    return vdl_oom ();
  job->run = write ? run_write : run_read;
  job->callback = callback;
  job->callback_data = data;
  job->inflight = &h->inflight;
  job->target = h->disk;
  job->sector = sector;
  job->count = count;
  job->buf = (unsigned char *) buf;
  err = vdl_async_submit (job);
  if (err != VIX_ASYNC)
    free (job);
  return err;
}

API VixError
VixDiskLib_ReadAsync (VixDiskLibHandle diskHandle, uint64_t startSector,
                      uint64_t numSectors, uint8_t *readBuffer,
                      VixDiskLibCompletionCB callback, void *cbData)
{
  return submit (diskHandle, startSector, numSectors, readBuffer, callback,
                 cbData, false);
}

API VixError
VixDiskLib_WriteAsync (VixDiskLibHandle diskHandle, uint64_t startSector,
                       uint64_t numSectors, const uint8_t *writeBuffer,
                       VixDiskLibCompletionCB callback, void *cbData)
{
  return submit (diskHandle, startSector, numSectors, writeBuffer, callback,
                 cbData, true);
}

API VixError
VixDiskLib_Wait (VixDiskLibHandle diskHandle)
{
  VixError err;
  struct vdl_handle *h = vdl_handle_check (diskHandle, &err);

  if (!h)
    return err;
  vdl_inflight_wait (&h->inflight);
  return VIX_OK;
}
