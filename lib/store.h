/* SPDX-License-Identifier: BSD-3-Clause */
/* Where a disk's files are found: names, directories and opening.
 * Local disks use path names; remote disks use datastore names
 * ("[datastore] dir/file.vmdk") on one vSphere session.  The link and
 * extent code open every file through a store, so one VMDK parser
 * serves both. */
#ifndef VDL_STORE_H
#define VDL_STORE_H

#include <stdbool.h>

#include "file.h"
#include "vixDiskLib.h"

struct vdl_remote;

struct vdl_store {
  struct vdl_remote *remote;    /* NULL: local files */
};

extern const struct vdl_store vdl_local_store;

/* Open an existing file of the store. */
VixError vdl_store_open (const struct vdl_store *st, const char *name,
                         bool writable, bool direct, enum vdl_lock lock,
                         struct vdl_file **out);
/* The directory part of name (where relative names in it start);
 * malloc'd, NULL if out of memory. */
char *vdl_store_dir (const struct vdl_store *st, const char *name);
/* Resolve name (as a descriptor holds it) relative to dir; *out is
 * malloc'd. */
VixError vdl_store_join (const struct vdl_store *st, const char *dir,
                         const char *name, char **out);
/* A key telling files apart (two names of one file share it), or an
 * error if the file does not exist; *key is malloc'd. */
VixError vdl_store_identity (const struct vdl_store *st, const char *name,
                             char **key);
/* The transport this store reads through: "file" or "https". */
const char *vdl_store_transport (const struct vdl_store *st);

#endif
