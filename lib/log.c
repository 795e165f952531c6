/* Route library messages to the callbacks given to VixDiskLib_InitEx.
 * Before InitEx (or with NULL callbacks) messages are dropped, as an
 * application that gave no logger asked for silence.
 */
#include <stdarg.h>
#include <stddef.h>

#include "log.h"

static VixDiskLibGenericLogFunc *log_fn, *warn_fn;

void
vdl_log_set (VixDiskLibGenericLogFunc *log, VixDiskLibGenericLogFunc *warn,
             VixDiskLibGenericLogFunc *panic)
{
  (void) panic;               /* we never panic: errors are returned */
  log_fn = log;
  warn_fn = warn;
}

static void
emit (VixDiskLibGenericLogFunc *fn, const char *fmt, va_list args)
{
  if (fn)
    fn (fmt, args);
}

void
vdl_debug (const char *fmt, ...)
{
  va_list args;
  va_start (args, fmt);
  emit (log_fn, fmt, args);
  va_end (args);
}

void
vdl_warn (const char *fmt, ...)
{
  va_list args;
  va_start (args, fmt);
  emit (warn_fn, fmt, args);
  va_end (args);
}
