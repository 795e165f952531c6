/* SPDX-License-Identifier: BSD-3-Clause */
/* The checks every entry point makes on the connection or disk handle
 * the application passes in (handle.h).  They live below the api-*.c
 * files so that those files need not call each other for them. */
#include <stdint.h>

#include "error.h"
#include "handle.h"

struct vdl_handle *
vdl_handle_check (VixDiskLibHandle handle, VixError *err)
{
  struct vdl_handle *h = handle;

  if (!h || h->magic != VDL_HANDLE_MAGIC) {
    *err = vdl_error (VIX_E_INVALID_HANDLE, "not a valid disk handle");
    return NULL;
  }
  return h;
}

VixError
vdl_handle_check_writable (const struct vdl_handle *h)
{
  if (h->read_only)
    return vdl_error (VIX_E_FILE_READ_ONLY, "the disk was opened read-only");
  return VIX_OK;
}

VixError
vdl_handle_check_range (struct vdl_handle *h, uint64_t sector,
                        uint64_t count, const void *buf)
{
  uint64_t cap = vdl_disk_capacity (h->disk);

  if (!buf && count)
    return vdl_error (VIX_E_INVALID_ARG, "the buffer is NULL");
  if (sector > cap || count > cap - sector)
    return vdl_error (VIX_E_DISK_OUTOFRANGE, "sectors %llu to %llu are "
                      "beyond the end of the disk (%llu sectors)",
                      (unsigned long long) sector,
                      (unsigned long long) (sector + count - 1),
                      (unsigned long long) cap);
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

struct vdl_connection *
vdl_connection_check_local (VixDiskLibConnection conn, const char *what,
                            VixError *err)
{
  struct vdl_connection *c = vdl_connection_check (conn, err);

  if (c && !vdl_store_has (c->store, VDL_STORE_WRITABLE)) {
    *err = vdl_error (VIX_E_NOT_SUPPORTED, "%s: disks on %s can only be "
                      "read", what, vdl_store_where (c->store));
    return NULL;
  }
  return c;
}
