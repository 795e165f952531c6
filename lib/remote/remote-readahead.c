/* SPDX-License-Identifier: BSD-3-Clause */
/* Parallel read-ahead for one datastore file read over HTTPS.
 *
 * Over a wide-area network one connection carries far less than the
 * server and the network can together (its window, and the server's
 * pacing per connection), so a sequential reader is served from chunks
 * fetched by ranged GETs on several kept-alive connections at once: up
 * to `connections` fetcher threads, each running one transfer on a
 * connection of the session's pool (which bounds the connections of
 * all the files of a session together).
 *
 * The file is cut into aligned chunks.  A read is sequential if it
 * continues a run of reads that each started where the one before ended,
 * once the run is long enough (RUN_READS reads or RUN_BYTES: a copy, not
 * the header, descriptor and tables an open reads one after the other),
 * or if it starts in the chunk right after one in memory: its chunk is
 * queued.  A read served from a chunk queues the
 * `connections` chunks after it, so that every connection has a
 * transfer while the reader consumes (and a reader that stops after one
 * read, e.g. a random read that happened to look sequential, costs one
 * chunk, not a deep read-ahead).  A read that lags a little behind the
 * reader furthest on (out-of-order requests of a parallel copy, a
 * chain's base read between a delta's grains) neither queues nor
 * fetches a chunk again: the chunks behind were read and let go, and
 * fetching them again would let go of those still ahead (a chain's base
 * was fetched twice over).  Any other read is one GET of its own bytes:
 * one round trip.
 *
 * Where the source knows which areas hold data (a thin disk's areas in
 * use), a reader that skips the rest (a copy that asked for block
 * status) gets the next chunks that hold data read ahead, not the holes
 * between them, each fetched only from its first data to its last.  Once a read
 * lands wholly in a hole, the reader reads holes too, and everything
 * ahead is fetched again.
 *
 * Memory: `connections` + 2 chunk buffers at most per file (the chunk
 * being read, those ahead of it, one left behind for readers still
 * copying out), each allocated when first used.  The chunk size is the
 * largest power of two up to MAX_CHUNK for which the session's files
 * open when reading starts fit BUDGET together, and at least MIN_CHUNK;
 * files that are all in their first GET (descriptors) do not count.
 *
 * Chunks are usable as their bytes arrive: a reader waits only for its
 * own bytes (struct waiter), and is woken alone, after the lock is
 * released.  The lock is never held during a transfer or a copy; a
 * chunk being copied from is pinned (readers) and not reused meanwhile.
 * A chunk whose transfer failed is dropped and its waiters read their
 * bytes directly, so that the error (recorded per thread) reaches them.
 */
#include <pthread.h>
#include <semaphore.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "error.h"
#include "log.h"
#include "remote-readahead.h"

#define MIN_CHUNK ((size_t) 256 << 10)
#define MAX_CHUNK ((size_t) 8 << 20)
#define BUDGET ((uint64_t) 64 << 20)
/* The most chunks queued ahead at once (above the connection pool's
 * most, VDL_HTTP_CONNECTIONS_MAX). */
#define MAX_AHEAD 64

enum chunk_state { EMPTY, QUEUED, LOADING, READY };

/* No read yet: a first read is not sequential, even at offset 0, so that
 * reading a descriptor or a sparse header costs one GET of its own bytes
 * on the calling thread, not a chunk and a fetcher's connection. */
#define NO_READ UINT64_MAX
/* Reading ahead stops once this many more chunks were let go with less
 * than 1/WASTE_FRACTION of them read than with more, and tries one
 * chunk in PROBE_EVERY until enough are read again. */
#define WASTED_CHUNKS 2
#define WASTE_FRACTION 4
#define PROBE_EVERY 16
/* How long a run of contiguous reads starts reading ahead. */
#define RUN_READS 8
#define RUN_BYTES ((uint64_t) 256 << 10)

/* A reader waiting for a chunk's bytes up to need (filled >= need), or
 * for the end of its transfer. */
