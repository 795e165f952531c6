/* SPDX-License-Identifier: BSD-3-Clause */
/* VixDiskLib_GetConnectParams: the parameters a connection was made
 * with.  The copy is one allocation (the struct, then its strings), so
 * VixDiskLib_FreeConnectParams, which frees only the struct as callers
 * of AllocateConnectParams expect, frees it whole.  Passwords, cookies
 * and session keys are left out: whoever holds the connection can use
 * it without them. */
#include <stdlib.h>
#include <string.h>

#include "api-params.h"
#include "api.h"
#include "error.h"
#include "handle.h"

static size_t
len (const char *s)
{
  return s ? strlen (s) + 1 : 0;
}

/* Copy s to *pos and return the copy (NULL stays NULL). */
static char *
put (char **pos, const char *s)
{
  char *r = *pos;

  if (!s)
    return NULL;
  strcpy (r, s);
  *pos += strlen (s) + 1;
  return r;
}

VixDiskLibConnectParams *
vdl_params_copy (const VixDiskLibConnectParams *p)
{
  VixDiskLibConnectParams *c;
  const char *user = NULL;
  size_t n = sizeof *c;
  char *pos;

  if (!p)
    return calloc (1, sizeof *c);
  if (p->credType == VIXDISKLIB_CRED_UID)
    user = p->creds.uid.userName;
  else if (p->credType == VIXDISKLIB_CRED_SESSIONID)
    user = p->creds.sessionId.userName;
  n += len (p->vmxSpec) + len (p->serverName) + len (p->thumbPrint)
    + len (user) + len (p->spec.vStorageObjSpec.id)
    + len (p->spec.vStorageObjSpec.datastoreMoRef)
    + len (p->spec.vStorageObjSpec.ssId);
  if (!(c = calloc (1, n)))
    return NULL;
  pos = (char *) (c + 1);
  c->vmxSpec = put (&pos, p->vmxSpec);
  c->serverName = put (&pos, p->serverName);
  c->thumbPrint = put (&pos, p->thumbPrint);
  c->credType = p->credType;
  if (p->credType == VIXDISKLIB_CRED_UID)
    c->creds.uid.userName = put (&pos, user);
  else if (p->credType == VIXDISKLIB_CRED_SESSIONID)
    c->creds.sessionId.userName = put (&pos, user);
  c->port = p->port;
  c->nfcHostPort = p->nfcHostPort;
  c->specType = p->specType;
  if (p->specType == VIXDISKLIB_SPEC_VSTORAGE_OBJECT) {
    c->spec.vStorageObjSpec.id = put (&pos, p->spec.vStorageObjSpec.id);
    c->spec.vStorageObjSpec.datastoreMoRef =
      put (&pos, p->spec.vStorageObjSpec.datastoreMoRef);
    c->spec.vStorageObjSpec.ssId = put (&pos, p->spec.vStorageObjSpec.ssId);
  }
  return c;
}

API VixError
VixDiskLib_GetConnectParams (const VixDiskLibConnection connection,
                             VixDiskLibConnectParams **connectParams)
{
  VixError err;
  struct vdl_connection *c = vdl_connection_check (connection, &err);

  if (!c)
    return err;
  if (!connectParams)
    return vdl_error (VIX_E_INVALID_ARG, "GetConnectParams: connectParams "
                      "is NULL");
  if (!(*connectParams = vdl_params_copy (c->params)))
    return vdl_oom ();
  return VIX_OK;
}
