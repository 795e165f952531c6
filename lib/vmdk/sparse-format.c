/* SPDX-License-Identifier: BSD-3-Clause */
#include <endian.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sparse-format.h"

static uint16_t get16 (const unsigned char *p) { uint16_t v; memcpy (&v, p, 2); return le16toh (v); }
static uint32_t get32 (const unsigned char *p) { uint32_t v; memcpy (&v, p, 4); return le32toh (v); }
static uint64_t get64 (const unsigned char *p) { uint64_t v; memcpy (&v, p, 8); return le64toh (v); }
static void put16 (unsigned char *p, uint16_t v) { v = htole16 (v); memcpy (p, &v, 2); }
static void put32 (unsigned char *p, uint32_t v) { v = htole32 (v); memcpy (p, &v, 4); }
static void put64 (unsigned char *p, uint64_t v) { v = htole64 (v); memcpy (p, &v, 8); }

static int
is_pow2 (uint64_t v)
{
  return v && !(v & (v - 1));
}

int
kdmv_header_parse (const unsigned char *buf, struct kdmv_header *h,
                   char *err, size_t errlen)
{
  uint32_t magic = get32 (buf);
  uint32_t incompat;

  if (magic != KDMV_MAGIC) {
    snprintf (err, errlen, "bad magic number 0x%08x (expected \"KDMV\")",
              magic);
    return -1;
  }
  h->version = get32 (buf + 4);
  h->flags = get32 (buf + 8);
  h->capacity = get64 (buf + 12);
  h->grain_size = get64 (buf + 20);
  h->desc_offset = get64 (buf + 28);
  h->desc_size = get64 (buf + 36);
  h->gtes_per_gt = get32 (buf + 44);
  h->rgd_offset = get64 (buf + 48);
  h->gd_offset = get64 (buf + 56);
  h->overhead = get64 (buf + 64);
  h->unclean_shutdown = buf[72];
  h->compress_algorithm = get16 (buf + 77);

  if (h->version < 1 || h->version > 3) {
    snprintf (err, errlen, "unsupported sparse extent version %u",
              h->version);
    return -1;
  }
  incompat = h->flags & 0xffff0000u & ~KDMV_KNOWN_INCOMPAT;
  if (incompat) {
    snprintf (err, errlen, "unsupported sparse extent flags 0x%08x",
              incompat);
    return -1;
  }
  if ((h->flags & KDMV_FLAG_NEWLINE) &&
      (buf[73] != '\n' || buf[74] != ' ' || buf[75] != '\r' ||
       buf[76] != '\n')) {
    snprintf (err, errlen, "the end-of-line check bytes are damaged: the "
              "file was probably corrupted by a text-mode (ASCII) transfer");
    return -1;
  }
  if (!is_pow2 (h->grain_size) || h->grain_size > KDMV_MAX_GRAIN) {
    snprintf (err, errlen, "unsupported grain size %llu sectors",
              (unsigned long long) h->grain_size);
    return -1;
  }
  if (!is_pow2 (h->gtes_per_gt) || h->gtes_per_gt > 512) {
    snprintf (err, errlen, "unsupported number of grain table entries %u",
              h->gtes_per_gt);
    return -1;
  }
  if (h->capacity == 0 || h->capacity > (UINT64_C (1) << 40)) {
    snprintf (err, errlen, "invalid capacity %llu sectors",
              (unsigned long long) h->capacity);
    return -1;
  }
  if ((h->flags & KDMV_FLAG_COMPRESSED) &&
      h->compress_algorithm != KDMV_COMPRESS_DEFLATE) {
    snprintf (err, errlen, "unsupported compression algorithm %u",
              h->compress_algorithm);
    return -1;
  }
  if ((h->flags & KDMV_FLAG_ZERO_GTE) && h->version < 2) {
    /* Tolerated: qemu reads such files too. */
  }
  return 0;
}

void
kdmv_header_format (const struct kdmv_header *h, unsigned char *buf)
{
  memset (buf, 0, 512);
  put32 (buf, KDMV_MAGIC);
  put32 (buf + 4, h->version);
  put32 (buf + 8, h->flags);
  put64 (buf + 12, h->capacity);
  put64 (buf + 20, h->grain_size);
  put64 (buf + 28, h->desc_offset);
  put64 (buf + 36, h->desc_size);
  put32 (buf + 44, h->gtes_per_gt);
  put64 (buf + 48, h->rgd_offset);
  put64 (buf + 56, h->gd_offset);
  put64 (buf + 64, h->overhead);
  buf[72] = h->unclean_shutdown;
  buf[73] = '\n';
  buf[74] = ' ';
  buf[75] = '\r';
  buf[76] = '\n';
  put16 (buf + 77, h->compress_algorithm);
}

