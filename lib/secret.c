/* SPDX-License-Identifier: BSD-3-Clause */
/* Memory for secrets (see secret.h). */
#include <malloc.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "secret.h"

#define SECRET_MAGIC UINT64_C (0x5ec2e7a11ca7ed00)

/* At the start of each mapping, before the secret itself. */
struct secret_head {
  uint64_t magic;
  size_t map_len;
};

static char *
secret_alloc (size_t n)
{
  size_t page = sysconf (_SC_PAGESIZE), len;
  struct secret_head *h;

  if (n > SIZE_MAX - sizeof *h - page)
    return NULL;
  len = (sizeof *h + n + page - 1) / page * page;
  h = mmap (NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
            -1, 0);
  if (h == MAP_FAILED)
    return NULL;
  /* Both are best effort: an old kernel, or a memlock limit reached,
   * still leaves the secret zeroed when it is freed. */
  (void) madvise (h, len, MADV_DONTDUMP);
  (void) mlock (h, len);
  h->magic = SECRET_MAGIC;
  h->map_len = len;
  return (char *) (h + 1);
}

char *
vdl_secret_strndup (const char *s, size_t n)
{
  size_t len;
  char *c;

  if (!s)
    return NULL;
  len = strnlen (s, n);
  if (!(c = secret_alloc (len + 1)))
    return NULL;
  memcpy (c, s, len);
  c[len] = '\0';
  return c;
}

char *
vdl_secret_strdup (const char *s)
{
  return s ? vdl_secret_strndup (s, strlen (s)) : NULL;
}

char *
vdl_secret_concat (const char *prefix, const char *s)
{
  size_t a = strlen (prefix), b = strlen (s);
  char *c = secret_alloc (a + b + 1);

  if (!c)
    return NULL;
  memcpy (c, prefix, a);
  memcpy (c + a, s, b + 1);
  return c;
}

void
vdl_secret_free (char *s)
{
  struct secret_head *h;
  size_t len;

  if (!s)
    return;
  h = (struct secret_head *) s - 1;
  if (h->magic != SECRET_MAGIC)
    abort ();                   /* not ours: a bug, never a leak */
  len = h->map_len;
  explicit_bzero (h, len);
  munmap (h, len);
}

void
vdl_zfree (void *p)
{
  if (p) {
    explicit_bzero (p, malloc_usable_size (p));
    free (p);
  }
}

void *
vdl_zrealloc (void *p, size_t n)
{
  size_t old;
  void *q;

  if (!p)
    return malloc (n);
  old = malloc_usable_size (p);
  if (n <= old && n > 0)
    return p;                   /* fits: nothing is copied or freed */
  if (!(q = malloc (n ? n : 1)))
    return NULL;
  memcpy (q, p, old < n ? old : n);
  vdl_zfree (p);
  return q;
}
