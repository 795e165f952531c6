/* SPDX-License-Identifier: BSD-3-Clause */
/* Threads hammering one disk through several handles, for the
 * ThreadSanitizer build (test-tsan.sh), without nbdkit in the way.
 *
 *   race-driver FILE TYPE ROUNDS [MIB]
 *
 * Creates FILE (a VixDiskLibDiskType number, MIB MiB, default 16; a
 * larger disk has more grain tables, loaded while others are flushed),
 * then ROUNDS times:
 *  - WRITERS threads, each with its own handle (nbdkit opens one per
 *    connection, and the library shares the disk between them), write
 *    their own quarter of the same grains, so that they race to allocate
 *    them; several requests in flight, some synchronous writes;
 *  - READERS threads read meanwhile and check that every sector is zeros
 *    or a whole sector that a writer wrote there;
 *  - a flusher flushes meanwhile;
 *  - each writer ends the round by closing its handle with writes still
 *    in flight (Close must wait for them and their callbacks), then
 *    opens it again while the others still work.
 * Finally every handle is closed, the disk opened again, and every sector
 * must hold the last version its writer wrote.  Exit 0 on success, 1 on
 * any error or mismatch, 2 for usage.
 */
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vixDiskLib.h"

#define SS VIXDISKLIB_SECTOR_SIZE
#define GRAIN 128               /* sectors, as every sparse format here */
#define QUARTER (GRAIN / 4)
#define WRITERS 4               /* one per quarter of a grain */
#define READERS 2
#define GRAINS_PER_ROUND 48
#define DEPTH 4                 /* async writes in flight per writer */
#define MAGIC 0x52414345u

static uint64_t capacity;      /* sectors */
static VixDiskLibConnection conn;
static const char *path;
static atomic_bool running, failed;

static void
die (VixError err, const char *what)
{
  char *text = VixDiskLib_GetErrorText (err, NULL);

  fprintf (stderr, "race-driver: %s: %s\n", what, text ? text : "?");
  VixDiskLib_FreeErrorText (text);
  exit (1);
}

static VixDiskLibHandle
open_disk (void)
{
  VixDiskLibHandle h;
  VixError err = VixDiskLib_Open (conn, path, 0, &h);

  if (err != VIX_OK)
    die (err, "Open");
  return h;
}

static uint32_t
next_rand (uint32_t *state)
{
  uint32_t x = *state;

  x ^= x << 13;
  x ^= x >> 17;
  x ^= x << 5;
  return *state = x;
}

/* Sector contents name the sector and the version written there, and
 * the rest follows from both: a torn or misplaced sector shows. */
static void
fill_sector (unsigned char *p, uint64_t sector, uint32_t version)
{
  uint32_t magic = MAGIC;
  size_t i;

  memcpy (p, &sector, 8);
  memcpy (p + 8, &version, 4);
  memcpy (p + 12, &magic, 4);
  for (i = 16; i < SS; i++)
    p[i] = (sector * 31 + version * 7 + i) & 0xff;
}

/* The version found in the sector (0 for zeros), or -1 if it is none
 * that any writer wrote there. */
static int64_t
check_sector (const unsigned char *p, uint64_t sector)
{
  unsigned char want[SS];
  uint32_t version;
  size_t i;

  for (i = 0; i < SS && p[i] == 0; i++)
    ;
  if (i == SS)
    return 0;
  memcpy (&version, p + 8, 4);
  fill_sector (want, sector, version);
  return version != 0 && memcmp (p, want, SS) == 0 ? (int64_t) version : -1;
}

struct slot {
  unsigned char buf[QUARTER * SS];
  VixError result;              /* set by the callback */
};

struct writer {
  int k;                        /* the quarter of every grain it owns */
  pthread_t thread;
  VixDiskLibHandle h;
  uint32_t *version;            /* last version written, per sector */
  uint32_t round;
  struct slot slots[DEPTH], sync;
  atomic_uint completed;
};

static void
write_done (void *data, VixError result)
{
  ((struct slot *) data)->result = result;
}

static void
counted_done (void *data, VixError result)
{
  struct writer *w = data;

  if (result != VIX_OK) {
    fprintf (stderr, "race-driver: write in flight at Close failed\n");
    failed = true;
  }
  atomic_fetch_add (&w->completed, 1);
}

static void
wait_slots (struct writer *w, int used)
{
  int i;

  VixDiskLib_Wait (w->h);
  for (i = 0; i < used; i++)
    if (w->slots[i].result != VIX_OK)
      die (w->slots[i].result, "WriteAsync callback");
}

