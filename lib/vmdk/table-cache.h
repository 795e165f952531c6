/* SPDX-License-Identifier: BSD-3-Clause */
/* A bounded cache of an extent's grain tables (hosted sparse, COWD and
 * seSparse extents), so that memory does not grow with the disk.
 *
 * The owner keeps one pointer per table (slots, NULL until loaded);
 * readers find loaded tables without locks.  Past a budget the least
 * recently used tables are dropped (a clock with a "used since the hand
 * passed" mark per table).
 *
 * The budget bounds the memory whatever the concurrency: a thread holds
 * table i between table_cache_get and table_cache_release (a count per
 * table), and a held table is never dropped, so it counts toward the
 * budget.  A thread that needs a table not in memory first reserves
 * room for it; while every table in memory is held by other threads, it
 * waits until one is released, instead of allocating past the budget.
 * So hold one table of a cache at a time (tables of different caches,
 * such as a child's and its parent's, are fine: a parent never waits
 * for its child).
 *
 * Tables that writers changed (dirty) stay until written back.  When
 * only dirty tables are left to drop, the owner's write_back makes them
 * clean (called with the owner's lock held); pinned tables are kept
 * whatever their state.  When only such tables are left, the cache goes
 * over its budget rather than wait for ever.  Writers change a table
 * only with that lock held, after checking that its slot still holds
 * the table they got: dropping also takes the lock. */
#ifndef VDL_TABLE_CACHE_H
#define VDL_TABLE_CACHE_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vixDiskLib.h"

/* Bytes of tables one disk (all its links and extents) keeps when no
 * budget is configured. */
#define TABLE_CACHE_DEFAULT_BUDGET (4u << 20)

struct table_cache {
  void **slots;                 /* the owner's table pointers */
  uint32_t n;                   /* how many */
  const void *shared;           /* a shared table of zeros: never freed */
  pthread_mutex_t *lock;        /* the owner's: held to drop or change */
  const bool *dirty;            /* per table, or NULL if never written */
  const uint16_t *pinned;       /* per table: kept while nonzero (read
                                 * with lock held), or NULL */
  VixError (*write_back) (void *owner);
  void *owner;
  size_t table_bytes;
  bool bounded;                 /* else every table stays loaded */
  uint32_t max_loaded;          /* the budget, in tables */
  uint32_t loaded;              /* private tables in memory or being
                                 * loaded (lock held) */
  uint32_t loading;             /* of which being loaded (lock held) */
  uint32_t peak;                /* the most there were at once */
  uint32_t hand;                /* the clock's next table */
  uint32_t *holders;            /* per table: threads holding it */
  unsigned char *used;          /* per table: used since the hand passed */
  unsigned waiters;             /* threads waiting for room */
  pthread_cond_t room;          /* a held table was released */
};

/* Set c up for n tables of table_bytes each.  It is bounded if they
 * do not all fit the budget (and the bookkeeping can be allocated).
 * slots must hold n NULL pointers; dirty, pinned, write_back and owner
 * may be set afterwards. */
void table_cache_init (struct table_cache *c, void **slots, uint32_t n,
                       size_t table_bytes, const void *shared,
                       pthread_mutex_t *lock);

/* The configured budget in bytes, or the default. */
uint64_t table_cache_budget (void);

/* Bytes that all of c's tables would take. */
uint64_t table_cache_bytes (const struct table_cache *c);

/* Lower c's budget to bytes (at least two tables): its share of a
 * disk-wide budget.  A cache not bounded yet becomes bounded only if
 * !live, that is before any reader can be inside (at open); a live one
 * is only tightened. */
void table_cache_limit (struct table_cache *c, uint64_t bytes, bool live);

/* Read table i into *out (a new allocation, or shared for zeros). */
typedef VixError (*table_load_fn) (void *owner, uint32_t i, void **out);

/* Table i, loaded with load if it is not in memory, and held until
 * table_cache_release (c, i), which must follow whatever this returns.
 * Two threads may load it at once: the first to publish wins.  Also
 * fails, with the table in memory and in *out (NULL on other
 * failures), when making room for it needed a write-back that failed.
 * Never call it with the owner's lock held: it may wait for room. */
VixError table_cache_get (struct table_cache *c, uint32_t i,
                          table_load_fn load, void **out);

/* Publish t as table i if the slot still holds expected (a writer
 * replacing the shared zero table with a copy of its own), with table i
 * held: *replaced says whether it did; if not, *expected is what the
 * slot holds.  Fails like table_cache_get when making room failed. */
VixError table_cache_replace (struct table_cache *c, uint32_t i,
                              void **expected, void *t, bool *replaced);

/* Let go of table i, after table_cache_get (c, i, ...). */
void table_cache_release (struct table_cache *c, uint32_t i);

/* Free every table and the bookkeeping (no table may be held).  Logs
 * how many private tables were in memory at most (with the budget). */
void table_cache_free (struct table_cache *c);

#endif
