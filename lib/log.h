/* SPDX-License-Identifier: BSD-3-Clause */
/* Messages from the library to the application's log callbacks. */
#ifndef VDL_LOG_H
#define VDL_LOG_H

#include <stddef.h>

#include "vixDiskLib.h"

void vdl_log_set (VixDiskLibGenericLogFunc *log, VixDiskLibGenericLogFunc *warn,
                  VixDiskLibGenericLogFunc *panic);
/* The message goes to the log callback with its control characters
 * escaped (see vdl_escape). */
void vdl_debug (const char *fmt, ...) __attribute__ ((format (printf, 1, 2)));

/* Copy in to out (size bytes, NUL included) with every control
 * character escaped: newline, tab and carriage return as \n, \t and
 * \r, other bytes below 0x20, 0x7f, C1 controls and bytes that are not
 * well-formed UTF-8 as \xNN.  Printable ASCII and UTF-8 are kept as
 * they are, backslashes too, so text without control characters comes
 * out byte for byte the same (and escaping twice changes nothing).  An
 * escape is never cut in two.  Returns the length of the whole escaped
 * text, as snprintf does. */
size_t vdl_escape (char *out, size_t size, const char *in);
/* The same, malloc'd; NULL if memory ran out. */
char *vdl_escape_dup (const char *in);

#endif
