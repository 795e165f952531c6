/* SPDX-License-Identifier: BSD-3-Clause */
/* Memory for secrets (see secret.h). */
#include <malloc.h>
#include <stdlib.h>
#include <string.h>

#include "secret.h"
#include "secret-pages.h"

char *
vdl_secret_strndup (const char *s, size_t n)
{
  size_t len;
  char *c;

  if (!s)
    return NULL;
  len = strnlen (s, n);
  if (!(c = secret_pages_alloc (len + 1)))
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
  char *c = secret_pages_alloc (a + b + 1);

  if (!c)
    return NULL;
  memcpy (c, prefix, a);
  memcpy (c + a, s, b + 1);
  return c;
}

void
vdl_secret_free (char *s)
{
  secret_pages_free (s);
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
