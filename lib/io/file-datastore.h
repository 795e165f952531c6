/* SPDX-License-Identifier: BSD-3-Clause */
/* Datastore files read over HTTPS through a vSphere session
 * (file-datastore.c): read-only; holes reported only where the server
 * says which areas of a disk are in use (remote-areas.c). */
#ifndef VDL_FILE_REMOTE_H
#define VDL_FILE_REMOTE_H

#include "file.h"
#include "vixDiskLib.h"

struct vdl_remote;

/* Open a datastore file ("[ds] dir/file") of a remote session. */
VixError vdl_file_open_remote (struct vdl_remote *r, const char *name,
                               struct vdl_file **out);

#endif
