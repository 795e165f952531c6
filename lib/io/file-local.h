/* SPDX-License-Identifier: BSD-3-Clause */
/* Local files (file-local.c): full-length pread/pwrite that turn every
 * failure or short transfer into a specific VixError, optional O_DIRECT
 * for aligned data transfers, and qemu's inter-process locks.  The
 * library's own operations on local disks (create, check, grow,
 * rename, rebuild) open and create them here directly; the chain opens
 * them through the local store (store-local.c).
 */
#ifndef VDL_FILE_LOCAL_H
#define VDL_FILE_LOCAL_H

#include <stdbool.h>

#include "file.h"
#include "vixDiskLib.h"

/* Open an existing file.  "direct" asks for O_DIRECT where the filesystem
 * allows it; "lock" takes non-blocking locks in qemu's protocol, which
 * qemu and other processes using this library respect
 * (VIX_E_FILE_ALREADY_LOCKED on conflict). */
VixError vdl_file_open (const char *path, bool writable, bool direct,
                        enum vdl_lock lock, struct vdl_file **out);
/* Create a new file; fails if it exists. */
VixError vdl_file_create (const char *path, struct vdl_file **out);
/* The buffered descriptor of a file opened or created above, for the
 * few system calls only local files have (fchmod, probing ftruncate). */
int vdl_file_fd (struct vdl_file *f);

#endif
