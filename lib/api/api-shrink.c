/* SPDX-License-Identifier: BSD-3-Clause */
/* VixDiskLib_Shrink and VixDiskLib_Defragment: remake the open disk's
 * newest link in LBA order (rebuild.c), beside it, and put it in place
 * only once it is complete and durable.  Shrink also drops grains of
 * zeros (where nothing below shows through) and gives the zero blocks
 * of thin flat files back to the filesystem; Defragment keeps every
 * allocated grain. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api.h"
#include "error.h"
#include "extent-kinds.h"
#include "grow.h"
#include "handle.h"
#include "rebuild.h"
#include "grained.h"

#define BLOCK (64 * 1024)       /* bytes: holes are punched in these */

/* Punch holes where a flat extent's file holds whole blocks of zeros.
 * Each hole replaces zeros with zeros, so the disk reads the same at
 * every moment. */
static VixError
punch_zeros (const struct vdl_desc_extent *x, const char *path,
             struct vdl_progress *p)
{
  uint64_t start = x->offset * SS, end = start + x->sectors * SS, pos;
  unsigned char *buf = malloc (BLOCK);
  off_t data;
  ssize_t r;
  int fd = open (path, O_RDWR | O_CLOEXEC);
  VixError err = VIX_OK;

  if (fd == -1 || !buf) {
    err = buf ? vdl_error_errno (errno, "cannot open %s", path)
      : vdl_oom ();
    goto out;
  }
  for (pos = (start + BLOCK - 1) / BLOCK * BLOCK; pos + BLOCK <= end;
       pos += BLOCK) {
    /* Skip what is a hole already. */
    data = lseek (fd, pos, SEEK_DATA);
    if (data == -1 && errno == ENXIO)
      break;                    /* only holes from here */
    if (data >= (off_t) (pos + BLOCK)) {
      pos = data / BLOCK * BLOCK - BLOCK;
      continue;
    }
    r = pread (fd, buf, BLOCK, pos);
    if (r != BLOCK) {
      err = vdl_error_errno (r == -1 ? errno : EIO, "cannot read %s", path);
      break;
    }
    if (grained_is_zero (buf, BLOCK) &&
        fallocate (fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, pos,
                   BLOCK) == -1) {
      if (errno != EOPNOTSUPP)
        err = vdl_error_errno (errno, "cannot free zero blocks of %s", path);
      break;                    /* the filesystem cannot: nothing to do */
    }
    vdl_progress_report (p, pos - start, end - start);
  }
  if (err == VIX_OK && fdatasync (fd) == -1)
    err = vdl_error_errno (errno, "cannot sync %s", path);
 out:
  if (fd >= 0)
    close (fd);
  free (buf);
  return err;
}

static VixError
rebuild_open_disk (VixDiskLibHandle diskHandle, bool shrink,
                   VixDiskLibProgressFunc fn, void *data)
{
  const char *what = shrink ? "Shrink" : "Defragment";
  struct vdl_progress p = { .fn = fn, .data = data, .lo = 0, .hi = 100,
                            .last = -1 };
  struct vdl_rebuild r = { .keep_zero_grains = !shrink, .progress = &p };
  VixError err;
  struct vdl_handle *h = vdl_handle_check (diskHandle, &err);
  struct vdl_link *l;
  const char *thin;
  size_t i, n_grained = 0, n_done;
  bool compressed;

  if (!h)
    return err;
  if (strcmp (h->transport, "file") != 0)
    return vdl_error (VIX_E_NOT_SUPPORTED, "%s: only local disks can be "
                      "changed", what);
  l = vdl_disk_link (h->disk, 0);
  if (h->read_only)
    return vdl_error (VIX_E_FILE_READ_ONLY, "%s: %s was opened read-only",
                      what, l->path);
  if (!vdl_disk_exclusive (h->disk))
    return vdl_error (VIX_E_OBJECT_IS_BUSY, "%s: %s is open through other "
                      "handles of this process", what, l->path);
  if (l->desc.parent_hint && vdl_disk_n_links (h->disk) < 2)
    return vdl_error (VIX_E_INVALID_ARG, "%s: %s was opened without its "
                      "parents (single link), which show through it: open "
                      "it with its parents", what, l->path);
  vdl_inflight_wait (&h->inflight);
  err = vdl_disk_flush (h->disk);
  if (err != VIX_OK)
    return err;
  for (i = 0; i < l->n_extents; i++)
    n_grained += vdl_rebuild_can (l, i, &compressed);
  /* Flat extents are laid out in order already (Defragment then has
   * nothing to do, as VMware documents). */
  thin = vdl_descriptor_ddb (&l->desc, "ddb.thinProvisioned");
  if (shrink && thin && strcmp (thin, "1") == 0) {
    for (i = 0; i < l->n_extents && err == VIX_OK; i++) {
      const struct vdl_desc_extent *x = &l->desc.extents[i];
      if (vdl_extent_kind (x->type)->in_place && l->extents[i]->path)
        err = punch_zeros (x, l->extents[i]->path, &p);
    }
  }
  else if (shrink && n_grained == 0)
    return vdl_error (VIX_E_DISK_CANTSHRINK, "Shrink: %s is preallocated "
                      "(%s): only growable (sparse or thin) disks can be "
                      "shrunk", l->path, l->desc.create_type);
  if (err == VIX_OK && n_grained > 0) {
    r.link = l;
    r.disk = h->disk;
    err = vdl_rebuild_link (&r, &n_done);
    if (n_done > 0) {
      VixError e = vdl_disk_reopen_top (h->disk);
      if (err == VIX_OK)
        err = e;
    }
  }
  if (err == VIX_OK && fn)
    fn (data, 100);
  return err;
}

API VixError
VixDiskLib_Shrink (VixDiskLibHandle diskHandle,
                   VixDiskLibProgressFunc progressFunc,
                   void *progressCallbackData)
{
  return rebuild_open_disk (diskHandle, true, progressFunc,
                            progressCallbackData);
}

API VixError
VixDiskLib_Defragment (VixDiskLibHandle diskHandle,
                       VixDiskLibProgressFunc progressFunc,
                       void *progressCallbackData)
{
  return rebuild_open_disk (diskHandle, false, progressFunc,
                            progressCallbackData);
}
