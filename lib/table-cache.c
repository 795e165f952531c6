/* SPDX-License-Identifier: BSD-3-Clause */
/* The bounded grain-table cache (see table-cache.h). */
#include <stdlib.h>

#include "config.h"
#include "log.h"
#include "table-cache.h"

uint64_t
table_cache_budget (void)
{
  uint64_t budget = vdl_config_table_cache_bytes ();

  return budget ? budget : TABLE_CACHE_DEFAULT_BUDGET;
}

uint64_t
table_cache_bytes (const struct table_cache *c)
{
  return (uint64_t) c->n * c->table_bytes;
}

/* How many tables fit bytes: at least two, so that a writer's table and
 * the one a reader loads meanwhile can both be in memory. */
static uint32_t
tables_in (const struct table_cache *c, uint64_t bytes)
{
  uint64_t k = bytes / c->table_bytes;

  return k < 2 ? 2 : k > UINT32_MAX ? UINT32_MAX : (uint32_t) k;
}

void
table_cache_init (struct table_cache *c, void **slots, uint32_t n,
                  size_t table_bytes, const void *shared,
                  pthread_mutex_t *lock)
{
  *c = (struct table_cache) {
    .slots = slots, .n = n, .shared = shared, .lock = lock,
    .table_bytes = table_bytes ? table_bytes : 1,
  };
  /* Opened outside a disk (tools), an extent has the whole budget. */
  table_cache_limit (c, table_cache_budget (), false);
}

void
table_cache_limit (struct table_cache *c, uint64_t bytes, bool live)
{
  uint32_t max = tables_in (c, bytes), i, loaded = 0;

  if (max >= c->n)
    return;                     /* they all fit */
  if (c->bounded) {
    pthread_mutex_lock (c->lock);
    if (max < c->max_loaded)
      c->max_loaded = max;      /* the next load drops the excess */
    pthread_mutex_unlock (c->lock);
    return;
  }
  if (live || !(c->used = calloc (c->n, 1)))
    return;
  for (i = 0; i < c->n; i++)
    if (c->slots[i] && c->slots[i] != c->shared)
      loaded++;
  c->loaded = loaded;
  c->max_loaded = max;
  c->bounded = true;
}

static void
free_retired_locked (struct table_cache *c)
{
  size_t i;

  for (i = 0; i < c->n_retired; i++)
    free (c->retired[i]);
  /* Read unlocked by table_cache_leave. */
  __atomic_store_n (&c->n_retired, 0, __ATOMIC_RELAXED);
}

void
table_cache_enter (struct table_cache *c)
{
  if (c->bounded)
    __atomic_add_fetch (&c->readers, 1, __ATOMIC_SEQ_CST);
}

void
table_cache_leave (struct table_cache *c)
{
  if (!c->bounded ||
      __atomic_sub_fetch (&c->readers, 1, __ATOMIC_SEQ_CST) != 0 ||
      __atomic_load_n (&c->n_retired, __ATOMIC_RELAXED) == 0)
    return;
  /* The last reader out frees what was dropped meanwhile (unless a
   * new reader came in: then it will). */
  if (pthread_mutex_trylock (c->lock) != 0)
    return;
  if (__atomic_load_n (&c->readers, __ATOMIC_SEQ_CST) == 0)
    free_retired_locked (c);
  pthread_mutex_unlock (c->lock);
}

/* Drop one clean table other than keep, chosen by the clock.  c->lock
 * held. */
