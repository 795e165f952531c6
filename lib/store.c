/* SPDX-License-Identifier: BSD-3-Clause */
/* Stores: local path names, or datastore names on a vSphere session. */
#include <errno.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "error.h"
#include "link.h"
#include "remote.h"
#include "store.h"

const struct vdl_store vdl_local_store = { .remote = NULL };

VixError
vdl_store_open (const struct vdl_store *st, const char *name, bool writable,
                bool direct, enum vdl_lock lock, struct vdl_file **out)
{
  if (!st->remote)
    return vdl_file_open (name, writable, direct, lock, out);
  if (writable)
    return vdl_error (VIX_E_FILE_READ_ONLY, "%s on %s can only be read: "
                      "the datastore interface cannot write part of a file",
                      name, vdl_remote_host (st->remote));
  return vdl_file_open_remote (st->remote, name, out);
}

/* "[ds] a/b/f.vmdk" -> "[ds] a/b"; "[ds] f.vmdk" -> "[ds]". */
static char *
datastore_dir (const char *name)
{
  const char *close = strchr (name, ']');
  const char *slash = strrchr (name, '/');

  if (close && (!slash || slash < close))
    return strndup (name, close + 1 - name);
  if (slash)
    return strndup (name, slash - name);
  return strdup ("");
}

char *
vdl_store_dir (const struct vdl_store *st, const char *name)
{
  char *tmp, *dir;

  if (st->remote)
    return datastore_dir (name);
  if (!(tmp = strdup (name)))
    return NULL;
  dir = strdup (dirname (tmp));
  free (tmp);
  return dir;
}

VixError
vdl_store_join (const struct vdl_store *st, const char *dir,
                const char *name, char **out)
{
  size_t n = strlen (dir);
  int r;

  if (!st->remote) {
    *out = vdl_path_join (dir, name);
    return *out ? VIX_OK : vdl_error (VIX_E_OUT_OF_MEMORY, "out of memory");
  }
  /* Parents on ESXi are named by datastore or by /vmfs/volumes path. */
  if (name[0] == '[' || name[0] == '/')
    return vdl_remote_resolve (st->remote, name, out);
  r = asprintf (out, "%s%s%s", dir, n && dir[n - 1] == ']' ? " " : "/",
                name);
  return r == -1 ? vdl_error (VIX_E_OUT_OF_MEMORY, "out of memory") : VIX_OK;
}

VixError
vdl_store_identity (const struct vdl_store *st, const char *name,
                    char **key)
{
  struct stat s;
  int r;

  if (st->remote)
    r = asprintf (key, "https://%s/%s", vdl_remote_host (st->remote), name);
  else if (stat (name, &s) == -1)
    return vdl_error_errno (errno, "cannot open %s", name);
  else
    r = asprintf (key, "file:%llu:%llu", (unsigned long long) s.st_dev,
                  (unsigned long long) s.st_ino);
  return r == -1 ? vdl_error (VIX_E_OUT_OF_MEMORY, "out of memory") : VIX_OK;
}

const char *
vdl_store_transport (const struct vdl_store *st)
{
  return st->remote ? "https" : "file";
}
