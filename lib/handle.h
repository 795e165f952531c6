/* SPDX-License-Identifier: BSD-3-Clause */
/* What VixDiskLibConnection and VixDiskLibHandle point to. */
#ifndef VDL_HANDLE_H
#define VDL_HANDLE_H

#include <stdbool.h>

#include "async.h"
#include "disk.h"
#include "store.h"

#define VDL_CONNECTION_MAGIC 0x564443u   /* "VDC" */
#define VDL_HANDLE_MAGIC     0x564448u   /* "VDH" */
/* A parent handle given to VixDiskLib_Attach: only Close accepts it. */
#define VDL_HANDLE_ATTACHED_MAGIC 0x564441u   /* "VDA" */

struct vdl_connection {
  unsigned magic;
  bool read_only;
  struct vdl_store *store;      /* &vdl_local_store, or a remote
                                 * session's (vdl_store_close) */
  VixDiskLibConnectParams *params; /* as given, without secrets */
};

struct vdl_handle {
  unsigned magic;
  struct vdl_disk *disk;
  const char *transport;        /* "file" or "https" */
  bool read_only;
  struct vdl_inflight inflight;
};

/* Check a handle from the application; NULL (with an error) if bad. */
struct vdl_handle *vdl_handle_check (VixDiskLibHandle h, VixError *err);
struct vdl_connection *vdl_connection_check (VixDiskLibConnection c,
                                             VixError *err);
/* The same, refusing remote connections (for operations that change
 * files) with an error naming what. */
struct vdl_connection *vdl_connection_check_local (VixDiskLibConnection c,
                                                   const char *what,
                                                   VixError *err);
/* A copy of p (NULL: all empty) in one allocation, without passwords,
 * cookies or keys (api-params.c). */
VixDiskLibConnectParams *vdl_params_copy (const VixDiskLibConnectParams *p);
/* Check that [sector, sector+count) is inside the disk. */
VixError vdl_handle_check_range (struct vdl_handle *h, uint64_t sector,
                                 uint64_t count, const void *buf);

#endif
