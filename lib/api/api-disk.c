/* SPDX-License-Identifier: BSD-3-Clause */
/* Disk handles: open, close, information, synchronous I/O, allocation. */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "error.h"
#include "handle.h"

/* Opening for writing failed.  Advise opening read-only only where that
 * helps: write access or a writer's lock was refused, and a read-only
 * open of the same disk succeeds.  (Not for Create, Clone or Unlink,
 * which must write.) */
static VixError
read_only_hint (const struct vdl_store *st, const char *path, uint32_t flags,
                VixError err)
{
  struct vdl_disk *d;
  char *text;

  if ((flags & VIXDISKLIB_FLAG_OPEN_READ_ONLY) ||
      (err != VIX_E_FILE_READ_ONLY && err != VIX_E_FILE_ACCESS_ERROR &&
       err != VIX_E_FILE_ALREADY_LOCKED))
    return err;
  text = vdl_error_text (err);
  if (!text)
    return err;
  if (vdl_disk_open (st, path, flags | VIXDISKLIB_FLAG_OPEN_READ_ONLY,
                     &d) == VIX_OK) {
    vdl_disk_close (d);
    vdl_error (err, "%s (open the disk read-only instead)", text);
  }
  else
    vdl_error (err, "%s", text);        /* the message of the real failure */
  free (text);
  return err;
}

API VixError
VixDiskLib_Open (const VixDiskLibConnection connection, const char *path,
                 uint32_t flags, VixDiskLibHandle *diskHandle)
{
  VixError err;
  struct vdl_connection *c = vdl_connection_check (connection, &err);
  struct vdl_handle *h;

  if (!c)
    return err;
  if (!path || !*path || !diskHandle)
    return vdl_error (VIX_E_INVALID_ARG, "Open: no file name given");
  if (c->read_only)
    flags |= VIXDISKLIB_FLAG_OPEN_READ_ONLY;
  /* The store may limit which disks open, and how (a datastore: only
   * the VM's own, only for reading). */
  err = vdl_store_check_disk (c->store, path,
                              !(flags & VIXDISKLIB_FLAG_OPEN_READ_ONLY));
  if (err != VIX_OK)
    return err;
  h = calloc (1, sizeof *h);
  if (!h)
    return vdl_oom ();
  err = vdl_disk_open (c->store, path, flags, &h->disk);
  if (err != VIX_OK) {
    free (h);
    return read_only_hint (c->store, path, flags, err);
  }
  h->magic = VDL_HANDLE_MAGIC;
  h->transport = vdl_store_transport (c->store);
  h->read_only = flags & VIXDISKLIB_FLAG_OPEN_READ_ONLY;
  vdl_inflight_init (&h->inflight);
  *diskHandle = h;
  return VIX_OK;
}

API VixError
VixDiskLib_Close (VixDiskLibHandle diskHandle)
{
  VixError err;
  struct vdl_handle *h = diskHandle;

  if (h && h->magic == VDL_HANDLE_ATTACHED_MAGIC) {
    /* Its disk went to the child it was attached to. */
    h->magic = 0;
    vdl_inflight_destroy (&h->inflight);
    free (h);
    return VIX_OK;
  }
  if (!(h = vdl_handle_check (diskHandle, &err)))
    return err;
  vdl_inflight_wait (&h->inflight);
  h->magic = 0;
  err = vdl_disk_close (h->disk);
  vdl_inflight_destroy (&h->inflight);
  free (h);
  return err;
}

API const char *
VixDiskLib_GetTransportMode (VixDiskLibHandle diskHandle)
{
  VixError err;
  struct vdl_handle *h = vdl_handle_check (diskHandle, &err);

  return h ? h->transport : NULL;
}

API VixError
VixDiskLib_GetInfo (VixDiskLibHandle diskHandle, VixDiskLibInfo **info)
{
  VixError err;
  struct vdl_handle *h = vdl_handle_check (diskHandle, &err);

  if (!h)
    return err;
  if (!info)
    return vdl_error (VIX_E_INVALID_ARG, "GetInfo: info is NULL");
  return vdl_disk_get_info (h->disk, info);
}

API uint32_t
OpenVixDiskLib_Capabilities (void)
{
  return OPENVIXDISKLIB_CAP_THREAD_SAFE;
}

API VixError
OpenVixDiskLib_GetPreferredIOSize (VixDiskLibHandle diskHandle,
                                   uint32_t *bytes)
{
  VixError err;
  struct vdl_handle *h = vdl_handle_check (diskHandle, &err);

  if (!h)
    return err;
  if (!bytes)
    return vdl_error (VIX_E_INVALID_ARG, "GetPreferredIOSize: bytes is NULL");
  *bytes = vdl_disk_preferred_sectors (h->disk) * VIXDISKLIB_SECTOR_SIZE;
  return VIX_OK;
}

API void
VixDiskLib_FreeInfo (VixDiskLibInfo *info)
{
  if (!info)
    return;
  free (info->parentFileNameHint);
  free (info->uuid);
  free (info);
}

