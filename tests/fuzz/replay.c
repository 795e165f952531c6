/* SPDX-License-Identifier: BSD-3-Clause */
/* Replay files through a fuzz target without libFuzzer, so that the
 * normal (gcc) and sanitizer builds check the corpus and every crasher
 * found so far.
 *
 *   fuzz-TARGET-replay FILE|DIR...
 *
 * Each file (each regular file of a directory, in name order) is read
 * and given to LLVMFuzzerTestOneInput once.  A finding aborts, as under
 * libFuzzer; otherwise the exit status is 0 and one line says how many
 * inputs ran.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz.h"

static unsigned n_inputs;

static int
run_file (const char *path)
{
  FILE *f = fopen (path, "rb");
  unsigned char *buf = NULL;
  size_t cap = 0, len = 0, n;

  if (!f) {
    fprintf (stderr, "replay: %s: %s\n", path, strerror (errno));
    return -1;
  }
  do {
    if (len == cap) {
      unsigned char *nb = realloc (buf, cap = cap ? 2 * cap : 65536);
      if (!nb) {
        fprintf (stderr, "replay: %s: out of memory\n", path);
        exit (2);
      }
      buf = nb;
    }
    n = fread (buf + len, 1, cap - len, f);
    len += n;
  } while (n > 0);
  fclose (f);
  /* Give the target a buffer of exactly the input's size, as libFuzzer
   * does, so that AddressSanitizer sees reads past its end. */
  unsigned char *exact = malloc (len ? len : 1);
  if (!exact)
    exit (2);
  memcpy (exact, buf, len);
  free (buf);
  LLVMFuzzerTestOneInput (exact, len);
  free (exact);
  n_inputs++;
  return 0;
}

static int
cmp (const void *a, const void *b)
{
  return strcmp (*(char *const *) a, *(char *const *) b);
}

static int
run_dir (const char *dir)
{
  DIR *d = opendir (dir);
  struct dirent *e;
  char **names = NULL;
  size_t n = 0, i;
  int r = 0;

  if (!d) {
    fprintf (stderr, "replay: %s: %s\n", dir, strerror (errno));
    return -1;
  }
  while ((e = readdir (d)) != NULL) {
    char **nn;
    if (e->d_name[0] == '.')
      continue;
    nn = realloc (names, (n + 1) * sizeof *names);
    if (!nn || asprintf (&nn[n], "%s/%s", dir, e->d_name) < 0)
      exit (2);
    names = nn;
    n++;
  }
  closedir (d);
  if (n)
    qsort (names, n, sizeof *names, cmp);
  for (i = 0; i < n; i++) {
    struct stat st;
    if (stat (names[i], &st) == 0 && S_ISREG (st.st_mode) &&
        run_file (names[i]) == -1)
      r = -1;
    free (names[i]);
  }
  free (names);
  return r;
}

int
main (int argc, char **argv)
{
  struct stat st;
  int i, r = 0;

  if (argc < 2) {
    fprintf (stderr, "usage: %s FILE|DIR...\n", argv[0]);
    return 2;
  }
  for (i = 1; i < argc; i++) {
    if (stat (argv[i], &st) == -1) {
      fprintf (stderr, "replay: %s: %s\n", argv[i], strerror (errno));
      r = -1;
    }
    else if (S_ISDIR (st.st_mode) ? run_dir (argv[i]) : run_file (argv[i]))
      r = -1;
  }
  printf ("%s: %u inputs\n", argv[0], n_inputs);
  return r ? 1 : 0;
}
