/* SPDX-License-Identifier: BSD-3-Clause */
/* A direct client of the library's vSphere module (lib/remote/remote.h), for
 * test-remote-client.sh:
 *
 *   remote-driver URL-or-HOST[:PORT] THUMBPRINT VM [SNAPSHOT] NAME OUTFILE
 *
 * connects (user and password from $VDL_TEST_USER/$VDL_TEST_PASSWORD,
 * or the session cookie from $VDL_TEST_COOKIE), checks that NAME ("[ds]
 * dir/f.vmdk" or a /vmfs/volumes path) is a disk of the VM, and copies
 * the whole datastore file to OUTFILE with $VDL_TEST_THREADS threads
 * (default 4) reading $VDL_TEST_CHUNK-byte pieces (default 256 KiB) in
 * parallel.  $VDL_TEST_DEBUG=1 prints the library's debug log.
 * $VDL_TEST_AFTER_CONNECT, if set, is a shell command run between the
 * connect and the disk check (e.g. to attach the disk only then).
 * $VDL_TEST_EXTENT, if set, names the file copied instead of NAME (after
 * NAME is checked): its extent holding the whole disk from the start,
 * such as its -flat file (placed so, as the extent code does).
 * $VDL_TEST_AREAS, if set, is a file to write the areas in use of the
 * copied file to ("START END" a line, from vdl_remote_file_next_data),
 * asked for by a thread of its own while the readers copy.
 *
 * Exit status: 0 success, 1 a library error (message on stderr), 2 usage.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "error.h"
#include "log.h"
#include "remote.h"

static struct vdl_remote_file *file;
static uint64_t size, chunk, next;
static int out_fd;
static pthread_mutex_t next_lock = PTHREAD_MUTEX_INITIALIZER;
static VixError first_error;

static int
fail (VixError err, const char *what)
{
  char *text = vdl_error_text (err);
  fprintf (stderr, "remote-driver: %s: %s\n", what, text ? text : "?");
  free (text);
  return 1;
}

static void
log_stderr (const char *fmt, va_list args)
{
  fprintf (stderr, "debug: ");
  vfprintf (stderr, fmt, args);
  fputc ('\n', stderr);
}

/* Take the next piece of the file until none is left. */
static void *
reader (void *arg)
{
  unsigned char *buf = malloc (chunk);
  uint64_t pos, n;
  VixError err;

  (void) arg;
  for (;;) {
    pthread_mutex_lock (&next_lock);
    pos = next;
    n = pos < size ? (size - pos < chunk ? size - pos : chunk) : 0;
    next += n;
    if (first_error)
      n = 0;
    pthread_mutex_unlock (&next_lock);
    if (n == 0 || !buf)
      break;
    err = vdl_remote_file_pread (file, buf, n, pos);
    if (err == VIX_OK && pwrite (out_fd, buf, n, pos) != (ssize_t) n)
      err = vdl_error_errno (errno, "writing the output");
    if (err != VIX_OK) {
      pthread_mutex_lock (&next_lock);
      if (!first_error) {
        first_error = err;
        fail (err, "read");
      }
      pthread_mutex_unlock (&next_lock);
      break;
    }
  }
  free (buf);
  return NULL;
}

/* Write the file's areas in use to the file named arg. */
static void *
areas (void *arg)
{
  FILE *out = fopen (arg, "w");
  uint64_t at = 0, start, end;
  bool known = true;

  while (out && at < size &&
         (known = vdl_remote_file_next_data (file, at, &start, &end)) &&
         start < size) {
    fprintf (out, "%" PRIu64 " %" PRIu64 "\n", start, end);
    at = end;
  }
  if (out && !known)
    fprintf (out, "unknown\n");
  if (!out || fclose (out) != 0)
    perror (arg);
  return NULL;
}