struct waiter {
  size_t need;
  bool failed;                  /* the transfer failed: read directly */
  sem_t sem;
  struct waiter *next;
};

struct chunk {
  struct vdl_readahead *ra;
  enum chunk_state state;
  uint64_t key;                 /* the chunk's aligned start */
  uint64_t start;               /* where its bytes start: key, or its first
                                 * data when fetched ahead of a reader that
                                 * skips holes */
  size_t len;
  size_t filled;                /* bytes of [start, start+len) in buf */
  unsigned char *buf;           /* ra->chunk bytes, from the first use */
  unsigned readers;             /* copying out without the lock */
  unsigned long used;           /* for LRU reuse */
  size_t copied;                /* bytes readers copied out of it */
  struct waiter *waiters;
  size_t wake_at;               /* the least fill a waiter waits for */
};

struct vdl_readahead {
  vdl_fetch_fn *fetch;
  vdl_data_fn *data;            /* may be NULL */
  void *source;
  uint64_t size;
  const unsigned *files;        /* atomic: the session's files that may
                                 * read ahead */
  unsigned connections;
  size_t chunk;                 /* 0 until the first chunk is queued */
  pthread_mutex_t lock;         /* everything below */
  pthread_cond_t work;          /* a chunk was queued, or closing */
  unsigned nslots;
  struct chunk *slots;
  pthread_t *threads;
  unsigned nthreads, idle, queued;
  bool stop;                    /* also read atomically by transfers */
  uint64_t last_end;            /* where the latest read ended; NO_READ
                                 * before the first */
  unsigned run_reads;           /* the reads in a row that end at */
  uint64_t run_bytes;           /* last_end, and their bytes */
  unsigned long tick;
  bool reads_holes;             /* a read fell wholly in a hole */
  uint64_t front;               /* the chunk of the reader furthest on;
                                 * NO_READ before the first */
  unsigned wasted;              /* chunks let go mostly unread, less
                                 * those read (at most 2 *
                                 * WASTED_CHUNKS) */
  unsigned refused;             /* chunks not fetched since, for that */
};

/* A chunk buffer: its own mapping, in transparent huge pages where the
 * system allows them on request, since every byte of it is written by a
 * transfer: 2 MiB pages take 4 page faults per 8 MiB chunk instead of
 * 2048 (a tenth of the CPU of a loopback copy of a small disk went to
 * those faults), and the copies into it miss the TLB less. */
#define HUGE_PAGE ((size_t) 2 << 20)

