/* SPDX-License-Identifier: BSD-3-Clause */
/* nbdkit VDDK plugin: the library's log output and error texts. */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdarg.h>
#include <errno.h>
#include <unistd.h>

#include "escape.h"
#include "vddk.h"

/* Set while probing for extents, when failures are expected. */
__thread bool error_suppression;

/* vasprintf, dropping one trailing newline (nbdkit adds its own). */
static char *format_message (const char *fs, va_list args)
  __attribute__ ((__format__ (__printf__, 1, 0)));
static char *
format_message (const char *fs, va_list args)
{
  char *str;
  size_t len;

  if (vasprintf (&str, fs, args) == -1)
    return NULL;
  len = strlen (str);
  if (len > 0 && str[len-1] == '\n')
    str[len-1] = '\0';
  return str;
}

enum level { DEBUG, WARNING, ERROR };

/* nbdkit 1.32 has no warning level: a warning is one line on standard
 * error, beside nbdkit's own (it is not an error, and must be seen
 * without -v). */
static void
warn (const char *str)
{
  char *line;
  int n = asprintf (&line, "nbdkit: vddk: warning: %s\n", str);

  if (n == -1)
    return;
  /* One write, so that lines of other threads do not cut it. */
  if (write (STDERR_FILENO, line, n) != n) {
    /* nowhere to tell */
  }
  free (line);
}

/* str with its control characters escaped, at that level. */
static void
emit (enum level level, const char *str)
{
  char *safe = escape_controls_dup (str);
  const char *s = safe ? safe : str;

  if (level == ERROR)
    nbdkit_error ("%s", s);
  else if (level == WARNING)
    warn (s);
  else
    nbdkit_debug ("%s", s);
  free (safe);
}

/* emit of the formatted message. */
static void log_escaped (enum level level, const char *fs, va_list args)
  __attribute__ ((__format__ (__printf__, 2, 0)));
static void
log_escaped (enum level level, const char *fs, va_list args)
{
  char *str = format_message (fs, args);

  if (str == NULL) {
    if (level == ERROR)
      nbdkit_error ("lost error message: %s", fs);
    else
      nbdkit_debug ("lost message: %s", fs);
    return;
  }
  emit (level, str);
  free (str);
}

void
vddk_error (const char *fs, ...)
{
  va_list args;

  va_start (args, fs);
  log_escaped (ERROR, fs, args);
  va_end (args);
}

void
vddk_warning (const char *fs, ...)
{
  va_list args;

  va_start (args, fs);
  log_escaped (WARNING, fs, args);
  va_end (args);
}

void
vddk_debug (const char *fs, ...)
{
  va_list args;

  va_start (args, fs);
  log_escaped (DEBUG, fs, args);
  va_end (args);
}

/* The library's messages name files and servers' paths: VMware's
 * library does not escape them (ours does, and escaping twice changes
 * nothing). */
void
debug_function (const char *fs, va_list args)
{
  log_escaped (DEBUG, fs, args);
}

/* The library's warnings and panics. */
static void
library_message (enum level level, const char *fs, va_list args)
{
  char *str;

  if (error_suppression)
    return;

  str = format_message (fs, args);
  if (str == NULL) {
    nbdkit_error ("lost error message: %s", fs);
    return;
  }
  /* VDDK "phones home" and complains loudly when it cannot; that is
   * harmless, so keep it out of the error log.
   */
  if (strstr (str, "Get CEIP status failed") ||
      strstr (str, "VDDK_PhoneHome:"))
    level = DEBUG;
  emit (level, str);
  free (str);
}

/* A warning is not an error: a warning line, not nbdkit's "error:". */
void
warning_function (const char *fs, va_list args)
{
  library_message (WARNING, fs, args);
}

void
error_function (const char *fs, va_list args)
{
  library_message (ERROR, fs, args);
}

char *
vddk_error_text (VixError err)
{
  char *text;

  VDDK_CALL_START (GetErrorText, "%" PRIu64, (uint64_t) err);
  text = vix.GetErrorText (err, NULL);
  VDDK_CALL_END (GetErrorText, 0);
  return text;
}

void
vddk_free_error_text (char *text)
{
  VDDK_CALL_START (FreeErrorText, "");
  vix.FreeErrorText (text);
  VDDK_CALL_END (FreeErrorText, 0);
}

/* The reference plugin turns every failure into EIO; tell the client
 * more where the library's error code allows it.
 */
int
vix_errno (VixError err)
{
  switch (VIX_ERROR_CODE (err)) {
  case VIX_E_INVALID_ARG:
  case VIX_E_DISK_OUTOFRANGE:
    return EINVAL;
  case VIX_E_DISK_FULL:
    return ENOSPC;
  case VIX_E_FILE_READ_ONLY:
    return EROFS;
  case VIX_E_OUT_OF_MEMORY:
    return ENOMEM;
  default:
    return EIO;
  }
}
