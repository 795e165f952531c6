/* SPDX-License-Identifier: BSD-3-Clause */
/* New local disks in the hosted and ESX layouts (VixDiskLib_Create and
 * CreateChild, api-create.c; Clone). */
#include <errno.h>
#include <inttypes.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cancel.h"
#include "create.h"
#include "descriptor.h"
#include "error.h"
#include "extent-kinds.h"
#include "file-local.h"
#include "link.h"
#include "pending.h"
#include "sparse-format.h"

#define SS VIXDISKLIB_SECTOR_SIZE

struct layout {
  const char *name;             /* as the nbdkit plugin's create-type */
  const char *create_type;
  enum vdl_extent_type extent_type;
  const char *suffix;           /* extent file name suffix, %03d if split */
  bool split, sparse, thin, embedded;
  bool stream;                  /* compressed grains, directory in a footer */
};

static VixError
layout_of (VixDiskLibDiskType t, struct layout *l)
{
  static const struct { VixDiskLibDiskType t; struct layout l; } table[] = {
    { VIXDISKLIB_DISK_MONOLITHIC_SPARSE,
      { "monolithic-sparse", "monolithicSparse", VDL_EXTENT_SPARSE, "",
        false, true, true, true, false } },
    { VIXDISKLIB_DISK_MONOLITHIC_FLAT,
      { "monolithic-flat", "monolithicFlat", VDL_EXTENT_FLAT, "-flat",
        false, false, false, false, false } },
    { VIXDISKLIB_DISK_SPLIT_SPARSE,
      { "split-sparse", "twoGbMaxExtentSparse", VDL_EXTENT_SPARSE, "-s%03d",
        true, true, true, false, false } },
    { VIXDISKLIB_DISK_SPLIT_FLAT,
      { "split-flat", "twoGbMaxExtentFlat", VDL_EXTENT_FLAT, "-f%03d",
        true, false, false, false, false } },
    { VIXDISKLIB_DISK_VMFS_FLAT,
      { "vmfs-flat", "vmfs", VDL_EXTENT_VMFS, "-flat",
        false, false, false, false, false } },
    { VIXDISKLIB_DISK_VMFS_THIN,
      { "vmfs-thin", "vmfs", VDL_EXTENT_VMFS, "-flat",
        false, false, true, false, false } },
    { VIXDISKLIB_DISK_STREAM_OPTIMIZED,
      { "stream-optimized", "streamOptimized", VDL_EXTENT_SPARSE, "",
        false, true, true, true, true } },
    { VIXDISKLIB_DISK_VMFS_SPARSE,
      { "vmfs-sparse", "vmfsSparse", VDL_EXTENT_VMFSSPARSE, "-delta",
        false, true, true, false, false } },
  };
  size_t i;

  for (i = 0; i < sizeof table / sizeof *table; i++)
    if (table[i].t == t) {
      *l = table[i].l;
      return VIX_OK;
    }
  return vdl_error (VIX_E_INVALID_ARG, "unknown disk type %d", (int) t);
}

static const char *
adapter_name (VixDiskLibAdapterType a)
{
  switch (a) {
  case VIXDISKLIB_ADAPTER_IDE: return "ide";
  case VIXDISKLIB_ADAPTER_SCSI_BUSLOGIC: return "buslogic";
  case VIXDISKLIB_ADAPTER_SCSI_LSILOGIC: return "lsilogic";
  default: return NULL;
  }
}

/* Geometry as VMware products write it: IDE uses 16 heads of 63 sectors
 * with at most 16383 cylinders; SCSI uses 64x32 below 1 GiB, else 255x63. */
static void
geometry (VixDiskLibAdapterType a, uint64_t cap, VixDiskLibGeometry *g)
{
  uint64_t c;

  if (a == VIXDISKLIB_ADAPTER_IDE) {
    g->heads = 16;
    g->sectors = 63;
  }
  else if (cap < 2097152) {
    g->heads = 64;
    g->sectors = 32;
  }
  else {
    g->heads = 255;
    g->sectors = 63;
  }
  c = cap / (g->heads * g->sectors);
  if (a == VIXDISKLIB_ADAPTER_IDE && c > 16383)
    c = 16383;
  if (c > UINT32_MAX)
    c = UINT32_MAX;
  g->cylinders = c ? c : 1;
}

