/* SPDX-License-Identifier: BSD-3-Clause */
/* A direct client of the library for tests that must see the library
 * alone (sanitizer and valgrind builds, corrupted images), without nbdkit
 * in the way.
 *
 *   vdl-driver cat FILE            whole disk to stdout, via ReadAsync
 *   vdl-driver info FILE           capacity, links, adapter, geometry
 *   vdl-driver map FILE            allocated blocks, one "start length" line each
 *   vdl-driver write FILE SECTOR N BYTE   write N sectors of BYTE, flush
 *   vdl-driver create FILE TYPE SECTORS   VixDiskLibDiskType number
 *
 * Exit status: 0 success, 1 a library error (message on stderr),
 * 2 usage.  Anything else (a crash) is a bug.
 */
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vixDiskLib.h"

#define CHUNK 2048              /* sectors per request (1 MiB) */
#define DEPTH 4                 /* requests in flight */

static int
fail (VixError err, const char *what)
{
  char *text = VixDiskLib_GetErrorText (err, NULL);
  fprintf (stderr, "vdl-driver: %s: %s\n", what, text ? text : "?");
  VixDiskLib_FreeErrorText (text);
  return 1;
}

struct slot {
  unsigned char *buf;
  uint64_t n;
  volatile VixError result;
  char *text;                   /* the error's text, if it failed */
};

/* The text of an asynchronous failure is fetched in the completion
 * callback: that is the thread where the request failed. */
static void
done (void *data, VixError result)
{
  struct slot *s = data;

  if (result != VIX_OK)
    s->text = VixDiskLib_GetErrorText (result, NULL);
  s->result = result;
}

static int
cat (VixDiskLibHandle h, uint64_t capacity)
{
  struct slot slots[DEPTH];
  uint64_t pos = 0, n;
  VixError err;
  int i, used, status = 0;

  for (i = 0; i < DEPTH; i++)
    slots[i].buf = malloc (CHUNK * VIXDISKLIB_SECTOR_SIZE);
  while (pos < capacity && status == 0) {
    for (used = 0; used < DEPTH && pos < capacity; used++) {
      n = capacity - pos < CHUNK ? capacity - pos : CHUNK;
      slots[used].n = n;
      slots[used].result = VIX_E_FAIL;
      slots[used].text = NULL;
      err = VixDiskLib_ReadAsync (h, pos, n, slots[used].buf, done,
                                  &slots[used]);
      if (err != VIX_ASYNC) {
        status = fail (err, "ReadAsync");
        break;
      }
      pos += n;
    }
    VixDiskLib_Wait (h);
    for (i = 0; i < used; i++) {
      if (status == 0 && slots[i].result != VIX_OK) {
        fprintf (stderr, "vdl-driver: read: %s\n",
                 slots[i].text ? slots[i].text : "?");
        status = 1;
      }
      else if (status == 0)
        fwrite (slots[i].buf, VIXDISKLIB_SECTOR_SIZE, slots[i].n, stdout);
      VixDiskLib_FreeErrorText (slots[i].text);
    }
  }
  for (i = 0; i < DEPTH; i++)
    free (slots[i].buf);
  return status;
}

static int
info (VixDiskLibHandle h)
{
  VixDiskLibInfo *i;
  VixError err = VixDiskLib_GetInfo (h, &i);

  if (err != VIX_OK)
    return fail (err, "GetInfo");
  printf ("capacity %" PRIu64 "\nlinks %d\nadapter %d\n"
          "geometry %u/%u/%u\nparent %s\nuuid %s\n",
          i->capacity, i->numLinks, (int) i->adapterType,
          i->physGeo.cylinders, i->physGeo.heads, i->physGeo.sectors,
          i->parentFileNameHint ? i->parentFileNameHint : "-",
          i->uuid ? i->uuid : "-");
  VixDiskLib_FreeInfo (i);
  return 0;
}

