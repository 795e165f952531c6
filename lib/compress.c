/* SPDX-License-Identifier: BSD-3-Clause */
/* Compressing grains.  Data that looks random (encrypted or already
 * compressed files, which VM disks hold plenty of) is stored without
 * trying to compress it: deflate would end up storing it anyway, after
 * spending most of a stream create's CPU time looking for matches. */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <pthread.h>

#include <libdeflate.h>

#include "compress.h"

#define LEVEL 6                 /* as qemu and zlib default to */
#define MIN_SAMPLE 4096         /* shorter data is always compressed */

struct compressors {
  struct libdeflate_compressor *deflate, *store;
};

static pthread_key_t key;
static pthread_once_t key_once = PTHREAD_ONCE_INIT;

static void
free_compressors (void *p)
{
  struct compressors *c = p;

  libdeflate_free_compressor (c->deflate);
  libdeflate_free_compressor (c->store);
  free (c);
}

static void
make_key (void)
{
  pthread_key_create (&key, free_compressors);
}

static struct compressors *
thread_compressors (void)
{
  struct compressors *c;

  pthread_once (&key_once, make_key);
  c = pthread_getspecific (key);
  if (c)
    return c;
  c = calloc (1, sizeof *c);
  if (!c)
    return NULL;
  c->deflate = libdeflate_alloc_compressor (LEVEL);
  c->store = libdeflate_alloc_compressor (0);
  if (!c->deflate || !c->store || pthread_setspecific (key, c) != 0) {
    free_compressors (c);
    return NULL;
  }
  return c;
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
  struct compressors *c = thread_compressors ();
  size_t a, b;

  if (!c)
    return len + len / 64 + 1024;
  a = libdeflate_zlib_compress_bound (c->deflate, len);
  b = libdeflate_zlib_compress_bound (c->store, len);
  return a > b ? a : b;
}

size_t
vdl_zlib_compress (const void *in, size_t len, void *out)
{
  struct compressors *c = thread_compressors ();
  struct libdeflate_compressor *which;

  if (!c)
    return 0;
  which = looks_random (in, len) ? c->store : c->deflate;
  return libdeflate_zlib_compress (which, in, len, out,
                                   libdeflate_zlib_compress_bound (which,
                                                                   len));
}
