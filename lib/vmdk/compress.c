/* SPDX-License-Identifier: BSD-3-Clause */
/* Compressing grains.  Data that looks random (encrypted or already
 * compressed files, which VM disks hold plenty of) is stored without
 * trying to compress it: deflate would end up storing it anyway, after
 * spending most of a stream create's CPU time looking for matches. */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <pthread.h>
#include <unistd.h>

#include <libdeflate.h>

#include "compress.h"

#define LEVEL 6                 /* as qemu and zlib default to */
#define MIN_SAMPLE 4096         /* shorter data is always compressed */

struct compressors {
  struct libdeflate_compressor *deflate, *store;
  struct compressors *next;     /* idle */
};

/* Compressors are lent to threads from a pool no larger than the
 * number of CPUs: compressing is CPU-bound, so more at once gains
 * nothing, while one per thread cost 64 of them (43 MB) under nbdkit's
 * 16 threads for each of nbdcopy's 4 connections. */
static pthread_mutex_t pool_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t pool_returned = PTHREAD_COND_INITIALIZER;
static struct compressors *idle;
static unsigned made, most;

static void
free_compressors (struct compressors *c)
{
  libdeflate_free_compressor (c->deflate);
  libdeflate_free_compressor (c->store);
  free (c);
}

static struct compressors *
new_compressors (void)
{
  struct compressors *c = calloc (1, sizeof *c);

  if (!c)
    return NULL;
  c->deflate = libdeflate_alloc_compressor (LEVEL);
  c->store = libdeflate_alloc_compressor (0);
  if (!c->deflate || !c->store) {
    free_compressors (c);
    return NULL;
  }
  return c;
}

/* An idle pair, a new one while fewer than the CPUs exist, or the next
 * one returned.  NULL when out of memory. */
static struct compressors *
borrow (void)
{
  struct compressors *c;

  pthread_mutex_lock (&pool_lock);
  if (most == 0) {
    long cpus = sysconf (_SC_NPROCESSORS_ONLN);
    most = cpus < 2 ? 2 : cpus > 64 ? 64 : (unsigned) cpus;
  }
  while (!idle && made >= most)
    pthread_cond_wait (&pool_returned, &pool_lock);
  if ((c = idle)) {
    idle = c->next;
    pthread_mutex_unlock (&pool_lock);
    return c;
  }
  made++;
  pthread_mutex_unlock (&pool_lock);
  if (!(c = new_compressors ())) {
    pthread_mutex_lock (&pool_lock);
    made--;
    pthread_cond_signal (&pool_returned);
    pthread_mutex_unlock (&pool_lock);
  }
  return c;
}

static void
give_back (struct compressors *c)
{
  pthread_mutex_lock (&pool_lock);
  c->next = idle;
  idle = c;
  pthread_cond_signal (&pool_returned);
  pthread_mutex_unlock (&pool_lock);
}

/* At unload.  A thread still compressing then (a process exiting
 * without waiting for its threads) keeps its pair. */
static void __attribute__ ((destructor))
free_pool (void)
{
  struct compressors *c;

  pthread_mutex_lock (&pool_lock);
  while ((c = idle)) {
    idle = c->next;
    free_compressors (c);
  }
  pthread_mutex_unlock (&pool_lock);
}

/* Whether the bytes are spread so evenly over the 256 values that
 * deflate cannot gain more than about 1 %: the sum of the squared byte
 * counts (the collision entropy) is within 7 % of what uniformly random
 * bytes give.  A fraction of the cost of one compression attempt. */
static bool
looks_random (const unsigned char *p, size_t len)
{
  uint32_t count[4][256] = { { 0 } };
  uint64_t squares = 0;
  size_t i;

  if (len < MIN_SAMPLE)
    return false;
  for (i = 0; i + 4 <= len; i += 4) {
    count[0][p[i]]++;
    count[1][p[i + 1]]++;
    count[2][p[i + 2]]++;
    count[3][p[i + 3]]++;
  }
  for (; i < len; i++)
    count[0][p[i]]++;
  for (i = 0; i < 256; i++) {
    uint64_t c = (uint64_t) count[0][i] + count[1][i] + count[2][i]
      + count[3][i];
    squares += c * c;
  }
  /* Random bytes: squares ~ len^2 / 256 (plus len). */
  return squares * 240 <= (uint64_t) len * len;
}

size_t
vdl_zlib_bound (size_t len)
{
  /* NULL: a bound for any compressor, the storing one included. */
  return libdeflate_zlib_compress_bound (NULL, len);
}

size_t
vdl_zlib_compress (const void *in, size_t len, void *out)
{
  struct compressors *c = borrow ();
  struct libdeflate_compressor *which;
  size_t n;

  if (!c)
    return 0;
  which = looks_random (in, len) ? c->store : c->deflate;
  n = libdeflate_zlib_compress (which, in, len, out,
                                libdeflate_zlib_compress_bound (which, len));
  give_back (c);
  return n;
}
