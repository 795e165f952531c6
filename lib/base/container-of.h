/* SPDX-License-Identifier: BSD-3-Clause */
/* From a pointer to a member back to the struct holding it: how a byte
 * source or a store reaches its own state from the base struct the
 * layers above hand it. */
#ifndef VDL_CONTAINER_OF_H
#define VDL_CONTAINER_OF_H

#include <stddef.h>

#define container_of(ptr, type, member) \
  ((type *) (void *) ((char *) (ptr) - offsetof (type, member)))

#endif
