/* SPDX-License-Identifier: BSD-3-Clause */
/* ESX seSparse snapshot deltas (the default on VMFS6), read-only.
 *
 * VMware has not documented the format; this follows the layout qemu
 * reverse-engineered: 64-bit directory entries naming grain tables by
 * index, 64-bit table entries whose top nibble says unallocated (0),
 * unmapped or zero (1, 2) or allocated (3, with a scrambled cluster
 * number), and 4 KiB grains.  The journal is not replayed: a delta that
 * needs it is refused.
 */
#include <endian.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "store.h"
#include "extent.h"
#include "table-cache.h"

#define SS VIXDISKLIB_SECTOR_SIZE
#define GTES 4096               /* 64 sectors of 8-byte entries */

struct sesparse_extent {
  struct vdl_extent e;
  struct vdl_file *file;
  struct sesparse_header h;
  uint64_t file_sectors;
  uint64_t n_gd;
  uint64_t *gd;
  void **gts;                   /* tables (uint64_t *), loaded on use */
  pthread_mutex_t lock;         /* cache eviction */
  struct table_cache cache;
};

/* Tables of only unallocated entries (most of a fresh delta) share
 * this one. */
static const uint64_t zero_table[GTES];

static VixError
corrupt (struct sesparse_extent *x, const char *what, uint64_t v)
{
  return vdl_error (VIX_E_DISK_NEEDSREPAIR, "%s is corrupt: %s (0x%llx)",
                    x->e.path, what, (unsigned long long) v);
}

static bool
all_zero (const uint64_t *gt)
{
  uint64_t j;

  for (j = 0; j < GTES; j++)
    if (gt[j] != 0)
      return false;
  return true;
}

/* Load grain table i.  No lock is held while reading (a network round
 * trip on remote disks). */
static VixError
load_table (void *owner, uint32_t i, void **out)
{
  struct sesparse_extent *x = owner;
  uint64_t e = x->gd[i], at, j, *gt;
  VixError err;

  if (e == 0) {
    *out = (void *) zero_table;
    return VIX_OK;
  }
  at = x->h.gt_offset + (e & 0xffffffff) * x->h.gt_size;
  if (e >> 32 != 0x10000000 || at + x->h.gt_size > x->file_sectors)
    return corrupt (x, "a grain directory entry is invalid", e);
  gt = malloc (GTES * sizeof *gt);
  if (!gt)
    return vdl_oom ();
  err = vdl_file_pread (x->file, gt, GTES * 8, at * SS);
  if (err != VIX_OK) {
    free (gt);
    return err;
  }
  for (j = 0; j < GTES; j++)
    gt[j] = le64toh (gt[j]);
  if (all_zero (gt)) {
    free (gt);
    *out = (void *) zero_table;
  }
  else
    *out = gt;
  return VIX_OK;
}

/* The state a table entry's type means (1 unmapped and 2 zero both
 * read as zeros), -1 if it is not valid. */
static int
type_state (uint64_t e)
{
  switch (e >> 60) {
  case 0: return e == 0 ? VDL_RUN_ABSENT : -1;
  case 1: case 2: return VDL_RUN_ZERO;
  case 3: return VDL_RUN_DATA;
  default: return -1;
  }
}

/* What table entry e of the grain at sector means; for data, where the
 * grain is. */
static VixError
entry_state (struct sesparse_extent *x, uint64_t e, enum vdl_run *state,
             uint64_t *at)
{
  int t = type_state (e);
  uint64_t cluster;

  if (t < 0)
    return corrupt (x, e >> 60 == 0
                    ? "an unallocated grain table entry has bits set"
                    : "a grain table entry has an unknown type", e);
  if (t == VDL_RUN_DATA) {
    cluster = ((e & UINT64_C (0x0fff000000000000)) >> 48) |
      ((e & UINT64_C (0x0000ffffffffffff)) << 12);
    *at = x->h.grains_offset + cluster * x->h.grain_size;
    if (*at + x->h.grain_size > x->file_sectors)
      return corrupt (x, "a grain lies outside the file", e);
  }
  *state = t;
  return VIX_OK;
}

/* State of the grain holding sector; for data, where it is.  With
 * span, the following grains of the same table in the same state are
 * added to *span (mapping: a loop here, not a call per 4 KiB grain). */
static VixError
grain_state (struct sesparse_extent *x, uint64_t sector, enum vdl_run *state,
             uint64_t *at, uint64_t *span)
{
  uint64_t j = (sector / x->h.grain_size) % GTES, *gt;
  uint32_t i = sector / (GTES * x->h.grain_size);
  void *t;
  VixError err;

  err = table_cache_get (&x->cache, i, load_table, &t);
  gt = t;
  if (err == VIX_OK)
    err = entry_state (x, gt[j], state, at);
  /* Later entries are only classified: a bad one fails when used. */
  if (span)
    while (err == VIX_OK && ++j < GTES && type_state (gt[j]) == (int) *state)
      *span += x->h.grain_size;
  table_cache_release (&x->cache, i);
  return err;
}

static VixError
state_only (struct vdl_extent *e, uint64_t sector, enum vdl_run *state,
            uint64_t *span)
{
  uint64_t at;

  return grain_state ((struct sesparse_extent *) e, sector, state, &at, span);
}

