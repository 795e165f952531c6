/* SPDX-License-Identifier: BSD-3-Clause */
/* The descriptor's place and padding rules (descriptor-file.h), for
 * opening a link (link.c), CheckRepair, Grow and Rename. */
#include <endian.h>
#include <stdlib.h>
#include <string.h>

#include "descriptor-file.h"
#include "error.h"
#include "file-local.h"

#define SS VIXDISKLIB_SECTOR_SIZE

VixError
vdl_descfile_locate (struct vdl_file *f, struct vdl_desc_where *w)
{
  unsigned char hdr[SS];
  uint32_t magic = 0;
  VixError err = vdl_file_size (f, &w->file_size);

  memset (&w->h, 0, sizeof w->h);
  w->why[0] = '\0';
  w->place = VDL_DESC_TEXT;
  if (err != VIX_OK)
    return err;
  if (w->file_size >= 4) {
    err = vdl_file_pread (f, hdr, w->file_size < SS ? w->file_size : SS, 0);
    if (err != VIX_OK)
      return err;
    memcpy (&magic, hdr, 4);
    magic = le32toh (magic);
  }
  if (magic == COWD_MAGIC)
    w->place = VDL_DESC_COWD;
  else if (magic == KDMV_MAGIC && w->file_size < SS)
    w->place = VDL_DESC_SHORT;
  else if (magic == KDMV_MAGIC)
    w->place = kdmv_header_parse (hdr, &w->h, w->why, sizeof w->why) == -1
      ? VDL_DESC_BAD_HEADER : VDL_DESC_SPARSE;
  return VIX_OK;
}

bool
vdl_descfile_has_area (const struct kdmv_header *h)
{
  return h->desc_offset != 0 && h->desc_size != 0;
}

VixError
vdl_descfile_read (struct vdl_file *f, uint64_t offset, uint64_t len,
                   char **out)
{
  char *t = calloc (1, len + 1);
  VixError err;

  if (!t)
    return vdl_oom ();
  err = vdl_file_pread (f, t, len, offset);
  if (err != VIX_OK)
    free (t);
  else
    *out = t;
  return err;
}

VixError
vdl_descfile_write_area (struct vdl_file *f, const char *text, uint64_t size,
                         uint64_t offset)
{
  size_t len = strlen (text);
  char *area;
  VixError err;

  /* Callers say in their own words that a text does not fit; this
   * only keeps the area's bounds. */
  if (len > size)
    return vdl_error (VIX_E_INVALID_ARG, "%s: a descriptor of %zu bytes "
                      "does not fit in its area of %llu bytes", f->path, len,
                      (unsigned long long) size);
  if (!(area = calloc (1, size)))
    return vdl_oom ();
  memcpy (area, text, len);
  err = vdl_file_pwrite (f, area, size, offset);
  free (area);
  return err;
}

VixError
vdl_descfile_rewrite_embedded (const char *path, const char *text,
                               uint64_t offset, uint64_t size)
{
  struct vdl_file *f;
  VixError err = vdl_file_open (path, true, false, VDL_LOCK_NONE, &f);

  if (err != VIX_OK)
    return err;
  err = vdl_descfile_write_area (f, text, size, offset);
  if (err == VIX_OK)
    err = vdl_file_sync (f);
  vdl_file_close (f);
  return err;
}

VixError
vdl_descfile_write_text (struct vdl_file *f, const char *text,
                         size_t old_len)
{
  size_t len = strlen (text);
  uint64_t old_size;
  VixError err = vdl_file_size (f, &old_size);

  /* qemu pads to 10 KiB and may leave stale bytes after the NUL. */
  if (err == VIX_OK && old_size > old_len && old_size > len &&
      old_size <= VDL_DESCRIPTOR_MAX)
    return vdl_descfile_write_area (f, text, old_size, 0);
  if (err == VIX_OK) {
    err = vdl_file_pwrite (f, text, len, 0);
    if (err == VIX_OK && len < old_size)
      err = vdl_file_truncate (f, len);
  }
  return err;
}
