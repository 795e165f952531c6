/* SPDX-License-Identifier: BSD-3-Clause */
/* Error codes with a specific message.
 *
 * Each failing internal function records a human-readable message (which
 * file, what is wrong) for the calling thread and returns the VixError code.
 * VixDiskLib_GetErrorText returns that message when asked about the same
 * code on the same thread, and a generic text otherwise: never another
 * thread's message (asynchronous requests report on the thread that runs
 * their completion callback, which is where they failed).
 */
#ifndef VDL_ERROR_H
#define VDL_ERROR_H

#include "vixDiskLib.h"

VixError vdl_error (VixError code, const char *fmt, ...)
  __attribute__ ((format (printf, 2, 3)));

/* vdl_oom (): an allocation
 * failed. */
VixError vdl_oom (void);

/* Like vdl_error, appending ": strerror(errnum)" and choosing the code
 * from errnum (ENOENT -> FILE_NOT_FOUND, ENOSPC -> DISK_FULL, ...). */
VixError vdl_error_errno (int errnum, const char *fmt, ...)
  __attribute__ ((format (printf, 2, 3)));

/* Message for err: the recorded one if it matches, else the generic one.
 * The result is malloc'd. */
char *vdl_error_text (VixError err);

#endif