static VixError
sesparse_map (struct vdl_extent *e, uint64_t sector, uint64_t count,
              enum vdl_run *state, uint64_t *run)
{
  return vdl_extent_grain_runs (e, ((struct sesparse_extent *) e)->h.grain_size,
                                sector, count, state_only, state, run);
}

/* Where the grain holding sector is (vdl_grain_place_fn). */
static VixError
sesparse_place (struct vdl_extent *e, uint64_t sector, bool *data,
                uint64_t *at)
{
  enum vdl_run st;
  VixError err;

  *at = 0;
  err = grain_state ((struct sesparse_extent *) e, sector, &st, at, NULL);
  *data = err == VIX_OK && st == VDL_RUN_DATA;
  return err;
}

static VixError
sesparse_read (struct vdl_extent *e, uint64_t sector, uint64_t count,
               unsigned char *buf)
{
  struct sesparse_extent *x = (struct sesparse_extent *) e;

  return vdl_extent_read_grains (e, x->file, x->h.grain_size, sector, count,
                                 buf, sesparse_place);
}

static void
sesparse_close (struct vdl_extent *e)
{
  struct sesparse_extent *x = (struct sesparse_extent *) e;

  table_cache_free (&x->cache);
  free (x->gts);
  free (x->gd);
  vdl_file_close (x->file);
  pthread_mutex_destroy (&x->lock);
  free (e->path);
  free (x);
}

static const struct vdl_extent_ops sesparse_ops = {
  .kind = "SESPARSE",
  .map = sesparse_map,
  .read = sesparse_read,
  .close = sesparse_close,
};

static VixError
read_headers (struct sesparse_extent *x)
{
  unsigned char buf[SS];
  uint64_t v;
  char msg[200];
  VixError err;

  if (x->file_sectors < 2)
    return vdl_error (VIX_E_DISK_NEEDSREPAIR, "%s is truncated: too small "
                      "for a seSparse header", x->e.path);
  err = vdl_file_pread (x->file, buf, SS, 0);
  if (err != VIX_OK)
    return err;
  if (sesparse_header_parse (buf, &x->h, msg, sizeof msg) == -1)
    return vdl_error (VIX_E_DISK_NEEDSREPAIR, "%s: %s", x->e.path, msg);
  if (x->h.volatile_offset >= x->file_sectors ||
      x->h.gd_offset + x->h.gd_size > x->file_sectors)
    return vdl_error (VIX_E_DISK_NEEDSREPAIR, "%s is truncated: its "
                      "metadata lies outside the file", x->e.path);
  err = vdl_file_pread (x->file, buf, SS, x->h.volatile_offset * SS);
  if (err != VIX_OK)
    return err;
  memcpy (&v, buf, 8);
  if (le64toh (v) != SESPARSE_VOLATILE_MAGIC)
    return corrupt (x, "bad volatile header magic", le64toh (v));
  memcpy (&v, buf + 24, 8);
  if (v != 0)
    return vdl_error (VIX_E_DISK_NEEDSREPAIR, "%s was not closed cleanly: "
                      "its journal must be replayed by ESXi first",
                      x->e.path);
  return VIX_OK;
}

VixError
vdl_extent_sesparse_open (const struct vdl_extent_open_args *a,
                          struct vdl_extent **out)
{
  struct sesparse_extent *x = calloc (1, sizeof *x);
  uint64_t size, i;
  VixError err;

  if (!x || !(x->e.path = strdup (a->path))) {
    free (x);
    return vdl_oom ();
  }
  pthread_mutex_init (&x->lock, NULL);
  vdl_extent_init (&x->e, &sesparse_ops, a);
  x->e.no_write = "is a seSparse delta, which can only be read";
  err = vdl_store_open (a->store, a->path, a->writable, false, a->lock,
                        &x->file);
  if (err != VIX_OK) {
    x->file = NULL;
    goto fail;
  }
  err = vdl_file_size (x->file, &size);
  if (err != VIX_OK)
    goto fail;
  x->file_sectors = size / SS;
  err = read_headers (x);
  if (err != VIX_OK)
    goto fail;
  if (x->h.capacity < a->desc->sectors) {
    err = vdl_error (VIX_E_DISK_NEEDSREPAIR, "%s holds %llu sectors but the "
                     "descriptor's extent line says %llu", a->path,
                     (unsigned long long) x->h.capacity,
                     (unsigned long long) a->desc->sectors);
    goto fail;
  }
  x->n_gd = (x->h.capacity + GTES * x->h.grain_size - 1)
    / (GTES * x->h.grain_size);
  x->gd = malloc (x->n_gd * 8);
  x->gts = calloc (x->n_gd, sizeof *x->gts);
  if (!x->gd || !x->gts) {
    err = vdl_oom ();
    goto fail;
  }
  err = vdl_file_pread (x->file, x->gd, x->n_gd * 8, x->h.gd_offset * SS);
  if (err != VIX_OK)
    goto fail;
  for (i = 0; i < x->n_gd; i++)
    x->gd[i] = le64toh (x->gd[i]);
  table_cache_init (&x->cache, x->gts, x->n_gd, GTES * 8, zero_table,
                    &x->lock);
  x->cache.owner = x;
  x->e.tables = &x->cache;
  *out = &x->e;
  return VIX_OK;

 fail:
  sesparse_close (&x->e);
  return err;
}
