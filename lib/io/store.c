/* SPDX-License-Identifier: BSD-3-Clause */
/* What the rest of the library calls: thin wrappers over each store's
 * operations (store.h), answering for the optional ones. */
#include "store.h"

VixError
vdl_store_open (const struct vdl_store *st, const char *name, bool writable,
                bool direct, enum vdl_lock lock, struct vdl_file **out)
{
  return st->ops->open (st, name, writable, direct, lock, out);
}

char *
vdl_store_dir (const struct vdl_store *st, const char *name)
{
  return st->ops->dir (st, name);
}

VixError
vdl_store_join (const struct vdl_store *st, const char *dir,
                const char *name, char **out)
{
  return st->ops->join (st, dir, name, out);
}

VixError
vdl_store_identity (const struct vdl_store *st, const char *name,
                    char **key)
{
  return st->ops->identity (st, name, key);
}

int
vdl_store_missing (const struct vdl_store *st, const char *name)
{
  return st->ops->missing ? st->ops->missing (st, name) : 0;
}

VixError
vdl_store_check_disk (const struct vdl_store *st, const char *name,
                      bool writable)
{
  return st->ops->check_disk ? st->ops->check_disk (st, name, writable)
    : VIX_OK;
}

const char *
vdl_store_where (const struct vdl_store *st)
{
  return st->ops->where (st);
}

const char *
vdl_store_transport (const struct vdl_store *st)
{
  return st->ops->transport;
}

void
vdl_store_close (struct vdl_store *st)
{
  if (st && st->ops->close)
    st->ops->close (st);
}