int
cowd_header_parse (const unsigned char *buf, struct kdmv_header *h,
                   char *err, size_t errlen)
{
  uint32_t magic = get32 (buf), n_gd;

  if (magic != COWD_MAGIC) {
    snprintf (err, errlen, "bad magic number 0x%08x (expected \"COWD\")",
              magic);
    return -1;
  }
  memset (h, 0, sizeof *h);
  h->version = get32 (buf + 4);
  h->capacity = get32 (buf + 12);
  h->grain_size = get32 (buf + 16);
  h->gd_offset = get32 (buf + 20);
  n_gd = get32 (buf + 24);
  h->free_sector = get32 (buf + COWD_FREE_SECTOR_OFFSET);
  h->gtes_per_gt = COWD_GTES_PER_GT;
  if (h->version != 1) {
    snprintf (err, errlen, "unsupported COWD version %u", h->version);
    return -1;
  }
  if (h->capacity == 0) {
    snprintf (err, errlen, "invalid capacity 0 sectors");
    return -1;
  }
  if (h->grain_size == 0 || h->grain_size > KDMV_MAX_GRAIN) {
    snprintf (err, errlen, "unsupported grain size %llu sectors",
              (unsigned long long) h->grain_size);
    return -1;
  }
  if (n_gd < kdmv_num_gts (h)) {
    snprintf (err, errlen, "the grain directory has %u entries, too few "
              "for %llu sectors", n_gd, (unsigned long long) h->capacity);
    return -1;
  }
  if (h->gd_offset < COWD_HEADER_SIZE / 512) {
    snprintf (err, errlen, "the grain directory (sector %llu) overlaps "
              "the header", (unsigned long long) h->gd_offset);
    return -1;
  }
  /* Grain tables and grains are appended after the directory. */
  h->overhead = h->gd_offset + ((uint64_t) n_gd * 4 + 511) / 512;
  return 0;
}

void
cowd_header_format (const struct kdmv_header *h, uint32_t n_gd,
                    unsigned char *buf)
{
  memset (buf, 0, COWD_HEADER_SIZE);
  put32 (buf, COWD_MAGIC);
  put32 (buf + 4, 1);                   /* version */
  put32 (buf + 8, 3);                   /* flags, as ESX writes them */
  put32 (buf + 12, h->capacity);
  put32 (buf + 16, h->grain_size);
  put32 (buf + 20, h->gd_offset);
  put32 (buf + 24, n_gd);
  put32 (buf + COWD_FREE_SECTOR_OFFSET, h->free_sector);
}

uint64_t
kdmv_num_gts (const struct kdmv_header *h)
{
  uint64_t grains = (h->capacity + h->grain_size - 1) / h->grain_size;
  return (grains + h->gtes_per_gt - 1) / h->gtes_per_gt;
}

uint64_t
kdmv_gt_sectors (const struct kdmv_header *h)
{
  return ((uint64_t) h->gtes_per_gt * 4 + 511) / 512;
}

uint64_t
kdmv_gd_sectors (uint64_t n_gts)
{
  return (n_gts * 4 + 511) / 512;
}

void
kdmv_new_layout (struct kdmv_header *h, uint64_t capacity, uint64_t desc_size)
{
  uint64_t n_gts, gd_sectors, gt_sectors;

  memset (h, 0, sizeof *h);
  h->version = 1;
  h->flags = KDMV_FLAG_NEWLINE | KDMV_FLAG_RGD;
  h->capacity = capacity;
  h->grain_size = 128;
  h->gtes_per_gt = 512;
  h->desc_offset = desc_size ? 1 : 0;
  h->desc_size = desc_size;
  n_gts = kdmv_num_gts (h);
  gd_sectors = (n_gts * 4 + 511) / 512;
  gt_sectors = h->gtes_per_gt * 4 / 512;
  h->rgd_offset = 1 + desc_size;
  h->gd_offset = h->rgd_offset + gd_sectors + n_gts * gt_sectors;
  h->overhead = h->gd_offset + gd_sectors + n_gts * gt_sectors;
  h->overhead = (h->overhead + h->grain_size - 1) / h->grain_size
    * h->grain_size;
}

void
kdmv_marker_format (unsigned char *p, uint64_t val, uint32_t type)
{
  memset (p, 0, 512);
  put64 (p, val);
  put32 (p + 12, type);
}

