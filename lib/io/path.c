/* SPDX-License-Identifier: BSD-3-Clause */
/* Local path names. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "path.h"

char *
vdl_path_join (const char *dir, const char *name)
{
  char *r;

  if (name[0] == '/')
    return strdup (name);
  if (asprintf (&r, "%s/%s", dir, name) == -1)
    return NULL;
  return r;
}
