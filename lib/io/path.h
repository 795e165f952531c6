/* SPDX-License-Identifier: BSD-3-Clause */
/* Local path names (path.c), below the stores and everything that
 * names local files. */
#ifndef VDL_PATH_H
#define VDL_PATH_H

/* Resolve name relative to dir unless it is absolute.  malloc'd, NULL
 * if out of memory. */
char *vdl_path_join (const char *dir, const char *name);

#endif
