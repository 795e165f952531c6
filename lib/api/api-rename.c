/* SPDX-License-Identifier: BSD-3-Clause */
/* VixDiskLib_Rename: give a disk (its descriptor and every extent file)
 * a new name, never replacing an existing file.
 *
 * The new names are made as hard links first and the new descriptor,
 * naming the new extent names, is written and synced; only then do the
 * old names go.  At every moment one complete disk exists under the old
 * names or the new ones (after a crash, maybe both, sharing their
 * files).  Where hard links are impossible the files are renamed one by
 * one instead.  Extent names starting with the disk's name get the new
 * name in its place ("a-s001.vmdk" -> "b-s001.vmdk"); others get it in
 * front.  Extents beside the descriptor move with it to the new
 * directory; others stay in theirs.  Children naming this disk as their
 * parent are not changed, as in VMware's library. */
#include <errno.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "api.h"
#include "descriptor-file.h"
#include "error.h"
#include "handle.h"
#include "link.h"
#include "replace.h"

struct move {
  struct vdl_link *l;
  const char *src, *dst;
  char *src_base, *dst_base, *dst_dir;
  char **from, **to;            /* per extent: file names, NULL: none */
  struct vdl_desc_extent *x;    /* extent lines with the new names */
  bool linked;                  /* new names are hard links */
  size_t n_done;                /* extents moved so far */
};

/* The file name of path without ".vmdk" (malloc'd). */
static char *
stem (const char *path)
{
  char *copy = strdup (path), *b, *r;
  size_t n;

  if (!copy)
    return NULL;
  b = basename (copy);
  n = strlen (b);
  if (n > 5 && strcasecmp (b + n - 5, ".vmdk") == 0)
    b[n - 5] = '\0';
  r = strdup (b);
  free (copy);
  return r;
}

static char *
dir_of (const char *path)
{
  char *copy = strdup (path), *r;

  if (!copy)
    return NULL;
  r = strdup (dirname (copy));
  free (copy);
  return r;
}

