/* SPDX-License-Identifier: BSD-3-Clause */
/* nbdkit VDDK plugin: per-function timings (-D vddk.stats=1). */

#include <stdlib.h>
#include <string.h>

#include "vddk.h"

NBDKIT_DLL_PUBLIC int vddk_debug_stats;

struct vddk_stat {
  const char *name;             /* without the VixDiskLib_ prefix */
  int64_t usecs;
  uint64_t calls;
  uint64_t bytes;
};

static pthread_mutex_t stats_lock = PTHREAD_MUTEX_INITIALIZER;
static struct vddk_stat stats[STAT_COUNT] = {
#define STUB(fn) [STAT_##fn] = { .name = #fn },
#define OPTIONAL_STUB(fn) STUB (fn)
#include "stubs.h"
#undef STUB
#undef OPTIONAL_STUB
};

void
stats_start (struct timespec *t0)
{
  if (vddk_debug_stats)
    clock_gettime (CLOCK_MONOTONIC, t0);
}

void
stats_record (enum vddk_stat_id id, const struct timespec *t0,
              uint64_t bytes)
{
  struct timespec t1;
  int64_t usecs;

  if (!vddk_debug_stats)
    return;
  clock_gettime (CLOCK_MONOTONIC, &t1);
  usecs = (t1.tv_sec - t0->tv_sec) * INT64_C (1000000) +
    (t1.tv_nsec - t0->tv_nsec) / 1000;

  pthread_mutex_lock (&stats_lock);
  stats[id].usecs += usecs;
  stats[id].calls++;
  stats[id].bytes += bytes;
  pthread_mutex_unlock (&stats_lock);
}

/* Slowest first. */
static int
compare_usecs (const void *ap, const void *bp)
{
  const struct vddk_stat *a = ap, *b = bp;

  if (a->usecs < b->usecs) return 1;
  if (a->usecs > b->usecs) return -1;
  return 0;
}

void
display_stats (void)
{
  struct vddk_stat rows[STAT_COUNT];
  size_t i;

  pthread_mutex_lock (&stats_lock);
  memcpy (rows, stats, sizeof rows);
  pthread_mutex_unlock (&stats_lock);
  qsort (rows, STAT_COUNT, sizeof rows[0], compare_usecs);

  nbdkit_debug ("VDDK function stats (-D vddk.stats=1):");
  /* "µs" is 3 bytes, so %15s pads it one column short, as upstream. */
  nbdkit_debug ("%-24s  %15s %5s %15s",
                "VixDiskLib_...", "\xc2\xb5s", "calls", "bytes");
  for (i = 0; i < STAT_COUNT; i++) {
    if (rows[i].usecs == 0)
      continue;
    if (rows[i].bytes > 0)
      nbdkit_debug ("  %-22s %15" PRIi64 " %5" PRIu64 " %15" PRIu64,
                    rows[i].name, rows[i].usecs, rows[i].calls,
                    rows[i].bytes);
    else
      nbdkit_debug ("  %-22s %15" PRIi64 " %5" PRIu64,
                    rows[i].name, rows[i].usecs, rows[i].calls);
  }
}
