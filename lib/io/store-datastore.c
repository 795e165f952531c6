/* SPDX-License-Identifier: BSD-3-Clause */
/* The datastore store: the files of one vSphere session, read-only,
 * private to each handle (opening waits on the network), and only the
 * disks of the session's VM. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "container-of.h"
#include "error.h"
#include "file-datastore.h"
#include "remote.h"
#include "store-datastore.h"

struct datastore_store {
  struct vdl_store base;
  struct vdl_remote *remote;
};

static struct vdl_remote *
remote_of (const struct vdl_store *st)
{
  return container_of (st, const struct datastore_store, base)->remote;
}

static VixError
datastore_open (const struct vdl_store *st, const char *name,
                bool writable, bool direct, enum vdl_lock lock,
                struct vdl_file **out)
{
  (void) direct;
  (void) lock;
  if (writable)
    return vdl_error (VIX_E_FILE_READ_ONLY, "%s on %s can only be read: "
                      "the datastore interface cannot write part of a file",
                      name, vdl_remote_host (remote_of (st)));
  return vdl_file_open_remote (remote_of (st), name, out);
}

/* "[ds] a/b/f.vmdk" -> "[ds] a/b"; "[ds] f.vmdk" -> "[ds]". */
static char *
datastore_dir (const struct vdl_store *st, const char *name)
{
  const char *close = strchr (name, ']');
  const char *slash = strrchr (name, '/');

  (void) st;
  if (close && (!slash || slash < close))
    return strndup (name, close + 1 - name);
  if (slash)
    return strndup (name, slash - name);
  return strdup ("");
}

static VixError
datastore_join (const struct vdl_store *st, const char *dir,
                const char *name, char **out)
{
  size_t n = strlen (dir);

  /* Parents on ESXi are named by datastore or by /vmfs/volumes path. */
  if (name[0] == '[' || name[0] == '/')
    return vdl_remote_resolve (remote_of (st), name, out);
  if (asprintf (out, "%s%s%s", dir, n && dir[n - 1] == ']' ? " " : "/",
                name) == -1)
    return vdl_oom ();
  return VIX_OK;
}

static VixError
datastore_identity (const struct vdl_store *st, const char *name,
                    char **key)
{
  if (asprintf (key, "https://%s/%s", vdl_remote_host (remote_of (st)),
                name) == -1)
    return vdl_oom ();
  return VIX_OK;
}

/* Only for reading (said first: it needs no round trip, and nbdkit
 * tries a writable open before falling back), and only the VM's own
 * disks. */
static VixError
datastore_check_disk (const struct vdl_store *st, const char *name,
                      bool writable)
{
  if (writable)
    return vdl_error (VIX_E_FILE_READ_ONLY, "%s on %s can only be opened "
                      "read-only: the datastore interface (https) cannot "
                      "write part of a file", name,
                      vdl_remote_host (remote_of (st)));
  return vdl_remote_check_disk (remote_of (st), name);
}

static const char *
datastore_where (const struct vdl_store *st)
{
  return vdl_remote_host (remote_of (st));
}

static void
datastore_close (struct vdl_store *st)
{
  struct datastore_store *ds = container_of (st, struct datastore_store,
                                             base);

  vdl_remote_disconnect (ds->remote);
  free (ds);
}

static const struct vdl_store_ops datastore_ops = {
  .transport = "https",
  .open = datastore_open,
  .dir = datastore_dir,
  .join = datastore_join,
  .identity = datastore_identity,
  .check_disk = datastore_check_disk,
  .where = datastore_where,
  .close = datastore_close,
};

VixError
vdl_store_datastore_connect (const struct vdl_remote_params *p,
                             struct vdl_store **out)
{
  struct datastore_store *ds = calloc (1, sizeof *ds);
  VixError err;

  if (!ds)
    return vdl_oom ();
  err = vdl_remote_connect (p, &ds->remote);
  if (err != VIX_OK) {
    free (ds);
    return err;
  }
  ds->base.ops = &datastore_ops;
  ds->base.caps = 0;            /* read-only, remote names, unshared */
  *out = &ds->base;
  return VIX_OK;
}
