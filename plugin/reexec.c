/* SPDX-License-Identifier: BSD-3-Clause */
/* nbdkit VDDK plugin: re-exec nbdkit with LD_LIBRARY_PATH set.
 *
 * VMware's VDDK loads further libraries of its own from its lib64
 * directory, and only finds them (instead of older system copies)
 * when that directory is on LD_LIBRARY_PATH.  The dynamic linker reads
 * the variable once at start-up, so after dlopen'ing the library we
 * re-exec nbdkit with the directory prepended.  The re-exec'd process
 * gets reexeced_=<original value> and puts the original environment
 * back in config_complete, so that --run commands do not see it.
 */

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

/* Put the password in an unlinked temporary file, so that it does not
 * appear on the new command line and can be read back once even if it
 * originally came from a tty, a pipe or an fd.  Returns the fd, which
 * is deliberately inherited across exec.
 */
static int
password_fd (void)
{
  char tmpl[] = "/tmp/XXXXXX";
  size_t len = strlen (password), done = 0;
  ssize_t r;
  int fd;

  fd = mkstemp (tmpl);
  if (fd == -1) {
    nbdkit_debug ("mkstemp: %m");
    return -1;
  }
  unlink (tmpl);
  while (done < len) {
    r = write (fd, password + done, len - done);
    if (r == -1) {
      nbdkit_debug ("write: %m");
      close (fd);
      return -1;
    }
    done += r;
  }
  if (lseek (fd, 0, SEEK_SET) == -1) {
    close (fd);
    return -1;
  }
  return fd;
}

/* Only returns if the re-exec could not be done; nbdkit then carries
 * on without it, as if noreexec=true had been given.
 */
static void
perform_reexec (const char *env, const char *dir)
{
  char *cmdline, *p, *new_env = NULL;
  char *password_arg = NULL, *reexeced_arg = NULL;
  char **argv = NULL;
  size_t len, nr_args = 0, i;
  bool had_password = false;
  int fd = -1;

  cmdline = read_cmdline (&len);
  if (cmdline == NULL) {
    nbdkit_debug ("cannot read /proc/self/cmdline, not re-executing: %m");
    return;
  }
  nbdkit_debug ("original command line occupies %zu bytes", len);

  for (i = 0; i < len; i++)
    if (cmdline[i] == '\0')
      nr_args++;
  argv = calloc (nr_args + 3, sizeof *argv);
  if (argv == NULL)
    goto out;
  nr_args = 0;
  for (p = cmdline; p < cmdline + len; p += strlen (p) + 1) {
    if (strncmp (p, "password=", 9) == 0) {
      had_password = true;
      continue;
    }
    argv[nr_args++] = p;
  }

  if (had_password && password) {
    fd = password_fd ();
    if (fd == -1 || asprintf (&password_arg, "password=-%d", fd) == -1)
      goto out;
    argv[nr_args++] = password_arg;
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
  if (fd >= 0)
    close (fd);
  free (new_env);
  free (reexeced_arg);
  free (password_arg);
  free (argv);
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
