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
 *
 * No re-exec when the library finds its neighbours by itself (a run
 * path naming its own directory, as in make vddk-distrib), and none
 * for a directory holding nothing else.  With nbdkit -U -, nbdkit has
 * already made its socket directory when the plugin decides; the new
 * process makes another, so it is told the old one (reexec_tmpdir_=)
 * and removes it.
 */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <fcntl.h>
#include <dirent.h>
#include <stdbool.h>
#include <time.h>
#include <link.h>
#include <sys/stat.h>

#include "vddk.h"

bool noreexec;
char *reexeced;
char *old_socket_dir;

/* When the plugin was loaded: nbdkit had parsed -U - by then. */
static struct timespec loaded_at;

static void __attribute__ ((constructor))
note_load_time (void)
{
  clock_gettime (CLOCK_REALTIME, &loaded_at);
}

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

/* Whether nbdkit's command line has -U - (--unix -): then it made a
 * directory for its socket before loading the plugin.  Options end at
 * the plugin's name (the first argument not starting with '-', other
 * than an option's value: those taking one are given as separate
 * arguments or joined, and only -U's matters here). */
static bool
has_random_socket (const char *cmdline, size_t len)
{
  const char *p, *end = cmdline + len, *prev = NULL;
  size_t n;

  for (p = cmdline; p < end; prev = p, p += strlen (p) + 1) {
    if (p == cmdline)
      continue;                 /* argv[0] */
    if (strcmp (p, "--unix=-") == 0 || strcmp (p, "-U-") == 0)
      return true;
    if (strcmp (p, "-") == 0 && prev &&
        (strcmp (prev, "--unix") == 0 ||
         (prev[0] == '-' && prev[1] != '-' && (n = strlen (prev)) > 1 &&
          prev[n - 1] == 'U')))
      return true;
    if (strcmp (p, "--") == 0)
      return false;
  }
  return false;
}

/* When this process started, as wall-clock time (the kernel counts
 * clock ticks since boot). */
static bool
process_start (struct timespec *out)
{
  char buf[1024], *p;
  unsigned long long ticks = 0;
  struct timespec boot, real;
  long hz = sysconf (_SC_CLK_TCK);
  ssize_t r;
  int fd, field;
  double ago;

  fd = open ("/proc/self/stat", O_RDONLY | O_CLOEXEC);
  if (fd == -1)
    return false;
  r = read (fd, buf, sizeof buf - 1);
  close (fd);
  if (r <= 0 || hz <= 0)
    return false;
  buf[r] = '\0';
  p = strrchr (buf, ')');       /* the name may hold spaces */
  /* Field 22 is starttime; p is at the end of field 2, and each step
   * moves it to the space before the next field. */
  for (field = 2; p && field < 22; field++)
    p = strchr (p + 1, ' ');
  if (!p || sscanf (p + 1, "%llu", &ticks) != 1)
    return false;
  clock_gettime (CLOCK_BOOTTIME, &boot);
  clock_gettime (CLOCK_REALTIME, &real);
  ago = boot.tv_sec + boot.tv_nsec / 1e9 - (double) ticks / hz;
  ago += 2.0 / hz;              /* ticks are truncated; ctime is coarse */
  out->tv_sec = real.tv_sec - (time_t) ago;
  out->tv_nsec = real.tv_nsec - (long) ((ago - (time_t) ago) * 1e9);
  if (out->tv_nsec < 0) {
    out->tv_sec--;
    out->tv_nsec += 1000000000;
  }
  return true;
}

static bool
before (const struct timespec *a, const struct timespec *b)
{
  return a->tv_sec < b->tv_sec ||
    (a->tv_sec == b->tv_sec && a->tv_nsec < b->tv_nsec);
}

/* Whether name is of the form nbdkit's -U - gives its directories. */
static bool
socket_dir_name (const char *name)
{
  return strncmp (name, "nbdkit", 6) == 0 && strlen (name) == 12 &&
    strchr (name, '/') == NULL;
}

/* Whether path is an empty directory of ours, as nbdkit makes them
 * (mkdtemp: mode 0700). */
static bool
empty_dir_of_ours (const char *path, struct stat *st)
{
  DIR *d;
  struct dirent *e;
  bool empty = true;

  if (lstat (path, st) == -1 || !S_ISDIR (st->st_mode) ||
      st->st_uid != geteuid () || (st->st_mode & 0777) != 0700)
    return false;
  d = opendir (path);
  if (d == NULL)
    return false;
  while (empty && (e = readdir (d)) != NULL)
    empty = strcmp (e->d_name, ".") == 0 || strcmp (e->d_name, "..") == 0;
  closedir (d);
  return empty;
}