static bool
drop_one_locked (struct table_cache *c, uint32_t keep)
{
  uint32_t steps, i;
  void *t, **r;

  for (steps = 0; steps < 2 * c->n; steps++) {
    i = c->hand;
    c->hand = (i + 1) % c->n;
    t = __atomic_load_n (&c->slots[i], __ATOMIC_ACQUIRE);
    if (!t || t == c->shared || i == keep || (c->dirty && c->dirty[i]) ||
        (c->pinned && c->pinned[i]))
      continue;
    if (__atomic_exchange_n (&c->used[i], 0, __ATOMIC_RELAXED))
      continue;                 /* a second chance */
    if (c->n_retired == c->cap_retired) {
      size_t cap = c->cap_retired ? 2 * c->cap_retired : 16;
      r = realloc (c->retired, cap * sizeof *r);
      if (!r)
        return false;           /* keep it: memory is short anyway */
      c->retired = r;
      c->cap_retired = cap;
    }
    __atomic_store_n (&c->slots[i], NULL, __ATOMIC_SEQ_CST);
    c->retired[c->n_retired] = t;
    __atomic_store_n (&c->n_retired, c->n_retired + 1, __ATOMIC_RELAXED);
    c->loaded--;
    return true;
  }
  return false;
}

/* Private table i was just published: drop others if over budget.
 * Never i itself: its loader is about to use it (a writer would load it
 * again, and again, while changed tables fill the budget).  Fails if
 * the write-back that was needed failed. */
static VixError
loaded (struct table_cache *c, uint32_t i)
{
  bool wrote_back = false;
  VixError err = VIX_OK;

  __atomic_store_n (&c->used[i], 1, __ATOMIC_RELAXED);
  pthread_mutex_lock (c->lock);
  c->loaded++;
  while (c->loaded > c->max_loaded) {
    if (drop_one_locked (c, i))
      continue;
    /* Only dirty tables are left: write them all back at once, so
     * that this happens once per budget's worth of tables.  On error
     * stay over budget, with the tables still changed (the next flush
     * writes them again), and fail the request that needed the room:
     * an I/O error is never silent. */
    if (wrote_back || !c->write_back)
      break;
    wrote_back = true;
    err = c->write_back (c->owner);
    if (err != VIX_OK) {
      vdl_debug ("VixDiskLib: could not write grain tables back to make "
                 "room in the cache (error %llu): kept in memory",
                 (unsigned long long) err);
      break;
    }
    vdl_debug ("VixDiskLib: grain table cache full (%u tables): changed "
               "tables written back to make room", c->max_loaded);
  }
  if (__atomic_load_n (&c->readers, __ATOMIC_SEQ_CST) == 0)
    free_retired_locked (c);
  pthread_mutex_unlock (c->lock);
  return err;
}

VixError
table_cache_get (struct table_cache *c, uint32_t i, table_load_fn load,
                 void **out)
{
  void *t = __atomic_load_n (&c->slots[i], __ATOMIC_ACQUIRE), *none = NULL;
  VixError err;

  *out = NULL;
  if (t) {
    if (c->bounded && !__atomic_load_n (&c->used[i], __ATOMIC_RELAXED))
      __atomic_store_n (&c->used[i], 1, __ATOMIC_RELAXED);
    *out = t;
    return VIX_OK;
  }
  err = load (c->owner, i, &t);
  if (err != VIX_OK)
    return err;
  if (!__atomic_compare_exchange_n (&c->slots[i], &none, t, false,
                                    __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
    if (t != c->shared)
      free (t);
    t = none;
  }
  else if (t != c->shared && c->bounded)
    err = loaded (c, i);
  *out = t;
  return err;
}

VixError
table_cache_replace (struct table_cache *c, uint32_t i, void **expected,
                     void *t, bool *replaced)
{
  *replaced = __atomic_compare_exchange_n (&c->slots[i], expected, t, false,
                                           __ATOMIC_ACQ_REL,
                                           __ATOMIC_ACQUIRE);
  return *replaced && c->bounded ? loaded (c, i) : VIX_OK;
}

void
table_cache_free (struct table_cache *c)
{
  uint32_t i;

  if (c->slots)
    for (i = 0; i < c->n; i++)
      if (c->slots[i] != c->shared)
        free (c->slots[i]);
  free_retired_locked (c);
  free (c->retired);
  free (c->used);
}
