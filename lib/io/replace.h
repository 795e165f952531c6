/* SPDX-License-Identifier: BSD-3-Clause */
/* Replacing files crash-safely: build the new file beside the old one
 * under a temporary name, make it durable, then rename it over the old
 * one, so that after a crash either the old or the new file is there,
 * whole.  Used by Grow, Shrink, Defragment and Rename. */
#ifndef VDL_REPLACE_H
#define VDL_REPLACE_H

#include <stdbool.h>

#include "file-local.h"
#include "vixDiskLib.h"

/* The temporary name for a new version of path (malloc'd, NULL if out
 * of memory): beside it, so that rename stays in one filesystem. */
char *vdl_temp_name (const char *path);
/* Create the new version of path at tmp (a leftover from a crash is
 * removed first: the caller holds the disk's locks, so no other user of
 * this library is building it), with path's permissions. */
VixError vdl_temp_create (const char *path, const char *tmp,
                          struct vdl_file **out);
/* Make the directory entry of path durable (after rename or link). */
VixError vdl_sync_dir (const char *path);
/* Sync tmp, rename it over path and sync the directory. */
VixError vdl_replace_commit (const char *tmp, const char *path);
/* Replace a text file (a descriptor) with text, crash-safely. */
VixError vdl_replace_text (const char *path, const char *text);
/* Rename without ever replacing an existing file (EEXIST then). */
int vdl_rename_noreplace (const char *from, const char *to);

#endif
