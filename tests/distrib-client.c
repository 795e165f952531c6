/* SPDX-License-Identifier: BSD-3-Clause */
/* A plain VDDK client, as a backup program would be, for
 * tests/test-vddk-distrib-portable.sh: compiled in an older userland
 * (Debian 11) against only the include/ and lib64/ of the VDDK
 * directory that make vddk-distrib writes.
 *
 *   distrib-client local FILE
 *   distrib-client remote SERVER PORT THUMBPRINT VM-MOREF USER PASSWORD-FILE DISK
 *
 * writes the whole virtual disk to stdout, read with VixDiskLib_Read.
 * The password is read from a file so that it is never in argv.
 * Exit status: 0 success, 1 a library error (message on stderr), 2 usage.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vixDiskLib.h"

#define CHUNK 2048              /* sectors per read (1 MiB) */

static int
fail (VixError err, const char *what)
{
  char *text = VixDiskLib_GetErrorText (err, NULL);
  fprintf (stderr, "distrib-client: %s: %s\n", what, text ? text : "?");
  VixDiskLib_FreeErrorText (text);
  return 1;
}

/* The first line of FILE, without its newline, or NULL. */
static char *
read_secret (const char *file)
{
  char buf[256];
  FILE *fp = fopen (file, "r");

  if (fp == NULL) {
    fprintf (stderr, "distrib-client: %s: %s\n", file, strerror (errno));
    return NULL;
  }
  if (fgets (buf, sizeof buf, fp) == NULL)
    buf[0] = '\0';
  fclose (fp);
  buf[strcspn (buf, "\r\n")] = '\0';
  return strdup (buf);
}

static int
copy_out (VixDiskLibHandle h)
{
  VixDiskLibInfo *info = NULL;
  unsigned char *buf;
  uint64_t pos, n;
  VixError err;
  int status = 0;

  err = VixDiskLib_GetInfo (h, &info);
  if (err != VIX_OK)
    return fail (err, "GetInfo");
  buf = malloc (CHUNK * VIXDISKLIB_SECTOR_SIZE);
  if (buf == NULL) {
    VixDiskLib_FreeInfo (info);
    fprintf (stderr, "distrib-client: out of memory\n");
    return 1;
  }
  for (pos = 0; pos < info->capacity; pos += n) {
    n = info->capacity - pos < CHUNK ? info->capacity - pos : CHUNK;
    err = VixDiskLib_Read (h, pos, n, buf);
    if (err != VIX_OK) {
      status = fail (err, "Read");
      break;
    }
    if (fwrite (buf, VIXDISKLIB_SECTOR_SIZE, n, stdout) != n) {
      fprintf (stderr, "distrib-client: write: %s\n", strerror (errno));
      status = 1;
      break;
    }
  }
  free (buf);
  VixDiskLib_FreeInfo (info);
  if (status == 0 && fflush (stdout) != 0) {
    fprintf (stderr, "distrib-client: write: %s\n", strerror (errno));
    status = 1;
  }
  return status;
}

int
main (int argc, char *argv[])
{
  VixDiskLibConnectParams *params = NULL;
  VixDiskLibConnection conn;
  VixDiskLibHandle h;
  const char *disk;
  char *password = NULL, *vmx = NULL, *endp;
  VixError err;
  int status;

  if (!((argc == 3 && strcmp (argv[1], "local") == 0) ||
        (argc == 9 && strcmp (argv[1], "remote") == 0))) {
    fprintf (stderr, "usage: distrib-client local FILE\n"
             "       distrib-client remote SERVER PORT THUMBPRINT VM-MOREF USER PASSWORD-FILE DISK\n");
    return 2;
  }

  err = VixDiskLib_InitEx (8, 0, NULL, NULL, NULL, NULL, NULL);
  if (err != VIX_OK)
    return fail (err, "InitEx");

  if (argc == 3) {
    disk = argv[2];
    err = VixDiskLib_ConnectEx (NULL, 1, NULL, NULL, &conn);
  }
  else {
    disk = argv[8];
    password = read_secret (argv[7]);
    if (password == NULL || asprintf (&vmx, "moref=%s", argv[5]) < 0)
      return 1;
    params = VixDiskLib_AllocateConnectParams ();
    if (params == NULL) {
      fprintf (stderr, "distrib-client: AllocateConnectParams failed\n");
      return 1;
    }
    params->vmxSpec = vmx;
    params->serverName = argv[2];
    errno = 0;
    params->port = strtoul (argv[3], &endp, 10);
    if (errno != 0 || *endp != '\0' || params->port == 0 || params->port > 65535) {
      fprintf (stderr, "distrib-client: bad port '%s'\n", argv[3]);
      return 2;
    }
    params->thumbPrint = argv[4];
    params->credType = VIXDISKLIB_CRED_UID;
    params->creds.uid.userName = argv[6];
    params->creds.uid.password = password;
    err = VixDiskLib_ConnectEx (params, 1, NULL, NULL, &conn);
  }
  if (err != VIX_OK)
    return fail (err, "ConnectEx");

  err = VixDiskLib_Open (conn, disk, VIXDISKLIB_FLAG_OPEN_READ_ONLY, &h);
  if (err != VIX_OK)
    status = fail (err, "Open");
  else {
    status = copy_out (h);
    err = VixDiskLib_Close (h);
    if (err != VIX_OK && status == 0)
      status = fail (err, "Close");
  }
  VixDiskLib_Disconnect (conn);
  VixDiskLib_Exit ();
  if (params != NULL) {
    /* Ours, not the library's: take them back before freeing. */
    params->vmxSpec = params->serverName = params->thumbPrint = NULL;
    params->creds.uid.userName = params->creds.uid.password = NULL;
    VixDiskLib_FreeConnectParams (params);
  }
  if (password != NULL) {
    memset (password, 0, strlen (password));
    free (password);
  }
  free (vmx);
  return status;
}