/* Sectors first..first+n of the writer's quarter of grain g. */
static void
prepare (struct writer *w, struct slot *s, uint64_t first, uint64_t n)
{
  uint64_t i;

  for (i = 0; i < n; i++) {
    fill_sector (s->buf + i * SS, first + i, w->round);
    w->version[first + i] = w->round;
  }
  s->result = VIX_E_FAIL;
}

static void *
writer_thread (void *arg)
{
  struct writer *w = arg;
  /* Every writer visits the same grains in the same order. */
  uint32_t order = 2463534242u + w->round * 7919, mine = w->k + 1 + w->round;
  uint64_t g, first, n;
  int used = 0, i;
  VixError err;

  for (i = 0; i < GRAINS_PER_ROUND; i++) {
    g = next_rand (&order) % (capacity / GRAIN);
    /* Mostly the whole quarter; sometimes only part of it. */
    first = g * GRAIN + w->k * QUARTER;
    n = QUARTER;
    if (next_rand (&mine) % 4 == 0) {
      first += next_rand (&mine) % (QUARTER / 2);
      n = 1 + next_rand (&mine) % (QUARTER / 2);
    }
    if (i % 8 == 7) {
      prepare (w, &w->sync, first, n);
      err = VixDiskLib_Write (w->h, first, n, w->sync.buf);
      if (err != VIX_OK)
        die (err, "Write");
      continue;
    }
    prepare (w, &w->slots[used], first, n);
    err = VixDiskLib_WriteAsync (w->h, first, n, w->slots[used].buf,
                                 write_done, &w->slots[used]);
    if (err != VIX_ASYNC)
      die (err, "WriteAsync");
    if (++used == DEPTH) {
      wait_slots (w, used);
      used = 0;
    }
  }
  wait_slots (w, used);

  /* Close with requests in flight: Close waits for them. */
  atomic_store (&w->completed, 0);
  for (i = 0; i < DEPTH; i++) {
    g = next_rand (&mine) % (capacity / GRAIN);
    first = g * GRAIN + w->k * QUARTER;
    prepare (w, &w->slots[i], first, QUARTER);
    err = VixDiskLib_WriteAsync (w->h, first, QUARTER, w->slots[i].buf,
                                 counted_done, w);
    if (err != VIX_ASYNC)
      die (err, "WriteAsync");
  }
  err = VixDiskLib_Close (w->h);
  if (err != VIX_OK)
    die (err, "Close with writes in flight");
  if (atomic_load (&w->completed) != DEPTH) {
    fprintf (stderr, "race-driver: Close returned with %u of %d "
             "callbacks run\n", atomic_load (&w->completed), DEPTH);
    failed = true;
  }
  w->h = open_disk ();
  return NULL;
}

struct reader {
  pthread_t thread;
  VixDiskLibHandle h;
  uint32_t seed;
  VixError result;
};

static void
read_done (void *data, VixError result)
{
  ((struct reader *) data)->result = result;
}

static void *
reader_thread (void *arg)
{
  struct reader *r = arg;
  unsigned char *buf = malloc (256 * SS);
  uint64_t start, n, i;
  unsigned k = 0;
  VixError err;

  while (atomic_load (&running) && !atomic_load (&failed)) {
    n = 1 + next_rand (&r->seed) % 256;
    start = next_rand (&r->seed) % (capacity - n + 1);
    if (k++ % 2) {
      err = VixDiskLib_Read (r->h, start, n, buf);
    }
    else {
      r->result = VIX_E_FAIL;
      err = VixDiskLib_ReadAsync (r->h, start, n, buf, read_done, r);
      if (err == VIX_ASYNC) {
        VixDiskLib_Wait (r->h);
        err = r->result;
      }
    }
    if (err != VIX_OK)
      die (err, "Read");
    for (i = 0; i < n; i++)
      if (check_sector (buf + i * SS, start + i) < 0) {
        fprintf (stderr, "race-driver: sector %" PRIu64 " read during "
                 "writes holds data no writer wrote there\n", start + i);
        failed = true;
      }
  }
  free (buf);
  return NULL;
}

static void *
flusher_thread (void *arg)
{
  VixDiskLibHandle h = arg;
  VixError err;

  while (atomic_load (&running)) {
    err = VixDiskLib_Flush (h);
    if (err != VIX_OK)
      die (err, "Flush");
    usleep (2000);
  }
  return NULL;
}

