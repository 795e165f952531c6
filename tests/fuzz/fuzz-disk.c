/* SPDX-License-Identifier: BSD-3-Clause */
/* A whole disk through the public API, as nbdkit drives it: open, get
 * the information and metadata, read, query allocated blocks, write a
 * little, flush, close, and open again to see the writes.
 *
 * The input is one or more files separated by FUZZ_SEP lines: the
 * first is disk.vmdk, the one opened (a descriptor, or a sparse or
 * stream file with its descriptor inside); the others are f1.vmdk,
 * f2.vmdk, ... for its descriptor to name as extents or as parents.
 * The disk is opened for writing, or read-only when it cannot be
 * written.  Writes that succeed must read back, before and after
 * the flush and the reopening.
 */
#include <stdbool.h>
#include <string.h>

#include "vixDiskLib.h"
#include "fuzz.h"

#define SS VIXDISKLIB_SECTOR_SIZE
#define MAX_PARTS 8
#define READ_BUDGET 8192        /* sectors read per open */
#define QUERY_WINDOW (64 * 1024) /* sectors queried at each end */

static VixDiskLibConnection conn;

static void
setup (void)
{
  VixDiskLibConnectParams params = { 0 };

  if (conn)
    return;
  FUZZ_CHECK (VixDiskLib_InitEx (8, 0, NULL, NULL, NULL, NULL,
                                 fuzz_tiny_cache_config ()) == VIX_OK);
  FUZZ_CHECK (VixDiskLib_ConnectEx (&params, false, NULL, NULL,
                                    &conn) == VIX_OK);
}

struct range {
  uint64_t sector, count;
  unsigned char fill;
};

static unsigned char buf[2048 * SS];

static void
read_some (VixDiskLibHandle h, uint64_t sector, uint64_t count,
           uint64_t *budget)
{
  uint64_t n;

  while (count > 0 && *budget > 0) {
    n = count < *budget ? count : *budget;
    n = n < sizeof buf / SS ? n : sizeof buf / SS;
    if (VixDiskLib_Read (h, sector, n, buf) != VIX_OK)
      return;
    *budget -= n;
    sector += n;
    count -= n;
  }
}

static void
query (VixDiskLibHandle h, uint64_t capacity, uint64_t *budget)
{
  const uint64_t chunk = VIXDISKLIB_MIN_CHUNK_SIZE;
  uint64_t rounded = (capacity + chunk - 1) / chunk * chunk, start, n;
  VixDiskLibBlockList *list;
  uint32_t i;
  int w;

  for (w = 0; w < 2; w++) {
    n = rounded < QUERY_WINDOW ? rounded : QUERY_WINDOW;
    start = w == 0 ? 0 : rounded - n;
    if (w == 1 && start < QUERY_WINDOW)
      break;                    /* the first window had it all */
    if (VixDiskLib_QueryAllocatedBlocks (h, start, n, chunk,
                                         &list) != VIX_OK)
      continue;
    for (i = 0; i < list->numBlocks; i++) {
      const VixDiskLibBlock *b = &list->blocks[i];
      FUZZ_CHECK (b->length > 0 && b->offset % chunk == 0);
      FUZZ_CHECK (b->offset >= start &&
                  b->offset + b->length <= (capacity < start + n
                                            ? capacity : start + n));
      FUZZ_CHECK (i == 0 || b->offset > list->blocks[i - 1].offset
                  + list->blocks[i - 1].length - 1);
      read_some (h, b->offset, b->length, budget);
    }
    VixDiskLib_FreeBlockList (list);
  }
}

static void
metadata (VixDiskLibHandle h)
{
  size_t len = 0;
  char *keys, *k, value[256];

  if (VixDiskLib_GetMetadataKeys (h, NULL, 0, &len) != VIX_E_BUFFER_TOOSMALL
      || len == 0 || len > 1024 * 1024)
    return;
  keys = malloc (len);
  FUZZ_CHECK (keys != NULL);
  if (VixDiskLib_GetMetadataKeys (h, keys, len, NULL) == VIX_OK)
    for (k = keys; k < keys + len && *k; k += strlen (k) + 1)
      VixDiskLib_ReadMetadata (h, k, value, sizeof value, NULL);
  free (keys);
}

