/* SPDX-License-Identifier: BSD-3-Clause */
/* VixDiskLib_CheckRepair: check a disk's files and its chain of parents,
 * and with repair, fix what can be fixed without guessing (check.h; each
 * kind of extent file is checked by its row of extent-kinds.c: flat files
 * that are too short are extended with zeros, grain tables are checked by
 * check-sparse.c and check-tables.c).  Files are read directly, not
 * through Open, so that a disk too damaged to open can still be checked.
 * Each problem is logged ("VixDiskLib: check: FILE: PROBLEM", with
 * "(repaired)" when fixed).
 * Returns VIX_OK when nothing is left wrong, VIX_E_DISK_NEEDSREPAIR
 * when problems were found and not repaired, VIX_E_DISK_CANTREPAIR when
 * repairing left some; their text lists them.  Only the named link is
 * repaired; its parents are only checked. */
#include <endian.h>
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api.h"
#include "check.h"
#include "descriptor-file.h"
#include "descriptor.h"
#include "error.h"
#include "extent-kinds.h"
#include "handle.h"
#include "link.h"
#include "log.h"
#include "sparse-format.h"

#define MAX_DEPTH 255

/* The descriptor text of the file f: embedded after a KDMV header, or
 * the whole (small) file. */
static VixError
read_descriptor (struct vdl_file *f, bool *embedded, bool *cowd, char **out)
{
  struct vdl_desc_where w;
  uint64_t off = 0, len;
  VixError err = vdl_descfile_locate (f, &w);

  *embedded = *cowd = false;
  if (err != VIX_OK)
    return err;
  if (w.place == VDL_DESC_COWD) {
    *cowd = true;
    *out = NULL;                /* a bare delta: no descriptor */
    return VIX_OK;
  }
  len = w.file_size;
  if (w.place != VDL_DESC_TEXT) {
    *embedded = true;
    if (w.place != VDL_DESC_SPARSE)
      return vdl_error (VIX_E_DISK_NEEDSREPAIR, "%s: %s", f->path,
                        w.place == VDL_DESC_SHORT ? "truncated header"
                        : w.why);
    off = w.h.desc_offset * SS;
    len = w.h.desc_size * SS;
    if (len == 0 || off + len > w.file_size)
      return vdl_error (VIX_E_DISK_NEEDSREPAIR, "%s has no embedded "
                        "descriptor inside the file", f->path);
  }
  if (len > VDL_DESCRIPTOR_MAX)
    return vdl_error (VIX_E_DISK_NEEDSREPAIR, "%s is not a VMDK file", f->path);
  return vdl_descfile_read (f, off, len, out);
}

/* Check one extent of a link (f: the link's own file, for an embedded
 * descriptor's extent). */
static VixError
check_extent (struct vdl_check *c, const char *dir,
              const struct vdl_desc_extent *x, struct vdl_file *self,
              bool repair)
{
  const struct vdl_extent_kind *k = vdl_extent_kind (x->type);
  bool saved = c->repair;
  char *path;
  VixError err = VIX_OK;

  if (!vdl_extent_type_has_file (x->type))
    return VIX_OK;
  if (!self && !(path = vdl_path_join (dir, x->filename)))
    return vdl_oom ();
  if (self)
    path = strdup (self->path);
  if (!path)
    return vdl_oom ();
  c->repair = repair;
  if (!self && access (path, F_OK) == -1)
    vdl_check_problem (c, path, false, "the extent file is missing (%s)",
                       strerror (errno));
  else if (k->check)
    err = k->check (c, x, path, self);
  c->repair = saved;
  free (path);
  return err;
}

/* Check the link at path and its parents; *cid and *capacity tell the
 * child what this link is. */