static void
random_bytes (void *p, size_t n)
{
  if (getrandom (p, n, 0) != (ssize_t) n)
    memset (p, 0x5a, n);
}

static int
add_entry (struct vdl_descriptor *d, const char *key, const char *fmt, ...)
  __attribute__ ((format (printf, 3, 4)));

static int
add_entry (struct vdl_descriptor *d, const char *key, const char *fmt, ...)
{
  struct vdl_desc_entry *n = realloc (d->ddb, (d->n_ddb + 1) * sizeof *n);
  va_list args;
  int r;

  if (!n)
    return -1;
  d->ddb = n;
  va_start (args, fmt);
  r = vasprintf (&n[d->n_ddb].value, fmt, args);
  va_end (args);
  if (r == -1)
    return -1;
  if (!(n[d->n_ddb].key = strdup (key))) {
    free (n[d->n_ddb].value);
    return -1;
  }
  d->n_ddb++;
  return 0;
}

static int
fill_ddb (struct vdl_descriptor *d, const VixDiskLibCreateParams *p,
          const struct layout *l)
{
  VixDiskLibGeometry g;
  unsigned char u[16];
  char lc[33];

  geometry (p->adapterType, p->capacity, &g);
  random_bytes (u, sizeof u);
  vdl_long_content_id (d->cid, lc);
  u[0] = 0x60; u[1] = 0x00; u[2] = 0xc2;    /* VMware's uuid prefix */
  if (add_entry (d, "ddb.adapterType", "%s", adapter_name (p->adapterType)) ||
      add_entry (d, "ddb.geometry.cylinders", "%u", g.cylinders) ||
      add_entry (d, "ddb.geometry.heads", "%u", g.heads) ||
      add_entry (d, "ddb.geometry.sectors", "%u", g.sectors) ||
      add_entry (d, VDL_LONG_CONTENT_ID, "%s", lc) ||
      add_entry (d, "ddb.uuid", "%02x %02x %02x %02x %02x %02x %02x %02x-"
                 "%02x %02x %02x %02x %02x %02x %02x %02x", u[0], u[1], u[2],
                 u[3], u[4], u[5], u[6], u[7], u[8], u[9], u[10], u[11],
                 u[12], u[13], u[14], u[15]) ||
      add_entry (d, "ddb.virtualHWVersion", "%u", p->hwVersion))
    return -1;
  if (l->thin && !l->sparse && add_entry (d, "ddb.thinProvisioned", "1"))
    return -1;
  if (p->logicalSectorSize && p->logicalSectorSize != SS &&
      add_entry (d, "ddb.logicalSectorSize", "%u", p->logicalSectorSize))
    return -1;
  if (p->physicalSectorSize && p->physicalSectorSize != SS &&
      add_entry (d, "ddb.physicalSectorSize", "%u", p->physicalSectorSize))
    return -1;
  return 0;
}

/* ---- Limits, checked before anything is written ---- */

/* Sectors a fully written extent of cap sectors fills in its file: the
 * metadata and every grain.  COWD tables are appended when first used
 * and each takes a grain, as extent-sparse.c allocates them. */
static uint64_t
full_extent_sectors (const struct layout *l, uint64_t cap)
{
  uint64_t grains, n_gts, start;
  struct kdmv_header h;

  if (l->extent_type == VDL_EXTENT_VMFSSPARSE) {
    grains = (cap + COWD_GRAIN - 1) / COWD_GRAIN;
    n_gts = (grains + COWD_GTES_PER_GT - 1) / COWD_GTES_PER_GT;
    start = COWD_HEADER_SIZE / SS + (n_gts * 4 + SS - 1) / SS;
    start = (start + COWD_GRAIN - 1) / COWD_GRAIN * COWD_GRAIN;
    return start + (n_gts + grains) * COWD_GRAIN;
  }
  kdmv_new_layout (&h, cap, l->embedded ? DESC_SECTORS : 0);
  grains = (cap + h.grain_size - 1) / h.grain_size;
  return h.overhead + grains * h.grain_size;
}

