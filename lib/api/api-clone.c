/* SPDX-License-Identifier: BSD-3-Clause */
/* VixDiskLib_Clone and VixDiskLib_Unlink: whole-disk file operations. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "api.h"
#include "cancel.h"
#include "create.h"
#include "error.h"
#include "handle.h"
#include "remote.h"
#include "link.h"
#include "pending.h"

#define COPY_SECTORS 2048       /* 1 MiB at a time */

API VixError
VixDiskLib_Unlink (VixDiskLibConnection connection, const char *path)
{
  VixError err;
  struct vdl_link *l;
  char **files;
  size_t n = 0, i, j;

  if (!vdl_connection_check_local (connection, "Unlink", &err))
    return err;
  if (!path || !*path)
    return vdl_error (VIX_E_INVALID_ARG, "Unlink: no file name");
  /* Opening for writing takes the locks: nobody else is using it. */
  err = vdl_link_open (&vdl_local_store, path, true, false, &l);
  if (err != VIX_OK)
    return err;
  files = calloc (l->n_extents + 1, sizeof *files);
  if (!files) {
    vdl_link_close (l);
    return vdl_oom ();
  }
  files[n++] = strdup (l->path);
  for (i = 0; i < l->n_extents; i++) {
    const char *x = l->extents[i]->path;
    bool seen = false;
    for (j = 0; x && j < n; j++)
      seen |= files[j] && strcmp (files[j], x) == 0;
    if (x && !seen)
      files[n++] = strdup (x);
  }
  vdl_link_close (l);
  /* Extents first: a descriptor left behind still explains itself. */
  for (i = n; i-- > 0 && err == VIX_OK; ) {
    if (!files[i])
      err = vdl_oom ();
    else if (unlink (files[i]) == -1)
      err = vdl_error_errno (errno, "cannot remove %s", files[i]);
  }
  for (i = 0; i < n; i++)
    free (files[i]);
  free (files);
  return err;
}

struct copy {
  struct vdl_disk *src, *dst;
  unsigned char *buf;
  uint64_t capacity;
  VixDiskLibProgressFunc progress;
  void *progress_data;
  int percent;
  unsigned cancel_token;
};

static void
report (struct copy *c, uint64_t done)
{
  int percent = c->capacity ? done * 100 / c->capacity : 100;

  if (c->progress && percent != c->percent) {
    c->percent = percent;
    c->progress (c->progress_data, percent);
  }
}

/* Copy an allocated run; unallocated runs stay unallocated. */
static VixError
copy_run (void *vctx, uint64_t sector, uint64_t count, bool allocated)
{
  struct copy *c = vctx;
  uint64_t n;
  VixError err = VIX_OK;

  while (allocated && count > 0 && err == VIX_OK) {
    if (vdl_cancelled (c->cancel_token))
      return VIX_E_CANCELLED;
    n = count < COPY_SECTORS ? count : COPY_SECTORS;
    err = vdl_disk_read (c->src, sector, n, c->buf);
    if (err == VIX_OK)
      err = vdl_disk_write (c->dst, sector, n, c->buf);
    sector += n;
    count -= n;
    report (c, sector);
  }
  report (c, sector + count);
  return err;
}

API VixError
VixDiskLib_Clone (const VixDiskLibConnection dstConnection,
                  const char *dstPath,
                  const VixDiskLibConnection srcConnection,
                  const char *srcPath,
                  const VixDiskLibCreateParams *vixCreateParams,
                  VixDiskLibProgressFunc progressFunc,
                  void *progressCallbackData, char overWrite)
{
  struct copy c = { .progress = progressFunc,
                    .progress_data = progressCallbackData, .percent = -1,
                    .cancel_token = vdl_cancel_token () };
  struct vdl_pending *pend = NULL;
  VixDiskLibCreateParams p;
  struct stat st;
  VixError err, e;

  struct vdl_connection *dc, *sc;

  if (!(dc = vdl_connection_check (dstConnection, &err)) ||
      !(sc = vdl_connection_check (srcConnection, &err)))
    return err;
  if (!vdl_connection_check_local (dstConnection, "Clone", &err))
    return err;
  if (!dstPath || !*dstPath || !srcPath || !*srcPath || !vixCreateParams)
    return vdl_error (VIX_E_INVALID_ARG, "Clone: missing file name or "
                      "parameters");
  err = vdl_disk_open (sc->store, srcPath, VIXDISKLIB_FLAG_OPEN_READ_ONLY,
                       &c.src);
  if (err != VIX_OK)
    return err;
  c.capacity = vdl_disk_capacity (c.src);
  p = *vixCreateParams;
  p.capacity = c.capacity;      /* a clone is as large as its source */
  if (!overWrite && stat (dstPath, &st) == 0) {
    vdl_disk_close (c.src);
    return vdl_error (VIX_E_FILE_ALREADY_EXISTS, "Clone: %s already exists",
                      dstPath);
  }
  /* The copy is made under temporary names (pending.h): until it is
   * complete, nothing appears under dstPath. */
  err = vdl_create_pending (dstPath, &p, overWrite, &pend);
  if (err != VIX_OK) {
    vdl_disk_close (c.src);
    return err;                 /* Create's own message */
  }
  err = vdl_disk_open (&vdl_local_store, vdl_pending_path (pend), 0,
                         &c.dst);
  if (err == VIX_OK) {
    c.buf = malloc (COPY_SECTORS * SS);
    if (!c.buf)
      err = vdl_oom ();
    else
      err = vdl_disk_allocation (c.src, 0, c.capacity, copy_run, &c);
    free (c.buf);
    e = vdl_disk_close (c.dst);
    if (err == VIX_OK)
      err = e;
  }
  vdl_disk_close (c.src);
  if (err == VIX_OK && vdl_cancelled (c.cancel_token))
    err = VIX_E_CANCELLED;
  if (err == VIX_OK && overWrite && stat (dstPath, &st) == 0)
    err = VixDiskLib_Unlink (dstConnection, dstPath);
  if (err == VIX_OK) {
    err = vdl_pending_commit (pend);
    pend = NULL;
  }
  vdl_pending_abort (pend);
  if (err == VIX_E_CANCELLED)
    err = vdl_error (err, "Clone of %s to %s was cancelled: the partial "
                     "copy was removed", srcPath, dstPath);
  else if (err != VIX_OK) {
    char *text = VixDiskLib_GetErrorText (err, NULL);
    err = vdl_error (err, "Clone of %s to %s failed: %s", srcPath, dstPath,
                     text ? text : "unknown error");
    VixDiskLib_FreeErrorText (text);
  }
  return err;
}
