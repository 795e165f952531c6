/* SPDX-License-Identifier: BSD-3-Clause */
/* CheckRepair's record of problems (check.h): every check of a file
 * reports here, so that the checks of extent files (check-*.c) need
 * nothing from the API file that walks the chain (api-check.c). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "check.h"
#include "log.h"

void
vdl_check_problem (struct vdl_check *c, const char *file, bool repaired,
                   const char *fmt, ...)
{
  char *msg;
  va_list args;
  int r;

  va_start (args, fmt);
  r = vasprintf (&msg, fmt, args);
  va_end (args);
  if (r == -1)
    msg = NULL;
  c->found++;
  vdl_debug ("VixDiskLib: check: %s: %s%s", file, msg ? msg : fmt,
             repaired ? " (repaired)" : "");
  if (repaired)
    c->fixed++;
  else {
    if (c->unfixable++ < VDL_CHECK_MAX_LISTED)
      fprintf (c->list, "%s%s: %s", c->unfixable > 1 ? "; " : "", file,
               msg ? msg : fmt);
  }
  free (msg);
}
