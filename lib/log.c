/* SPDX-License-Identifier: BSD-3-Clause */
/* Route library messages to the callbacks given to VixDiskLib_InitEx.
 * Before InitEx (or with NULL callbacks) messages are dropped, as an
 * application that gave no logger asked for silence.
 */
#include <stdarg.h>
#include <stddef.h>

#include "log.h"

static VixDiskLibGenericLogFunc *log_fn;

void
vdl_log_set (VixDiskLibGenericLogFunc *log, VixDiskLibGenericLogFunc *warn,
             VixDiskLibGenericLogFunc *panic)
{
  /* Errors are returned to the caller with their text, never only
   * logged, and we never panic: only the debug log is used. */
  (void) warn;
  (void) panic;
  log_fn = log;
}

void
vdl_debug (const char *fmt, ...)
{
  va_list args;

  if (!log_fn)
    return;
  va_start (args, fmt);
  log_fn (fmt, args);
  va_end (args);
}
