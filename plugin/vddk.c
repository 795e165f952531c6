/* SPDX-License-Identifier: BSD-3-Clause */
/* nbdkit VDDK plugin: connections and the NBD data path.
 *
 * Serves a disk through VMware's VixDiskLib API (VDDK), or through any
 * library with the same ABI.  See nbdkit-vddk-plugin(1).
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>

#include "vddk.h"

#define THREAD_MODEL NBDKIT_THREAD_MODEL_PARALLEL

NBDKIT_DLL_PUBLIC int vddk_debug_diskinfo;
NBDKIT_DLL_PUBLIC int vddk_debug_extents;
NBDKIT_DLL_PUBLIC int vddk_debug_datapath = 1;

/* VixDiskLib's Open and Close are not thread safe. */
static pthread_mutex_t open_close_lock = PTHREAD_MUTEX_INITIALIZER;

/* ---- Opening and closing ---- */

static VixDiskLibConnectParams *
allocate_connect_params (void)
{
  VixDiskLibConnectParams *params;

  if (vix.AllocateConnectParams) {
    VDDK_CALL_START (AllocateConnectParams, "");
    params = vix.AllocateConnectParams ();
    VDDK_CALL_END (AllocateConnectParams, 0);
  }
  else
    params = calloc (1, sizeof *params);
  return params;
}

static void
free_connect_params (VixDiskLibConnectParams *params)
{
  /* Only free what the library allocated with its own function. */
  if (vix.AllocateConnectParams) {
    VDDK_CALL_START (FreeConnectParams, "params");
    vix.FreeConnectParams (params);
    VDDK_CALL_END (FreeConnectParams, 0);
  }
  else
    free (params);
}

/* Local files need no connection parameters at all. */
static void
fill_remote_params (VixDiskLibConnectParams *params)
{
  params->specType = VIXDISKLIB_SPEC_VMX;
  params->vmxSpec = (char *) vmx_spec;
  params->serverName = (char *) server_name;
  params->thumbPrint = (char *) thumb_print;
  params->port = port;
  params->nfcHostPort = nfc_host_port;
  if (cookie == NULL) {
    params->credType = VIXDISKLIB_CRED_UID;
    params->creds.uid.userName = (char *) username;
    params->creds.uid.password = password;
  }
  else {
    params->credType = VIXDISKLIB_CRED_SESSIONID;
    params->creds.sessionId.cookie = cookie;
    params->creds.sessionId.userName = (char *) username;
    params->creds.sessionId.key = password;
  }
}

static uint32_t
open_flags (int readonly)
{
  uint32_t flags = 0;

  if (readonly)
    flags |= VIXDISKLIB_FLAG_OPEN_READ_ONLY;
  if (single_link)
    flags |= VIXDISKLIB_FLAG_OPEN_SINGLE_LINK;
  if (unbuffered)
    flags |= VIXDISKLIB_FLAG_OPEN_UNBUFFERED;
  switch (compression) {
  case NONE: break;
  case ZLIB: flags |= VIXDISKLIB_FLAG_OPEN_COMPRESSION_ZLIB; break;
  case FASTLZ: flags |= VIXDISKLIB_FLAG_OPEN_COMPRESSION_FASTLZ; break;
  case SKIPZ: flags |= VIXDISKLIB_FLAG_OPEN_COMPRESSION_SKIPZ; break;
  }
  return flags;
}

/* Create the disk named by file=.  Called with open_close_lock held,
 * so only the first connection creates it.
 */
static int
create_disk (struct vddk_handle *h)
{
  VixDiskLibCreateParams cparams = {
    .diskType = create_type,
    .adapterType = create_adapter_type,
    .hwVersion = create_hwversion,
    .capacity = create_size / SECTOR_SIZE,
    .logicalSectorSize = 0,
    .physicalSectorSize = 0,
  };
  VixError err;

  VDDK_NAMED_CALL_START (Create, "h->connection, %s, &cparams, NULL, NULL",
                   filename);
  err = vix.Create (h->connection, filename, &cparams, NULL, NULL);
  VDDK_CALL_END (Create, 0);
  if (err != VIX_OK) {
    VDDK_ERROR (err, "VixDiskLib_Create: %s", filename);
    return -1;
  }
  create = false;
  return 0;
}

/* Set when the disk turned out to be readable only: later connections
 * open it read-only at once (the library shares one open disk). */
static bool disk_read_only;

