/* SPDX-License-Identifier: BSD-3-Clause */
/* Messages from the library to the application's log callbacks. */
#ifndef VDL_LOG_H
#define VDL_LOG_H

#include <stddef.h>

#include "vixDiskLib.h"

void vdl_log_set (VixDiskLibGenericLogFunc *log, VixDiskLibGenericLogFunc *warn,
                  VixDiskLibGenericLogFunc *panic);
/* The message goes to the log callback with its control characters
 * escaped (see common/escape.h). */
void vdl_debug (const char *fmt, ...) __attribute__ ((format (printf, 1, 2)));
/* The same to the warning callback: something the user should know
 * although nothing failed (e.g. a copy that will not be consistent). */
void vdl_warning (const char *fmt, ...)
  __attribute__ ((format (printf, 1, 2)));

#endif
