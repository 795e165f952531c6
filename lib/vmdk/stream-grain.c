/* SPDX-License-Identifier: BSD-3-Clause */
/* A stream-optimized grain as the file holds it: a marker giving its
 * LBA and size, then the zlib (or, in old files, raw deflate) stream of
 * its data.  Compressing one for writing, and decompressing one for
 * reading, with each thread keeping the last grain it decompressed:
 * readers go through a grain in several requests.
 */
#include <endian.h>
#include <libdeflate.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "compress.h"
#include "error.h"
#include "stream.h"

VixError
stream_compress_grain (struct grained_extent *s, uint64_t gi,
                       const unsigned char *data, size_t len,
                       unsigned char **marker, size_t *bytes)
{
  size_t bound = vdl_zlib_bound (len), n;
  uint64_t lba = htole64 (gi * s->h.grain_size);
  uint32_t size;
  unsigned char *shrunk;

  *marker = malloc ((12 + bound + SS - 1) / SS * SS);
  if (!*marker)
    return vdl_oom ();
  n = vdl_zlib_compress (data, len, *marker + 12);
  if (n == 0) {
    free (*marker);
    return vdl_error (VIX_E_FAIL, "%s: compressing grain %llu failed",
                      s->e.path, (unsigned long long) gi);
  }
  size = htole32 (n);
  memcpy (*marker, &lba, 8);
  memcpy (*marker + 8, &size, 4);
  *bytes = (12 + n + SS - 1) / SS * SS;
  memset (*marker + 12 + n, 0, *bytes - 12 - n);
  /* Grains wait in the window: keep only what they need, not the
   * worst case of an incompressible grain. */
  if ((shrunk = realloc (*marker, *bytes)))
    *marker = shrunk;
  return VIX_OK;
}

/* The last grain a thread decompressed, and its buffers. */
struct grain_cache {
  uint64_t extent_id, grain;
  uint32_t at;                  /* where it was: rewritten grains move */
  unsigned char *data;
  size_t cap;
  unsigned char *in;
  size_t in_cap;
  struct libdeflate_decompressor *d;
};

static pthread_key_t cache_key;
static pthread_once_t cache_once = PTHREAD_ONCE_INIT;

static void
free_cache (void *p)
{
  struct grain_cache *c = p;
  if (c->d)
    libdeflate_free_decompressor (c->d);
  free (c->data);
  free (c->in);
  free (c);
}

static void
make_cache_key (void)
{
  pthread_key_create (&cache_key, free_cache);
}

static struct grain_cache *
thread_cache (void)
{
  struct grain_cache *c;

  pthread_once (&cache_once, make_cache_key);
  c = pthread_getspecific (cache_key);
  if (!c) {
    c = calloc (1, sizeof *c);
    if (!c || !(c->d = libdeflate_alloc_decompressor ())) {
      free (c);
      return NULL;
    }
    pthread_setspecific (cache_key, c);
  }
  return c;
}

static bool
ensure (unsigned char **buf, size_t *cap, size_t need)
{
  unsigned char *p;

  if (*cap >= need)
    return true;
  p = realloc (*buf, need);
  if (!p)
    return false;
  *buf = p;
  *cap = need;
  return true;
}

/* Decompress grain number gi (extent-relative) stored at sector "at". */
static VixError
load_compressed_grain (struct grained_extent *s, struct grain_cache *c,
                       uint64_t gi, uint32_t at)
{
  size_t grain_bytes = s->h.grain_size * SS, hdr = s->markers ? 12 : 0;
  size_t max_in = 2 * grain_bytes + 4096, avail, want, in_len, out_len, used;
  uint64_t off = (uint64_t) at * SS, lba, end = grained_file_end (s);
  uint64_t expect_sectors = s->h.capacity - gi * s->h.grain_size;
  uint32_t size;
  enum libdeflate_result r;
  VixError err;

  if (expect_sectors > s->h.grain_size)
    expect_sectors = s->h.grain_size;
  avail = (end - at) * SS;
  want = grain_bytes + SS;
  if (want > avail)
    want = avail;
  if (!ensure (&c->in, &c->in_cap, max_in + hdr) ||
      !ensure (&c->data, &c->cap, grain_bytes))
    return vdl_oom ();
  err = vdl_file_pread (s->file, c->in, want, off);
  /* A stream writer cut unflushed grains off the end meanwhile; read
   * again within the new end. */
  if (err != VIX_OK && grained_file_end (s) < end)
    return load_compressed_grain (s, c, gi, at);
  if (err != VIX_OK)
    return err;
  in_len = want - hdr;
  if (s->markers) {
    memcpy (&lba, c->in, 8);
    memcpy (&size, c->in + 8, 4);
    lba = le64toh (lba);
    size = le32toh (size);
    if (size == 0 || size > max_in || lba != gi * s->h.grain_size)
      return vdl_error (VIX_E_DISK_NEEDSREPAIR,
                        "%s is corrupt: the grain marker at sector %u "
                        "(LBA %llu, %u bytes) does not describe grain %llu",
                        s->e.path, at, (unsigned long long) lba, size,
                        (unsigned long long) gi);
    if (hdr + size > avail)
      return vdl_error (VIX_E_DISK_NEEDSREPAIR,
                        "%s is truncated: compressed grain at sector %u "
                        "goes past the end of the file", s->e.path, at);
    if (hdr + size > want) {
      err = vdl_file_pread (s->file, c->in + want, hdr + size - want,
                            off + want);
      if (err != VIX_OK)
        return err;
    }
    in_len = size;
  }
  r = libdeflate_zlib_decompress_ex (c->d, c->in + hdr, in_len, c->data,
                                     grain_bytes, &used, &out_len);
  if (r != LIBDEFLATE_SUCCESS)   /* the format note says raw deflate */
    r = libdeflate_deflate_decompress_ex (c->d, c->in + hdr, in_len,
                                          c->data, grain_bytes, &used,
                                          &out_len);
  if (r != LIBDEFLATE_SUCCESS ||
      (out_len != grain_bytes && out_len != expect_sectors * SS)) {
    c->extent_id = 0;
    return vdl_error (VIX_E_DISK_NEEDSREPAIR,
                      "%s is corrupt: compressed grain %llu at sector %u "
                      "does not decompress to a grain (zlib error %d, "
                      "%zu bytes)", s->e.path, (unsigned long long) gi, at,
                      (int) r, r == LIBDEFLATE_SUCCESS ? out_len : 0);
  }
  if (out_len < grain_bytes)
    memset (c->data + out_len, 0, grain_bytes - out_len);
  c->extent_id = s->id;
  c->grain = gi;
  c->at = at;
  return VIX_OK;
}

VixError
stream_copy_grain (struct grained_extent *s, uint64_t gi, uint32_t at,
                   uint64_t first, uint64_t n, unsigned char *buf)
{
  struct grain_cache *c = thread_cache ();
  VixError err = VIX_OK;

  if (!c)
    return vdl_oom ();
  if (c->extent_id != s->id || c->grain != gi || c->at != at)
    err = load_compressed_grain (s, c, gi, at);
  if (err == VIX_OK)
    memcpy (buf, c->data + first * SS, n * SS);
  return err;
}

VixError
stream_read_grain (struct grained_extent *s, uint64_t gi, uint32_t at,
                   unsigned char *buf)
{
  return stream_copy_grain (s, gi, at, 0, s->h.grain_size, buf);
}