/* ---- cross-linked files ---- */

struct span {
  uint64_t start, end;
  bool grain;                   /* data, not metadata */
};

static int
span_cmp (const void *a, const void *b)
{
  const struct span *x = a, *y = b;

  return x->start < y->start ? -1 : x->start > y->start;
}

static uint64_t
le (const uint8_t *p, int bytes)
{
  uint64_t v = 0;

  while (bytes-- > 0)
    v = v << 8 | p[bytes];
  return v;
}

/* Whether a hosted sparse or COWD file gives two grains (or a grain and
 * its metadata) the same sectors, like cross-linked clusters in a
 * damaged file system.  A write to one then changes the other: the
 * library cannot know without reading every grain table when the disk
 * is opened, so it does not, and the checks of what writes did and did
 * not change do not apply to such files.  (Metadata overlapping
 * metadata is the library's to detect: it then refuses to write.) */
static bool
cross_linked (const uint8_t *f, size_t size)
{
  uint64_t cap, grain, gtes, gd, rgd = 0, n_gts, overhead, fs, i, j, e;
  uint64_t gt_sectors, n = 0, max, hdr = 1, end = 0, d0, d1;
  bool cowd, zero_gte, linked = false, end_grain = false;
  struct span *sp;

  if (size < 2048)
    return false;
  cowd = memcmp (f, "COWD", 4) == 0;
  if (!cowd && memcmp (f, "KDMV", 4) != 0)
    return false;
  if (cowd) {
    cap = le (f + 12, 4), grain = le (f + 16, 4), gd = le (f + 20, 4);
    gtes = 4096, overhead = gd + (le (f + 24, 4) * 4 + 511) / 512, hdr = 4;
    zero_gte = false;
  }
  else {
    if (le (f + 8, 4) & 0x10000)
      return false;             /* streams are never written in place */
    cap = le (f + 12, 8), grain = le (f + 20, 8), gtes = le (f + 44, 4);
    gd = le (f + 56, 8), overhead = le (f + 64, 8);
    if (le (f + 8, 4) & 2)
      rgd = le (f + 48, 8);
    zero_gte = le (f + 8, 4) & 4;
  }
  fs = (size + 511) / 512;
  if (!grain || !gtes || gtes > 4096 || grain > 2048 || !cap)
    return false;
  n_gts = (cap + grain * gtes - 1) / (grain * gtes);
  if (n_gts > fs * 128)
    return false;               /* refused when opened */
  gt_sectors = (gtes * 4 + 511) / 512;
  max = 4 + 2 * n_gts + 2 * n_gts * gtes;
  if (max > 4 * 1024 * 1024)
    return false;
  sp = malloc (max * sizeof *sp);
  FUZZ_CHECK (sp != NULL);
  sp[n++] = (struct span) { 0, hdr, false };
  d0 = cowd ? 0 : le (f + 28, 8);
  d1 = d0 + (cowd ? 0 : le (f + 36, 8));
  if (d1 > d0 && d1 <= fs)
    sp[n++] = (struct span) { d0, d1, false };
  for (i = 0; i < 2; i++) {
    uint64_t dir = i ? rgd : gd;
    if (!dir || dir >= fs)
      continue;
    sp[n++] = (struct span) { dir, dir + (n_gts * 4 + 511) / 512, false };
    for (j = 0; j < n_gts && (dir * 512 + j * 4 + 4) <= size; j++) {
      uint64_t t = le (f + dir * 512 + j * 4, 4), k, m;
      bool seen = false;
      if (!t || t + gt_sectors > fs)
        continue;
      sp[n++] = (struct span) { t, t + gt_sectors, false };
      /* The grains of each primary table, once (a table named twice
       * is metadata over metadata: the library's to refuse). */
      for (m = 0; m < j && n_gts <= 4096 && !seen; m++)
        seen = le (f + dir * 512 + m * 4, 4) == t;
      if (i || seen)
        continue;
      for (k = 0; k < gtes && t * 512 + k * 4 + 4 <= size; k++) {
        e = le (f + t * 512 + k * 4, 4);
        if (e && !(e == 1 && zero_gte) && e >= overhead && e < fs)
          sp[n++] = (struct span) { e, e + grain, true };
      }
    }
  }
  qsort (sp, n, sizeof *sp, span_cmp);
  for (i = 0; i < n && !linked; i++) {
    linked = sp[i].start < end && (sp[i].grain || end_grain);
    if (sp[i].end > end) {
      end = sp[i].end;
      end_grain = sp[i].grain;
    }
  }
  free (sp);
  return linked;
}

