/* SPDX-License-Identifier: BSD-3-Clause */
/* What VixDiskLibConnection and VixDiskLibHandle point to, and the
 * checks of them every entry point makes. */
#ifndef VDL_HANDLE_H
#define VDL_HANDLE_H

#include <stdbool.h>
#include <stdint.h>

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

/* The checks an entry point makes on what the application passes in
 * (handle.c).  Each records the error (error.h) it returns. */

/* The handle behind h; NULL with *err set if h is not an open disk
 * handle (a handle given to Attach as parent is not). */
struct vdl_handle *vdl_handle_check (VixDiskLibHandle h, VixError *err);
/* VIX_OK if the disk was opened for writing. */
VixError vdl_handle_check_writable (const struct vdl_handle *h);
/* VIX_OK if [sector, sector+count) is inside the disk and buf is given
 * when count is not 0. */
VixError vdl_handle_check_range (struct vdl_handle *h, uint64_t sector,
                                 uint64_t count, const void *buf);

/* The connection behind c; NULL with *err set if c is not one. */
struct vdl_connection *vdl_connection_check (VixDiskLibConnection c,
                                             VixError *err);
/* The same, refusing remote connections (for operations that change
 * files) with an error naming what. */
struct vdl_connection *vdl_connection_check_local (VixDiskLibConnection c,
                                                   const char *what,
                                                   VixError *err);

#endif