/* The largest sparse extent that can be written in full: grain table
 * entries are 32-bit sector numbers, and the writer keeps every grain
 * below sector UINT32_MAX. */
static uint64_t
max_sparse_extent (const struct layout *l)
{
  uint64_t lo = 1, hi = UINT64_C (1) << 32, mid;

  while (hi - lo > 1) {
    mid = lo + (hi - lo) / 2;
    if (full_extent_sectors (l, mid) <= UINT32_MAX)
      lo = mid;
    else
      hi = mid;
  }
  return lo;
}

/* The largest capacity of a disk laid out as l, and why. */
static uint64_t
max_capacity (const struct layout *l, char *why, size_t len)
{
  if (l->split) {
    snprintf (why, len, "it is split into at most %d extent files of "
              "%" PRIu64 " MiB", MAX_EXTENT_FILES, SPLIT_SECTORS / 2048);
    return MAX_EXTENT_FILES * SPLIT_SECTORS;
  }
  if (l->sparse) {
    snprintf (why, len, "grain tables hold 32-bit sector numbers, so its "
              "extent file, metadata included, stays below 2 TiB");
    return max_sparse_extent (l);
  }
  snprintf (why, len, "file offsets are signed 64-bit numbers");
  return INT64_MAX / SS;
}

/* sectors for people: "100 PiB", "1.99 TiB", rounded down so that a
 * limit never looks larger than it is. */
static void
human_size (uint64_t sectors, char *buf, size_t len)
{
  static const char units[] = "KMGTPEZ";
  double v = (double) sectors * SS;
  int u = -1;

  while (v >= 1024 && u < 6) {
    v /= 1024;
    u++;
  }
  if (u < 0)
    snprintf (buf, len, "%.0f bytes", v);
  else if (v == (double) (uint64_t) v)
    snprintf (buf, len, "%.0f %ciB", v, units[u]);
  else
    snprintf (buf, len, "%.2f %ciB", (double) (uint64_t) (v * 100) / 100,
              units[u]);
}

/* "1.99 TiB (2198754230272 bytes)", or just the sectors if too many. */
static void
size_text (uint64_t sectors, char *buf, size_t len)
{
  char h[32];

  human_size (sectors, h, sizeof h);
  if (sectors <= UINT64_MAX / SS)
    snprintf (buf, len, "%s (%" PRIu64 " bytes)", h, sectors * SS);
  else
    snprintf (buf, len, "%s (%" PRIu64 " sectors)", h, sectors);
}

static VixError
check_capacity (const struct layout *l, uint64_t capacity)
{
  char why[160], want[64], most[64];
  uint64_t max = max_capacity (l, why, sizeof why);

  if (capacity <= max)
    return VIX_OK;
  size_text (capacity, want, sizeof want);
  size_text (max, most, sizeof most);
  return vdl_error (VIX_E_INVALID_ARG, "a capacity of %s is too large for "
                    "a %s disk: at most %s, because %s", want, l->name,
                    most, why);
}

/* The filesystem refused an extent file of the size needed (EFBIG):
 * find the largest size it allows, on that new file, to say so. */
static VixError
too_big_for_fs (VixError err, struct vdl_file *f, const struct layout *l,
                uint64_t capacity)
{
  uint64_t lo = 0, hi = INT64_MAX, mid;
  char want[64], most[64];

  while (lo < hi) {
    mid = lo + (hi - lo + 1) / 2;
    if (ftruncate (vdl_file_fd (f), mid) == 0)
      lo = mid;
    else if (errno == EFBIG)
      hi = mid - 1;
    else
      return err;               /* keep the original message */
  }
  if (ftruncate (vdl_file_fd (f), 0) == -1)
    return err;
  size_text (capacity, want, sizeof want);
  human_size (lo / SS, most, sizeof most);
  return vdl_error (VIX_E_FILE_TOO_BIG, "a capacity of %s is too large for "
                    "a %s disk on the filesystem of %s: it allows files of "
                    "at most %s (%" PRIu64 " bytes)", want, l->name, f->path,
                    most, lo);
}

/* A descriptor quotes file names and ends lines with newlines: a name
 * holding either could not be read back.  whose says which name; the
 * message shows the characters escaped, as a raw newline would cut it. */
