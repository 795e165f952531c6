/* SPDX-License-Identifier: BSD-3-Clause */
/* Stream-optimized extents (lib/vmdk/extent-stream.c, stream-append.c,
 * stream-grain.c, grained.c):
 * finding the footer (read_footer, and find_last_footer's backwards
 * search after a cut-off append), reading compressed grains behind
 * their markers, and appending to the stream.
 *
 * The input is the extent file; its header is forced to say
 * "compressed, with markers, deflate" so that every mutation stays a
 * stream.  The file is opened read-only and scanned, then opened for
 * writing: a whole grain and a single sector are written, and a sector
 * at the start of each of the first tables; they must read back, and
 * after a flush and close they must still be there when the file is
 * opened again.  The grain-table cache has room for two tables, so
 * tables are appended to the stream and dropped before the flush.
 */
#include <endian.h>
#include <string.h>

#include "config.h"
#include "error.h"
#include "extent.h"
#include "sparse-format.h"
#include "store.h"
#include "fuzz.h"

#define SS 512
/* The whole grain, the single sector, then one sector per table. */
#define TABLE_WRITES 6
#define N_RANGES (2 + TABLE_WRITES)

static struct vdl_desc_extent desc = { .access = VDL_ACCESS_RW };

static VixError
open_extent (const char *path, bool writable, struct vdl_extent **e)
{
  struct vdl_extent_open_args a = {
    .store = &vdl_local_store, .path = path, .desc = &desc,
    .writable = writable, .lock = writable ? VDL_LOCK_WRITE : VDL_LOCK_READ,
  };

  return vdl_extent_sparse_open (&a, e);
}

struct range {
  uint64_t sector, count;
  unsigned char fill;
};

/* The ranges of r read back as written. */
static void
check_ranges (struct vdl_extent *e, const struct range *r, int n,
              const char *when)
{
  unsigned char buf[KDMV_MAX_GRAIN * SS];
  uint64_t i;
  int k;
  VixError err;

  for (k = 0; k < n; k++) {
    if (!r[k].count)
      continue;
    err = e->ops->read (e, r[k].sector, r[k].count, buf);
    if (err != VIX_OK) {
      char *text = vdl_error_text (err);
      fprintf (stderr, "%s: reading back sectors %llu+%llu: %s\n", when,
               (unsigned long long) r[k].sector,
               (unsigned long long) r[k].count, text);
      free (text);
    }
    FUZZ_CHECK (err == VIX_OK);
    for (i = 0; i < r[k].count * SS && buf[i] == r[k].fill; i++)
      ;
    if (i < r[k].count * SS)
      fprintf (stderr, "%s: sectors %llu+%llu read back wrong at byte %llu\n",
               when, (unsigned long long) r[k].sector,
               (unsigned long long) r[k].count, (unsigned long long) i);
    FUZZ_CHECK (i == r[k].count * SS);
  }
}

/* Sectors the writes do not touch, read before writing, must read the
 * same after reopening: beside the single sector (same grain, merged
 * and compressed again), the first and last sectors. */
#define N_PROBES 4
static struct probe {
  uint64_t sector;
  bool ok;
  unsigned char data[SS];
} probes[N_PROBES];

static void
read_probes (struct vdl_extent *e, const struct range *r, int n)
{
  uint64_t at[N_PROBES] = {
    r[1].sector - 1, r[1].sector + 1, 0, e->sectors - 1,
  };
  int i, k;

  for (i = 0; i < N_PROBES; i++) {
    probes[i].sector = at[i];
    probes[i].ok = at[i] < e->sectors;
    for (k = 0; k < n; k++)
      if (at[i] >= r[k].sector && at[i] < r[k].sector + r[k].count)
        probes[i].ok = false;
    if (probes[i].ok)
      probes[i].ok = e->ops->read (e, at[i], 1, probes[i].data) == VIX_OK;
  }
}

