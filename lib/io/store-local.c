/* SPDX-License-Identifier: BSD-3-Clause */
/* The local store: names are path names of this machine, files are
 * local files (file-local.c), shared per process and locked as qemu
 * locks them. */
#include <errno.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "error.h"
#include "file-local.h"
#include "path.h"
#include "store.h"

static VixError
local_open (const struct vdl_store *st, const char *name, bool writable,
            bool direct, enum vdl_lock lock, struct vdl_file **out)
{
  (void) st;
  return vdl_file_open (name, writable, direct, lock, out);
}

static char *
local_dir (const struct vdl_store *st, const char *name)
{
  char *tmp, *dir;

  (void) st;
  if (!(tmp = strdup (name)))
    return NULL;
  dir = strdup (dirname (tmp));
  free (tmp);
  return dir;
}

static VixError
local_join (const struct vdl_store *st, const char *dir, const char *name,
            char **out)
{
  (void) st;
  *out = vdl_path_join (dir, name);
  return *out ? VIX_OK : vdl_oom ();
}

/* Device and inode: two names (or links) of one file share them. */
static VixError
local_identity (const struct vdl_store *st, const char *name, char **key)
{
  struct stat s;

  (void) st;
  if (stat (name, &s) == -1)
    return vdl_error_errno (errno, "cannot open %s", name);
  if (asprintf (key, "file:%llu:%llu", (unsigned long long) s.st_dev,
                (unsigned long long) s.st_ino) == -1)
    return vdl_oom ();
  return VIX_OK;
}

static int
local_missing (const struct vdl_store *st, const char *name)
{
  (void) st;
  return access (name, F_OK) == -1 ? errno : 0;
}

static const char *
local_where (const struct vdl_store *st)
{
  (void) st;
  return "this machine";
}

static const struct vdl_store_ops local_store_ops = {
  .transport = "file",
  .open = local_open,
  .dir = local_dir,
  .join = local_join,
  .identity = local_identity,
  .missing = local_missing,
  .where = local_where,
};

struct vdl_store vdl_local_store = {
  .ops = &local_store_ops,
  .caps = VDL_STORE_WRITABLE | VDL_STORE_LOCAL_PATHS | VDL_STORE_SHARED,
};
