/* SPDX-License-Identifier: BSD-3-Clause */
/* nbdkit VDDK plugin: re-exec nbdkit with LD_LIBRARY_PATH set.
 *
 * VMware's VDDK loads further libraries of its own from its lib64
 * directory, and only finds them (instead of older system copies)
 * when that directory is on LD_LIBRARY_PATH.  The dynamic linker reads
 * the variable once at start-up, so after dlopen'ing the library we
 * re-exec nbdkit with the directory prepended.  The re-exec'd process
 * gets reexeced_=<original value> and puts the original environment
 * back in config_complete, so that --run commands do not see it.  The
 * password and the cookie reach it through pipes, never on its command
 * line or in its environment.
 */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <fcntl.h>
#include <dirent.h>
#include <stdbool.h>

#include "vddk.h"

bool noreexec;
char *reexeced;

/* Whether DIR is one of the ':'-separated elements of PATH. */
static bool
path_contains (const char *path, const char *dir)
{
  size_t len = strlen (dir);
  const char *p = path;

  for (;;) {
    if (strncmp (p, dir, len) == 0 && (p[len] == ':' || p[len] == '\0'))
      return true;
    p = strchr (p, ':');
    if (p == NULL)
      return false;
    p++;
  }
}

/* The whole of /proc/self/cmdline: arguments separated by NULs. */
static char *
read_cmdline (size_t *len_ret)
{
  int fd;
  char *buf = NULL, *nbuf;
  size_t len = 0, cap = 0;
  ssize_t r;

  fd = open ("/proc/self/cmdline", O_RDONLY | O_CLOEXEC);
  if (fd == -1)
    return NULL;
  for (;;) {
    if (len == cap) {
      cap += 512;
      nbuf = realloc (buf, cap);
      if (nbuf == NULL)
        goto err;
      buf = nbuf;
    }
    r = read (fd, buf + len, cap - len);
    if (r == -1)
      goto err;
    if (r == 0)
      break;
    len += r;
  }
  close (fd);
  *len_ret = len;
  return buf;

 err:
  close (fd);
  free (buf);
  return NULL;
}

/* Hand a secret to the re-exec'd nbdkit through a pipe: not on its
 * command line or in its environment, and never in a file.  The pipe
 * holds the secret and then its end (the write side is closed here),
 * and the new process reads it as key=-FD, closing it.  Returns the
 * read side, inherited across exec, or -1.  A secret too big for the
 * pipe's buffer (64 KiB) is refused rather than blocking.
 */
static int
secret_fd (const char *secret)
{
  size_t len = strlen (secret), done = 0;
  int fds[2];
  ssize_t r;

  if (pipe2 (fds, O_NONBLOCK) == -1) {
    nbdkit_debug ("pipe2: %m");
    return -1;
  }
  while (done < len) {
    r = write (fds[1], secret + done, len - done);
    if (r == -1 && errno == EINTR)
      continue;
    if (r == -1) {
      nbdkit_debug ("write to pipe: %m");
      close (fds[0]);
      close (fds[1]);
      return -1;
    }
    done += r;
  }
  close (fds[1]);
  /* Blocking again, and inherited (pipe2 without O_CLOEXEC). */
  if (fcntl (fds[0], F_SETFL, 0) == -1) {
    close (fds[0]);
    return -1;
  }
  return fds[0];
}

/* key=-FD for a secret, FD being a new pipe holding it. */
static char *
secret_arg (const char *key, const char *secret, int *fd)
{
  char *arg;

  *fd = secret_fd (secret);
  if (*fd == -1)
    return NULL;
  if (asprintf (&arg, "%s=-%d", key, *fd) == -1) {
    close (*fd);
    *fd = -1;
    return NULL;
  }
  return arg;
}

/* Only returns if the re-exec could not be done; nbdkit then carries
 * on without it, as if noreexec=true had been given.
 */
