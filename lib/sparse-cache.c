/* SPDX-License-Identifier: BSD-3-Clause */
/* A bounded cache of grain tables for extents opened read-only.
 *
 * Tables are loaded on demand and read without locks.  On a big disk
 * opened read-only (a 16 TiB export, a remote disk) keeping every table
 * would make memory grow with the disk, so past a budget the least
 * recently used clean tables are dropped (a clock: each table has a
 * "used since the hand passed" mark).  A dropped table is not freed at
 * once: a reader may still hold it.  Readers announce themselves
 * (sparse_reader_enter/leave) around loading a table pointer and using
 * it; dropped tables are freed when no reader is inside.  Writable
 * extents keep every table: writers update them in place.
 */
#include <stdlib.h>

#include "log.h"
#include "sparse-extent.h"

/* Bytes of grain tables one read-only extent keeps at most. */
#define CACHE_BUDGET (4u << 20)

void
sparse_cache_init (struct sparse_extent *s, bool bounded)
{
  uint64_t per = (uint64_t) s->h.gtes_per_gt * 4;

  s->cache.bounded = bounded && s->n_gts * per > CACHE_BUDGET;
  s->cache.max_loaded = CACHE_BUDGET / per;
  if (s->cache.max_loaded < 2)
    s->cache.max_loaded = 2;
}

static void
free_retired_locked (struct sparse_extent *s)
{
  size_t i;

  for (i = 0; i < s->cache.n_retired; i++)
    free (s->cache.retired[i]);
  s->cache.n_retired = 0;
}

void
sparse_reader_enter (struct sparse_extent *s)
{
  if (s->cache.bounded)
    __atomic_add_fetch (&s->cache.readers, 1, __ATOMIC_SEQ_CST);
}

void
sparse_reader_leave (struct sparse_extent *s)
{
  if (!s->cache.bounded ||
      __atomic_sub_fetch (&s->cache.readers, 1, __ATOMIC_SEQ_CST) != 0 ||
      __atomic_load_n (&s->cache.n_retired, __ATOMIC_RELAXED) == 0)
    return;
  /* The last reader out frees what was dropped meanwhile (unless a
   * new reader came in: then it will). */
  if (pthread_mutex_trylock (&s->lock) != 0)
    return;
  if (__atomic_load_n (&s->cache.readers, __ATOMIC_SEQ_CST) == 0)
    free_retired_locked (s);
  pthread_mutex_unlock (&s->lock);
}

void
sparse_cache_used (struct sparse_extent *s, uint32_t i)
{
  if (s->cache.bounded && !s->cache.used[i])
    __atomic_store_n (&s->cache.used[i], 1, __ATOMIC_RELAXED);
}

/* Drop one table, chosen by the clock.  Called with s->lock held. */
static bool
drop_one_locked (struct sparse_extent *s, const uint32_t *shared)
{
  uint32_t steps, i, *gt, **r;

  for (steps = 0; steps < 2 * s->n_gts; steps++) {
    i = s->cache.hand;
    s->cache.hand = (i + 1) % s->n_gts;
    gt = __atomic_load_n (&s->gts[i], __ATOMIC_ACQUIRE);
    if (!gt || gt == shared)
      continue;
    if (__atomic_exchange_n (&s->cache.used[i], 0, __ATOMIC_RELAXED))
      continue;                 /* a second chance */
    if (s->cache.n_retired == s->cache.cap_retired) {
      size_t cap = s->cache.cap_retired ? 2 * s->cache.cap_retired : 16;
      r = realloc (s->cache.retired, cap * sizeof *r);
      if (!r)
        return false;           /* keep it: memory is short anyway */
      s->cache.retired = r;
      s->cache.cap_retired = cap;
    }
    __atomic_store_n (&s->gts[i], NULL, __ATOMIC_SEQ_CST);
    s->cache.retired[s->cache.n_retired] = gt;
    __atomic_store_n (&s->cache.n_retired, s->cache.n_retired + 1,
                      __ATOMIC_RELAXED);
    s->cache.loaded--;
    return true;
  }
  return false;
}

void
sparse_cache_loaded (struct sparse_extent *s, uint32_t i,
                     const uint32_t *shared)
{
  if (!s->cache.bounded)
    return;
  __atomic_store_n (&s->cache.used[i], 1, __ATOMIC_RELAXED);
  pthread_mutex_lock (&s->lock);
  s->cache.loaded++;
  while (s->cache.loaded > s->cache.max_loaded &&
         drop_one_locked (s, shared))
    ;
  if (__atomic_load_n (&s->cache.readers, __ATOMIC_SEQ_CST) == 0)
    free_retired_locked (s);
  pthread_mutex_unlock (&s->lock);
}

void
sparse_cache_free (struct sparse_extent *s)
{
  free_retired_locked (s);
  free (s->cache.retired);
  free (s->cache.used);
}