API VixError
VixDiskLib_Read (VixDiskLibHandle diskHandle, uint64_t startSector,
                 uint64_t numSectors, uint8_t *readBuffer)
{
  VixError err;
  struct vdl_handle *h = vdl_handle_check (diskHandle, &err);

  if (!h)
    return err;
  err = vdl_handle_check_range (h, startSector, numSectors, readBuffer);
  if (err != VIX_OK)
    return err;
  return vdl_disk_read (h->disk, startSector, numSectors, readBuffer);
}

API VixError
VixDiskLib_Write (VixDiskLibHandle diskHandle, uint64_t startSector,
                  uint64_t numSectors, const uint8_t *writeBuffer)
{
  VixError err;
  struct vdl_handle *h = vdl_handle_check (diskHandle, &err);

  if (!h)
    return err;
  err = vdl_handle_check_writable (h);
  if (err == VIX_OK)
    err = vdl_handle_check_range (h, startSector, numSectors, writeBuffer);
  if (err != VIX_OK)
    return err;
  return vdl_disk_write (h->disk, startSector, numSectors, writeBuffer);
}

API VixError
VixDiskLib_Flush (VixDiskLibHandle diskHandle)
{
  VixError err;
  struct vdl_handle *h = vdl_handle_check (diskHandle, &err);

  if (!h)
    return err;
  return vdl_disk_flush (h->disk);
}

/* ---- QueryAllocatedBlocks ---- */

struct block_builder {
  VixDiskLibBlock *blocks;
  size_t n, cap;
  uint64_t chunk, end;
};

static VixError
add_run (void *vctx, uint64_t sector, uint64_t count, bool allocated)
{
  struct block_builder *b = vctx;
  uint64_t first, last;

  if (!allocated || count == 0)
    return VIX_OK;
  /* Whole chunks, clipped to the end of the disk. */
  first = sector / b->chunk * b->chunk;
  last = (sector + count + b->chunk - 1) / b->chunk * b->chunk;
  if (last > b->end)
    last = b->end;
  if (b->n && b->blocks[b->n-1].offset + b->blocks[b->n-1].length >= first) {
    b->blocks[b->n-1].length = last - b->blocks[b->n-1].offset;
    return VIX_OK;
  }
  if (b->n == b->cap) {
    size_t ncap = b->cap ? b->cap * 2 : 64;
    VixDiskLibBlock *nb = realloc (b->blocks, ncap * sizeof *nb);
    if (!nb)
      return vdl_oom ();
    b->blocks = nb;
    b->cap = ncap;
  }
  b->blocks[b->n].offset = first;
  b->blocks[b->n].length = last - first;
  b->n++;
  return VIX_OK;
}

API VixError
VixDiskLib_QueryAllocatedBlocks (VixDiskLibHandle diskHandle,
                                 uint64_t startSector, uint64_t numSectors,
                                 uint64_t chunkSize,
                                 VixDiskLibBlockList **blockList)
{
  VixError err;
  struct vdl_handle *h = vdl_handle_check (diskHandle, &err);
  struct block_builder b = { .chunk = chunkSize };
  VixDiskLibBlockList *list;
  uint64_t cap, end;

  if (!h)
    return err;
  cap = vdl_disk_capacity (h->disk);
  if (!blockList || chunkSize < VIXDISKLIB_MIN_CHUNK_SIZE ||
      (chunkSize & (chunkSize - 1)) || numSectors == 0 ||
      startSector % chunkSize || numSectors % chunkSize ||
      numSectors / chunkSize > VIXDISKLIB_MAX_CHUNK_NUMBER)
    return vdl_error (VIX_E_INVALID_ARG, "QueryAllocatedBlocks: the chunk "
                      "size must be a power of two of at least %d sectors, "
                      "and the start and length whole chunks (at most %d)",
                      VIXDISKLIB_MIN_CHUNK_SIZE, VIXDISKLIB_MAX_CHUNK_NUMBER);
  /* The last chunk may run past the end of the disk, not further. */
  if (startSector >= cap ||
      startSector + numSectors > (cap + chunkSize - 1) / chunkSize * chunkSize)
    return vdl_error (VIX_E_DISK_OUTOFRANGE, "QueryAllocatedBlocks: sectors "
                      "%llu+%llu are beyond the end of the disk (%llu "
                      "sectors)", (unsigned long long) startSector,
                      (unsigned long long) numSectors,
                      (unsigned long long) cap);
  end = startSector + numSectors < cap ? startSector + numSectors : cap;
  b.end = end;
  err = vdl_disk_allocation (h->disk, startSector, end - startSector,
                             add_run, &b);
  if (err != VIX_OK) {
    free (b.blocks);
    return err;
  }
  list = calloc (1, offsetof (VixDiskLibBlockList, blocks)
                 + (b.n ? b.n : 1) * sizeof (VixDiskLibBlock));
  if (!list) {
    free (b.blocks);
    return vdl_oom ();
  }
  list->numBlocks = b.n;
  if (b.n)
    memcpy (list->blocks, b.blocks, b.n * sizeof *b.blocks);
  free (b.blocks);
  *blockList = list;
  return VIX_OK;
}

API VixError
VixDiskLib_FreeBlockList (VixDiskLibBlockList *blockList)
{
  free (blockList);
  return VIX_OK;
}
