/* SPDX-License-Identifier: BSD-3-Clause */
/* An LD_PRELOAD shim that makes the calls which change files fail, for
 * test-fault-inject.sh: pwrite, pwritev, fsync, fdatasync, ftruncate,
 * fallocate and posix_fallocate (and their 64-bit names).
 *
 * Only calls on files whose path (as /proc/self/fd shows it) matches the
 * fnmatch pattern FAULT_PATTERN are counted; without it the shim does
 * nothing.  The FAULT_AT'th counted call (from 1) fails with FAULT_ERRNO
 * (EIO or ENOSPC, default EIO) without doing anything, and so do the
 * FAULT_COUNT - 1 calls after it (default 1; 0 means every later call,
 * like a disk that stays full).  FAULT_AT unset or 0 only counts.
 * FAULT_ERRNO=KILL instead kills the process (SIGKILL) at that call,
 * before it does anything: a crash between two writes.
 *
 * FAULT_LOG, if set, is a file that gets one line per counted call,
 *   CALL N NAME SITE PATH    (FAULT instead of CALL when it failed)
 * where SITE is the chain of return addresses inside the library that
 * made the call (offsets from its load address), so a test can tell the
 * places in the code that write apart and fail each of them.
 */
#include <dlfcn.h>
#include <errno.h>
#include <execinfo.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <unistd.h>

#define SITE_FRAMES 12

static atomic_long calls;

/* The counted call's number, or 0 if fd is not a file of interest. */
static long
count (int fd, char *path, size_t len)
{
  const char *pattern = getenv ("FAULT_PATTERN");
  char link[64];
  ssize_t n;

  if (!pattern)
    return 0;
  snprintf (link, sizeof link, "/proc/self/fd/%d", fd);
  n = readlink (link, path, len - 1);
  if (n < 0)
    return 0;
  path[n] = '\0';
  if (fnmatch (pattern, path, 0) != 0)
    return 0;
  return atomic_fetch_add (&calls, 1) + 1;
}

static int
fault_errno (void)
{
  const char *e = getenv ("FAULT_ERRNO");

  if (!e || strcmp (e, "EIO") == 0)
    return EIO;
  if (strcmp (e, "ENOSPC") == 0)
    return ENOSPC;
  return atoi (e);
}

static int
should_fail (long n)
{
  const char *at = getenv ("FAULT_AT"), *cnt = getenv ("FAULT_COUNT");
  long first = at ? atol (at) : 0, many = cnt ? atol (cnt) : 1;

  return first > 0 && n >= first && (many == 0 || n < first + many);
}

/* Return addresses inside the shared object that called us. */
static void
site (char *buf, size_t len)
{
  void *frames[SITE_FRAMES];
  int n = backtrace (frames, SITE_FRAMES), i;
  size_t used = 0;
  Dl_info self, info;

  buf[0] = '\0';
  if (!dladdr ((void *) site, &self))
    return;
  for (i = 1; i < n && used + 24 < len; i++) {
    if (!dladdr (frames[i], &info) || info.dli_fbase == self.dli_fbase ||
        !strstr (info.dli_fname, "libvixDiskLib"))
      continue;
    used += snprintf (buf + used, len - used, "%s%lx", used ? "<" : "",
                      (unsigned long) ((char *) frames[i] -
                                       (char *) info.dli_fbase));
  }
  if (!used)
    snprintf (buf, len, "-");
}

/* Count the call; 0 to go ahead, else the errno to fail with. */
static int
intercept (int fd, const char *name)
{
  char path[PATH_MAX], where[512];
  const char *log = getenv ("FAULT_LOG");
  long n = count (fd, path, sizeof path);
  int fail, saved = errno;
  FILE *f;

  if (n == 0)
    return 0;
  fail = should_fail (n);
  if (log && (f = fopen (log, "a")) != NULL) {
    site (where, sizeof where);
    fprintf (f, "%s %ld %s %s %s\n", fail ? "FAULT" : "CALL", n, name,
             where, path);
    fclose (f);
  }
  errno = saved;
  if (fail && getenv ("FAULT_ERRNO") &&
      strcmp (getenv ("FAULT_ERRNO"), "KILL") == 0)
    raise (SIGKILL);
  return fail ? fault_errno () : 0;
}

#define REAL(name) \
  static __typeof__ (name) *real_##name; \
  if (!real_##name) \
    real_##name = (__typeof__ (name) *) dlsym (RTLD_NEXT, #name)

ssize_t
pwrite (int fd, const void *buf, size_t len, off_t off)
{
  int e = intercept (fd, "pwrite");
  REAL (pwrite);
  if (e) {
    errno = e;
    return -1;
  }
  return real_pwrite (fd, buf, len, off);
}

ssize_t
pwrite64 (int fd, const void *buf, size_t len, off64_t off)
{
  int e = intercept (fd, "pwrite");
  REAL (pwrite64);
  if (e) {
    errno = e;
    return -1;
  }
  return real_pwrite64 (fd, buf, len, off);
}

ssize_t
pwritev (int fd, const struct iovec *iov, int n, off_t off)
{
  int e = intercept (fd, "pwritev");
  REAL (pwritev);
  if (e) {
    errno = e;
    return -1;
  }
  return real_pwritev (fd, iov, n, off);
}

ssize_t
pwritev64 (int fd, const struct iovec *iov, int n, off64_t off)
{
  int e = intercept (fd, "pwritev");
  REAL (pwritev64);
  if (e) {
    errno = e;
    return -1;
  }
  return real_pwritev64 (fd, iov, n, off);
}

int
fsync (int fd)
{
  int e = intercept (fd, "fsync");
  REAL (fsync);
  if (e) {
    errno = e;
    return -1;
  }
  return real_fsync (fd);
}

int
fdatasync (int fd)
{
  int e = intercept (fd, "fdatasync");
  REAL (fdatasync);
  if (e) {
    errno = e;
    return -1;
  }
  return real_fdatasync (fd);
}

int
ftruncate (int fd, off_t len)
{
  int e = intercept (fd, "ftruncate");
  REAL (ftruncate);
  if (e) {
    errno = e;
    return -1;
  }
  return real_ftruncate (fd, len);
}

int
ftruncate64 (int fd, off64_t len)
{
  int e = intercept (fd, "ftruncate");
  REAL (ftruncate64);
  if (e) {
    errno = e;
    return -1;
  }
  return real_ftruncate64 (fd, len);
}

int
fallocate (int fd, int mode, off_t off, off_t len)
{
  int e = intercept (fd, "fallocate");
  REAL (fallocate);
  if (e) {
    errno = e;
    return -1;
  }
  return real_fallocate (fd, mode, off, len);
}

int
fallocate64 (int fd, int mode, off64_t off, off64_t len)
{
  int e = intercept (fd, "fallocate");
  REAL (fallocate64);
  if (e) {
    errno = e;
    return -1;
  }
  return real_fallocate64 (fd, mode, off, len);
}

/* posix_fallocate returns the error rather than setting errno. */
int
posix_fallocate (int fd, off_t off, off_t len)
{
  int e = intercept (fd, "posix_fallocate");
  REAL (posix_fallocate);
  return e ? e : real_posix_fallocate (fd, off, len);
}

int
posix_fallocate64 (int fd, off64_t off, off64_t len)
{
  int e = intercept (fd, "posix_fallocate");
  REAL (posix_fallocate64);
  return e ? e : real_posix_fallocate64 (fd, off, len);
}
