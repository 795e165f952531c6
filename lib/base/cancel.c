/* SPDX-License-Identifier: BSD-3-Clause */
/* Cancelling the operations in progress (cancel.h).  A counter, not a
 * flag: a cancel stops what runs now, not what a program starts later. */
#include <stdatomic.h>

#include "cancel.h"

static atomic_uint generation;

_Static_assert (ATOMIC_INT_LOCK_FREE == 2,
                "a signal handler may only touch lock-free atomics");

unsigned
vdl_cancel_token (void)
{
  return atomic_load (&generation);
}

bool
vdl_cancelled (unsigned token)
{
  return atomic_load (&generation) != token;
}

void
vdl_cancel (void)
{
  atomic_fetch_add (&generation, 1);
}