static int
map (VixDiskLibHandle h, uint64_t capacity)
{
  uint64_t chunk = VIXDISKLIB_MIN_CHUNK_SIZE;
  uint64_t n = (capacity + chunk - 1) / chunk * chunk;
  VixDiskLibBlockList *list;
  VixError err = VixDiskLib_QueryAllocatedBlocks (h, 0, n, chunk, &list);
  uint32_t i;

  if (err != VIX_OK)
    return fail (err, "QueryAllocatedBlocks");
  for (i = 0; i < list->numBlocks; i++)
    printf ("%" PRIu64 " %" PRIu64 "\n", list->blocks[i].offset,
            list->blocks[i].length);
  VixDiskLib_FreeBlockList (list);
  return 0;
}

static int
write_pattern (VixDiskLibHandle h, uint64_t sector, uint64_t n, int byte)
{
  unsigned char *buf = malloc (n * VIXDISKLIB_SECTOR_SIZE);
  VixError err;

  memset (buf, byte, n * VIXDISKLIB_SECTOR_SIZE);
  err = VixDiskLib_Write (h, sector, n, buf);
  free (buf);
  if (err != VIX_OK)
    return fail (err, "Write");
  err = VixDiskLib_Flush (h);
  return err == VIX_OK ? 0 : fail (err, "Flush");
}

int
main (int argc, char *argv[])
{
  VixDiskLibConnection conn;
  VixDiskLibHandle h;
  VixDiskLibInfo *i;
  VixError err;
  uint64_t capacity;
  int status;
  const char *cmd = argc > 2 ? argv[1] : "";
  int writing = strcmp (cmd, "write") == 0;

  if ((strcmp (cmd, "cat") && strcmp (cmd, "info") && strcmp (cmd, "map") &&
       strcmp (cmd, "write") && strcmp (cmd, "create")) ||
      (writing && argc != 6) || (!strcmp (cmd, "create") && argc != 5)) {
    fprintf (stderr, "usage: vdl-driver cat|info|map|write|create FILE ...\n");
    return 2;
  }
  err = VixDiskLib_InitEx (6, 5, NULL, NULL, NULL, NULL, NULL);
  if (err != VIX_OK)
    return fail (err, "InitEx");
  err = VixDiskLib_ConnectEx (NULL, !writing, NULL, NULL, &conn);
  if (err != VIX_OK)
    return fail (err, "ConnectEx");
  if (!strcmp (cmd, "create")) {
    VixDiskLibCreateParams p = {
      .diskType = atoi (argv[3]),
      .adapterType = VIXDISKLIB_ADAPTER_SCSI_LSILOGIC,
      .hwVersion = VIXDISKLIB_HWVERSION_ESX65,
      .capacity = strtoull (argv[4], NULL, 0),
    };
    err = VixDiskLib_Create (conn, argv[2], &p, NULL, NULL);
    status = err == VIX_OK ? 0 : fail (err, "Create");
    goto out_conn;
  }
  err = VixDiskLib_Open (conn, argv[2], writing ? 0
                         : VIXDISKLIB_FLAG_OPEN_READ_ONLY, &h);
  if (err != VIX_OK) {
    status = fail (err, "Open");
    goto out_conn;
  }
  err = VixDiskLib_GetInfo (h, &i);
  if (err != VIX_OK) {
    status = fail (err, "GetInfo");
    goto out_close;
  }
  capacity = i->capacity;
  VixDiskLib_FreeInfo (i);
  if (!strcmp (cmd, "cat"))
    status = cat (h, capacity);
  else if (!strcmp (cmd, "info"))
    status = info (h);
  else if (!strcmp (cmd, "map"))
    status = map (h, capacity);
  else
    status = write_pattern (h, strtoull (argv[3], NULL, 0),
                            strtoull (argv[4], NULL, 0), atoi (argv[5]));
 out_close:
  VixDiskLib_Close (h);
 out_conn:
  VixDiskLib_Disconnect (conn);
  VixDiskLib_Exit ();
  return status;
}
