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
  pthread_cond_init (&c->room, NULL);
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
  if (live)
    return;
  c->used = calloc (c->n, 1);
  c->holders = calloc (c->n, sizeof *c->holders);
  if (!c->used || !c->holders) {
    free (c->used);
    free (c->holders);
    c->used = NULL;
    c->holders = NULL;
    return;
  }
  for (i = 0; i < c->n; i++)
    if (c->slots[i] && c->slots[i] != c->shared)
      loaded++;
  c->loaded = c->peak = loaded;
  c->max_loaded = max;
  c->bounded = true;
}

/* Drop one clean table other than keep, chosen by the clock.  *held
 * says whether one could have been dropped but for threads holding it:
 * then waiting for them is worth it.  c->lock held. */
static bool
drop_one_locked (struct table_cache *c, uint32_t keep, bool *held)
{
  uint32_t steps, i;
  void *t;

  for (steps = 0; steps < 2 * c->n; steps++) {
    i = c->hand;
    c->hand = (i + 1) % c->n;
    t = c->slots[i];
    if (!t || t == c->shared || i == keep || (c->dirty && c->dirty[i]) ||
        (c->pinned && c->pinned[i]))
      continue;
    if (__atomic_load_n (&c->holders[i], __ATOMIC_SEQ_CST)) {
      *held = true;
      continue;
    }
    if (__atomic_exchange_n (&c->used[i], 0, __ATOMIC_RELAXED))
      continue;                 /* a second chance */
    /* A reader takes hold of a table and then reads its slot, both
     * unlocked; here the slot is emptied and then the holders read, so
     * one of the two sees the other (sequentially consistent). */
    __atomic_store_n (&c->slots[i], NULL, __ATOMIC_SEQ_CST);
    if (__atomic_load_n (&c->holders[i], __ATOMIC_SEQ_CST)) {
      /* Taken meanwhile: put it back (readers that saw the slot
       * empty look again with the lock held). */
      __atomic_store_n (&c->slots[i], t, __ATOMIC_RELEASE);
      *held = true;
      continue;
    }
    free (t);
    c->loaded--;
    return true;
  }
  return false;
}

/* Write the changed tables back so that they can be dropped: only
 * they are left.  All at once, so that this happens once per budget's
 * worth.  On error the cache stays over budget, with the tables still
 * changed (the next flush writes them again), and the request that
 * needed the room fails: an I/O error is never silent.  c->lock held. */
static VixError
write_back_locked (struct table_cache *c)
{
  VixError err = c->write_back (c->owner);

  if (err != VIX_OK)
    vdl_debug ("VixDiskLib: could not write grain tables back to make "
               "room in the cache (error %llu): kept in memory",
               (unsigned long long) err);
  else
    vdl_debug ("VixDiskLib: grain table cache full (%u tables): changed "
               "tables written back to make room", c->max_loaded);
  return err;
}

/* Count one more private table for table i (which is kept), dropping
 * others or waiting for room if the budget is full.  *reserved says
 * whether it did: not if slot i stopped holding was meanwhile (another
 * thread published table i while this one waited; it holds table i,
 * so waiting on would wait for itself).  When only changed (or pinned)
 * tables are left, it goes over budget: with write_back, after writing
 * them back (failing if that failed); without, the caller trims once
 * it knows it needs the room (trim_locked).  c->lock held. */
static VixError
reserve_locked (struct table_cache *c, uint32_t i, const void *was,
                bool write_back, bool *reserved)
{
  bool wrote_back = false, held;
  VixError err = VIX_OK;

  /* Announced before looking at the holders: a thread releasing a
   * table then sees that someone may be waiting for it. */
  __atomic_add_fetch (&c->waiters, 1, __ATOMIC_SEQ_CST);
  *reserved = false;
  while (c->loaded >= c->max_loaded) {
    if (c->slots[i] != was)
      goto out;
    held = false;
    if (drop_one_locked (c, i, &held))
      continue;
    if (held || c->loading) {
      /* Released, or loaded (then held by its loader) soon. */
      pthread_cond_wait (&c->room, c->lock);
      continue;
    }
    if (!write_back || wrote_back || !c->write_back)
      break;                    /* over budget */
    wrote_back = true;
    if ((err = write_back_locked (c)) != VIX_OK)
      break;
  }
  if (c->slots[i] == was) {
    *reserved = true;
    c->loaded++;
    if (c->loaded > c->peak)
      c->peak = c->loaded;
  }
 out:
  __atomic_sub_fetch (&c->waiters, 1, __ATOMIC_SEQ_CST);
  return err;
}

/* Private table i was just published over budget (only changed tables
 * were left when its room was reserved): write them back and drop
 * down to the budget.  c->lock held. */
static VixError
trim_locked (struct table_cache *c, uint32_t i)
{
  bool wrote_back = false, held;
  VixError err = VIX_OK;

  while (c->loaded > c->max_loaded) {
    held = false;
    if (drop_one_locked (c, i, &held))
      continue;
    if (wrote_back || !c->write_back)
      break;
    wrote_back = true;
    if ((err = write_back_locked (c)) != VIX_OK)
      break;
  }
  return err;
}

/* A reservation that was not used (the table read as zeros, another
 * thread published it first, or loading failed).  c->lock held. */
