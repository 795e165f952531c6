/* SPDX-License-Identifier: BSD-3-Clause */
/* Crash-safe replacement of files (see replace.h). */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "error.h"
#include "replace.h"

char *
vdl_temp_name (const char *path)
{
  char *r;

  if (asprintf (&r, "%s.vdl-tmp", path) == -1)
    return NULL;
  return r;
}

VixError
vdl_temp_create (const char *path, const char *tmp, struct vdl_file **out)
{
  struct stat st;
  VixError err;

  if (unlink (tmp) == -1 && errno != ENOENT)
    return vdl_error_errno (errno, "cannot remove the leftover %s", tmp);
  err = vdl_file_create (tmp, out);
  if (err == VIX_OK && stat (path, &st) == 0 &&
      fchmod (vdl_file_fd (*out), st.st_mode & 07777) == -1) {
    err = vdl_error_errno (errno, "cannot set the permissions of %s", tmp);
    vdl_file_close (*out);
    unlink (tmp);
  }
  return err;
}

VixError
vdl_sync_dir (const char *path)
{
  char *copy = strdup (path);
  int fd;
  VixError err = VIX_OK;

  if (!copy)
    return vdl_oom ();
  fd = open (dirname (copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  /* Some filesystems cannot sync directories (EINVAL): nothing to do. */
  if (fd == -1 || (fsync (fd) == -1 && errno != EINVAL))
    err = vdl_error_errno (errno, "cannot sync the directory of %s", path);
  if (fd >= 0)
    close (fd);
  free (copy);
  return err;
}

VixError
vdl_replace_commit (const char *tmp, const char *path)
{
  int fd = open (tmp, O_RDONLY | O_CLOEXEC);
  VixError err = VIX_OK;

  if (fd == -1 || fsync (fd) == -1)
    err = vdl_error_errno (errno, "cannot sync %s", tmp);
  if (fd >= 0)
    close (fd);
  if (err == VIX_OK && rename (tmp, path) == -1)
    err = vdl_error_errno (errno, "cannot rename %s to %s", tmp, path);
  if (err == VIX_OK)
    err = vdl_sync_dir (path);
  return err;
}

VixError
vdl_replace_text (const char *path, const char *text)
{
  char *tmp = vdl_temp_name (path);
  struct vdl_file *f;
  VixError err;

  if (!tmp)
    return vdl_oom ();
  err = vdl_temp_create (path, tmp, &f);
  if (err == VIX_OK) {
    err = vdl_file_pwrite (f, text, strlen (text), 0);
    vdl_file_close (f);
    if (err == VIX_OK)
      err = vdl_replace_commit (tmp, path);
    if (err != VIX_OK)
      unlink (tmp);
  }
  free (tmp);
  return err;
}

int
vdl_rename_noreplace (const char *from, const char *to)
{
  if (renameat2 (AT_FDCWD, from, AT_FDCWD, to, RENAME_NOREPLACE) == 0)
    return 0;
  if (errno != EINVAL && errno != ENOSYS)
    return -1;
  /* The filesystem cannot rename without replacing: a hard link fails
   * on an existing name, then the old name goes. */
  if (link (from, to) == -1)
    return -1;
  if (unlink (from) == -1) {
    int e = errno;
    unlink (to);
    errno = e;
    return -1;
  }
  return 0;
}