/* The directory nbdkit made for -U - in this process, or NULL.  nbdkit
 * does not say which it is, so look where it makes them (/tmp, or
 * $TMPDIR in some versions) for empty directories of ours made between
 * this process's start and the plugin's load.  Ours is one of them: if
 * it is the only one, it is ours; if another nbdkit made one at the
 * same moment, leave both (an empty directory left over is better than
 * another nbdkit's socket gone). */
static char *
find_socket_dir (void)
{
  const char *tmpdirs[2] = { "/tmp", getenv ("TMPDIR") };
  struct timespec start;
  struct stat st;
  struct dirent *e;
  char *found = NULL, *path;
  int candidates = 0;
  size_t i;
  DIR *d;

  if (!process_start (&start))
    return NULL;
  for (i = 0; i < 2; i++) {
    if (!tmpdirs[i] || !tmpdirs[i][0] ||
        (i == 1 && strcmp (tmpdirs[i], "/tmp") == 0) ||
        (d = opendir (tmpdirs[i])) == NULL)
      continue;
    while ((e = readdir (d)) != NULL) {
      if (!socket_dir_name (e->d_name) ||
          asprintf (&path, "%s/%s", tmpdirs[i], e->d_name) == -1)
        continue;
      if (empty_dir_of_ours (path, &st) &&
          !before (&st.st_ctim, &start) && !before (&loaded_at, &st.st_ctim)) {
        candidates++;
        free (found);
        found = path;
      }
      else
        free (path);
    }
    closedir (d);
  }
  if (candidates != 1) {
    nbdkit_debug ("-U -: %d candidates for the socket directory nbdkit "
                  "made: the new process will not remove any",
                  candidates);
    free (found);
    return NULL;
  }
  return found;
}

static void
remove_old_socket_dir (void)
{
  const char *name;
  struct stat st;

  if (old_socket_dir == NULL)
    return;
  name = strrchr (old_socket_dir, '/');
  if (name && socket_dir_name (name + 1) &&
      empty_dir_of_ours (old_socket_dir, &st) &&
      rmdir (old_socket_dir) == 0)
    vddk_debug ("removed %s, made for -U - before the re-exec",
                old_socket_dir);
  else
    nbdkit_debug ("not removing %s: not an empty socket directory of "
                  "ours", old_socket_dir);
  free (old_socket_dir);
  old_socket_dir = NULL;
}

/* Only returns if the re-exec could not be done; nbdkit then carries
 * on without it, as if noreexec=true had been given.
 */
static void
perform_reexec (const char *env, const char *dir)
{
  char *cmdline, *p, *new_env = NULL;
  char *password_arg = NULL, *cookie_arg = NULL, *reexeced_arg = NULL;
  char *socket_dir = NULL, *socket_dir_arg = NULL;
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
  argv = calloc (nr_args + 5, sizeof *argv);
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

  if (has_random_socket (cmdline, len) &&
      (socket_dir = find_socket_dir ()) != NULL) {
    if (asprintf (&socket_dir_arg, "reexec_tmpdir_=%s", socket_dir) == -1)
      goto out;
    vddk_debug ("adding %s", socket_dir_arg);
    argv[nr_args++] = socket_dir_arg;
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
  free (socket_dir);
  free (socket_dir_arg);
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
 * second start-up.
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

/* A library loaded in this process under the name of one bundled in
 * dir, but from another file (the dynamic linker found that one first,
 * or it was loaded before): then only LD_LIBRARY_PATH brings in the
 * bundled one. */
static int
check_shadowed (struct dl_phdr_info *info, size_t size, void *data)
{
  const char *dir = data, *base;
  struct stat loaded, bundled;
  char *path;
  int r = 0;

  (void) size;
  if (!info->dlpi_name || !info->dlpi_name[0])
    return 0;
  base = strrchr (info->dlpi_name, '/');
  base = base ? base + 1 : info->dlpi_name;
  if (asprintf (&path, "%s/%s", dir, base) == -1)
    return 0;
  if (stat (path, &bundled) == 0 && stat (info->dlpi_name, &loaded) == 0 &&
      (bundled.st_dev != loaded.st_dev || bundled.st_ino != loaded.st_ino)) {
    vddk_debug ("%s is loaded from %s, not from %s", base, info->dlpi_name,
                dir);
    r = 1;
  }
  free (path);
  return r;
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
  if (library_search_path_has (dir) &&
      dl_iterate_phdr (check_shadowed, (void *) dir) == 0) {
    vddk_debug ("the library's search path names %s and nothing bundled "
                "there is loaded from elsewhere: not re-executing", dir);
    return;
  }
  perform_reexec (env, dir);
}

int
restore_ld_library_path (void)
{
  const char *env, *dir;

  remove_old_socket_dir ();
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