static unsigned char *
buffer_alloc (size_t size)
{
  void *p = mmap (NULL, size, PROT_READ | PROT_WRITE,
                  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

  if (p == MAP_FAILED)
    return NULL;
#ifdef MADV_HUGEPAGE
  if (size >= HUGE_PAGE)
    madvise (p, size, MADV_HUGEPAGE);   /* only a hint */
#endif
  return p;
}

static void
buffer_free (unsigned char *buf, size_t size)
{
  if (buf)
    munmap (buf, size);
}

/* Take the waiters of c that are satisfied (all of them if all, marked
 * failed if failed), to be woken with wake once the lock is released. */
static struct waiter *
satisfied (struct chunk *c, bool all, bool failed)
{
  struct waiter **pp = &c->waiters, *x, *woken = NULL;

  c->wake_at = SIZE_MAX;
  while ((x = *pp)) {
    if (all || x->need <= c->filled) {
      *pp = x->next;
      x->failed = failed;
      x->next = woken;
      woken = x;
    }
    else {
      if (x->need < c->wake_at)
        c->wake_at = x->need;
      pp = &x->next;
    }
  }
  return woken;
}

static void
wake (struct waiter *x)
{
  struct waiter *next;

  for (; x; x = next) {
    next = x->next;             /* x is gone once posted */
    sem_post (&x->sem);
  }
}

/* Called for every piece of a chunk's transfer. */
static void
progress (void *opaque, size_t got)
{
  struct chunk *c = opaque;
  struct vdl_readahead *ra = c->ra;
  struct waiter *woken = NULL;

  pthread_mutex_lock (&ra->lock);
  c->filled = got;
  if (c->filled >= c->wake_at)
    woken = satisfied (c, false, false);
  pthread_mutex_unlock (&ra->lock);
  wake (woken);
}

/* The queued chunk that comes first in the file: the one a reader needs
 * soonest. */
static struct chunk *
next_queued (struct vdl_readahead *ra)
{
  struct chunk *best = NULL;
  unsigned i;

  for (i = 0; i < ra->nslots; i++)
    if (ra->slots[i].state == QUEUED &&
        (!best || ra->slots[i].start < best->start))
      best = &ra->slots[i];
  return best;
}

static void *
fetcher (void *arg)
{
  struct vdl_readahead *ra = arg;
  struct waiter *woken;
  struct chunk *c;
  VixError err;

  pthread_mutex_lock (&ra->lock);
  for (;;) {
    while (!ra->stop && !(c = next_queued (ra))) {
      ra->idle++;
      pthread_cond_wait (&ra->work, &ra->lock);
      ra->idle--;
    }
    if (ra->stop)
      break;
    c->state = LOADING;
    ra->queued--;
    pthread_mutex_unlock (&ra->lock);
    err = ra->fetch (ra->source, c->buf, c->len, c->start, progress,
                                 c, &ra->stop);
    pthread_mutex_lock (&ra->lock);
    c->state = err == VIX_OK ? READY : EMPTY;
    woken = satisfied (c, true, err != VIX_OK);
    pthread_mutex_unlock (&ra->lock);
    wake (woken);
    pthread_mutex_lock (&ra->lock);
  }
  pthread_mutex_unlock (&ra->lock);
  return NULL;
}

struct vdl_readahead *
vdl_readahead_new (vdl_fetch_fn *fetch, vdl_data_fn *data, void *source,
                   uint64_t size, unsigned connections, const unsigned *files)
{
  struct vdl_readahead *ra = calloc (1, sizeof *ra);
  unsigned i;

  if (!ra)
    return NULL;
  ra->fetch = fetch;
  ra->data = data;
  ra->source = source;
  ra->size = size;
  ra->files = files;
  ra->connections = connections ? connections : 1;
  ra->last_end = NO_READ;
  ra->front = NO_READ;
  ra->nslots = ra->connections + 2;
  ra->slots = calloc (ra->nslots, sizeof *ra->slots);
  ra->threads = calloc (ra->connections, sizeof *ra->threads);
  if (!ra->slots || !ra->threads) {
    free (ra->slots);
    free (ra->threads);
    free (ra);
    return NULL;
  }
  for (i = 0; i < ra->nslots; i++) {
    ra->slots[i].ra = ra;
    ra->slots[i].wake_at = SIZE_MAX;
  }
  pthread_mutex_init (&ra->lock, NULL);
  pthread_cond_init (&ra->work, NULL);
  return ra;
}

void
vdl_readahead_free (struct vdl_readahead *ra)
{
  unsigned i;

  if (!ra)
    return;
  pthread_mutex_lock (&ra->lock);
  __atomic_store_n (&ra->stop, true, __ATOMIC_RELAXED);
  pthread_cond_broadcast (&ra->work);
  pthread_mutex_unlock (&ra->lock);
  for (i = 0; i < ra->nthreads; i++)
    pthread_join (ra->threads[i], NULL);
  for (i = 0; i < ra->nslots; i++)
    buffer_free (ra->slots[i].buf, ra->chunk);
  pthread_cond_destroy (&ra->work);
  pthread_mutex_destroy (&ra->lock);
  free (ra->slots);
  free (ra->threads);
  free (ra);
}

/* The chunk size, chosen when reading ahead starts. */
static size_t
chunk_size (struct vdl_readahead *ra)
{
  unsigned files;
  size_t c = MAX_CHUNK;

  if (ra->chunk)
    return ra->chunk;
  files = __atomic_load_n (ra->files, __ATOMIC_RELAXED);
  if (files == 0)
    files = 1;
  while (c > MIN_CHUNK && (uint64_t) c * ra->nslots * files > BUDGET)
    c /= 2;
  ra->chunk = c;
  vdl_debug ("VixDiskLib: reading ahead in chunks of %zu KiB on %u "
             "connections (%u file%s sharing the memory)", c >> 10,
             ra->connections, files, files == 1 ? "" : "s");
  return c;
}

static uint64_t
chunk_start (struct vdl_readahead *ra, uint64_t offset)
{
  return offset - offset % chunk_size (ra);
}

/* The chunk in memory (or coming) holding the byte at offset. */
static struct chunk *
containing (struct vdl_readahead *ra, uint64_t offset)
{
  unsigned i;

  for (i = 0; i < ra->nslots; i++)
    if (ra->slots[i].state != EMPTY && ra->slots[i].start <= offset &&
        offset - ra->slots[i].start < ra->slots[i].len)
      return &ra->slots[i];
  return NULL;
}

/* Whether a read of len bytes at offset makes a run of contiguous reads
 * long enough to read ahead of; counts it in the run. */
static bool
long_run (struct vdl_readahead *ra, uint64_t offset, size_t len)
{
  if (offset == ra->last_end) {
    ra->run_reads++;
    ra->run_bytes += len;
  }
  else {
    ra->run_reads = 1;
    ra->run_bytes = len;
  }
  return ra->run_reads > 1 &&
    (ra->run_reads >= RUN_READS || ra->run_bytes >= RUN_BYTES);
}

/* The chunk in memory (or coming) that starts at key, whatever part of
 * it it holds. */
static struct chunk *
with_key (struct vdl_readahead *ra, uint64_t key)
{
  unsigned i;

  for (i = 0; i < ra->nslots; i++)
    if (ra->slots[i].state != EMPTY && ra->slots[i].key == key)
      return &ra->slots[i];
  return NULL;
}

/* Whether offset is in the chunk right after one in memory. */
static bool
after_chunk (struct vdl_readahead *ra, uint64_t offset)
{
  uint64_t key = chunk_start (ra, offset);

  return key >= chunk_size (ra) && with_key (ra, key - chunk_size (ra));
}

/* Whether reading ahead pays: not if WASTED_CHUNKS more of the chunks
 * let go had less than 1/WASTE_FRACTION of their bytes read than had
 * more.  Readers that hop around the file (a sparse extent's grains,
 * stored in the order they were written, read in disk order) are then
 * better served by a GET of their own bytes each: a chunk's transfer
 * holds a connection for the bytes around theirs.  A reader that reads
 * a whole chunk's worth in a row is sequential whatever came before. */
static bool
pays (struct vdl_readahead *ra)
{
  return ra->wasted < WASTED_CHUNKS || ra->run_bytes >= chunk_size (ra);
}

/* Whether to fetch a chunk for a reader that looks sequential: where
 * reading ahead does not pay, one in PROBE_EVERY, to find out whether
 * it pays again. */
static bool
worth_a_chunk (struct vdl_readahead *ra)
{
  return pays (ra) || ++ra->refused % PROBE_EVERY == 0;
}

/* Whether a read in the chunk at key lags behind the reader furthest
 * on: its chunk comes before that reader's, by no more than the chunks
 * kept, so it was most likely fetched and let go already (requests of a
 * parallel copy finish out of order, and a disk's chain reads its base
 * between the grains of a delta, late).  Such a read gets its own bytes
 * directly rather than a whole chunk again, and queues nothing (it would
 * let go of chunks the readers ahead of it still need).  A read further
 * back starts a new pass, and a reader that has read a whole chunk's
 * worth in a row is sequential in its own right. */
static bool
lagging (struct vdl_readahead *ra, uint64_t key)
{
  uint64_t size = chunk_size (ra);

  return ra->front != NO_READ && key < ra->front &&
    ra->front - key <= size * ra->nslots && ra->run_bytes < size;
}

/* Make sure a fetcher will take the chunk just queued: start one more
 * while there are more queued chunks than idle fetchers.  False if there
 * is no fetcher at all. */
static bool
start_fetcher (struct vdl_readahead *ra)
{
  if (ra->nthreads < ra->connections && ra->queued > ra->idle &&
      pthread_create (&ra->threads[ra->nthreads], NULL, fetcher, ra) == 0)
    ra->nthreads++;
  if (ra->nthreads == 0)
    return false;
  pthread_cond_signal (&ra->work);
  return true;
}

/* Queue len bytes at start of the chunk at key in a free slot, or in
 * the least recently used ready one outside [keep, keep_end) that nobody
 * is copying from; NULL if there is none. */
static struct chunk *
claim (struct vdl_readahead *ra, uint64_t key, uint64_t start, size_t len,
       uint64_t keep, uint64_t keep_end)
{
  struct chunk *best = NULL, *c;
  size_t size = chunk_size (ra);
  unsigned i;

  for (i = 0; i < ra->nslots; i++) {
    c = &ra->slots[i];
    if (c->state == QUEUED || c->state == LOADING || c->readers > 0 ||
        (c->state == READY && c->key >= keep && c->key < keep_end))
      continue;
    if (!best || (best->state == READY &&
                  (c->state == EMPTY || c->used < best->used)))
      best = c;
  }
  if (!best)
    return NULL;
  if (!best->buf && !(best->buf = buffer_alloc (size)))
    return NULL;
  if (best->state == READY) {
    /* Let go: did the readers use it? */
    if (best->copied * WASTE_FRACTION < best->len) {
      if (ra->wasted < 2 * WASTED_CHUNKS)
        ra->wasted++;
    }
    else if (ra->wasted > 0)
      ra->wasted--;
  }
  best->state = QUEUED;
  best->copied = 0;
  best->key = key;
  best->start = start;
  best->len = len;
  best->filled = 0;
  best->used = ++ra->tick;
  ra->queued++;
  if (!start_fetcher (ra)) {
    best->state = EMPTY;
    ra->queued--;
    return NULL;
  }
  return best;
}

/* The whole chunk at start, as long as the file allows. */
static size_t
full_len (struct vdl_readahead *ra, uint64_t start)
{
  size_t size = chunk_size (ra);

  return ra->size - start < size ? ra->size - start : size;
}

/* Whether to fetch only where the source says data is. */
static bool
skip_holes (const struct vdl_readahead *ra)
{
  return ra->data && !ra->reads_holes;
}

/* The first chunk at or after the one starting at start that holds
 * data (ra->size if none). */
static uint64_t
next_data_chunk (struct vdl_readahead *ra, uint64_t start)
{
  uint64_t ds, de;

  if (!skip_holes (ra) || !ra->data (ra->source, start, &ds, &de))
    return start;
  if (ds >= ra->size)
    return ra->size;
  return ds <= start ? start : chunk_start (ra, ds);
}

/* The bytes of the chunk at key worth fetching ahead, [*start,
 * *start + *len): from its first data to the end of its last, where the
 * source says where its data is, else all of it. */
static void
ahead_span (struct vdl_readahead *ra, uint64_t key, uint64_t *start,
            size_t *len)
{
  uint64_t end = key + full_len (ra, key), at = key, first = end, ds, de;

  *start = key;
  *len = full_len (ra, key);
  if (!skip_holes (ra))
    return;
  while (at < end) {
    if (!ra->data (ra->source, at, &ds, &de))
      return;
    if (ds >= end)
      break;
    if (first == end)
      first = ds;
    at = de < end ? de : end;
  }
  *start = first;
  *len = at > first ? at - first : 0;
}

/* Queue the chunks after the one holding offset (the next ones holding
 * data, if the source says), up to `connections` of them, where
 * missing; those up to the last of them stay in memory. */
static void
top_up (struct vdl_readahead *ra, uint64_t offset)
{
  size_t size = chunk_size (ra), len;
  uint64_t base = chunk_start (ra, offset), s = base + size, from;
  uint64_t ahead[MAX_AHEAD];
  unsigned j, n;

  for (n = 0; n < ra->connections && n < MAX_AHEAD; n++, s += size) {
    s = next_data_chunk (ra, s);
    if (s >= ra->size)
      break;
    ahead[n] = s;
  }
  for (j = 0; j < n; j++) {
    if (with_key (ra, ahead[j]))
      continue;
    ahead_span (ra, ahead[j], &from, &len);
    if (len > 0 &&
        !claim (ra, ahead[j], from, len, base, ahead[n - 1] + size))
      break;
  }
}

/* Whether [offset, offset+len) is all hole, as far as the source says. */
static bool
in_hole (struct vdl_readahead *ra, uint64_t offset, size_t len)
{
  uint64_t ds, de;

  return ra->data (ra->source, offset, &ds, &de) && ds >= offset + len;
}

VixError
vdl_readahead_read (struct vdl_readahead *ra, void *buf, size_t len,
                    uint64_t offset)
{
  unsigned char *p = buf;
  struct chunk *c;
  size_t n, need;
  uint64_t base;
  bool queued_now, streaming, lags;

  pthread_mutex_lock (&ra->lock);
  if (skip_holes (ra) && in_hole (ra, offset, len)) {
    ra->reads_holes = true;
    vdl_debug ("VixDiskLib: a read of an unused area: reading ahead "
               "through unused areas too");
  }
  streaming = long_run (ra, offset, len);
  while (len > 0) {
    queued_now = false;
    c = containing (ra, offset);
    base = chunk_start (ra, offset);
    lags = lagging (ra, base);
    /* (A chunk fetched from its first data holds no bytes before it:
     * those are read directly.) */
    if (!c && (streaming || after_chunk (ra, offset)) &&
        !with_key (ra, base) && !lags && worth_a_chunk (ra)) {
      uint64_t from;
      size_t span;

      ahead_span (ra, base, &from, &span);
      if (offset < from || offset - from >= span) {
        from = base;
        span = full_len (ra, base);
      }
      c = claim (ra, base, from, span, base,
                 base + (uint64_t) chunk_size (ra) * (ra->connections + 1));
      queued_now = true;
    }
    if (!c)
      break;                    /* not sequential, or no room: directly */
    if (!lags) {
      ra->front = base;
      if (!queued_now && pays (ra))
        top_up (ra, offset);
    }
    n = c->start + c->len - offset < len ? c->start + c->len - offset : len;
    need = offset + n - c->start;
    if (c->state != READY && c->filled < need) {
      struct waiter me = { .need = need, .next = c->waiters };

      sem_init (&me.sem, 0, 0);
      c->waiters = &me;
      if (need < c->wake_at)
        c->wake_at = need;
      pthread_mutex_unlock (&ra->lock);
      while (sem_wait (&me.sem) == -1)
        ;                       /* EINTR */
      sem_destroy (&me.sem);
      pthread_mutex_lock (&ra->lock);
      if (me.failed)
        break;                  /* the rest directly, for its error */
      continue;                 /* look again */
    }
    c->readers++;
    c->used = ++ra->tick;
    pthread_mutex_unlock (&ra->lock);
    memcpy (p, c->buf + (offset - c->start), n);
    pthread_mutex_lock (&ra->lock);
    c->readers--;
    c->copied += n;
    p += n;
    offset += n;
    len -= n;
    ra->last_end = offset;
    streaming = true;           /* the rest continues this chunk */
  }
  if (len == 0) {
    pthread_mutex_unlock (&ra->lock);
    return VIX_OK;
  }
  ra->last_end = offset + len;
  pthread_mutex_unlock (&ra->lock);
  return ra->fetch (ra->source, p, len, offset, NULL, NULL, NULL);
}
