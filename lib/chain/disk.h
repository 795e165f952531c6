/* SPDX-License-Identifier: BSD-3-Clause */
/* A disk is a chain of links (newest first); a link is one descriptor and
 * its extents.  Reads fall through a link to its parent wherever the link
 * has no data.  Opening the same disk twice in one process shares one
 * disk object, so that grain allocation and caches stay consistent across
 * handles (nbdkit opens the disk once per client connection).
 */
#ifndef VDL_DISK_H
#define VDL_DISK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vixDiskLib.h"

struct vdl_disk;

struct vdl_store;

/* Open path in store (vdl_local_store for local files). */
VixError vdl_disk_open (const struct vdl_store *st, const char *path,
                        uint32_t flags, struct vdl_disk **out);
/* Drop a reference; the last one flushes (its result is returned). */
VixError vdl_disk_close (struct vdl_disk *d);

uint64_t vdl_disk_capacity (const struct vdl_disk *d);
/* The newest link's content ID and descriptor path. */
void vdl_disk_top (struct vdl_disk *d, uint32_t *cid, char **path);

VixError vdl_disk_read (struct vdl_disk *d, uint64_t sector, uint64_t count,
                        unsigned char *buf);
VixError vdl_disk_write (struct vdl_disk *d, uint64_t sector, uint64_t count,
                         const unsigned char *buf);
VixError vdl_disk_flush (struct vdl_disk *d);
/* Flush every open disk (at exit: quiet, and only if nobody holds the
 * registry). */
void vdl_disk_flush_all (bool quiet);

/* Calls fn for each run of [sector, sector+count): allocated or not. */
typedef VixError (*vdl_alloc_fn) (void *ctx, uint64_t sector, uint64_t count,
                                  bool allocated);
VixError vdl_disk_allocation (struct vdl_disk *d, uint64_t sector,
                              uint64_t count, vdl_alloc_fn fn, void *ctx);

VixError vdl_disk_get_info (struct vdl_disk *d, VixDiskLibInfo **info);
/* The largest preferred write size of the newest link's extents (1 if
 * any size suits). */
uint64_t vdl_disk_preferred_sectors (struct vdl_disk *d);

/* The disk database, with keys as VDDK names them (no "ddb." prefix),
 * looked up from the newest link to the oldest; writes go to the newest. */
VixError vdl_disk_metadata_keys (struct vdl_disk *d, char **keys,
                                 size_t *len);
VixError vdl_disk_read_metadata (struct vdl_disk *d, const char *key,
                                 char **value);
VixError vdl_disk_write_metadata (struct vdl_disk *d, const char *key,
                                  const char *value);

/* ---- Whole-disk operations (Shrink, Defragment, Attach...) ---- */

struct vdl_link;

size_t vdl_disk_n_links (const struct vdl_disk *d);
/* Link i (0: the newest), NULL past the end. */
struct vdl_link *vdl_disk_link (struct vdl_disk *d, size_t i);
/* Read what the chain holds from link li down (zeros past the oldest). */
VixError vdl_disk_read_below (struct vdl_disk *d, size_t li, uint64_t sector,
                              uint64_t count, unsigned char *buf);
/* Whether only one handle uses the disk object. */
bool vdl_disk_exclusive (struct vdl_disk *d);
/* Open the newest link again from its path (all its files were
 * replaced under the same names) and drop the old one.  On failure the
 * disk keeps the old link read-only: it reads the same, but its files
 * are gone. */
VixError vdl_disk_reopen_top (struct vdl_disk *d);
/* Put parent's links below child's (child was opened single-link) and
 * free the parent disk object; the caller has checked CIDs and
 * capacities and that nobody else uses parent. */
VixError vdl_disk_attach (struct vdl_disk *child, struct vdl_disk *parent);

#endif
