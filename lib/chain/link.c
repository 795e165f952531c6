/* SPDX-License-Identifier: BSD-3-Clause */
/* Opening a link: tell a text descriptor from a sparse file with an
 * embedded descriptor, parse it, and open each extent it lists. */
#include <endian.h>
#include <errno.h>
#include <inttypes.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "descriptor-file.h"
#include "error.h"
#include "extent-kinds.h"
#include "link.h"
#include "sparse-format.h"

#define SS VIXDISKLIB_SECTOR_SIZE

static VixError
parse_text (struct vdl_link *l, const char *text, size_t len)
{
  char msg[256];

  l->desc_text = malloc (len + 1);
  if (!l->desc_text)
    return vdl_oom ();
  memcpy (l->desc_text, text, len);
  l->desc_text[len] = '\0';
  l->desc_len = strlen (l->desc_text);
  if (vdl_descriptor_parse (text, len, &l->desc, msg, sizeof msg) == -1)
    return vdl_error (VIX_E_DISK_NEEDSREPAIR, "%s: invalid descriptor: %s",
                      l->path, msg);
  if (l->desc.n_extents == 0)
    return vdl_error (VIX_E_DISK_NEEDSREPAIR,
                      "%s: the descriptor lists no extents", l->path);
  return VIX_OK;
}

/* A sparse file: its descriptor is embedded, or (a bare extent of a split
 * disk opened directly) there is none and we make one up. */
static VixError
read_embedded (struct vdl_link *l, struct vdl_file *f,
               const struct vdl_desc_where *w)
{
  const struct kdmv_header *h = &w->h;
  char *text;
  VixError err;

  if (w->place == VDL_DESC_BAD_HEADER)
    return vdl_error (VIX_E_DISK_NEEDSREPAIR, "%s: %s", l->path, w->why);
  if (!vdl_descfile_has_area (h)) {
    char *base = strdup (l->path), *line;
    if (!base)
      return vdl_oom ();
    if (asprintf (&line, "createType=\"monolithicSparse\"\n"
                  "RW %" PRIu64 " SPARSE \"%s\"\n",
                  h->capacity, basename (base)) == -1) {
      free (base);
      return vdl_oom ();
    }
    free (base);
    err = parse_text (l, line, strlen (line));
    free (line);
    /* Nowhere to record a new CID: leave desc_len for the "no CID" case. */
    return err;
  }
  if (h->desc_size * SS > VDL_DESCRIPTOR_MAX ||
      (h->desc_offset + h->desc_size) * SS > w->file_size)
    return vdl_error (VIX_E_DISK_NEEDSREPAIR, "%s is corrupt or truncated: "
                      "the embedded descriptor (sectors %llu+%llu) lies "
                      "outside the file", l->path,
                      (unsigned long long) h->desc_offset,
                      (unsigned long long) h->desc_size);
  l->embed_offset = h->desc_offset * SS;
  l->embed_size = h->desc_size * SS;
  err = vdl_descfile_read (f, l->embed_offset, l->embed_size, &text);
  if (err != VIX_OK)
    return err;
  err = parse_text (l, text, l->embed_size);
  free (text);
  if (err == VIX_OK && (l->desc.n_extents != 1 ||
                        l->desc.extents[0].type != VDL_EXTENT_SPARSE))
    err = vdl_error (VIX_E_DISK_NEEDSREPAIR, "%s: an embedded descriptor "
                     "must list exactly one SPARSE extent (itself)",
                     l->path);
  if (err == VIX_OK)
    l->embed_file = f;
  return err;
}

/* A vmfsSparse delta file opened by itself, without its descriptor:
 * serve just this link (there is no parent to name). */
static VixError
bare_cowd (struct vdl_link *l, struct vdl_file *f, uint64_t size)
{
  struct kdmv_header h;
  char *text, *base;
  VixError err = vdl_sparse_read_header (f, true, size, &h);

  if (err != VIX_OK)
    return err;
  if (!(base = strdup (l->path)))
    return vdl_oom ();
  if (asprintf (&text, "createType=\"vmfsSparse\"\n"
                "RW %" PRIu64 " VMFSSPARSE \"%s\"\n",
                h.capacity, basename (base)) == -1) {
    free (base);
    return vdl_oom ();
  }
  free (base);
  err = parse_text (l, text, strlen (text));
  free (text);
  return err;
}