/* Ranges next to and between the written ones, read before writing:
 * what the writes did not touch must read the same after reopening
 * (a partial grain is completed from the old data; tables and grains
 * appended must not land on data). */
#define N_PROBES 6
#define PROBE 8                 /* sectors */
static struct probe {
  uint64_t sector, count;
  bool ok;                      /* it could be read before writing */
  unsigned char data[PROBE * SS];
} probes[N_PROBES];

static bool
overlaps (uint64_t s, uint64_t n, const struct range *r, int nr)
{
  int k;

  for (k = 0; k < nr; k++)
    if (s < r[k].sector + r[k].count && r[k].sector < s + n)
      return true;
  return false;
}

static void
read_probes (VixDiskLibHandle h, uint64_t cap, const struct range *r,
             int nr)
{
  uint64_t at[N_PROBES] = {
    1, cap / 4, cap / 2 >= PROBE ? cap / 2 - PROBE : 0,
    r[1].sector + r[1].count, cap / 4 * 3, cap > PROBE + 1 ? cap - PROBE - 1 : 0,
  };
  int i;

  for (i = 0; i < N_PROBES; i++) {
    struct probe *p = &probes[i];
    p->sector = at[i];
    p->count = at[i] < cap ? (cap - at[i] < PROBE ? cap - at[i] : PROBE) : 0;
    if (p->count && overlaps (p->sector, p->count, r, nr))
      p->count = 0;
    p->ok = p->count &&
      VixDiskLib_Read (h, p->sector, p->count, p->data) == VIX_OK;
  }
}

static void
check_probes (VixDiskLibHandle h)
{
  unsigned char now[PROBE * SS];
  VixError err;
  int i;

  for (i = 0; i < N_PROBES; i++) {
    struct probe *p = &probes[i];
    if (!p->ok)
      continue;
    err = VixDiskLib_Read (h, p->sector, p->count, now);
    if (err != VIX_OK || memcmp (now, p->data, p->count * SS) != 0)
      fprintf (stderr, "unwritten sectors %llu+%llu changed\n",
               (unsigned long long) p->sector,
               (unsigned long long) p->count);
    FUZZ_CHECK (err == VIX_OK);
    FUZZ_CHECK (memcmp (now, p->data, p->count * SS) == 0);
  }
}

/* Open, look at everything, write the ranges; returns whether the disk
 * was opened for writing and the writes and flush succeeded. */
static bool linked;             /* some file of the input is cross-linked */