static void
check_probes (struct vdl_extent *e)
{
  unsigned char now[SS];
  VixError err;
  int i;

  for (i = 0; i < N_PROBES; i++) {
    if (!probes[i].ok)
      continue;
    err = e->ops->read (e, probes[i].sector, 1, now);
    if (err != VIX_OK || memcmp (now, probes[i].data, SS) != 0)
      fprintf (stderr, "unwritten sector %llu changed\n",
               (unsigned long long) probes[i].sector);
    FUZZ_CHECK (err == VIX_OK && memcmp (now, probes[i].data, SS) == 0);
  }
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  unsigned char *file, buf[KDMV_MAX_GRAIN * SS];
  struct range r[N_RANGES] = { { 0 } };
  static bool configured;
  uint64_t cover;
  int j;
  struct kdmv_header h;
  struct vdl_extent *e;
  uint32_t flags;
  uint16_t algo = htole16 (KDMV_COMPRESS_DEFLATE);
  char msg[200], path[128];
  VixError err;
  int k;

  if (size < SS || size > 1024 * 1024 || memcmp (data, "KDMV", 4) != 0)
    return 0;
  if (!configured) {
    FUZZ_CHECK (vdl_config_load (fuzz_tiny_cache_config ()) == VIX_OK);
    configured = true;
  }
  file = malloc (size);
  FUZZ_CHECK (file != NULL);
  memcpy (file, data, size);
  memcpy (&flags, file + 8, 4);
  flags = htole32 (le32toh (flags) | KDMV_FLAG_COMPRESSED |
                   KDMV_FLAG_MARKERS);
  memcpy (file + 8, &flags, 4);
  memcpy (file + 77, &algo, 2);
  desc.sectors = kdmv_header_parse (file, &h, msg, sizeof msg) == 0
    ? h.capacity : 1;
  fuzz_put_file ("stream.vmdk", file, size, path, sizeof path);
  free (file);

  if (open_extent (path, false, &e) != VIX_OK)
    return 0;
  fuzz_scan_extent (e);
  e->ops->close (e);

  if (open_extent (path, true, &e) != VIX_OK)
    return 0;
  if (e->no_write) {            /* the disk layer would refuse to write */
    e->ops->close (e);
    return 0;
  }
  /* A whole grain (the second if there is one), then one sector in the
   * middle of another grain, which is read, merged and compressed again. */
  r[0].count = h.grain_size <= h.capacity ? h.grain_size : h.capacity;
  r[0].sector = 2 * h.grain_size <= h.capacity ? h.grain_size : 0;
  r[0].fill = 0xa5;
  r[1].sector = h.capacity / 2 + 1 < h.capacity ? h.capacity / 2 + 1 : 0;
  r[1].count = 1;
  r[1].fill = 0x5a;
  /* A sector at the start of each table after the first. */
  cover = (uint64_t) h.gtes_per_gt * h.grain_size;
  for (k = 2; k < N_RANGES; k++)
    if (cover && (uint64_t) (k - 1) * cover < h.capacity) {
      r[k].sector = (uint64_t) (k - 1) * cover;
      r[k].count = 1;
      r[k].fill = 0x30 + k;
    }
  /* Each sector is written once (a tiny disk: fewer writes). */
  for (k = 1; k < N_RANGES; k++)
    for (j = 0; j < k; j++)
      if (r[k].count && r[j].count && r[k].sector < r[j].sector + r[j].count &&
          r[j].sector < r[k].sector + r[k].count)
        r[k].count = 0;
  read_probes (e, r, N_RANGES);
  for (k = 0; k < N_RANGES; k++) {
    if (!r[k].count)
      continue;
    memset (buf, r[k].fill, r[k].count * SS);
    err = e->ops->write (e, r[k].sector, r[k].count, buf, NULL, NULL);
    if (err != VIX_OK)
      r[k].count = 0;           /* a corrupt grain cannot be merged */
  }
  check_ranges (e, r, N_RANGES, "before flush");
  err = e->ops->flush (e);
  e->ops->close (e);
  if (err != VIX_OK)
    return 0;

  /* What was flushed is there for the next reader. */
  err = open_extent (path, false, &e);
  if (err != VIX_OK) {
    char *text = vdl_error_text (err);
    fprintf (stderr, "reopening after a flush: %s\n", text);
    free (text);
  }
  FUZZ_CHECK (err == VIX_OK);
  check_ranges (e, r, N_RANGES, "after reopening");
  check_probes (e);
  e->ops->close (e);
  return 0;
}
