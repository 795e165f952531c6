/* SPDX-License-Identifier: BSD-3-Clause */
/* nbdkit VDDK plugin: the per-connection worker thread.
 *
 * nbdkit threads queue commands; one worker per connection runs them
 * in order.  Reads and writes are only submitted (ReadAsync and
 * WriteAsync), so several can be in flight in the library at once;
 * the library's completion callback finishes them.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>

#include "vddk.h"

/* ---- Completion ---- */

/* Called by the worker when it will not touch CMD again.  STATUS is
 * SUBMITTED when the outcome is still up to the completion callback.
 */
static void
worker_release (struct command *cmd, enum command_status status)
{
  pthread_mutex_lock (&cmd->mutex);
  if (status != SUBMITTED)
    cmd->status = status;
  cmd->worker_done = true;
  pthread_cond_signal (&cmd->cond);
  pthread_mutex_unlock (&cmd->mutex);
}

/* Record why CMD failed; the requester reports it, in its own thread
 * (nbdkit_set_error is thread-local).  The library's text is fetched
 * here, on the thread where the call failed: an error's text belongs to
 * the call that returned it, and asking from another thread could give
 * another connection's message.
 */
void
command_fail (struct command *cmd, VixError err, const char *what,
              int errnum, const char *msg)
{
  char *text = err != VIX_OK ? vddk_error_text (err) : NULL;

  pthread_mutex_lock (&cmd->mutex);
  if (cmd->text)
    vddk_free_error_text (cmd->text);
  cmd->err = err;
  cmd->text = text;
  cmd->what = what;
  cmd->errnum = errnum;
  cmd->msg = msg;
  pthread_mutex_unlock (&cmd->mutex);
}

/* The library's completion callback for ReadAsync and WriteAsync. */
static void
complete_command (void *data, VixError result)
{
  struct command *cmd = data;
  /* This runs where the request failed: fetch the text now. */
  char *text = result != VIX_OK ? vddk_error_text (result) : NULL;

  if (vddk_debug_datapath)
    nbdkit_debug ("command %" PRIu64 " completed", cmd->id);

  pthread_mutex_lock (&cmd->mutex);
  if (result == VIX_OK)
    cmd->status = SUCCEEDED;
  else {
    if (cmd->text)
      vddk_free_error_text (cmd->text);
    cmd->err = result;
    cmd->text = text;
    cmd->what = NULL;
    cmd->status = FAILED;
  }
  pthread_cond_signal (&cmd->cond);
  pthread_mutex_unlock (&cmd->mutex);
}

/* Report a failed command in the requesting nbdkit thread. */
static void
report_failure (struct command *cmd)
{
  const char *text = cmd->text ? cmd->text : "unknown error";
  int errnum = cmd->errnum;

  if (cmd->err != VIX_OK) {
    if (cmd->what)
      vddk_error ("%s: %s", cmd->what, text);
    else
      vddk_error ("command %" PRIu64 ": asynchronous %s failed: %s",
                  cmd->id, cmd->type == READ ? "read" : "write", text);
    if (errnum == 0)
      errnum = vix_errno (cmd->err);
  }
  else if (cmd->msg)
    vddk_error ("%s", cmd->msg);
  nbdkit_set_error (errnum ? errnum : EIO);
}

static bool run_direct (struct command *cmd, struct vddk_handle *h);

/* The outcome of a finished command, reported in this thread. */
static int
finish (struct command *cmd, bool ok)
{
  if (!ok)
    report_failure (cmd);
  if (cmd->text)
    vddk_free_error_text (cmd->text);
  return ok ? 0 : -1;
}

int
send_command_and_wait (struct vddk_handle *h, struct command *cmd)
{
  enum command_status status;
  bool ok;

  cmd->next = NULL;
  cmd->status = SUBMITTED;
  cmd->worker_done = false;
  cmd->err = VIX_OK;
  cmd->text = NULL;
  cmd->what = cmd->msg = NULL;
  cmd->errnum = 0;
  pthread_mutex_init (&cmd->mutex, NULL);
  pthread_cond_init (&cmd->cond, NULL);

  if (direct_calls) {
    cmd->id = __atomic_fetch_add (&h->next_id, 1, __ATOMIC_RELAXED);
    ok = run_direct (cmd, h);
    pthread_mutex_destroy (&cmd->mutex);
    pthread_cond_destroy (&cmd->cond);
    return finish (cmd, ok);
  }

  pthread_mutex_lock (&h->commands_lock);
  cmd->id = h->next_id++;
  if (h->tail)
    h->tail->next = cmd;
  else {
    h->head = cmd;
    pthread_cond_signal (&h->commands_cond);
  }
  h->tail = cmd;
  pthread_mutex_unlock (&h->commands_lock);

  pthread_mutex_lock (&cmd->mutex);
  while (!cmd->worker_done || cmd->status == SUBMITTED)
    pthread_cond_wait (&cmd->cond, &cmd->mutex);
  status = cmd->status;
  pthread_mutex_unlock (&cmd->mutex);

  pthread_mutex_destroy (&cmd->mutex);
  pthread_cond_destroy (&cmd->cond);

  return finish (cmd, status == SUCCEEDED);
}

