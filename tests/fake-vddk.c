/* SPDX-License-Identifier: BSD-3-Clause */
/* A test double for the VDDK plugin tests: pretends to be VDDK 6.5.
 *
 * It exports only the 19 functions every VDDK >= 6.5 has (so the
 * plugin's optional-function paths are exercised) and serves one
 * 1024-sector in-memory disk shared by all connections.
 *
 * Environment variables:
 *   FAKE_VDDK_PRINT_PASSWORD  print the credentials ConnectEx received
 *   FAKE_VDDK_TRACE           print ConnectEx, Create and Open arguments
 *   FAKE_VDDK_LATE_CALLBACK   complete async requests on another thread
 *                             after a delay (default: before returning)
 *
 * Built with -DFAKE_VDDK_OMIT_WAIT it lacks VixDiskLib_Wait, like a
 * library older than VDDK 6.5.
 * All output goes to stderr, prefixed with "fake-vddk: ".
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <unistd.h>
#include <pthread.h>

#include "vixDiskLib.h"

#define CAPACITY 1024           /* sectors */

static unsigned char disk[CAPACITY * VIXDISKLIB_SECTOR_SIZE];
static pthread_t background;
static bool initialized;

/* Async requests not yet completed, for Wait. */
static pthread_mutex_t pending_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t pending_cond = PTHREAD_COND_INITIALIZER;
static unsigned pending;

/* Like VDDK, start a thread in InitEx: if the caller forks afterwards
 * the thread is lost, which Open detects.
 */
static void *
background_thread (void *vp)
{
  (void) vp;
  for (;;)
    pause ();
  return NULL;
}

VixError
VixDiskLib_InitEx (uint32_t major, uint32_t minor,
                   VixDiskLibGenericLogFunc *log,
                   VixDiskLibGenericLogFunc *warn,
                   VixDiskLibGenericLogFunc *panic,
                   const char *libdir, const char *config)
{
  (void) major; (void) minor; (void) log; (void) warn; (void) panic;
  (void) libdir; (void) config;
  if (pthread_create (&background, NULL, background_thread, NULL) != 0)
    return VIX_E_FAIL;
  initialized = true;
  return VIX_OK;
}

void
VixDiskLib_Exit (void)
{
}

char *
VixDiskLib_GetErrorText (VixError err, const char *locale)
{
  char *text;

  (void) locale;
  if (asprintf (&text, "fake-vddk: error %u", (unsigned) err) == -1)
    return NULL;
  return text;
}

void
VixDiskLib_FreeErrorText (char *text)
{
  free (text);
}

void
VixDiskLib_FreeConnectParams (VixDiskLibConnectParams *params)
{
  /* The plugin must free its own calloc'd params when there is no
   * AllocateConnectParams.
   */
  (void) params;
  abort ();
}

VixError
VixDiskLib_ConnectEx (const VixDiskLibConnectParams *params,
                      char readonly, const char *snapshot,
                      const char *transports,
                      VixDiskLibConnection *connection)
{
  if (getenv ("FAKE_VDDK_PRINT_PASSWORD")) {
    if (params->credType == VIXDISKLIB_CRED_UID)
      fprintf (stderr, "fake-vddk: password=%s\n",
               params->creds.uid.password ? params->creds.uid.password : "");
    else if (params->credType == VIXDISKLIB_CRED_SESSIONID)
      fprintf (stderr, "fake-vddk: key=%s\n",
               params->creds.sessionId.key ? params->creds.sessionId.key : "");
  }
  if (getenv ("FAKE_VDDK_TRACE"))
    fprintf (stderr, "fake-vddk: ConnectEx readonly=%d snapshot=%s "
             "transports=%s server=%s vm=%s port=%u nfchostport=%u\n",
             readonly, snapshot ? snapshot : "NULL",
             transports ? transports : "NULL",
             params->serverName ? params->serverName : "NULL",
             params->vmxSpec ? params->vmxSpec : "NULL",
             params->port, params->nfcHostPort);
  *connection = disk;
  return VIX_OK;
}

VixError
VixDiskLib_Disconnect (VixDiskLibConnection connection)
{
  (void) connection;
  return VIX_OK;
}

VixError
VixDiskLib_Create (const VixDiskLibConnection connection, const char *path,
                   const VixDiskLibCreateParams *cp,
                   VixDiskLibProgressFunc progress, void *data)
{
  (void) connection; (void) progress; (void) data;
  if (getenv ("FAKE_VDDK_TRACE"))
    fprintf (stderr, "fake-vddk: Create path=%s type=%d adapter=%d hw=%u "
             "capacity=%llu\n", path, (int) cp->diskType,
             (int) cp->adapterType, (unsigned) cp->hwVersion,
             (unsigned long long) cp->capacity);
  return VIX_E_NOT_SUPPORTED;
}