/* Everything up to and including Open, under open_close_lock. */
static int
connect_and_open (struct vddk_handle *h, int readonly)
{
  const uint32_t flags = open_flags (readonly || disk_read_only);
  const char *mode;
  VixError err;

  VDDK_NAMED_CALL_START (ConnectEx, "h->params, %d, %s, %s, &connection",
                   readonly, snapshot_moref ? snapshot_moref : "NULL",
                   transport_modes ? transport_modes : "NULL");
  err = vix.ConnectEx (h->params, readonly, snapshot_moref, transport_modes,
                       &h->connection);
  VDDK_CALL_END (ConnectEx, 0);
  if (err != VIX_OK) {
    VDDK_ERROR (err, "VixDiskLib_ConnectEx");
    return -1;
  }

  if (create && create_disk (h) == -1)
    goto err_disconnect;

  VDDK_NAMED_CALL_START (Open, "connection, %s, %" PRIu32 ", &handle",
                         filename, flags);
  err = vix.Open (h->connection, filename, flags, &h->handle);
  VDDK_CALL_END (Open, 0);
  if (err == VIX_OK && disk_read_only)
    h->readonly = 1;
  if (err != VIX_OK && !readonly && !disk_read_only &&
      VIX_ERROR_CODE (err) == VIX_E_FILE_READ_ONLY) {
    /* A disk that can only be read is exported read-only, so clients
     * see it at once instead of every write failing later. */
    char *why = vddk_error_text (err);
    vddk_warning ("serving %s read-only: %s", filename,
                  why ? why : "it can only be read");
    vddk_free_error_text (why);
    disk_read_only = true;
    h->readonly = 1;
    VDDK_NAMED_CALL_START (Open, "connection, %s, %" PRIu32 ", &handle",
                           filename, open_flags (1));
    err = vix.Open (h->connection, filename, open_flags (1), &h->handle);
    VDDK_CALL_END (Open, 0);
  }
  if (err != VIX_OK) {
    VDDK_ERROR (err, "VixDiskLib_Open: %s", filename);
    if (is_remote && VIX_ERROR_CODE (err) == VIX_E_FAIL)
      vddk_error ("Please verify whether the \"thumbprint\" parameter "
                  "(%s) matches the SHA1 fingerprint of the remote "
                  "VMware server.  Refer to nbdkit-vddk-plugin(1) "
                  "section \"THUMBPRINTS\" for details.",
                  thumb_print ? thumb_print : "not specified");
    goto err_disconnect;
  }

  VDDK_CALL_START (GetTransportMode, "handle");
  mode = vix.GetTransportMode (h->handle);
  VDDK_CALL_END (GetTransportMode, 0);
  vddk_debug ("transport mode: %s", mode ? mode : "(unknown)");
  return 0;

 err_disconnect:
  VDDK_CALL_START (Disconnect, "connection");
  vix.Disconnect (h->connection);
  VDDK_CALL_END (Disconnect, 0);
  return -1;
}

static void
close_and_disconnect (struct vddk_handle *h)
{
  VixError err;

  VDDK_CALL_START (Close, "handle");
  err = vix.Close (h->handle);
  VDDK_CALL_END (Close, 0);
  /* Close writes what is still buffered; nobody can be told but the log. */
  if (err != VIX_OK)
    VDDK_ERROR (err, "VixDiskLib_Close");
  VDDK_CALL_START (Disconnect, "connection");
  vix.Disconnect (h->connection);
  VDDK_CALL_END (Disconnect, 0);
}

static void *
vddk_open (int readonly)
{
  struct vddk_handle *h;
  int r;

  h = calloc (1, sizeof *h);
  if (h == NULL) {
    nbdkit_error ("calloc: %m");
    return NULL;
  }

  pthread_mutex_lock (&open_close_lock);
  h->params = allocate_connect_params ();
  if (h->params == NULL) {
    nbdkit_error ("allocate VixDiskLibConnectParams: %m");
    goto err_unlock;
  }
  if (is_remote)
    fill_remote_params (h->params);
  h->readonly = readonly;
  r = connect_and_open (h, readonly);
  if (r == -1)
    goto err_free_params;
  pthread_mutex_unlock (&open_close_lock);

  if (start_worker (h) == -1) {
    pthread_mutex_lock (&open_close_lock);
    close_and_disconnect (h);
    goto err_free_params;
  }
  return h;

 err_free_params:
  free_connect_params (h->params);
 err_unlock:
  pthread_mutex_unlock (&open_close_lock);
  free (h);
  return NULL;
}

static void
vddk_close (void *vp)
{
  struct vddk_handle *h = vp;
  struct command stop = { .type = STOP };

  send_command_and_wait (h, &stop);
  if (!direct_calls)
    pthread_join (h->thread, NULL);
  pthread_mutex_destroy (&h->commands_lock);
  pthread_cond_destroy (&h->commands_cond);

  pthread_mutex_lock (&open_close_lock);
  close_and_disconnect (h);
  free_connect_params (h->params);
  pthread_mutex_unlock (&open_close_lock);
  free (h);
}

/* ---- Size and capabilities ---- */

/* GetInfo (in the worker); the caller must free_info the result. */
static VixDiskLibInfo *
get_info (struct vddk_handle *h)
{
  VixDiskLibInfo *info = NULL;
  struct command cmd = { .type = INFO, .ptr = &info };

  if (send_command_and_wait (h, &cmd) == -1)
    return NULL;
  return info;
}

static void
free_info (VixDiskLibInfo *info)
{
  VDDK_CALL_START (FreeInfo, "info");
  vix.FreeInfo (info);
  VDDK_CALL_END (FreeInfo, 0);
}

