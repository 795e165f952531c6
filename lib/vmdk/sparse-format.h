/* SPDX-License-Identifier: BSD-3-Clause */
/* The hosted sparse extent header ("KDMV", VMware's SparseExtentHeader):
 * pure encode/decode and the metadata layout of new extents. */
#ifndef VDL_SPARSE_FORMAT_H
#define VDL_SPARSE_FORMAT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define KDMV_MAGIC            0x564d444bu   /* "KDMV" read little-endian */
#define KDMV_GD_AT_END        UINT64_MAX
#define KDMV_FLAG_NEWLINE     0x00000001u
#define KDMV_FLAG_RGD         0x00000002u
#define KDMV_FLAG_ZERO_GTE    0x00000004u
#define KDMV_FLAG_COMPRESSED  0x00010000u
#define KDMV_FLAG_MARKERS     0x00020000u
#define KDMV_KNOWN_INCOMPAT   (KDMV_FLAG_COMPRESSED | KDMV_FLAG_MARKERS)
#define KDMV_COMPRESS_DEFLATE 1
#define KDMV_MAX_GRAIN        2048          /* sectors (1 MiB) */

/* Stream-optimized marker types (in a marker with size 0). */
#define KDMV_MARKER_EOS    0
#define KDMV_MARKER_GT     1
#define KDMV_MARKER_GD     2
#define KDMV_MARKER_FOOTER 3

/* Byte offset of gdOffset in a KDMV header. */
#define KDMV_GD_OFFSET_FIELD 56

struct kdmv_header {
  uint32_t version;
  uint32_t flags;
  uint64_t capacity;            /* sectors */
  uint64_t grain_size;          /* sectors */
  uint64_t desc_offset, desc_size;
  uint32_t gtes_per_gt;
  uint64_t rgd_offset, gd_offset;
  uint64_t overhead;
  uint8_t unclean_shutdown;
  uint16_t compress_algorithm;
  uint64_t free_sector;         /* COWD only: where the next grain goes */
};

/* Decode and check a 512-byte header.  -1 with a message on error. */
int kdmv_header_parse (const unsigned char *buf, struct kdmv_header *h,
                       char *err, size_t errlen);
void kdmv_header_format (const struct kdmv_header *h, unsigned char *buf);

/* ESX "COWD" (vmfsSparse) delta extents: a 2048-byte header, then a
 * directory of grain tables of 4096 entries each. */
#define COWD_MAGIC        0x44574f43u   /* "COWD" read little-endian */
#define COWD_HEADER_SIZE  2048
#define COWD_GTES_PER_GT  4096
#define COWD_FREE_SECTOR_OFFSET 28      /* byte offset in the header */

/* Decode and check a COWD header into the fields a KDMV header would
 * have (no compression, no redundant directory).  -1 on error. */
int cowd_header_parse (const unsigned char *buf, struct kdmv_header *h,
                       char *err, size_t errlen);
/* Encode a COWD header of a base disk with n_gd directory entries. */
void cowd_header_format (const struct kdmv_header *h, uint32_t n_gd,
                         unsigned char *buf);

/* ESX seSparse extents (snapshots on VMFS6), as far as qemu's reverse
 * engineering describes them: a 512-byte header of little-endian u64s,
 * 64-bit grain directory and table entries, 4 KiB grains. */
#define SESPARSE_MAGIC          UINT64_C (0xcafebabe)
#define SESPARSE_VOLATILE_MAGIC UINT64_C (0xcafecafe)
#define SESPARSE_VERSION        UINT64_C (0x0000000200000001)

struct sesparse_header {
  uint64_t capacity;            /* sectors */
  uint64_t grain_size;          /* sectors: 8 */
  uint64_t gt_size;             /* sectors per grain table: 64 */
  uint64_t volatile_offset;
  uint64_t gd_offset, gd_size;  /* sectors */
  uint64_t gt_offset;           /* where grain tables start */
  uint64_t grains_offset;       /* where grains start */
};

int sesparse_header_parse (const unsigned char *buf,
                           struct sesparse_header *h, char *err,
                           size_t errlen);

/* A 512-byte metadata marker: val (sectors that follow), size 0, type. */
void kdmv_marker_format (unsigned char *p, uint64_t val, uint32_t type);

/* Whether grain table gt (read atomically: writers may be changing
 * other entries) has an entry that is not 0: only such tables are
 * written into a stream. */
bool kdmv_gt_in_use (const struct kdmv_header *h, uint32_t *const gt);

/* A GT marker and grain table gt after it, 1 + kdmv_gt_sectors (h)
 * sectors at p (zeroed by the caller), as a stream holds tables. */
void kdmv_marked_gt_format (const struct kdmv_header *h, uint32_t *const gt,
                            unsigned char *p);

/* The end of a stream-optimized extent, to be written at sector at: for
 * each grain table with an entry, a GT marker and the table; then a GD
 * marker and the directory, a footer marker and a copy of the header
 * (naming the directory), and the end-of-stream marker.  gts[i] may be
 * NULL: a table not in memory, which keeps its location in gd.  gd
 * holds the current locations and receives the new ones (0: empty).
 * Returns a malloc'd buffer of *sectors sectors, or NULL. */
unsigned char *kdmv_stream_tail (const struct kdmv_header *h,
                                 uint32_t *const *gts, uint64_t at,
                                 uint32_t *gd, uint64_t *sectors);

/* Number of grain tables (= grain directory entries) for h. */
uint64_t kdmv_num_gts (const struct kdmv_header *h);
/* Sectors one grain table of h takes in the file (rounded up: a table
 * of fewer than 128 entries still takes a sector), and a directory of
 * n_gts entries. */
uint64_t kdmv_gt_sectors (const struct kdmv_header *h);
uint64_t kdmv_gd_sectors (uint64_t n_gts);

/* Fill in the layout of a new uncompressed extent with redundant GD:
 * header | descriptor | RGD | RGTs | GD | GTs | pad to grain | grains.
 * desc_size 0 means no embedded descriptor. */
void kdmv_new_layout (struct kdmv_header *h, uint64_t capacity,
                      uint64_t desc_size);

#endif
