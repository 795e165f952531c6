/* SPDX-License-Identifier: BSD-3-Clause */
/* New disks under temporary names until complete (pending.h). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libgen.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "descriptor.h"
#include "error.h"
#include "file-local.h"
#include "link.h"
#include "log.h"
#include "pending.h"
#include "replace.h"

/* Far from the bytes of qemu's lock protocol (file-local.c), which the
 * library takes on the same files while it writes the disk. */
#define PENDING_LOCK 0x7ffffff0
#define TAG ".vdl-tmp-"
#define MAX_DESC_TEXT (1 << 20)

struct pending_extent {
  char *tmp_name, *tmp_path;
  char *final_name, *final_path;
  bool placed;                  /* final name made by commit */
};

struct vdl_pending {
  char *dir, *stem;             /* of the final path */
  char *base;                   /* its file name, or shorten_base's */
  char *final;                  /* the final path */
  char *path;                   /* the first temporary file */
  int lock_fd;
  bool linked;                  /* extents placed as hard links */
  struct pending_extent *x;
  size_t n;
};

/* 0: locked; 1: another open file holds it; -1: no OFD locks here. */
static int
try_lock (int fd)
{
  struct flock fl = {
    .l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = PENDING_LOCK,
    .l_len = 1,
  };

  if (fcntl (fd, F_OFD_SETLK, &fl) == 0)
    return 0;
  return errno == EAGAIN || errno == EACCES ? 1 : -1;
}