static int64_t
vddk_get_size (void *vp)
{
  VixDiskLibInfo *info = get_info (vp);
  int64_t size;

  if (info == NULL)
    return -1;
  size = info->capacity * SECTOR_SIZE;
  free_info (info);
  return size;
}

static int
vddk_block_size (void *vp,
                 uint32_t *minimum, uint32_t *preferred, uint32_t *maximum)
{
  struct vddk_handle *h = vp;
  VixDiskLibInfo *info = get_info (vp);
  uint32_t sector = SECTOR_SIZE, io;

  if (info == NULL)
    return -1;
  /* Sector sizes only exist from VDDK 7 on. */
  if (library_version >= 7) {
    if (info->logicalSectorSize > sector)
      sector = info->logicalSectorSize;
    if (info->physicalSectorSize > sector)
      sector = info->physicalSectorSize;
  }
  free_info (info);

  *minimum = SECTOR_SIZE;
  *preferred = sector > 4096 ? sector : 4096;
  /* Our library says what suits the disk (a compressed grain). */
  if (vix_preferred_io_size &&
      vix_preferred_io_size (h->handle, &io) == VIX_OK &&
      io > *preferred && io <= 32 * 1024 * 1024 && (io & (io - 1)) == 0)
    *preferred = io;
  *maximum = 0xffffffff;
  return 0;
}

/* Read-only if nbdkit -r, or if the disk turned out to be (see
 * connect_and_open). */
static int
vddk_can_write (void *vp)
{
  struct vddk_handle *h = vp;

  return !h->readonly;
}

static int
vddk_can_flush (void *vp UNUSED)
{
  return 1;
}

static int
vddk_can_fua (void *vp UNUSED)
{
  return NBDKIT_FUA_NATIVE;
}

/* Read-only clients of a local file may use several connections: with
 * no writes there is nothing to keep consistent between them, and
 * nbdcopy then reads in parallel.  Remote disks stay at one connection
 * per client to spare the server's NFC memory (see "Out of memory
 * errors" in the man page), and writable disks too, since VMware's
 * library promises nothing about flushes across handles.
 */
static int
vddk_can_multi_conn (void *vp)
{
  struct vddk_handle *h = vp;

  return h->readonly && !is_remote;
}

static int
vddk_can_extents (void *vp)
{
  struct command cmd = { .type = CAN_EXTENTS };

  if (send_command_and_wait (vp, &cmd) == -1)
    return -1;
  return cmd.result;
}

/* ---- Data path: each request is a command for the worker ---- */

static int
vddk_pread (void *vp, void *buf, uint32_t count, uint64_t offset,
            uint32_t flags UNUSED)
{
  struct command cmd = {
    .type = READ, .ptr = buf, .count = count, .offset = offset,
  };

  return send_command_and_wait (vp, &cmd);
}

static int
vddk_flush (void *vp, uint32_t flags UNUSED)
{
  struct command cmd = { .type = FLUSH };

  return send_command_and_wait (vp, &cmd);
}

static int
vddk_pwrite (void *vp, const void *buf, uint32_t count, uint64_t offset,
             uint32_t flags)
{
  struct command cmd = {
    .type = WRITE, .ptr = (void *) buf, .count = count, .offset = offset,
  };

  if (send_command_and_wait (vp, &cmd) == -1)
    return -1;
  if (flags & NBDKIT_FLAG_FUA)
    return vddk_flush (vp, 0);
  return 0;
}

static int
vddk_extents (void *vp, uint32_t count, uint64_t offset, uint32_t flags,
              struct nbdkit_extents *extents)
{
  struct command cmd = {
    .type = EXTENTS, .ptr = extents, .count = count, .offset = offset,
    .req_one = (flags & NBDKIT_FLAG_REQ_ONE) != 0,
  };

  return send_command_and_wait (vp, &cmd);
}

static struct nbdkit_plugin plugin = {
  .name              = "vddk",
  .longname          = "VMware VDDK plugin",
  .version           = PACKAGE_VERSION,
  .unload            = vddk_unload,
  .config            = vddk_config,
  .config_complete   = vddk_config_complete,
  .config_help       = VDDK_CONFIG_HELP,
  .magic_config_key  = "file",
  .dump_plugin       = vddk_dump_plugin,
  .get_ready         = vddk_get_ready,
  .after_fork        = vddk_after_fork,
  .open              = vddk_open,
  .close             = vddk_close,
  .get_size          = vddk_get_size,
  .block_size        = vddk_block_size,
  .can_flush         = vddk_can_flush,
  .can_extents       = vddk_can_extents,
  .can_fua           = vddk_can_fua,
  .can_multi_conn    = vddk_can_multi_conn,
  .can_write         = vddk_can_write,
  .pread             = vddk_pread,
  .pwrite            = vddk_pwrite,
  .flush             = vddk_flush,
  .extents           = vddk_extents,
};

NBDKIT_REGISTER_PLUGIN (plugin)