static void
perform_reexec (const char *env, const char *dir)
{
  char *cmdline, *p, *new_env = NULL;
  char *password_arg = NULL, *cookie_arg = NULL, *reexeced_arg = NULL;
  char **argv = NULL;
  size_t len, nr_args = 0, i;
  int password_fd = -1, cookie_fd = -1;

  cmdline = read_cmdline (&len);
  if (cmdline == NULL) {
    nbdkit_debug ("cannot read /proc/self/cmdline, not re-executing: %m");
    return;
  }
  nbdkit_debug ("original command line occupies %zu bytes", len);

  for (i = 0; i < len; i++)
    if (cmdline[i] == '\0')
      nr_args++;
  argv = calloc (nr_args + 4, sizeof *argv);
  if (argv == NULL)
    goto out;
  /* The password and the cookie go through pipes (whichever way they
   * were given: a file may be gone by now, a value on the command line
   * has been blanked out). */
  nr_args = 0;
  for (p = cmdline; p < cmdline + len; p += strlen (p) + 1) {
    if (strncmp (p, "password=", 9) == 0 || strncmp (p, "cookie=", 7) == 0)
      continue;
    argv[nr_args++] = p;
  }
  if (password) {
    password_arg = secret_arg ("password", password, &password_fd);
    if (password_arg == NULL)
      goto out;
    argv[nr_args++] = password_arg;
  }
  if (cookie) {
    cookie_arg = secret_arg ("cookie", cookie, &cookie_fd);
    if (cookie_arg == NULL)
      goto out;
    argv[nr_args++] = cookie_arg;
  }

  if (asprintf (&reexeced_arg, "reexeced_=%s", env ? env : "") == -1)
    goto out;
  vddk_debug ("adding reexeced_=%s", env ? env : "");
  argv[nr_args++] = reexeced_arg;
  argv[nr_args] = NULL;

  if (env ? asprintf (&new_env, "%s:%s", dir, env) == -1
          : (new_env = strdup (dir)) == NULL)
    goto out;
  if (setenv ("LD_LIBRARY_PATH", new_env, 1) == -1)
    goto out;
  vddk_debug ("re-executing with updated LD_LIBRARY_PATH=%s", new_env);

  fflush (NULL);
  execvp ("/proc/self/exe", argv);
  nbdkit_debug ("execvp: /proc/self/exe: %m");

  /* Undo, so that the rest of this process looks as it did. */
  if (env)
    setenv ("LD_LIBRARY_PATH", env, 1);
  else
    unsetenv ("LD_LIBRARY_PATH");

 out:
  if (password_fd >= 0)
    close (password_fd);
  if (cookie_fd >= 0)
    close (cookie_fd);
  free (new_env);
  free (reexeced_arg);
  free (cookie_arg);
  free (password_arg);
  free (argv);
  /* A value that could not be blanked out (see secret.c) is in it. */
  explicit_bzero (cmdline, len);
  free (cmdline);
}

/* The re-exec exists so that the libraries VMware bundles beside
 * libvixDiskLib (its own OpenSSL, curl, ...) are found.  A directory
 * holding nothing but libvixDiskLib needs no re-exec, which saves a
 * second start-up (and the temporary directory nbdkit -U - would leave
 * behind).
 */
static bool
has_bundled_libraries (const char *dir)
{
  DIR *d = opendir (dir);
  struct dirent *e;
  bool found = false;

  if (d == NULL)
    return true;                /* cannot tell: behave as upstream */
  while (!found && (e = readdir (d)) != NULL)
    found = strstr (e->d_name, ".so") != NULL &&
      strncmp (e->d_name, "libvixDiskLib.so", 16) != 0;
  closedir (d);
  return found;
}

void
reexec_if_needed (const char *dir)
{
  const char *env;

  if (noreexec || reexeced)
    return;
  env = getenv ("LD_LIBRARY_PATH");
  if (env && path_contains (env, dir))
    return;
  if (!has_bundled_libraries (dir)) {
    vddk_debug ("no other libraries beside libvixDiskLib in %s: "
                "not re-executing", dir);
    return;
  }
  perform_reexec (env, dir);
}

int
restore_ld_library_path (void)
{
  const char *env, *dir;

  if (reexeced == NULL)
    return 0;

  nbdkit_debug ("cleaning up after re-exec");
  env = getenv ("LD_LIBRARY_PATH");
  dir = get_libdir ();
  if (env == NULL || strstr (env, reexeced) == NULL ||
      strncmp (env, dir, strlen (dir)) != 0) {
    nbdkit_error ("'reexeced_' set with garbled environment");
    return -1;
  }

  if (reexeced[0] != '\0')
    setenv ("LD_LIBRARY_PATH", reexeced, 1);
  else
    unsetenv ("LD_LIBRARY_PATH");
  return 0;
}
