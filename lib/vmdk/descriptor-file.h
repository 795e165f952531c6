/* SPDX-License-Identifier: BSD-3-Clause */
/* Where a link's descriptor text is kept, and how it is read and
 * rewritten there (descriptor-file.c): either the whole of a small text
 * file, or the descriptor area of a hosted sparse file's header, padded
 * with NULs to the area's size.  A bare COWD delta has none.  What a
 * caller does about a missing or misplaced descriptor (open refuses,
 * CheckRepair reports) stays with the caller. */
#ifndef VDL_DESCRIPTOR_FILE_H
#define VDL_DESCRIPTOR_FILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "file.h"
#include "sparse-format.h"
#include "vixDiskLib.h"

/* No descriptor is larger (bytes): a larger text file is not one. */
#define VDL_DESCRIPTOR_MAX (1024 * 1024)

enum vdl_desc_place {
  VDL_DESC_TEXT,                /* the file is the descriptor */
  VDL_DESC_SPARSE,              /* a sparse file: see h.desc_offset/size */
  VDL_DESC_COWD,                /* a bare COWD delta: no descriptor */
  VDL_DESC_SHORT,               /* sparse magic, but shorter than a header */
  VDL_DESC_BAD_HEADER,          /* sparse magic, header does not parse */
};

struct vdl_desc_where {
  enum vdl_desc_place place;
  uint64_t file_size;           /* bytes */
  struct kdmv_header h;         /* SPARSE: the parsed header */
  char why[200];                /* BAD_HEADER: what is wrong with it */
};

/* Look at the start of f and say where its descriptor is.  Fails only
 * if f cannot be read. */
VixError vdl_descfile_locate (struct vdl_file *f, struct vdl_desc_where *w);

/* Whether a sparse header has a descriptor area at all (VDL_DESC_SPARSE
 * without one: a bare extent of a split disk). */
bool vdl_descfile_has_area (const struct kdmv_header *h);

/* The bytes [offset, offset + len) of f as a NUL-terminated string
 * (malloc'd, len + 1 bytes). */
VixError vdl_descfile_read (struct vdl_file *f, uint64_t offset,
                            uint64_t len, char **out);

/* Write text at offset, then NULs up to size bytes, in one write
 * (text must fit: strlen (text) <= size). */
VixError vdl_descfile_write_area (struct vdl_file *f, const char *text,
                                  uint64_t size, uint64_t offset);

/* Rewrite the descriptor area (offset, size: bytes) of the sparse file
 * at path with text, durably.  No lock is taken: the caller holds the
 * disk's. */
VixError vdl_descfile_rewrite_embedded (const char *path, const char *text,
                                        uint64_t offset, uint64_t size);

/* Rewrite the separate descriptor file f, whose text was old_len bytes,
 * with text.  A file padded after its text keeps its size (the new text
 * padded with NULs in one write); a file of just the text is cut to the
 * new one. */
VixError vdl_descfile_write_text (struct vdl_file *f, const char *text,
                                  size_t old_len);

#endif
