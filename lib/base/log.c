/* SPDX-License-Identifier: BSD-3-Clause */
/* Route library messages to the callbacks given to VixDiskLib_InitEx.
 * Before InitEx (or with NULL callbacks) messages are dropped, as an
 * application that gave no logger asked for silence.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>

#include "escape.h"
#include "log.h"

static VixDiskLibGenericLogFunc *log_fn, *warn_fn;

void
vdl_log_set (VixDiskLibGenericLogFunc *log, VixDiskLibGenericLogFunc *warn,
             VixDiskLibGenericLogFunc *panic)
{
  /* Errors are returned to the caller with their text, never only
   * logged, and we never panic: the warning callback is only for what
   * the user must know although nothing failed. */
  (void) panic;
  log_fn = log;
  warn_fn = warn;
}

static void
call_log (VixDiskLibGenericLogFunc *fn, const char *fmt, ...)
{
  va_list args;

  va_start (args, fmt);
  fn (fmt, args);
  va_end (args);
}

static void
emit (VixDiskLibGenericLogFunc *fn, const char *fmt, va_list args)
{
  char *raw, *text;

  if (vasprintf (&raw, fmt, args) < 0) {
    call_log (fn, "%s", fmt);   /* the message's bare format, at least */
    return;
  }
  /* Names of files (ours, or the server's) may hold anything: a newline
   * would forge a log line and an escape sequence drive the terminal. */
  text = escape_controls_dup (raw);
  call_log (fn, "%s", text ? text : raw);
  free (text);
  free (raw);
}

void
vdl_debug (const char *fmt, ...)
{
  va_list args;

  if (!log_fn)
    return;
  va_start (args, fmt);
  emit (log_fn, fmt, args);
  va_end (args);
}

void
vdl_warning (const char *fmt, ...)
{
  va_list args;

  if (!warn_fn)
    return;
  va_start (args, fmt);
  emit (warn_fn, fmt, args);
  va_end (args);
}
