/* SPDX-License-Identifier: BSD-3-Clause */
/* Calls that only matter for disks of VMs on VMware servers: for local
 * disks they succeed without doing anything, as in VMware's library. */
#include <stddef.h>

#include "api.h"
#include "error.h"
#include "vixDiskLib.h"

static VixError
local_only (const VixDiskLibConnectParams *p, const char *fn)
{
  if (p && p->serverName && p->serverName[0])
    return vdl_error (VIX_E_NOT_SUPPORTED, "%s: remote servers (%s) are not "
                      "supported yet by this VixDiskLib", fn, p->serverName);
  return VIX_OK;
}

API const char *
VixDiskLib_ListTransportModes (void)
{
  return "file:https";
}

API VixError
VixDiskLib_PrepareForAccess (const VixDiskLibConnectParams *connectParams,
                             const char *identity)
{
  (void) identity;
  return local_only (connectParams, "PrepareForAccess");
}

API VixError
VixDiskLib_EndAccess (const VixDiskLibConnectParams *connectParams,
                      const char *identity)
{
  (void) identity;
  return local_only (connectParams, "EndAccess");
}

API VixError
VixDiskLib_Cleanup (const VixDiskLibConnectParams *connectParams,
                    uint32_t *numCleanedUp, uint32_t *numRemaining)
{
  if (numCleanedUp)
    *numCleanedUp = 0;
  if (numRemaining)
    *numRemaining = 0;
  return local_only (connectParams, "Cleanup");
}