static void
unreserve_locked (struct table_cache *c)
{
  c->loaded--;
  if (__atomic_load_n (&c->waiters, __ATOMIC_SEQ_CST))
    pthread_cond_broadcast (&c->room);
}

/* Table i is not in memory (or was being dropped): load it with room
 * reserved for it, and publish it unless another thread did first. */
static VixError
load_bounded (struct table_cache *c, uint32_t i, table_load_fn load,
              void **out)
{
  VixError err, lerr;
  bool reserved;
  void *t;

  pthread_mutex_lock (c->lock);
  /* A table read from the file may be all zeros (shared, no room
   * needed): changed tables are written back for room only once it is
   * known to be needed. */
  err = reserve_locked (c, i, NULL, false, &reserved);
  t = c->slots[i];
  if (reserved)
    c->loading++;
  pthread_mutex_unlock (c->lock);
  if (!reserved) {              /* published meanwhile (or before) */
    __atomic_store_n (&c->used[i], 1, __ATOMIC_RELAXED);
    *out = t;
    return err;
  }

  t = NULL;
  lerr = load (c->owner, i, &t);

  pthread_mutex_lock (c->lock);
  c->loading--;
  if (lerr != VIX_OK) {
    unreserve_locked (c);
    pthread_mutex_unlock (c->lock);
    return lerr;
  }
  if (c->slots[i]) {            /* another thread's, published meanwhile */
    if (t != c->shared)
      free (t);
    t = c->slots[i];
    unreserve_locked (c);
  }
  else {
    __atomic_store_n (&c->slots[i], t, __ATOMIC_RELEASE);
    if (t == c->shared)
      unreserve_locked (c);
    else {
      if (__atomic_load_n (&c->waiters, __ATOMIC_SEQ_CST))
        pthread_cond_broadcast (&c->room);  /* some may wait for it */
      if (c->loaded > c->max_loaded)
        err = trim_locked (c, i);
    }
  }
  pthread_mutex_unlock (c->lock);
  __atomic_store_n (&c->used[i], 1, __ATOMIC_RELAXED);
  *out = t;
  return err;
}

VixError
table_cache_get (struct table_cache *c, uint32_t i, table_load_fn load,
                 void **out)
{
  void *t, *none = NULL;
  VixError err;

  *out = NULL;
  if (c->bounded) {
    /* Held first, then looked at: see drop_one_locked. */
    __atomic_add_fetch (&c->holders[i], 1, __ATOMIC_SEQ_CST);
    t = __atomic_load_n (&c->slots[i], __ATOMIC_SEQ_CST);
    if (!t)
      return load_bounded (c, i, load, out);
    if (!__atomic_load_n (&c->used[i], __ATOMIC_RELAXED))
      __atomic_store_n (&c->used[i], 1, __ATOMIC_RELAXED);
    *out = t;
    return VIX_OK;
  }
  t = __atomic_load_n (&c->slots[i], __ATOMIC_ACQUIRE);
  if (t) {
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
  *out = t;
  return VIX_OK;
}

VixError
table_cache_replace (struct table_cache *c, uint32_t i, void **expected,
                     void *t, bool *replaced)
{
  VixError err;

  if (!c->bounded) {
    *replaced = __atomic_compare_exchange_n (&c->slots[i], expected, t,
                                             false, __ATOMIC_ACQ_REL,
                                             __ATOMIC_ACQUIRE);
    return VIX_OK;
  }
  /* The copy is already allocated: count it, and make room if the
   * budget is full (table i is held, so it is never the one dropped,
   * and the shared table it replaces is not counted).  Another writer
   * may replace it first, while this one waits. */
  pthread_mutex_lock (c->lock);
  err = reserve_locked (c, i, *expected, true, replaced);
  if (*replaced) {
    __atomic_store_n (&c->slots[i], t, __ATOMIC_RELEASE);
    if (__atomic_load_n (&c->waiters, __ATOMIC_SEQ_CST))
      pthread_cond_broadcast (&c->room);
  }
  else {
    *expected = c->slots[i];
    err = VIX_OK;
  }
  pthread_mutex_unlock (c->lock);
  __atomic_store_n (&c->used[i], 1, __ATOMIC_RELAXED);
  return err;
}

void
table_cache_release (struct table_cache *c, uint32_t i)
{
  if (!c->bounded ||
      __atomic_sub_fetch (&c->holders[i], 1, __ATOMIC_SEQ_CST) != 0 ||
      __atomic_load_n (&c->waiters, __ATOMIC_SEQ_CST) == 0)
    return;
  /* Someone may be waiting for room, and this table can now be
   * dropped.  (Taking the lock orders this after its wait began.) */
  pthread_mutex_lock (c->lock);
  pthread_cond_broadcast (&c->room);
  pthread_mutex_unlock (c->lock);
}

void
table_cache_free (struct table_cache *c)
{
  uint32_t i;

  if (c->bounded)
    vdl_debug ("VixDiskLib: grain table cache: at most %u tables in "
               "memory at once (budget %u of %u)", c->peak, c->max_loaded,
               c->n);
  if (c->slots)
    for (i = 0; i < c->n; i++)
      if (c->slots[i] != c->shared)
        free (c->slots[i]);
  free (c->holders);
  free (c->used);
  pthread_cond_destroy (&c->room);
}
