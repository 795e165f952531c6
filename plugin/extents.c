/* SPDX-License-Identifier: BSD-3-Clause */
/* nbdkit VDDK plugin: allocation map (QueryAllocatedBlocks). */

#include <stdio.h>
#include <stdlib.h>
#include <errno.h>

#include "vddk.h"

#define ROUND_UP(n, m) (((n) + (m) - 1) / (m) * (m))
#define ROUND_DOWN(n, m) ((n) / (m) * (m))
#define MIN(a, b) ((a) < (b) ? (a) : (b))

/* Whether this library and this disk can answer block status.  Runs
 * in the worker; the answer goes in cmd->result.
 */
void
do_can_extents (struct command *cmd, struct vddk_handle *h)
{
  VixDiskLibBlockList *block_list;
  VixError err;
  char *text;

  cmd->result = 0;
  if (vix.QueryAllocatedBlocks == NULL || vix.FreeBlockList == NULL) {
    nbdkit_debug ("can_extents: VixDiskLib_QueryAllocatedBlocks == NULL, "
                  "probably this is VDDK < 6.7");
    return;
  }

  /* Some disks and transports do not support the call at all; find
   * out with the smallest possible query, without logging errors.
   */
  error_suppression = true;
  VDDK_CALL_START (QueryAllocatedBlocks,
                   "handle, 0, %d sectors, %d sectors",
                   CHUNK_SECTORS, CHUNK_SECTORS);
  err = vix.QueryAllocatedBlocks (h->handle, 0, CHUNK_SECTORS, CHUNK_SECTORS,
                                  &block_list);
  VDDK_CALL_END (QueryAllocatedBlocks, 0);
  error_suppression = false;

  if (err != VIX_OK) {
    text = vix.GetErrorText (err, NULL);
    nbdkit_debug ("can_extents: VixDiskLib_QueryAllocatedBlocks test failed, "
                  "extents support will be disabled: original error: %s",
                  text ? text : "unknown error");
    vix.FreeErrorText (text);
    return;
  }

  VDDK_CALL_START (FreeBlockList, "block_list");
  vix.FreeBlockList (block_list);
  VDDK_CALL_END (FreeBlockList, 0);
  cmd->result = 1;
}

/* Report [*position, next) as one extent and move *position on.
 * Blocks that end before *position (the query starts at a chunk
 * boundary, the request need not) are skipped, and no extent goes past
 * limit, the sector-aligned end of the request: nbdkit 1.32 cuts a
 * longer extent to 0xffffffff bytes in the reply, which is not a whole
 * number of sectors, and clients then refuse their next request.
 */
static int
add_extent (struct nbdkit_extents *extents, uint64_t *position,
            uint64_t next, uint64_t limit, bool is_hole)
{
  uint32_t type = 0;

  if (next > limit)
    next = limit;
  if (next <= *position)
    return 0;

  if (is_hole) {
    type = NBDKIT_EXTENT_HOLE;
    /* With single-link the backing chain may hold data here. */
    if (!single_link)
      type |= NBDKIT_EXTENT_ZERO;
  }
  if (vddk_debug_extents)
    nbdkit_debug ("adding extent type %s at [%" PRIu64 "...%" PRIu64 "]",
                  is_hole ? "hole" : "allocated data", *position, next - 1);
  if (nbdkit_add_extent (extents, *position, next - *position, type) == -1)
    return -1;
  *position = next;
  return 0;
}

bool
do_extents (struct command *cmd, struct vddk_handle *h)
{
  struct nbdkit_extents *extents = cmd->ptr;
  const uint64_t offset = cmd->offset;
  const uint64_t end = offset + cmd->count;
  /* The library answers in whole chunks; never ask beyond the chunk
   * holding the last sector of the disk.
   */
  const uint64_t capacity = __atomic_load_n (&h->capacity, __ATOMIC_RELAXED);
  const uint64_t disk_end_sector =
    capacity ? ROUND_UP (capacity, CHUNK_SECTORS) : UINT64_MAX;
  uint64_t start_sector = ROUND_DOWN (offset, CHUNK_BYTES) / SECTOR_SIZE;
  uint64_t position = offset;
  const uint64_t limit = ROUND_UP (end, SECTOR_SIZE);

  while (start_sector * SECTOR_SIZE < end &&
         start_sector < disk_end_sector) {
    uint64_t nr_chunks, nr_sectors, blk_offset, blk_end;
    VixDiskLibBlockList *block_list;
    VixError err;
    uint32_t i;

    nr_chunks = ROUND_UP (end - start_sector * SECTOR_SIZE, CHUNK_BYTES)
      / CHUNK_BYTES;
    nr_chunks = MIN (nr_chunks, VIXDISKLIB_MAX_CHUNK_NUMBER);
    nr_sectors = MIN (nr_chunks * CHUNK_SECTORS,
                      disk_end_sector - start_sector);

    VDDK_CALL_START (QueryAllocatedBlocks,
                     "handle, %" PRIu64 " sectors, %" PRIu64 " sectors, "
                     "%d sectors", start_sector, nr_sectors, CHUNK_SECTORS);
    err = vix.QueryAllocatedBlocks (h->handle, start_sector, nr_sectors,
                                    CHUNK_SECTORS, &block_list);
    VDDK_CALL_END (QueryAllocatedBlocks, 0);
    if (err != VIX_OK) {
      command_fail (cmd, err, "VixDiskLib_QueryAllocatedBlocks", 0, NULL);
      return false;
    }

    for (i = 0; i < block_list->numBlocks; i++) {
      blk_offset = block_list->blocks[i].offset * SECTOR_SIZE;
      blk_end = blk_offset + block_list->blocks[i].length * SECTOR_SIZE;
      if (add_extent (extents, &position, blk_offset, limit, true) == -1 ||
          add_extent (extents, &position, blk_end, limit, false) == -1)
        goto add_failed;
    }
    if (add_extent (extents, &position,
                    (start_sector + nr_sectors) * SECTOR_SIZE, limit,
                    true) == -1)
      goto add_failed;

    VDDK_CALL_START (FreeBlockList, "block_list");
    vix.FreeBlockList (block_list);
    VDDK_CALL_END (FreeBlockList, 0);

    start_sector += nr_sectors;
    if (cmd->req_one && position > offset)
      break;
    continue;

  add_failed:
    command_fail (cmd, VIX_OK, NULL, errno ? errno : EIO, NULL);
    VDDK_CALL_START (FreeBlockList, "block_list");
    vix.FreeBlockList (block_list);
    VDDK_CALL_END (FreeBlockList, 0);
    return false;
  }

  return true;
}