bool
kdmv_gt_in_use (const struct kdmv_header *h, uint32_t *const gt)
{
  uint32_t j;

  for (j = 0; j < h->gtes_per_gt; j++)
    if (__atomic_load_n (&gt[j], __ATOMIC_ACQUIRE) != 0)
      return true;
  return false;
}

void
kdmv_marked_gt_format (const struct kdmv_header *h, uint32_t *const gt,
                       unsigned char *p)
{
  uint32_t j;

  kdmv_marker_format (p, kdmv_gt_sectors (h), KDMV_MARKER_GT);
  for (j = 0; j < h->gtes_per_gt; j++)
    put32 (p + 512 + j * 4, __atomic_load_n (&gt[j], __ATOMIC_ACQUIRE));
}

unsigned char *
kdmv_stream_tail (const struct kdmv_header *h, uint32_t *const *gts,
                  uint64_t at, uint32_t *gd, uint64_t *sectors)
{
  uint64_t n_gts = kdmv_num_gts (h), i, n = 0, pos;
  uint64_t gt_sectors = kdmv_gt_sectors (h);
  uint64_t gd_sectors = kdmv_gd_sectors (n_gts);
  struct kdmv_header footer = *h;
  unsigned char *buf, *p;

  for (i = 0; i < n_gts; i++) {
    if (!gts[i])
      continue;                 /* not in memory: stays where it is */
    gd[i] = kdmv_gt_in_use (h, gts[i]);     /* marks tables to write */
    n += gd[i] ? 1 + gt_sectors : 0;
  }
  n += 1 + gd_sectors + 2 + 1;
  buf = calloc (n, 512);
  if (!buf)
    return NULL;
  p = buf;
  pos = at;
  for (i = 0; i < n_gts; i++) {
    if (!gts[i] || !gd[i])
      continue;
    kdmv_marked_gt_format (h, gts[i], p);
    gd[i] = pos + 1;
    p += (1 + gt_sectors) * 512;
    pos += 1 + gt_sectors;
  }
  kdmv_marker_format (p, gd_sectors, KDMV_MARKER_GD);
  for (i = 0; i < n_gts; i++)
    put32 (p + 512 + i * 4, gd[i]);
  footer.gd_offset = pos + 1;
  p += (1 + gd_sectors) * 512;
  kdmv_marker_format (p, 1, KDMV_MARKER_FOOTER);
  kdmv_header_format (&footer, p + 512);
  /* the end-of-stream marker is the zeroed last sector */
  *sectors = n;
  return buf;
}

int
sesparse_header_parse (const unsigned char *buf, struct sesparse_header *h,
                       char *err, size_t errlen)
{
  uint64_t magic = get64 (buf), version = get64 (buf + 8);
  size_t i;

  if (magic != SESPARSE_MAGIC) {
    snprintf (err, errlen, "bad seSparse magic 0x%llx",
              (unsigned long long) magic);
    return -1;
  }
  if (version != SESPARSE_VERSION) {
    snprintf (err, errlen, "unsupported seSparse version 0x%llx",
              (unsigned long long) version);
    return -1;
  }
  h->capacity = get64 (buf + 16);
  h->grain_size = get64 (buf + 24);
  h->gt_size = get64 (buf + 32);
  h->volatile_offset = get64 (buf + 80);
  h->gd_offset = get64 (buf + 128);
  h->gd_size = get64 (buf + 136);
  h->gt_offset = get64 (buf + 144);
  h->grains_offset = get64 (buf + 192);
  if (h->grain_size != 8 || h->gt_size != 64) {
    snprintf (err, errlen, "unsupported seSparse grain size %llu or table "
              "size %llu", (unsigned long long) h->grain_size,
              (unsigned long long) h->gt_size);
    return -1;
  }
  for (i = 40; i < 80; i += 8)          /* flags and reserved fields */
    if (get64 (buf + i) != 0) {
      snprintf (err, errlen, "unsupported seSparse flags");
      return -1;
    }
  if (h->capacity == 0 || h->capacity > (UINT64_C (1) << 40) ||
      h->volatile_offset == 0 || h->gd_offset == 0 || h->gd_size == 0 ||
      h->gt_offset == 0 || h->grains_offset == 0) {
    snprintf (err, errlen, "invalid seSparse layout");
    return -1;
  }
  if (h->gd_size * 512 / 8 <
      (h->capacity + h->grain_size * h->gt_size * 64 - 1)
      / (h->grain_size * h->gt_size * 64)) {
    snprintf (err, errlen, "the seSparse grain directory is too small for "
              "%llu sectors", (unsigned long long) h->capacity);
    return -1;
  }
  return 0;
}
