/* SPDX-License-Identifier: BSD-3-Clause */
/* zlib streams for the grains of stream-optimized extents. */
#ifndef VDL_COMPRESS_H
#define VDL_COMPRESS_H

#include <stddef.h>

/* Room to leave for the zlib stream of len bytes, whatever they are. */
size_t vdl_zlib_bound (size_t len);

/* Compress len bytes into out (vdl_zlib_bound (len) bytes), as zlib
 * streams that every VMDK reader takes.  Returns the stream's length, or
 * 0 when out of memory.  Thread-safe: compressors come from a pool of
 * one per CPU (a caller may wait for one). */
size_t vdl_zlib_compress (const void *in, size_t len, void *out);

#endif