/* Whether two directories are the same one. */
static bool
same_dir (const char *a, const char *b)
{
  struct stat sa, sb;

  return stat (a, &sa) == 0 && stat (b, &sb) == 0 &&
    sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

/* Work out extent i's new file and descriptor entry. */
static VixError
plan_extent (struct move *m, size_t i)
{
  const char *name = m->l->desc.extents[i].filename;
  const char *old = m->l->extents[i]->path;
  size_t sl = strlen (m->src_base);
  char *base = strdup (name), *b, *newbase = NULL, *odir = NULL;
  int r;

  m->x[i] = m->l->desc.extents[i];
  m->x[i].filename = NULL;
  if (!base)
    return vdl_oom ();
  b = basename (base);
  if (strncmp (b, m->src_base, sl) == 0)
    r = asprintf (&newbase, "%s%s", m->dst_base, b + sl);
  else
    r = asprintf (&newbase, "%s-%s", m->dst_base, b);
  free (base);
  if (r == -1)
    return vdl_oom ();
  if (!strchr (name, '/')) {
    /* Beside the descriptor: moves with it. */
    r = asprintf (&m->to[i], "%s/%s", m->dst_dir, newbase);
    m->x[i].filename = newbase;
  }
  else {
    if (!(odir = dir_of (old))) {
      free (newbase);
      return vdl_oom ();
    }
    r = asprintf (&m->to[i], "%s/%s", odir, newbase);
    if (r != -1 && same_dir (odir, m->dst_dir))
      m->x[i].filename = newbase;
    else {
      m->x[i].filename = m->to[i] ? strdup (m->to[i]) : NULL;
      free (newbase);
    }
    free (odir);
  }
  if (r == -1 || !m->x[i].filename || !(m->from[i] = strdup (old)))
    return vdl_oom ();
  return VIX_OK;
}

/* Give one file its new name: a hard link if possible. */
static VixError
move_file (struct move *m, const char *from, const char *to)
{
  if (m->linked) {
    if (link (from, to) == 0)
      return VIX_OK;
    if (errno != EPERM && errno != ENOTSUP && errno != EOPNOTSUPP &&
        errno != EMLINK)
      goto fail;
    if (m->n_done > 0) {
      /* Half linked, half not: undo and start again renaming. */
      errno = ENOTSUP;
      goto fail;
    }
    m->linked = false;
  }
  if (vdl_rename_noreplace (from, to) == 0)
    return VIX_OK;
 fail:
  if (errno == EXDEV)
    return vdl_error (VIX_E_NOT_SUPPORTED, "Rename: cannot move %s to %s: "
                      "they are on different filesystems (clone the disk "
                      "instead)", from, to);
  return vdl_error_errno (errno, "Rename: cannot give %s the name %s", from,
                          to);
}

/* Write the new descriptor text: a new file for a separate descriptor,
 * the embedded area (of the file now also named dst) otherwise. */
static VixError
write_descriptor (struct move *m, const char *text)
{
  struct vdl_link *l = m->l;
  struct vdl_file *f;
  VixError err;

  if (!l->embed_file) {
    err = vdl_file_create (m->dst, &f);
    if (err != VIX_OK)
      return err;
    err = vdl_file_pwrite (f, text, strlen (text), 0);
    if (err == VIX_OK)
      err = vdl_file_sync (f);
    vdl_file_close (f);
    if (err != VIX_OK)
      unlink (m->dst);
    return err;
  }
  if (strlen (text) > l->embed_size)
    return vdl_error (VIX_E_DISK_FULL, "Rename: the new descriptor does not "
                      "fit in the space reserved for it in %s", l->path);
  return vdl_descfile_rewrite_embedded (m->dst, text, l->embed_offset,
                                        l->embed_size);
}

/* Undo the new names made so far (before the old ones went). */
static void
undo (struct move *m)
{
  size_t i;

  for (i = 0; i < m->l->n_extents && m->n_done > 0; i++) {
    if (!m->to[i])
      continue;
    if (m->linked)
      unlink (m->to[i]);
    else
      rename (m->to[i], m->from[i]);
    m->n_done--;
  }
}

static VixError
rename_link (struct move *m)
{
  struct vdl_link *l = m->l;
  size_t i, n = l->n_extents;
  struct stat st;
  char *text = NULL;
  VixError err = VIX_OK;

  m->from = calloc (n, sizeof *m->from);
  m->to = calloc (n, sizeof *m->to);
  m->x = calloc (n, sizeof *m->x);
  if (!m->from || !m->to || !m->x)
    return vdl_oom ();
  if (!l->desc_file && !l->embed_file)
    return vdl_error (VIX_E_NOT_SUPPORTED, "Rename: %s is an extent without "
                      "a descriptor: rename the disk through its descriptor",
                      m->src);
  for (i = 0; i < n && err == VIX_OK; i++) {
    if (l->embed_file) {
      m->x[i] = l->desc.extents[i];
      if (!(m->x[i].filename = strdup (basename ((char *) m->dst))))
        err = vdl_oom ();
    }
    else if (l->desc.extents[i].filename)
      err = plan_extent (m, i);
    else
      m->x[i] = l->desc.extents[i];
  }
  if (err != VIX_OK)
    return err;
  /* Nothing is replaced: every new name must be free. */
  if (lstat (m->dst, &st) == 0)
    return vdl_error (VIX_E_FILE_ALREADY_EXISTS, "Rename: %s already "
                      "exists", m->dst);
  for (i = 0; i < n; i++)
    if (m->to[i] && lstat (m->to[i], &st) == 0)
      return vdl_error (VIX_E_FILE_ALREADY_EXISTS, "Rename: the extent "
                        "%s would become %s, which already exists",
                        m->from[i], m->to[i]);
  text = vdl_descriptor_set_extents_text (l->desc_text, m->x, n);
  if (!text)
    return vdl_oom ();
  m->linked = true;
  for (i = 0; i < n && err == VIX_OK; i++)
    if (m->to[i] && (err = move_file (m, m->from[i], m->to[i])) == VIX_OK)
      m->n_done++;
  if (err == VIX_OK && l->embed_file)
    err = move_file (m, m->src, m->dst);
  if (err == VIX_OK)
    err = write_descriptor (m, text);
  if (err == VIX_OK)
    err = vdl_sync_dir (m->dst);
  if (err != VIX_OK) {
    if (l->embed_file && m->linked)
      unlink (m->dst);
    else if (l->embed_file)
      rename (m->dst, m->src);
    undo (m);
    free (text);
    return err;
  }
  free (text);
  /* The new disk is complete: the old names go, descriptor first. */
  if (m->linked || !l->embed_file) {
    if (unlink (m->src) == -1 && errno != ENOENT)
      return vdl_error_errno (errno, "Rename: %s was copied to %s but "
                              "cannot be removed", m->src, m->dst);
  }
  for (i = 0; i < n && m->linked; i++)
    if (m->to[i] && unlink (m->from[i]) == -1)
      return vdl_error_errno (errno, "Rename: %s was renamed, but its old "
                              "extent name %s cannot be removed", m->src,
                              m->from[i]);
  return vdl_sync_dir (m->src);
}

API VixError
VixDiskLib_Rename (const char *srcFileName, const char *dstFileName)
{
  struct move m = { .src = srcFileName, .dst = dstFileName };
  VixError err;
  size_t i;

  if (!srcFileName || !*srcFileName || !dstFileName || !*dstFileName)
    return vdl_error (VIX_E_INVALID_ARG, "Rename: missing file name");
  if (strpbrk (dstFileName, "\"\n\r"))
    return vdl_error (VIX_E_FILE_NAME_INVALID, "Rename: the new name "
                      "contains a double quote or a line break, which a "
                      "VMDK descriptor cannot hold");
  /* Opening for writing takes the locks: nobody has the disk open. */
  err = vdl_link_open (&vdl_local_store, srcFileName, true, false, &m.l);
  if (err != VIX_OK)
    return err;
  if (!(m.src_base = stem (srcFileName)) || !(m.dst_base = stem (dstFileName))
      || !(m.dst_dir = dir_of (dstFileName)))
    err = vdl_oom ();
  else
    err = rename_link (&m);
  for (i = 0; i < m.l->n_extents; i++) {
    if (m.from) free (m.from[i]);
    if (m.to) free (m.to[i]);
    if (m.x) free (m.x[i].filename);
  }
  vdl_link_close (m.l);
  free (m.from);
  free (m.to);
  free (m.x);
  free (m.src_base);
  free (m.dst_base);
  free (m.dst_dir);
  return err;
}