/* "https://host:port/sdk", "host:port", "[v6]:port" or "host". */
static int
parse_server (const char *arg, char **server, uint32_t *port)
{
  const char *p = arg, *end, *colon;

  if (strncmp (p, "https://", 8) == 0)
    p += 8;
  end = p + strcspn (p, "/");
  if (*p == '[') {
    colon = memchr (p, ']', end - p);
    if (!colon)
      return -1;
    *server = strndup (p + 1, colon - p - 1);
    colon = colon + 1 < end && colon[1] == ':' ? colon + 1 : NULL;
  }
  else {
    colon = memchr (p, ':', end - p);
    *server = strndup (p, (colon ? colon : end) - p);
  }
  *port = colon ? strtoul (colon + 1, NULL, 10) : 0;
  return *server ? 0 : -1;
}

int
main (int argc, char **argv)
{
  struct vdl_remote_params p = { 0 };
  struct vdl_remote *r;
  pthread_t threads[64], areas_thread;
  const char *name, *outfile, *env;
  char *server, *resolved;
  int nthreads, i, status = 0;
  VixError err;

  if (argc != 6 && argc != 7) {
    fprintf (stderr, "usage: remote-driver URL THUMBPRINT VM [SNAPSHOT] "
             "NAME OUTFILE\n");
    return 2;
  }
  if (getenv ("VDL_TEST_DEBUG"))
    vdl_log_set (log_stderr, NULL, NULL);
  if (parse_server (argv[1], &server, &p.port) < 0)
    return 2;
  p.server = server;
  p.thumbprint = argv[2];
  p.vm_moref = argv[3];
  p.snapshot_moref = argc == 7 ? argv[4] : NULL;
  name = argv[argc - 2];
  outfile = argv[argc - 1];
  p.user = getenv ("VDL_TEST_USER");
  p.password = getenv ("VDL_TEST_PASSWORD");
  p.cookie = getenv ("VDL_TEST_COOKIE");
  nthreads = (env = getenv ("VDL_TEST_THREADS")) ? atoi (env) : 4;
  if (nthreads < 1 || nthreads > 64)
    nthreads = 4;
  chunk = (env = getenv ("VDL_TEST_CHUNK")) ? strtoull (env, NULL, 0)
    : 256 * 1024;
  if (chunk == 0)
    chunk = 256 * 1024;

  err = vdl_remote_connect (&p, &r);
  free (server);
  if (err != VIX_OK)
    return fail (err, "connect");
  if ((env = getenv ("VDL_TEST_AFTER_CONNECT")) != NULL &&
      system (env) != 0) {
    fprintf (stderr, "remote-driver: %s failed\n", env);
    vdl_remote_disconnect (r);
    return 1;
  }
  err = vdl_remote_resolve (r, name, &resolved);
  if (err != VIX_OK) {
    vdl_remote_disconnect (r);
    return fail (err, "resolve");
  }
  err = vdl_remote_check_disk (r, resolved);
  if (err == VIX_OK && (env = getenv ("VDL_TEST_EXTENT")) != NULL) {
    free (resolved);
    if (!(resolved = strdup (env)))
      err = VIX_E_OUT_OF_MEMORY;
  }
  if (err == VIX_OK)
    err = vdl_remote_file_open (r, resolved, &file);
  if (err == VIX_OK && getenv ("VDL_TEST_EXTENT"))
    vdl_remote_file_place (file, 0, 0);
  if (err != VIX_OK) {
    status = fail (err, "open");
    free (resolved);
    vdl_remote_disconnect (r);
    return status;
  }
  size = vdl_remote_file_size (file);
  out_fd = open (outfile, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (out_fd < 0 || ftruncate (out_fd, size) < 0) {
    perror (outfile);
    status = 1;
  }
  else {
    if ((env = getenv ("VDL_TEST_AREAS")) != NULL)
      pthread_create (&areas_thread, NULL, areas, (void *) env);
    for (i = 0; i < nthreads; i++)
      pthread_create (&threads[i], NULL, reader, NULL);
    for (i = 0; i < nthreads; i++)
      pthread_join (threads[i], NULL);
    if (env)
      pthread_join (areas_thread, NULL);
    if (first_error)
      status = 1;
    if (close (out_fd) < 0)
      status = 1;
  }
  if (status == 0)
    printf ("remote-driver: read %" PRIu64 " bytes of %s from %s\n", size,
            resolved, vdl_remote_host (r));
  vdl_remote_file_close (file);
  free (resolved);
  vdl_remote_disconnect (r);
  return status;
}
