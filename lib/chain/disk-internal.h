/* SPDX-License-Identifier: BSD-3-Clause */
/* The disk object, shared by the files that implement disk.h: opening,
 * sharing and closing (disk.c) and the data path (disk-io.c). */
#ifndef VDL_DISK_INTERNAL_H
#define VDL_DISK_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "disk.h"

#define SS VIXDISKLIB_SECTOR_SIZE

struct vdl_disk {
  struct vdl_disk *next;        /* in the registry of open disks */
  char *key;                    /* vdl_store_identity of the top file */
  bool unshared;                /* not in the registry (remote) */
  unsigned refs;
  uint32_t flags;               /* VIXDISKLIB_FLAG_OPEN_* used to open */
  bool writable;
  struct vdl_link **links;      /* links[0] is the newest */
  size_t n_links;
  uint64_t capacity;
  pthread_mutex_t meta_lock;     /* descriptors: CID, DDB */
  bool cid_changed;
};

#endif
