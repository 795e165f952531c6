/* SPDX-License-Identifier: BSD-3-Clause */
/* VixDiskLib_GetMetadataKeys/ReadMetadata/WriteMetadata: the disk
 * database of the descriptor. */
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "error.h"
#include "handle.h"

/* Copy len bytes to the caller's buffer if it is big enough. */
static VixError
give (const char *what, const char *data, size_t len, char *buf,
      size_t buf_len, size_t *required)
{
  if (required)
    *required = len;
  if (!buf || buf_len < len)
    return vdl_error (VIX_E_BUFFER_TOOSMALL, "%s needs a buffer of %zu "
                      "bytes", what, len);
  memcpy (buf, data, len);
  return VIX_OK;
}

API VixError
VixDiskLib_GetMetadataKeys (VixDiskLibHandle diskHandle, char *keys,
                            size_t maxLen, size_t *requiredLen)
{
  VixError err;
  struct vdl_handle *h = vdl_handle_check (diskHandle, &err);
  char *list;
  size_t len;

  if (!h)
    return err;
  err = vdl_disk_metadata_keys (h->disk, &list, &len);
  if (err != VIX_OK)
    return err;
  err = give ("the list of metadata keys", list, len, keys, maxLen,
              requiredLen);
  free (list);
  return err;
}

API VixError
VixDiskLib_ReadMetadata (VixDiskLibHandle diskHandle, const char *key,
                         char *buf, size_t bufLen, size_t *requiredLen)
{
  VixError err;
  struct vdl_handle *h = vdl_handle_check (diskHandle, &err);
  char *value;

  if (!h)
    return err;
  if (!key || !*key)
    return vdl_error (VIX_E_INVALID_ARG, "ReadMetadata: no key");
  err = vdl_disk_read_metadata (h->disk, key, &value);
  if (err != VIX_OK)
    return err;
  err = give ("the metadata value", value, strlen (value) + 1, buf, bufLen,
              requiredLen);
  free (value);
  return err;
}

API VixError
VixDiskLib_WriteMetadata (VixDiskLibHandle diskHandle, const char *key,
                          const char *val)
{
  VixError err;
  struct vdl_handle *h = vdl_handle_check (diskHandle, &err);

  if (!h)
    return err;
  if (!key || !*key || !val)
    return vdl_error (VIX_E_INVALID_ARG, "WriteMetadata: no key or value");
  err = vdl_handle_check_writable (h);
  if (err != VIX_OK)
    return err;
  return vdl_disk_write_metadata (h->disk, key, val);
}
