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

static void
call_log (const char *fmt, ...)
{
  va_list args;

  va_start (args, fmt);
  log_fn (fmt, args);
  va_end (args);
}

void
vdl_debug (const char *fmt, ...)
{
  va_list args;
  char *raw, *text;
  int r;

  if (!log_fn)
    return;
  va_start (args, fmt);
  r = vasprintf (&raw, fmt, args);
  va_end (args);
  if (r < 0) {
    call_log ("%s", fmt);       /* the message's bare format, at least */
    return;
  }
  /* Names of files (ours, or the server's) may hold anything: a newline
   * would forge a log line and an escape sequence drive the terminal. */
  text = escape_controls_dup (raw);
  call_log ("%s", text ? text : raw);
  free (text);
  free (raw);
}
