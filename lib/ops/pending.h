/* SPDX-License-Identifier: BSD-3-Clause */
/* A new disk (Create, CreateChild, Clone) is made under temporary names
 * in its directory and takes its final names only when complete, so
 * that a disk under its final name is always a whole one:
 *
 *   .B.vdl-tmp-PID-RAND              the descriptor (or the one file)
 *   .B.vdl-tmp-PID-RAND-s001.vmdk    what becomes STEM-s001.vmdk
 *
 * where B is the final file name and STEM is B without ".vmdk".  While
 * the disk is made its descriptor names the temporary extents; the
 * commit rewrites it with the final names, syncs every file, gives the
 * extents their final names as hard links (renames where links are
 * impossible), then renames the descriptor into place: the moment the
 * disk appears.  Only then do the temporary names go.
 *
 * The maker holds an OFD lock on the first file (byte PENDING_LOCK) for
 * as long as it works.  A process killed before the commit leaves
 * hidden files nobody holds: the next maker of the same name removes
 * them, with the extent names they were already linked to, and never a
 * file that is not the same inode as one of its temporaries. */
#ifndef VDL_PENDING_H
#define VDL_PENDING_H

#include "vixDiskLib.h"

struct vdl_pending;

/* Start a new disk that will be path: remove what makers of the same
 * name that died left behind, then create and lock the (empty) first
 * temporary file. */
VixError vdl_pending_begin (const char *path, struct vdl_pending **out);
/* Where the disk is made: open this, not its final name. */
const char *vdl_pending_path (const struct vdl_pending *p);
/* Record an extent file that will be called final_name (a name beside
 * the descriptor, starting with its stem) and return its temporary file
 * name (for the descriptor) and path (to create it), both malloc'd. */
VixError vdl_pending_extent (struct vdl_pending *p, const char *final_name,
                             char **tmp_name, char **tmp_path);
/* VIX_E_FILE_ALREADY_EXISTS if a final name is taken. */
VixError vdl_pending_check_free (const struct vdl_pending *p);
/* Give the disk its final names (never replacing a file), or on failure
 * remove everything made.  Frees p either way. */
VixError vdl_pending_commit (struct vdl_pending *p);
/* Remove every temporary file and free p. */
void vdl_pending_abort (struct vdl_pending *p);

#endif
