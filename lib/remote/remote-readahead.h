/* SPDX-License-Identifier: BSD-3-Clause */
/* Parallel read-ahead for one datastore file (remote-readahead.c): a
 * sequential reader is served from chunks fetched by ranged GETs on
 * several connections at once; other reads go straight to the server.
 */
#ifndef VDL_REMOTE_READAHEAD_H
#define VDL_REMOTE_READAHEAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vixDiskLib.h"

struct vdl_readahead;

/* What the read-ahead needs of its source (remote-download.c): one
 * ranged GET of [offset, offset+len) into buf, retried and resumed as its
 * connection drops; progress (if not NULL) is called with the bytes of
 * buf filled so far, and once *stop is true the transfer is abandoned
 * (an error).  The error is recorded on the calling thread. */
typedef VixError vdl_fetch_fn (void *source, void *buf, size_t len,
                               uint64_t offset,
                               void (*progress) (void *opaque, size_t got),
                               void *opaque, const bool *stop);

/* Optional: where the source's data is, if it knows without asking the
 * server (remote-download.c: the areas in use of a thin disk), as
 * vdl_file_next_data; false if it does not know.  Called with the
 * read-ahead's lock held. */
typedef bool vdl_data_fn (void *source, uint64_t offset, uint64_t *start,
                          uint64_t *end);

/* connections: the most transfers it runs at once (the session's pool
 * size); *files (atomic): how many files share the memory budget; data
 * may be NULL. */
struct vdl_readahead *vdl_readahead_new (vdl_fetch_fn *fetch,
                                         vdl_data_fn *data, void *source,
                                         uint64_t size, unsigned connections,
                                         const unsigned *files);
/* Read len bytes at offset (in range), from the chunks or directly. */
VixError vdl_readahead_read (struct vdl_readahead *ra, void *buf, size_t len,
                             uint64_t offset);
/* Abandon the transfers in flight and join the fetchers; no read may be
 * in progress. */
void vdl_readahead_free (struct vdl_readahead *ra);

#endif
