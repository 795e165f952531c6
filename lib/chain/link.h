/* SPDX-License-Identifier: BSD-3-Clause */
/* One link of a disk chain: a descriptor and the extents it lists. */
#ifndef VDL_LINK_H
#define VDL_LINK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "descriptor.h"
#include "extent.h"
#include "file.h"
#include "path.h"
#include "store.h"

struct vdl_link {
  char *path;                   /* descriptor (or sparse file) path */
  const struct vdl_store *store; /* where its files are */
  char *dir;                    /* where relative extent names start */
  struct vdl_descriptor desc;
  char *desc_text;              /* original text, for CID updates */
  size_t desc_len;
  struct vdl_extent **extents;
  size_t n_extents;
  uint64_t capacity;            /* sectors */
  bool writable;
  /* Where the descriptor text lives, to rewrite its CID. */
  struct vdl_file *desc_file;   /* separate descriptor (owned) */
  struct vdl_file *embed_file;  /* sparse extent's file (borrowed) */
  uint64_t embed_offset, embed_size; /* bytes */
};

VixError vdl_link_open (const struct vdl_store *store, const char *path,
                        bool writable, bool unbuffered,
                        struct vdl_link **out);
void vdl_link_close (struct vdl_link *l);

/* Index of the extent holding sector (sector < capacity). */
size_t vdl_link_find_extent (const struct vdl_link *l, uint64_t sector);

/* Give the link a new content ID, as required before its first change. */
VixError vdl_link_new_cid (struct vdl_link *l);

/* Set DDB key (with its "ddb." prefix) in the descriptor on disk. */
VixError vdl_link_set_ddb (struct vdl_link *l, const char *key,
                           const char *value);

/* The disk type its createType names (link-type.c); UNKNOWN for
 * seSparse and others Create cannot make. */
VixDiskLibDiskType vdl_link_disk_type (const struct vdl_link *l);

#endif