VixError
VixDiskLib_Open (const VixDiskLibConnection connection, const char *path,
                 uint32_t flags, VixDiskLibHandle *handle)
{
  (void) connection;
  if (!initialized || pthread_kill (background, 0) != 0) {
    fprintf (stderr, "fake-vddk: Open called without InitEx in this "
             "process\n");
    abort ();
  }
  if (getenv ("FAKE_VDDK_TRACE"))
    fprintf (stderr, "fake-vddk: Open path=%s flags=%u\n",
             path, (unsigned) flags);
  *handle = disk;
  return VIX_OK;
}

const char *
VixDiskLib_GetTransportMode (VixDiskLibHandle handle)
{
  (void) handle;
  return "file";
}

VixError
VixDiskLib_Close (VixDiskLibHandle handle)
{
  (void) handle;
  return VIX_OK;
}

VixError
VixDiskLib_GetInfo (VixDiskLibHandle handle, VixDiskLibInfo **info)
{
  /* VDDK 6 returns the struct without the sector size fields, so a
   * plugin that reads them anyway reads beyond the allocation.
   */
  const size_t size = offsetof (VixDiskLibInfo, logicalSectorSize);
  VixDiskLibInfo tmp = {
    .capacity = CAPACITY,
    .adapterType = VIXDISKLIB_ADAPTER_SCSI_BUSLOGIC,
    .numLinks = 1,
  };
  void *p;

  (void) handle;
  p = malloc (size);
  if (p == NULL)
    return VIX_E_OUT_OF_MEMORY;
  memcpy (p, &tmp, size);
  *info = p;
  return VIX_OK;
}

void
VixDiskLib_FreeInfo (VixDiskLibInfo *info)
{
  free (info);
}

static VixError
check_range (uint64_t start, uint64_t n)
{
  if (start > CAPACITY || n > CAPACITY - start)
    return VIX_E_DISK_OUTOFRANGE;
  return VIX_OK;
}

VixError
VixDiskLib_Read (VixDiskLibHandle handle, uint64_t start, uint64_t n,
                 uint8_t *buf)
{
  VixError err = check_range (start, n);

  (void) handle;
  if (err == VIX_OK)
    memcpy (buf, disk + start * VIXDISKLIB_SECTOR_SIZE,
            n * VIXDISKLIB_SECTOR_SIZE);
  return err;
}

VixError
VixDiskLib_Write (VixDiskLibHandle handle, uint64_t start, uint64_t n,
                  const uint8_t *buf)
{
  VixError err = check_range (start, n);

  (void) handle;
  if (err == VIX_OK)
    memcpy (disk + start * VIXDISKLIB_SECTOR_SIZE, buf,
            n * VIXDISKLIB_SECTOR_SIZE);
  return err;
}

struct late {
  VixDiskLibCompletionCB callback;
  void *data;
  VixError result;
};

static void *
late_thread (void *vp)
{
  struct late *l = vp;

  usleep (10000);
  l->callback (l->data, l->result);
  free (l);
  pthread_mutex_lock (&pending_lock);
  pending--;
  pthread_cond_broadcast (&pending_cond);
  pthread_mutex_unlock (&pending_lock);
  return NULL;
}

/* Complete an async request: at once, on the calling thread, before
 * ReadAsync/WriteAsync returns; or later on another thread.
 */
static VixError
complete (VixDiskLibCompletionCB callback, void *data, VixError result)
{
  const char *mode = getenv ("FAKE_VDDK_LATE_CALLBACK");
  struct late *l;
  pthread_t t;

  if (mode == NULL || *mode == '\0') {
    callback (data, result);
    return VIX_ASYNC;
  }

  l = malloc (sizeof *l);
  if (l == NULL)
    return VIX_E_OUT_OF_MEMORY;
  *l = (struct late) { callback, data, result };
  pthread_mutex_lock (&pending_lock);
  pending++;
  pthread_mutex_unlock (&pending_lock);
  if (pthread_create (&t, NULL, late_thread, l) != 0)
    abort ();
  pthread_detach (t);
  return VIX_ASYNC;
}

VixError
VixDiskLib_ReadAsync (VixDiskLibHandle handle, uint64_t start, uint64_t n,
                      uint8_t *buf, VixDiskLibCompletionCB callback,
                      void *data)
{
  return complete (callback, data, VixDiskLib_Read (handle, start, n, buf));
}

VixError
VixDiskLib_WriteAsync (VixDiskLibHandle handle, uint64_t start, uint64_t n,
                       const uint8_t *buf, VixDiskLibCompletionCB callback,
                       void *data)
{
  return complete (callback, data, VixDiskLib_Write (handle, start, n, buf));
}

#ifndef FAKE_VDDK_OMIT_WAIT
VixError
VixDiskLib_Wait (VixDiskLibHandle handle)
{
  (void) handle;
  pthread_mutex_lock (&pending_lock);
  while (pending > 0)
    pthread_cond_wait (&pending_cond, &pending_lock);
  pthread_mutex_unlock (&pending_lock);
  return VIX_OK;
}
#endif

VixError
VixDiskLib_Flush (VixDiskLibHandle handle)
{
  (void) handle;
  return VIX_OK;
}
