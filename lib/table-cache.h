/* SPDX-License-Identifier: BSD-3-Clause */
/* A bounded cache of an extent's grain tables (hosted sparse, COWD and
 * seSparse extents), so that memory does not grow with the disk.
 *
 * The owner keeps one pointer per table (slots, NULL until loaded);
 * readers load them without locks.  Past a budget the least recently
 * used tables are dropped (a clock with a "used since the hand passed"
 * mark per table).  A dropped table may still be in a reader's hands,
 * so it is only freed once no reader is inside: readers hold table
 * pointers only between table_cache_enter and table_cache_leave.
 *
 * Tables that writers changed (dirty) stay until written back.  When
 * only dirty tables are left to drop, the owner's write_back makes them
 * clean (called with the owner's lock held); pinned tables are kept
 * whatever their state.  Writers must change a
 * table only with that lock held, after checking that its slot still
 * holds the table they loaded: dropping also takes the lock. */
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
  uint32_t max_loaded, loaded;  /* private tables in memory */
  uint32_t hand;                /* the clock's next table */
  unsigned readers;             /* threads holding table pointers */
  unsigned char *used;          /* per table: used since the hand passed */
  void **retired;               /* dropped, freed once no reader is in */
  size_t n_retired, cap_retired;
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

/* Table i, loaded with load if it is not in memory.  Two threads may
 * load it at once: the first to publish wins.  Call between enter and
 * leave when the cache is bounded.  Also fails, with the table in
 * memory and in *out (NULL on other failures), when making room for it
 * needed a write-back that failed. */
VixError table_cache_get (struct table_cache *c, uint32_t i,
                          table_load_fn load, void **out);

/* Publish t as table i if the slot still holds expected (a writer
 * replacing the shared zero table with a copy of its own): *replaced
 * says whether it did; if not, *expected is what the slot holds.  Fails
 * like table_cache_get when making room failed. */
VixError table_cache_replace (struct table_cache *c, uint32_t i,
                              void **expected, void *t, bool *replaced);

void table_cache_enter (struct table_cache *c);
void table_cache_leave (struct table_cache *c);

/* Free every table and the bookkeeping (no reader may be inside). */
void table_cache_free (struct table_cache *c);

#endif
