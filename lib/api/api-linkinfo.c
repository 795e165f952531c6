/* SPDX-License-Identifier: BSD-3-Clause */
/* OpenVixDiskLib_GetLinkInfo: the files behind one link of an open
 * disk, for tools that show a disk's layout (vdiskmanager --info).  An
 * extension: VMware's library has no way to list a disk's files. */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "api.h"
#include "error.h"
#include "handle.h"
#include "link.h"

static const char *const access_names[] = {
  [VDL_ACCESS_RW] = "RW", [VDL_ACCESS_RDONLY] = "RDONLY",
  [VDL_ACCESS_NOACCESS] = "NOACCESS",
};

API void
OpenVixDiskLib_FreeLinkInfo (OpenVixDiskLibLinkInfo *info)
{
  uint32_t i;

  if (!info)
    return;
  for (i = 0; i < info->numExtents; i++) {
    free (info->extents[i].fileName);
    free (info->extents[i].type);
    free (info->extents[i].access);
  }
  free (info->extents);
  free (info->fileName);
  free (info->createType);
  free (info->parentFileNameHint);
  free (info);
}

static char *
dup (const char *s, bool *oom)
{
  char *r = s ? strdup (s) : NULL;

  *oom |= s && !r;
  return r;
}

API VixError
OpenVixDiskLib_GetLinkInfo (VixDiskLibHandle diskHandle, uint32_t link,
                            OpenVixDiskLibLinkInfo **info)
{
  VixError err;
  struct vdl_handle *h = vdl_handle_check (diskHandle, &err);
  OpenVixDiskLibLinkInfo *r;
  struct vdl_link *l;
  struct stat st;
  bool oom = false, local;
  size_t i;

  if (!h)
    return err;
  if (!info)
    return vdl_error (VIX_E_INVALID_ARG, "GetLinkInfo: info is NULL");
  if (!(l = vdl_disk_link (h->disk, link)))
    return vdl_error (VIX_E_INVALID_ARG, "GetLinkInfo: the disk has %zu "
                      "links, not %u", vdl_disk_n_links (h->disk), link + 1);
  local = vdl_store_has (l->store, VDL_STORE_LOCAL_PATHS);
  if (!(r = calloc (1, sizeof *r)) ||
      !(r->extents = calloc (l->n_extents, sizeof *r->extents))) {
    free (r);
    return vdl_oom ();
  }
  r->fileName = dup (l->path, &oom);
  r->createType = dup (l->desc.create_type, &oom);
  r->diskType = vdl_link_disk_type (l);
  r->cid = l->desc.cid;
  r->parentCid = l->desc.parent_cid;
  r->parentFileNameHint = dup (l->desc.parent_hint, &oom);
  r->capacity = l->capacity;
  r->numExtents = l->n_extents;
  for (i = 0; i < l->n_extents; i++) {
    OpenVixDiskLibExtentInfo *x = &r->extents[i];
    const struct vdl_desc_extent *d = &l->desc.extents[i];
    x->fileName = dup (l->extents[i]->path, &oom);
    x->type = dup (vdl_extent_type_name (d->type), &oom);
    x->access = dup (access_names[d->access], &oom);
    x->sectors = d->sectors;
    x->offset = d->offset;
    if (local && l->extents[i]->path &&
        stat (l->extents[i]->path, &st) == 0) {
      x->fileBytes = st.st_size;
      x->allocatedBytes = (uint64_t) st.st_blocks * 512;
    }
  }
  if (oom) {
    OpenVixDiskLib_FreeLinkInfo (r);
    return vdl_oom ();
  }
  *info = r;
  return VIX_OK;
}
