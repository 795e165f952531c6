/* SPDX-License-Identifier: BSD-3-Clause */
/* Connections: local (no server) or to an ESXi host or vCenter, whose
 * disks are read over HTTPS from the datastores ("https" transport). */
#include <stdlib.h>
#include <string.h>

#include "api-params.h"
#include "api.h"
#include "error.h"
#include "handle.h"
#include "log.h"
#include "remote.h"
#include "store-datastore.h"

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

/* Whether a transportModes list ("nbdssl:nbd", NULL: any) allows ours.
 * Network copies (nbd, nbdssl) are what https replaces; san and hotadd
 * need VMware's library and a proxy VM or SAN access. */
static VixError
check_transports (const char *modes, bool remote)
{
  const char *p = modes, *end;
  size_t n;

  if (!modes || !*modes)
    return VIX_OK;
  for (; *p; p = *end ? end + 1 : end) {
    end = strchrnul (p, ':');
    n = end - p;
    if ((n == 4 && strncmp (p, "file", 4) == 0) ||
        (remote && n == 5 && strncmp (p, "https", 5) == 0) ||
        (remote && n == 3 && strncmp (p, "nbd", 3) == 0) ||
        (remote && n == 6 && strncmp (p, "nbdssl", 6) == 0))
      return VIX_OK;
  }
  if (!remote)
    return vdl_error (VIX_E_INVALID_ARG, "the transport modes \"%s\" "
                      "cannot open a local disk: local disks are read "
                      "with the mode \"file\" only", modes);
  return vdl_error (VIX_E_INVALID_ARG, "none of the transport modes \"%s\" "
                    "is available for a remote disk: this VixDiskLib reads "
                    "remote disks over https, which the modes \"nbd\", "
                    "\"nbdssl\" and \"https\" select, and \"san\" and "
                    "\"hotadd\" need VMware's VDDK", modes);
}

/* "moref=vm-16" -> "vm-16". */
static VixError
vm_moref (const VixDiskLibConnectParams *params, const char **out)
{
  const char *spec = params->vmxSpec;

  if (!spec || !*spec)
    return vdl_error (VIX_E_INVALID_ARG, "connecting to %s: no virtual "
                      "machine given (vm=moref=...)", params->serverName);
  if (strncmp (spec, "moref=", 6) != 0 || !spec[6])
    return vdl_error (VIX_E_INVALID_ARG, "connecting to %s: the virtual "
                      "machine must be given as moref=ID, not \"%s\"",
                      params->serverName, spec);
  *out = spec + 6;
  return VIX_OK;
}

static VixError
connect_remote (const VixDiskLibConnectParams *params,
                const char *snapshotRef, struct vdl_store **out)
{
  struct vdl_remote_params p = {
    .server = params->serverName,
    .port = params->port,
    .thumbprint = params->thumbPrint,
    .snapshot_moref = snapshotRef,
  };
  VixError err = vm_moref (params, &p.vm_moref);

  if (err != VIX_OK)
    return err;
  switch (params->credType) {
  case VIXDISKLIB_CRED_UID:
    p.user = params->creds.uid.userName;
    p.password = params->creds.uid.password;
    break;
  case VIXDISKLIB_CRED_SESSIONID:
    p.user = params->creds.sessionId.userName;
    p.cookie = params->creds.sessionId.cookie;
    /* VDDK's session "key" is the password (renews an expired cookie). */
    p.password = params->creds.sessionId.key;
    break;
  default:
    return vdl_error (VIX_E_NOT_SUPPORTED, "connecting to %s: only user "
                      "and password or a session cookie are supported "
                      "credentials", params->serverName);
  }
  if (params->nfcHostPort)
    vdl_debug ("VixDiskLib: nfcHostPort %u has no effect: disks are read "
               "over https", params->nfcHostPort);
  return vdl_store_datastore_connect (&p, out);
}

API VixError
VixDiskLib_ConnectEx (const VixDiskLibConnectParams *params, char readOnly,
                      const char *snapshotRef, const char *transportModes,
                      VixDiskLibConnection *connection)
{
  bool remote = params && params->serverName && params->serverName[0];
  struct vdl_connection *c;
  VixError err;

  if (!connection)
    return vdl_error (VIX_E_INVALID_ARG, "ConnectEx: connection is NULL");
  if (!remote && params && params->vmxSpec && params->vmxSpec[0])
    return vdl_error (VIX_E_INVALID_ARG, "a virtual machine (%s) was given "
                      "without a server to find it on", params->vmxSpec);
  err = check_transports (transportModes, remote);
  if (err != VIX_OK)
    return err;
  c = calloc (1, sizeof *c);
  if (!c)
    return vdl_oom ();
  c->store = &vdl_local_store;
  if (remote) {
    err = connect_remote (params, snapshotRef, &c->store);
    if (err != VIX_OK) {
      free (c);
      return err;
    }
  }
  c->magic = VDL_CONNECTION_MAGIC;
  c->read_only = readOnly;
  c->params = vdl_params_copy (params);   /* for GetConnectParams */
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
  vdl_store_close (c->store);
  free (c->params);
  free (c);
  return VIX_OK;
}
