/* SPDX-License-Identifier: BSD-3-Clause */
/* An LD_PRELOAD shim that stops a process in the middle of its work
 * until the test lets it go, so that a test can signal it at a known
 * point instead of guessing with timing (test-vdiskmanager-interrupt.sh).
 *
 * HOLD_CALLS says which calls are counted: "write" (pwrite on a file
 * whose path, as /proc/self/fd shows it, matches the fnmatch pattern
 * HOLD_PATTERN) or "name" (link, rename and renameat2 whose new name,
 * made absolute, matches it).  Before the HOLD_AT'th counted call (from
 * 1) the shim creates the file HOLD_READY, holding the path, and waits
 * until the file HOLD_GO exists; signals that come meanwhile are
 * handled as usual.  Then the call is made.  Without HOLD_PATTERN the
 * shim does nothing.
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <limits.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

static atomic_long calls;

static void
hold_if_due (const char *kind, const char *path)
{
  const char *pattern = getenv ("HOLD_PATTERN"), *want = getenv ("HOLD_CALLS");
  const char *at = getenv ("HOLD_AT"), *ready = getenv ("HOLD_READY");
  const char *go = getenv ("HOLD_GO");
  struct timespec ts = { 0, 10 * 1000 * 1000 };
  int fd;

  if (!pattern || !want || !at || !ready || !go || strcmp (want, kind) != 0
      || fnmatch (pattern, path, 0) != 0)
    return;
  if (atomic_fetch_add (&calls, 1) + 1 != atol (at))
    return;
  fd = open (ready, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd >= 0) {
    if (write (fd, path, strlen (path)) < 0) { /* the name is a courtesy */ }
    close (fd);
  }
  while (access (go, F_OK) == -1)
    nanosleep (&ts, NULL);      /* EINTR: look again */
}

static void
hold_fd (int fd)
{
  char link[64], path[PATH_MAX];
  ssize_t n;
  int e = errno;

  snprintf (link, sizeof link, "/proc/self/fd/%d", fd);
  n = readlink (link, path, sizeof path - 1);
  if (n >= 0) {
    path[n] = '\0';
    hold_if_due ("write", path);
  }
  errno = e;
}

/* A new name, made absolute as the pattern is. */
static void
hold_name (const char *to)
{
  char path[PATH_MAX * 2], cwd[PATH_MAX];
  int e = errno;

  if (to[0] != '/' && getcwd (cwd, sizeof cwd))
    snprintf (path, sizeof path, "%s/%s", cwd, to);
  else
    snprintf (path, sizeof path, "%s", to);
  hold_if_due ("name", path);
  errno = e;
}

#define REAL(name) \
  static __typeof__ (name) *real_##name; \
  if (!real_##name) \
    real_##name = (__typeof__ (name) *) dlsym (RTLD_NEXT, #name)

ssize_t
pwrite (int fd, const void *buf, size_t len, off_t off)
{
  REAL (pwrite);
  hold_fd (fd);
  return real_pwrite (fd, buf, len, off);
}

ssize_t
pwrite64 (int fd, const void *buf, size_t len, off64_t off)
{
  REAL (pwrite64);
  hold_fd (fd);
  return real_pwrite64 (fd, buf, len, off);
}

int
link (const char *from, const char *to)
{
  REAL (link);
  hold_name (to);
  return real_link (from, to);
}

int
rename (const char *from, const char *to)
{
  REAL (rename);
  hold_name (to);
  return real_rename (from, to);
}

int
renameat2 (int ofd, const char *from, int nfd, const char *to, unsigned flags)
{
  REAL (renameat2);
  hold_name (to);
  return real_renameat2 (ofd, from, nfd, to, flags);
}
