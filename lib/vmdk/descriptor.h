/* SPDX-License-Identifier: BSD-3-Clause */
/* The VMDK text descriptor: a pure parser and a writer, no file access. */
#ifndef VDL_DESCRIPTOR_H
#define VDL_DESCRIPTOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum vdl_access { VDL_ACCESS_RW, VDL_ACCESS_RDONLY, VDL_ACCESS_NOACCESS };

enum vdl_extent_type {
  VDL_EXTENT_FLAT, VDL_EXTENT_SPARSE, VDL_EXTENT_ZERO, VDL_EXTENT_VMFS,
  VDL_EXTENT_VMFSSPARSE, VDL_EXTENT_SESPARSE, VDL_EXTENT_VMFSRDM,
  VDL_EXTENT_VMFSRAW,
};

struct vdl_desc_extent {
  enum vdl_access access;
  uint64_t sectors;
  enum vdl_extent_type type;
  char *filename;               /* NULL for ZERO */
  uint64_t offset;              /* sectors into filename */
};

struct vdl_desc_entry {
  char *key;
  char *value;                  /* unquoted */
};

struct vdl_descriptor {
  unsigned version;
  uint32_t cid, parent_cid;
  char *create_type;            /* never NULL after a successful parse */
  char *parent_hint;            /* parentFileNameHint or NULL */
  struct vdl_desc_extent *extents;
  size_t n_extents;
  struct vdl_desc_entry *ddb;   /* "ddb.*" entries in file order */
  size_t n_ddb;
};

/* Parse text (need not be NUL-terminated; parsing stops at a NUL).
 * On failure returns -1 with a message in err. */
int vdl_descriptor_parse (const char *text, size_t len,
                          struct vdl_descriptor *d, char *err, size_t errlen);
void vdl_descriptor_free (struct vdl_descriptor *d);

/* Value of a DDB key (case-insensitive, e.g. "ddb.adapterType") or NULL. */
const char *vdl_descriptor_ddb (const struct vdl_descriptor *d,
                                const char *key);

/* The word of extent type t in descriptors ("FLAT"). */
const char *vdl_extent_type_name (enum vdl_extent_type t);
/* Whether its extent lines name a file (all but ZERO). */
bool vdl_extent_type_has_file (enum vdl_extent_type t);
/* Whether its extent lines always give the offset after the file name
 * (as VMware writes FLAT); others keep it only if it was there. */
bool vdl_extent_type_offset_always (enum vdl_extent_type t);

/* Write a descriptor in the layout VMware uses.  Returns malloc'd text. */
char *vdl_descriptor_format (const struct vdl_descriptor *d);

/* Set a DDB entry in memory (replacing the last one with that key). */
int vdl_descriptor_set_ddb (struct vdl_descriptor *d, const char *key,
                            const char *value);

/* Return a copy of text where the line of DDB key (e.g. "ddb.uuid") says
 * value, replaced in place or appended; every other byte is kept. */
char *vdl_descriptor_set_ddb_text (const char *text, const char *key,
                                   const char *value);

/* Return a copy of text whose extent lines describe x[0..n) instead (in
 * place of the old ones, new ones after them), every other byte kept.
 * Lines keep their style (an offset after the file name, CRLF).
 * descriptor-edit.c. */
char *vdl_descriptor_set_extents_text (const char *text,
                                       const struct vdl_desc_extent *x,
                                       size_t n);

#define VDL_LONG_CONTENT_ID "ddb.longContentID"

/* A new content ID. */
struct vdl_content_id {
  uint32_t cid;                 /* never d's old one, 0 or 0xfffffffe/f */
  char long_id[33];             /* the matching ddb.longContentID, or ""
                                 * when the descriptor has none */
};

/* The one way content IDs change (descriptor-edit.c): *out is a copy of
 * text (d's descriptor) with a new random CID, and a matching
 * ddb.longContentID if d has one; id says what they are.  *out is NULL
 * (and 0 returned) if text has no CID line (or out of memory there);
 * -1 if out of memory after that. */
int vdl_descriptor_new_cid_text (const struct vdl_descriptor *d,
                                 const char *text, struct vdl_content_id *id,
                                 char **out);

/* A new ddb.longContentID value for cid: 96 random bits, then the CID
 * (32 hex digits and a NUL). */
void vdl_long_content_id (uint32_t cid, char value[33]);

/* Return a copy of text with the value of its CID= line replaced, leaving
 * every other byte as it was.  NULL if there is no CID line. */
char *vdl_descriptor_replace_cid (const char *text, uint32_t new_cid);

#endif