static VixError
read_separate (struct vdl_link *l, struct vdl_file *f, uint64_t size)
{
  char *text;
  size_t len;
  VixError err;

  if (size == 0)
    return vdl_error (VIX_E_DISK_NEEDSREPAIR,
                      "%s is empty: not a VMDK descriptor", l->path);
  if (size > VDL_DESCRIPTOR_MAX)
    return vdl_error (VIX_E_DISK_NEEDSREPAIR, "%s is not a VMDK file: no "
                      "sparse header magic and too large (%llu bytes) for "
                      "a descriptor", l->path, (unsigned long long) size);
  err = vdl_descfile_read (f, 0, size, &text);
  if (err != VIX_OK)
    return err;
  /* Text ends at the first NUL, as for qemu, which pads with NULs and,
   * when a new CID is shorter than the old, leaves stale bytes of the
   * old text after the NUL.  Control bytes before it mean binary data. */
  len = strnlen (text, size);
  for (size_t i = 0; i < len && err == VIX_OK; i++) {
    unsigned char c = text[i];
    if (c < 0x20 && !strchr ("\t\n\v\f\r", c))
      err = vdl_error (VIX_E_DISK_NEEDSREPAIR, "%s is not a VMDK file: "
                       "no sparse header magic and not a text "
                       "descriptor", l->path);
  }
  if (err == VIX_OK)
    err = parse_text (l, text, len);
  free (text);
  return err;
}

static VixError
open_extent (struct vdl_link *l, size_t i, bool unbuffered,
             struct vdl_file **embedded)
{
  const struct vdl_desc_extent *x = &l->desc.extents[i];
  const struct vdl_extent_kind *k = vdl_extent_kind (x->type);
  struct vdl_extent_open_args a = {
    .desc = x,
    .writable = l->writable && x->access == VDL_ACCESS_RW,
    .unbuffered = unbuffered,
  };
  char *path = NULL;
  VixError err = VIX_OK;
  size_t j;
  int e;

  for (j = 0; j < i; j++)
    a.disk_sector += l->desc.extents[j].sectors;
  a.store = l->store;
  a.lock = a.writable ? VDL_LOCK_WRITE : VDL_LOCK_READ;
  if (vdl_extent_type_has_file (x->type)) {
    if (*embedded && !(path = strdup (l->path)))
      return vdl_oom ();
    if (!*embedded)
      err = vdl_store_join (l->store, l->dir, x->filename, &path);
    if (err != VIX_OK)
      return err;
  }
  a.path = path;
  a.file = *embedded;
  /* Say which descriptor names a missing file. */
  if (path && !a.file && (e = vdl_store_missing (l->store, path)) != 0) {
    err = vdl_error_errno (e, "cannot open %s extent file %s (listed "
                           "in %s)", vdl_extent_type_name (x->type), path,
                           l->path);
    free (path);
    return err;
  }
  if (!k->open)
    err = vdl_error (VIX_E_DISK_NOTSUPPORTED, "%s: %s extents map raw "
                     "devices that exist only on the ESXi host", l->path,
                     vdl_extent_type_name (x->type));
  else
    err = k->open (&a, &l->extents[i]);
  if (err == VIX_OK && k->takes_file)
    *embedded = NULL;           /* the extent owns the file now */
  free (path);
  return err;
}

VixError
vdl_link_open (const struct vdl_store *store, const char *path,
               bool writable, bool unbuffered, struct vdl_link **out)
{
  struct vdl_link *l = calloc (1, sizeof *l);
  struct vdl_file *f = NULL, *embedded = NULL;
  struct vdl_desc_where w;
  uint64_t size, start = 0;
  size_t i;
  VixError err;

  if (!l || !(l->path = strdup (path)) ||
      !(l->dir = vdl_store_dir (store, path))) {
    if (l) free (l->path);
    free (l);
    return vdl_oom ();
  }
  l->store = store;
  l->writable = writable;
  err = vdl_store_open (store, path, writable, false,
                        writable ? VDL_LOCK_WRITE : VDL_LOCK_READ, &f);
  if (err != VIX_OK)
    goto fail;
  err = vdl_descfile_locate (f, &w);
  if (err != VIX_OK)
    goto fail;
  size = w.file_size;
  if (w.place == VDL_DESC_SHORT) {
    err = vdl_error (VIX_E_DISK_NEEDSREPAIR, "%s is truncated: it starts "
                     "like a sparse extent but has only %llu bytes, less "
                     "than its 512-byte header", path,
                     (unsigned long long) size);
    goto fail;
  }
  if (w.place == VDL_DESC_SPARSE || w.place == VDL_DESC_BAD_HEADER) {
    err = read_embedded (l, f, &w);
    embedded = f;
    f = NULL;
  }
  else if (w.place == VDL_DESC_COWD) {
    err = bare_cowd (l, f, size);
    embedded = f;
    f = NULL;
  }
  else {
    err = read_separate (l, f, size);
    l->desc_file = f;
    f = NULL;
  }
  if (err != VIX_OK)
    goto fail;

  l->extents = calloc (l->desc.n_extents, sizeof *l->extents);
  if (!l->extents) {
    err = vdl_oom ();
    goto fail;
  }
  for (i = 0; i < l->desc.n_extents; i++) {
    err = open_extent (l, i, unbuffered, &embedded);
    if (err != VIX_OK)
      goto fail;
    l->n_extents++;
    l->extents[i]->start = start;
    start += l->extents[i]->sectors;
  }
  l->capacity = start;
  *out = l;
  return VIX_OK;

 fail:
  if (embedded) {
    l->embed_file = NULL;
    vdl_file_close (embedded);
  }
  vdl_file_close (f);
  vdl_link_close (l);
  return err;
}