static VixError
check_name (const char *path, const char *name, const char *whose)
{
  const char *bad = strpbrk (name, "\"\n\r"), *s;
  char *shown, *p;
  VixError err;

  if (!bad)
    return VIX_OK;
  shown = p = malloc (2 * strlen (path) + 1);
  if (!shown)
    return vdl_oom ();
  for (s = path; *s; s++) {
    if (*s == '"' || *s == '\n' || *s == '\r' || *s == '\\')
      *p++ = '\\';
    *p++ = *s == '\n' ? 'n' : *s == '\r' ? 'r' : *s;
  }
  *p = '\0';
  err = vdl_error (VIX_E_FILE_NAME_INVALID, "cannot create %s: %s "
                   "contains %s, which a VMDK descriptor cannot hold",
                   shown, whose, *bad == '"' ? "a double quote"
                   : "a line break");
  free (shown);
  return err;
}

/* The disk a new child refers to. */
/* Make the disk's files under pend's temporary names; the descriptor
 * names the temporary extents until the commit.  Unless overwrite (a
 * Clone replacing a disk), the final names must be free. */
static VixError
create_disk (struct vdl_pending *pend, const char *path,
             const VixDiskLibCreateParams *p, const struct layout *l,
             const struct vdl_parent_ref *parent, bool overwrite)
{
  struct vdl_descriptor d = { .version = 1, .parent_cid = 0xffffffff };
  char *dirc = strdup (path), *basec = strdup (path), *base, *dir, *text = NULL;
  char name[4096], suffix[16];
  size_t n_ext = l->split ? (p->capacity + SPLIT_SECTORS - 1) / SPLIT_SECTORS : 1;
  struct vdl_file *f = NULL;
  struct vdl_extent_create_args a = { .thin = l->thin };
  size_t i, len;
  VixError err = VIX_OK;

  if (!dirc || !basec)
    goto oom;
  dir = dirname (dirc);
  base = basename (basec);
  len = strlen (base);
  if (len > 5 && strcmp (base + len - 5, ".vmdk") == 0)
    base[len - 5] = '\0';
  random_bytes (&d.cid, sizeof d.cid);
  d.cid &= 0x7fffffff;
  d.create_type = (char *) l->create_type;
  if (parent) {
    d.parent_cid = parent->cid;
    d.parent_hint = (char *) parent->hint;
  }
  d.extents = calloc (n_ext, sizeof *d.extents);
  if (!d.extents)
    goto oom;
  d.n_extents = n_ext;
  for (i = 0; i < n_ext; i++) {
    struct vdl_desc_extent *x = &d.extents[i];
    x->access = VDL_ACCESS_RW;
    x->type = l->extent_type;
    x->sectors = l->split && i + 1 < n_ext ? SPLIT_SECTORS
      : p->capacity - i * SPLIT_SECTORS * l->split;
    snprintf (suffix, sizeof suffix, l->suffix, (int) i + 1);
    if (l->embedded) {
      /* The file itself, which is renamed whole. */
      snprintf (name, sizeof name, "%s.vmdk", base);
      if (!(x->filename = strdup (name)))
        goto oom;
    }
    else {
      char *tmp_path = NULL;
      snprintf (name, sizeof name, "%s%s.vmdk", base, suffix);
      err = vdl_pending_extent (pend, name, &x->filename, &tmp_path);
      free (tmp_path);
      if (err != VIX_OK)
        goto out;
    }
  }
  if (!overwrite)
    err = vdl_pending_check_free (pend);
  if (err != VIX_OK)
    goto out;
  if (fill_ddb (&d, p, l) == -1 || !(text = vdl_descriptor_format (&d)))
    goto oom;

  err = vdl_file_open (vdl_pending_path (pend), true, false, VDL_LOCK_NONE,
                       &f);
  if (err != VIX_OK)
    goto out;
  if (l->embedded) {
    a.f = f;
    a.sectors = p->capacity;
    a.stream = l->stream;
    a.desc = text;
    err = vdl_extent_kind (l->extent_type)->create (&a);
    goto out;
  }
  err = vdl_file_pwrite (f, text, strlen (text), 0);
  if (err == VIX_OK)
    err = vdl_file_sync (f);
  for (i = 0; err == VIX_OK && i < n_ext; i++) {
    char *xpath = vdl_path_join (dir, d.extents[i].filename);
    vdl_file_close (f);
    f = NULL;
    if (!xpath)
      goto oom;
    err = vdl_file_create (xpath, &f);
    free (xpath);
    if (err != VIX_OK)
      break;
    a.f = f;
    a.sectors = d.extents[i].sectors;
    err = vdl_extent_kind (l->extent_type)->create (&a);
    if (err == VIX_E_FILE_TOO_BIG)
      err = too_big_for_fs (err, f, l, p->capacity);
  }
  goto out;

 oom:
  err = vdl_oom ();
 out:
  vdl_file_close (f);
  d.create_type = d.parent_hint = NULL;    /* not ours to free */
  vdl_descriptor_free (&d);
  free (text);
  free (dirc);
  free (basec);
  return err;
}

