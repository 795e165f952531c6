/* SPDX-License-Identifier: BSD-3-Clause */
/* Where a disk's files are found: names, directories and opening.
 * The link and extent code open every file through a store, so one
 * VMDK parser serves every byte source, and no layer above asks which
 * store it is on: it asks for capabilities (vdl_store_has) instead.
 *
 * A store is a struct vdl_store embedded in its implementation's own
 * struct (container-of.h), like SQLite's VFS: local path names
 * (store-local.c, the one vdl_local_store) and datastore names
 * "[datastore] dir/file.vmdk" on one vSphere session
 * (store-datastore.c, made when a connection is).  store.c holds only
 * the wrappers below.
 */
#ifndef VDL_STORE_H
#define VDL_STORE_H

#include <stdbool.h>

#include "file.h"
#include "vixDiskLib.h"

struct vdl_store;

/* What a store allows, so that callers test a capability, not a kind. */
enum vdl_store_cap {
  /* Its files can be opened for writing: the operations that change
   * files (create, grow, rename, check and repair, ...) accept it. */
  VDL_STORE_WRITABLE = 1u << 0,
  /* Its names are paths of this machine's filesystem, which the caller
   * may stat(2) (GetLinkInfo's file and allocated sizes). */
  VDL_STORE_LOCAL_PATHS = 1u << 1,
  /* Opens of one disk in the process share one struct vdl_disk, found
   * by vdl_store_identity in disk.c's registry.  The registry's lock is
   * held while such a disk opens, so a store whose opens wait on a
   * network leaves this out (its disks are private to their handle). */
  VDL_STORE_SHARED = 1u << 2,
};

/* A store's operations.  Names are as the store spells them (a local
 * path, "[ds] dir/f.vmdk"); every failure returns a specific VixError
 * with its message recorded (error.h).  All may be called from several
 * threads at once, except close. */
struct vdl_store_ops {
  /* The transport VixDiskLib_GetTransportMode reports for its disks:
   * "file", "https". */
  const char *transport;
  /* Open an existing file.  direct asks for O_DIRECT where the byte
   * source has it; lock for qemu's inter-process locks where it has
   * them (otherwise both are ignored).  A store that cannot write
   * refuses writable with VIX_E_FILE_READ_ONLY. */
  VixError (*open) (const struct vdl_store *st, const char *name,
                    bool writable, bool direct, enum vdl_lock lock,
                    struct vdl_file **out);
  /* The directory part of name, where names relative to it start;
   * malloc'd, NULL if out of memory (no error recorded). */
  char *(*dir) (const struct vdl_store *st, const char *name);
  /* Resolve name, as a descriptor holds it (an extent file, a parent
   * hint), relative to dir (from dir above); *out is malloc'd. */
  VixError (*join) (const struct vdl_store *st, const char *dir,
                    const char *name, char **out);
  /* A key telling files apart (two names of one file share it, keys
   * of different stores differ), or an error if the file does not
   * exist; *key is malloc'd. */
  VixError (*identity) (const struct vdl_store *st, const char *name,
                        char **key);
  /* Optional.  Why name cannot be found: an errno, or 0 if it exists.
   * NULL: the store cannot tell without opening the file (0). */
  int (*missing) (const struct vdl_store *st, const char *name);
  /* Optional.  May the application open name as a disk, for writing if
   * writable (VixDiskLib_Open)?  An error saying why not.  NULL: any
   * disk, as far as the files allow. */
  VixError (*check_disk) (const struct vdl_store *st, const char *name,
                          bool writable);
  /* Where its files are, for messages ("server:port"). */
  const char *(*where) (const struct vdl_store *st);
  /* Optional.  End the store (log out, free); every file opened
   * through it has been closed.  NULL: nothing to end. */
  void (*close) (struct vdl_store *st);
};

struct vdl_store {
  const struct vdl_store_ops *ops;
  unsigned caps;                /* enum vdl_store_cap bits */
};

/* Local path names (store-local.c). */
extern struct vdl_store vdl_local_store;

static inline bool
vdl_store_has (const struct vdl_store *st, enum vdl_store_cap cap)
{
  return (st->caps & cap) == cap;
}

VixError vdl_store_open (const struct vdl_store *st, const char *name,
                         bool writable, bool direct, enum vdl_lock lock,
                         struct vdl_file **out);
char *vdl_store_dir (const struct vdl_store *st, const char *name);
VixError vdl_store_join (const struct vdl_store *st, const char *dir,
                         const char *name, char **out);
VixError vdl_store_identity (const struct vdl_store *st, const char *name,
                             char **key);
int vdl_store_missing (const struct vdl_store *st, const char *name);
VixError vdl_store_check_disk (const struct vdl_store *st, const char *name,
                               bool writable);
const char *vdl_store_where (const struct vdl_store *st);
const char *vdl_store_transport (const struct vdl_store *st);
void vdl_store_close (struct vdl_store *st);

#endif