void
vdl_link_close (struct vdl_link *l)
{
  size_t i;

  for (i = 0; i < l->n_extents; i++)
    l->extents[i]->ops->close (l->extents[i]);
  free (l->extents);
  vdl_file_close (l->desc_file);
  vdl_descriptor_free (&l->desc);
  free (l->desc_text);
  free (l->path);
  free (l->dir);
  free (l);
}

size_t
vdl_link_find_extent (const struct vdl_link *l, uint64_t sector)
{
  size_t lo = 0, hi = l->n_extents;

  while (hi - lo > 1) {
    size_t mid = (lo + hi) / 2;
    if (l->extents[mid]->start <= sector)
      lo = mid;
    else
      hi = mid;
  }
  return lo;
}

/* Put new descriptor text where the old one was (the embedded area, or
 * the descriptor file) and keep it as the link's text.  Takes text. */
static VixError
store_text (struct vdl_link *l, char *text)
{
  size_t len = strlen (text);
  VixError err;

  if (l->embed_file) {
    if (len > l->embed_size) {
      free (text);
      return vdl_error (VIX_E_DISK_FULL, "%s: the new descriptor (%zu "
                        "bytes) does not fit in the %llu bytes reserved "
                        "for it", l->path, len,
                        (unsigned long long) l->embed_size);
    }
    err = vdl_descfile_write_area (l->embed_file, text, l->embed_size,
                                   l->embed_offset);
  }
  else if (l->desc_file)
    err = vdl_descfile_write_text (l->desc_file, text, l->desc_len);
  else
    err = vdl_error (VIX_E_NOT_SUPPORTED, "%s has no descriptor to update "
                     "(an extent opened on its own)", l->path);
  if (err != VIX_OK) {
    free (text);
    return err;
  }
  free (l->desc_text);
  l->desc_text = text;
  l->desc_len = len;
  return VIX_OK;
}

VixError
vdl_link_new_cid (struct vdl_link *l)
{
  struct vdl_content_id id;
  char *text;
  VixError err;

  if (!l->embed_file && !l->desc_file)
    return VIX_OK;              /* nowhere to record it */
  if (vdl_descriptor_new_cid_text (&l->desc, l->desc_text, &id, &text) == -1)
    return vdl_oom ();
  if (!text)
    return VIX_OK;              /* no CID line to update */
  if (id.long_id[0] && vdl_descriptor_set_ddb (&l->desc, VDL_LONG_CONTENT_ID,
                                               id.long_id) == -1) {
    free (text);
    return vdl_oom ();
  }
  if (l->embed_file && strlen (text) > l->embed_size) {
    free (text);
    return VIX_OK;              /* an embedded descriptor cannot grow */
  }
  err = store_text (l, text);
  if (err != VIX_OK) {
    /* Keep the code: a full disk must reach the client as ENOSPC. */
    char *why = vdl_error_text (err);
    vdl_error (err, "%s: cannot record the new content ID: %s", l->path,
               why ? why : "write error");
    free (why);
    return err;
  }
  l->desc.cid = id.cid;
  return VIX_OK;
}

VixError
vdl_link_set_ddb (struct vdl_link *l, const char *key, const char *value)
{
  char *text;
  VixError err;

  if (!l->writable)
    return vdl_error (VIX_E_FILE_READ_ONLY, "%s is open read-only", l->path);
  if (strpbrk (key, "\"=\n\r \t") || strpbrk (value, "\"\n\r") || !*key)
    return vdl_error (VIX_E_INVALID_ARG, "metadata key '%s' or its value "
                      "cannot be stored in a descriptor (no quotes, line "
                      "breaks, or spaces and '=' in keys)", key);
  text = vdl_descriptor_set_ddb_text (l->desc_text, key, value);
  if (!text)
    return vdl_oom ();
  err = store_text (l, text);
  if (err == VIX_OK && vdl_descriptor_set_ddb (&l->desc, key, value) == -1)
    err = vdl_oom ();
  return err;
}
