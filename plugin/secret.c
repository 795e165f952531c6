/* SPDX-License-Identifier: BSD-3-Clause */
/* nbdkit VDDK plugin: the password and the session cookie.
 *
 * Both are kept for the whole run (every new NBD connection connects
 * with them), in pages of their own that core dumps leave out
 * (MADV_DONTDUMP), locked against swapping where the limit allows and
 * zeroed when freed.  They are read here rather than with
 * nbdkit_read_password, whose stdio buffers (of the file, the fd, or
 * stdin for the prompt) would keep a copy in the heap: read(2) puts
 * them straight where they stay.  A value given on the command line is
 * blanked out there, so /proc/PID/cmdline stops showing it once nbdkit
 * has read its parameters.
 */

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "secret-pages.h"
#include "vddk.h"

void
secret_free (char *s)
{
  secret_pages_free (s);
}

char *
secret_strdup (const char *s)
{
  size_t len = strlen (s);
  char *c = secret_pages_alloc (len + 1);

  if (c)
    memcpy (c, s, len + 1);
  return c;
}

/* The first line of fd (without its newline) as a secret, reading to
 * the first newline or the end.  Nothing passes through a buffer other
 * than the secret's own.  key and what (the file) are for errors. */
static char *
read_line (int fd, const char *key, const char *what)
{
  char *buf = secret_pages_alloc (256), *bigger, *nl;
  size_t len = 0;
  ssize_t r;

  if (buf == NULL) {
    nbdkit_error ("reading %s: mmap: %m", key);
    return NULL;
  }
  for (;;) {
    if (len + 1 == secret_pages_room (buf)) {
      bigger = secret_pages_alloc (2 * secret_pages_room (buf));
      if (bigger == NULL) {
        nbdkit_error ("reading %s: mmap: %m", key);
        secret_free (buf);
        return NULL;
      }
      memcpy (bigger, buf, len);
      secret_free (buf);
      buf = bigger;
    }
    r = read (fd, buf + len, secret_pages_room (buf) - 1 - len);
    if (r == -1 && errno == EINTR)
      continue;
    if (r == -1) {
      vddk_error ("could not read %s from %s: %m", key, what);
      secret_free (buf);
      return NULL;
    }
    if (r == 0)
      break;
    nl = memchr (buf + len, '\n', r);
    len += r;
    if (nl) {
      /* What follows the first line is not part of the secret. */
      explicit_bzero (nl, buf + len - nl);
      len = nl - buf;
      break;
    }
  }
  buf[len] = '\0';
  return buf;
}

/* password=- : ask at the terminal, as nbdkit_read_password does, but
 * with read(2): stdin's stdio buffer would keep the line. */
static char *
read_interactive (void)
{
  struct termios orig, temp;
  bool restore;
  char *s;

  if (!nbdkit_stdio_safe ()) {
    nbdkit_error ("stdin is not available for reading password");
    return NULL;
  }
  if (!isatty (STDIN_FILENO)) {
    nbdkit_error ("stdin is not a tty, cannot read password interactively");
    return NULL;
  }
  /* Echo off first: TCSAFLUSH drops what was typed before, so the
   * prompt must not show until then. */
  restore = tcgetattr (STDIN_FILENO, &orig) == 0;
  if (restore) {
    temp = orig;
    temp.c_lflag &= ~ECHO;
    tcsetattr (STDIN_FILENO, TCSAFLUSH, &temp);
  }
  printf ("password: ");
  fflush (stdout);
  s = read_line (STDIN_FILENO, "password", "stdin");
  if (restore)
    tcsetattr (STDIN_FILENO, TCSAFLUSH, &orig);
  printf ("\n");
  fflush (stdout);
  return s;
}

/* Where the kernel keeps this process's arguments (fields 48 and 49 of
 * /proc/self/stat, Linux >= 3.5).  false if they cannot be read. */
static bool
argument_area (uintptr_t *start, uintptr_t *end)
{
  char buf[2048], *p;
  unsigned long long v[2];
  ssize_t n;
  int fd, field;

  fd = open ("/proc/self/stat", O_RDONLY | O_CLOEXEC);
  if (fd == -1)
    return false;
  n = read (fd, buf, sizeof buf - 1);
  close (fd);
  if (n <= 0)
    return false;
  buf[n] = '\0';
  /* Field 2, the command name, may hold spaces and parentheses. */
  p = strrchr (buf, ')');
  if (p == NULL)
    return false;
  for (field = 2; field < 48 && p; field++)     /* to field 48 */
    p = strchr (p + 1, ' ');
  if (p == NULL || sscanf (p, " %llu %llu", &v[0], &v[1]) != 2 ||
      v[0] == 0 || v[1] <= v[0])
    return false;
  *start = v[0];
  *end = v[1];
  return true;
}

/* A secret given as a value on nbdkit's command line: nbdkit hands us
 * a pointer into its argv, which is what /proc/PID/cmdline shows.
 * Overwrite it there (only if it is there), as ps(1) would otherwise
 * show it for as long as nbdkit runs. */
static void
hide_argument (const char *value)
{
  uintptr_t start, end, v = (uintptr_t) value;
  size_t len = strlen (value);

  if (len == 0 || !argument_area (&start, &end) ||
      v < start || v + len >= end)
    return;
  memset ((char *) value, '*', len);
}

int
read_secret (const char *key, const char *value, char **secret)
{
  bool is_password = strcmp (key, "password") == 0;
  char what[64];
  char *s;
  int fd;

  *secret = NULL;
  if (is_password && strcmp (value, "-") == 0)
    s = read_interactive ();
  /* cookie=-FD only with digits: a cookie is anything else. */
  else if (value[0] == '-' &&
           (is_password ||
            (value[1] && strspn (value + 1, "0123456789") ==
             strlen (value + 1)))) {
    snprintf (what, sizeof what, "%s file descriptor", key);
    if (nbdkit_parse_int (what, value + 1, &fd) == -1)
      return -1;
    if (fd == STDIN_FILENO || fd == STDOUT_FILENO || fd == STDERR_FILENO) {
      nbdkit_error ("cannot use %s -FD for stdin/stdout/stderr", key);
      return -1;
    }
    s = read_line (fd, key, value + 1);
    close (fd);
  }
  else if (value[0] == '+') {
    fd = open (value + 1, O_RDONLY | O_CLOEXEC);
    if (fd == -1) {
      vddk_error ("open %s: %m", value + 1);
      return -1;
    }
    s = read_line (fd, key, value + 1);
    close (fd);
  }
  else {
    s = secret_strdup (value);
    if (s == NULL)
      nbdkit_error ("%s: mmap: %m", key);
    hide_argument (value);
  }
  if (s == NULL)
    return -1;
  *secret = s;
  return 0;
}
