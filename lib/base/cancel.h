/* SPDX-License-Identifier: BSD-3-Clause */
/* OpenVixDiskLib_Cancel: long operations that make new disks (Create,
 * CreateChild, Clone) take a token when they start and stop, removing
 * what they made, once a cancel has come after it. */
#ifndef VDL_CANCEL_H
#define VDL_CANCEL_H

#include <stdbool.h>

unsigned vdl_cancel_token (void);
bool vdl_cancelled (unsigned token);
/* Cancel what runs now (OpenVixDiskLib_Cancel, api-cancel.c).
 * Async-signal-safe: one lock-free atomic add. */
void vdl_cancel (void);

#endif
