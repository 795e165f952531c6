/* SPDX-License-Identifier: BSD-3-Clause */
/* VixDiskLib_IsAttachPossible and VixDiskLib_Attach: put a child link,
 * opened on its own (VIXDISKLIB_FLAG_OPEN_SINGLE_LINK), on top of the
 * chain of another handle, as VMware does for a local redo log over a
 * base disk opened elsewhere.  The child must have been made from the
 * parent as it is now: same capacity, and its parentCID equal to the
 * parent's CID.  The parent handle is spent by Attach: its disk now
 * belongs to the child's, and closing it only frees it. */
#include <stdlib.h>

#include "api.h"
#include "error.h"
#include "handle.h"
#include "link.h"

static VixError
check_attach (VixDiskLibHandle parent, VixDiskLibHandle child,
              struct vdl_handle **ph, struct vdl_handle **ch)
{
  VixError err;
  struct vdl_link *c, *p;

  if (!(*ph = vdl_handle_check (parent, &err)) ||
      !(*ch = vdl_handle_check (child, &err)))
    return err;
  if (*ph == *ch || (*ph)->disk == (*ch)->disk)
    return vdl_error (VIX_E_INVALID_ARG, "Attach: parent and child are the "
                      "same disk");
  c = vdl_disk_link ((*ch)->disk, 0);
  p = vdl_disk_link ((*ph)->disk, 0);
  if (!c->desc.parent_hint)
    return vdl_error (VIX_E_DISK_ATTACH_ROOTLINK, "Attach: %s is a base "
                      "disk, not a child: it has no parent to attach to",
                      c->path);
  if (vdl_disk_n_links ((*ch)->disk) != 1)
    return vdl_error (VIX_E_INVALID_ARG, "Attach: %s was opened with its "
                      "parents: open it with VIXDISKLIB_FLAG_OPEN_SINGLE_LINK "
                      "to attach it", c->path);
  if (c->capacity != vdl_disk_capacity ((*ph)->disk))
    return vdl_error (VIX_E_DISK_CAPACITY_MISMATCH, "Attach: %s has %llu "
                      "sectors but %s has %llu", c->path,
                      (unsigned long long) c->capacity, p->path,
                      (unsigned long long) vdl_disk_capacity ((*ph)->disk));
  if (c->desc.parent_cid != p->desc.cid)
    return vdl_error (VIX_E_DISK_CID_MISMATCH, "Attach: %s was not made "
                      "from %s as it is now (parentCID %08x, parent's CID "
                      "%08x)", c->path, p->path, c->desc.parent_cid,
                      p->desc.cid);
  if (!vdl_disk_exclusive ((*ph)->disk) || !vdl_disk_exclusive ((*ch)->disk))
    return vdl_error (VIX_E_OBJECT_IS_BUSY, "Attach: %s or %s is open "
                      "through other handles of this process", c->path,
                      p->path);
  return VIX_OK;
}

API VixError
VixDiskLib_IsAttachPossible (VixDiskLibHandle parent, VixDiskLibHandle child)
{
  struct vdl_handle *ph, *ch;

  return check_attach (parent, child, &ph, &ch);
}

API VixError
VixDiskLib_Attach (VixDiskLibHandle parent, VixDiskLibHandle child)
{
  struct vdl_handle *ph, *ch;
  VixError err = check_attach (parent, child, &ph, &ch);

  if (err != VIX_OK)
    return err;
  vdl_inflight_wait (&ph->inflight);
  vdl_inflight_wait (&ch->inflight);
  /* The parent's writes must be durable before a child depends on them. */
  err = vdl_disk_flush (ph->disk);
  if (err == VIX_OK)
    err = vdl_disk_attach (ch->disk, ph->disk);
  if (err == VIX_OK) {
    ph->disk = NULL;
    ph->magic = VDL_HANDLE_ATTACHED_MAGIC;
  }
  return err;
}