/* ---- Commands ---- */

static void
print_disk_info (const VixDiskLibInfo *info)
{
  nbdkit_debug ("disk info: capacity: %" PRIu64 " sectors", info->capacity);
  nbdkit_debug ("disk info: biosGeo: C:%u H:%u S:%u",
                info->biosGeo.cylinders, info->biosGeo.heads,
                info->biosGeo.sectors);
  nbdkit_debug ("disk info: physGeo: C:%u H:%u S:%u",
                info->physGeo.cylinders, info->physGeo.heads,
                info->physGeo.sectors);
  nbdkit_debug ("disk info: adapter type: %d", (int) info->adapterType);
  nbdkit_debug ("disk info: num links: %d", info->numLinks);
  vddk_debug ("disk info: parent filename hint: %s",
              info->parentFileNameHint ? info->parentFileNameHint : "NULL");
  vddk_debug ("disk info: uuid: %s", info->uuid ? info->uuid : "NULL");
  /* These fields lie beyond the end of the struct before VDDK 7. */
  if (library_version >= 7)
    nbdkit_debug ("disk info: sector size: logical %u physical %u",
                  info->logicalSectorSize, info->physicalSectorSize);
}

static bool
do_info (struct command *cmd, struct vddk_handle *h)
{
  VixDiskLibInfo *info;
  VixError err;

  VDDK_CALL_START (GetInfo, "handle, info");
  err = vix.GetInfo (h->handle, &info);
  VDDK_CALL_END (GetInfo, 0);
  if (err != VIX_OK) {
    command_fail (cmd, err, "VixDiskLib_GetInfo", 0, NULL);
    return false;
  }
  if (vddk_debug_diskinfo)
    print_disk_info (info);
  __atomic_store_n (&h->capacity, info->capacity, __ATOMIC_RELAXED);
  *(VixDiskLibInfo **) cmd->ptr = info;
  return true;
}

/* The library only addresses whole sectors.  The reference plugin
 * fails other requests with EIO; EINVAL says what is wrong.
 */
static bool
sector_aligned (struct command *cmd)
{
  if (cmd->offset % SECTOR_SIZE == 0 && cmd->count % SECTOR_SIZE == 0)
    return true;
  command_fail (cmd, VIX_OK, NULL, EINVAL,
                cmd->type == READ ? "read is not aligned to sectors"
                : "write is not aligned to sectors");
  return false;
}

/* Submit a read or write.  Returns the final status if known now, or
 * SUBMITTED if the completion callback will decide.
 */
static enum command_status
do_rw (struct command *cmd, struct vddk_handle *h)
{
  const bool is_read = cmd->type == READ;
  const uint64_t start = cmd->offset / SECTOR_SIZE;
  const uint64_t n = cmd->count / SECTOR_SIZE;
  VixError err;

  if (!sector_aligned (cmd))
    return FAILED;

  /* After a successful submission CMD may be completed at any time,
   * even before the call returns, so nothing below reads it.
   */
  if (is_read) {
    VDDK_DATAPATH_CALL_START (ReadAsync,
                              "handle, %" PRIu64 " sectors, "
                              "%" PRIu64 " sectors, buffer, callback, %"
                              PRIu64, start, n, cmd->id);
    err = vix.ReadAsync (h->handle, start, n, cmd->ptr,
                         complete_command, cmd);
    VDDK_CALL_END (ReadAsync, n * SECTOR_SIZE);
  }
  else {
    VDDK_DATAPATH_CALL_START (WriteAsync,
                              "handle, %" PRIu64 " sectors, "
                              "%" PRIu64 " sectors, buffer, callback, %"
                              PRIu64, start, n, cmd->id);
    err = vix.WriteAsync (h->handle, start, n, cmd->ptr,
                          complete_command, cmd);
    VDDK_CALL_END (WriteAsync, n * SECTOR_SIZE);
  }

  /* VIX_ASYNC is the normal answer.  Be lenient with a library that
   * says VIX_OK: the callback still settles the outcome.
   */
  if (err == VIX_ASYNC || err == VIX_OK)
    return SUBMITTED;

  /* The request was refused, so the callback will not run.  CMD is
   * still ours because worker_done is not yet set.
   */
  command_fail (cmd, err,
                is_read ? "VixDiskLib_ReadAsync" : "VixDiskLib_WriteAsync",
                0, NULL);
  return FAILED;
}

/* Wait for outstanding asynchronous requests.  Failure is only logged:
 * the requests concerned have already been failed by their callbacks.
 */
