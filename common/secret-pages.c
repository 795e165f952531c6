/* SPDX-License-Identifier: BSD-3-Clause */
/* Pages for secrets (see secret-pages.h). */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "secret-pages.h"

#define SECRET_MAGIC UINT64_C (0x5ec2e7a11ca7ed00)

/* At the start of each mapping, before the secret itself. */
struct secret_head {
  uint64_t magic;
  size_t map_len;
};

char *
secret_pages_alloc (size_t n)
{
  size_t page = sysconf (_SC_PAGESIZE), len;
  struct secret_head *h;

  if (n > SIZE_MAX - sizeof *h - page) {
    errno = ENOMEM;
    return NULL;
  }
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

size_t
secret_pages_room (const char *s)
{
  const struct secret_head *h = (const struct secret_head *) s - 1;

  return h->map_len - sizeof *h;
}

void
secret_pages_free (char *s)
{
  struct secret_head *h;
  size_t len;

  if (!s)
    return;
  h = (struct secret_head *) s - 1;
  if (h->magic != SECRET_MAGIC)
    abort ();
  len = h->map_len;
  explicit_bzero (h, len);
  munmap (h, len);
}
