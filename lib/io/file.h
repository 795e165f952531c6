/* SPDX-License-Identifier: BSD-3-Clause */
/* A file holding part of a disk, whatever its bytes are read from.  The
 * format code sees only vdl_file_* calls, which dispatch through the
 * file's operations (file.c).  Each byte source extends struct vdl_file
 * with its own state: local files (file-local.h), datastore files read
 * over HTTPS (file-datastore.h).  Files are opened through a store
 * (store.h), or, for the local files the library creates and rewrites,
 * with vdl_file_open and vdl_file_create (file-local.h).
 */
#ifndef VDL_FILE_H
#define VDL_FILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vixDiskLib.h"

struct vdl_file;

/* A byte source's operations.  Every failure returns a specific
 * VixError with its message recorded (error.h), naming f->path.  The
 * optional ones (pwrite, sync, truncate, preallocate, next_data) may be
 * NULL in a read-only source: the wrappers then answer as for a file
 * open read-only.  Any operation may be called from several threads
 * at once, except close. */
struct vdl_file_ops {
  const char *kind;             /* "file", "https": for messages */
  /* A read of fewer bytes costs about as much as one of this many (a
   * network round trip), so small metadata stored together is best
   * read this much at a time; 0 where small reads are cheap. */
  size_t read_unit;
  /* Read exactly len bytes at offset; reading past the end is
   * VIX_E_DISK_OUTOFRANGE. */
  VixError (*pread) (struct vdl_file *f, void *buf, size_t len,
                     uint64_t offset);
  /* Write exactly len bytes at offset (only called if f->writable). */
  VixError (*pwrite) (struct vdl_file *f, const void *buf, size_t len,
                      uint64_t offset);
  /* Make everything written so far durable (only if f->writable). */
  VixError (*sync) (struct vdl_file *f);
  /* The file's current length in bytes. */
  VixError (*size) (struct vdl_file *f, uint64_t *size);
  /* Set the length (only if f->writable). */
  VixError (*truncate) (struct vdl_file *f, uint64_t size);
  /* Reserve storage for size bytes, else just extend (only if
   * f->writable). */
  VixError (*preallocate) (struct vdl_file *f, uint64_t size);
  /* The next data region at or after offset, as vdl_file_next_data. */
  bool (*next_data) (struct vdl_file *f, uint64_t offset,
                     uint64_t *data_start, uint64_t *data_end);
  /* Optional: the extent code says where the file's bytes sit in the
   * disk (as vdl_file_place), for a source whose allocation comes in
   * disk offsets. */
  void (*place) (struct vdl_file *f, uint64_t disk_offset,
                 uint64_t file_offset);
  /* Release everything, including f itself and f->path. */
  void (*close) (struct vdl_file *f);
};

/* The part every byte source shares; each embeds it in its own struct
 * (container-of.h). */
struct vdl_file {
  const struct vdl_file_ops *ops;
  char *path;                   /* the name it was opened by */
  bool writable;
};

enum vdl_lock { VDL_LOCK_NONE, VDL_LOCK_READ, VDL_LOCK_WRITE };

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
 * the following hole.  Returns false if the byte source cannot tell. */
bool vdl_file_next_data (struct vdl_file *f, uint64_t offset,
                         uint64_t *data_start, uint64_t *data_end);
/* The byte source's read_unit (see struct vdl_file_ops). */
size_t vdl_file_read_unit (const struct vdl_file *f);
/* An extent holds the disk's bytes from disk_offset on at file_offset of
 * f (called once per extent opened on f). */
void vdl_file_place (struct vdl_file *f, uint64_t disk_offset,
                     uint64_t file_offset);

#endif
