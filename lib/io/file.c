/* SPDX-License-Identifier: BSD-3-Clause */
/* What the rest of the library calls: thin wrappers over each byte
 * source's operations, answering for the optional ones a read-only
 * source leaves out. */
#include "error.h"
#include "file.h"

VixError
vdl_file_pread (struct vdl_file *f, void *buf, size_t len, uint64_t offset)
{
  return f->ops->pread (f, buf, len, offset);
}

VixError
vdl_file_pwrite (struct vdl_file *f, const void *buf, size_t len,
                 uint64_t offset)
{
  if (!f->writable || !f->ops->pwrite)
    return vdl_error (VIX_E_FILE_READ_ONLY, "%s is open read-only", f->path);
  return f->ops->pwrite (f, buf, len, offset);
}

VixError
vdl_file_sync (struct vdl_file *f)
{
  return f->writable && f->ops->sync ? f->ops->sync (f) : VIX_OK;
}

VixError
vdl_file_size (struct vdl_file *f, uint64_t *size)
{
  return f->ops->size (f, size);
}

VixError
vdl_file_truncate (struct vdl_file *f, uint64_t size)
{
  if (!f->writable || !f->ops->truncate)
    return vdl_error (VIX_E_FILE_READ_ONLY, "%s is open read-only", f->path);
  return f->ops->truncate (f, size);
}

VixError
vdl_file_preallocate (struct vdl_file *f, uint64_t size)
{
  if (!f->writable || !f->ops->preallocate)
    return vdl_error (VIX_E_FILE_READ_ONLY, "%s is open read-only", f->path);
  return f->ops->preallocate (f, size);
}

bool
vdl_file_next_data (struct vdl_file *f, uint64_t offset,
                    uint64_t *data_start, uint64_t *data_end)
{
  return f->ops->next_data && f->ops->next_data (f, offset, data_start,
                                                 data_end);
}

size_t
vdl_file_read_unit (const struct vdl_file *f)
{
  return f->ops->read_unit;
}

void
vdl_file_place (struct vdl_file *f, uint64_t disk_offset,
                uint64_t file_offset)
{
  if (f->ops->place)
    f->ops->place (f, disk_offset, file_offset);
}

void
vdl_file_close (struct vdl_file *f)
{
  if (!f)
    return;
  f->ops->close (f);
}
