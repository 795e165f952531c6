/* SPDX-License-Identifier: BSD-3-Clause */
/* nbdkit VDDK plugin: the VixDiskLib functions the plugin uses.
 *
 * X-macro list, included several times with different definitions of
 * STUB and OPTIONAL_STUB.  The order here is also the order of the
 * VixDiskLib_<fn>=1 lines printed by --dump-plugin.
 *
 * STUB (fn): present in every VDDK >= 6.5; a missing one is fatal.
 * OPTIONAL_STUB (fn): added in VDDK 6.7; left NULL when absent.
 */

STUB (InitEx)
STUB (Exit)
STUB (GetErrorText)
STUB (FreeErrorText)
STUB (FreeConnectParams)
STUB (ConnectEx)
STUB (Open)
STUB (GetTransportMode)
STUB (Close)
STUB (Disconnect)
STUB (GetInfo)
STUB (FreeInfo)
STUB (Read)
STUB (Write)
STUB (Create)
STUB (Flush)
STUB (ReadAsync)
STUB (WriteAsync)
STUB (Wait)

OPTIONAL_STUB (QueryAllocatedBlocks)
OPTIONAL_STUB (FreeBlockList)
OPTIONAL_STUB (AllocateConnectParams)
