/* SPDX-License-Identifier: BSD-3-Clause */
/* Compile-time proof that the public structs have VMware's x86_64 layout
 * (sizes and offsets from the VDDK ABI).  Nothing here runs. */
#include <stddef.h>

#include "vixDiskLib.h"

#define AT(type, field, off) \
  _Static_assert (offsetof (type, field) == (off), #type "." #field)
#define SIZE(type, n) _Static_assert (sizeof (type) == (n), "sizeof " #type)

#if defined (__x86_64__)
SIZE (VixError, 8);
SIZE (VixDiskLibConnectParams, 128);
AT (VixDiskLibConnectParams, vmxSpec, 0);
AT (VixDiskLibConnectParams, serverName, 8);
AT (VixDiskLibConnectParams, thumbPrint, 16);
AT (VixDiskLibConnectParams, reserved1, 24);
AT (VixDiskLibConnectParams, credType, 32);
AT (VixDiskLibConnectParams, creds.uid.userName, 40);
AT (VixDiskLibConnectParams, creds.uid.password, 48);
AT (VixDiskLibConnectParams, creds.sessionId.cookie, 40);
AT (VixDiskLibConnectParams, creds.sessionId.userName, 48);
AT (VixDiskLibConnectParams, creds.sessionId.key, 56);
AT (VixDiskLibConnectParams, port, 64);
AT (VixDiskLibConnectParams, nfcHostPort, 68);
AT (VixDiskLibConnectParams, reserved3, 72);
AT (VixDiskLibConnectParams, reserved4, 80);
AT (VixDiskLibConnectParams, reserved5, 88);
AT (VixDiskLibConnectParams, spec, 96);
AT (VixDiskLibConnectParams, specType, 120);
SIZE (VixDiskLibVStorageObjectSpec, 24);
SIZE (VixDiskLibGeometry, 12);
SIZE (VixDiskLibInfo, 64);
AT (VixDiskLibInfo, biosGeo, 0);
AT (VixDiskLibInfo, physGeo, 12);
AT (VixDiskLibInfo, capacity, 24);
AT (VixDiskLibInfo, adapterType, 32);
AT (VixDiskLibInfo, numLinks, 36);
AT (VixDiskLibInfo, parentFileNameHint, 40);
AT (VixDiskLibInfo, uuid, 48);
AT (VixDiskLibInfo, logicalSectorSize, 56);
AT (VixDiskLibInfo, physicalSectorSize, 60);
SIZE (VixDiskLibCreateParams, 32);
AT (VixDiskLibCreateParams, diskType, 0);
AT (VixDiskLibCreateParams, adapterType, 4);
AT (VixDiskLibCreateParams, hwVersion, 8);
AT (VixDiskLibCreateParams, capacity, 16);
AT (VixDiskLibCreateParams, logicalSectorSize, 24);
AT (VixDiskLibCreateParams, physicalSectorSize, 28);
SIZE (VixDiskLibBlock, 16);
AT (VixDiskLibBlockList, numBlocks, 0);
AT (VixDiskLibBlockList, blocks, 8);
SIZE (VixDiskLibBlockList, 24);
#endif