static void
wait_for_async (struct vddk_handle *h)
{
  VixError err;

  VDDK_CALL_START (Wait, "handle");
  err = vix.Wait (h->handle);
  VDDK_CALL_END (Wait, 0);
  if (err != VIX_OK)
    VDDK_ERROR (err, "VixDiskLib_Wait");
}

static bool
do_flush (struct command *cmd, struct vddk_handle *h)
{
  VixError err;

  wait_for_async (h);

  VDDK_CALL_START (Flush, "handle");
  err = vix.Flush (h->handle);
  VDDK_CALL_END (Flush, 0);
  if (err != VIX_OK) {
    command_fail (cmd, err, "VixDiskLib_Flush", 0, NULL);
    return false;
  }
  return true;
}

/* A read or write in the calling thread (direct_calls). */
static bool
do_rw_sync (struct command *cmd, struct vddk_handle *h)
{
  const bool is_read = cmd->type == READ;
  const uint64_t start = cmd->offset / SECTOR_SIZE;
  const uint64_t n = cmd->count / SECTOR_SIZE;
  VixError err;

  if (!sector_aligned (cmd))
    return false;
  if (is_read) {
    VDDK_DATAPATH_CALL_START (Read, "handle, %" PRIu64 " sectors, "
                              "%" PRIu64 " sectors, buffer", start, n);
    err = vix.Read (h->handle, start, n, cmd->ptr);
    VDDK_CALL_END (Read, n * SECTOR_SIZE);
  }
  else {
    VDDK_DATAPATH_CALL_START (Write, "handle, %" PRIu64 " sectors, "
                              "%" PRIu64 " sectors, buffer", start, n);
    err = vix.Write (h->handle, start, n, cmd->ptr);
    VDDK_CALL_END (Write, n * SECTOR_SIZE);
  }
  if (err != VIX_OK) {
    command_fail (cmd, err,
                  is_read ? "VixDiskLib_Read" : "VixDiskLib_Write", 0, NULL);
    return false;
  }
  return true;
}

/* Run a command in the calling nbdkit thread: the library is
 * thread-safe, so the hops to the worker and back (and the library's
 * own pool) are saved.  A flush need not wait for requests of other
 * threads: NBD only promises durability of writes already answered. */
static bool
run_direct (struct command *cmd, struct vddk_handle *h)
{
  VixError err;

  switch (cmd->type) {
  case INFO:
    return do_info (cmd, h);
  case READ:
  case WRITE:
    return do_rw_sync (cmd, h);
  case FLUSH:
    VDDK_CALL_START (Flush, "handle");
    err = vix.Flush (h->handle);
    VDDK_CALL_END (Flush, 0);
    if (err != VIX_OK)
      command_fail (cmd, err, "VixDiskLib_Flush", 0, NULL);
    return err == VIX_OK;
  case CAN_EXTENTS:
    do_can_extents (cmd, h);
    return true;
  case EXTENTS:
    return do_extents (cmd, h);
  case STOP:
    return true;
  }
  abort ();
}

static void *
worker_thread (void *vp)
{
  struct vddk_handle *h = vp;
  struct command *cmd;
  enum command_status status;
  bool stop = false;

  while (!stop) {
    pthread_mutex_lock (&h->commands_lock);
    while (h->head == NULL)
      pthread_cond_wait (&h->commands_cond, &h->commands_lock);
    cmd = h->head;
    h->head = cmd->next;
    if (h->head == NULL)
      h->tail = NULL;
    pthread_mutex_unlock (&h->commands_lock);

    switch (cmd->type) {
    case INFO:
      status = do_info (cmd, h) ? SUCCEEDED : FAILED;
      break;
    case READ:
    case WRITE:
      status = do_rw (cmd, h);
      break;
    case FLUSH:
      status = do_flush (cmd, h) ? SUCCEEDED : FAILED;
      break;
    case CAN_EXTENTS:
      do_can_extents (cmd, h);
      status = SUCCEEDED;
      break;
    case EXTENTS:
      status = do_extents (cmd, h) ? SUCCEEDED : FAILED;
      break;
    case STOP:
      wait_for_async (h);
      status = SUCCEEDED;
      stop = true;
      break;
    default:
      abort ();
    }

    worker_release (cmd, status);
  }

  return NULL;
}

int
start_worker (struct vddk_handle *h)
{
  int err;

  pthread_mutex_init (&h->commands_lock, NULL);
  pthread_cond_init (&h->commands_cond, NULL);
  h->head = h->tail = NULL;
  h->next_id = 0;
  if (direct_calls)
    return 0;                   /* no worker needed */

  err = pthread_create (&h->thread, NULL, worker_thread, h);
  if (err != 0) {
    errno = err;
    nbdkit_error ("cannot start worker thread: %m");
    pthread_mutex_destroy (&h->commands_lock);
    pthread_cond_destroy (&h->commands_cond);
    return -1;
  }
  return 0;
}
