/* Connections.  Only local files are served so far; a remote connection
 * (serverName set) is refused with a clear message at ConnectEx. */
#include <stdlib.h>

#include "error.h"
#include "handle.h"

#define API __attribute__ ((visibility ("default")))

API VixDiskLibConnectParams *
VixDiskLib_AllocateConnectParams (void)
{
  return calloc (1, sizeof (VixDiskLibConnectParams));
}

API void
VixDiskLib_FreeConnectParams (VixDiskLibConnectParams *params)
{
  free (params);
}

API VixError
VixDiskLib_ConnectEx (const VixDiskLibConnectParams *params, char readOnly,
                      const char *snapshotRef, const char *transportModes,
                      VixDiskLibConnection *connection)
{
  struct vdl_connection *c;

  (void) snapshotRef;
  (void) transportModes;
  if (!connection)
    return vdl_error (VIX_E_INVALID_ARG, "ConnectEx: connection is NULL");
  if (params && ((params->serverName && params->serverName[0]) ||
                 (params->vmxSpec && params->vmxSpec[0])))
    return vdl_error (VIX_E_NOT_SUPPORTED,
                      "remote connections (server %s) are not supported "
                      "yet by this VixDiskLib: only local VMDK files can be "
                      "opened", params->serverName ? params->serverName
                      : "not given");
  c = calloc (1, sizeof *c);
  if (!c)
    return vdl_error (VIX_E_OUT_OF_MEMORY, "out of memory");
  c->magic = VDL_CONNECTION_MAGIC;
  c->read_only = readOnly;
  *connection = c;
  return VIX_OK;
}

API VixError
VixDiskLib_Connect (const VixDiskLibConnectParams *params,
                    VixDiskLibConnection *connection)
{
  return VixDiskLib_ConnectEx (params, 0, NULL, NULL, connection);
}

API VixError
VixDiskLib_Disconnect (VixDiskLibConnection connection)
{
  VixError err;
  struct vdl_connection *c = vdl_connection_check (connection, &err);

  if (!c)
    return err;
  c->magic = 0;
  free (c);
  return VIX_OK;
}

struct vdl_connection *
vdl_connection_check (VixDiskLibConnection conn, VixError *err)
{
  struct vdl_connection *c = conn;

  if (!c || c->magic != VDL_CONNECTION_MAGIC) {
    *err = vdl_error (VIX_E_INVALID_HANDLE, "not a valid connection");
    return NULL;
  }
  return c;
}