static VixError
check_link (struct vdl_check *c, const char *path, unsigned depth,
            bool repair, uint32_t *cid, uint64_t *capacity)
{
  struct vdl_descriptor d = { 0 };
  struct vdl_file *f;
  bool embedded, cowd;
  char *text = NULL, *dir = NULL, *ppath = NULL, msg[256];
  uint32_t pcid;
  uint64_t pcap;
  size_t i;
  VixError err;

  if (depth > MAX_DEPTH)
    return vdl_error (VIX_E_DISK_INVALIDCHAIN, "%s: the chain of parents is "
                      "longer than %d links (a loop?)", path, MAX_DEPTH);
  err = vdl_file_open (path, repair, false,
                       repair ? VDL_LOCK_WRITE : VDL_LOCK_READ, &f);
  if (err != VIX_OK)
    return err;
  err = read_descriptor (f, &embedded, &cowd, &text);
  if (err == VIX_OK && cowd) {
    /* A delta file opened by itself: check just its tables. */
    bool saved = c->repair;
    c->repair = repair;
    c->delta = true;
    c->base = 0;
    err = vdl_check_grained (c, f, true, 0);
    c->repair = saved;
    *cid = 0xffffffff;
    *capacity = 0;
    goto out;
  }
  if (err == VIX_E_DISK_NEEDSREPAIR) {
    char *t = vdl_error_text (err);
    vdl_check_problem (c, path, false, "%s", t ? t : "not a VMDK file");
    free (t);
    err = VIX_OK;
    goto out;
  }
  if (err != VIX_OK)
    goto out;
  if (vdl_descriptor_parse (text, strlen (text), &d, msg, sizeof msg) == -1) {
    vdl_check_problem (c, path, false, "invalid descriptor: %s", msg);
    goto out;
  }
  if (!(dir = vdl_store_dir (&vdl_local_store, path))) {
    err = vdl_oom ();
    goto out;
  }
  *cid = d.cid;
  *capacity = 0;
  c->delta = d.parent_hint != NULL;
  for (i = 0; i < d.n_extents && err == VIX_OK; i++) {
    c->base = *capacity;
    *capacity += d.extents[i].sectors;
    err = check_extent (c, dir, &d.extents[i], embedded ? f : NULL, repair);
  }
  if (err == VIX_OK && d.parent_hint) {
    err = vdl_store_join (&vdl_local_store, dir, d.parent_hint, &ppath);
    if (err == VIX_OK && access (ppath, F_OK) == -1) {
      vdl_check_problem (c, path, false, "its parent %s is missing", ppath);
      goto out;
    }
    if (err == VIX_OK)
      err = check_link (c, ppath, depth + 1, false, &pcid, &pcap);
    if (err == VIX_OK && pcap && pcid != d.parent_cid)
      vdl_check_problem (c, path, false, "its parent %s was modified after "
                         "it was made (parentCID %08" PRIx32 ", parent's CID "
                         "%08" PRIx32 ")", ppath, d.parent_cid, pcid);
    if (err == VIX_OK && pcap && pcap != *capacity)
      vdl_check_problem (c, path, false, "it has %" PRIu64 " sectors but "
                         "its parent %s has %" PRIu64, *capacity, ppath,
                         pcap);
  }
 out:
  vdl_descriptor_free (&d);
  free (text);
  free (dir);
  free (ppath);
  vdl_file_close (f);
  return err;
}

API VixError
VixDiskLib_CheckRepair (const VixDiskLibConnection connection,
                        const char *filename, char repair)
{
  struct vdl_check c = { .repair = repair };
  uint32_t cid;
  uint64_t cap;
  VixError err;

  if (!vdl_connection_check_local (connection, "CheckRepair", &err))
    return err;
  if (!filename || !*filename)
    return vdl_error (VIX_E_INVALID_ARG, "CheckRepair: no file name");
  if (!(c.list = open_memstream (&c.list_text, &c.list_len)))
    return vdl_oom ();
  err = check_link (&c, filename, 0, repair, &cid, &cap);
  fclose (c.list);
  if (err == VIX_OK && c.unfixable > 0)
    err = vdl_error (repair ? VIX_E_DISK_CANTREPAIR : VIX_E_DISK_NEEDSREPAIR,
                     "%s: %u problem%s%s: %s%s", filename, c.unfixable,
                     c.unfixable == 1 ? "" : "s",
                     repair ? " left that cannot be repaired" : " found",
                     c.list_text ? c.list_text : "",
                     c.unfixable > VDL_CHECK_MAX_LISTED ? "; ..." : "");
  else if (err == VIX_OK)
    vdl_debug ("VixDiskLib: CheckRepair %s: %u problem%s found, %u repaired",
               filename, c.found, c.found == 1 ? "" : "s", c.fixed);
  free (c.list_text);
  return err;
}
