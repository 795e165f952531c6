/* SPDX-License-Identifier: BSD-3-Clause */
/* Pages for secrets (passwords, session cookies), used by the library
 * and by the plugin, which each keep their own.  A block is mapped for
 * its secret alone, left out of core dumps (MADV_DONTDUMP, which the
 * kernel and gdb's gcore honour), locked against swapping where
 * RLIMIT_MEMLOCK allows, and zeroed before it is unmapped. */
#ifndef COMMON_SECRET_PAGES_H
#define COMMON_SECRET_PAGES_H

#include <stddef.h>

/* Room for at least n bytes, zeroed; NULL (errno set) if it cannot be
 * mapped. */
char *secret_pages_alloc (size_t n);
/* How many bytes the block at s has room for. */
size_t secret_pages_room (const char *s);
/* Zero and unmap; NULL is ignored.  Aborts on a block it did not give
 * out (a bug, never to be turned into a leak). */
void secret_pages_free (char *s);

#endif
