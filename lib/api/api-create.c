/* SPDX-License-Identifier: BSD-3-Clause */
/* VixDiskLib_Create and CreateChild: the checks of their arguments and
 * of the parent; the disks are laid out by create.c. */
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "create.h"
#include "error.h"
#include "handle.h"

API VixError
VixDiskLib_Create (const VixDiskLibConnection connection, const char *path,
                   const VixDiskLibCreateParams *createParams,
                   VixDiskLibProgressFunc progressFunc,
                   void *progressCallbackData)
{
  VixError err;

  if (!vdl_connection_check_local (connection, "Create", &err))
    return err;
  return vdl_create (path, createParams, NULL, progressFunc,
                     progressCallbackData);
}

/* How a child names its parent: by file name when both are in one
 * directory (so the pair can be moved together), else by absolute path. */
static char *
parent_hint (const char *parent, const char *child)
{
  char *p = realpath (parent, NULL), *cdir = strdup (child), *pdir, *r;
  char *cdir_real;

  if (!p || !cdir) {
    free (p);
    free (cdir);
    return NULL;
  }
  cdir_real = realpath (dirname (cdir), NULL);
  pdir = strdup (p);
  if (cdir_real && pdir && strcmp (dirname (pdir), cdir_real) == 0)
    r = strdup (strrchr (p, '/') + 1);
  else
    r = strdup (p);
  free (pdir);
  free (cdir_real);
  free (cdir);
  free (p);
  return r;
}

API VixError
VixDiskLib_CreateChild (VixDiskLibHandle diskHandle, const char *childPath,
                        VixDiskLibDiskType diskType,
                        VixDiskLibProgressFunc progressFunc,
                        void *progressCallbackData)
{
  VixError err;
  struct vdl_handle *h = vdl_handle_check (diskHandle, &err);
  VixDiskLibCreateParams p = { .diskType = diskType };
  struct vdl_parent_ref parent;
  VixDiskLibInfo *info;
  char *hw = NULL, *hint;

  if (!h)
    return err;
  if (!childPath || !*childPath)
    return vdl_error (VIX_E_INVALID_ARG, "CreateChild: no file name");
  if (strcmp (h->transport, "file") != 0)
    return vdl_error (VIX_E_NOT_SUPPORTED, "CreateChild: %s: the parent "
                      "must be a local disk", childPath);
  if (diskType != VIXDISKLIB_DISK_MONOLITHIC_SPARSE &&
      diskType != VIXDISKLIB_DISK_SPLIT_SPARSE)
    return vdl_error (VIX_E_NOT_SUPPORTED, "CreateChild: a child is "
                      "monolithic-sparse or split-sparse, not type %d",
                      (int) diskType);
  err = vdl_disk_get_info (h->disk, &info);
  if (err != VIX_OK)
    return err;
  p.capacity = info->capacity;
  p.adapterType = info->adapterType == VIXDISKLIB_ADAPTER_UNKNOWN
    ? VIXDISKLIB_ADAPTER_SCSI_LSILOGIC : info->adapterType;
  VixDiskLib_FreeInfo (info);
  p.hwVersion = VIXDISKLIB_HWVERSION_WORKSTATION_5;
  if (vdl_disk_read_metadata (h->disk, "virtualHWVersion", &hw) == VIX_OK) {
    p.hwVersion = atoi (hw);
    free (hw);
  }
  /* The child depends on the parent as it is now: make that durable. */
  err = vdl_disk_flush (h->disk);
  if (err != VIX_OK)
    return err;
  vdl_disk_top (h->disk, &parent.cid, &hint);
  if (!(hint = parent_hint (hint, childPath)))
    return vdl_error_errno (errno, "CreateChild: cannot resolve the parent "
                            "and child paths");
  parent.hint = hint;
  err = vdl_create (childPath, &p, &parent, progressFunc,
                    progressCallbackData);
  free (hint);
  return err;
}
