/* SPDX-License-Identifier: BSD-3-Clause */
/* A local file holding part of a disk: full-length pread/pwrite that turn
 * every failure or short transfer into a specific VixError, optional
 * O_DIRECT for aligned data transfers, and qemu's inter-process locks.
 */
#ifndef VDL_FILE_H
#define VDL_FILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vixDiskLib.h"

struct vdl_file;
struct vdl_remote;
struct vdl_remote_file;

/* Where a file's bytes are: a local file, or a file on a datastore read
 * over HTTPS.  The format code sees only vdl_file_* calls. */
struct vdl_file_ops {
  const char *kind;
  VixError (*pread) (struct vdl_file *f, void *buf, size_t len,
                     uint64_t offset);
  VixError (*pwrite) (struct vdl_file *f, const void *buf, size_t len,
                      uint64_t offset);
  VixError (*sync) (struct vdl_file *f);
  VixError (*size) (struct vdl_file *f, uint64_t *size);
  VixError (*truncate) (struct vdl_file *f, uint64_t size);
  VixError (*preallocate) (struct vdl_file *f, uint64_t size);
  bool (*next_data) (struct vdl_file *f, uint64_t offset,
                     uint64_t *data_start, uint64_t *data_end);
  void (*close) (struct vdl_file *f);
};

struct vdl_file {
  const struct vdl_file_ops *ops;
  char *path;
  bool writable;
  int fd;                       /* local: buffered descriptor */
  int direct_fd;                /* local: O_DIRECT descriptor, or -1 */
  int sync_errno;               /* local: why a sync failed, or 0 */
  uint64_t unkicked;            /* local: bytes written since writeback
                                 * was last started */
  struct vdl_remote_file *remote; /* datastore file */
};

enum vdl_lock { VDL_LOCK_NONE, VDL_LOCK_READ, VDL_LOCK_WRITE };

/* Open an existing file.  "direct" asks for O_DIRECT where the filesystem
 * allows it; "lock" takes non-blocking locks in qemu's protocol, which
 * qemu and other processes using this library respect
 * (VIX_E_FILE_ALREADY_LOCKED on conflict). */
VixError vdl_file_open (const char *path, bool writable, bool direct,
                        enum vdl_lock lock, struct vdl_file **out);
/* Open a datastore file ("[ds] dir/file") of a remote session, for
 * reading only (file-remote.c). */
VixError vdl_file_open_remote (struct vdl_remote *r, const char *name,
                               struct vdl_file **out);
/* Create a new file; fails if it exists. */
VixError vdl_file_create (const char *path, struct vdl_file **out);
void vdl_file_close (struct vdl_file *f);

VixError vdl_file_pread (struct vdl_file *f, void *buf, size_t len,
                         uint64_t offset);
VixError vdl_file_pwrite (struct vdl_file *f, const void *buf, size_t len,
                          uint64_t offset);
VixError vdl_file_sync (struct vdl_file *f);
VixError vdl_file_size (struct vdl_file *f, uint64_t *size);
VixError vdl_file_truncate (struct vdl_file *f, uint64_t size);
/* Reserve blocks for size bytes (thick provisioning), else just extend. */
VixError vdl_file_preallocate (struct vdl_file *f, uint64_t size);
/* Find the next data region at or after offset (SEEK_DATA); *data_end is
 * the following hole.  Returns false if the filesystem cannot tell. */
bool vdl_file_next_data (struct vdl_file *f, uint64_t offset,
                         uint64_t *data_start, uint64_t *data_end);

#endif