/* Check the parameters and make the disk under temporary names. */
static VixError
create_pending (const char *path, const VixDiskLibCreateParams *p,
                const struct vdl_parent_ref *parent, bool overwrite,
                struct vdl_pending **out)
{
  struct vdl_pending *pend;
  struct layout l = { 0 };
  struct stat st;
  VixError err;

  if (!path || !*path || !p)
    return vdl_error (VIX_E_INVALID_ARG, "Create: no file name or parameters");
  if (p->capacity == 0)
    return vdl_error (VIX_E_INVALID_ARG, "Create: the capacity is zero");
  if (!adapter_name (p->adapterType))
    return vdl_error (VIX_E_INVALID_ARG, "Create: unknown adapter type %d",
                      (int) p->adapterType);
  err = layout_of (p->diskType, &l);
  if (err == VIX_OK)
    err = check_capacity (&l, p->capacity);
  /* Extent names are made from the base name. */
  if (err == VIX_OK)
    err = check_name (path, strrchr (path, '/') ? strrchr (path, '/') + 1
                      : path, "its file name");
  if (err == VIX_OK && parent)
    err = check_name (path, parent->hint, "the name of its parent");
  if (err != VIX_OK)
    return err;
  /* Begin first: it removes what a killed run left, even beside a
   * disk that was complete (hidden links that would keep its extents'
   * space after it is deleted). */
  err = vdl_pending_begin (path, &pend);
  if (err != VIX_OK)
    return err;
  if (!overwrite && stat (path, &st) == 0)
    err = vdl_error (VIX_E_FILE_ALREADY_EXISTS, "cannot create %s: the file "
                     "already exists", path);
  if (err == VIX_OK)
    err = create_disk (pend, path, p, &l, parent, overwrite);
  if (err != VIX_OK) {
    vdl_pending_abort (pend);
    return err;
  }
  *out = pend;
  return VIX_OK;
}

VixError
vdl_create (const char *path, const VixDiskLibCreateParams *p,
            const struct vdl_parent_ref *parent,
            VixDiskLibProgressFunc progress, void *progress_data)
{
  unsigned token = vdl_cancel_token ();
  struct vdl_pending *pend;
  VixError err;

  err = create_pending (path, p, parent, false, &pend);
  if (err != VIX_OK)
    return err;
  if (vdl_cancelled (token)) {
    vdl_pending_abort (pend);
    return vdl_error (VIX_E_CANCELLED, "the creation of %s was cancelled: "
                      "nothing was left", path);
  }
  err = vdl_pending_commit (pend);
  if (err == VIX_OK && progress)
    progress (progress_data, 100);
  return err;
}

/* ---- For operations on existing disks (create.h) ---- */

void
vdl_create_geometry (VixDiskLibAdapterType a, uint64_t capacity,
                     VixDiskLibGeometry *g)
{
  geometry (a, capacity, g);
}

VixError
vdl_create_check_capacity (VixDiskLibDiskType t, uint64_t capacity)
{
  struct layout l;
  VixError err = layout_of (t, &l);

  return err == VIX_OK ? check_capacity (&l, capacity) : err;
}

VixError
vdl_create_pending (const char *path, const VixDiskLibCreateParams *p,
                    bool overwrite, struct vdl_pending **out)
{
  return create_pending (path, p, NULL, overwrite, out);
}
