/* SPDX-License-Identifier: BSD-3-Clause */
/* Files on a datastore, read over HTTPS through a vSphere session. */
#include <stdlib.h>
#include <string.h>

#include "container-of.h"
#include "error.h"
#include "file-datastore.h"
#include "remote.h"

struct remote_file {
  struct vdl_file base;
  struct vdl_remote_file *remote;
};

static struct vdl_remote_file *
remote_of (struct vdl_file *f)
{
  return container_of (f, struct remote_file, base)->remote;
}

/* Reads past the end fail in vdl_remote_file_pread, naming the host. */
static VixError
remote_pread (struct vdl_file *f, void *buf, size_t len, uint64_t offset)
{
  return vdl_remote_file_pread (remote_of (f), buf, len, offset);
}

static VixError
remote_size (struct vdl_file *f, uint64_t *size)
{
  *size = vdl_remote_file_size (remote_of (f));
  return VIX_OK;
}

static bool
remote_next_data (struct vdl_file *f, uint64_t offset, uint64_t *data_start,
                  uint64_t *data_end)
{
  return vdl_remote_file_next_data (remote_of (f), offset, data_start,
                                    data_end);
}

static void
remote_place (struct vdl_file *f, uint64_t disk_offset, uint64_t file_offset)
{
  vdl_remote_file_place (remote_of (f), disk_offset, file_offset);
}

static void
remote_close (struct vdl_file *f)
{
  vdl_remote_file_close (remote_of (f));
  free (f->path);
  free (container_of (f, struct remote_file, base));
}

/* Read-only: no pwrite, sync, truncate or preallocate.  Holes only
 * where the server says which areas of a disk are in use.  A GET pays a
 * round trip whatever its size: 128 KiB take about as long as 2 KiB at
 * 50 MB/s and a few milliseconds each way. */
static const struct vdl_file_ops remote_ops = {
  .kind = "https",
  .read_unit = 128 << 10,
  .pread = remote_pread,
  .size = remote_size,
  .next_data = remote_next_data,
  .place = remote_place,
  .close = remote_close,
};

VixError
vdl_file_open_remote (struct vdl_remote *r, const char *name,
                      struct vdl_file **out)
{
  struct remote_file *f = calloc (1, sizeof *f);
  VixError err;

  if (!f || !(f->base.path = strdup (name))) {
    free (f);
    return vdl_oom ();
  }
  f->base.ops = &remote_ops;
  err = vdl_remote_file_open (r, name, &f->remote);
  if (err != VIX_OK) {
    free (f->base.path);
    free (f);
    return err;
  }
  *out = &f->base;
  return VIX_OK;
}