static bool
use_disk (const char *path, struct range *r, int nr, uint64_t *capacity)
{
  VixDiskLibHandle h;
  VixDiskLibInfo *info;
  uint64_t budget = READ_BUDGET, cap;
  bool rw = true, ok;
  int k;
  VixError err;

  err = VixDiskLib_Open (conn, path, 0, &h);
  if (err == VIX_E_FILE_READ_ONLY) {
    rw = false;
    err = VixDiskLib_Open (conn, path, VIXDISKLIB_FLAG_OPEN_READ_ONLY, &h);
  }
  if (err != VIX_OK)
    return false;
  if (VixDiskLib_GetInfo (h, &info) == VIX_OK)
    VixDiskLib_FreeInfo (info);
  metadata (h);
  *capacity = cap = 0;
  if (VixDiskLib_GetInfo (h, &info) == VIX_OK) {
    *capacity = cap = info->capacity;
    VixDiskLib_FreeInfo (info);
  }
  read_some (h, 0, cap, &budget);
  if (cap > 256)
    read_some (h, cap - 256, 256, &budget);
  query (h, cap, &budget);

  ok = rw && cap > 0;
  if (ok) {
    /* One sector at the start, a run across the middle (not aligned to
     * grains), one at the end. */
    r[0] = (struct range) { 0, 1, 0xa5 };
    r[1] = (struct range) { cap / 2, cap / 2 >= 300 ? 300 : cap - cap / 2,
                            0x5a };
    r[2] = (struct range) { cap - 1, 1, 0xc3 };
    read_probes (h, cap, r, nr);
    for (k = 0; k < nr && ok; k++) {
      memset (buf, r[k].fill, r[k].count * SS);
      ok = VixDiskLib_Write (h, r[k].sector, r[k].count, buf) == VIX_OK;
    }
    for (k = 0; k < nr && ok && !linked; k++) {
      if (k < nr - 1 && r[k].sector + r[k].count > r[nr - 1].sector)
        continue;               /* overwritten by a later range */
      FUZZ_CHECK (VixDiskLib_Read (h, r[k].sector, r[k].count, buf)
                  == VIX_OK);
      for (uint64_t i = 0; i < r[k].count * SS; i++)
        FUZZ_CHECK (buf[i] == r[k].fill);
    }
    if (ok)
      ok = VixDiskLib_Flush (h) == VIX_OK;
    if (ok)
      VixDiskLib_WriteMetadata (h, "fuzz", "1");
  }
  if (VixDiskLib_Close (h) != VIX_OK)
    ok = false;
  return ok;
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  struct fuzz_part parts[MAX_PARTS];
  struct range r[3];
  char path[128], name[32], disk[128];
  uint64_t cap, cap2;
  VixDiskLibHandle h;
  VixError err;
  size_t n, i;
  int k;

  if (size > 2 * 1024 * 1024)
    return 0;
  setup ();
  fuzz_clear_dir ();
  n = fuzz_split (data, size, parts, MAX_PARTS);
  for (i = 1; i < n; i++) {
    snprintf (name, sizeof name, "f%zu.vmdk", i);
    fuzz_put_file (name, parts[i].data, parts[i].size, path, sizeof path);
  }
  fuzz_put_file ("disk.vmdk", parts[0].data, parts[0].size, disk,
                 sizeof disk);

  linked = false;
  for (i = 0; i < n && !linked; i++)
    linked = cross_linked (parts[i].data, parts[i].size);

  if (!use_disk (disk, r, 3, &cap) || linked)
    return 0;

  /* The writes were flushed: they are there for the next opener. */
  err = VixDiskLib_Open (conn, disk, VIXDISKLIB_FLAG_OPEN_READ_ONLY, &h);
  if (err != VIX_OK) {
    char *text = VixDiskLib_GetErrorText (err, NULL);
    fprintf (stderr, "reopening after a flush: %s\n", text);
    VixDiskLib_FreeErrorText (text);
  }
  FUZZ_CHECK (err == VIX_OK);
  cap2 = 0;
  {
    VixDiskLibInfo *info;
    if (VixDiskLib_GetInfo (h, &info) == VIX_OK) {
      cap2 = info->capacity;
      VixDiskLib_FreeInfo (info);
    }
  }
  FUZZ_CHECK (cap2 == cap);
  for (k = 0; k < 3; k++) {
    if (k < 2 && r[k].sector + r[k].count > r[2].sector)
      continue;
    FUZZ_CHECK (VixDiskLib_Read (h, r[k].sector, r[k].count, buf) == VIX_OK);
    for (uint64_t j = 0; j < r[k].count * SS; j++)
      FUZZ_CHECK (buf[j] == r[k].fill);
  }
  check_probes (h);
  FUZZ_CHECK (VixDiskLib_Close (h) == VIX_OK);
  return 0;
}
