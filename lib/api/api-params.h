/* SPDX-License-Identifier: BSD-3-Clause */
/* The copy of the connection parameters a connection keeps for
 * VixDiskLib_GetConnectParams (api-params.c). */
#ifndef VDL_API_PARAMS_H
#define VDL_API_PARAMS_H

#include "vixDiskLib.h"

/* A copy of p (NULL: all empty) in one allocation, without passwords,
 * cookies or keys; NULL if out of memory. */
VixDiskLibConnectParams *vdl_params_copy (const VixDiskLibConnectParams *p);

#endif