static bool
same_file (const char *a, const char *b)
{
  struct stat sa, sb;

  return lstat (a, &sa) == 0 && lstat (b, &sb) == 0 &&
    sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

/* The temporary names add up to about 40 bytes to the final name.  A
 * final name too long for that is represented in them by its first
 * bytes and a hash of the whole, so that any name a filesystem takes
 * can still be made, and the next maker of the same name still finds
 * what a killed one left. */
#define LONGEST_BASE 160

static int
shorten_base (struct vdl_pending *p)
{
  uint64_t h = 14695981039346656037ULL;    /* FNV-1a */
  const unsigned char *c;
  char *s;

  if (strlen (p->base) <= LONGEST_BASE)
    return 0;
  for (c = (const unsigned char *) p->base; *c; c++)
    h = (h ^ *c) * 1099511628211ULL;
  if (asprintf (&s, "%.64s~%016" PRIx64, p->base, h) == -1)
    return -1;
  free (p->base);
  p->base = s;
  return 0;
}

/* If name is one of our temporary names for base, the length of its
 * group (".B.vdl-tmp-PID-RAND") and the PID; else 0. */
static size_t
group_of (const char *name, const char *base, long *pid)
{
  size_t lb = strlen (base), i;
  const char *s;
  char *end;

  if (name[0] != '.' || strncmp (name + 1, base, lb) != 0 ||
      strncmp (name + 1 + lb, TAG, strlen (TAG)) != 0)
    return 0;
  s = name + 1 + lb + strlen (TAG);
  if (*s < '0' || *s > '9')
    return 0;
  *pid = strtol (s, &end, 10);
  if (*end != '-')
    return 0;
  for (i = 1; i <= 8; i++)
    if (!strchr ("0123456789abcdef", end[i]) || !end[i])
      return 0;
  if (end[9] != '\0' && end[9] != '-')
    return 0;
  return end + 9 - name;
}

/* Remove group g (names[i] with the same group) if no live maker holds
 * it.  committed: the final descriptor exists, so extent names linked
 * to our temporaries belong to a disk and stay. */
static void
clean_group (struct vdl_pending *p, char **names, size_t n, const char *g,
             size_t glen, long pid)
{
  char *first = NULL, *tmp, *fin;
  bool committed;
  size_t i;
  int fd = -1, r;

  if (asprintf (&first, "%s/%.*s", p->dir, (int) glen, g) == -1)
    return;
  fd = open (first, O_RDWR | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
  if (fd == -1 && errno != ENOENT)
    goto out;
  if (fd >= 0) {
    r = try_lock (fd);
    /* Without OFD locks, a maker on this host that still runs. */
    if (r == 1 || (r == -1 && (kill (pid, 0) == 0 || errno == EPERM)))
      goto out;
  }
  committed = access (p->final, F_OK) == 0;
  for (i = 0; i < n; i++) {
    if (!names[i] || strncmp (names[i], g, glen) != 0 ||
        names[i][glen] == '\0')
      continue;
    tmp = vdl_path_join (p->dir, names[i]);
    if (asprintf (&fin, "%s/%s%s", p->dir, p->stem, names[i] + glen) == -1)
      fin = NULL;
    if (tmp && fin && !committed && same_file (tmp, fin)) {
      vdl_debug ("removing %s, linked to %s by a run that was interrupted",
                 fin, tmp);
      unlink (fin);
    }
    if (tmp) {
      vdl_debug ("removing %s, left by a run that was interrupted", tmp);
      unlink (tmp);
    }
    free (tmp);
    free (fin);
  }
  if (fd >= 0) {
    vdl_debug ("removing %s, left by a run that was interrupted", first);
    unlink (first);
  }
 out:
  if (fd >= 0)
    close (fd);
  free (first);
}

/* Remove what makers of this name that no longer run left behind. */
static void
clean_stale (struct vdl_pending *p)
{
  DIR *d = opendir (p->dir);
  struct dirent *e;
  char **names = NULL, **nn;
  size_t n = 0, i, j, glen;
  long pid;

  if (!d)
    return;
  while ((e = readdir (d)) != NULL) {
    if (!group_of (e->d_name, p->base, &pid))
      continue;
    if (!(nn = realloc (names, (n + 1) * sizeof *names)))
      break;
    names = nn;
    if ((names[n] = strdup (e->d_name)) != NULL)
      n++;
  }
  closedir (d);
  for (i = 0; i < n; i++) {
    if (!names[i])
      continue;
    glen = group_of (names[i], p->base, &pid);
    char *g = strndup (names[i], glen);
    if (g)
      clean_group (p, names, n, g, glen, pid);
    /* Each group once. */
    for (j = i + 1; g && j < n; j++)
      if (names[j] && strncmp (names[j], g, glen) == 0 &&
          (names[j][glen] == '\0' || names[j][glen] == '-')) {
        free (names[j]);
        names[j] = NULL;
      }
    free (g);
    free (names[i]);
    names[i] = NULL;
  }
  free (names);
}

static void
pending_free (struct vdl_pending *p)
{
  size_t i;

  for (i = 0; i < p->n; i++) {
    free (p->x[i].tmp_name);
    free (p->x[i].tmp_path);
    free (p->x[i].final_name);
    free (p->x[i].final_path);
  }
  free (p->x);
  if (p->lock_fd >= 0)
    close (p->lock_fd);
  free (p->dir);
  free (p->base);
  free (p->stem);
  free (p->final);
  free (p->path);
  free (p);
}

/* Create and lock the first file under a fresh name. */
static VixError
claim (struct vdl_pending *p)
{
  struct stat a, b;
  uint32_t r;
  int tries, fd;

  for (tries = 0; tries < 16; tries++) {
    if (getrandom (&r, sizeof r, 0) != sizeof r)
      r = (uint32_t) rand ();
    free (p->path);
    if (asprintf (&p->path, "%s/.%s" TAG "%ld-%08" PRIx32, p->dir, p->base,
                  (long) getpid (), r) == -1) {
      p->path = NULL;
      return vdl_oom ();
    }
    fd = open (p->path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd == -1 && errno == EEXIST)
      continue;
    if (fd == -1)
      return vdl_error_errno (errno, "cannot create %s (the new disk is "
                              "made under this name until it is "
                              "complete)", p->path);
    /* A cleaner of another process may have taken it as stale between
     * the open and the lock: then it is gone, and we take another. */
    if (try_lock (fd) == 1 || fstat (fd, &a) == -1 ||
        lstat (p->path, &b) == -1 || a.st_ino != b.st_ino ||
        a.st_dev != b.st_dev) {
      close (fd);
      continue;
    }
    p->lock_fd = fd;
    return VIX_OK;
  }
  return vdl_error (VIX_E_FAIL, "cannot find a free temporary name beside "
                    "%s", p->final);
}

VixError
vdl_pending_begin (const char *path, struct vdl_pending **out)
{
  struct vdl_pending *p = calloc (1, sizeof *p);
  char *dc = strdup (path), *bc = strdup (path);
  size_t len;
  VixError err;

  if (!p || !dc || !bc) {
    free (p);
    free (dc);
    free (bc);
    return vdl_oom ();
  }
  p->lock_fd = -1;
  p->dir = strdup (dirname (dc));
  p->base = strdup (basename (bc));
  p->final = strdup (path);
  free (dc);
  free (bc);
  if (!p->dir || !p->base || !p->final || !(p->stem = strdup (p->base))) {
    pending_free (p);
    return vdl_oom ();
  }
  /* The stem as Create makes extent names from it. */
  len = strlen (p->stem);
  if (len > 5 && strcmp (p->stem + len - 5, ".vmdk") == 0)
    p->stem[len - 5] = '\0';
  if (shorten_base (p) == -1) {
    pending_free (p);
    return vdl_oom ();
  }
  clean_stale (p);
  err = claim (p);
  if (err != VIX_OK) {
    pending_free (p);
    return err;
  }
  *out = p;
  return VIX_OK;
}

const char *
vdl_pending_path (const struct vdl_pending *p)
{
  return p->path;
}

VixError
vdl_pending_extent (struct vdl_pending *p, const char *final_name,
                    char **tmp_name, char **tmp_path)
{
  size_t ls = strlen (p->stem);
  struct pending_extent *n, *x;

  if (strncmp (final_name, p->stem, ls) != 0 || final_name[ls] != '-')
    return vdl_error (VIX_E_FAIL, "internal error: extent name %s does not "
                      "extend %s", final_name, p->stem);
  n = realloc (p->x, (p->n + 1) * sizeof *n);
  if (!n)
    return vdl_oom ();
  p->x = n;
  x = memset (&n[p->n], 0, sizeof *x);
  if (asprintf (&x->tmp_name, "%s%s", basename (p->path),
                final_name + ls) == -1)
    x->tmp_name = NULL;
  x->tmp_path = x->tmp_name ? vdl_path_join (p->dir, x->tmp_name) : NULL;
  x->final_name = strdup (final_name);
  x->final_path = vdl_path_join (p->dir, final_name);
  p->n++;
  if (!x->tmp_name || !x->tmp_path || !x->final_name || !x->final_path ||
      !(*tmp_name = strdup (x->tmp_name)) ||
      !(*tmp_path = strdup (x->tmp_path)))
    return vdl_oom ();
  return VIX_OK;
}

VixError
vdl_pending_check_free (const struct vdl_pending *p)
{
  struct stat st;
  size_t i;

  if (lstat (p->final, &st) == 0)
    return vdl_error (VIX_E_FILE_ALREADY_EXISTS, "cannot create %s: the "
                      "file already exists", p->final);
  for (i = 0; i < p->n; i++)
    if (lstat (p->x[i].final_path, &st) == 0)
      return vdl_error (VIX_E_FILE_ALREADY_EXISTS, "cannot create %s: its "
                        "extent file %s already exists", p->final,
                        p->x[i].final_path);
  return VIX_OK;
}

static VixError
sync_path (const char *path)
{
  int fd = open (path, O_RDONLY | O_CLOEXEC);
  VixError err = VIX_OK;

  if (fd == -1 || fsync (fd) == -1)
    err = vdl_error_errno (errno, "cannot sync %s", path);
  if (fd >= 0)
    close (fd);
  return err;
}

/* The descriptor, written while the extents had temporary names (and
 * maybe given a new CID by the writes since), names the final ones. */
static VixError
final_descriptor (struct vdl_pending *p)
{
  struct vdl_descriptor d = { 0 };
  struct vdl_desc_extent *x = NULL;
  struct vdl_file *f;
  uint64_t size;
  char *text = NULL, *out = NULL, why[256];
  size_t i, j;
  VixError err;

  err = vdl_file_open (p->path, true, false, VDL_LOCK_NONE, &f);
  if (err != VIX_OK)
    return err;
  err = vdl_file_size (f, &size);
  if (err == VIX_OK && size > MAX_DESC_TEXT)
    err = vdl_error (VIX_E_FAIL, "%s: the new descriptor is too large",
                     p->path);
  if (err == VIX_OK && !(text = calloc (1, size + 1)))
    err = vdl_oom ();
  if (err == VIX_OK)
    err = vdl_file_pread (f, text, size, 0);
  if (err == VIX_OK &&
      vdl_descriptor_parse (text, size, &d, why, sizeof why) == -1)
    err = vdl_error (VIX_E_FAIL, "%s: cannot read back the new "
                     "descriptor: %s", p->path, why);
  if (err == VIX_OK && !(x = calloc (d.n_extents + 1, sizeof *x)))
    err = vdl_oom ();
  for (i = 0; err == VIX_OK && i < d.n_extents; i++) {
    x[i] = d.extents[i];
    for (j = 0; x[i].filename && j < p->n; j++)
      if (strcmp (x[i].filename, p->x[j].tmp_name) == 0)
        x[i].filename = p->x[j].final_name;
  }
  if (err == VIX_OK &&
      !(out = vdl_descriptor_set_extents_text (text, x, d.n_extents)))
    err = vdl_oom ();
  if (err == VIX_OK)
    err = vdl_file_pwrite (f, out, strlen (out), 0);
  if (err == VIX_OK && strlen (out) < size)
    err = vdl_file_truncate (f, strlen (out));
  if (err == VIX_OK)
    err = vdl_file_sync (f);
  vdl_file_close (f);
  vdl_descriptor_free (&d);
  free (x);
  free (text);
  free (out);
  return err;
}

/* Give extent x its final name: a hard link, so that until the
 * descriptor is in place the temporary name still says whose it is. */
static VixError
place (struct vdl_pending *p, struct pending_extent *x, bool first)
{
  if (p->linked) {
    if (link (x->tmp_path, x->final_path) == 0)
      goto ok;
    if (!first || (errno != EPERM && errno != ENOTSUP &&
                   errno != EOPNOTSUPP && errno != EMLINK))
      goto fail;
    p->linked = false;          /* no hard links here: rename */
  }
  if (vdl_rename_noreplace (x->tmp_path, x->final_path) == 0)
    goto ok;
 fail:
  if (errno == EEXIST)
    return vdl_error (VIX_E_FILE_ALREADY_EXISTS, "cannot create %s: its "
                      "extent file %s already exists", p->final,
                      x->final_path);
  return vdl_error_errno (errno, "cannot name %s %s", x->tmp_path,
                          x->final_path);
 ok:
  x->placed = true;
  return VIX_OK;
}

/* Undo the final extent names made before a failure. */
static void
unplace (struct vdl_pending *p)
{
  size_t i;

  for (i = 0; i < p->n; i++) {
    if (!p->x[i].placed)
      continue;
    if (p->linked)
      unlink (p->x[i].final_path);
    else
      rename (p->x[i].final_path, p->x[i].tmp_path);
    p->x[i].placed = false;
  }
}

VixError
vdl_pending_commit (struct vdl_pending *p)
{
  VixError err;
  size_t i;

  err = p->n > 0 ? final_descriptor (p) : sync_path (p->path);
  for (i = 0; err == VIX_OK && i < p->n; i++)
    err = sync_path (p->x[i].tmp_path);
  p->linked = true;
  for (i = 0; err == VIX_OK && i < p->n; i++)
    err = place (p, &p->x[i], i == 0);
  if (err == VIX_OK && p->n > 0)
    err = vdl_sync_dir (p->final);
  /* The moment the disk appears. */
  if (err == VIX_OK && vdl_rename_noreplace (p->path, p->final) == -1)
    err = errno == EEXIST
      ? vdl_error (VIX_E_FILE_ALREADY_EXISTS, "cannot create %s: the file "
                   "already exists", p->final)
      : vdl_error_errno (errno, "cannot rename %s to %s", p->path,
                         p->final);
  if (err != VIX_OK) {
    unplace (p);
    vdl_pending_abort (p);
    return err;
  }
  /* Complete: the temporary names have done their job. */
  for (i = 0; i < p->n; i++)
    if (p->linked)
      unlink (p->x[i].tmp_path);
  err = vdl_sync_dir (p->final);
  pending_free (p);
  return err;
}

void
vdl_pending_abort (struct vdl_pending *p)
{
  size_t i;

  if (!p)
    return;
  for (i = 0; i < p->n; i++)
    if (p->x[i].tmp_path)
      unlink (p->x[i].tmp_path);
  /* Last: while it is there, its lock says the group is taken. */
  unlink (p->path);
  pending_free (p);
}