static void
create_disk (int type)
{
  VixDiskLibCreateParams p = {
    .diskType = type,
    .adapterType = VIXDISKLIB_ADAPTER_SCSI_LSILOGIC,
    .hwVersion = VIXDISKLIB_HWVERSION_ESX65,
    .capacity = capacity,
  };
  VixError err = VixDiskLib_Create (conn, path, &p, NULL, NULL);

  if (err != VIX_OK)
    die (err, "Create");
}

/* After everything is closed: each sector holds its last version. */
static int
verify (struct writer *ws)
{
  const uint64_t chunk = 16384;
  VixDiskLibHandle h = open_disk ();
  unsigned char *buf = malloc (chunk * SS);
  uint64_t s, n, i, bad = 0;
  uint32_t want;
  VixError err;

  for (s = 0; s < capacity; s += n) {
    n = capacity - s < chunk ? capacity - s : chunk;
    err = VixDiskLib_Read (h, s, n, buf);
    if (err != VIX_OK)
      die (err, "Read");
    for (i = 0; i < n; i++) {
      want = ws[((s + i) % GRAIN) / QUARTER].version[s + i];
      if (check_sector (buf + i * SS, s + i) != want && bad++ < 10)
        fprintf (stderr, "race-driver: sector %" PRIu64 " holds version "
                 "%" PRId64 ", not %u\n", s + i,
                 check_sector (buf + i * SS, s + i), want);
    }
  }
  free (buf);
  err = VixDiskLib_Close (h);
  if (err != VIX_OK)
    die (err, "Close");
  return bad == 0 ? 0 : 1;
}

int
main (int argc, char *argv[])
{
  struct writer ws[WRITERS];
  struct reader rs[READERS];
  pthread_t flusher;
  VixDiskLibHandle fh;
  unsigned rounds, r;
  int i, status;
  VixError err;

  if (argc < 4 || argc > 6) {
    fprintf (stderr, "usage: race-driver FILE TYPE ROUNDS [MIB [CONFIG]]\n");
    return 2;
  }
  path = argv[1];
  rounds = atoi (argv[3]);
  capacity = (argc >= 5 ? strtoull (argv[4], NULL, 0) : 16) * 2048;
  if (capacity < GRAIN) {
    fprintf (stderr, "race-driver: the disk is too small\n");
    return 2;
  }
  /* A configuration file can shrink the grain-table cache, so that
   * tables are dropped and written back while writers race. */
  err = VixDiskLib_InitEx (6, 5, NULL, NULL, NULL, NULL,
                           argc == 6 ? argv[5] : NULL);
  if (err != VIX_OK)
    die (err, "InitEx");
  err = VixDiskLib_ConnectEx (NULL, 0, NULL, NULL, &conn);
  if (err != VIX_OK)
    die (err, "ConnectEx");
  create_disk (atoi (argv[2]));

  memset (ws, 0, sizeof ws);
  for (i = 0; i < WRITERS; i++) {
    ws[i].k = i;
    ws[i].h = open_disk ();
    ws[i].version = calloc (capacity, sizeof *ws[i].version);
  }
  for (i = 0; i < READERS; i++) {
    rs[i].h = open_disk ();
    rs[i].seed = 12345 + i;
  }
  fh = open_disk ();
  for (r = 1; r <= rounds && !failed; r++) {
    atomic_store (&running, true);
    for (i = 0; i < READERS; i++)
      pthread_create (&rs[i].thread, NULL, reader_thread, &rs[i]);
    pthread_create (&flusher, NULL, flusher_thread, fh);
    for (i = 0; i < WRITERS; i++) {
      ws[i].round = r;
      pthread_create (&ws[i].thread, NULL, writer_thread, &ws[i]);
    }
    for (i = 0; i < WRITERS; i++)
      pthread_join (ws[i].thread, NULL);
    atomic_store (&running, false);
    for (i = 0; i < READERS; i++)
      pthread_join (rs[i].thread, NULL);
    pthread_join (flusher, NULL);
  }
  for (i = 0; i < WRITERS; i++)
    VixDiskLib_Close (ws[i].h);
  for (i = 0; i < READERS; i++)
    VixDiskLib_Close (rs[i].h);
  err = VixDiskLib_Close (fh);
  if (err != VIX_OK)
    die (err, "Close");
  status = failed ? 1 : verify (ws);
  for (i = 0; i < WRITERS; i++)
    free (ws[i].version);
  VixDiskLib_Disconnect (conn);
  VixDiskLib_Exit ();
  if (status == 0)
    printf ("race-driver: %u rounds, %d writers, %d readers: OK\n", rounds,
            WRITERS, READERS);
  return status;
}
